#error \
    "zmq.h: a pure core may not use ZeroMQ (sockets belong to the shell); see DESIGN section 2 (docs/DESIGN.md)"
