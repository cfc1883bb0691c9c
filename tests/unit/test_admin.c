/*
 * tests/unit/test_admin.c: proxy/admin.c, driven as a client would over
 * a socketpair, on the admin's real event_base with the real parser:
 * /status (a static pool's servers, a microvm pool's VMs), /metrics (the
 * request counters fed the way the session feeds them, the pools'
 * metrics), POST /pools/NAME/vms/ID/replace (202, 404, 409, 405), HEAD,
 * keep-alive and pipelining, and hostile requests answered with their
 * 4xx and the connection closed.  The microvm pool is not started: its
 * members are set by hand, as the pool thread would set them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/mtime.h"
#include "pool/member.h"
#include "pool/pool.h"
#include "pool/pool_priv.h"
#include "proxy/accesslog.h"
#include "proxy/admin.h"
#include "proxy/http.h"
#include "proxy/metrics.h"
#include "proxy/runtime.h"

#define TEST_REPLY_MAX	65536
#define TEST_WAIT_MS	2000
#define TEST_SLOW_CONNS	32	/* admin.c's ADMIN_CONNS_MAX */

static const char test_admin_yaml[] =
    "admin: off\n"
    "listeners:\n"
    "  - name: web\n"
    "    listen: 127.0.0.1:0\n"
    "routes:\n"
    "  - match: { path_prefix: /vm }\n"
    "    pool: hello\n"
    "  - match: { host: \"*\" }\n"
    "    pool: app\n"
    "pools:\n"
    "  - name: app\n"
    "    type: static\n"
    "    servers: [ 127.0.0.1:9, \"unix:/tmp/a\\\"b\" ]\n"
    "  - name: hello\n"
    "    type: microvm\n"
    "    kernel: /nonexistent/kernel\n"
    "    size: { min: 2, max: 2 }\n";

struct test_admin {
	char			 dir[64];
	struct pool_group	*g;
	struct pool		*pool;
	struct runtime		*rt;
	struct metrics		*m;
	struct admin		*a;
	int			 fd;	/* the client's end */
	char			 reply[TEST_REPLY_MAX];
	size_t			 len;
	bool			 closed;
};

static int
test_admin_setup(void **state)
{
	struct test_admin	*t;
	struct conf_errors	*errs = conf_errors_new();
	struct conf		*conf;
	struct member		*m;
	int			 sv[2];

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (-1);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_admin.XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return (-1);
	setenv("XDG_RUNTIME_DIR", t->dir, 1);
	setenv("CORRAL_VMM", "/bin/false", 1);
	conf = conf_load_string("admin.yaml", test_admin_yaml,
	    strlen(test_admin_yaml), errs);
	if (conf == NULL || (t->g = pool_group_new(conf)) == NULL ||
	    (t->rt = runtime_new(&conf, 1, NULL, RUNTIME_CHECK,
	    errs)) == NULL) {
		conf_errors_print(errs, stderr);
		return (-1);
	}
	conf_errors_free(errs);
	runtime_bind_pools(t->rt, t->g);
	t->pool = pool_group_find(t->g, "hello");
	/* What the pool thread would have: a ready VM, a booting one. */
	m = &t->pool->p_members[0];
	m->m_state = MEMBER_READY;
	m->m_pid = 4242;
	m->m_boot = 1;
	m->m_spawn_ns = mtime_now_ns() - 2000 * MTIME_NS_PER_MS;
	m->m_ready_ns = m->m_spawn_ns + 6 * MTIME_NS_PER_MS;
	m->m_health_res = 0;
	m->m_health_ns = mtime_now_ns();
	m->m_health.mh_ok = 3;
	m = &t->pool->p_members[3];
	m->m_state = MEMBER_BOOTING;
	m->m_pid = -1;			/* nothing to kill */
	m->m_boot = 2;
	m->m_spawn_ns = mtime_now_ns();
	m = &t->pool->p_members[2];
	m->m_state = MEMBER_DRAINING;
	m->m_pid = -1;
	m->m_boot = 3;
	m->m_why = MEMBER_WHY_SCALE_DOWN;
	pool_changed(t->pool);
	pool_info_flush(t->pool);
	if ((t->m = metrics_new(1)) == NULL ||
	    (t->a = admin_new(t->m, t->rt)) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    admin_serve(t->a, sv[0]) == -1)
		return (-1);
	t->fd = sv[1];
	*state = t;
	return (0);
}

