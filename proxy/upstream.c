/*
 * proxy/upstream.c: connectors and keep-alive pools.
 *
 * A struct upstream owns one bufferevent.  It goes CONNECTING (a
 * non-blocking connect) -> HANDSHAKE (vsock: "CONNECT <port>\n" out,
 * "OK <n>\n" in; TLS: the handshake of an OpenSSL filter bufferevent
 * put over the socket one) -> READY, when the ready callback hands it to
 * its owner.  A timer bounds the whole set-up; the same timer later
 * bounds the idle time in a pool.  Failures are reported through the
 * ready callback from the event loop, never from upstream_connect()
 * itself, so the caller never sees its own callback re-enter it.
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

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "lib/log.h"
#include "proxy/backend.h"
#include "proxy/upstream.h"

#define UPSTREAM_MAGIC		0x0b57ea11
#define UPSTREAM_VSOCK_LINE_MAX	64	/* "OK 1073741824\n" and then some */
#define UPSTREAM_BEV_OPTS	\
    (BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)

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
	struct bufferevent	*up_bev;
	SSL			*up_ssl;	/* until the filter takes it */
	enum upstream_state	 up_state;
	enum upstream_error	 up_err;	/* S_FAILED */
	struct event		*up_timer;
	upstream_ready_cb	 up_cb;
	void			*up_arg;
	struct upstream_idle	*up_idle;	/* S_IDLE */
	TAILQ_ENTRY(upstream)	 up_entry;
	bool			 up_reused;
};

static void	upstream_event_cb(struct bufferevent *bev, short what,
		    void *arg);
static void	upstream_vsock_read_cb(struct bufferevent *bev, void *arg);
static void	upstream_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	upstream_idle_cb(struct bufferevent *bev, void *arg);
static void	upstream_idle_event_cb(struct bufferevent *bev, short what,
		    void *arg);
static void	upstream_connected(struct upstream *up);
static void	upstream_ready(struct upstream *up);
static void	upstream_fail(struct upstream *up, enum upstream_error err);
static void	upstream_idle_remove(struct upstream *up);
static void	upstream_timer_set(struct upstream *up, uint64_t ms);

