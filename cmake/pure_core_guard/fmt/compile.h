#error \
    "fmt/compile.h: a pure core may not use fmt (formatting for logs belongs to the shell); see DESIGN section 2 (docs/DESIGN.md)"