static int
test_admin_teardown(void **state)
{
	struct test_admin	*t = *state;

	close(t->fd);
	admin_free(t->a);
	metrics_free(t->m);
	runtime_put(t->rt);
	pool_group_free(t->g);
	rmdir(t->dir);
	free(t);
	return (0);
}

/* Whether t->reply holds <n> complete responses (HEAD: no bodies). */
static bool
test_admin_complete(struct test_admin *t, int n, bool head)
{
	const char	*p = t->reply, *end, *cl;
	size_t		 body;

	for (; n > 0; n--) {
		if ((end = strstr(p, "\r\n\r\n")) == NULL)
			return (false);
		cl = strstr(p, "Content-Length: ");
		body = cl != NULL && cl < end && !head ?
		    strtoul(cl + 16, NULL, 10) : 0;
		if ((size_t)(end + 4 - t->reply) + body > t->len)
			return (false);
		p = end + 4 + body;
	}
	return (true);
}

/*
 * Sends <req>, runs the admin's loop until <n> responses are in (or
 * the connection closed, or TEST_WAIT_MS), and returns them.
 */
static const char *
test_admin_ask(struct test_admin *t, const char *req, int n, bool head)
{
	struct event_base	*base = admin_base(t->a);
	uint64_t		 deadline = mtime_now_ms() + TEST_WAIT_MS;
	ssize_t			 got;

	t->len = 0;
	t->reply[0] = '\0';
	if (req != NULL)
		assert_int_equal(write(t->fd, req, strlen(req)),
		    (ssize_t)strlen(req));
	while (!t->closed && !test_admin_complete(t, n, head) &&
	    mtime_now_ms() < deadline) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		got = recv(t->fd, t->reply + t->len, sizeof(t->reply) - 1 -
		    t->len, MSG_DONTWAIT);
		if (got == 0)
			t->closed = true;
		else if (got > 0) {
			t->len += (size_t)got;
			t->reply[t->len] = '\0';
		} else
			assert_int_equal(errno, EAGAIN);
	}
	return (t->reply);
}

/* Whether the admin closed the connection (within TEST_WAIT_MS). */
static bool
test_admin_closed(struct test_admin *t)
{
	test_admin_ask(t, NULL, 1000, false);
	return (t->closed);
}

static void
test_admin_status_json(void **state)
{
	struct test_admin	*t = *state;
	const char		*r;

	r = test_admin_ask(t, "GET /status HTTP/1.1\r\nHost: a\r\n\r\n", 1,
	    false);
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r, "Content-Type: application/json\r\n"));
	assert_null(strstr(r, "Connection: close"));
	assert_non_null(strstr(r, "{\"name\":\"app\",\"type\":\"static\","
	    "\"servers\":[{\"name\":\"127.0.0.1:9\",\"inflight\":0,"
	    "\"failures\":0,\"ejected\":false},{\"name\":\"unix:/tmp/a\\\"b\""));
	assert_non_null(strstr(r, "{\"name\":\"hello\",\"type\":\"microvm\","
	    "\"running\":true,\"size\":{\"min\":2,\"max\":2},\"target\":2,"));
	assert_non_null(strstr(r, "{\"id\":0,\"boot\":1,\"state\":\"ready\","
	    "\"pid\":4242,\"cid\":3,\"uptime_s\":"));
	assert_non_null(strstr(r, "\"boot_ms\":6.0,\"requests\":0,"
	    "\"inflight\":0,\"in_rotation\":true,\"replacing\":false,"
	    "\"leaving\":\"\","
	    "\"health\":{\"result\":\"ok\",\"age_s\":"));
	assert_non_null(strstr(r, "{\"id\":3,\"boot\":2,\"state\":\"booting\","
	    "\"pid\":-1,\"cid\":6,"));
	assert_non_null(strstr(r, "\"leaving\":\"scale_down\",\"health\":null"));
	/* Booting and draining VMs take no requests. */
	assert_non_null(strstr(r, "\"in_rotation\":false,\"replacing\":false,"
	    "\"leaving\":\"scale_down\""));
	assert_false(t->closed);
	/* The same connection, again, and in flight counts are live. */
	pool_slot_acquire(t->pool, 0);
	r = test_admin_ask(t, "GET /status?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
	    1, false);
	assert_non_null(strstr(r, "\"requests\":1,\"inflight\":1,"));
	pool_slot_release(t->pool, 0);
}

