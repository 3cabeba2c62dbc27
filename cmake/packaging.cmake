# Installation and packaging: what `cmake --install` puts where, the CMake package
# (find_package(vramcalc) -> vramcalc::core, vramcalc::io, vramcalc::report), the man page
# and the shell completions generated from the built binary, and the .deb (CPack).
# Included from CMakeLists.txt after the targets are defined.
#
# Two install components:
#   runtime      bin/vramcalc, share/man/man1/vramcalc.1, the bash, zsh and fish
#                completions, share/doc/vramcalc/copyright
#   development  include/vramcalc/, the static libraries, lib/cmake/vramcalc/
# `cmake --install build` installs both, `--component runtime` the tool alone. CPack
# (cd build && cpack -G DEB) makes one .deb per component: vramcalc and vramcalc-dev.

include(CMakePackageConfigHelpers)

set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME runtime)

set(VRAMCALC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/vramcalc" CACHE STRING
    "Where to install vramcalcConfig.cmake (relative to the prefix)")
set(VRAMCALC_INSTALL_BASH_COMPLETIONDIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" CACHE STRING
    "Where to install the bash completion (relative to the prefix)")
set(VRAMCALC_INSTALL_ZSH_COMPLETIONDIR "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" CACHE STRING
    "Where to install the zsh completion (relative to the prefix; upstream zsh uses share/zsh/site-functions)")
set(VRAMCALC_INSTALL_FISH_COMPLETIONDIR "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d" CACHE STRING
    "Where to install the fish completion (relative to the prefix)")

# The man page and the completions come from running the built vramcalc, which a cross
# build cannot do.
set(_vramcalc_can_run ON)
if(CMAKE_CROSSCOMPILING)
  set(_vramcalc_can_run OFF)
endif()
option(VRAMCALC_MAN_AND_COMPLETIONS
       "Generate (by running the built vramcalc) and install the man page and the shell completions"
       ${_vramcalc_can_run})

# --- the tool ------------------------------------------------------------------------------
install(TARGETS vramcalc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR}
        RENAME copyright COMPONENT runtime)

# --- the library: find_package(vramcalc) ---------------------------------------------------
set_target_properties(vramcalc_core PROPERTIES EXPORT_NAME core)
set_target_properties(vramcalc_io PROPERTIES EXPORT_NAME io)
set_target_properties(vramcalc_report PROPERTIES EXPORT_NAME report)
# What an installed static library needs: consumers compile the headers as C++23
# (std::expected), and may link the library into a shared object.
target_compile_features(vramcalc_core PUBLIC cxx_std_23)
set_target_properties(vramcalc_core vramcalc_io vramcalc_report PROPERTIES POSITION_INDEPENDENT_CODE ON)

set(_vramcalc_exported vramcalc_core vramcalc_io vramcalc_report)
# The libraries link the warning flags (INTERFACE target vramcalc_warnings) PRIVATE; a
# static library still lists that as $<LINK_ONLY:vramcalc_warnings> in its link interface,
# and install(EXPORT) refuses a target outside the export set. Linking it as
# $<BUILD_INTERFACE:vramcalc_warnings> in CMakeLists.txt keeps it out of the package;
# until then it is exported too (it adds nothing to a consumer's compile or link line).
foreach(_t IN ITEMS vramcalc_core vramcalc_io vramcalc_report)
  get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
  if(_libs MATCHES "LINK_ONLY:vramcalc_warnings>")
    set_target_properties(vramcalc_warnings PROPERTIES EXPORT_NAME build_warnings)
    list(APPEND _vramcalc_exported vramcalc_warnings)
    break()
  endif()
endforeach()

install(TARGETS ${_vramcalc_exported} EXPORT vramcalcTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/vramcalc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT development FILES_MATCHING PATTERN "*.hpp")
install(EXPORT vramcalcTargets NAMESPACE vramcalc:: DESTINATION ${VRAMCALC_INSTALL_CMAKEDIR}
        COMPONENT development)

# The dependency versions vramcalcConfig.cmake asks for: fmt's major version (its ABI),
# nlohmann_json's major version.
math(EXPR _vramcalc_fmt_next "${fmt_VERSION_MAJOR} + 1")
set(VRAMCALC_FMT_VERSION "${fmt_VERSION_MAJOR}...<${_vramcalc_fmt_next}")
set(VRAMCALC_NLOHMANN_JSON_VERSION "${nlohmann_json_VERSION_MAJOR}")
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/vramcalcConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/vramcalcConfig.cmake
                              INSTALL_DESTINATION ${VRAMCALC_INSTALL_CMAKEDIR}
                              NO_SET_AND_CHECK_MACRO)
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vramcalcConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vramcalcConfig.cmake ${PROJECT_BINARY_DIR}/vramcalcConfigVersion.cmake
        DESTINATION ${VRAMCALC_INSTALL_CMAKEDIR} COMPONENT development)

