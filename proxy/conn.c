/*
 * proxy/conn.c: a connected socket with input and output evbuffers,
 * driven with as few system calls as the traffic allows.
 *
 * A plain connection has two persistent events on its fd.  The read
 * event, once added, stays added while its owner reads.
 * conn_read_once() reads without adding it: a request usually arrives
 * with its connection, so a client that sends one request and closes is
 * served without ever being registered with epoll; the event is added
 * only when that read finds nothing or the owner asks for more.  Each
 * readable event is one readv() into space reserved in the input (no
 * FIONREAD), its size doubling when a read fills it and halving after a
 * run of reads that use a quarter of it or less (the tail of a response
 * is short: one short read must not halve it); read(2) and write(2)
 * rather than their vector forms when one buffer will do.  At the read high
 * watermark the event is removed and an input callback waits for the
 * owner to take bytes.  Output is written by conn_flush() when the owner
 * asks; the write event is armed only while the kernel has not taken
 * everything.  Callbacks are never called from inside a conn_ function:
 * the write callback (output at the low watermark) and write errors
 * found by conn_flush() are reported from the loop, by activating the
 * write event.
 *
 * A TLS connection is an OpenSSL bufferevent on the fd; the calls map
 * onto it and its callbacks are passed through.
 *
 * Everything runs on the thread of the conn's event_base.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "lib/log.h"
#include "proxy/conn.h"

#define CONN_MAGIC		0xc0aa3c7d
#define CONN_READ_MIN		4000	/* with the chain header, 4 KiB */
#define CONN_READ_MAX		(128 * 1024)
#define CONN_READ_SHRINK	8	/* small reads before halving */
#define CONN_WRITE_IOV		16	/* output chains per write */
#define CONN_BEV_OPTS		\
    (BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)

/* c_flags */
#define CONN_F_READING		0x0001	/* the owner wants input */
#define CONN_F_RARMED		0x0002	/* c_rev is added */
#define CONN_F_WARMED		0x0004	/* c_wev is added */
#define CONN_F_FULL		0x0008	/* paused at the read watermark */
#define CONN_F_CONNECTING	0x0010	/* connect() under way */
#define CONN_F_FAILED		0x0020	/* a write failed: report it */
#define CONN_F_EOF		0x0040	/* the peer finished sending */

/* Owned by whoever created it (a session, an upstream). */
struct conn {
	unsigned		 magic;
	struct event_base	*c_base;
	int			 c_fd;
	struct bufferevent	*c_bev;		/* TLS: all goes through it */
	struct evbuffer		*c_in;		/* plain only, like below */
	struct evbuffer		*c_out;
	struct event		*c_rev;		/* EV_READ | EV_PERSIST */
	struct event		*c_wev;		/* EV_WRITE | EV_PERSIST */
	struct evbuffer_cb_entry *c_incb;	/* while CONN_F_FULL */
	conn_cb			 c_readcb;
	conn_cb			 c_writecb;
	conn_event_cb		 c_eventcb;
	void			*c_arg;
	size_t			 c_rhigh;	/* 0: no limit */
	size_t			 c_wlow;
	size_t			 c_rsize;	/* the next read's size */
	unsigned		 c_nsmall;	/* reads in a row under 1/4 */
	unsigned		 c_flags;
	int			 c_errno;	/* CONN_F_FAILED */
};

static void	conn_read_ev(evutil_socket_t fd, short what, void *arg);
static void	conn_write_ev(evutil_socket_t fd, short what, void *arg);
static void	conn_in_cb(struct evbuffer *buf,
		    const struct evbuffer_cb_info *info, void *arg);
static void	conn_bev_read(struct bufferevent *bev, void *arg);
static void	conn_bev_write(struct bufferevent *bev, void *arg);
static void	conn_bev_event(struct bufferevent *bev, short what,
		    void *arg);