static void
test_admin_metrics_text(void **state)
{
	struct test_admin	*t = *state;
	struct accesslog_entry	 e;
	const char		*r;

	memset(&e, 0, sizeof(e));
	e.ae_status = 200;
	e.ae_route = "routes[1]";
	e.ae_total_us = 1500;
	metrics_request(metrics_shard(t->m, 0), &e);
	r = test_admin_ask(t, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 1,
	    false);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\n"));
	assert_non_null(strstr(r, "\ncorral_http_requests_total{route="
	    "\"routes[1]\",code=\"200\"} 1\n"));
	assert_non_null(strstr(r, "\ncorral_pool_vms{pool=\"hello\","
	    "state=\"ready\"} 1\n"));
	assert_non_null(strstr(r, "\ncorral_pool_vms{pool=\"hello\","
	    "state=\"booting\"} 1\n"));
	assert_non_null(strstr(r, "\ncorral_pool_vms{pool=\"hello\","
	    "state=\"draining\"} 1\n"));
	assert_non_null(strstr(r, "\ncorral_pool_vm_exits_total{pool="
	    "\"hello\",reason=\"crash\"} 0\n"));
	assert_non_null(strstr(r, "\ncorral_pool_replacements_total{pool="
	    "\"hello\",reason=\"admin\"} 0\n"));
	assert_non_null(strstr(r, "\ncorral_pool_boot_duration_seconds_count"
	    "{pool=\"hello\"} 0\n"));
	assert_non_null(strstr(r, "\ncorral_pool_queue_wait_seconds_bucket{"
	    "pool=\"hello\",le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(r, "\ncorral_pool_queue_length{pool=\"hello\"}"
	    " 0\n"));
	/* Static pools have no VMs. */
	assert_null(strstr(r, "pool=\"app\""));
}

static void
test_admin_head_and_methods(void **state)
{
	struct test_admin	*t = *state;
	const char		*r;

	r = test_admin_ask(t, "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 1,
	    true);
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r, "Content-Length: "));
	assert_null(strstr(r, "# TYPE"));		/* no body */
	r = test_admin_ask(t, "DELETE /status HTTP/1.1\r\nHost: a\r\n\r\n",
	    1, false);
	assert_non_null(strstr(r, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
	r = test_admin_ask(t, "GET /pools/hello/vms/0/replace HTTP/1.1\r\n"
	    "Host: a\r\n\r\n", 1, false);
	assert_non_null(strstr(r, "HTTP/1.1 405 "));
	assert_non_null(strstr(r, "Allow: POST\r\n"));
	r = test_admin_ask(t, "GET /statusx HTTP/1.1\r\nHost: a\r\n\r\n", 1,
	    false);
	assert_non_null(strstr(r, "HTTP/1.1 404 Not Found\r\n"));
	assert_false(t->closed);
}

static void
test_admin_replace(void **state)
{
	static const struct { const char *path; int status; } bad[] = {
		{ "/pools/nope/vms/0/replace", 404 },
		{ "/pools/app/vms/0/replace", 404 },	/* static */
		{ "/pools/hello/vms/1/replace", 404 },	/* empty slot */
		{ "/pools/hello/vms/99/replace", 404 },	/* no such slot */
		{ "/pools/hello/vms/01/replace", 404 },
		{ "/pools/hello/vms/-1/replace", 404 },
		{ "/pools/hello/vms/99999999999/replace", 404 },
		{ "/pools/hello/vms//replace", 404 },
		{ "/pools//vms/0/replace", 404 },
		{ "/pools/hello/vms/0/replace/", 404 },
		{ "/pools/hello/vms/0", 404 },
		{ "/pools/hello/vms/2/replace", 409 },	/* draining */
	};
	struct test_admin	*t = *state;
	const char		*r;
	char			 req[256], want[32];
	size_t			 i;

	r = test_admin_ask(t, "POST /pools/hello/vms/0/replace HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: 5\r\n\r\nhello", 1, false);
	assert_non_null(strstr(r, "HTTP/1.1 202 Accepted\r\n"));
	assert_non_null(strstr(r, "{\"pool\":\"hello\",\"vm\":0,\"boot\":1,"
	    "\"pid\":4242,\"cid\":3,\"state\":\"ready\",\"replacing\":true}"));
	/* Left for the pool thread, naming the VM by its boot number. */
	assert_int_equal(atomic_load(&t->pool->p_slots[0].sl_replace), 1);
	r = test_admin_ask(t, "POST /pools/hello/vms/3/replace HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: 0\r\n\r\n", 1, false);
	assert_non_null(strstr(r, "HTTP/1.1 202 Accepted\r\n"));
	assert_non_null(strstr(r, "\"state\":\"booting\""));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: 0\r\n\r\n", bad[i].path);
		r = test_admin_ask(t, req, 1, false);
		snprintf(want, sizeof(want), "HTTP/1.1 %d ", bad[i].status);
		if (strstr(r, want) == NULL)
			fail_msg("%s: %s", bad[i].path, r);
		assert_non_null(strstr(r, "{\"error\":"));
	}
	assert_false(t->closed);
}

