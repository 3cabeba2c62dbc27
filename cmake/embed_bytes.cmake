# The bytes of a file as a C++ array's initializer ("0x2f,0x2f,...", 16 a line), for the scripts
# that embed files at build time (embed.cmake: the catalog; embed_page.cmake: the page).
function(vramcalc_file_bytes path out)
  file(READ "${path}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" hex "${hex}")
  set(${out} "${hex}" PARENT_SCOPE)
endfunction()
