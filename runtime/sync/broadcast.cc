#include "runtime/sync/broadcast.h"

// broadcast is header-only (templates); this unit checks that the header compiles alone.
