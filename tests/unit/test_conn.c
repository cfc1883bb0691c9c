/*
 * tests/unit/test_conn.c: proxy/conn.c on a real event_base with
 * socketpairs: bytes both ways, a read tried at once without epoll,
 * EOF, a write the kernel takes only in part (the rest goes when the
 * peer reads, and the write callback says when the output fell to the
 * low watermark), the read high watermark pausing and resuming, write
 * and read errors reported from the loop, connect(), and a closed conn
 * given back clean by the next conn_new().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "proxy/conn.h"

#define TEST_DEADLINE_MS	3000
#define TEST_BIG		(4 * 1024 * 1024)

/* What a conn's callbacks saw. */
struct test_conn {
	struct event_base	*base;
	struct conn		*c;
	int			 peer;		/* the other end, blocking */
	int			 nread;
	int			 nwrite;
	int			 events;	/* CONN_EV_* seen, or'ed */
	int			 err;		/* errno at CONN_EV_ERROR */
	bool			 drain;		/* the read cb empties input */
	size_t			 drained;	/* ...this much so far */
	bool			 free_on_event;
};

static void
test_read_cb(struct conn *c, void *arg)
{
	struct test_conn	*t = arg;

	t->nread++;
	if (t->drain) {
		t->drained += evbuffer_get_length(conn_input(c));
		evbuffer_drain(conn_input(c), evbuffer_get_length(
		    conn_input(c)));
	}
}

static void
test_write_cb(struct conn *c, void *arg)
{
	struct test_conn	*t = arg;

	(void)c;
	t->nwrite++;
}

static void
test_event_cb(struct conn *c, int what, void *arg)
{
	struct test_conn	*t = arg;

	t->events |= what;
	if (what & CONN_EV_ERROR)
		t->err = errno;
	if (t->free_on_event) {
		conn_free(c);
		t->c = NULL;
	}
}

