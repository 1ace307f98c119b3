#error \
    "threads.h: a pure core may not use threads (a core has one owner thread; concurrency belongs to the shell); see DESIGN section 4 and STYLE section 1"
