/*
 * tests/unit/test_accesslog.c: proxy/accesslog.c: both formats byte for
 * byte, escaping of hostile bytes, field and line cuts, reopening after
 * a rotation, and whole lines from concurrent writers (with rotations
 * under way) in a real file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "proxy/accesslog.h"

#define WRITERS		4
#define LINES_EACH	2000
#define UA_LEN		1000	/* lines of about 1.1 KiB, UA uncut */

static void
test_entry(struct accesslog_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->ae_start.tv_sec = 1704164645;	/* 2024-01-02T03:04:05Z */
	e->ae_start.tv_nsec = 123456789;
	e->ae_client = "192.0.2.1";
	e->ae_method = "GET";
	e->ae_target = "/index.html?q=1";
	e->ae_version = 11;
	e->ae_status = 200;
	e->ae_bytes_in = 0;
	e->ae_bytes_out = 5120;
	e->ae_route = "routes[0]";
	e->ae_pool = "app";
	e->ae_upstream = "127.0.0.1:9000";
	e->ae_request_id = "4bf92f3577b34da6";
	e->ae_user_agent = "curl/8.0.1";
	e->ae_referer = NULL;
	e->ae_ttfb_us = 10500;
	e->ae_total_us = 12345;
	e->ae_upstream_us = 3000;
	e->ae_retries = 1;
	e->ae_tls = 1;
}