static void
test_admin_pipelined_requests_in_order(void **state)
{
	struct test_admin	*t = *state;
	const char		*r, *a, *b;

	r = test_admin_ask(t, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /status HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	    3, false);
	a = strstr(r, "HTTP/1.1 404");
	b = strstr(r, "\"pools\":[");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_true(b < strstr(r, "# TYPE corral_pool_vms gauge"));
	assert_non_null(strstr(r, "Connection: close\r\n"));
	assert_true(test_admin_closed(t));
}

/*
 * A client that sends its requests and half-closes (printf ... | nc -N)
 * gets every answer, in order, then the connection closes.
 */
static void
test_admin_half_close_answers_every_request(void **state)
{
	struct test_admin	*t = *state;
	const char		*r, *a, *b, *c;
	static const char	 reqs[] =
	    "GET /status HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";

	assert_int_equal(write(t->fd, reqs, strlen(reqs)),
	    (ssize_t)strlen(reqs));
	assert_int_equal(shutdown(t->fd, SHUT_WR), 0);
	r = test_admin_ask(t, NULL, 3, false);
	a = strstr(r, "\"pools\":[");
	b = strstr(r, "HTTP/1.1 404");
	c = strstr(r, "# TYPE corral_pool_vms gauge");
	if (a == NULL || b == NULL || c == NULL)
		fail_msg("missing answers: %s", r);
	assert_true(a < b && b < c);
	assert_true(test_admin_closed(t));

	/* Half a request, then the end: nothing to answer, closed. */
	assert_int_equal(test_admin_teardown(state), 0);
	assert_int_equal(test_admin_setup(state), 0);
	t = *state;
	assert_int_equal(write(t->fd, "GET /status HTTP/1.1\r\n", 22), 22);
	assert_int_equal(shutdown(t->fd, SHUT_WR), 0);
	assert_true(test_admin_closed(t));
	if (t->len != 0)
		fail_msg("answered: %s", t->reply);
}

