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
 * readable event is one read into space reserved in the input (no
 * FIONREAD), its size doubling when a read fills it and halving after a
 * run of reads that use a quarter of it or less (the tail of a response
 * is short: one short read must not halve it).  recv(2) and send(2),
 * not read(2) and write(2), when one buffer will do, and sendmsg(2) for
 * several: the socket calls skip the VFS layer (the file position lock,
 * fsnotify), worth a few per cent of a proxied request's kernel time on
 * loopback.  At the read high watermark the event is removed and an
 * input callback waits for the owner to take bytes.  Output is written
 * by conn_flush() when the owner asks.  The write event is armed only
 * while the kernel has not taken everything.
 *
 * On a worker's loop (conn_loop()) both wait for the end of the pass: a
 * pass finds several sockets readable, and the reads of all of them go
 * into the kernel in one io_uring_enter(2), then their callbacks run,
 * then the writes those asked for go in one more, then the write
 * callbacks of those whose output fell to the low watermark (so a
 * session whose last response has gone closes at once, its FIN right
 * behind the bytes).  A recv(2) and a send(2) per socket had been a
 * fifth of a proxied request's CPU time on a virtual machine, where each
 * kernel entry is dear (bench/cost.sh: 4.2 system calls per keep-alive
 * request before, 0.7 after).
 *
 * Callbacks are never called from inside a conn_ function, only from
 * the loop: the write callback (output at the low watermark) and write
 * errors found by conn_flush() are reported by activating the write
 * event.
 *
 * A TLS connection is the same conn with an SSL on its fd: the same
 * buffers, events and flags, with SSL_read() and SSL_write() in place of
 * read(2) and write(2), so it costs the system calls a plain one does and
 * no epoll_ctl per response (an OpenSSL bufferevent armed and disarmed
 * EV_WRITE for each).  The SSL reads ahead: one read(2) takes whatever
 * records have arrived, not a record header and then its body, and what
 * it holds beyond the record returned is drained in the same callback,
 * since epoll cannot see it.  SSL_write() takes at most a record's worth,
 * pulled up into one piece, so a small response is one record and one
 * write(2).  The handshake is driven by the same events; a server's starts
 * when reading does, a client's at conn_start_ssl().  OpenSSL may need
 * the other direction (a TLS 1.3 key update while reading, say): the
 * operation then waits for that event, which hands it back to the loop.
 *
 * Everything runs on the thread of the conn's event_base.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/err.h>

#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/iobatch.h"
#include "proxy/conn.h"

#define CONN_MAGIC		0xc0aa3c7d
#define CONN_READ_MIN		4000	/* with the chain header, 4 KiB */
#define CONN_READ_MAX		(128 * 1024)
#define CONN_READ_SHRINK	8	/* small reads before halving */
#define CONN_WRITE_IOV		16	/* output chains per write */
#define CONN_TLS_RECORD		16384	/* TLS plaintext per record */
#define CONN_TLS_BURST		(128 * 1024)	/* per callback, each way */

/* c_flags */
#define CONN_F_READING		0x0001	/* the owner wants input */
#define CONN_F_RARMED		0x0002	/* c_rev is added */
#define CONN_F_WARMED		0x0004	/* c_wev is added */
#define CONN_F_FULL		0x0008	/* paused at the read watermark */
#define CONN_F_CONNECTING	0x0010	/* connect() under way */
#define CONN_F_FAILED		0x0020	/* a write failed: report it */
#define CONN_F_EOF		0x0040	/* the peer finished sending */
#define CONN_F_TLS_HS		0x0080	/* TLS handshake under way */
#define CONN_F_TLS_CLIENT	0x0100	/* ...as the client */
#define CONN_F_TLS_RWANTW	0x0200	/* reading or handshake waits for
					   EV_WRITE: c_rev stays out */
#define CONN_F_TLS_WWANTR	0x0400	/* SSL_write() waits for EV_READ */
#define CONN_F_TLS_END		0x0800	/* an end read behind data, to
					   report next (c_errno 0: EOF) */
#define CONN_F_WQUEUED		0x1000	/* in the loop's write queue */
#define CONN_F_RQUEUED		0x2000	/* in the loop's read queue */

/* Owned by whoever created it (a session, an upstream). */
struct conn {
	unsigned		 magic;
	struct event_base	*c_base;
	int			 c_fd;
	SSL			*c_ssl;		/* TLS, else NULL */
	struct evbuffer		*c_in;
	struct evbuffer		*c_out;
	struct event		*c_rev;		/* EV_READ | EV_PERSIST, and */
	struct event		*c_wev;		/* EV_WRITE | EV_PERSIST, both
						   in the conn's allocation */
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
	struct conn		*c_next;	/* in conn_cache */
	TAILQ_ENTRY(conn)	 c_wentry;	/* CONN_F_WQUEUED */
	TAILQ_ENTRY(conn)	 c_rentry;	/* CONN_F_RQUEUED */
	unsigned		 c_slot;	/* 1 + its place in a read
						   batch being delivered */
};

/*
 * The reads and writes of a loop pass, made at its end (conn_loop()): a
 * conn is queued once for each, however often it is asked.
 */