static ssize_t	conn_readv(struct conn *c, size_t want);
static ssize_t	conn_writev(struct conn *c);
static void	conn_rarm(struct conn *c);
static void	conn_rdisarm(struct conn *c);
static void	conn_warm(struct conn *c);
static void	conn_wdisarm(struct conn *c);
static void	conn_pause(struct conn *c);
static void	conn_resume(struct conn *c);
static void	conn_broken(struct conn *c, int what);
static bool	conn_again(int err);

struct conn *
conn_new(struct event_base *base, int fd)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return (NULL);
	}
	c->magic = CONN_MAGIC;
	c->c_base = base;
	c->c_fd = fd;
	c->c_rsize = CONN_READ_MIN;
	if ((c->c_in = evbuffer_new()) == NULL ||
	    (c->c_out = evbuffer_new()) == NULL ||
	    (c->c_rev = event_new(base, fd, EV_READ | EV_PERSIST,
	    conn_read_ev, c)) == NULL ||
	    (c->c_wev = event_new(base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_ev, c)) == NULL) {
		conn_free(c);
		return (NULL);
	}
	return (c);
}

struct conn *
conn_new_ssl(struct event_base *base, int fd, SSL *ssl, bool accepting)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		SSL_free(ssl);
		close(fd);
		return (NULL);
	}
	c->magic = CONN_MAGIC;
	c->c_base = base;
	c->c_fd = fd;
	c->c_bev = bufferevent_openssl_socket_new(base, fd, ssl, accepting ?
	    BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    CONN_BEV_OPTS);
	if (c->c_bev == NULL) {
		SSL_free(ssl);
		close(fd);
		free(c);
		return (NULL);
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->c_bev, 1);
	bufferevent_setcb(c->c_bev, conn_bev_read, conn_bev_write,
	    conn_bev_event, c);
	return (c);
}

int
conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	ASSERT(c->magic == CONN_MAGIC && c->c_bev == NULL);
	if (connect(c->c_fd, sa, salen) == 0) {
		/* A Unix socket with room in its backlog: at once. */
		c->c_flags |= CONN_F_CONNECTING;
		event_active(c->c_wev, EV_WRITE, 0);
		return (0);
	}
	if (errno != EINPROGRESS)
		return (-1);
	c->c_flags |= CONN_F_CONNECTING;
	conn_warm(c);
	return (0);
}

int
conn_start_ssl(struct conn *c, SSL *ssl)
{
	struct bufferevent	*bev;

	ASSERT(c->magic == CONN_MAGIC && c->c_bev == NULL);
	if (evbuffer_get_length(c->c_in) > 0 ||
	    evbuffer_get_length(c->c_out) > 0) {
		/* The peer spoke before the handshake: not TLS. */
		SSL_free(ssl);
		errno = EPROTO;
		return (-1);
	}
	bev = bufferevent_openssl_socket_new(c->c_base, c->c_fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, CONN_BEV_OPTS);
	if (bev == NULL) {
		SSL_free(ssl);
		return (-1);
	}
	/* The bufferevent owns the fd from now on. */
	event_free(c->c_rev);
	event_free(c->c_wev);
	c->c_rev = c->c_wev = NULL;
	if (c->c_incb != NULL)
		evbuffer_remove_cb_entry(c->c_in, c->c_incb);
	c->c_incb = NULL;
	evbuffer_free(c->c_in);
	evbuffer_free(c->c_out);
	c->c_in = c->c_out = NULL;
	c->c_flags = 0;
	c->c_bev = bev;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, conn_bev_read, conn_bev_write, conn_bev_event,
	    c);
	bufferevent_setwatermark(bev, EV_READ, 0, c->c_rhigh);
	bufferevent_setwatermark(bev, EV_WRITE, c->c_wlow, 0);
	return (conn_read_start(c));
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_bev != NULL) {
		bufferevent_free(c->c_bev);	/* closes the fd */
		c->magic = 0;
		free(c);
		return;
	}
	if (c->c_rev != NULL)
		event_free(c->c_rev);
	if (c->c_wev != NULL)
		event_free(c->c_wev);
	if (c->c_in != NULL)
		evbuffer_free(c->c_in);		/* and c_incb */
	if (c->c_out != NULL)
		evbuffer_free(c->c_out);
	if (c->c_fd != -1)
		close(c->c_fd);
	c->magic = 0;
	free(c);
}

