// Shared by the OSAP fuzz targets: an invariant check that crashes (so libFuzzer records the input)
// in every build type, NDEBUG included.
#pragma once

#include <cstdlib>

#define FUZZ_ASSERT(c)       \
  do {                       \
    if (!(c)) std::abort();  \
  } while (0)
