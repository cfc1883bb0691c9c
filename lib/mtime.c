/*
 * lib/mtime.c: CLOCK_MONOTONIC in the units the rest of the tree wants.
 * vDSO-backed, so cheap enough to call per event.
 */
#include <stdint.h>
#include <time.h>

#include "lib/log.h"
#include "lib/mtime.h"

static uint64_t	mtime_monotonic_now(void *);

const struct mtime_clock mtime_monotonic = { mtime_monotonic_now, NULL };

uint64_t
mtime_now_ns(void)
{
	struct timespec	 ts;

	/* Cannot fail for CLOCK_MONOTONIC with a valid pointer. */
	ASSERT(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return (uint64_t)ts.tv_sec * MTIME_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t
mtime_now_ms(void)
{
	return mtime_now_ns() / MTIME_NS_PER_MS;
}

static uint64_t
mtime_monotonic_now(void *arg)
{
	(void)arg;
	return mtime_now_ns();
}
