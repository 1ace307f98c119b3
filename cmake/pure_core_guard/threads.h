#error \
    "threads.h: a pure core may not use threads (a core has one owner thread; concurrency belongs to the shell); see DESIGN section 2 (docs/DESIGN.md)"
