/*
 * tests/unit/test_guest_cmdline.c: corral-guest's kernel command line
 * (guest/cmdline.c, compiled for the host): the virtio_mmio.device syntax
 * Linux accepts, the corral.* options, defaults, and bad values reported
 * and ignored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "guest/cmdline.h"

struct warns {
	unsigned	 n;
	char		 last[128];
	char		 why[64];
};

static void
collect(void *arg, const char *word, size_t len, const char *why)
{
	struct warns	*w = arg;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%.*s", (int)len, word);
	snprintf(w->why, sizeof(w->why), "%s", why);
}

static void
test_cmdline_defaults_when_empty(void **state)
{
	struct cmdline	 cl;

	(void)state;
	assert_int_equal(cmdline_parse("", &cl, NULL, NULL), 0);
	assert_string_equal(cl.cl_id, "");
	assert_int_equal(cl.cl_port, 8080);
	assert_false(cl.cl_faults);
	assert_false(cl.cl_notify);
	assert_int_equal(cl.cl_selftest, CMDLINE_SELFTEST_NONE);
	assert_int_equal(cl.cl_ndev, 0);
}

static void
test_cmdline_corral_options(void **state)
{
	struct cmdline	 cl;
	struct warns	 w = { 0 };

	(void)state;
	assert_int_equal(cmdline_parse("console=ttyS0 reboot=k panic=1 "
	    "corral.id=pool-a.3 corral.port=9000 corral.faults=1 "
	    "corral.notify=52 quiet corral.selftest=trap", &cl, collect, &w),
	    0);
	assert_int_equal(w.n, 0);
	assert_string_equal(cl.cl_id, "pool-a.3");
	assert_int_equal(cl.cl_port, 9000);
	assert_true(cl.cl_faults);
	assert_true(cl.cl_notify);
	assert_int_equal(cl.cl_notify_port, 52);
	assert_int_equal(cl.cl_selftest, CMDLINE_SELFTEST_TRAP);
}

static void
test_cmdline_virtio_mmio_devices(void **state)
{
	static const struct {
		const char	*word;
		uint64_t	 size, addr;
		uint32_t	 irq;
	} cases[] = {
		{ "virtio_mmio.device=4K@0xd0000000:5", 4096, 0xd0000000, 5 },
		{ "virtio_mmio.device=0x1000@0xd0001000:6", 4096,
		    0xd0001000, 6 },
		{ "virtio_mmio.device=512@0xfeb00000:12", 512, 0xfeb00000, 12 },
		{ "virtio_mmio.device=1M@0xd0000000:5:3", 1 << 20,
		    0xd0000000, 5 },
		{ "virtio_mmio.device=4k@4096:0x10", 4096, 4096, 16 },
	};
	struct cmdline	 cl;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cmdline_parse(cases[i].word, &cl, NULL,
		    NULL), 0);
		assert_int_equal(cl.cl_ndev, 1);
		assert_int_equal(cl.cl_dev[0].cd_size, cases[i].size);
		assert_int_equal(cl.cl_dev[0].cd_addr, cases[i].addr);
		assert_int_equal(cl.cl_dev[0].cd_irq, cases[i].irq);
	}
	/* Several, in order. */
	assert_int_equal(cmdline_parse("virtio_mmio.device=4K@0xd0000000:5 "
	    "virtio_mmio.device=4K@0xd0001000:6", &cl, NULL, NULL), 0);
	assert_int_equal(cl.cl_ndev, 2);
	assert_int_equal(cl.cl_dev[1].cd_addr, 0xd0001000);
	assert_int_equal(cl.cl_dev[1].cd_irq, 6);
}

static void
test_cmdline_bad_values_are_reported_and_ignored(void **state)
{
	static const char *bad[] = {
		"virtio_mmio.device=", "virtio_mmio.device",
		"virtio_mmio.device=4K", "virtio_mmio.device=4K@",
		"virtio_mmio.device=4K@0xd0000000",
		"virtio_mmio.device=4K@0xd0000000:",
		"virtio_mmio.device=4Q@0xd0000000:5",
		"virtio_mmio.device=0@0xd0000000:5",
		"virtio_mmio.device=4K@0xd0000000:5x",
		"virtio_mmio.device=4K@0xfffffffffffff000:5",
		"virtio_mmio.device=99999999999999999999@0x1000:5",
		"virtio_mmio.device=4K@0xd0000000:99999999999",
		"corral.port=0", "corral.port=4294967295", "corral.port=-1",
		"corral.port=80x", "corral.port=", "corral.port",
		"corral.port=99999999999", "corral.notify=abc",
		"corral.faults=2", "corral.faults=yes",
		"corral.id=", "corral.selftest=maybe", "corral.bogus=1",
		"corral.id=0123456789012345678901234567890123456789"
		    "012345678901234567890123",
	};
	struct cmdline	 cl;
	struct warns	 w;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&w, 0, sizeof(w));
		assert_int_equal(cmdline_parse(bad[i], &cl, collect, &w), 1);
		assert_int_equal(w.n, 1);
		assert_string_equal(w.last, bad[i]);
		assert_int_equal(cl.cl_ndev, 0);
		assert_int_equal(cl.cl_port, 8080);
		assert_false(cl.cl_faults);
		assert_string_equal(cl.cl_id, "");
	}
}