struct upstream *
upstream_connect(struct event_base *base, struct backend *b, SSL *ssl,
    uint64_t timeout_ms, upstream_ready_cb cb, void *arg)
{
	struct upstream	*up;
	int		 one = 1;

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
	if ((up->up_timer = evtimer_new(base, upstream_timer_cb, up)) == NULL ||
	    (up->up_bev = bufferevent_socket_new(base, -1,
	    UPSTREAM_BEV_OPTS)) == NULL)
		goto fail;
	bufferevent_setcb(up->up_bev, NULL, NULL, upstream_event_cb, up);
	if (bufferevent_socket_connect(up->up_bev,
	    (struct sockaddr *)&b->be_ss, (int)b->be_sslen) == -1) {
		/* ENOENT for a missing socket path, and the like. */
		upstream_fail(up, UPSTREAM_REFUSED);
		return (up);
	}
	if (b->be_kind == BACKEND_TCP)
		(void)setsockopt(bufferevent_getfd(up->up_bev), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
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
	if (up->up_bev != NULL)
		bufferevent_free(up->up_bev);
	up->up_bev = NULL;
	SSL_free(up->up_ssl);
	up->up_ssl = NULL;
	up->magic = 0;
	free(up);
}

struct bufferevent *
upstream_bev(struct upstream *up)
{
	return (up->up_bev);
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
	evtimer_add(up->up_timer, &tv);
}

/* ------------------------------------------------------------------ */

static void
upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream	*up = arg;

	(void)bev;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	if (what & BEV_EVENT_CONNECTED) {
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

/* TCP is up: the vsock handshake, TLS, or nothing more. */
static void
upstream_connected(struct upstream *up)
{
	struct bufferevent	*tls;

	if (up->up_backend->be_kind == BACKEND_VSOCK &&
	    up->up_state == UPSTREAM_S_CONNECTING) {
		up->up_state = UPSTREAM_S_VSOCK;
		bufferevent_setcb(up->up_bev, upstream_vsock_read_cb, NULL,
		    upstream_event_cb, up);
		if (evbuffer_add_printf(bufferevent_get_output(up->up_bev),
		    "CONNECT %u\n", up->up_backend->be_vsock_port) == -1 ||
		    bufferevent_enable(up->up_bev, EV_READ | EV_WRITE) == -1)
			upstream_fail(up, UPSTREAM_HANDSHAKE);
		return;
	}
	if (up->up_ssl == NULL) {
		upstream_ready(up);
		return;
	}
	/* The filter takes the socket bufferevent and the SSL. */
	tls = bufferevent_openssl_filter_new(up->up_base, up->up_bev,
	    up->up_ssl, BUFFEREVENT_SSL_CONNECTING, UPSTREAM_BEV_OPTS);
	if (tls == NULL) {
		upstream_fail(up, UPSTREAM_HANDSHAKE);
		return;
	}
	up->up_bev = tls;
	up->up_ssl = NULL;
	up->up_state = UPSTREAM_S_TLS;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bufferevent_setcb(tls, NULL, NULL, upstream_event_cb, up);
	if (bufferevent_enable(tls, EV_READ | EV_WRITE) == -1)
		upstream_fail(up, UPSTREAM_HANDSHAKE);
}

/* "OK <n>\n", Firecracker's answer to CONNECT; anything else fails. */
static void
upstream_vsock_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstream		*up = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
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
	event_del(up->up_timer);
	up->up_state = UPSTREAM_S_READY;
	bufferevent_setcb(up->up_bev, NULL, NULL, NULL, NULL);
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
	if (up->up_bev != NULL) {
		bufferevent_setcb(up->up_bev, NULL, NULL, NULL, NULL);
		bufferevent_disable(up->up_bev, EV_READ | EV_WRITE);
	}
	evtimer_add(up->up_timer, &now);
}

static void
upstream_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream	*up = arg;

	(void)fd;
	(void)what;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	switch (up->up_state) {
	case UPSTREAM_S_FAILED:
		up->up_cb(up, up->up_err, up->up_arg);
		break;
	case UPSTREAM_S_IDLE:
		upstream_free(up);
		break;
	case UPSTREAM_S_READY:
		break;
	case UPSTREAM_S_CONNECTING:
	case UPSTREAM_S_VSOCK:
	case UPSTREAM_S_TLS:
		up->up_state = UPSTREAM_S_FAILED;
		if (up->up_bev != NULL) {
			bufferevent_setcb(up->up_bev, NULL, NULL, NULL, NULL);
			bufferevent_disable(up->up_bev, EV_READ | EV_WRITE);
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
	event_del(up->up_timer);
	bufferevent_setcb(up->up_bev, NULL, NULL, NULL, NULL);
	up->up_state = UPSTREAM_S_READY;
	return (up);
}

void
upstream_idle_put(struct upstream_idle *ui, struct upstream *up)
{
	ASSERT(up->magic == UPSTREAM_MAGIC);
	ASSERT(up->up_state == UPSTREAM_S_READY);
	if (ui->ui_max == 0 ||
	    evbuffer_get_length(bufferevent_get_input(up->up_bev)) > 0) {
		upstream_free(up);
		return;
	}
	while (ui->ui_n >= ui->ui_max)
		upstream_free(TAILQ_LAST(&ui->ui_list, upstream_list));
	up->up_reused = true;
	up->up_state = UPSTREAM_S_IDLE;
	up->up_idle = ui;
	TAILQ_INSERT_HEAD(&ui->ui_list, up, up_entry);
	ui->ui_n++;
	/* Any byte or event now means the backend is done with it. */
	bufferevent_setwatermark(up->up_bev, EV_READ, 0, 0);
	bufferevent_setwatermark(up->up_bev, EV_WRITE, 0, 0);
	bufferevent_setcb(up->up_bev, upstream_idle_cb, NULL,
	    upstream_idle_event_cb, up);
	bufferevent_set_timeouts(up->up_bev, NULL, NULL);
	if (bufferevent_enable(up->up_bev, EV_READ) == -1) {
		upstream_free(up);
		return;
	}
	event_del(up->up_timer);
	if (ui->ui_timeout_ms > 0)
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
upstream_idle_cb(struct bufferevent *bev, void *arg)
{
	struct upstream	*up = arg;

	(void)bev;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	upstream_free(up);
}

static void
upstream_idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream	*up = arg;

	(void)bev;
	(void)what;
	ASSERT(up->magic == UPSTREAM_MAGIC);
	upstream_free(up);
}
