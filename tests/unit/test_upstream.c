/*
 * tests/unit/test_upstream.c: proxy/upstream.c on a real event_base
 * with real sockets: TCP connects and refusals, the vsock handshake
 * (good, refused, silent), and the keep-alive pool: reuse, most recent
 * first, a backend closing an idle connection, the idle timeout, the
 * bound on idle connections, and connections that must not be kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "proxy/backend.h"
#include "proxy/conn.h"
#include "proxy/upstream.h"

#define TEST_DEADLINE_MS	3000

struct test_up {
	struct event_base	*base;
	int			 lfd;		/* listening socket */
	struct backend		 b;
	char			 path[108];	/* Unix socket, if any */
	/* What the ready callback saw. */
	int			 done;
	enum upstream_error	 err;
	struct upstream		*up;
};

static void
test_up_ready_cb(struct upstream *up, enum upstream_error err, void *arg)
{
	struct test_up	*t = arg;

	t->done++;
	t->err = err;
	t->up = up;
}

static void
test_up_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until *<flag> becomes <want> or the deadline passes. */
static void
test_up_run_until(struct event_base *base, const int *flag, int want)
{
	struct timeval	 tv = { TEST_DEADLINE_MS / 1000, 0 };
	struct event	*ev;
	int		 late = 0;

	ev = evtimer_new(base, test_up_deadline_cb, &late);
	assert_non_null(ev);
	evtimer_add(ev, &tv);
	while (*flag != want && !late)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	assert_int_equal(*flag, want);
}

/* A TCP listener on 127.0.0.1:0 and a backend pointing at it. */
static void
test_up_tcp(struct test_up *t)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&t->b.be_ss;
	socklen_t		 len = sizeof(*sin);

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	assert_non_null(t->base);
	t->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(t->lfd >= 0);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(t->lfd, (struct sockaddr *)sin, len), 0);
	assert_int_equal(listen(t->lfd, 16), 0);
	assert_int_equal(getsockname(t->lfd, (struct sockaddr *)sin, &len), 0);
	t->b.be_kind = BACKEND_TCP;
	t->b.be_sslen = len;
	snprintf(t->b.be_name, sizeof(t->b.be_name), "127.0.0.1:%u",
	    ntohs(sin->sin_port));
}

/* A Unix listener standing in for a VM's vsock socket. */
static void
test_up_vsock(struct test_up *t)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&t->b.be_ss;

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	assert_non_null(t->base);
	snprintf(t->path, sizeof(t->path), "/tmp/test_upstream.%d.sock",
	    (int)getpid());
	unlink(t->path);
	t->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(t->lfd >= 0);
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", t->path);
	t->b.be_sslen = sizeof(*sun);
	assert_int_equal(bind(t->lfd, (struct sockaddr *)sun,
	    t->b.be_sslen), 0);
	assert_int_equal(listen(t->lfd, 16), 0);
	t->b.be_kind = BACKEND_VSOCK;
	t->b.be_vsock_port = 8080;
	snprintf(t->b.be_name, sizeof(t->b.be_name), "vsock:%s:8080",
	    t->path);
}

static void
test_up_done(struct test_up *t)
{
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->path[0] != '\0')
		unlink(t->path);
	event_base_free(t->base);
}

/* Accepts the connection the loop is making (the listener is blocking). */
static int
test_up_accept(struct test_up *t)
{
	struct pollfd	 p = { .fd = t->lfd, .events = POLLIN };
	int		 fd;

	assert_int_equal(poll(&p, 1, TEST_DEADLINE_MS), 1);
	fd = accept(t->lfd, NULL, NULL);
	assert_true(fd >= 0);
	return (fd);
}

/*
 * Runs the loop until <fd> (a peer socket the test holds) is readable,
 * within the deadline.
 */
static void
test_up_wait_fd(struct test_up *t, int fd)
{
	struct pollfd	 p = { .fd = fd, .events = POLLIN };
	int		 i;

	for (i = 0; i < TEST_DEADLINE_MS / 5; i++) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 5) == 1)
			return;
	}
	fail_msg("peer socket not readable in time");
}

