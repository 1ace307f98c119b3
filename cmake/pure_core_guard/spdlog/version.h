#error \
    "spdlog/version.h: a pure core may not use spdlog (logging belongs to the shell); see DESIGN section 4 and STYLE section 1"
