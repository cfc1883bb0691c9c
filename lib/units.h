/*
 * lib/units.h: quantities as people write them in configs and on command
 * lines: sizes ("64MiB", "4K", "512"), durations ("500ms", "2s", "1m30s")
 * and rates ("100/s", "6000/m").  Every parser takes the whole string,
 * returns 0 or -1 (errno EINVAL or ERANGE) and leaves *out untouched on
 * error.
 */
#ifndef LIB_UNITS_H
#define LIB_UNITS_H

#include <stdint.h>

/*
 * Bytes.  A bare number is bytes; K, M, G, T and KiB, MiB, GiB, TiB are
 * powers of 1024; KB, MB, GB, TB are powers of 1000; B is allowed after a
 * number.  Case matters only to tell nothing apart: "k" and "K" agree.
 */
int	units_parse_size(const char *s, uint64_t *out)
	    __attribute__((warn_unused_result));

/*
 * Milliseconds.  One or more <number><unit> terms, units ms, s, m, h, d,
 * in decreasing order ("1h30m", "2s", "250ms").  "0" alone is allowed.
 */
int	units_parse_duration(const char *s, uint64_t *ms)
	    __attribute__((warn_unused_result));

/* <count>/<unit>, unit s, m or h: "100/s".  Kept exact as a fraction. */
struct units_rate {
	uint64_t	 ur_count;	/* events... */
	uint64_t	 ur_per_ms;	/* ...per this many milliseconds */
};
int	units_parse_rate(const char *s, struct units_rate *out)
	    __attribute__((warn_unused_result));

/*
 * Writes <bytes> as the largest binary unit that divides it exactly
 * ("64MiB", "1536KiB", "100B") into <buf>; returns <buf>.
 */
char	*units_format_size(uint64_t bytes, char *buf, unsigned long len);

#endif /* LIB_UNITS_H */