/* Reads exactly <len> bytes the upstream sends to <fd>. */
static void
test_up_recv(struct test_up *t, int fd, char *buf, size_t len)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		test_up_wait_fd(t, fd);
		n = read(fd, buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	buf[got] = '\0';
}

/* The upstream's end of <fd> was closed. */
static void
test_up_expect_eof(struct test_up *t, int fd)
{
	char	 c;

	test_up_wait_fd(t, fd);
	assert_int_equal(read(fd, &c, 1), 0);
}

static bool
test_up_idle_is(const struct upstream_idle *ui, size_t n)
{
	return (ui->ui_n == n);
}

/* Runs the loop until the pool holds <n> connections. */
static void
test_up_run_until_idle(struct test_up *t, const struct upstream_idle *ui,
    size_t n)
{
	int	 i;

	for (i = 0; i < TEST_DEADLINE_MS / 5 && !test_up_idle_is(ui, n); i++) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		if (!test_up_idle_is(ui, n))
			poll(NULL, 0, 5);
	}
	assert_int_equal(ui->ui_n, n);
}

/* Connects and accepts: a ready upstream and the server's end. */
static struct upstream *
test_up_ready(struct test_up *t, int *peer)
{
	struct upstream	*up;

	t->done = 0;
	up = upstream_connect(t->base, &t->b, NULL, 1000, test_up_ready_cb, t);
	assert_non_null(up);
	*peer = test_up_accept(t);
	test_up_run_until(t->base, &t->done, 1);
	assert_int_equal(t->err, UPSTREAM_OK);
	assert_ptr_equal(t->up, up);
	return (up);
}

/* ------------------------------------------------------------------ */

static void
test_upstream_tcp_connects_and_carries_bytes(void **state)
{
	struct test_up	 t;
	struct upstream	*up;
	char		 buf[8];
	int		 peer;

	(void)state;
	test_up_tcp(&t);
	up = test_up_ready(&t, &peer);
	assert_false(upstream_reused(up));
	assert_ptr_equal(upstream_backend(up), &t.b);
	assert_int_equal(evbuffer_add(conn_output(upstream_conn(up)),
	    "ping", 4), 0);
	conn_flush(upstream_conn(up));
	test_up_recv(&t, peer, buf, 4);
	assert_string_equal(buf, "ping");
	upstream_free(up);
	close(peer);
	test_up_done(&t);
}

static void
test_upstream_refused_is_reported_from_the_loop(void **state)
{
	struct test_up	 t;
	struct upstream	*up;

	(void)state;
	test_up_tcp(&t);
	close(t.lfd);			/* nobody listens on that port now */
	t.lfd = -1;
	up = upstream_connect(t.base, &t.b, NULL, 1000, test_up_ready_cb, &t);
	assert_non_null(up);
	assert_int_equal(t.done, 0);	/* never from inside the call */
	test_up_run_until(t.base, &t.done, 1);
	assert_int_equal(t.err, UPSTREAM_REFUSED);
	upstream_free(up);
	test_up_done(&t);
}

static void
test_upstream_missing_unix_socket_is_refused(void **state)
{
	struct test_up	 t;
	struct upstream	*up;

	(void)state;
	test_up_vsock(&t);
	close(t.lfd);
	t.lfd = -1;
	unlink(t.path);
	up = upstream_connect(t.base, &t.b, NULL, 1000, test_up_ready_cb, &t);
	assert_non_null(up);
	assert_int_equal(t.done, 0);
	test_up_run_until(t.base, &t.done, 1);
	assert_int_equal(t.err, UPSTREAM_REFUSED);
	upstream_free(up);
	test_up_done(&t);
}

