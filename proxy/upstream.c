/*
 * proxy/upstream.c: connectors and keep-alive pools.
 *
 * A struct upstream owns one conn (proxy/conn.h).  It goes CONNECTING (a
 * non-blocking connect) -> VSOCK ("CONNECT <port>\n" out, "OK <n>\n"
 * in) -> TLS (the plain conn turned into an OpenSSL one) -> READY, when
 * the ready callback hands it to its owner; the steps a backend does not
 * need are skipped.  A timer bounds the whole set-up; the same timer
 * later bounds the idle time in a pool, lazily: taking a connection out
 * and putting it back only notes the time, and a timer that fires early
 * is set again for the rest.  A pooled connection keeps
 * reading (its read event stays registered, so taking it out and putting
 * it back costs no system call): any byte or close from the backend
 * while idle drops it.  Failures are reported through the ready callback
 * from the event loop, never from upstream_connect() itself, so the
 * caller never sees its own callback re-enter it.
 *
 * Everything here runs on the thread of the event_base the connection
 * was made on.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "lib/log.h"
#include "lib/mtime.h"
#include "proxy/backend.h"
#include "proxy/conn.h"
#include "proxy/upstream.h"

#define UPSTREAM_MAGIC		0x0b57ea11
#define UPSTREAM_VSOCK_LINE_MAX	64	/* "OK 1073741824\n" and then some */

enum upstream_state {
	UPSTREAM_S_CONNECTING = 0,
	UPSTREAM_S_VSOCK,	/* CONNECT sent, waiting for OK */
	UPSTREAM_S_TLS,		/* TLS handshake */
	UPSTREAM_S_READY,	/* its owner's */
	UPSTREAM_S_IDLE,	/* in a pool */
	UPSTREAM_S_FAILED,	/* failure being reported */
};

/* Owned by a session, or by the upstream_idle it is listed in. */
struct upstream {
	unsigned		 magic;
	struct event_base	*up_base;
	struct backend		*up_backend;
	struct conn		*up_conn;	/* NULL: no socket */
	SSL			*up_ssl;	/* until the handshake takes it */
	enum upstream_state	 up_state;
	enum upstream_error	 up_err;	/* S_FAILED */
	struct event		*up_timer;
	bool			 up_timer_on;	/* up_timer is pending */
	uint64_t		 up_idle_ns;	/* S_IDLE: since (mtime) */
	upstream_ready_cb	 up_cb;
	void			*up_arg;
	struct upstream_idle	*up_idle;	/* S_IDLE */
	TAILQ_ENTRY(upstream)	 up_entry;
	bool			 up_reused;
};

static void	upstream_event_cb(struct conn *c, int what, void *arg);
static void	upstream_vsock_read_cb(struct conn *c, void *arg);
static void	upstream_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	upstream_idle_cb(struct conn *c, void *arg);
static void	upstream_idle_event_cb(struct conn *c, int what, void *arg);
static void	upstream_connected(struct upstream *up);
static void	upstream_ready(struct upstream *up);
static void	upstream_fail(struct upstream *up, enum upstream_error err);
static void	upstream_idle_remove(struct upstream *up);
static void	upstream_timer_set(struct upstream *up, uint64_t ms);
static void	upstream_timer_stop(struct upstream *up);

