# footprint: heap and RSS bytes per active entity in one worker_node's cores
# (the NodeCore: Runtime, Session, Voter), driven through their real state machines.
add_executable(footprint ${CMAKE_CURRENT_LIST_DIR}/footprint.cc)
target_link_libraries(footprint PRIVATE tenure_node_core CLI11::CLI11
                      tenure_warnings)
