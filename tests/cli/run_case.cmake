# Runs one CLI case: the built binary with the arguments in CASE/args (one per line),
# from the source directory, standard input from the file CASE/stdin names (a path from the
# source directory; none: empty), and compares stdout, stderr and the exit code with
# CASE/stdout, CASE/stderr, CASE/exit_code. Missing expectation files mean "empty" and
# "0". With VRAMCALC_UPDATE_GOLDEN=1 in the environment it rewrites them instead (review
# the diff before committing).
file(STRINGS "${CASE}/args" args ENCODING UTF-8)
set(env_args "")
if(EXISTS "${CASE}/env")
  file(STRINGS "${CASE}/env" env_args ENCODING UTF-8)
endif()
set(input "/dev/null")
if(EXISTS "${CASE}/stdin")
  file(STRINGS "${CASE}/stdin" input LIMIT_COUNT 1)
  set(input "${SOURCE_DIR}/${input}")
endif()
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env --unset=NO_COLOR --unset=TERM --unset=COLUMNS ${env_args} ${BIN} ${args}
  WORKING_DIRECTORY "${SOURCE_DIR}"
  INPUT_FILE "${input}"
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE code)

if("$ENV{VRAMCALC_UPDATE_GOLDEN}" STREQUAL "1")
  file(WRITE "${CASE}/stdout" "${out}")
  file(WRITE "${CASE}/stderr" "${err}")
  file(WRITE "${CASE}/exit_code" "${code}\n")
  return()
endif()

set(expected_out "")
set(expected_err "")
set(expected_code "0")
if(EXISTS "${CASE}/stdout")
  file(READ "${CASE}/stdout" expected_out)
endif()
if(EXISTS "${CASE}/stderr")
  file(READ "${CASE}/stderr" expected_err)
endif()
if(EXISTS "${CASE}/exit_code")
  file(STRINGS "${CASE}/exit_code" expected_code LIMIT_COUNT 1)
endif()

set(failed FALSE)
if(NOT code STREQUAL expected_code)
  message("exit code: expected ${expected_code}, got ${code}")
  set(failed TRUE)
endif()
foreach(stream IN ITEMS out err)
  if(NOT "${${stream}}" STREQUAL "${expected_${stream}}")
    get_filename_component(name "${CASE}" NAME)
    set(actual "${WORK}/${name}.actual.std${stream}")
    file(WRITE "${actual}" "${${stream}}")
    if(NOT EXISTS "${CASE}/std${stream}")
      file(WRITE "${WORK}/${name}.empty" "")
      set(expected_file "${WORK}/${name}.empty")
    else()
      set(expected_file "${CASE}/std${stream}")
    endif()
    execute_process(COMMAND diff -u "${expected_file}" "${actual}" OUTPUT_VARIABLE d)
    message("std${stream} differs:\n${d}")
    set(failed TRUE)
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "case ${CASE} failed")
endif()
