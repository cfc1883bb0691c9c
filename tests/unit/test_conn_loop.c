/*
 * tests/unit/test_conn_loop.c: conn_loop(), the worker's loop, which
 * reads the sockets a pass found readable, and writes what it flushed,
 * when the pass is over.  With io_uring and without:
 *   - the bytes of all the conns a pass read are in their inputs before
 *     the first read callback runs; a conn freed by another's read
 *     callback hears nothing; an end is reported;
 *   - nothing leaves during a pass; at its end every conn's output
 *     leaves once (more conns than one batch holds), none of a conn
 *     freed after its flush;
 *   - a conn whose output waits for the peer finishes from EV_WRITE,
 *     with its write callback; a conn that closes from its write
 *     callback once its output is gone (as a session ending a
 *     connection does) loses nothing; a write error comes from the loop;
 *   - a timer due in the pass that found bytes readable runs before
 *     they are read, and conn_read_due() tells it so; outside a pass,
 *     it tells bytes waiting in a socket being read;
 *   - the loop ends as event_base_dispatch() would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "proxy/conn.h"

#define NCONN		100	/* more than one batch (64) */
#define FREED		5	/* freed after its flush */
#define CLOSER		7	/* closes from its write callback */
#define CLOSED		9	/* ...and closes this one, due a callback too */
#define DEADLINE_S	3
#define BIG		(4 * 1024 * 1024)

struct lt {
	struct event_base	*base;
	struct conn		*c[NCONN];
	int			 peer[NCONN];
	struct event		*step;
	struct event		*deadline;
	int			 nstep;
	int			 nwrite;
	int			 events;
	int			 err;
	size_t			 got;		/* BIG: bytes read back */
	int			 nread;
	int			 neof;
	int			 ntimer;
	bool			 late;
};

static void
lt_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct lt	*t = arg;

	(void)fd;
	(void)what;
	t->late = true;
	event_base_loopbreak(t->base);
}

static void
lt_open(struct lt *t, int n, event_callback_fn step)
{
	struct timeval	 tv = { DEADLINE_S, 0 };
	int		 sv[2], i;

	memset(t, 0, sizeof(*t));
	assert_non_null(t->base = event_base_new());
	for (i = 0; i < n; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
		assert_non_null(t->c[i] = conn_new(t->base, sv[0]));
		t->peer[i] = sv[1];
	}
	assert_non_null(t->step = evtimer_new(t->base, step, t));
	assert_non_null(t->deadline = evtimer_new(t->base, lt_deadline, t));
	evtimer_add(t->deadline, &tv);
}

static void
lt_close(struct lt *t, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		conn_free(t->c[i]);
		close(t->peer[i]);
	}
	event_free(t->step);
	event_free(t->deadline);
	event_base_free(t->base);
	conn_cache_flush();
}

/* The next step in the next pass: a timer due at once. */
static void
lt_next(struct lt *t)
{
	struct timeval	 now = { 0, 0 };

	t->nstep++;
	evtimer_add(t->step, &now);
}

static void
lt_write_cb(struct conn *c, void *arg)
{
	struct lt	*t = arg;

	t->nwrite++;
	if (c == t->c[CLOSER]) {
		conn_free(c);
		t->c[CLOSER] = NULL;
		conn_free(t->c[CLOSED]);
		t->c[CLOSED] = NULL;
	}
}

static void
lt_event_cb(struct conn *c, int what, void *arg)
{
	struct lt	*t = arg;

	(void)c;
	t->events |= what;
	if (what & CONN_EV_ERROR)
		t->err = errno;
	event_base_loopbreak(t->base);
}

/* ------------------------------------------------------------------ */

/*
 * Step 0, in one pass: every conn gets a message, flushed twice, and
 * nothing has left by the end of the callback; one conn is freed.
 * Step 1, the next pass: every peer has its message, once.
 */
