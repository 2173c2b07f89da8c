// Mutex<T> is a header-only template over detail::BatchSemaphore (batch_semaphore.cc).
#include "runtime/sync/mutex.h"
