# pure_core_guard: shows that tenure_pure_core() makes the build refuse what a
# pure core may not use, with the compiler and generator of the real build.
#
#   cmake -DSOURCE_DIR=<tenure> -DBINARY_DIR=<scratch> -DCXX=<compiler>
#         -DGENERATOR=<generator> [-DMAKE_PROGRAM=<make>] -P check_guard.cmake
#
# Expects: a core that links sqlite3 through an INTERFACE library fails to
# configure; a core including only allowed std headers builds; a core
# including each of FORBIDDEN fails with that stub's #error text (gcc prints
# `#error "zmq.hpp: ..."`, clang `error: "zmq.hpp: ..."`).
cmake_minimum_required(VERSION 3.20)

set(FORBIDDEN zmq.hpp thread sqlite3.h spdlog/spdlog.h fmt/format.h stop_token)
set(failures "")

function(run_cmake out_rc out_text)
  execute_process(COMMAND ${CMAKE_COMMAND} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE text
                  ERROR_VARIABLE text)
  set(${out_rc} "${rc}" PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()

function(configure bad_link out_rc out_text)
  string(REPLACE ";" "\\;" forbidden "${FORBIDDEN}")
  run_cmake(rc text -S ${SOURCE_DIR}/tests/unit/purity/guard -B ${BINARY_DIR} -G ${GENERATOR}
            -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}
            -DTENURE_SOURCE_DIR=${SOURCE_DIR}
            "-DTENURE_GUARD_FORBIDDEN=${forbidden}" -DTENURE_GUARD_BAD_LINK=${bad_link})
  set(${out_rc} "${rc}" PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()

configure(ON rc text)
string(REGEX REPLACE "[ \t\r\n]+" " " text "${text}")  # CMake wraps its messages.
if(rc EQUAL 0 OR NOT text MATCHES "core_allowed -> shell_helper -> sqlite3: a pure core may not link")
  string(APPEND failures "linking sqlite3 through shell_helper was not refused:\n${text}\n")
endif()

configure(OFF rc text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the guard project did not configure:\n${text}")
endif()

run_cmake(rc text --build ${BINARY_DIR} --target core_allowed)
if(NOT rc EQUAL 0)
  string(APPEND failures "a core with only allowed headers did not build:\n${text}\n")
endif()

set(index 0)
foreach(header IN LISTS FORBIDDEN)
  run_cmake(rc text --build ${BINARY_DIR} --target core_forbidden_${index})
  string(FIND "${text}" "\"${header}: a pure core may not use" at)
  if(rc EQUAL 0 OR at EQUAL -1)
    string(APPEND failures "#include <${header}> in a pure core was not refused:\n${text}\n")
  endif()
  math(EXPR index "${index} + 1")
endforeach()

if(failures)
  message(FATAL_ERROR "${failures}")
endif()
list(LENGTH FORBIDDEN count)
message(STATUS "guard holds: bad link refused, allowed headers build, ${count} forbidden headers refused")
