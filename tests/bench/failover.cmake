# failover_bench: time from kill -9 of an owner until survivors serve all of
# its entities (p50/p99/max over trials). Starts a real broker and three
# nodes from this build, so it needs their binaries; never run by ctest.
add_executable(failover_bench ${CMAKE_CURRENT_LIST_DIR}/failover.cc)
target_link_libraries(failover_bench PRIVATE tenure_cluster_harness tenure_client
                      nlohmann_json::nlohmann_json Threads::Threads tenure_test_warnings)
add_dependencies(failover_bench broker worker_node client)
