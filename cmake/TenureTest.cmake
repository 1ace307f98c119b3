include(GoogleTest)

# tenure_test_headers: the tests' own helper headers, included from tests/ as
# "history/history.h", "unit/lock/lock_test_util.h". Library headers are
# reached only by linking the library (each exposes its own include dir).
add_library(tenure_test_headers INTERFACE)
target_include_directories(tenure_test_headers INTERFACE ${PROJECT_SOURCE_DIR}/tests)

# tenure_add_test(name SOURCES a.cc ... LIBS lib ... LABELS unit|integration)
# One executable per test file, registered with CTest under its label.
function(tenure_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} tenure_test_headers GTest::gtest GTest::gmock
                                        GTest::gtest_main tenure_test_warnings)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
  foreach(_label IN LISTS ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY TENURE_TESTS_${_label} ${name})
  endforeach()
endfunction()

# tenure_add_label_targets(label...): a target `tests_<label>` that builds the
# executables of that label only, so that a pass which runs one label (the
# ThreadSanitizer pass runs unit and sim) builds no more than it needs.
function(tenure_add_label_targets)
  foreach(_label IN LISTS ARGN)
    get_property(_targets GLOBAL PROPERTY TENURE_TESTS_${_label})
    add_custom_target(tests_${_label})
    if(_targets)
      add_dependencies(tests_${_label} ${_targets})
    endif()
  endforeach()
endfunction()
