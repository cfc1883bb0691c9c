/*
 * lib/units.c: the one parser for sizes, durations and rates, used by the
 * config loader and every command line.  Strict on purpose: no leading
 * blanks, no signs, no fractions, no trailing garbage, and overflow is an
 * error rather than a wrapped number.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/units.h"

static int	units_number(const char **, uint64_t *);
static int	units_mul(uint64_t, uint64_t, uint64_t *);

/* Reads one run of decimal digits at *sp and advances past it. */
static int
units_number(const char **sp, uint64_t *out)
{
	const char	*s = *sp;
	uint64_t	 v = 0;

	if (*s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

static int
units_mul(uint64_t a, uint64_t b, uint64_t *out)
{
	if (__builtin_mul_overflow(a, b, out)) {
		errno = ERANGE;
		return -1;
	}
	return 0;
}

int
units_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char	*suffix;
		uint64_t	 mult;
	} suffixes[] = {
		{ "", 1 }, { "B", 1 },
		{ "K", 1ULL << 10 }, { "KiB", 1ULL << 10 }, { "KB", 1000ULL },
		{ "M", 1ULL << 20 }, { "MiB", 1ULL << 20 },
		{ "MB", 1000000ULL },
		{ "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
		{ "GB", 1000000000ULL },
		{ "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
		{ "TB", 1000000000000ULL },
	};
	uint64_t	 n, v;
	size_t		 i, len;

	if (s == NULL || units_number(&s, &n) == -1)
		return -1;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcasecmp(s, suffixes[i].suffix) != 0)
			continue;
		/* "kib" is fine; "Kb" or "b" would read as bits. */
		len = strlen(s);
		if (len >= 1 && s[len - 1] == 'b' &&
		    (len < 2 || (s[len - 2] != 'i' && s[len - 2] != 'I')))
			break;
		if (units_mul(n, suffixes[i].mult, &v) == -1)
			return -1;
		*out = v;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

int
units_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		/* Longest first, so "ms" is not read as "m" then "s". */
		{ "ms", 1 }, { "d", 86400000 }, { "h", 3600000 },
		{ "m", 60000 }, { "s", 1000 },
	};
	uint64_t	 total = 0, n, v, last = UINT64_MAX;
	size_t		 i, ulen;

	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	do {
		if (units_number(&s, &n) == -1)
			return -1;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			ulen = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, ulen) == 0)
				break;
		}
		/* Each unit once, largest first: "1s1m" is a typo. */
		if (i == sizeof(units) / sizeof(units[0]) ||
		    units[i].ms >= last) {
			errno = EINVAL;
			return -1;
		}
		last = units[i].ms;
		s += ulen;
		if (units_mul(n, units[i].ms, &v) == -1 ||
		    __builtin_add_overflow(total, v, &total)) {
			errno = ERANGE;
			return -1;
		}
	} while (*s != '\0');
	*ms = total;
	return 0;
}

int
units_parse_rate(const char *s, struct units_rate *out)
{
	uint64_t	 n, per;

	if (s == NULL || units_number(&s, &n) == -1)
		return -1;
	if (strcmp(s, "/s") == 0)
		per = 1000;
	else if (strcmp(s, "/m") == 0)
		per = 60000;
	else if (strcmp(s, "/h") == 0)
		per = 3600000;
	else {
		errno = EINVAL;
		return -1;
	}
	out->ur_count = n;
	out->ur_per_ms = per;
	return 0;
}

char *
units_format_size(uint64_t bytes, char *buf, unsigned long len)
{
	static const char	*names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned		 i = 0;

	while (i < 4 && bytes != 0 && (bytes & 1023) == 0) {
		bytes >>= 10;
		i++;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)bytes, names[i]);
	return buf;
}