static void
test_upstream_vsock_handshake(void **state)
{
	static const struct {
		const char		*answer;
		enum upstream_error	 want;
	} cases[] = {
		{ "OK 1073741824\n", UPSTREAM_OK },
		{ "OK 7\n", UPSTREAM_OK },
		{ "NO\n", UPSTREAM_HANDSHAKE },
		{ "OK x\n", UPSTREAM_HANDSHAKE },
		{ "OK \n", UPSTREAM_HANDSHAKE },
		{ "", UPSTREAM_HANDSHAKE },	/* closes without a word */
	};
	struct test_up	 t;
	struct upstream	*up;
	char		 buf[32];
	size_t		 i;
	int		 peer;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_up_vsock(&t);
		up = upstream_connect(t.base, &t.b, NULL, 1000,
		    test_up_ready_cb, &t);
		assert_non_null(up);
		peer = test_up_accept(&t);
		test_up_recv(&t, peer, buf, strlen("CONNECT 8080\n"));
		assert_string_equal(buf, "CONNECT 8080\n");
		assert_int_equal(write(peer, cases[i].answer,
		    strlen(cases[i].answer)), (ssize_t)strlen(cases[i].answer));
		if (cases[i].answer[0] == '\0')
			shutdown(peer, SHUT_WR);
		test_up_run_until(t.base, &t.done, 1);
		if (t.err != cases[i].want)
			fail_msg("answer %zu: got error %d, want %d", i,
			    (int)t.err, (int)cases[i].want);
		upstream_free(up);
		close(peer);
		test_up_done(&t);
	}
}

static void
test_upstream_silent_vsock_times_out(void **state)
{
	struct test_up	 t;
	struct upstream	*up;
	int		 peer;

	(void)state;
	test_up_vsock(&t);
	up = upstream_connect(t.base, &t.b, NULL, 50, test_up_ready_cb, &t);
	assert_non_null(up);
	peer = test_up_accept(&t);	/* connected, but never says OK */
	test_up_run_until(t.base, &t.done, 1);
	assert_int_equal(t.err, UPSTREAM_TIMEOUT);
	upstream_free(up);
	close(peer);
	test_up_done(&t);
}

/* ------------------------------------------------------------------ */

static void
test_upstream_idle_reuse_most_recent_first(void **state)
{
	struct upstream_idle	 ui;
	struct test_up		 t;
	struct upstream		*a, *b;
	int			 pa, pb;

	(void)state;
	test_up_tcp(&t);
	upstream_idle_init(&ui, 4, 0);
	a = test_up_ready(&t, &pa);
	b = test_up_ready(&t, &pb);
	assert_null(upstream_idle_get(&ui));
	upstream_idle_put(&ui, a);
	upstream_idle_put(&ui, b);
	assert_int_equal(ui.ui_n, 2);
	assert_ptr_equal(upstream_idle_get(&ui), b);
	assert_true(upstream_reused(b));
	assert_ptr_equal(upstream_idle_get(&ui), a);
	assert_null(upstream_idle_get(&ui));
	assert_int_equal(ui.ui_n, 0);
	upstream_free(a);
	upstream_free(b);
	close(pa);
	close(pb);
	test_up_done(&t);
}

static void
test_upstream_idle_drops_closed_by_backend(void **state)
{
	struct upstream_idle	 ui;
	struct test_up		 t;
	struct upstream		*a;
	int			 pa;

	(void)state;
	test_up_tcp(&t);
	upstream_idle_init(&ui, 4, 0);
	a = test_up_ready(&t, &pa);
	upstream_idle_put(&ui, a);
	close(pa);			/* the backend gives up on it */
	test_up_run_until_idle(&t, &ui, 0);
	assert_null(upstream_idle_get(&ui));
	test_up_done(&t);
}

static void
test_upstream_idle_drops_stray_bytes(void **state)
{
	struct upstream_idle	 ui;
	struct test_up		 t;
	struct upstream		*a;
	int			 pa;

	(void)state;
	test_up_tcp(&t);
	upstream_idle_init(&ui, 4, 0);
	a = test_up_ready(&t, &pa);
	upstream_idle_put(&ui, a);
	assert_int_equal(write(pa, "HTTP/1.1 200 OK\r\n", 17), 17);
	test_up_run_until_idle(&t, &ui, 0);
	assert_null(upstream_idle_get(&ui));
	close(pa);
	test_up_done(&t);
}

