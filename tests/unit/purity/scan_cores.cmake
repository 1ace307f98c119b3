# pure_core_purity: scans the pure cores' code for what the include guard
# cannot stop.
#
#   cmake -DMANIFEST=<pure_cores.cmake> -DSCRATCH_DIR=<dir> -P scan_cores.cmake
#
# The manifest (written at configure time by CMakeLists.txt here) sets
# PROJECT_ROOT, PURE_CORES and, per core, PURE_CORE_<core>_DIR and
# PURE_CORE_<core>_SOURCES. A core's code is its sources plus every header they
# include ("common/lock/rules.h", from PROJECT_ROOT) that lies in the core's own
# directory, so that broker/'s shell files stay out of tenure_router's scan.
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

# Appends to `out` one line per violation in the core rooted at `dir`.
function(scan_core root dir sources out)
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
      elseif(EXISTS "${root}/${name}")
        cmake_path(ABSOLUTE_PATH name BASE_DIRECTORY "${root}" NORMALIZE OUTPUT_VARIABLE path)
        cmake_path(IS_PREFIX dir "${path}" NORMALIZE inside)
        if(inside)
          list(APPEND queue "${path}")
        endif()
      endif()
    endforeach()
  endwhile()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# Self-test on two made-up cores in SCRATCH_DIR.
set(fake "${SCRATCH_DIR}/fake")
file(REMOVE_RECURSE "${fake}")
file(WRITE "${fake}/core/impure.cc" "#include \"core/impure.h\"\n#include <thread>\n"
           "auto t = std::chrono::steady_clock::now();\n")
file(WRITE "${fake}/core/impure.h" "#include <pthread.h>\n#include \"other/shell.h\"\n"
           "inline auto r = std::random_device{}();\n")
file(WRITE "${fake}/other/shell.h" "#include <zmq.hpp>\n")
file(WRITE "${fake}/core/clean.cc" "// Never reads std::chrono::system_clock.\n"
           "/* nor <thread> nor\n random_device */\n#include <chrono>\n")
scan_core("${fake}" "${fake}/core" "${fake}/core/impure.cc" impure)
set(expected "core/impure.cc: steady_clock" "core/impure.cc: #include thread"
             "core/impure.h: random_device" "core/impure.h: #include pthread.h")
if(NOT impure STREQUAL expected)
  message(FATAL_ERROR "the scan is broken: on a made-up impure core it found\n  ${impure}\n"
                      "instead of\n  ${expected}")
endif()
scan_core("${fake}" "${fake}/core" "${fake}/core/clean.cc" clean)
if(clean)
  message(FATAL_ERROR "the scan is broken: it flagged comments: ${clean}")
endif()

include("${MANIFEST}")
if(NOT PURE_CORES)
  message(FATAL_ERROR "no pure cores recorded; is tenure_pure_core() still called?")
endif()
set(report "")
foreach(core IN LISTS PURE_CORES)
  scan_core("${PROJECT_ROOT}" "${PURE_CORE_${core}_DIR}" "${PURE_CORE_${core}_SOURCES}" found)
  foreach(line IN LISTS found)
    string(APPEND report "  ${core}: ${line}\n")
  endforeach()
endforeach()
if(report)
  message(FATAL_ERROR "pure cores use what they may not (DESIGN section 2):\n${report}")
endif()
message(STATUS "pure cores clean: ${PURE_CORES}")
