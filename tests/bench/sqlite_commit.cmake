# sqlite_commit: raw SQLite group-commit baseline of the store's write path.
# It links tenure_store for the migrations, the connection wrappers and the
# store's statement table, so it runs exactly the SQL the node runs.
add_executable(sqlite_commit ${CMAKE_CURRENT_LIST_DIR}/sqlite_commit.cc)
target_link_libraries(sqlite_commit PRIVATE tenure_store tenure_sql CLI11::CLI11 tenure_warnings)
# The statement table is in sqlite_store_impl.h, private to tenure_store.
target_include_directories(sqlite_commit PRIVATE ${PROJECT_SOURCE_DIR}/common/store)
