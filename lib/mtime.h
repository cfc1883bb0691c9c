/* lib/mtime.h: monotonic time, for deadlines and measuring. */
#ifndef LIB_MTIME_H
#define LIB_MTIME_H

#include <stdint.h>

#define MTIME_NS_PER_MS	1000000ULL
#define MTIME_NS_PER_S	1000000000ULL

/* CLOCK_MONOTONIC in nanoseconds; never fails on Linux. */
uint64_t	mtime_now_ns(void);
uint64_t	mtime_now_ms(void);

/*
 * A clock source that code under test can replace: cache freshness and
 * token buckets take one in their context so tests move time themselves.
 */
struct mtime_clock {
	uint64_t	(*now_ns)(void *arg);
	void		 *arg;
};

/* The real clock, CLOCK_MONOTONIC. */
extern const struct mtime_clock mtime_monotonic;

#endif /* LIB_MTIME_H */
