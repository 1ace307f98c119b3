// client: the command line of a tenure cluster.
#include <exception>
#include <iostream>

#include "tenure/cli/cli.h"

int main(int argc, char** argv) {
  try {
    return tenure::cli::Run(std::vector<std::string>(argv + 1, argv + argc), std::cin, std::cout,
                            std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "client: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
