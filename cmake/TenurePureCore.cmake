# tenure_pure_core(<target>): the build, not review, keeps a pure core pure
# (DESIGN section 2: no sockets, store, logging, threads or clock reads in a core).
#
# To make a library a pure core, add one line after its add_library(), in the
# same CMakeLists.txt; nothing in tests/ needs to change:
#
#   tenure_pure_core(tenure_node_core)   # worker_node/, whatever its name
#
# It then gets three checks:
#   1. Compiling: cmake/pure_core_guard/ goes first on the target's PRIVATE
#      include path. It holds stubs named zmq.hpp, sqlite3.h, spdlog/spdlog.h,
#      fmt/format.h, <thread>, <mutex>, ... whose only line is an #error, so
#      any of the target's sources that includes one, directly or through a
#      header, fails to compile. -I directories are searched before the system
#      ones (gcc 12 and clang 14, for <> and ""), which is the only way to hide
#      headers that sit in /usr/include. Of the standard headers a core would
#      use, none includes a stubbed name (libstdc++ 12 includes its own by
#      bits/ names); <memory_resource> does, see the shared_mutex stub.
#      PRIVATE because the shells that link a core may use all of these.
#   2. Linking: at the end of configuring, the target's link closure (its
#      LINK_LIBRARIES and, through them, every INTERFACE_LINK_LIBRARIES) must
#      not reach zmq, SQLite, spdlog, fmt or threads; configuring fails and
#      names the chain if it does.
#   3. Testing: the target is recorded so that the CTest pure_core_purity
#      scans its sources, and the headers they include from the target's own
#      directory, for clock and random_device reads and forbidden includes the
#      stubs cannot catch (<ctime>, <pthread.h>: <chrono> and <memory> include
#      those themselves).
# A core keeps its shell code out of its SOURCES; the shell lives in another
# target in the same directory (broker/: tenure_router and broker).

set(_TENURE_PURE_CORE_GUARD_DIR ${CMAKE_CURRENT_LIST_DIR}/pure_core_guard)

# Names of libraries a core may not reach, as targets or as raw link items
# (-lzmq, /usr/lib/.../libsqlite3.so, -pthread).
set(_TENURE_IMPURE_LINK_TARGETS
    cppzmq cppzmq-static libzmq libzmq-static SQLite::SQLite3 spdlog::spdlog
    spdlog::spdlog_header_only fmt::fmt fmt::fmt-header-only Threads::Threads)
set(_TENURE_IMPURE_LINK_REGEX
    "(^|[^A-Za-z0-9])(-l|lib)?(zmq|sqlite3|spdlog|fmt|pthread)([^A-Za-z0-9]|$)")

function(tenure_pure_core target)
  target_include_directories(${target} BEFORE PRIVATE ${_TENURE_PURE_CORE_GUARD_DIR})
  set_property(GLOBAL APPEND PROPERTY TENURE_PURE_CORES ${target})
  # Deferred to the end of the top directory, because links may be added
  # after this call (tests/, a sibling directory). EVAL, because a deferred
  # call expands its arguments only when it runs, when `target` is long gone.
  cmake_language(EVAL CODE "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]]
                                           CALL _tenure_pure_core_check_links [[${target}]])")
endfunction()

function(_tenure_pure_core_check_links target)
  get_target_property(_libs ${target} LINK_LIBRARIES)
  if(_libs)
    foreach(_lib IN LISTS _libs)
      _tenure_pure_core_walk("${_lib}" "${target}")
    endforeach()
  endif()
endfunction()

# Depth-first over the link graph. `chain` is the path so far, for the message.
function(_tenure_pure_core_walk item chain)
  if(item MATCHES "^\\$<LINK_ONLY:(.+)>$")
    set(item "${CMAKE_MATCH_1}")
  endif()
  if(item IN_LIST _TENURE_IMPURE_LINK_TARGETS OR item MATCHES "${_TENURE_IMPURE_LINK_REGEX}")
    message(FATAL_ERROR
      "${chain} -> ${item}: a pure core may not link zmq, SQLite, spdlog, fmt or threads "
      "(DESIGN section 2); link it to the shell instead.")
  endif()
  get_property(_visited GLOBAL PROPERTY _TENURE_PURE_CORE_VISITED)
  if(NOT TARGET "${item}" OR "${item}" IN_LIST _visited)
    return()  # A target seen before was clean, or configuring would have stopped.
  endif()
  set_property(GLOBAL APPEND PROPERTY _TENURE_PURE_CORE_VISITED "${item}")
  get_target_property(_libs ${item} INTERFACE_LINK_LIBRARIES)
  get_target_property(_type ${item} TYPE)
  get_target_property(_imported ${item} IMPORTED)
  if(NOT _type STREQUAL "INTERFACE_LIBRARY" AND NOT _imported)
    get_target_property(_private ${item} LINK_LIBRARIES)
    if(_private)
      list(APPEND _libs ${_private})
    endif()
  endif()
  foreach(_lib IN LISTS _libs)
    if(_lib)
      _tenure_pure_core_walk("${_lib}" "${chain} -> ${item}")
    endif()
  endforeach()
endfunction()