/* Runs the admin's loop for about <ms>. */
static void
test_admin_spin(struct test_admin *t, uint64_t ms)
{
	uint64_t	 deadline = mtime_now_ms() + ms;

	while (mtime_now_ms() < deadline) {
		event_base_loop(admin_base(t->a), EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/*
 * Slowloris: clients holding every connection with requests trickling
 * in do not lock a scraper out; the least recently active goes.
 */
static void
test_admin_slowloris_does_not_lock_out(void **state)
{
	struct test_admin	*t = *state;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 lfd, fds[TEST_SLOW_CONNS], own = t->fd, one = 1;
	size_t			 i, closed = 0;
	char			 c;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_not_equal(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 64), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(admin_listen_fd(t->a, lfd), 0);
	/* The setup's connection and these fill every place. */
	for (i = 0; i < TEST_SLOW_CONNS; i++) {
		assert_int_not_equal(fds[i] = socket(AF_INET, SOCK_STREAM, 0),
		    -1);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		assert_int_equal(write(fds[i], "GET /status HTTP/1.1\r\n", 22),
		    22);
		test_admin_spin(t, 5);
	}
	test_admin_spin(t, 50);
	/* A scraper. */
	assert_int_not_equal(t->fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	assert_int_equal(connect(t->fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	test_admin_ask(t, "GET /status HTTP/1.1\r\nHost: a\r\n\r\n", 1,
	    false);
	if (strstr(t->reply, "HTTP/1.1 200 OK\r\n") == NULL)
		fail_msg("the scraper got: \"%s\"%s", t->reply,
		    t->closed ? ", closed" : "");
	close(t->fd);
	/* Two made room: the setup's connection and the oldest trickler. */
	assert_int_equal(recv(own, &c, 1, MSG_DONTWAIT), 0);
	t->fd = own;
	assert_int_equal(recv(fds[0], &c, 1, MSG_DONTWAIT), 0);
	for (i = 0; i < TEST_SLOW_CONNS; i++) {
		if (recv(fds[i], &c, 1, MSG_DONTWAIT) == 0)
			closed++;
		close(fds[i]);
	}
	assert_int_equal(closed, 1);
}

/*
 * A READY VM out of rotation (a failed check, fewer than rise passed
 * since) is shown so, and is not in the workers' ready set.
 */
static void
test_admin_out_of_rotation(void **state)
{
	struct test_admin	*t = *state;
	struct pool_set		*set;
	const char		*r;

	t->pool->p_members[0].m_health.mh_out = true;
	t->pool->p_members[0].m_health.mh_fail = 1;
	pool_publish(t->pool);
	pool_changed(t->pool);
	pool_info_flush(t->pool);
	set = pool_set_get(t->pool);
	assert_false(pool_set_ready(set, 0));
	assert_int_equal(pool_set_count(set), 0);
	pool_set_put(set);
	r = test_admin_ask(t, "GET /status HTTP/1.1\r\nHost: a\r\n\r\n", 1,
	    false);
	assert_non_null(strstr(r, "{\"id\":0,\"boot\":1,\"state\":\"ready\","));
	assert_non_null(strstr(r, "\"boot_ms\":6.0,\"requests\":0,"
	    "\"inflight\":0,\"in_rotation\":false,"));
}

/* Every byte is hostile: the right 4xx, then the connection closes. */
static void
test_admin_bad_requests(void **state)
{
	static const struct { const char *req; int status; } cases[] = {
		{ "GET /status HTTP/1.1\r\nHost: a\r\nBad Field\r\n\r\n", 400 },
		{ "GET /status HTTP/1.1\nHost: a\n\n", 400 },
		{ "GET /status HTTP/9.9\r\nHost: a\r\n\r\n", 505 },
		{ "GET http://a/status HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "POST /pools/hello/vms/0/replace HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: 99999\r\n\r\n", 413 },
		{ "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 400 },
	};
	struct test_admin	*t;
	char			 big[2048], want[32];
	size_t			 i;

	for (i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(test_admin_setup(state), 0);
		t = *state;
		if (i < sizeof(cases) / sizeof(cases[0])) {
			test_admin_ask(t, cases[i].req, 1, false);
			snprintf(want, sizeof(want), "HTTP/1.1 %d ",
			    cases[i].status);
		} else {
			/* A target over the admin's 1 KiB limit: 414. */
			memset(big, 'a', sizeof(big));
			memcpy(big, "GET /", 5);
			memcpy(big + sizeof(big) - 6, " HTTP/", 6);
			big[sizeof(big) - 1] = '\0';
			test_admin_ask(t, big, 1, false);
			snprintf(want, sizeof(want), "HTTP/1.1 414 ");
		}
		if (strstr(t->reply, want) == NULL)
			fail_msg("case %zu: %s", i, t->reply);
		assert_true(test_admin_closed(t));
		test_admin_teardown(state);
	}
	*state = NULL;
}

int
main(void)
{
	int			 rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admin_status_json,
		    test_admin_setup, test_admin_teardown),
		cmocka_unit_test_setup_teardown(test_admin_metrics_text,
		    test_admin_setup, test_admin_teardown),
		cmocka_unit_test_setup_teardown(test_admin_head_and_methods,
		    test_admin_setup, test_admin_teardown),
		cmocka_unit_test_setup_teardown(test_admin_replace,
		    test_admin_setup, test_admin_teardown),
		cmocka_unit_test_setup_teardown(
		    test_admin_pipelined_requests_in_order, test_admin_setup,
		    test_admin_teardown),
		cmocka_unit_test_setup_teardown(
		    test_admin_half_close_answers_every_request,
		    test_admin_setup, test_admin_teardown),
		cmocka_unit_test_setup_teardown(
		    test_admin_slowloris_does_not_lock_out, test_admin_setup,
		    test_admin_teardown),
		cmocka_unit_test_setup_teardown(test_admin_out_of_rotation,
		    test_admin_setup, test_admin_teardown),
		cmocka_unit_test(test_admin_bad_requests),
	};

	rc = cmocka_run_group_tests_name("admin", tests, NULL, NULL);
	/* Kept for reuse, else LeakSanitizer calls it a leak. */
	http_parser_cache_flush();
	return (rc);
}