# --- the man page and the shell completions ----------------------------------------------
# Generated from the built binary (its --help, its catalog) so they cannot drift from it;
# packaging/make-man.cmake and packaging/make-completions.cmake say how.
if(VRAMCALC_MAN_AND_COMPLETIONS)
  set(_vramcalc_pkg ${PROJECT_SOURCE_DIR}/packaging)
  set(_vramcalc_gen ${PROJECT_BINARY_DIR}/packaging)

  # Prints the KV-cache dtypes of dtype_table for the completions (not installed).
  add_executable(vramcalc_kv_dtypes ${_vramcalc_pkg}/kv-dtypes.cpp)
  target_link_libraries(vramcalc_kv_dtypes PRIVATE vramcalc_core vramcalc_warnings)

  add_custom_command(
    OUTPUT ${_vramcalc_gen}/vramcalc.1
    COMMAND ${CMAKE_COMMAND} -DVRAMCALC=$<TARGET_FILE:vramcalc> -DTEMPLATE=${_vramcalc_pkg}/vramcalc.1.in
            -DOUT=${_vramcalc_gen}/vramcalc.1 -P ${_vramcalc_pkg}/make-man.cmake
    DEPENDS vramcalc ${_vramcalc_pkg}/make-man.cmake ${_vramcalc_pkg}/help.cmake ${_vramcalc_pkg}/vramcalc.1.in
    COMMENT "Generating the man page vramcalc.1 from vramcalc --help"
    VERBATIM)
  add_custom_command(
    OUTPUT ${_vramcalc_gen}/vramcalc.bash ${_vramcalc_gen}/_vramcalc ${_vramcalc_gen}/vramcalc.fish
    COMMAND ${CMAKE_COMMAND} -DVRAMCALC=$<TARGET_FILE:vramcalc> -DKV_DTYPES=$<TARGET_FILE:vramcalc_kv_dtypes>
            -DOUT_DIR=${_vramcalc_gen} -P ${_vramcalc_pkg}/make-completions.cmake
    DEPENDS vramcalc vramcalc_kv_dtypes ${_vramcalc_pkg}/make-completions.cmake ${_vramcalc_pkg}/help.cmake
            ${_vramcalc_pkg}/completions/vramcalc.bash.in ${_vramcalc_pkg}/completions/_vramcalc.zsh.in
            ${_vramcalc_pkg}/completions/vramcalc.fish.in
    COMMENT "Generating the bash, zsh and fish completions from vramcalc --help and its catalog"
    VERBATIM)
  add_custom_target(vramcalc_man_and_completions ALL
    DEPENDS ${_vramcalc_gen}/vramcalc.1 ${_vramcalc_gen}/vramcalc.bash ${_vramcalc_gen}/_vramcalc
            ${_vramcalc_gen}/vramcalc.fish)

  install(FILES ${_vramcalc_gen}/vramcalc.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
  install(FILES ${_vramcalc_gen}/vramcalc.bash DESTINATION ${VRAMCALC_INSTALL_BASH_COMPLETIONDIR}
          RENAME vramcalc COMPONENT runtime)
  install(FILES ${_vramcalc_gen}/_vramcalc DESTINATION ${VRAMCALC_INSTALL_ZSH_COMPLETIONDIR} COMPONENT runtime)
  install(FILES ${_vramcalc_gen}/vramcalc.fish DESTINATION ${VRAMCALC_INSTALL_FISH_COMPLETIONDIR}
          COMPONENT runtime)

  # Checks of the generated files, with the test suite (tests skip when groff, zsh or
  # fish is missing).
  if(VRAMCALC_BUILD_TESTS)
    add_test(NAME "packaging: man page renders without warnings"
             COMMAND sh ${_vramcalc_pkg}/check-man.sh ${_vramcalc_gen}/vramcalc.1)
    add_test(NAME "packaging: completions"
             COMMAND sh ${_vramcalc_pkg}/check-completions.sh ${_vramcalc_gen}/vramcalc.bash
                     ${_vramcalc_gen}/_vramcalc ${_vramcalc_gen}/vramcalc.fish)
    set_tests_properties("packaging: man page renders without warnings" "packaging: completions"
                         PROPERTIES SKIP_RETURN_CODE 77 LABELS packaging)
  endif()
endif()

# --- the .deb: cd build && cpack -G DEB -----------------------------------------------------
set(CPACK_PACKAGE_NAME vramcalc)
set(CPACK_PACKAGE_VENDOR "vramcalc authors")
set(CPACK_PACKAGE_CONTACT "vramcalc authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)         # vramcalc_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "vramcalc authors")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME vramcalc)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION utils)
# CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY (the project's description) first: the
# component descriptions are the extended text below it.
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "How much GPU memory a model needs at a given precision, context length, KV-cache type\n\
and number of concurrent requests, and which GPUs hold it: exact byte counts for the\n\
weights and the KV cache, and a fit check against a catalog of GPUs.")
# The binary's shared libraries (libfmt, libyaml, libcpp-httplib, libstdc++, libgcc_s, libc): dpkg-shlibdeps
# (package dpkg-dev) computes the Depends line; without it, Debian 12's.
find_program(VRAMCALC_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(VRAMCALC_DPKG_SHLIBDEPS)
if(VRAMCALC_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
      "libc6 (>= 2.34), libfmt9 (>= 9.1.0+ds1), libgcc-s1 (>= 3.0), libstdc++6 (>= 11), libyaml-0-2, libcpp-httplib0.11")
endif()

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME vramcalc-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "libfmt-dev (>= ${fmt_VERSION_MAJOR}), libfmt-dev (<< ${_vramcalc_fmt_next}), nlohmann-json3-dev (>= 3.10)")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "The C++ library of vramcalc: headers, static libraries and the CMake package.\n\
find_package(vramcalc) gives vramcalc::core (the memory math), vramcalc::io (the loaders\n\
and the built-in catalog) and vramcalc::report (table and JSON output). C++23.")

include(CPack)
