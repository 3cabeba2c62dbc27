# Helpers shared by make-man.cmake and make-completions.cmake: run the built binary and
# read its CLI11 help into variables. Included by cmake -P scripts; needs VRAMCALC.
#
# CLI11's help layout:
#   <title>
#   Usage: vramcalc [OPTIONS] [model] [SUBCOMMAND]
#   <blank>
#   Positionals: / Options: / Subcommands:   sections of entries, a blank line after each
#     <spec>   <description>                 an entry: two spaces, the spec, 2+ spaces
#     <long spec>
#                                <description>   (or the description on the next line)
#   <footer>                                 anything else, to the end (Examples: ...)
#
# The text is walked line by line with string(FIND) rather than split into a CMake list:
# help text holds ';' and '[', which lists mangle.

# Runs VRAMCALC with the arguments; stores its stdout in out_var; fails the build on a
# non-zero exit.
function(vramcalc_run out_var)
  execute_process(COMMAND "${VRAMCALC}" ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "'${VRAMCALC} ${ARGN}' failed (${rc}): ${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# Pops the first line of the variable named by text_var into line_var.
macro(vramcalc_pop_line text_var line_var)
  string(FIND "${${text_var}}" "\n" _nl)
  if(_nl EQUAL -1)
    set(${line_var} "${${text_var}}")
    set(${text_var} "")
  else()
    string(SUBSTRING "${${text_var}}" 0 ${_nl} ${line_var})
    math(EXPR _nl "${_nl} + 1")
    string(SUBSTRING "${${text_var}}" ${_nl} -1 ${text_var})
  endif()
endmacro()

# Parses help text. Sets, with the given prefix:
#   <p>_TITLE       first line
#   <p>_USAGE       the usage line without "Usage: "
#   <p>_ENTRIES     number of entries; entry i has <p>_SECTION_<i> (Positionals, Options,
#                   Subcommands), <p>_SPEC_<i> ("-q,--quant,--weights TEXT"), <p>_DESC_<i>
#   <p>_FOOTER      the text after the sections
function(vramcalc_parse_help prefix text)
  set(title "")
  set(usage "")
  set(section "")
  set(n 0)
  set(footer "")
  set(in_footer FALSE)
  set(rest "${text}")
  while(NOT rest STREQUAL "")
    vramcalc_pop_line(rest line)
    if(in_footer)
      string(APPEND footer "${line}\n")
    elseif(title STREQUAL "")
      set(title "${line}")
    elseif(line MATCHES "^Usage: (.*)$")
      set(usage "${CMAKE_MATCH_1}")
    elseif(line MATCHES "^(Positionals|Options|Subcommands):$")
      set(section "${CMAKE_MATCH_1}")
    elseif(line STREQUAL "")
      set(section "")
    elseif(NOT section STREQUAL "" AND line MATCHES "^  ([^ ]+( [^ ]+)*)(  +(.*))?$")
      math(EXPR n "${n} + 1")
      set(${prefix}_SECTION_${n} "${section}" PARENT_SCOPE)
      set(${prefix}_SPEC_${n} "${CMAKE_MATCH_1}" PARENT_SCOPE)
      set(desc_${n} "${CMAKE_MATCH_4}")
    elseif(NOT section STREQUAL "" AND n GREATER 0 AND line MATCHES "^      +(.*)$")
      # a description on its own line(s), under a long spec
      if(desc_${n} STREQUAL "")
        set(desc_${n} "${CMAKE_MATCH_1}")
      else()
        string(APPEND desc_${n} " ${CMAKE_MATCH_1}")
      endif()
    elseif(section STREQUAL "")
      set(in_footer TRUE)
      string(APPEND footer "${line}\n")
    else()
      message(FATAL_ERROR "unexpected line in the ${section} section of '${title}' help: '${line}'")
    endif()
  endwhile()
  if(usage STREQUAL "")
    message(FATAL_ERROR "no 'Usage:' line in the help starting '${title}'")
  endif()
  if(n GREATER 0)
    foreach(i RANGE 1 ${n})
      set(${prefix}_DESC_${i} "${desc_${i}}" PARENT_SCOPE)
    endforeach()
  endif()
  set(${prefix}_TITLE "${title}" PARENT_SCOPE)
  set(${prefix}_USAGE "${usage}" PARENT_SCOPE)
  set(${prefix}_ENTRIES ${n} PARENT_SCOPE)
  set(${prefix}_FOOTER "${footer}" PARENT_SCOPE)
endfunction()

# Splits an option spec "-q,--quant,--weights TEXT" into its names ("-q;--quant;--weights")
# and the rest ("TEXT"; "" for a flag).
function(vramcalc_split_spec spec names_var type_var)
  string(FIND "${spec}" " " sp)
  if(sp EQUAL -1)
    set(names "${spec}")
    set(type "")
  else()
    string(SUBSTRING "${spec}" 0 ${sp} names)
    math(EXPR sp "${sp} + 1")
    string(SUBSTRING "${spec}" ${sp} -1 type)
  endif()
  string(REPLACE "," ";" names "${names}")
  set(${names_var} "${names}" PARENT_SCOPE)
  set(${type_var} "${type}" PARENT_SCOPE)
endfunction()