void
conn_setcb(struct conn *c, conn_cb readcb, conn_cb writecb,
    conn_event_cb eventcb, void *arg)
{
	ASSERT(c->magic == CONN_MAGIC);
	c->c_readcb = readcb;
	c->c_writecb = writecb;
	c->c_eventcb = eventcb;
	c->c_arg = arg;
}

struct evbuffer *
conn_input(struct conn *c)
{
	return (c->c_bev != NULL ? bufferevent_get_input(c->c_bev) :
	    c->c_in);
}

struct evbuffer *
conn_output(struct conn *c)
{
	return (c->c_bev != NULL ? bufferevent_get_output(c->c_bev) :
	    c->c_out);
}

SSL *
conn_ssl(struct conn *c)
{
	return (c->c_bev != NULL ? bufferevent_openssl_get_ssl(c->c_bev) :
	    NULL);
}

int
conn_read_start(struct conn *c)
{
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_bev != NULL) {
		if (c->c_flags & CONN_F_READING)
			return (0);
		if (bufferevent_enable(c->c_bev, EV_READ | EV_WRITE) == -1)
			return (-1);
		c->c_flags |= CONN_F_READING;
		return (0);
	}
	c->c_flags |= CONN_F_READING;
	if (!(c->c_flags & (CONN_F_RARMED | CONN_F_FULL | CONN_F_EOF |
	    CONN_F_CONNECTING)))
		conn_rarm(c);
	return (0);
}

void
conn_read_once(struct conn *c)
{
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_bev != NULL) {
		(void)conn_read_start(c);
		return;
	}
	c->c_flags |= CONN_F_READING;
	if (!(c->c_flags & (CONN_F_RARMED | CONN_F_FULL | CONN_F_EOF |
	    CONN_F_CONNECTING)))
		event_active(c->c_rev, EV_READ, 0);
}

void
conn_read_stop(struct conn *c)
{
	ASSERT(c->magic == CONN_MAGIC);
	c->c_flags &= ~CONN_F_READING;
	if (c->c_bev != NULL) {
		(void)bufferevent_disable(c->c_bev, EV_READ);
		return;
	}
	conn_rdisarm(c);
}

void
conn_watermarks(struct conn *c, size_t read_high, size_t write_low)
{
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_bev != NULL) {
		bufferevent_setwatermark(c->c_bev, EV_READ, 0, read_high);
		bufferevent_setwatermark(c->c_bev, EV_WRITE, write_low, 0);
		return;
	}
	c->c_rhigh = read_high;
	c->c_wlow = write_low;
	if ((c->c_flags & CONN_F_FULL) &&
	    (read_high == 0 || evbuffer_get_length(c->c_in) < read_high))
		conn_resume(c);
}

void
conn_flush(struct conn *c)
{
	size_t	 before, after;

	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_bev != NULL || (c->c_flags & (CONN_F_WARMED |
	    CONN_F_CONNECTING | CONN_F_FAILED)))
		return;
	if ((before = evbuffer_get_length(c->c_out)) == 0)
		return;
	if (conn_writev(c) == -1) {
		if (conn_again(errno)) {
			conn_warm(c);
			return;
		}
		c->c_errno = errno;
		c->c_flags |= CONN_F_FAILED;
		event_active(c->c_wev, EV_WRITE, 0);
		return;
	}
	/* The kernel took less than all: the rest when it has room. */
	if ((after = evbuffer_get_length(c->c_out)) > 0)
		conn_warm(c);
	if (before > c->c_wlow && after <= c->c_wlow && c->c_writecb != NULL)
		event_active(c->c_wev, EV_WRITE, 0);
}

/* ------------------------------------------------------------------ */

static bool
conn_again(int err)
{
	return (err == EAGAIN || err == EWOULDBLOCK || err == EINTR);
}

