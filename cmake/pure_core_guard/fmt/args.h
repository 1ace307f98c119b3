#error \
    "fmt/args.h: a pure core may not use fmt (formatting for logs belongs to the shell); see DESIGN section 4 and STYLE section 1"