struct upstream *
upstream_connect(struct event_base *base, struct backend *b, SSL *ssl,
    uint64_t timeout_ms, upstream_ready_cb cb, void *arg)
{
	struct upstream	*up;
	int		 fd, one = 1;

	if ((up = calloc(1, sizeof(*up))) == NULL) {
		SSL_free(ssl);
		return (NULL);
	}
	up->magic = UPSTREAM_MAGIC;
	up->up_base = base;
	up->up_backend = b;
	up->up_ssl = ssl;
	up->up_cb = cb;
	up->up_arg = arg;
	up->up_state = UPSTREAM_S_CONNECTING;
	if ((up->up_timer = evtimer_new(base, upstream_timer_cb, up)) == NULL)
		goto fail;
	if ((fd = socket(b->be_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		/* EMFILE and the like: this backend cannot be reached now. */
		upstream_fail(up, UPSTREAM_REFUSED);
		return (up);
	}
	if (b->be_kind == BACKEND_TCP)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if ((up->up_conn = conn_new(base, fd)) == NULL)
		goto fail;
	conn_setcb(up->up_conn, NULL, NULL, upstream_event_cb, up);
	if (conn_connect(up->up_conn, (struct sockaddr *)&b->be_ss,
	    b->be_sslen) == -1) {
		/* ENOENT for a missing socket path, and the like. */
		upstream_fail(up, UPSTREAM_REFUSED);
		return (up);
	}
	if (timeout_ms > 0)
		upstream_timer_set(up, timeout_ms);
	return (up);
fail:
	upstream_free(up);
	return (NULL);
}

void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	if (up->up_state == UPSTREAM_S_IDLE)
		upstream_idle_remove(up);
	if (up->up_timer != NULL)
		event_free(up->up_timer);
	up->up_timer = NULL;
	conn_free(up->up_conn);
	up->up_conn = NULL;
	SSL_free(up->up_ssl);
	up->up_ssl = NULL;
	up->magic = 0;
	free(up);
}

struct conn *
upstream_conn(struct upstream *up)
{
	return (up->up_conn);
}

struct backend *
upstream_backend(const struct upstream *up)
{
	return (up->up_backend);
}

bool
upstream_reused(const struct upstream *up)
{
	return (up->up_reused);
}

const char *
upstream_strerror(enum upstream_error err)
{
	switch (err) {
	case UPSTREAM_OK:
		return ("ok");
	case UPSTREAM_REFUSED:
		return ("connection failed");
	case UPSTREAM_TIMEOUT:
		return ("connect timeout");
	case UPSTREAM_HANDSHAKE:
		return ("handshake failed");
	}
	return ("unknown error");
}

static void
upstream_timer_set(struct upstream *up, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (evtimer_add(up->up_timer, &tv) == 0)
		up->up_timer_on = true;
}

static void
upstream_timer_stop(struct upstream *up)
{
	if (!up->up_timer_on)
		return;
	event_del(up->up_timer);
	up->up_timer_on = false;
}

/* ------------------------------------------------------------------ */

static void
upstream_event_cb(struct conn *c, int what, void *arg)
{
	struct upstream	*up = arg;

	(void)c;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	if (what & CONN_EV_CONNECTED) {
		if (up->up_state == UPSTREAM_S_CONNECTING)
			upstream_connected(up);
		else if (up->up_state == UPSTREAM_S_TLS)
			upstream_ready(up);
		return;
	}
	/* EOF or an error before the connection was ready. */
	upstream_fail(up, up->up_state == UPSTREAM_S_CONNECTING ?
	    UPSTREAM_REFUSED : UPSTREAM_HANDSHAKE);
}

/* Connected: the vsock handshake, TLS, or nothing more. */
static void
upstream_connected(struct upstream *up)
{
	struct conn	*c = up->up_conn;
	SSL		*ssl;

	if (up->up_backend->be_kind == BACKEND_VSOCK &&
	    up->up_state == UPSTREAM_S_CONNECTING) {
		up->up_state = UPSTREAM_S_VSOCK;
		conn_setcb(c, upstream_vsock_read_cb, NULL, upstream_event_cb,
		    up);
		if (evbuffer_add_printf(conn_output(c), "CONNECT %u\n",
		    up->up_backend->be_vsock_port) == -1 ||
		    conn_read_start(c) == -1) {
			upstream_fail(up, UPSTREAM_HANDSHAKE);
			return;
		}
		conn_flush(c);
		return;
	}
	if (up->up_ssl == NULL) {
		upstream_ready(up);
		return;
	}
	/* The TLS conn takes the socket and the SSL. */
	ssl = up->up_ssl;
	up->up_ssl = NULL;
	up->up_state = UPSTREAM_S_TLS;
	if (conn_start_ssl(c, ssl) == -1)
		upstream_fail(up, UPSTREAM_HANDSHAKE);
}

/* "OK <n>\n", Firecracker's answer to CONNECT; anything else fails. */
static void
upstream_vsock_read_cb(struct conn *c, void *arg)
{
	struct upstream		*up = arg;
	struct evbuffer		*in = conn_input(c);
	struct evbuffer_ptr	 eol;
	char			 line[UPSTREAM_VSOCK_LINE_MAX];
	size_t			 len, i;

	ASSERT(up->magic == UPSTREAM_MAGIC);
	eol = evbuffer_search(in, "\n", 1, NULL);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) >= sizeof(line))
			upstream_fail(up, UPSTREAM_HANDSHAKE);
		return;
	}
	len = (size_t)eol.pos;
	if (len >= sizeof(line)) {
		upstream_fail(up, UPSTREAM_HANDSHAKE);
		return;
	}
	evbuffer_remove(in, line, len + 1);
	line[len] = '\0';
	if (len < 4 || strncmp(line, "OK ", 3) != 0) {
		upstream_fail(up, UPSTREAM_HANDSHAKE);
		return;
	}
	for (i = 3; i < len; i++)
		if (line[i] < '0' || line[i] > '9') {
			upstream_fail(up, UPSTREAM_HANDSHAKE);
			return;
		}
	upstream_connected(up);
}

static void
upstream_ready(struct upstream *up)
{
	upstream_timer_stop(up);
	up->up_state = UPSTREAM_S_READY;
	conn_setcb(up->up_conn, NULL, NULL, NULL, NULL);
	up->up_cb(up, UPSTREAM_OK, up->up_arg);
}