static void
conn_rarm(struct conn *c)
{
	if (c->c_flags & CONN_F_RARMED)
		return;
	if (event_add(c->c_rev, NULL) == 0)
		c->c_flags |= CONN_F_RARMED;
}

static void
conn_rdisarm(struct conn *c)
{
	if (!(c->c_flags & CONN_F_RARMED))
		return;
	event_del(c->c_rev);
	c->c_flags &= ~CONN_F_RARMED;
}

static void
conn_warm(struct conn *c)
{
	if (c->c_flags & CONN_F_WARMED)
		return;
	if (event_add(c->c_wev, NULL) == 0)
		c->c_flags |= CONN_F_WARMED;
}

static void
conn_wdisarm(struct conn *c)
{
	if (!(c->c_flags & CONN_F_WARMED))
		return;
	event_del(c->c_wev);
	c->c_flags &= ~CONN_F_WARMED;
}

/*
 * The input is at its high watermark: stop reading until the owner
 * takes some.  Without memory for the callback, reading goes on.
 */
static void
conn_pause(struct conn *c)
{
	if (c->c_incb == NULL &&
	    (c->c_incb = evbuffer_add_cb(c->c_in, conn_in_cb, c)) == NULL)
		return;
	c->c_flags |= CONN_F_FULL;
	conn_rdisarm(c);
}

static void
conn_resume(struct conn *c)
{
	c->c_flags &= ~CONN_F_FULL;
	if (c->c_incb != NULL)
		evbuffer_remove_cb_entry(c->c_in, c->c_incb);
	c->c_incb = NULL;
	if ((c->c_flags & CONN_F_READING) && !(c->c_flags & CONN_F_EOF))
		conn_rarm(c);
}

/* While paused: the owner took input; below the watermark, read again. */
static void
conn_in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;

	(void)info;
	if ((c->c_flags & CONN_F_FULL) && (c->c_rhigh == 0 ||
	    evbuffer_get_length(buf) < c->c_rhigh))
		conn_resume(c);
}

