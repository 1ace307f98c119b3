# tenure_warnings: the warning set every first-party target links.
add_library(tenure_warnings INTERFACE)
target_compile_options(tenure_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wcast-qual
  -Wformat=2 -Wundef -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough
  -Wmissing-declarations)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(tenure_warnings INTERFACE -Wthread-safety)
endif()
# GCC 12 reports -Wrestrict falsely inside libstdc++ for `"literal" + std::string`
# at -O2 (GCC bug 105651); the code it flags is correct.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  set(TENURE_GCC12_FIXES -Wno-restrict)
endif()
# With sanitizers GCC also reports -Wmaybe-uninitialized falsely inside
# libstdc++ (std::function in <regex>); GCC's manual warns of this.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND TENURE_SANITIZE)
  list(APPEND TENURE_GCC12_FIXES -Wno-maybe-uninitialized)
endif()
target_compile_options(tenure_warnings INTERFACE ${TENURE_GCC12_FIXES})
if(TENURE_WERROR)
  target_compile_options(tenure_warnings INTERFACE -Werror)
endif()

# Tests keep -Wall -Wextra but drop the conversion family, as Abseil's test copts do.
add_library(tenure_test_warnings INTERFACE)
target_compile_options(tenure_test_warnings INTERFACE -Wall -Wextra -Wshadow ${TENURE_GCC12_FIXES})
if(TENURE_WERROR)
  target_compile_options(tenure_test_warnings INTERFACE -Werror)
endif()
