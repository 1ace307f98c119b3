# pure_core_purity: scans the pure cores' code for what the include guard
# cannot stop.
#
#   cmake -DMANIFEST=<pure_cores.cmake> -DSCRATCH_DIR=<dir> -P scan_cores.cmake
#
# The manifest (written at configure time by CMakeLists.txt here) sets
# PROJECT_ROOT, PURE_CORES and, per core, PURE_CORE_<core>_DIR,
# PURE_CORE_<core>_SOURCES and PURE_CORE_<core>_INCLUDES (its own include
# directories, e.g. common/lock/include). A core's code is its sources plus
# every header they include that lies in the core's own directory, found as
# the compiler finds a "" include: beside the including file, then in the
# core's include directories ("tenure/lock/rules.h" in common/lock/include).
# Headers of other libraries and broker/'s shell files stay out of
# tenure_router's scan.
#
# Refused, outside comments:
#   - reads of a clock or of the OS's randomness (`steady_clock` included: a
#     core names time points through tenure::TimePoint, never the clock);
#   - includes of zmq, SQLite, spdlog, fmt, threads, and of the C time and
#     thread headers that <chrono> and <memory> pull in themselves, which is
#     why the guard cannot stub those.
# Before the cores it scans two made-up ones, to show it still finds what it
# should and ignores comments.
cmake_minimum_required(VERSION 3.20)

set(FORBIDDEN_CALL_REGEX
    "(system|steady|high_resolution|utc|tai|gps|file)_clock|random_device|(^|[^A-Za-z0-9_])Clock::now|clock_gettime|gettimeofday")
set(FORBIDDEN_INCLUDE_REGEX
    "zmq|sqlite3|^spdlog/|^fmt/|^(thread|mutex|condition_variable|future|shared_mutex|stop_token|semaphore|latch|barrier|ctime|time\\.h|sys/time\\.h|threads\\.h|pthread\\.h)$")
set(INCLUDE_REGEX "#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")

# Text of `file` with // and /* */ comments removed.
function(read_code file out)
  file(READ "${file}" code)
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" code "${code}")
  string(REGEX REPLACE "//[^\n]*" "" code "${code}")
  set(${out} "${code}" PARENT_SCOPE)
endfunction()

# Appends to `out` one line per violation in the core rooted at `dir`, whose
# own include directories are `include_dirs`.
function(scan_core root dir sources include_dirs out)
  set(found "")
  set(queue ${sources})
  set(seen "")
  while(queue)
    list(POP_FRONT queue file)
    if(file IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${file}")
    file(RELATIVE_PATH shown "${root}" "${file}")
    read_code("${file}" code)
    string(REGEX MATCHALL "${FORBIDDEN_CALL_REGEX}" calls "${code}")
    foreach(call IN LISTS calls)
      string(STRIP "${call}" call)
      string(REGEX REPLACE "^[^A-Za-z_]" "" call "${call}")
      list(APPEND found "${shown}: ${call}")
    endforeach()
    string(REGEX MATCHALL "${INCLUDE_REGEX}" includes "${code}")
    foreach(include IN LISTS includes)
      string(REGEX REPLACE "${INCLUDE_REGEX}" "\\1" name "${include}")
      if(name MATCHES "${FORBIDDEN_INCLUDE_REGEX}")
        list(APPEND found "${shown}: #include ${name}")
      else()
        cmake_path(GET file PARENT_PATH here)
        foreach(base IN ITEMS "${here}" ${include_dirs})
          if(EXISTS "${base}/${name}")
            cmake_path(ABSOLUTE_PATH name BASE_DIRECTORY "${base}" NORMALIZE OUTPUT_VARIABLE path)
            cmake_path(IS_PREFIX dir "${path}" NORMALIZE inside)
            if(inside)
              list(APPEND queue "${path}")
            endif()
            break()
          endif()
        endforeach()
      endif()
    endforeach()
  endwhile()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# Self-test on two made-up cores in SCRATCH_DIR. The impure one includes a
# header of its include dir (core/include/fake/impure.h) and one beside it
# (core/local.h); other/include/other/shell.h, of another library, is outside
# the core and not scanned.
set(fake "${SCRATCH_DIR}/fake")
file(REMOVE_RECURSE "${fake}")
file(WRITE "${fake}/core/impure.cc" "#include \"fake/impure.h\"\n#include <thread>\n"
           "#include \"local.h\"\nauto t = std::chrono::steady_clock::now();\n")
file(WRITE "${fake}/core/include/fake/impure.h"
           "#include <pthread.h>\n#include \"other/shell.h\"\n"
           "inline auto r = std::random_device{}();\n")
file(WRITE "${fake}/core/local.h" "#include <ctime>\n")
file(WRITE "${fake}/other/include/other/shell.h" "#include <zmq.hpp>\n")
file(WRITE "${fake}/core/clean.cc" "// Never reads std::chrono::system_clock.\n"
           "/* nor <thread> nor\n random_device */\n#include <chrono>\n")
scan_core("${fake}" "${fake}/core" "${fake}/core/impure.cc"
          "${fake}/core/include;${fake}/other/include" impure)
set(expected "core/impure.cc: steady_clock" "core/impure.cc: #include thread"
             "core/include/fake/impure.h: random_device"
             "core/include/fake/impure.h: #include pthread.h" "core/local.h: #include ctime")
if(NOT impure STREQUAL expected)
  message(FATAL_ERROR "the scan is broken: on a made-up impure core it found\n  ${impure}\n"
                      "instead of\n  ${expected}")
endif()
scan_core("${fake}" "${fake}/core" "${fake}/core/clean.cc" "${fake}/core/include" clean)
if(clean)
  message(FATAL_ERROR "the scan is broken: it flagged comments: ${clean}")
endif()

include("${MANIFEST}")
if(NOT PURE_CORES)
  message(FATAL_ERROR "no pure cores recorded; is tenure_pure_core() still called?")
endif()
set(report "")
foreach(core IN LISTS PURE_CORES)
  scan_core("${PROJECT_ROOT}" "${PURE_CORE_${core}_DIR}" "${PURE_CORE_${core}_SOURCES}"
            "${PURE_CORE_${core}_INCLUDES}" found)
  foreach(line IN LISTS found)
    string(APPEND report "  ${core}: ${line}\n")
  endforeach()
endforeach()
if(report)
  message(FATAL_ERROR "pure cores use what they may not (DESIGN section 2):\n${report}")
endif()
message(STATUS "pure cores clean: ${PURE_CORES}")
