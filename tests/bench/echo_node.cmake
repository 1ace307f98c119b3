add_executable(echo_node ${CMAKE_CURRENT_SOURCE_DIR}/echo_node.cc)
target_link_libraries(echo_node PRIVATE tenure_protocol tenure_lock tenure_net tenure_base cppzmq
                                        CLI11::CLI11 tenure_warnings)
