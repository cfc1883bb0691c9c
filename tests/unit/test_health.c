/*
 * tests/unit/test_health.c: pool/health.c against a fake corral-vmm on
 * a real Unix socket in the same event_base: the CONNECT handshake, the
 * request it sends, and each outcome -- the expected status, another
 * status, a refused handshake, garbage, silence past the timeout, no
 * socket at all -- reported once, from the loop; and a connection kept
 * between probes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "pool/health.h"

/* What the fake VMM does after reading "CONNECT <port>\n". */
struct test_health_vmm {
	const char		*handshake;	/* NULL: say nothing */
	const char		*response;	/* after the request; NULL: none */
	char			 connect[64];	/* the line it got */
	char			 request[512];	/* what it got after OK */
	size_t			 reqlen;
	struct bufferevent	*bev;
	bool			 every;		/* answer every request */
	unsigned		 accepts;
	unsigned		 requests;
};

struct test_health_result {
	int			 done;
	enum health_result	 res;
	int			 status;
};

static void
test_health_vmm_read_cb(struct bufferevent *bev, void *arg)
{
	struct test_health_vmm	*v = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 n;

	if (v->connect[0] == '\0') {
		if ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF)) ==
		    NULL)
			return;
		snprintf(v->connect, sizeof(v->connect), "%s", line);
		free(line);
		if (v->handshake != NULL)
			bufferevent_write(bev, v->handshake,
			    strlen(v->handshake));
	}
	n = evbuffer_remove(in, v->request + v->reqlen,
	    sizeof(v->request) - 1 - v->reqlen);
	v->reqlen += n;
	v->request[v->reqlen] = '\0';
	if (strstr(v->request, "\r\n\r\n") != NULL && v->response != NULL) {
		bufferevent_write(bev, v->response, strlen(v->response));
		v->requests++;
		if (v->every)
			v->reqlen = 0;
		else
			v->response = NULL;
	}
}

static void
test_health_vmm_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct test_health_vmm	*v = arg;

	(void)sa;
	(void)len;
	if (v->bev != NULL)
		bufferevent_free(v->bev);
	v->accepts++;
	v->connect[0] = '\0';
	v->reqlen = 0;
	v->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(v->bev, test_health_vmm_read_cb, NULL, NULL, v);
	bufferevent_enable(v->bev, EV_READ | EV_WRITE);
}

static void
test_health_cb(enum health_result res, int status, void *arg)
{
	struct test_health_result	*r = arg;

	r->done++;
	r->res = res;
	r->status = status;
}

/* An event_base, and a fake VMM listening unless there is no <v>. */
struct test_health_fix {
	struct event_base	*base;
	struct evconnlistener	*l;
	struct sockaddr_un	 sun;
	struct test_health_vmm	*v;
};

static void
test_health_fix_start(struct test_health_fix *f, struct test_health_vmm *v)
{
	struct timeval	 tv = { 5, 0 };

	memset(f, 0, sizeof(*f));
	assert_non_null(f->base = event_base_new());
	f->v = v;
	f->sun.sun_family = AF_UNIX;
	snprintf(f->sun.sun_path, sizeof(f->sun.sun_path),
	    "/tmp/test_health.%ld", (long)getpid());
	unlink(f->sun.sun_path);
	if (v != NULL) {
		f->l = evconnlistener_new_bind(f->base,
		    test_health_vmm_accept_cb, v, LEV_OPT_CLOSE_ON_FREE, 8,
		    (struct sockaddr *)&f->sun, sizeof(f->sun));
		assert_non_null(f->l);
	}
	event_base_loopexit(f->base, &tv);	/* bounds the whole test */
}

/* One probe, run to its result in <r>. */
static void
test_health_probe(struct test_health_fix *f, uint64_t timeout_ms,
    struct health_conn **keep, struct test_health_result *r)
{
	memset(r, 0, sizeof(*r));
	assert_non_null(health_probe_start(f->base, f->sun.sun_path, 8080,
	    "/health", 200, timeout_ms, keep, test_health_cb, r));
	assert_int_equal(r->done, 0);		/* never from inside */
	while (r->done == 0 && !event_base_got_exit(f->base))
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(r->done, 1);
}

static void
test_health_fix_end(struct test_health_fix *f)
{
	if (f->v != NULL && f->v->bev != NULL) {
		bufferevent_free(f->v->bev);
		f->v->bev = NULL;
	}
	if (f->l != NULL)
		evconnlistener_free(f->l);
	unlink(f->sun.sun_path);
	event_base_free(f->base);
}

/* One probe of a fake VMM behaving as <v> says; the result in <r>. */
static void
test_health_run(struct test_health_vmm *v, bool listen, uint64_t timeout_ms,
    struct test_health_result *r)
{
	struct test_health_fix	 f;

	test_health_fix_start(&f, listen ? v : NULL);
	test_health_probe(&f, timeout_ms, NULL, r);
	test_health_fix_end(&f);
}

