#error \
    "spdlog/details/circular_q.h: a pure core may not use spdlog (logging belongs to the shell); see DESIGN section 2 (docs/DESIGN.md)"