static void
test_accesslog_combined_is_byte_exact(void **state)
{
	struct accesslog_entry	 e;
	char			 buf[ACCESSLOG_LINE_MAX];
	const char		*want;

	(void)state;
	test_entry(&e);
	want = "192.0.2.1 - - [02/Jan/2024:03:04:05 +0000] "
	    "\"GET /index.html?q=1 HTTP/1.1\" 200 5120 \"-\" \"curl/8.0.1\" "
	    "rt=0.012 uct=0.003 ttfb=0.010 up=127.0.0.1:9000 route=routes[0] "
	    "pool=app rid=4bf92f3577b34da6 retries=1\n";
	assert_int_equal(accesslog_format(&e, 0, buf, sizeof(buf)),
	    strlen(want));
	assert_string_equal(buf, want);

	/* A request refused before routing: no upstream, route or pool. */
	e.ae_method = NULL;
	e.ae_target = NULL;
	e.ae_version = 0;
	e.ae_status = 400;
	e.ae_bytes_out = 0;
	e.ae_route = e.ae_pool = e.ae_upstream = NULL;
	e.ae_request_id = NULL;
	e.ae_user_agent = "";
	e.ae_referer = "https://example.com/";
	e.ae_total_us = 2000123;
	e.ae_ttfb_us = e.ae_upstream_us = 0;
	e.ae_retries = 0;
	want = "192.0.2.1 - - [02/Jan/2024:03:04:05 +0000] \"-\" 400 0 "
	    "\"https://example.com/\" \"-\" rt=2.000 uct=0.000 ttfb=0.000 "
	    "up=- route=- pool=- rid=- retries=0\n";
	accesslog_format(&e, 0, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_accesslog_json_is_byte_exact(void **state)
{
	struct accesslog_entry	 e;
	char			 buf[ACCESSLOG_LINE_MAX];
	const char		*want;

	(void)state;
	test_entry(&e);
	want = "{\"time\":\"2024-01-02T03:04:05.123Z\",\"client\":\"192.0.2.1\","
	    "\"method\":\"GET\",\"target\":\"/index.html?q=1\","
	    "\"version\":\"HTTP/1.1\",\"status\":200,\"bytes_in\":0,"
	    "\"bytes_out\":5120,\"referer\":null,"
	    "\"user_agent\":\"curl/8.0.1\",\"rt\":0.012,\"uct\":0.003,"
	    "\"ttfb\":0.010,\"upstream\":\"127.0.0.1:9000\","
	    "\"route\":\"routes[0]\",\"pool\":\"app\","
	    "\"request_id\":\"4bf92f3577b34da6\",\"retries\":1,\"tls\":true}\n";
	assert_int_equal(accesslog_format(&e, 1, buf, sizeof(buf)),
	    strlen(want));
	assert_string_equal(buf, want);

	e.ae_method = e.ae_target = NULL;
	e.ae_version = 10;
	e.ae_tls = 0;
	e.ae_route = e.ae_pool = e.ae_upstream = e.ae_request_id = NULL;
	e.ae_user_agent = NULL;
	want = "{\"time\":\"2024-01-02T03:04:05.123Z\",\"client\":\"192.0.2.1\","
	    "\"method\":null,\"target\":null,\"version\":\"HTTP/1.0\","
	    "\"status\":200,\"bytes_in\":0,\"bytes_out\":5120,"
	    "\"referer\":null,\"user_agent\":null,\"rt\":0.012,\"uct\":0.003,"
	    "\"ttfb\":0.010,\"upstream\":null,\"route\":null,\"pool\":null,"
	    "\"request_id\":null,\"retries\":1,\"tls\":false}\n";
	accesslog_format(&e, 1, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_accesslog_escapes_hostile_strings(void **state)
{
	static const struct {
		const char	*in;
		const char	*json;
		const char	*combined;
	} cases[] = {
		{ "a\"b\\c", "a\\\"b\\\\c", "a\\x22b\\x5Cc" },
		{ "\x01\b\f\n\r\t\x1f\x7f", "\\u0001\\b\\f\\n\\r\\t\\u001f\\u007f",
		    "\\x01\\x08\\x0C\\x0A\\x0D\\x09\\x1F\\x7F" },
		/* Well-formed UTF-8 stays as it is in JSON. */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		    "\\xC3\\xA9\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80" },
		/* Stray, overlong, surrogate, truncated, above U+10FFFF. */
		{ "\xff", "\\u00ff", "\\xFF" },
		{ "\xc0\xaf", "\\u00c0\\u00af", "\\xC0\\xAF" },
		{ "\xed\xa0\x80", "\\u00ed\\u00a0\\u0080", "\\xED\\xA0\\x80" },
		{ "\xe2\x82 x", "\\u00e2\\u0082 x", "\\xE2\\x82 x" },
		{ "\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080",
		    "\\xF4\\x90\\x80\\x80" },
		{ "</script>", "</script>", "</script>" },
	};
	struct accesslog_entry	 e;
	char			 buf[ACCESSLOG_LINE_MAX], want[512];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_entry(&e);
		e.ae_user_agent = cases[i].in;
		accesslog_format(&e, 1, buf, sizeof(buf));
		snprintf(want, sizeof(want), "\"user_agent\":\"%s\",",
		    cases[i].json);
		if (strstr(buf, want) == NULL)
			fail_msg("case %zu: %s lacks %s", i, buf, want);
		accesslog_format(&e, 0, buf, sizeof(buf));
		snprintf(want, sizeof(want), " \"%s\" rt=",
		    cases[i].combined);
		if (strstr(buf, want) == NULL)
			fail_msg("case %zu: %s lacks %s", i, buf, want);
	}

	/* Unquoted combined fields and the target stay one word each. */
	test_entry(&e);
	e.ae_target = "/a b\"c";
	e.ae_request_id = "x y";
	accesslog_format(&e, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"GET /a\\x20b\\x22c HTTP/1.1\""));
	assert_non_null(strstr(buf, " rid=x\\x20y "));
}

static void
test_accesslog_long_fields_are_cut_and_json_stays_valid(void **state)
{
	struct accesslog_entry	 e;
	char			 buf[ACCESSLOG_LINE_MAX], small[200];
	char			*target, *ua;
	size_t			 n;

	(void)state;
	assert_non_null(target = malloc(100000));
	assert_non_null(ua = malloc(100000));
	/* Control bytes: each takes six bytes escaped. */
	memset(target, '\x01', 99999);
	target[0] = '/';
	target[99999] = '\0';
	memset(ua, 'u', 99999);
	ua[99999] = '\0';
	test_entry(&e);
	e.ae_target = target;
	e.ae_user_agent = ua;
	e.ae_referer = ua;
	n = accesslog_format(&e, 1, buf, sizeof(buf));
	assert_true(n < ACCESSLOG_LINE_MAX);
	assert_int_equal(strlen(buf), n);
	/* Every field cut on its own, the line whole. */
	assert_non_null(strstr(buf, "\\u0001...\",\"version\":"));
	assert_non_null(strstr(buf, "uuu...\",\"user_agent\":\"uuu"));
	assert_string_equal(buf + n - 12, "\"tls\":true}\n");
	n = accesslog_format(&e, 0, buf, sizeof(buf));
	assert_true(n < ACCESSLOG_LINE_MAX);
	assert_non_null(strstr(buf, "\\x01... HTTP/1.1\""));
	assert_string_equal(buf + n - 10, "retries=1\n");

	/* A buffer too small for the line: cut, marked, still one line. */
	n = accesslog_format(&e, 0, small, sizeof(small));
	assert_true(n < sizeof(small));
	assert_int_equal(strlen(small), n);
	assert_string_equal(small + n - 7, " [cut]\n");
	free(target);
	free(ua);
}

/* ------------------------------------------------------------------ */
/* Files */

static char *
test_accesslog_dir(void)
{
	static char	 dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/corral-test-accesslog.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void
test_accesslog_rmdir(const char *dir)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The whole file, NUL-terminated, or NULL when missing. */
static char *
test_slurp(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = malloc(n + 1));
	assert_int_equal(fread(buf, 1, n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = n;
	return buf;
}

static void
test_accesslog_file_mode_off_and_reopen_after_rename(void **state)
{
	struct conf_log		 lg;
	struct accesslog_entry	 e;
	struct accesslog	*al;
	struct stat		 st;
	char			 path[PATH_MAX + 16], old[PATH_MAX + 16];
	char			 line[ACCESSLOG_LINE_MAX];
	char			*dir, *text;
	size_t			 len;
	mode_t			 mask;

	(void)state;
	dir = test_accesslog_dir();
	snprintf(path, sizeof(path), "%s/access.log", dir);
	snprintf(old, sizeof(old), "%s/access.log.1", dir);
	memset(&lg, 0, sizeof(lg));
	lg.lg_access = CONF_ACCESS_FILE;
	lg.lg_access_file.cf_path = path;
	lg.lg_format = CONF_LOG_COMBINED;
	test_entry(&e);
	accesslog_format(&e, 0, line, sizeof(line));

	mask = umask(022);
	assert_non_null(al = accesslog_open(&lg));
	umask(mask);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	accesslog_write(al, &e);
	/* The rotation: rename, then SIGUSR1 makes the proxy reopen. */
	assert_int_equal(rename(path, old), 0);
	accesslog_write(al, &e);	/* still the old file */
	assert_int_equal(accesslog_reopen(al), 0);
	e.ae_status = 201;
	accesslog_write(al, &e);
	assert_int_equal(accesslog_dropped(al), 0);
	accesslog_free(al);

	assert_non_null(text = test_slurp(old, &len));
	assert_int_equal(len, 2 * strlen(line));
	assert_memory_equal(text, line, strlen(line));
	free(text);
	assert_non_null(text = test_slurp(path, &len));
	assert_int_equal(len, strlen(line));
	assert_non_null(strstr(text, "\" 201 5120 "));
	free(text);

	/* A file in a missing directory: NULL and errno. */
	snprintf(path, sizeof(path), "%s/no/such/dir/log", dir);
	errno = 0;
	assert_null(accesslog_open(&lg));
	assert_int_equal(errno, ENOENT);

	/* Off: a logger that takes lines and drops them. */
	lg.lg_access = CONF_ACCESS_OFF;
	assert_non_null(al = accesslog_open(&lg));
	accesslog_write(al, &e);
	assert_int_equal(accesslog_reopen(al), 0);
	accesslog_free(al);
	accesslog_free(NULL);
	test_accesslog_rmdir(dir);
}

struct test_writer {
	struct accesslog	*al;
	atomic_uint		*done;
	int			 id;
};

static void *
test_writer_main(void *arg)
{
	struct test_writer	*w = arg;
	struct accesslog_entry	 e;
	char			 ua[UA_LEN + 1], rid[32];
	int			 i;

	test_entry(&e);
	memset(ua, 'a' + w->id, UA_LEN);
	ua[UA_LEN] = '\0';
	e.ae_user_agent = ua;
	for (i = 0; i < LINES_EACH; i++) {
		snprintf(rid, sizeof(rid), "w%d-%06d", w->id, i);
		e.ae_request_id = rid;
		accesslog_write(w->al, &e);
	}
	atomic_fetch_add(w->done, 1);
	return NULL;
}

/* One line of writer <id>: its whole shape, nothing from another. */
static bool
test_line_ok(const char *p, size_t len, const char *head, size_t headlen,
    int *seen)
{
	const char	*ua, *rid;
	int		 id, i, n;

	if (len <= headlen || memcmp(p, head, headlen) != 0)
		return false;
	ua = p + headlen;
	id = ua[0] - 'a';
	if (id < 0 || id >= WRITERS || len < headlen + UA_LEN + 60)
		return false;
	for (i = 0; i < UA_LEN; i++)
		if (ua[i] != 'a' + id)
			return false;
	if ((rid = memmem(p, len, " rid=w", 6)) == NULL ||
	    sscanf(rid, " rid=w%d-%d retries=1%n", &i, &n, &n) != 2 ||
	    i != id)
		return false;
	if (memcmp(p + len - 9, "retries=1", 9) != 0)
		return false;
	seen[id]++;
	return true;
}

static void
test_accesslog_concurrent_writers_and_rotations_keep_whole_lines(void **state)
{
	static const char	 head[] = "192.0.2.1 - - [02/Jan/2024:03:04:05 "
	    "+0000] \"GET /index.html?q=1 HTTP/1.1\" 200 5120 \"-\" \"";
	struct test_writer	 w[WRITERS];
	struct conf_log		 lg;
	struct accesslog	*al;
	pthread_t		 th[WRITERS];
	atomic_uint		 done;
	char			 path[PATH_MAX + 16], rotated[PATH_MAX + 32];
	char			*dir, *text, *p, *nl;
	size_t			 len;
	int			 i, rotations = 0, lines = 0, seen[WRITERS] = { 0 };

	(void)state;
	dir = test_accesslog_dir();
	snprintf(path, sizeof(path), "%s/access.log", dir);
	memset(&lg, 0, sizeof(lg));
	lg.lg_access = CONF_ACCESS_FILE;
	lg.lg_access_file.cf_path = path;
	assert_non_null(al = accesslog_open(&lg));
	atomic_init(&done, 0);
	for (i = 0; i < WRITERS; i++) {
		w[i].al = al;
		w[i].done = &done;
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL,
		    test_writer_main, &w[i]), 0);
	}
	/* Rotate while they write, at most 20 times. */
	while (atomic_load(&done) < WRITERS && rotations < 20) {
		snprintf(rotated, sizeof(rotated), "%s.%d", path, rotations);
		assert_int_equal(rename(path, rotated), 0);
		assert_int_equal(accesslog_reopen(al), 0);
		rotations++;
		sched_yield();
	}
	for (i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(accesslog_dropped(al), 0);
	accesslog_free(al);

	for (i = -1; i < rotations; i++) {
		if (i == -1)
			snprintf(rotated, sizeof(rotated), "%s", path);
		else
			snprintf(rotated, sizeof(rotated), "%s.%d", path, i);
		assert_non_null(text = test_slurp(rotated, &len));
		for (p = text; p < text + len; p = nl + 1) {
			assert_non_null(nl = memchr(p, '\n', text + len - p));
			if (!test_line_ok(p, nl - p, head, sizeof(head) - 1,
			    seen))
				fail_msg("torn line in %s at %zu", rotated,
				    (size_t)(p - text));
			lines++;
		}
		free(text);
	}
	assert_int_equal(lines, WRITERS * LINES_EACH);
	for (i = 0; i < WRITERS; i++)
		assert_int_equal(seen[i], LINES_EACH);
	test_accesslog_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accesslog_combined_is_byte_exact),
		cmocka_unit_test(test_accesslog_json_is_byte_exact),
		cmocka_unit_test(test_accesslog_escapes_hostile_strings),
		cmocka_unit_test(test_accesslog_long_fields_are_cut_and_json_stays_valid),
		cmocka_unit_test(test_accesslog_file_mode_off_and_reopen_after_rename),
		cmocka_unit_test(test_accesslog_concurrent_writers_and_rotations_keep_whole_lines),
	};

	return cmocka_run_group_tests_name("accesslog", tests, NULL, NULL);
}