static void
test_upstream_idle_timeout(void **state)
{
	struct upstream_idle	 ui;
	struct test_up		 t;
	struct upstream		*a;
	int			 pa;

	(void)state;
	test_up_tcp(&t);
	upstream_idle_init(&ui, 4, 30);
	a = test_up_ready(&t, &pa);
	upstream_idle_put(&ui, a);
	assert_int_equal(ui.ui_n, 1);
	test_up_run_until_idle(&t, &ui, 0);
	/* Closed on our side: the backend reads EOF. */
	test_up_expect_eof(&t, pa);
	close(pa);
	test_up_done(&t);
}

static void
test_upstream_idle_bounded(void **state)
{
	struct upstream_idle	 ui;
	struct test_up		 t;
	struct upstream		*u[3];
	int			 p[3], i;

	(void)state;
	test_up_tcp(&t);
	upstream_idle_init(&ui, 2, 0);
	for (i = 0; i < 3; i++)
		u[i] = test_up_ready(&t, &p[i]);
	for (i = 0; i < 3; i++)
		upstream_idle_put(&ui, u[i]);
	assert_int_equal(ui.ui_n, 2);
	/* The oldest went: its backend sees the close. */
	test_up_expect_eof(&t, p[0]);
	assert_ptr_equal(upstream_idle_get(&ui), u[2]);
	assert_ptr_equal(upstream_idle_get(&ui), u[1]);
	upstream_free(u[1]);
	upstream_free(u[2]);
	for (i = 0; i < 3; i++)
		close(p[i]);
	test_up_done(&t);
}

static void
test_upstream_idle_keeps_none_or_dirty(void **state)
{
	struct upstream_idle	 none, ui;
	struct test_up		 t;
	struct upstream		*a, *b;
	int			 pa, pb;

	(void)state;
	test_up_tcp(&t);
	upstream_idle_init(&none, 0, 0);
	upstream_idle_init(&ui, 4, 0);
	a = test_up_ready(&t, &pa);
	upstream_idle_put(&none, a);		/* keepalive idle: 0 */
	assert_int_equal(none.ui_n, 0);
	test_up_expect_eof(&t, pa);

	b = test_up_ready(&t, &pb);
	/* Unread response bytes: the connection is out of step. */
	assert_int_equal(write(pb, "x", 1), 1);
	assert_int_equal(conn_read_start(upstream_conn(b)), 0);
	while (evbuffer_get_length(conn_input(upstream_conn(b))) == 0)
		event_base_loop(t.base, EVLOOP_ONCE);
	upstream_idle_put(&ui, b);
	assert_int_equal(ui.ui_n, 0);
	test_up_expect_eof(&t, pb);
	close(pa);
	close(pb);
	upstream_idle_clear(&ui);
	test_up_done(&t);
}

int
main(void)
{
	int			 rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_tcp_connects_and_carries_bytes),
		cmocka_unit_test(
		    test_upstream_refused_is_reported_from_the_loop),
		cmocka_unit_test(test_upstream_missing_unix_socket_is_refused),
		cmocka_unit_test(test_upstream_vsock_handshake),
		cmocka_unit_test(test_upstream_silent_vsock_times_out),
		cmocka_unit_test(test_upstream_idle_reuse_most_recent_first),
		cmocka_unit_test(test_upstream_idle_drops_closed_by_backend),
		cmocka_unit_test(test_upstream_idle_drops_stray_bytes),
		cmocka_unit_test(test_upstream_idle_timeout),
		cmocka_unit_test(test_upstream_idle_bounded),
		cmocka_unit_test(test_upstream_idle_keeps_none_or_dirty),
	};

	rc = cmocka_run_group_tests_name("upstream", tests, NULL, NULL);
	/* Kept for reuse, else LeakSanitizer calls it a leak. */
	conn_cache_flush();
	return (rc);
}
