# TENURE_SANITIZE=address,undefined or thread: applied to every target in the tree.
if(TENURE_SANITIZE)
  string(REPLACE "," ";" _tenure_sanitizers "${TENURE_SANITIZE}")
  foreach(_s IN LISTS _tenure_sanitizers)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "TENURE_SANITIZE: unknown sanitizer '${_s}'")
    endif()
  endforeach()
  add_compile_options(-fsanitize=${TENURE_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TENURE_SANITIZE})
endif()