#define CONN_BATCH_MAX		64	/* calls per system call */
struct conn_loop {
	struct event_base	*l_base;
	TAILQ_HEAD(, conn)	 l_rq;
	TAILQ_HEAD(, conn)	 l_wq;
	struct iobatch		*l_b;
	struct conn		*l_conn[CONN_BATCH_MAX];	/* NULL: freed */
	size_t			 l_len[CONN_BATCH_MAX];	/* read size, or
							   output before */
	ssize_t			 l_res[CONN_BATCH_MAX];
	struct iobatch_op	 l_op[CONN_BATCH_MAX];
	struct evbuffer_iovec	 l_rv[CONN_BATCH_MAX][2];
	struct iovec		 l_iov[CONN_BATCH_MAX][CONN_WRITE_IOV];
};
static __thread struct conn_loop *conn_loop_on;	/* NULL: write at once */

/* Closed conns kept for reuse by this thread (see conn_cache_put()). */
#define CONN_CACHE_MAX		256
static __thread struct conn	*conn_cache;
static __thread unsigned	 conn_ncache;

static void	conn_read_ev(evutil_socket_t fd, short what, void *arg);
static void	conn_write_ev(evutil_socket_t fd, short what, void *arg);
static void	conn_in_cb(struct evbuffer *buf,
		    const struct evbuffer_cb_info *info, void *arg);
static ssize_t	conn_readv(struct conn *c, size_t want);
static ssize_t	conn_writev(struct conn *c);
static ssize_t	conn_send(struct conn *c);
static bool	conn_may_read(const struct conn *c);
static bool	conn_may_write(struct conn *c);
static bool	conn_wrote(struct conn *c, size_t before, ssize_t n);
static void	conn_unqueue(struct conn *c);
static void	conn_loop_read(struct conn_loop *l);
static void	conn_loop_write(struct conn_loop *l);
static void	conn_loop_add(struct conn_loop *l, size_t i, struct conn *c,
		    int op, size_t len, int nv);
static int	conn_reserve(struct conn *c, size_t want,
		    struct evbuffer_iovec *v, struct iovec *iov);
static int	conn_commit(struct conn *c, struct evbuffer_iovec *v, int nv,
		    size_t n);
static void	conn_read_done(struct conn *c, size_t want, ssize_t n);
static int	conn_peek(struct conn *c, struct iovec *iov);
static size_t	conn_want(struct conn *c);
static void	conn_adapt(struct conn *c, size_t want, size_t n);
static void	conn_rarm(struct conn *c);
static void	conn_rdisarm(struct conn *c);
static void	conn_warm(struct conn *c);
static void	conn_wdisarm(struct conn *c);
static void	conn_wait_write(struct conn *c);
static void	conn_pause(struct conn *c);
static void	conn_resume(struct conn *c);
static void	conn_ended(struct conn *c, int what);
static void	conn_broken(struct conn *c, int what);
static bool	conn_again(int err);
static int	conn_tls_attach(struct conn *c, SSL *ssl, bool accepting);
static bool	conn_tls_shake(struct conn *c);
static void	conn_tls_read(struct conn *c);
static ssize_t	conn_tls_write(struct conn *c);
static int	conn_tls_errno(int e, int saved);
static void	conn_tls_pending(struct conn *c);
static struct conn *conn_alloc(void);
static void	conn_destroy(struct conn *c);
static bool	conn_cache_put(struct conn *c);
static struct conn *conn_cache_get(void);

struct conn *
conn_new(struct event_base *base, int fd)
{
	struct conn	*c;

	if ((c = conn_cache_get()) == NULL && (c = conn_alloc()) == NULL) {
		close(fd);
		return (NULL);
	}
	c->magic = CONN_MAGIC;
	c->c_base = base;
	c->c_fd = fd;
	c->c_rsize = CONN_READ_MIN;
	(void)event_assign(c->c_rev, base, fd, EV_READ | EV_PERSIST,
	    conn_read_ev, c);
	(void)event_assign(c->c_wev, base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_ev, c);
	if ((c->c_in == NULL && (c->c_in = evbuffer_new()) == NULL) ||
	    (c->c_out == NULL && (c->c_out = evbuffer_new()) == NULL)) {
		conn_free(c);
		return (NULL);
	}
	return (c);
}

struct conn *
conn_new_ssl(struct event_base *base, int fd, SSL *ssl, bool accepting)
{
	struct conn	*c;

	if ((c = conn_new(base, fd)) == NULL) {
		SSL_free(ssl);
		return (NULL);
	}
	if (conn_tls_attach(c, ssl, accepting) == -1) {
		conn_free(c);
		return (NULL);
	}
	return (c);
}

int
conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	ASSERT(c->magic == CONN_MAGIC && c->c_ssl == NULL);
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
	ASSERT(c->magic == CONN_MAGIC && c->c_ssl == NULL);
	if (evbuffer_get_length(c->c_in) > 0 ||
	    evbuffer_get_length(c->c_out) > 0) {
		/* The peer spoke before the handshake: not TLS. */
		SSL_free(ssl);
		errno = EPROTO;
		return (-1);
	}
	if (conn_tls_attach(c, ssl, false) == -1)
		return (-1);
	/*
	 * Reading stays on once connected: a TLS 1.3 server sends its
	 * session tickets after the handshake, unasked.  The ClientHello
	 * goes from the loop, as a callback may follow.
	 */
	c->c_flags |= CONN_F_READING;
	event_active(c->c_wev, EV_WRITE, 0);
	return (0);
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	ASSERT(c->magic == CONN_MAGIC);
	conn_unqueue(c);
	/* Out of epoll before the fd closes: the base is alive now. */
	event_del(c->c_rev);
	event_del(c->c_wev);
	SSL_free(c->c_ssl);			/* its BIO leaves the fd open */
	c->c_ssl = NULL;
	if (c->c_fd != -1)
		close(c->c_fd);
	c->c_fd = -1;
	c->magic = 0;
	if (!conn_cache_put(c))
		conn_destroy(c);
}