/* One readv() of up to <want> bytes into space reserved in the input. */
static ssize_t
conn_readv(struct conn *c, size_t want)
{
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	ssize_t			 n;
	size_t			 left;
	int			 nv, i;

	if ((nv = evbuffer_reserve_space(c->c_in, (ev_ssize_t)want, v,
	    2)) < 1) {
		errno = ENOMEM;
		return (-1);
	}
	/* The reservation may be larger than asked: no more than <want>. */
	left = want;
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	n = nv == 1 ? read(c->c_fd, iov[0].iov_base, iov[0].iov_len) :
	    readv(c->c_fd, iov, nv);
	if (n <= 0)
		return (n);
	left = (size_t)n;
	for (i = 0; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	if (evbuffer_commit_space(c->c_in, v, nv) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	return (n);
}

/*
 * One write of the output's first chains (write(2) for one, else
 * writev(2)); what went is drained.  The bytes written, or -1.
 */
static ssize_t
conn_writev(struct conn *c)
{
	struct evbuffer_iovec	 v[CONN_WRITE_IOV];
	struct iovec		 iov[CONN_WRITE_IOV];
	ssize_t			 n;
	int			 nv, i;

	if ((nv = evbuffer_peek(c->c_out, -1, NULL, v, CONN_WRITE_IOV)) >
	    CONN_WRITE_IOV)
		nv = CONN_WRITE_IOV;
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	n = nv == 1 ? write(c->c_fd, iov[0].iov_base, iov[0].iov_len) :
	    writev(c->c_fd, iov, nv);
	if (n > 0)
		evbuffer_drain(c->c_out, (size_t)n);
	return (n);
}

/*
 * Readable, or a read scheduled by conn_read_once(): one read, then the
 * owner's read callback (which may free the connection).
 */
static void
conn_read_ev(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	size_t		 want = c->c_rsize, have;
	ssize_t		 n;

	(void)fd;
	(void)what;
	ASSERT(c->magic == CONN_MAGIC);
	if ((c->c_flags & (CONN_F_READING | CONN_F_FULL | CONN_F_EOF |
	    CONN_F_CONNECTING)) != CONN_F_READING) {
		conn_rdisarm(c);
		return;
	}
	if (c->c_rhigh > 0) {
		have = evbuffer_get_length(c->c_in);
		if (have >= c->c_rhigh) {
			conn_pause(c);
			return;
		}
		if (want > c->c_rhigh - have)
			want = c->c_rhigh - have;
	}
	n = conn_readv(c, want);
	if (n > 0) {
		if ((size_t)n >= want && want == c->c_rsize &&
		    c->c_rsize < CONN_READ_MAX) {
			c->c_rsize *= 2;
			c->c_nsmall = 0;
		} else if ((size_t)n >= c->c_rsize / 4)
			c->c_nsmall = 0;
		else if (++c->c_nsmall >= CONN_READ_SHRINK &&
		    c->c_rsize > CONN_READ_MIN) {
			c->c_rsize /= 2;
			c->c_nsmall = 0;
		}
		if (c->c_readcb != NULL)
			c->c_readcb(c, c->c_arg);
		return;
	}
	if (n == -1 && conn_again(errno)) {
		conn_rarm(c);
		return;
	}
	if (n == 0)
		c->c_flags |= CONN_F_EOF;
	else
		c->c_errno = errno;
	c->c_flags &= ~CONN_F_READING;
	conn_rdisarm(c);
	errno = c->c_errno;
	if (c->c_eventcb != NULL)
		c->c_eventcb(c, n == 0 ? CONN_EV_EOF : CONN_EV_ERROR,
		    c->c_arg);
}

/*
 * Writable (the output waits), connected, or activated by conn_flush()
 * to run the write callback or report a write error.
 */
static void
conn_write_ev(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	(void)what;
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_flags & CONN_F_FAILED) {
		errno = c->c_errno;
		conn_broken(c, CONN_EV_ERROR);
		return;
	}
	if (c->c_flags & CONN_F_CONNECTING) {
		c->c_flags &= ~CONN_F_CONNECTING;
		conn_wdisarm(c);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			c->c_errno = err;
			conn_broken(c, CONN_EV_ERROR);
		} else if (c->c_eventcb != NULL)
			c->c_eventcb(c, CONN_EV_CONNECTED, c->c_arg);
		return;
	}
	if (evbuffer_get_length(c->c_out) > 0 && conn_writev(c) == -1 &&
	    !conn_again(errno)) {
		c->c_errno = errno;
		conn_broken(c, CONN_EV_ERROR);
		return;
	}
	if (evbuffer_get_length(c->c_out) == 0)
		conn_wdisarm(c);
	else
		conn_warm(c);
	if (evbuffer_get_length(c->c_out) <= c->c_wlow &&
	    c->c_writecb != NULL)
		c->c_writecb(c, c->c_arg);
}

/* The connection is unusable: no more reading or writing; tell the owner. */
static void
conn_broken(struct conn *c, int what)
{
	c->c_flags &= ~(CONN_F_READING | CONN_F_FAILED);
	conn_rdisarm(c);
	conn_wdisarm(c);
	evbuffer_drain(c->c_out, evbuffer_get_length(c->c_out));
	errno = c->c_errno;
	if (c->c_eventcb != NULL)
		c->c_eventcb(c, what, c->c_arg);
}

/* ------------------------------------------------------------------ */

static void
conn_bev_read(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_readcb != NULL)
		c->c_readcb(c, c->c_arg);
}

static void
conn_bev_write(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_writecb != NULL)
		c->c_writecb(c, c->c_arg);
}

static void
conn_bev_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 w = 0;

	(void)bev;
	ASSERT(c->magic == CONN_MAGIC);
	if (what & BEV_EVENT_CONNECTED)
		w |= CONN_EV_CONNECTED;
	if (what & BEV_EVENT_EOF)
		w |= CONN_EV_EOF;
	if (what & BEV_EVENT_ERROR)
		w |= CONN_EV_ERROR;
	if (w != 0 && c->c_eventcb != NULL)
		c->c_eventcb(c, w, c->c_arg);
}