/*
 * Reports <err> from the loop: a zero timeout, so that a failure found
 * inside upstream_connect() does not call back into its caller.
 */
static void
upstream_fail(struct upstream *up, enum upstream_error err)
{
	struct timeval	 now = { 0, 0 };

	up->up_state = UPSTREAM_S_FAILED;
	up->up_err = err;
	if (up->up_conn != NULL) {
		conn_setcb(up->up_conn, NULL, NULL, NULL, NULL);
		conn_read_stop(up->up_conn);
	}
	if (evtimer_add(up->up_timer, &now) == 0)
		up->up_timer_on = true;
}

static void
upstream_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream	*up = arg;
	uint64_t	 idle_ms;

	(void)fd;
	(void)what;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	up->up_timer_on = false;
	switch (up->up_state) {
	case UPSTREAM_S_FAILED:
		up->up_cb(up, up->up_err, up->up_arg);
		break;
	case UPSTREAM_S_IDLE:
		/* Set during an earlier idle spell: the rest of this one. */
		idle_ms = (mtime_now_ns() - up->up_idle_ns) / MTIME_NS_PER_MS;
		if (idle_ms < up->up_idle->ui_timeout_ms)
			upstream_timer_set(up, up->up_idle->ui_timeout_ms -
			    idle_ms);
		else
			upstream_free(up);
		break;
	case UPSTREAM_S_READY:
		break;
	case UPSTREAM_S_CONNECTING:
	case UPSTREAM_S_VSOCK:
	case UPSTREAM_S_TLS:
		up->up_state = UPSTREAM_S_FAILED;
		if (up->up_conn != NULL) {
			conn_setcb(up->up_conn, NULL, NULL, NULL, NULL);
			conn_read_stop(up->up_conn);
		}
		up->up_cb(up, UPSTREAM_TIMEOUT, up->up_arg);
		break;
	}
}

/* ------------------------------------------------------------------ */

void
upstream_idle_init(struct upstream_idle *ui, size_t max, uint64_t timeout_ms)
{
	TAILQ_INIT(&ui->ui_list);
	ui->ui_n = 0;
	ui->ui_max = max;
	ui->ui_timeout_ms = timeout_ms;
}

void
upstream_idle_clear(struct upstream_idle *ui)
{
	struct upstream	*up;

	while ((up = TAILQ_FIRST(&ui->ui_list)) != NULL)
		upstream_free(up);
	ASSERT(ui->ui_n == 0);
}

struct upstream *
upstream_idle_get(struct upstream_idle *ui)
{
	struct upstream	*up;

	if ((up = TAILQ_FIRST(&ui->ui_list)) == NULL)
		return (NULL);
	upstream_idle_remove(up);
	/* A pending idle timer stays: it fires harmlessly, or is reused. */
	conn_setcb(up->up_conn, NULL, NULL, NULL, NULL);
	up->up_state = UPSTREAM_S_READY;
	return (up);
}

void
upstream_idle_put(struct upstream_idle *ui, struct upstream *up)
{
	ASSERT(up->magic == UPSTREAM_MAGIC);
	ASSERT(up->up_state == UPSTREAM_S_READY);
	if (ui->ui_max == 0 ||
	    evbuffer_get_length(conn_input(up->up_conn)) > 0 ||
	    evbuffer_get_length(conn_output(up->up_conn)) > 0) {
		upstream_free(up);
		return;
	}
	while (ui->ui_n >= ui->ui_max)
		upstream_free(TAILQ_LAST(&ui->ui_list, upstream_list));
	/* Any byte or event now means the backend is done with it. */
	conn_watermarks(up->up_conn, 0, 0);
	conn_setcb(up->up_conn, upstream_idle_cb, NULL,
	    upstream_idle_event_cb, up);
	if (conn_read_start(up->up_conn) == -1) {
		upstream_free(up);
		return;
	}
	up->up_reused = true;
	up->up_state = UPSTREAM_S_IDLE;
	up->up_idle = ui;
	TAILQ_INSERT_HEAD(&ui->ui_list, up, up_entry);
	ui->ui_n++;
	up->up_idle_ns = mtime_now_ns();
	if (ui->ui_timeout_ms > 0 && !up->up_timer_on)
		upstream_timer_set(up, ui->ui_timeout_ms);
}

static void
upstream_idle_remove(struct upstream *up)
{
	struct upstream_idle	*ui = up->up_idle;

	TAILQ_REMOVE(&ui->ui_list, up, up_entry);
	ui->ui_n--;
	up->up_idle = NULL;
}

static void
upstream_idle_cb(struct conn *c, void *arg)
{
	struct upstream	*up = arg;

	(void)c;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	upstream_free(up);
}

static void
upstream_idle_event_cb(struct conn *c, int what, void *arg)
{
	struct upstream	*up = arg;

	(void)c;
	(void)what;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	upstream_free(up);
}