void
conn_cache_flush(void)
{
	struct conn	*c;

	while ((c = conn_cache) != NULL) {
		CACHE_UNPOISON(c);
		conn_cache = c->c_next;
		conn_ncache--;
		conn_destroy(c);
	}
}

/*
 * A conn and its two events in one allocation, the events set up with
 * event_assign(): freeing them is freeing the conn, with no call into
 * libevent, whose base may be gone by the time a cache is flushed.
 */
static struct conn *
conn_alloc(void)
{
	size_t		 off = ALLOC_ALIGN(sizeof(struct conn));
	size_t		 evsz = ALLOC_ALIGN(event_get_struct_event_size());
	struct conn	*c;

	if ((c = calloc(1, off + 2 * evsz)) == NULL)
		return (NULL);
	c->c_rev = (struct event *)(void *)((char *)c + off);
	c->c_wev = (struct event *)(void *)((char *)c + off + evsz);
	return (c);
}

/* Frees a closed conn (its events deleted) and its buffers. */
static void
conn_destroy(struct conn *c)
{
	if (c->c_in != NULL)
		evbuffer_free(c->c_in);		/* and c_incb */
	if (c->c_out != NULL)
		evbuffer_free(c->c_out);
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
	return (c->c_in);
}

struct evbuffer *
conn_output(struct conn *c)
{
	return (c->c_out);
}

SSL *
conn_ssl(struct conn *c)
{
	return (c->c_ssl);
}

int
conn_read_start(struct conn *c)
{
	unsigned	 was = c->c_flags & CONN_F_READING;

	ASSERT(c->magic == CONN_MAGIC);
	c->c_flags |= CONN_F_READING;
	if (!(c->c_flags & (CONN_F_FULL | CONN_F_EOF | CONN_F_CONNECTING))) {
		conn_rarm(c);
		if (!was)
			conn_tls_pending(c);
	}
	return (0);
}

void
conn_read_once(struct conn *c)
{
	ASSERT(c->magic == CONN_MAGIC);
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
	/* A handshake or a write waiting for EV_READ still needs it. */
	if (!(c->c_flags & (CONN_F_TLS_HS | CONN_F_TLS_WWANTR)))
		conn_rdisarm(c);
}

void
conn_watermarks(struct conn *c, size_t read_high, size_t write_low)
{
	ASSERT(c->magic == CONN_MAGIC);
	c->c_rhigh = read_high;
	c->c_wlow = write_low;
	if ((c->c_flags & CONN_F_FULL) &&
	    (read_high == 0 || evbuffer_get_length(c->c_in) < read_high))
		conn_resume(c);
}

void
conn_flush(struct conn *c)
{
	struct conn_loop	*l = conn_loop_on;
	size_t			 before;
	ssize_t			 n;

	ASSERT(c->magic == CONN_MAGIC);
	if (!conn_may_write(c))
		return;
	if (l != NULL && c->c_ssl == NULL && c->c_base == l->l_base) {
		if (!(c->c_flags & CONN_F_WQUEUED)) {
			c->c_flags |= CONN_F_WQUEUED;
			TAILQ_INSERT_TAIL(&l->l_wq, c, c_wentry);
		}
		return;
	}
	before = evbuffer_get_length(c->c_out);
	n = conn_send(c);
	if (conn_wrote(c, before, n == -1 ? -errno : n))
		event_active(c->c_wev, EV_WRITE, 0);
}

/*
 * Runs <base>'s loop as event_base_dispatch() does, but the plain conns
 * a pass found readable are read when it is over, and what was flushed
 * is written then, each direction in one system call (lib/iobatch.c): a
 * pass usually serves several connections, each with a read and a write
 * or two.
 */
int
conn_loop(struct event_base *base, int flags)
{
	struct conn_loop	*l;
	int			 rc;

	ASSERT(conn_loop_on == NULL);
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->l_b = iobatch_new(CONN_BATCH_MAX,
	    (flags & CONN_LOOP_PLAIN) ? IOBATCH_PLAIN : 0)) == NULL) {
		free(l);
		return (event_base_dispatch(base));
	}
	l->l_base = base;
	TAILQ_INIT(&l->l_rq);
	TAILQ_INIT(&l->l_wq);
	conn_loop_on = l;
	do {
		rc = event_base_loop(base, EVLOOP_ONCE);
		conn_loop_read(l);
		conn_loop_write(l);
	} while (rc == 0 && !event_base_got_break(base) &&
	    !event_base_got_exit(base));
	conn_loop_on = NULL;
	iobatch_free(l->l_b);
	free(l);
	return (rc);
}

/*
 * The end of a pass, first: one read for every conn whose socket was
 * readable, CONN_BATCH_MAX at a time, then the owners' read callbacks.
 * All the bytes are in their inputs before the first callback runs, and
 * a conn freed by an earlier callback is left out (conn_unqueue()).
 */
