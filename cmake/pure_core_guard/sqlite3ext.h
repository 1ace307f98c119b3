#error \
    "sqlite3ext.h: a pure core may not use SQLite (the store belongs to the shell); see DESIGN section 2 (docs/DESIGN.md)"
