// Process-wide malloc settings that keep resident memory close to live data (see the .cpp for why).
// Call once at the top of main(), before any thread starts.
#pragma once

namespace clossyne {

void tune_malloc();

}  // namespace clossyne