static void
conn_loop_read(struct conn_loop *l)
{
	struct conn	*c;
	size_t		 i, n, want;
	ssize_t		 r;
	int		 nv;

	while (!TAILQ_EMPTY(&l->l_rq)) {
		n = 0;
		while (n < CONN_BATCH_MAX &&
		    (c = TAILQ_FIRST(&l->l_rq)) != NULL) {
			TAILQ_REMOVE(&l->l_rq, c, c_rentry);
			c->c_flags &= ~CONN_F_RQUEUED;
			/* The owner may have stopped since it was queued. */
			if (!conn_may_read(c)) {
				conn_rdisarm(c);
				continue;
			}
			if ((want = conn_want(c)) == 0)
				continue;
			if ((nv = conn_reserve(c, want, l->l_rv[n],
			    l->l_iov[n])) == -1) {
				/* Reported from the loop, as a write's. */
				c->c_errno = ENOMEM;
				c->c_flags |= CONN_F_FAILED;
				event_active(c->c_wev, EV_WRITE, 0);
				continue;
			}
			conn_loop_add(l, n++, c, IOBATCH_RECV, want, nv);
		}
		if (n == 0)
			break;
		iobatch_run(l->l_b, l->l_op, n);
		for (i = 0; i < n; i++) {
			c = l->l_conn[i];
			r = l->l_op[i].bo_res;
			if (r > 0 && conn_commit(c, l->l_rv[i],
			    l->l_op[i].bo_niov, (size_t)r) == -1)
				r = -ENOMEM;
			l->l_res[i] = r;
			c->c_slot = (unsigned)i + 1;
		}
		for (i = 0; i < n; i++) {
			if ((c = l->l_conn[i]) == NULL)
				continue;
			c->c_slot = 0;
			conn_read_done(c, l->l_len[i], l->l_res[i]);
		}
	}
}

/*
 * The end of a pass, last: every queued conn's output, as far as its
 * socket takes it, CONN_BATCH_MAX at a time, then the write callbacks
 * of those whose output fell to the low watermark (a callback may free
 * a conn later in the batch: conn_unqueue() takes it out).  An error
 * is reported from the loop, as conn_flush() does.
 */
static void
conn_loop_write(struct conn_loop *l)
{
	struct conn	*c;
	size_t		 i, n;
	int		 nv;

	while (!TAILQ_EMPTY(&l->l_wq)) {
		n = 0;
		while (n < CONN_BATCH_MAX &&
		    (c = TAILQ_FIRST(&l->l_wq)) != NULL) {
			TAILQ_REMOVE(&l->l_wq, c, c_wentry);
			c->c_flags &= ~CONN_F_WQUEUED;
			if (!conn_may_write(c))
				continue;
			if ((nv = conn_peek(c, l->l_iov[n])) == 0)
				continue;
			conn_loop_add(l, n++, c, IOBATCH_SEND,
			    evbuffer_get_length(c->c_out), nv);
		}
		if (n == 0)
			break;
		iobatch_run(l->l_b, l->l_op, n);
		for (i = 0; i < n; i++) {
			c = l->l_conn[i];
			if (l->l_op[i].bo_res > 0)
				evbuffer_drain(c->c_out,
				    (size_t)l->l_op[i].bo_res);
			if (conn_wrote(c, l->l_len[i], l->l_op[i].bo_res))
				c->c_slot = (unsigned)i + 1;
			else
				l->l_conn[i] = NULL;
		}
		/*
		 * The write callbacks, with every result of the batch in:
		 * a session whose last response has gone closes here, so
		 * its FIN follows the bytes instead of a pass later.
		 */
		for (i = 0; i < n; i++) {
			if ((c = l->l_conn[i]) == NULL)
				continue;
			c->c_slot = 0;
			if (c->c_writecb != NULL &&
			    evbuffer_get_length(c->c_out) <= c->c_wlow)
				c->c_writecb(c, c->c_arg);
		}
	}
}

/* Slot <i> of the batch: <c>'s read or write over <nv> of l_iov[i]. */
static void
conn_loop_add(struct conn_loop *l, size_t i, struct conn *c, int op,
    size_t len, int nv)
{
	l->l_conn[i] = c;
	l->l_len[i] = len;
	l->l_op[i].bo_op = op;
	l->l_op[i].bo_fd = c->c_fd;
	l->l_op[i].bo_iov = l->l_iov[i];
	l->l_op[i].bo_niov = nv;
}

bool
conn_read_due(const struct conn *c)
{
	struct pollfd	 p;

	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_flags & CONN_F_RQUEUED)
		return (true);
	/* Only where epoll will report it: a wait that cannot be forever. */
	if ((c->c_flags & (CONN_F_READING | CONN_F_RARMED | CONN_F_FULL |
	    CONN_F_EOF | CONN_F_CONNECTING)) !=
	    (CONN_F_READING | CONN_F_RARMED))
		return (false);
	p.fd = c->c_fd;
	p.events = POLLIN;
	p.revents = 0;
	return (poll(&p, 1, 0) == 1);
}

/* Whether <c> is to be read when its socket is readable. */
static bool
conn_may_read(const struct conn *c)
{
	return ((c->c_flags & (CONN_F_READING | CONN_F_FULL | CONN_F_EOF |
	    CONN_F_CONNECTING)) == CONN_F_READING);
}

/* Whether conn_flush() may write <c>'s output now. */
static bool
conn_may_write(struct conn *c)
{
	/* During a handshake the output waits for its end (conn_tls_shake). */
	if (c->c_flags & (CONN_F_WARMED | CONN_F_CONNECTING | CONN_F_FAILED |
	    CONN_F_TLS_HS | CONN_F_TLS_WWANTR))
		return (false);
	return (evbuffer_get_length(c->c_out) > 0);
}

