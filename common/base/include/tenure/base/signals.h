// Stop signals for the executables' event loops: SIGTERM and SIGINT set a flag
// that the loop reads between polls (a blocked poll returns with EINTR).
#pragma once

namespace tenure {

void InstallStopSignalHandlers();
bool StopRequested();

}  // namespace tenure
