/* tests/unit/test_units.c: sizes, durations and rates as people write them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "lib/units.h"

static void
test_units_size_suffixes(void **state)
{
	static const struct { const char *in; uint64_t out; } cases[] = {
		{ "0", 0 }, { "512", 512 }, { "512B", 512 },
		{ "4K", 4096 }, { "4k", 4096 }, { "4KiB", 4096 },
		{ "4kib", 4096 }, { "4KB", 4000 },
		{ "64MiB", 64ULL << 20 }, { "16M", 16ULL << 20 },
		{ "2MB", 2000000 }, { "1GiB", 1ULL << 30 }, { "3G", 3ULL << 30 },
		{ "1TiB", 1ULL << 40 }, { "18446744073709551615",
		    UINT64_MAX },
	};
	uint64_t	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 7;
		assert_int_equal(units_parse_size(cases[i].in, &v), 0);
		assert_int_equal(v, cases[i].out);
	}
}

static void
test_units_size_rejects_garbage(void **state)
{
	static const char *bad[] = {
		"", " 4K", "4K ", "-1", "+1", "4 K", "4X", "4KiBB", "1.5M",
		"4Kb", "4b", "K", "0x10", "18446744073709551616", "17179869184G",
	};
	uint64_t	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(units_parse_size(bad[i], &v), -1);
		assert_int_equal(v, 7);		/* untouched on error */
	}
	assert_int_equal(units_parse_size("17179869184G", &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(units_parse_size(NULL, &v), -1);
}

static void
test_units_duration_suffixes(void **state)
{
	static const struct { const char *in; uint64_t ms; } cases[] = {
		{ "0", 0 }, { "500ms", 500 }, { "2s", 2000 }, { "1m", 60000 },
		{ "1h30m", 5400000 }, { "1m30s", 90000 }, { "2s250ms", 2250 },
		{ "1d", 86400000 }, { "0s", 0 },
	};
	uint64_t	 ms;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(units_parse_duration(cases[i].in, &ms), 0);
		assert_int_equal(ms, cases[i].ms);
	}
}

static void
test_units_duration_rejects_garbage(void **state)
{
	static const char *bad[] = {
		"", "2", "500", "2 fortnights", "2x", "1s1m", "1s1s", "s",
		"1.5s", "-1s", " 1s", "1s ", "1ms500ms", "99999999999999999999d",
		"213503982335d",
	};
	uint64_t	 ms;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 7;
		assert_int_equal(units_parse_duration(bad[i], &ms), -1);
		assert_int_equal(ms, 7);
	}
}

static void
test_units_rate(void **state)
{
	struct units_rate	 r;

	(void)state;
	assert_int_equal(units_parse_rate("100/s", &r), 0);
	assert_int_equal(r.ur_count, 100);
	assert_int_equal(r.ur_per_ms, 1000);
	assert_int_equal(units_parse_rate("6000/m", &r), 0);
	assert_int_equal(r.ur_per_ms, 60000);
	assert_int_equal(units_parse_rate("5/h", &r), 0);
	assert_int_equal(r.ur_per_ms, 3600000);
	r.ur_count = 9;
	assert_int_equal(units_parse_rate("100", &r), -1);
	assert_int_equal(units_parse_rate("100/d", &r), -1);
	assert_int_equal(units_parse_rate("/s", &r), -1);
	assert_int_equal(units_parse_rate("1/s ", &r), -1);
	assert_int_equal(r.ur_count, 9);
}

static void
test_units_format_size(void **state)
{
	char	 buf[32];

	(void)state;
	assert_string_equal(units_format_size(64ULL << 20, buf, sizeof(buf)),
	    "64MiB");
	assert_string_equal(units_format_size(1536 * 1024, buf, sizeof(buf)),
	    "1536KiB");
	assert_string_equal(units_format_size(100, buf, sizeof(buf)), "100B");
	assert_string_equal(units_format_size(0, buf, sizeof(buf)), "0B");
	assert_string_equal(units_format_size(1ULL << 50, buf, sizeof(buf)),
	    "1024TiB");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_size_suffixes),
		cmocka_unit_test(test_units_size_rejects_garbage),
		cmocka_unit_test(test_units_duration_suffixes),
		cmocka_unit_test(test_units_duration_rejects_garbage),
		cmocka_unit_test(test_units_rate),
		cmocka_unit_test(test_units_format_size),
	};

	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