static void
many_step(evutil_socket_t fd, short what, void *arg)
{
	struct lt	*t = arg;
	char		 buf[64], want[64];
	ssize_t		 n;
	int		 i, len;

	(void)fd;
	(void)what;
	if (t->nstep == 0) {
		for (i = 0; i < NCONN; i++) {
			evbuffer_add_printf(conn_output(t->c[i]),
			    "message %d;", i);
			conn_flush(t->c[i]);
			conn_flush(t->c[i]);
		}
		conn_setcb(t->c[CLOSER], NULL, lt_write_cb, NULL, t);
		conn_watermarks(t->c[CLOSER], 0, 0);
		conn_setcb(t->c[CLOSED], NULL, lt_write_cb, NULL, t);
		conn_watermarks(t->c[CLOSED], 0, 0);
		for (i = 0; i < NCONN; i++)
			assert_int_equal(recv(t->peer[i], buf, sizeof(buf),
			    MSG_DONTWAIT), -1);
		conn_free(t->c[FREED]);
		t->c[FREED] = NULL;
		lt_next(t);
		return;
	}
	for (i = 0; i < NCONN; i++) {
		n = recv(t->peer[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (i == FREED) {
			assert_int_equal(n, 0);	/* closed, nothing sent */
			continue;
		}
		len = snprintf(want, sizeof(want), "message %d;", i);
		assert_int_equal(n, len);
		assert_memory_equal(buf, want, (size_t)len);
	}
	/*
	 * The closer's write callback ran, from the loop, and closed it
	 * and the other, whose callback, due in the same batch, did not.
	 */
	assert_int_equal(t->nwrite, 1);
	assert_null(t->c[CLOSER]);
	assert_null(t->c[CLOSED]);
	assert_int_equal(recv(t->peer[CLOSER], buf, sizeof(buf),
	    MSG_DONTWAIT), 0);
	assert_int_equal(recv(t->peer[CLOSED], buf, sizeof(buf),
	    MSG_DONTWAIT), 0);
	event_base_loopbreak(t->base);
}

static void
many(int flags)
{
	struct lt	 t;
	struct timeval	 now = { 0, 0 };

	lt_open(&t, NCONN, many_step);
	evtimer_add(t.step, &now);
	assert_int_equal(conn_loop(t.base, flags), 0);
	assert_false(t.late);
	assert_int_equal(t.nstep, 1);
	lt_close(&t, NCONN);
}

static void
test_conn_loop_writes_at_end_of_pass(void **state)
{
	(void)state;
	many(0);
}

static void
test_conn_loop_writes_at_end_of_pass_plain(void **state)
{
	(void)state;
	many(CONN_LOOP_PLAIN);
}

/* ------------------------------------------------------------------ */

static int
lt_index(struct lt *t, struct conn *c)
{
	int	 i;

	for (i = 0; i < NCONN; i++)
		if (t->c[i] == c)
			return (i);
	fail_msg("a read callback for a conn nobody has");
	return (-1);
}

/*
 * The first callback finds a pass's worth of inputs filled already, and
 * frees a conn whose bytes are in but whose callback has not run.
 */
static void
reads_read_cb(struct conn *c, void *arg)
{
	struct lt	*t = arg;
	char		 want[32];
	int		 i, len, filled = 0, victim = -1;

	i = lt_index(t, c);
	len = snprintf(want, sizeof(want), "data %d;", i);
	assert_int_equal(evbuffer_get_length(conn_input(c)), len);
	assert_memory_equal(evbuffer_pullup(conn_input(c), -1), want,
	    (size_t)len);
	evbuffer_drain(conn_input(c), (size_t)len);
	if (t->nread++ == 0) {
		for (i = 0; i < NCONN; i++) {
			if (evbuffer_get_length(conn_input(t->c[i])) == 0)
				continue;
			filled++;
			if (victim == -1 && i % 10 != 3)
				victim = i;
		}
		/*
		 * The rest of the pass's batch: as many as epoll gave
		 * libevent at once (32 at first), and none if the reads
		 * went one by one.
		 */
		assert_true(filled >= 16);
		assert_true(victim != -1);
		conn_free(t->c[victim]);
		t->c[victim] = NULL;
	}
	if (t->nread == NCONN - 1 && t->neof == NCONN / 10)
		event_base_loopbreak(t->base);
}

static void
reads_event_cb(struct conn *c, int what, void *arg)
{
	struct lt	*t = arg;

	(void)c;
	assert_int_equal(what, CONN_EV_EOF);
	t->neof++;
	if (t->nread == NCONN - 1 && t->neof == NCONN / 10)
		event_base_loopbreak(t->base);
}

static void
reads_step(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
reads(int flags)
{
	struct lt	 t;
	char		 buf[32];
	int		 i, len;

	lt_open(&t, NCONN, reads_step);
	for (i = 0; i < NCONN; i++) {
		len = snprintf(buf, sizeof(buf), "data %d;", i);
		assert_int_equal(write(t.peer[i], buf, (size_t)len), len);
		/* Every tenth ends after its bytes. */
		if (i % 10 == 3)
			assert_int_equal(shutdown(t.peer[i], SHUT_WR), 0);
		conn_setcb(t.c[i], reads_read_cb, NULL, reads_event_cb, &t);
		assert_int_equal(conn_read_start(t.c[i]), 0);
	}
	assert_int_equal(conn_loop(t.base, flags), 0);
	assert_false(t.late);
	assert_int_equal(t.nread, NCONN - 1);
	assert_int_equal(t.neof, NCONN / 10);
	lt_close(&t, NCONN);
}

static void
test_conn_loop_reads_at_end_of_pass(void **state)
{
	(void)state;
	reads(0);
}

static void
test_conn_loop_reads_at_end_of_pass_plain(void **state)
{
	(void)state;
	reads(CONN_LOOP_PLAIN);
}

/* ------------------------------------------------------------------ */

static void
big_peer_read(evutil_socket_t fd, short what, void *arg)
{
	struct lt	*t = arg;
	char		 buf[65536];
	ssize_t		 n;

	(void)what;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		t->got += (size_t)n;
	if (t->got == BIG && t->nwrite > 0)
		event_base_loopbreak(t->base);
}

static void
big_step(evutil_socket_t fd, short what, void *arg)
{
	struct lt	*t = arg;
	char		*buf;

	(void)fd;
	(void)what;
	assert_non_null(buf = malloc(BIG));
	memset(buf, 'B', BIG);
	conn_setcb(t->c[0], NULL, lt_write_cb, lt_event_cb, t);
	conn_watermarks(t->c[0], 0, 1024);
	assert_int_equal(evbuffer_add(conn_output(t->c[0]), buf, BIG), 0);
	free(buf);
	conn_flush(t->c[0]);
	assert_int_equal(evbuffer_get_length(conn_output(t->c[0])), BIG);
}

static void
big(int flags)
{
	struct lt	 t;
	struct timeval	 now = { 0, 0 };
	struct event	*rd;

	lt_open(&t, 1, big_step);
	assert_non_null(rd = event_new(t.base, t.peer[0],
	    EV_READ | EV_PERSIST, big_peer_read, &t));
	event_add(rd, NULL);
	evtimer_add(t.step, &now);
	assert_int_equal(conn_loop(t.base, flags), 0);
	assert_false(t.late);
	assert_int_equal(t.got, BIG);
	assert_int_equal(evbuffer_get_length(conn_output(t.c[0])), 0);
	assert_true(t.nwrite >= 1);
	assert_int_equal(t.events, 0);
	event_free(rd);
	lt_close(&t, 1);
}

static void
test_conn_loop_rest_goes_when_writable(void **state)
{
	(void)state;
	big(0);
}

static void
test_conn_loop_rest_goes_when_writable_plain(void **state)
{
	(void)state;
	big(CONN_LOOP_PLAIN);
}

/* ------------------------------------------------------------------ */

static void
broken_step(evutil_socket_t fd, short what, void *arg)
{
	struct lt	*t = arg;

	(void)fd;
	(void)what;
	conn_setcb(t->c[0], NULL, NULL, lt_event_cb, t);
	close(t->peer[0]);
	t->peer[0] = -1;
	evbuffer_add(conn_output(t->c[0]), "lost", 4);
	conn_flush(t->c[0]);
	assert_int_equal(t->events, 0);		/* never from inside */
}

static void
broken(int flags)
{
	struct lt	 t;
	struct timeval	 now = { 0, 0 };

	lt_open(&t, 1, broken_step);
	evtimer_add(t.step, &now);
	assert_int_equal(conn_loop(t.base, flags), 0);
	assert_false(t.late);
	assert_int_equal(t.events, CONN_EV_ERROR);
	assert_int_equal(t.err, EPIPE);
	lt_close(&t, 1);
}

static void
test_conn_loop_write_error_from_loop(void **state)
{
	(void)state;
	broken(0);
}

static void
test_conn_loop_write_error_from_loop_plain(void **state)
{
	(void)state;
	broken(CONN_LOOP_PLAIN);
}

/* ------------------------------------------------------------------ */

/*
 * As a response timer does (proxy/session.c): due while the response is
 * waiting to be read, it gives way for a pass; then the read has come.
 */
static void
due_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lt	*t = arg;
	struct timeval	 now = { 0, 0 };

	(void)fd;
	(void)what;
	if (t->ntimer++ == 0) {
		assert_int_equal(t->nread, 0);
		assert_true(conn_read_due(t->c[0]));
		evtimer_add(t->step, &now);
		return;
	}
	assert_int_equal(t->nread, 1);
	assert_false(conn_read_due(t->c[0]));
	event_base_loopbreak(t->base);
}

static void
due_read_cb(struct conn *c, void *arg)
{
	struct lt	*t = arg;

	t->nread++;
	evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
}

static void
due(int flags)
{
	struct lt	 t;
	struct timeval	 soon = { 0, 20000 };

	lt_open(&t, 1, due_timer);
	conn_setcb(t.c[0], due_read_cb, NULL, NULL, &t);
	assert_int_equal(conn_read_start(t.c[0]), 0);
	evtimer_add(t.step, &soon);
	/* The bytes come before the deadline, but the loop is late. */
	assert_int_equal(write(t.peer[0], "HTTP/1.1 200 OK\r\n", 17), 17);
	usleep(40000);
	assert_int_equal(conn_loop(t.base, flags), 0);
	assert_false(t.late);
	assert_int_equal(t.ntimer, 2);
	assert_int_equal(t.nread, 1);
	lt_close(&t, 1);
}

static void
test_conn_loop_timer_sees_read_due(void **state)
{
	(void)state;
	due(0);
}

static void
test_conn_loop_timer_sees_read_due_plain(void **state)
{
	(void)state;
	due(CONN_LOOP_PLAIN);
}

/* Outside a pass: bytes in the socket of a conn that reads. */
static void
test_conn_read_due_outside_a_pass(void **state)
{
	struct lt	 t;

	(void)state;
	lt_open(&t, 1, due_timer);
	assert_false(conn_read_due(t.c[0]));		/* not reading */
	assert_int_equal(write(t.peer[0], "x", 1), 1);
	assert_false(conn_read_due(t.c[0]));
	assert_int_equal(conn_read_start(t.c[0]), 0);
	assert_true(conn_read_due(t.c[0]));
	conn_read_stop(t.c[0]);
	assert_false(conn_read_due(t.c[0]));
	lt_close(&t, 1);
}

/* ------------------------------------------------------------------ */

static void
test_conn_loop_ends_as_dispatch_does(void **state)
{
	struct event_base	*base;
	struct timeval		 tv = { 0, 1000 };

	(void)state;
	assert_non_null(base = event_base_new());
	/* Nothing to wait for. */
	assert_int_equal(conn_loop(base, 0), 1);
	/* Told to exit. */
	assert_int_equal(event_base_loopexit(base, &tv), 0);
	assert_int_equal(conn_loop(base, 0), 0);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conn_loop_reads_at_end_of_pass),
		cmocka_unit_test(test_conn_loop_reads_at_end_of_pass_plain),
		cmocka_unit_test(test_conn_loop_writes_at_end_of_pass),
		cmocka_unit_test(test_conn_loop_writes_at_end_of_pass_plain),
		cmocka_unit_test(test_conn_loop_rest_goes_when_writable),
		cmocka_unit_test(test_conn_loop_rest_goes_when_writable_plain),
		cmocka_unit_test(test_conn_loop_write_error_from_loop),
		cmocka_unit_test(test_conn_loop_write_error_from_loop_plain),
		cmocka_unit_test(test_conn_loop_timer_sees_read_due),
		cmocka_unit_test(test_conn_loop_timer_sees_read_due_plain),
		cmocka_unit_test(test_conn_read_due_outside_a_pass),
		cmocka_unit_test(test_conn_loop_ends_as_dispatch_does),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