/*
 * After a write of <c>'s output, which held <before> bytes: <n> is the
 * bytes written (already drained) or -errno.  What is left waits for
 * the socket to have room; a failure is reported from the loop.  True
 * if the write callback is due (the output fell to the low watermark),
 * for the caller to run or schedule.
 */
static bool
conn_wrote(struct conn *c, size_t before, ssize_t n)
{
	size_t	 after;

	if (n < 0) {
		if (conn_again((int)-n)) {
			conn_wait_write(c);
			return (false);
		}
		c->c_errno = (int)-n;
		c->c_flags |= CONN_F_FAILED;
		event_active(c->c_wev, EV_WRITE, 0);
		return (false);
	}
	if ((after = evbuffer_get_length(c->c_out)) > 0)
		conn_wait_write(c);
	return (before > c->c_wlow && after <= c->c_wlow &&
	    c->c_writecb != NULL);
}

/* Out of the loop's queues and batch: <c> is being freed. */
static void
conn_unqueue(struct conn *c)
{
	struct conn_loop	*l = conn_loop_on;

	if (!(c->c_flags & (CONN_F_WQUEUED | CONN_F_RQUEUED)) &&
	    c->c_slot == 0)
		return;
	ASSERT(l != NULL);
	if (c->c_flags & CONN_F_WQUEUED)
		TAILQ_REMOVE(&l->l_wq, c, c_wentry);
	if (c->c_flags & CONN_F_RQUEUED)
		TAILQ_REMOVE(&l->l_rq, c, c_rentry);
	if (c->c_slot != 0)
		l->l_conn[c->c_slot - 1] = NULL;
	c->c_flags &= ~(CONN_F_WQUEUED | CONN_F_RQUEUED);
	c->c_slot = 0;
}

/* ------------------------------------------------------------------ */

static bool
conn_again(int err)
{
	return (err == EAGAIN || err == EWOULDBLOCK || err == EINTR);
}

/*
 * Not while OpenSSL waits to write before it can read on: a readable
 * socket would wake it to find the same wait, again and again.
 */