static void
test_health_expected_status_is_ok(void **state)
{
	struct test_health_vmm		 v = { .handshake = "OK 1073741824\n",
	    .response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" };
	struct test_health_result	 r;

	(void)state;
	test_health_run(&v, true, 1000, &r);
	assert_int_equal(r.res, HEALTH_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(v.connect, "CONNECT 8080");
	assert_non_null(strstr(v.request, "GET /health HTTP/1.1\r\n"));
	assert_non_null(strstr(v.request, "Connection: close\r\n"));
}

static void
test_health_other_status_fails(void **state)
{
	struct test_health_vmm		 v = { .handshake = "OK 5\n",
	    .response = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 0\r\n\r\n" };
	struct test_health_result	 r;

	(void)state;
	test_health_run(&v, true, 1000, &r);
	assert_int_equal(r.res, HEALTH_STATUS);
	assert_int_equal(r.status, 503);
}

static void
test_health_bad_handshake_fails(void **state)
{
	static const char *const lines[] = {
		"NO\n", "OK\n", "OK 12x\n", "ok 12\n",
		"OK 1234567890123456789012345678901234567890123456789012345678"
		"901234567890\n",
	};
	struct test_health_vmm		 v;
	struct test_health_result	 r;
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		memset(&v, 0, sizeof(v));
		v.handshake = lines[i];
		v.response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
		test_health_run(&v, true, 1000, &r);
		assert_int_equal(r.res, HEALTH_HANDSHAKE);
	}
}

static void
test_health_garbage_response_fails(void **state)
{
	struct test_health_vmm		 v = { .handshake = "OK 5\n",
	    .response = "SSH-2.0-OpenSSH\r\n\r\n" };
	struct test_health_result	 r;

	(void)state;
	test_health_run(&v, true, 1000, &r);
	assert_int_equal(r.res, HEALTH_PROTOCOL);
}

static void
test_health_silence_times_out(void **state)
{
	struct test_health_vmm		 v = { .handshake = "OK 5\n",
	    .response = NULL };
	struct test_health_result	 r;

	(void)state;
	test_health_run(&v, true, 50, &r);
	assert_int_equal(r.res, HEALTH_TIMEOUT);
	assert_int_equal(r.status, 0);
}

static void
test_health_no_socket_fails_from_the_loop(void **state)
{
	struct test_health_vmm		 v = { 0 };
	struct test_health_result	 r;

	(void)state;
	test_health_run(&v, false, 1000, &r);
	assert_int_equal(r.res, HEALTH_CONNECT);
}

static void
test_health_free_cancels(void **state)
{
	struct event_base		*base = event_base_new();
	struct test_health_result	 r = { 0, 0, 0 };
	struct health_probe		*p;

	(void)state;
	p = health_probe_start(base, "/nonexistent/sock", 8080, "/health",
	    200, 10, NULL, test_health_cb, &r);
	assert_non_null(p);
	health_probe_free(p);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.done, 0);
	health_probe_free(NULL);
	event_base_free(base);
}

/*
 * With a place to keep it, the connection carries the next probes: one
 * connect and one CONNECT for three checks, no "Connection: close".
 * The guest closing it between probes is not a failed check: the probe
 * starts over on a new one.  A response that closes is not kept.
 */
static void
test_health_keeps_the_connection(void **state)
{
	struct test_health_vmm		 v = { .handshake = "OK 5\n",
	    .response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	    .every = true };
	struct test_health_result	 r;
	struct test_health_fix		 f;
	struct health_conn		*keep = NULL;
	int				 i;

	(void)state;
	test_health_fix_start(&f, &v);
	for (i = 0; i < 6; i++) {
		if (i == 3) {
			/* The guest closes the kept connection. */
			bufferevent_free(v.bev);
			v.bev = NULL;
			event_base_loop(f.base, EVLOOP_NONBLOCK);
		}
		if (i == 4) {
			/* A stray byte on the idle connection closes it. */
			bufferevent_write(v.bev, "\r\n", 2);
			while (keep != NULL && !event_base_got_exit(f.base))
				event_base_loop(f.base, EVLOOP_ONCE);
			assert_null(keep);
		}
		if (i == 5)
			v.response = "HTTP/1.1 200 OK\r\nConnection: close\r\n"
			    "Content-Length: 0\r\n\r\n";
		test_health_probe(&f, 1000, &keep, &r);
		assert_int_equal(r.res, HEALTH_OK);
		if (i < 5)
			assert_non_null(keep);
		assert_int_equal(v.accepts, i < 3 ? 1 : i < 4 ? 2 : 3);
	}
	assert_null(keep);			/* it said close */
	assert_int_equal(v.requests, 6);
	assert_null(strstr(v.request, "Connection: close"));
	health_conn_free(keep);
	health_conn_free(NULL);
	test_health_fix_end(&f);
}

/*
 * The status came but the body does not end within the timeout: the
 * status is the answer; the connection is not kept.
 */
static void
test_health_slow_body_is_judged_by_status(void **state)
{
	struct test_health_vmm		 v = { .handshake = "OK 5\n",
	    .response = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok" };
	struct test_health_result	 r;
	struct test_health_fix		 f;
	struct health_conn		*keep = NULL;

	(void)state;
	test_health_fix_start(&f, &v);
	test_health_probe(&f, 100, &keep, &r);
	assert_int_equal(r.res, HEALTH_OK);
	assert_int_equal(r.status, 200);
	assert_null(keep);
	test_health_fix_end(&f);
}

int
main(void)
{
	int			 rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_expected_status_is_ok),
		cmocka_unit_test(test_health_other_status_fails),
		cmocka_unit_test(test_health_bad_handshake_fails),
		cmocka_unit_test(test_health_garbage_response_fails),
		cmocka_unit_test(test_health_silence_times_out),
		cmocka_unit_test(test_health_no_socket_fails_from_the_loop),
		cmocka_unit_test(test_health_free_cancels),
		cmocka_unit_test(test_health_keeps_the_connection),
		cmocka_unit_test(test_health_slow_body_is_judged_by_status),
	};

	/* A write to a kept connection the fake VMM closed. */
	signal(SIGPIPE, SIG_IGN);

	rc = cmocka_run_group_tests_name("health", tests, NULL, NULL);
	/* Kept for reuse, else LeakSanitizer calls it a leak. */
	health_thread_end();
	return (rc);
}
