# Installation and packaging.
install(TARGETS vramcalc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
