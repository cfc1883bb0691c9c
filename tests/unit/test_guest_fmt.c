/*
 * tests/unit/test_guest_fmt.c: corral-guest's vsnprintf (guest/fmt.c,
 * compiled for the host), checked against the host's snprintf for every
 * conversion it claims, and for truncation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "guest/fmt.h"

/* Both formatters must agree on output and returned length. */
#define SAME(fmt, ...) do {						\
	char	 a[128], b[128];					\
	int	 na, nb;						\
									\
	na = fmt_snprintf(a, sizeof(a), fmt, __VA_ARGS__);		\
	nb = snprintf(b, sizeof(b), fmt, __VA_ARGS__);			\
	assert_string_equal(a, b);					\
	assert_int_equal(na, nb);					\
} while (0)

static void
test_fmt_matches_libc(void **state)
{
	(void)state;
	SAME("%d %i %u", 42, -7, 3000000000u);
	SAME("%d", (int)INT32_MIN);
	SAME("%ld %lu %lx", (long)INT64_MIN, (unsigned long)UINT64_MAX,
	    0xdeadbeefUL);
	SAME("%lld %llu", -1LL, 18446744073709551615ULL);
	SAME("%zu %zx", (size_t)12345, (size_t)0xabc);
	SAME("%x %X %08x %-6x|", 0xbeefu, 0xbeefu, 0x12u, 0xabu);
	SAME("%5d|%-5d|%05d|%0d", 42, 42, -42, 7);
	SAME("%s|%10s|%-10s|%.3s|%.*s", "abc", "right", "left", "truncate",
	    2, "xyz");
	SAME("%*d|%-*d|", 6, 1, 6, 2);
	SAME("%c%c%%", 'o', 'k');
	SAME("%p", (void *)0x1234);
	SAME("%s", "");
}

static void
test_fmt_truncates_and_terminates(void **state)
{
	char	 buf[8];

	(void)state;
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "hello, %s",
	    "world"), 12);
	assert_string_equal(buf, "hello, ");
	assert_int_equal(fmt_snprintf(buf, 1, "abc"), 3);
	assert_string_equal(buf, "");
	/* Size 0 writes nothing at all. */
	buf[0] = 'q';
	assert_int_equal(fmt_snprintf(buf, 0, "abc"), 3);
	assert_int_equal(buf[0], 'q');
}

/* The compiler rightly rejects these formats; the guest must survive them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
static void
test_fmt_null_string_and_unknown_conversion(void **state)
{
	const char * volatile	 null = NULL;
	char			 buf[32];

	(void)state;
	fmt_snprintf(buf, sizeof(buf), "%s", null);
	assert_string_equal(buf, "(null)");
	/* Kept as written, as the only sane thing to do. */
	fmt_snprintf(buf, sizeof(buf), "a%qb");
	assert_string_equal(buf, "a%qb");
	fmt_snprintf(buf, sizeof(buf), "end%");
	assert_string_equal(buf, "end%");
}
#pragma GCC diagnostic pop

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_matches_libc),
		cmocka_unit_test(test_fmt_truncates_and_terminates),
		cmocka_unit_test(test_fmt_null_string_and_unknown_conversion),
	};

	return cmocka_run_group_tests_name("guest_fmt", tests, NULL, NULL);
}