static void
test_nonblock(int fd)
{
	int	 fl = fcntl(fd, F_GETFL);

	assert_true(fl != -1);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* A conn over one end of a socketpair; t->peer is the other end. */
static void
test_setup(struct test_conn *t)
{
	int	 sv[2];

	memset(t, 0, sizeof(*t));
	assert_non_null(t->base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	test_nonblock(sv[0]);
	t->peer = sv[1];
	assert_non_null(t->c = conn_new(t->base, sv[0]));
	conn_setcb(t->c, test_read_cb, test_write_cb, test_event_cb, t);
}

static void
test_teardown(struct test_conn *t)
{
	conn_free(t->c);
	if (t->peer != -1)
		close(t->peer);
	event_base_free(t->base);
}

static void
test_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until *<v> reaches <want> or the deadline passes. */
static void
test_run_until(struct test_conn *t, const int *v, int want)
{
	struct timeval	 tv = { TEST_DEADLINE_MS / 1000, 0 };
	struct event	*ev;
	int		 late = 0;

	assert_non_null(ev = evtimer_new(t->base, test_deadline_cb, &late));
	evtimer_add(ev, &tv);
	while (*v < want && !late)
		event_base_loop(t->base, EVLOOP_ONCE);
	event_free(ev);
	assert_true(*v >= want);
}

/* Reads what the peer has, without blocking; returns the byte count. */
static size_t
test_peer_drain(struct test_conn *t)
{
	char	 buf[65536];
	size_t	 total = 0;
	ssize_t	 n;

	while ((n = recv(t->peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	return (total);
}

/* ------------------------------------------------------------------ */

static void
test_conn_carries_bytes_both_ways(void **state)
{
	struct test_conn	 t;
	char			 buf[16];

	(void)state;
	test_setup(&t);
	assert_int_equal(conn_read_start(t.c), 0);
	assert_int_equal(write(t.peer, "ping", 4), 4);
	test_run_until(&t, &t.nread, 1);
	assert_int_equal(evbuffer_get_length(conn_input(t.c)), 4);
	assert_int_equal(evbuffer_add(conn_output(t.c), "pong", 4), 0);
	/* Nothing goes out before the owner flushes... */
	assert_int_equal(recv(t.peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	/* ...and then at once, without a loop turn. */
	conn_flush(t.c);
	assert_int_equal(evbuffer_get_length(conn_output(t.c)), 0);
	assert_int_equal(read(t.peer, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	assert_null(conn_ssl(t.c));
	test_teardown(&t);
}

static void
test_conn_read_once_then_more(void **state)
{
	struct test_conn	 t;

	(void)state;
	test_setup(&t);
	/* Sent before the conn looks: the first read finds it. */
	assert_int_equal(write(t.peer, "GET", 3), 3);
	conn_read_once(t.c);
	assert_int_equal(t.nread, 0);		/* never from inside */
	test_run_until(&t, &t.nread, 1);
	assert_int_equal(evbuffer_get_length(conn_input(t.c)), 3);
	/* Wanting more registers the socket: later bytes arrive too. */
	assert_int_equal(conn_read_start(t.c), 0);
	assert_int_equal(write(t.peer, " /", 2), 2);
	test_run_until(&t, &t.nread, 2);
	assert_int_equal(evbuffer_get_length(conn_input(t.c)), 5);
	test_teardown(&t);
}

static void
test_conn_read_once_finds_nothing(void **state)
{
	struct test_conn	 t;

	(void)state;
	test_setup(&t);
	conn_read_once(t.c);
	event_base_loop(t.base, EVLOOP_NONBLOCK);
	assert_int_equal(t.nread, 0);
	/* The empty read armed the event: the late bytes are read. */
	assert_int_equal(write(t.peer, "late", 4), 4);
	test_run_until(&t, &t.nread, 1);
	assert_int_equal(evbuffer_get_length(conn_input(t.c)), 4);
	test_teardown(&t);
}

static void
test_conn_eof(void **state)
{
	struct test_conn	 t;

	(void)state;
	test_setup(&t);
	assert_int_equal(conn_read_start(t.c), 0);
	assert_int_equal(write(t.peer, "last", 4), 4);
	assert_int_equal(shutdown(t.peer, SHUT_WR), 0);
	test_run_until(&t, &t.events, CONN_EV_EOF);
	assert_int_equal(t.events, CONN_EV_EOF);
	assert_int_equal(t.nread, 1);
	assert_int_equal(evbuffer_get_length(conn_input(t.c)), 4);
	/* Reading is over: starting again reports nothing more. */
	assert_int_equal(conn_read_start(t.c), 0);
	event_base_loop(t.base, EVLOOP_NONBLOCK);
	assert_int_equal(t.nread, 1);
	test_teardown(&t);
}

static void
test_conn_partial_write_finishes_when_writable(void **state)
{
	struct test_conn	 t;
	char			*big;
	size_t			 got = 0;
	struct pollfd		 p;
	int			 i;

	(void)state;
	test_setup(&t);
	assert_non_null(big = malloc(TEST_BIG));
	memset(big, 'x', TEST_BIG);
	conn_watermarks(t.c, 0, 1024);
	assert_int_equal(evbuffer_add(conn_output(t.c), big, TEST_BIG), 0);
	conn_flush(t.c);
	/* The socket buffer is far smaller: most of it waits (EAGAIN). */
	assert_true(evbuffer_get_length(conn_output(t.c)) > 0);
	assert_int_equal(t.nwrite, 0);
	/* A second flush while the write event waits does nothing. */
	conn_flush(t.c);
	for (i = 0; i < TEST_DEADLINE_MS && got < TEST_BIG; i++) {
		got += test_peer_drain(&t);
		event_base_loop(t.base, EVLOOP_NONBLOCK);
		if (got < TEST_BIG) {
			p.fd = t.peer;
			p.events = POLLIN;
			(void)poll(&p, 1, 1);
		}
	}
	got += test_peer_drain(&t);
	assert_int_equal(got, TEST_BIG);
	assert_int_equal(evbuffer_get_length(conn_output(t.c)), 0);
	/* Below the low watermark: the owner heard of it. */
	assert_true(t.nwrite >= 1);
	free(big);
	test_teardown(&t);
}

static void
test_conn_flush_below_low_water_calls_back(void **state)
{
	struct test_conn	 t;
	char			 buf[8192];

	(void)state;
	test_setup(&t);
	memset(buf, 'y', sizeof(buf));
	conn_watermarks(t.c, 0, 100);
	/* From above the low watermark to empty in one flush. */
	assert_int_equal(evbuffer_add(conn_output(t.c), buf, 1000), 0);
	conn_flush(t.c);
	assert_int_equal(evbuffer_get_length(conn_output(t.c)), 0);
	assert_int_equal(t.nwrite, 0);		/* from the loop, not here */
	test_run_until(&t, &t.nwrite, 1);
	/* Under the watermark all along: no callback. */
	assert_int_equal(evbuffer_add(conn_output(t.c), buf, 50), 0);
	conn_flush(t.c);
	event_base_loop(t.base, EVLOOP_NONBLOCK);
	assert_int_equal(t.nwrite, 1);
	assert_int_equal(test_peer_drain(&t), 1050);
	test_teardown(&t);
}

static void
test_conn_read_high_water_pauses_and_resumes(void **state)
{
	struct test_conn	 t;
	char			 buf[4096];
	size_t			 i;
	int			 before;

	(void)state;
	test_setup(&t);
	memset(buf, 'z', sizeof(buf));
	conn_watermarks(t.c, 1000, 0);
	assert_int_equal(conn_read_start(t.c), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(write(t.peer, buf, sizeof(buf)),
		    (ssize_t)sizeof(buf));
	test_run_until(&t, &t.nread, 1);
	/* Never more than the watermark, however long the loop runs. */
	for (i = 0; i < 20; i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	assert_int_equal(evbuffer_get_length(conn_input(t.c)), 1000);
	before = t.nread;
	/* The owner takes some: reading resumes by itself. */
	evbuffer_drain(conn_input(t.c), 600);
	test_run_until(&t, &t.nread, before + 1);
	assert_int_equal(evbuffer_get_length(conn_input(t.c)), 1000);
	/* Everything arrives once the owner keeps up. */
	t.drain = true;
	evbuffer_drain(conn_input(t.c), 1000);
	t.drained = 1600;
	for (i = 0; i < 100 && t.drained < 4 * sizeof(buf); i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	assert_int_equal(t.drained, 4 * sizeof(buf));
	test_teardown(&t);
}

static void
test_conn_write_error_reported_from_loop(void **state)
{
	struct test_conn	 t;

	(void)state;
	test_setup(&t);
	close(t.peer);
	t.peer = -1;
	assert_int_equal(evbuffer_add(conn_output(t.c), "lost", 4), 0);
	conn_flush(t.c);			/* EPIPE: later, from the loop */
	assert_int_equal(t.events, 0);
	t.free_on_event = true;
	test_run_until(&t, &t.events, CONN_EV_ERROR);
	assert_true(t.events & CONN_EV_ERROR);
	assert_int_equal(t.err, EPIPE);
	assert_null(t.c);			/* freed in the callback */
	test_teardown(&t);
}

static void
test_conn_read_error(void **state)
{
	struct test_conn	 t;
	struct linger		 l = { 1, 0 };
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 lfd, fd, afd;

	(void)state;
	/* A TCP pair: a reset is a read error, not an EOF. */
	memset(&t, 0, sizeof(t));
	assert_non_null(t.base = event_base_new());
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, len), 0);
	afd = accept(lfd, NULL, NULL);
	close(lfd);
	test_nonblock(fd);
	assert_non_null(t.c = conn_new(t.base, fd));
	conn_setcb(t.c, test_read_cb, test_write_cb, test_event_cb, &t);
	assert_int_equal(conn_read_start(t.c), 0);
	assert_int_equal(setsockopt(afd, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)), 0);
	close(afd);				/* RST */
	t.peer = -1;
	test_run_until(&t, &t.events, CONN_EV_ERROR);
	assert_int_equal(t.events, CONN_EV_ERROR);
	assert_int_equal(t.err, ECONNRESET);
	test_teardown(&t);
}

static void
test_conn_connect(void **state)
{
	struct test_conn	 t;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 lfd, fd, afd;
	char			 buf[8];

	(void)state;
	memset(&t, 0, sizeof(t));
	t.peer = -1;
	assert_non_null(t.base = event_base_new());
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_non_null(t.c = conn_new(t.base, fd));
	conn_setcb(t.c, test_read_cb, test_write_cb, test_event_cb, &t);
	assert_int_equal(conn_connect(t.c, (struct sockaddr *)&sin, len), 0);
	assert_int_equal(t.events, 0);
	test_run_until(&t, &t.events, CONN_EV_CONNECTED);
	assert_int_equal(t.events, CONN_EV_CONNECTED);
	afd = accept(lfd, NULL, NULL);
	assert_int_equal(evbuffer_add(conn_output(t.c), "hi", 2), 0);
	conn_flush(t.c);
	assert_int_equal(read(afd, buf, sizeof(buf)), 2);
	close(afd);
	conn_free(t.c);

	/* Nobody listens any more: refused, from the loop. */
	close(lfd);
	t.events = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_non_null(t.c = conn_new(t.base, fd));
	conn_setcb(t.c, test_read_cb, test_write_cb, test_event_cb, &t);
	if (conn_connect(t.c, (struct sockaddr *)&sin, len) == 0) {
		test_run_until(&t, &t.events, CONN_EV_ERROR);
		assert_int_equal(t.events, CONN_EV_ERROR);
		assert_int_equal(t.err, ECONNREFUSED);
	} else
		assert_int_equal(errno, ECONNREFUSED);
	test_teardown(&t);
}

/*
 * A conn closed in the middle of everything (input paused at the
 * watermark, output the kernel would not take, both events armed) is
 * kept for the next conn_new(), which must get it clean: bound to the
 * new fd, empty, unpaused, and deaf to the old socket.
 */
static void
test_conn_reused_clean(void **state)
{
	struct test_conn	 t, u;
	char			 buf[65536];
	struct conn		*old;
	size_t			 i;

	(void)state;
	test_setup(&t);
	memset(buf, 'o', sizeof(buf));
	conn_watermarks(t.c, 1000, 0);
	assert_int_equal(conn_read_start(t.c), 0);
	assert_int_equal(write(t.peer, buf, 4096), 4096);
	test_run_until(&t, &t.nread, 1);
	for (i = 0; i < 64; i++)
		evbuffer_add(conn_output(t.c), buf, sizeof(buf));
	conn_flush(t.c);
	assert_true(evbuffer_get_length(conn_output(t.c)) > 0);
	old = t.c;
	conn_free(t.c);
	t.c = NULL;

	test_setup(&u);
	assert_ptr_equal(u.c, old);	/* the cache gave it back */
	assert_int_equal(evbuffer_get_length(conn_input(u.c)), 0);
	assert_int_equal(evbuffer_get_length(conn_output(u.c)), 0);
	assert_null(conn_ssl(u.c));
	/* The old peer's bytes go nowhere: its socket was closed. */
	(void)write(t.peer, "stale", 5);
	/* No watermark any more: all 8 KiB come in, and only they. */
	u.drain = true;
	assert_int_equal(conn_read_start(u.c), 0);
	assert_int_equal(write(u.peer, buf, 8192), 8192);
	for (i = 0; i < 100 && u.drained < 8192; i++)
		event_base_loop(u.base, EVLOOP_ONCE);
	for (i = 0; i < 10; i++)
		event_base_loop(u.base, EVLOOP_NONBLOCK);
	assert_int_equal(u.drained, 8192);
	evbuffer_add(conn_output(u.c), "fresh", 5);
	conn_flush(u.c);
	assert_int_equal(test_peer_drain(&u), 5);
	test_teardown(&u);
	test_teardown(&t);
}

int
main(void)
{
	int			 rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conn_carries_bytes_both_ways),
		cmocka_unit_test(test_conn_read_once_then_more),
		cmocka_unit_test(test_conn_read_once_finds_nothing),
		cmocka_unit_test(test_conn_eof),
		cmocka_unit_test(
		    test_conn_partial_write_finishes_when_writable),
		cmocka_unit_test(test_conn_flush_below_low_water_calls_back),
		cmocka_unit_test(test_conn_read_high_water_pauses_and_resumes),
		cmocka_unit_test(test_conn_write_error_reported_from_loop),
		cmocka_unit_test(test_conn_read_error),
		cmocka_unit_test(test_conn_connect),
		cmocka_unit_test(test_conn_reused_clean),
	};

	/* As in corral: a write to a closed peer is EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	/* Kept for reuse, else LeakSanitizer calls it a leak. */
	conn_cache_flush();
	return (rc);
}