static void
test_cmdline_id_must_be_printable(void **state)
{
	char		 buf[128];
	struct cmdline	 cl;
	struct warns	 w = { 0 };

	(void)state;
	assert_int_equal(cmdline_parse("corral.id=\"a b\"", &cl, collect, &w),
	    1);
	assert_string_equal(w.why, "not printable");
	assert_string_equal(cl.cl_id, "");
	assert_int_equal(cmdline_parse("corral.id=\x01x", &cl, NULL, NULL), 1);
	/* 63 characters is the longest that fits. */
	memcpy(buf, "corral.id=", 10);
	memset(buf + 10, 'x', APP_ID_MAX - 1);
	buf[10 + APP_ID_MAX - 1] = '\0';
	assert_int_equal(cmdline_parse(buf, &cl, NULL, NULL), 0);
	assert_int_equal(strlen(cl.cl_id), APP_ID_MAX - 1);
	buf[10 + APP_ID_MAX - 1] = 'x';
	buf[10 + APP_ID_MAX] = '\0';
	assert_int_equal(cmdline_parse(buf, &cl, NULL, NULL), 1);
}

static void
test_cmdline_quotes_and_spacing(void **state)
{
	struct cmdline	 cl;

	(void)state;
	assert_int_equal(cmdline_parse("  corral.id=\"vm-1\"\t\tcorral.port=81"
	    "  \"quoted word with spaces\"  ", &cl, NULL, NULL), 0);
	assert_string_equal(cl.cl_id, "vm-1");
	assert_int_equal(cl.cl_port, 81);
	/* The last value wins, as in Linux. */
	assert_int_equal(cmdline_parse("corral.port=1 corral.port=2", &cl,
	    NULL, NULL), 0);
	assert_int_equal(cl.cl_port, 2);
}

static void
test_cmdline_too_many_devices(void **state)
{
	char		 buf[2048];
	struct cmdline	 cl;
	struct warns	 w = { 0 };
	size_t		 off = 0, i;

	(void)state;
	for (i = 0; i < CMDLINE_DEV_MAX + 1; i++)
		off += snprintf(buf + off, sizeof(buf) - off,
		    "virtio_mmio.device=4K@0x%zx:%zu ", 0xd0000000 + i * 4096,
		    5 + i);
	assert_int_equal(cmdline_parse(buf, &cl, collect, &w), 1);
	assert_string_equal(w.why, "too many devices");
	assert_int_equal(cl.cl_ndev, CMDLINE_DEV_MAX);
}

static void
test_cmdline_size_suffixes(void **state)
{
	static const struct { const char *in; uint64_t out; } good[] = {
		{ "0", 0 }, { "4096", 4096 }, { "4K", 4096 }, { "4k", 4096 },
		{ "0x200", 512 }, { "1M", 1 << 20 }, { "2G", 2ULL << 30 },
		{ "010", 8 }, { "1T", 1ULL << 40 },
	};
	static const char *bad[] = { "", "K", "4KB", "0x", "4 K", "16E",
	    "-1", "0xg" };
	uint64_t	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cmdline_size(good[i].in, strlen(good[i].in),
		    &v), 0);
		assert_int_equal(v, good[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cmdline_size(bad[i], strlen(bad[i]), &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_defaults_when_empty),
		cmocka_unit_test(test_cmdline_corral_options),
		cmocka_unit_test(test_cmdline_virtio_mmio_devices),
		cmocka_unit_test(
		    test_cmdline_bad_values_are_reported_and_ignored),
		cmocka_unit_test(test_cmdline_id_must_be_printable),
		cmocka_unit_test(test_cmdline_quotes_and_spacing),
		cmocka_unit_test(test_cmdline_too_many_devices),
		cmocka_unit_test(test_cmdline_size_suffixes),
	};

	return cmocka_run_group_tests_name("guest_cmdline", tests, NULL, NULL);
}
