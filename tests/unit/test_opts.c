/*
 * tests/unit/test_opts.c: corral-vmm's command line: defaults, every
 * flag in both spellings, and every bad value refused with a line that
 * names the flag.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "vmm/opts.h"
#include "vmm/vmm_ctl.h"

#define ARGV_MAX	32

/* Splits <line> on spaces into argv (argv[0] = "corral-vmm"). */
static int
test_opts_split(char *line, char *argv[ARGV_MAX])
{
	char	*p, *save = NULL;
	int	 argc = 0;

	argv[argc++] = "corral-vmm";
	for (p = strtok_r(line, " ", &save); p != NULL && argc < ARGV_MAX - 1;
	    p = strtok_r(NULL, " ", &save))
		argv[argc++] = p;
	argv[argc] = NULL;
	return argc;
}

static enum opts_result
test_opts_run(const char *s, struct vmm_opts *o, char *err, size_t errlen)
{
	static char	 line[512];
	static char	*argv[ARGV_MAX];
	int		 argc;

	snprintf(line, sizeof(line), "%s", s);
	argc = test_opts_split(line, argv);
	err[0] = '\0';
	return opts_parse(argc, argv, o, err, errlen);
}

static void
test_opts_defaults(void **state)
{
	struct vmm_opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(test_opts_run("--kernel k", &o, err, sizeof(err)),
	    OPTS_OK);
	assert_string_equal(o.vo_kernel, "k");
	assert_null(o.vo_initrd);
	assert_null(o.vo_cmdline);
	assert_int_equal(o.vo_memory, 128ULL << 20);
	assert_int_equal(o.vo_vcpus, 1);
	assert_int_equal(o.vo_cid, 0);
	assert_null(o.vo_uds);
	assert_int_equal(o.vo_serial, OPTS_SERIAL_STDOUT);
	assert_string_equal(o.vo_id, "vm");
	assert_int_equal(o.vo_verbose, 0);
}

static void
test_opts_every_flag(void **state)
{
	struct vmm_opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(test_opts_run("--kernel /k --initrd /i "
	    "--cmdline=console=ttyS0 --memory 16MiB --vcpus 4 "
	    "--vsock-cid 3 --vsock-uds /run/v.sock --serial /tmp/s.log "
	    "--id web-1 --verbose", &o, err, sizeof(err)), OPTS_OK);
	assert_string_equal(o.vo_kernel, "/k");
	assert_string_equal(o.vo_initrd, "/i");
	assert_string_equal(o.vo_cmdline, "console=ttyS0");
	assert_int_equal(o.vo_memory, 16ULL << 20);
	assert_int_equal(o.vo_vcpus, 4);
	assert_int_equal(o.vo_cid, 3);
	assert_string_equal(o.vo_uds, "/run/v.sock");
	assert_int_equal(o.vo_serial, OPTS_SERIAL_FILE);
	assert_string_equal(o.vo_serial_path, "/tmp/s.log");
	assert_string_equal(o.vo_id, "web-1");
	assert_int_equal(o.vo_verbose, 1);
}

static void
test_opts_equals_and_separate_values_agree(void **state)
{
	struct vmm_opts	 a, b;
	char		 err[256];

	(void)state;
	assert_int_equal(test_opts_run("--kernel=k --memory=1G --vcpus=2 "
	    "--serial=none", &a, err, sizeof(err)), OPTS_OK);
	assert_int_equal(test_opts_run("--kernel k --memory 1G --vcpus 2 "
	    "--serial none", &b, err, sizeof(err)), OPTS_OK);
	assert_string_equal(a.vo_kernel, b.vo_kernel);
	assert_int_equal(a.vo_memory, 1ULL << 30);
	assert_int_equal(a.vo_memory, b.vo_memory);
	assert_int_equal(a.vo_vcpus, b.vo_vcpus);
	assert_int_equal(a.vo_serial, OPTS_SERIAL_NONE);
	assert_int_equal(b.vo_serial, OPTS_SERIAL_NONE);
}