static void
conn_rarm(struct conn *c)
{
	if (c->c_flags & (CONN_F_RARMED | CONN_F_TLS_RWANTW))
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

/* The output waits: for EV_WRITE, or EV_READ if OpenSSL must read first. */
static void
conn_wait_write(struct conn *c)
{
	if (c->c_flags & CONN_F_TLS_WWANTR) {
		/* EV_WRITE stays if reading waits for it. */
		if (!(c->c_flags & CONN_F_TLS_RWANTW))
			conn_wdisarm(c);
		conn_rarm(c);
	} else
		conn_warm(c);
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
	if (!(c->c_flags & CONN_F_TLS_WWANTR))
		conn_rdisarm(c);
}

static void
conn_resume(struct conn *c)
{
	c->c_flags &= ~CONN_F_FULL;
	if (c->c_incb != NULL)
		evbuffer_remove_cb_entry(c->c_in, c->c_incb);
	c->c_incb = NULL;
	if ((c->c_flags & CONN_F_READING) && !(c->c_flags & CONN_F_EOF)) {
		conn_rarm(c);
		conn_tls_pending(c);
	}
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

/*
 * The size of the next read: the adaptive size, within what the read
 * watermark leaves.  0: the input is full (and reading is paused).
 */
static size_t
conn_want(struct conn *c)
{
	size_t	 want = c->c_rsize, have;

	if (c->c_rhigh > 0) {
		have = evbuffer_get_length(c->c_in);
		if (have >= c->c_rhigh) {
			conn_pause(c);
			return (0);
		}
		if (want > c->c_rhigh - have)
			want = c->c_rhigh - have;
	}
	return (want);
}

/*
 * A read of <want> gave <n>: the size doubles when a full-size read fills
 * it and halves after a run of reads that used a quarter or less.
 */
static void
conn_adapt(struct conn *c, size_t want, size_t n)
{
	if (n >= want && want == c->c_rsize && c->c_rsize < CONN_READ_MAX) {
		c->c_rsize *= 2;
		c->c_nsmall = 0;
	} else if (n >= c->c_rsize / 4)
		c->c_nsmall = 0;
	else if (++c->c_nsmall >= CONN_READ_SHRINK &&
	    c->c_rsize > CONN_READ_MIN) {
		c->c_rsize /= 2;
		c->c_nsmall = 0;
	}
}

/* One read of up to <want> bytes into space reserved in the input. */
static ssize_t
conn_readv(struct conn *c, size_t want)
{
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	ssize_t			 n;
	int			 nv;

	if ((nv = conn_reserve(c, want, v, iov)) == -1)
		return (-1);
	n = nv == 1 ? recv(c->c_fd, iov[0].iov_base, iov[0].iov_len, 0) :
	    readv(c->c_fd, iov, nv);
	if (n > 0 && conn_commit(c, v, nv, (size_t)n) == -1)
		return (-1);
	return (n);
}

/*
 * Space for <want> bytes at the end of the input, as 1 or 2 pieces in
 * <v> and, cut to <want> in all (a reservation may be larger), <iov>.
 * Their number, or -1 (ENOMEM).
 */
static int
conn_reserve(struct conn *c, size_t want, struct evbuffer_iovec *v,
    struct iovec *iov)
{
	size_t	 left = want;
	int	 nv, i;

	if ((nv = evbuffer_reserve_space(c->c_in, (ev_ssize_t)want, v,
	    2)) < 1) {
		errno = ENOMEM;
		return (-1);
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	return (nv);
}

/* The <n> bytes a read put into a reservation join the input.  0 or -1. */
static int
conn_commit(struct conn *c, struct evbuffer_iovec *v, int nv, size_t n)
{
	int	 i;

	for (i = 0; i < nv; i++) {
		if (v[i].iov_len > n)
			v[i].iov_len = n;
		n -= v[i].iov_len;
	}
	if (evbuffer_commit_space(c->c_in, v, nv) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/*
 * One write of the output's first chains (send(2) for one, else
 * sendmsg(2)); what went is drained.  The bytes written, or -1.
 */
static ssize_t
conn_writev(struct conn *c)
{
	struct iovec	 iov[CONN_WRITE_IOV];
	struct msghdr	 msg;
	ssize_t		 n;
	int		 nv;

	nv = conn_peek(c, iov);
	if (nv == 1)
		n = send(c->c_fd, iov[0].iov_base, iov[0].iov_len,
		    MSG_NOSIGNAL);
	else {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)nv;
		n = sendmsg(c->c_fd, &msg, MSG_NOSIGNAL);
	}
	if (n > 0)
		evbuffer_drain(c->c_out, (size_t)n);
	return (n);
}

/* The output's first chains (CONN_WRITE_IOV at most) into <iov>. */
static int
conn_peek(struct conn *c, struct iovec *iov)
{
	struct evbuffer_iovec	 v[CONN_WRITE_IOV];
	int			 nv, i;

	if ((nv = evbuffer_peek(c->c_out, -1, NULL, v, CONN_WRITE_IOV)) >
	    CONN_WRITE_IOV)
		nv = CONN_WRITE_IOV;
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	return (nv);
}

static ssize_t
conn_send(struct conn *c)
{
	return (c->c_ssl != NULL ? conn_tls_write(c) : conn_writev(c));
}

/*
 * Readable, or a read scheduled by conn_read_once(): one read, then the
 * owner's read callback (which may free the connection).  For TLS, a
 * handshake step or a write that waited for this first.
 */
static void
conn_read_ev(evutil_socket_t fd, short what, void *arg)
{
	struct conn		*c = arg;
	struct conn_loop	*l;
	size_t			 want;
	ssize_t			 n;

	(void)fd;
	(void)what;
	ASSERT(c->magic == CONN_MAGIC);
	if (c->c_flags & CONN_F_TLS_WWANTR) {
		/* The write goes on from its own callback. */
		c->c_flags &= ~CONN_F_TLS_WWANTR;
		event_active(c->c_wev, EV_WRITE, 0);
	}
	if ((c->c_flags & CONN_F_TLS_HS) && !conn_tls_shake(c))
		return;
	if (!conn_may_read(c)) {
		conn_rdisarm(c);
		return;
	}
	if (c->c_ssl != NULL) {
		conn_tls_read(c);
		return;
	}
	if ((l = conn_loop_on) != NULL && c->c_base == l->l_base) {
		/* Read with the others at the end of the pass. */
		if (!(c->c_flags & CONN_F_RQUEUED)) {
			c->c_flags |= CONN_F_RQUEUED;
			TAILQ_INSERT_TAIL(&l->l_rq, c, c_rentry);
		}
		return;
	}
	if ((want = conn_want(c)) == 0)
		return;
	n = conn_readv(c, want);
	conn_read_done(c, want, n == -1 ? -errno : n);
}

/*
 * A read of up to <want> bytes gave <n> (or -errno): the owner hears of
 * the bytes or the end, or the read waits for the socket.
 */
static void
conn_read_done(struct conn *c, size_t want, ssize_t n)
{
	if (n > 0) {
		conn_adapt(c, want, (size_t)n);
		if (c->c_readcb != NULL)
			c->c_readcb(c, c->c_arg);
		return;
	}
	if (n < 0 && conn_again((int)-n)) {
		conn_rarm(c);
		return;
	}
	if (n < 0)
		c->c_errno = (int)-n;
	conn_ended(c, n == 0 ? CONN_EV_EOF : CONN_EV_ERROR);
}

/*
 * Writable (the output waits), connected, or activated by conn_flush()
 * to run the write callback or report a write error.  For TLS, a
 * handshake step or a read that waited for this first.
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
	if (c->c_flags & CONN_F_TLS_HS) {
		c->c_flags &= ~CONN_F_TLS_RWANTW;
		/* A server's handshake done: its client has likely spoken. */
		if (conn_tls_shake(c) && (c->c_flags & CONN_F_READING))
			event_active(c->c_rev, EV_READ, 0);
		return;
	}
	if (c->c_flags & CONN_F_TLS_RWANTW) {
		/* The read that waited for this goes on. */
		c->c_flags &= ~CONN_F_TLS_RWANTW;
		if ((c->c_flags & (CONN_F_READING | CONN_F_FULL |
		    CONN_F_EOF)) == CONN_F_READING) {
			conn_rarm(c);
			event_active(c->c_rev, EV_READ, 0);
		}
		if (evbuffer_get_length(c->c_out) == 0) {
			conn_wdisarm(c);
			return;
		}
	}
	if (c->c_flags & CONN_F_TLS_WWANTR)
		return;
	if (evbuffer_get_length(c->c_out) > 0 && conn_send(c) == -1 &&
	    !conn_again(errno)) {
		c->c_errno = errno;
		conn_broken(c, CONN_EV_ERROR);
		return;
	}
	if (evbuffer_get_length(c->c_out) == 0)
		conn_wdisarm(c);
	else
		conn_wait_write(c);
	if (evbuffer_get_length(c->c_out) <= c->c_wlow &&
	    c->c_writecb != NULL)
		c->c_writecb(c, c->c_arg);
}

/* The peer finished sending, or reading failed: tell the owner. */
static void
conn_ended(struct conn *c, int what)
{
	if (what == CONN_EV_EOF)
		c->c_flags |= CONN_F_EOF;
	c->c_flags &= ~CONN_F_READING;
	if (!(c->c_flags & CONN_F_TLS_WWANTR))
		conn_rdisarm(c);
	errno = c->c_errno;
	if (c->c_eventcb != NULL)
		c->c_eventcb(c, what, c->c_arg);
}

/* The connection is unusable: no more reading or writing; tell the owner. */
static void
conn_broken(struct conn *c, int what)
{
	c->c_flags &= ~(CONN_F_READING | CONN_F_FAILED | CONN_F_TLS_HS |
	    CONN_F_TLS_RWANTW | CONN_F_TLS_WWANTR | CONN_F_TLS_END);
	conn_rdisarm(c);
	conn_wdisarm(c);
	evbuffer_drain(c->c_out, evbuffer_get_length(c->c_out));
	errno = c->c_errno;
	if (c->c_eventcb != NULL)
		c->c_eventcb(c, what, c->c_arg);
}

/* ------------------------------------------------------------------ */
/* Cache */

/*
 * A conn closed goes to its thread's cache, with its events and its
 * (emptied) buffers, and the next conn_new() takes it back: a client
 * connection otherwise costs three allocations and three frees, which
 * with a session's and a parser's were a quarter of what corral spent
 * per connection in user space.
 */
static bool
conn_cache_put(struct conn *c)
{
	if (conn_ncache >= CONN_CACHE_MAX || c->c_in == NULL ||
	    c->c_out == NULL)
		return (false);
	if (c->c_incb != NULL)
		evbuffer_remove_cb_entry(c->c_in, c->c_incb);
	evbuffer_drain(c->c_in, evbuffer_get_length(c->c_in));
	evbuffer_drain(c->c_out, evbuffer_get_length(c->c_out));
	c->c_next = conn_cache;
	conn_cache = c;
	conn_ncache++;
	CACHE_POISON(c);
	return (true);
}

/*
 * A cached conn, zeroed but for its buffers and its events (deleted when
 * it was freed, so conn_new() may assign them again), or NULL.
 */
static struct conn *
conn_cache_get(void)
{
	struct conn	*c, keep;

	if ((c = conn_cache) == NULL)
		return (NULL);
	CACHE_UNPOISON(c);
	conn_cache = c->c_next;
	conn_ncache--;
	keep = *c;
	memset(c, 0, sizeof(*c));
	c->c_in = keep.c_in;
	c->c_out = keep.c_out;
	c->c_rev = keep.c_rev;
	c->c_wev = keep.c_wev;
	return (c);
}

/* ------------------------------------------------------------------ */
/* TLS */

static int
conn_tls_attach(struct conn *c, SSL *ssl, bool accepting)
{
	/* SSL_set_fd()'s BIO leaves the fd to conn_free(). */
	if (SSL_set_fd(ssl, c->c_fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		errno = ENOMEM;
		return (-1);
	}
	/*
	 * Partial writes: SSL_write() returns once a record is out, so the
	 * output drains as it goes.  Moving buffer: a retried write may
	 * come from another pull-up of the same bytes.  An EOF without
	 * close_notify is an EOF, as on a plain socket: HTTP's framing,
	 * not TLS, says whether a message was cut short.
	 */
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_set_read_ahead(ssl, 1);
	if (accepting)
		SSL_set_accept_state(ssl);
	else {
		SSL_set_connect_state(ssl);
		c->c_flags |= CONN_F_TLS_CLIENT;
	}
	c->c_ssl = ssl;
	c->c_flags |= CONN_F_TLS_HS;
	return (0);
}

/*
 * The errno for SSL_get_error()'s <e>; <saved> is errno as the failed
 * call left it.  0 for an orderly end.
 */
static int
conn_tls_errno(int e, int saved)
{
	if (e == SSL_ERROR_ZERO_RETURN)
		return (0);
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		return (saved);			/* 0: EOF mid-record */
	return (EPROTO);
}

/*
 * A step of the handshake.  true: it is done and a server may go on to
 * read; false: it waits for an event, or has ended and been reported
 * (the conn may be gone).
 */
static bool
conn_tls_shake(struct conn *c)
{
	int	 r, e, saved;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(c->c_ssl)) == 1) {
		c->c_flags &= ~CONN_F_TLS_HS;
		conn_wdisarm(c);
		if ((c->c_flags & (CONN_F_READING | CONN_F_FULL |
		    CONN_F_EOF)) == CONN_F_READING)
			conn_rarm(c);
		else
			conn_rdisarm(c);
		if (evbuffer_get_length(c->c_out) > 0)
			conn_flush(c);
		if (!(c->c_flags & CONN_F_TLS_CLIENT))
			return (true);
		/* The server may have spoken in the read that ended it. */
		if (c->c_flags & CONN_F_READING)
			conn_tls_pending(c);
		if (c->c_eventcb != NULL)
			c->c_eventcb(c, CONN_EV_CONNECTED, c->c_arg);
		return (false);
	}
	saved = errno;
	switch ((e = SSL_get_error(c->c_ssl, r))) {
	case SSL_ERROR_WANT_READ:
		conn_wdisarm(c);
		conn_rarm(c);
		return (false);
	case SSL_ERROR_WANT_WRITE:
		c->c_flags |= CONN_F_TLS_RWANTW;
		conn_rdisarm(c);
		conn_warm(c);
		return (false);
	}
	/* A peer that hangs up mid-handshake is an error all the same. */
	if ((c->c_errno = conn_tls_errno(e, saved)) == 0)
		c->c_errno = ECONNRESET;
	ERR_clear_error();
	conn_broken(c, CONN_EV_ERROR);
	return (false);
}

/*
 * Records until OpenSSL holds nothing more (its read-ahead may have taken
 * several from one read(2)), the input's watermark, or a burst's worth;
 * then the owner's read callback.  An end found after some data is
 * reported on the next pass, so the data is handed over first.
 */
static void
conn_tls_read(struct conn *c)
{
	struct evbuffer_iovec	 v;
	size_t			 want, got = 0;
	int			 n, e, saved;

	for (;;) {
		if ((want = conn_want(c)) == 0)
			break;
		/* As on a plain socket, an end waits while the input is full. */
		if (c->c_flags & CONN_F_TLS_END) {
			c->c_flags &= ~CONN_F_TLS_END;
			conn_ended(c, c->c_errno == 0 ? CONN_EV_EOF :
			    CONN_EV_ERROR);
			return;
		}
		if (want > INT_MAX)
			want = INT_MAX;
		if (evbuffer_reserve_space(c->c_in, (ev_ssize_t)want, &v, 1) !=
		    1) {
			c->c_errno = ENOMEM;
			conn_broken(c, CONN_EV_ERROR);
			return;
		}
		if (v.iov_len > want)
			v.iov_len = want;
		ERR_clear_error();
		errno = 0;
		n = SSL_read(c->c_ssl, v.iov_base, (int)v.iov_len);
		saved = errno;
		if (n > 0) {
			v.iov_len = (size_t)n;
			if (evbuffer_commit_space(c->c_in, &v, 1) == -1) {
				c->c_errno = ENOMEM;
				conn_broken(c, CONN_EV_ERROR);
				return;
			}
			conn_adapt(c, want, (size_t)n);
			got += (size_t)n;
			if (!SSL_has_pending(c->c_ssl))
				break;
			if (got >= CONN_TLS_BURST) {
				/* The rest from the loop, after others. */
				event_active(c->c_rev, EV_READ, 0);
				break;
			}
			continue;
		}
		e = SSL_get_error(c->c_ssl, n);
		if (e == SSL_ERROR_WANT_READ) {
			if (got == 0)
				conn_rarm(c);
			break;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			c->c_flags |= CONN_F_TLS_RWANTW;
			conn_rdisarm(c);
			conn_warm(c);
			break;
		}
		c->c_errno = conn_tls_errno(e, saved);
		ERR_clear_error();
		if (got > 0) {
			/*
			 * Kept, not asked again: after a fatal error OpenSSL
			 * answers with what reads as an EOF.
			 */
			c->c_flags |= CONN_F_TLS_END;
			event_active(c->c_rev, EV_READ, 0);
			break;
		}
		conn_ended(c, c->c_errno == 0 ? CONN_EV_EOF : CONN_EV_ERROR);
		return;
	}
	if (got > 0 && c->c_readcb != NULL)
		c->c_readcb(c, c->c_arg);
}

/*
 * The output's first bytes, a record's worth at a time pulled up into
 * one piece, until it is empty, the socket is full or a burst has gone.
 * The bytes written, or -1 (EAGAIN when OpenSSL waits for the socket;
 * with CONN_F_TLS_WWANTR set if for reading).
 */
static ssize_t
conn_tls_write(struct conn *c)
{
	unsigned char	*p;
	size_t		 len, total = 0;
	int		 n, e, saved;

	while (total < CONN_TLS_BURST &&
	    (len = evbuffer_get_length(c->c_out)) > 0) {
		if (len > CONN_TLS_RECORD)
			len = CONN_TLS_RECORD;
		if ((p = evbuffer_pullup(c->c_out, (ev_ssize_t)len)) == NULL) {
			errno = ENOMEM;
			return (-1);
		}
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_write(c->c_ssl, p, (int)len)) > 0) {
			evbuffer_drain(c->c_out, (size_t)n);
			total += (size_t)n;
			continue;
		}
		saved = errno;
		e = SSL_get_error(c->c_ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			c->c_flags |= CONN_F_TLS_WWANTR;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (total > 0)
				break;
			errno = EAGAIN;
			return (-1);
		}
		if ((saved = conn_tls_errno(e, saved)) == 0 ||
		    conn_again(saved))
			saved = EPIPE;
		ERR_clear_error();
		errno = saved;
		return (-1);
	}
	return ((ssize_t)total);
}

/*
 * Reading (re)starts: records OpenSSL already holds, or an end already
 * read, will not make the socket readable, so a read is scheduled.
 */
static void
conn_tls_pending(struct conn *c)
{
	if (c->c_ssl != NULL && !(c->c_flags & CONN_F_TLS_HS) &&
	    ((c->c_flags & CONN_F_TLS_END) || SSL_has_pending(c->c_ssl)))
		event_active(c->c_rev, EV_READ, 0);
}