static void
test_opts_cmdline_keeps_equals_signs(void **state)
{
	struct vmm_opts	 o;
	char		 err[256];
	char		*argv[] = { "corral-vmm", "--kernel", "k", "--cmdline",
			    "console=ttyS0 panic=1", NULL };

	(void)state;
	assert_int_equal(opts_parse(5, argv, &o, err, sizeof(err)), OPTS_OK);
	assert_string_equal(o.vo_cmdline, "console=ttyS0 panic=1");
}

static void
test_opts_serial_stdout(void **state)
{
	struct vmm_opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(test_opts_run("--kernel k --serial stdout", &o, err,
	    sizeof(err)), OPTS_OK);
	assert_int_equal(o.vo_serial, OPTS_SERIAL_STDOUT);
}

static void
test_opts_limits_accepted(void **state)
{
	static const struct {
		const char	*args;
		uint64_t	 memory;
		unsigned	 vcpus;
		uint64_t	 cid;
	} cases[] = {
		{ "--kernel k --memory 2MiB", 2ULL << 20, 1, 0 },
		{ "--kernel k --memory 1TiB", 1ULL << 40, 1, 0 },
		{ "--kernel k --memory 4096K", 4ULL << 20, 1, 0 },
		{ "--kernel k --vcpus 32", 128ULL << 20, 32, 0 },
		{ "--kernel k --vsock-cid 0xfffffffe --vsock-uds u",
		    128ULL << 20, 1, 0xfffffffeULL },
	};
	struct vmm_opts	 o;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(test_opts_run(cases[i].args, &o, err,
		    sizeof(err)), OPTS_OK);
		assert_int_equal(o.vo_memory, cases[i].memory);
		assert_int_equal(o.vo_vcpus, cases[i].vcpus);
		assert_int_equal(o.vo_cid, cases[i].cid);
	}
}

static void
test_opts_bad_arguments_name_the_flag(void **state)
{
	static const struct {
		const char	*args;
		const char	*msg;	/* substring of the error */
	} cases[] = {
		{ "", "--kernel is required" },
		{ "--memory 64M", "--kernel is required" },
		{ "--kernel", "--kernel: missing value" },
		{ "--kernel=", "--kernel: empty path" },
		{ "--kernel k --kernel j", "--kernel: given twice" },
		{ "--kernel k --initrd=", "--initrd: empty path" },
		{ "--kernel k --bogus", "--bogus: unknown argument" },
		{ "--kernel k vmlinux", "vmlinux: unknown argument" },
		{ "--kernel k --memory", "--memory: missing value" },
		{ "--kernel k --memory lots", "--memory: bad size \"lots\"" },
		{ "--kernel k --memory -1M", "--memory: bad size" },
		{ "--kernel k --memory 1M", "--memory: \"1M\" is out of range" },
		{ "--kernel k --memory 2T", "--memory: \"2T\" is out of range" },
		{ "--kernel k --memory 99999999999999999999",
		    "--memory: bad size" },
		{ "--kernel k --memory 4194305", "not a multiple of 4KiB" },
		{ "--kernel k --vcpus 0", "--vcpus: \"0\"" },
		{ "--kernel k --vcpus 33", "--vcpus: \"33\"" },
		{ "--kernel k --vcpus two", "--vcpus: \"two\"" },
		{ "--kernel k --vcpus -1", "--vcpus: \"-1\"" },
		{ "--kernel k --vcpus 1x", "--vcpus: \"1x\"" },
		{ "--kernel k --vsock-cid 2 --vsock-uds u",
		    "--vsock-cid: \"2\"" },
		{ "--kernel k --vsock-cid 4294967295 --vsock-uds u",
		    "--vsock-cid: \"4294967295\"" },
		{ "--kernel k --vsock-cid x --vsock-uds u",
		    "--vsock-cid: \"x\"" },
		{ "--kernel k --vsock-cid 3",
		    "--vsock-cid and --vsock-uds go together" },
		{ "--kernel k --vsock-uds /u",
		    "--vsock-cid and --vsock-uds go together" },
		{ "--kernel k --vsock-cid 3 --vsock-uds=", "--vsock-uds: empty" },
		{ "--kernel k --serial=", "--serial: empty value" },
		{ "--kernel k --id=", "--id: \"\"" },
		{ "--kernel k --id a/b", "--id: \"a/b\"" },
		{ "--kernel k --id "
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    "--id: " },
		{ "--kernel k --verbose=1", "--verbose: takes no value" },
	};
	struct vmm_opts	 o;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (test_opts_run(cases[i].args, &o, err, sizeof(err)) !=
		    OPTS_ERROR)
			fail_msg("accepted: %s", cases[i].args);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].args,
			    err, cases[i].msg);
		assert_null(strchr(err, '\n'));
	}
}

static void
test_opts_uds_longer_than_sun_path_is_refused(void **state)
{
	struct vmm_opts	 o;
	char		 err[256], path[200];
	char		*argv[] = { "corral-vmm", "--kernel", "k", "--vsock-cid",
			    "3", "--vsock-uds", path, NULL };

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(opts_parse(7, argv, &o, err, sizeof(err)),
	    OPTS_ERROR);
	assert_non_null(strstr(err, "--vsock-uds: path longer than"));
}

static void
test_opts_cmdline_with_newline_is_refused(void **state)
{
	struct vmm_opts	 o;
	char		 err[256];
	char		*argv[] = { "corral-vmm", "--kernel", "k", "--cmdline",
			    "a\nb", NULL };

	(void)state;
	assert_int_equal(opts_parse(5, argv, &o, err, sizeof(err)),
	    OPTS_ERROR);
	assert_non_null(strstr(err, "--cmdline"));
}

static void
test_opts_help_wins(void **state)
{
	struct vmm_opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(test_opts_run("--help", &o, err, sizeof(err)),
	    OPTS_HELP);
	assert_int_equal(test_opts_run("--kernel k -h", &o, err,
	    sizeof(err)), OPTS_HELP);
}

static void
test_opts_usage_mentions_every_flag(void **state)
{
	static const char *const flags[] = {
		VMM_CTL_FLAG_KERNEL, VMM_CTL_FLAG_INITRD, VMM_CTL_FLAG_CMDLINE,
		VMM_CTL_FLAG_MEMORY, VMM_CTL_FLAG_VCPUS, VMM_CTL_FLAG_VSOCK_CID,
		VMM_CTL_FLAG_VSOCK_UDS, VMM_CTL_FLAG_SERIAL, VMM_CTL_FLAG_ID,
		VMM_CTL_FLAG_VERBOSE,
	};
	char	 buf[4096];
	FILE	*fp;
	size_t	 i, n;

	(void)state;
	fp = fmemopen(buf, sizeof(buf) - 1, "w");
	assert_non_null(fp);
	opts_usage(fp);
	n = (size_t)ftell(fp);
	fclose(fp);
	buf[n] = '\0';
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strstr(buf, flags[i]) == NULL)
			fail_msg("usage lacks %s", flags[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_opts_every_flag),
		cmocka_unit_test(test_opts_equals_and_separate_values_agree),
		cmocka_unit_test(test_opts_cmdline_keeps_equals_signs),
		cmocka_unit_test(test_opts_serial_stdout),
		cmocka_unit_test(test_opts_limits_accepted),
		cmocka_unit_test(test_opts_bad_arguments_name_the_flag),
		cmocka_unit_test(test_opts_uds_longer_than_sun_path_is_refused),
		cmocka_unit_test(test_opts_cmdline_with_newline_is_refused),
		cmocka_unit_test(test_opts_help_wins),
		cmocka_unit_test(test_opts_usage_mentions_every_flag),
	};

	return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
