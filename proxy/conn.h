/*
 * proxy/conn.h: one connected stream socket of a worker, with an input
 * and an output buffer: the proxy's data path on both sides (clients,
 * backends).
 *
 * A plain socket (TCP, Unix, vsock) is driven here with as few system
 * calls as the traffic allows: one read per readable event, sized
 * without FIONREAD; output written when its owner calls conn_flush()
 * (at the end of the callback that queued it) and EV_WRITE armed only
 * when the kernel would not take it all.  A TLS connection is driven the
 * same way, through SSL_read() and SSL_write() on the socket, and costs
 * the same system calls per request.  Callbacks run only
 * from the event loop, never from inside a conn_ call, and a callback
 * may free the connection.
 *
 * A conn belongs to the thread of its event_base.
 */
#ifndef PROXY_CONN_H
#define PROXY_CONN_H

#include <sys/socket.h>

#include <openssl/ssl.h>

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct evbuffer;
struct event_base;

/* conn_event_cb's <what>. */
#define CONN_EV_EOF		0x01	/* the peer has finished sending */
#define CONN_EV_ERROR		0x02	/* the connection broke; errno kept */
#define CONN_EV_CONNECTED	0x04	/* connect or TLS handshake done */

typedef void	(*conn_cb)(struct conn *c, void *arg);
typedef void	(*conn_event_cb)(struct conn *c, int what, void *arg);

/*
 * A connection over the non-blocking socket <fd> (taken: closed by
 * conn_free(), or here on failure), on <base>.  Reading starts with
 * conn_read_start().  NULL if out of memory.
 */
struct conn	*conn_new(struct event_base *base, int fd);

/*
 * The same speaking TLS through <ssl> (taken, like <fd>): the server
 * side if <accepting>, else the client side.  The handshake runs once
 * reading starts; CONN_EV_CONNECTED says it is done (client side).
 */
struct conn	*conn_new_ssl(struct event_base *base, int fd, SSL *ssl,
		    bool accepting);

/*
 * Connects <c> (a socket not yet connected) to <sa>.  0: CONN_EV_CONNECTED
 * or CONN_EV_ERROR follows from the loop; -1 with errno if the attempt
 * failed at once (a missing Unix socket, ...).
 */
int		 conn_connect(struct conn *c, const struct sockaddr *sa,
		    socklen_t salen);

/*
 * Turns a connected plain <c>, with nothing buffered, into the client
 * side of a TLS connection through <ssl> (taken, freed on failure).
 * CONN_EV_CONNECTED follows when the handshake is done; reading is on
 * from then, as a TLS 1.3 server sends tickets unasked.  0 or -1.
 */
int		 conn_start_ssl(struct conn *c, SSL *ssl);

/*
 * Closes the connection; queued output is dropped.  NULL is a no-op.
 * The memory is kept for this thread's next conn_new().
 */
void		 conn_free(struct conn *c);

/* Frees what this thread keeps for conn_new(): before the thread ends. */
void		 conn_cache_flush(void);

/*
 * <readcb>: bytes were added to the input.  <writecb>: the output fell
 * to the write low watermark or below.  <eventcb>: CONN_EV_*; after EOF
 * or an error the connection no longer reads.  Any may be NULL.
 */
void		 conn_setcb(struct conn *c, conn_cb readcb, conn_cb writecb,
		    conn_event_cb eventcb, void *arg);

struct evbuffer	*conn_input(struct conn *c);
struct evbuffer	*conn_output(struct conn *c);

/*
 * Start or stop reading (and, for TLS, handshaking).  Starting again is
 * cheap: a no-op while reading.  0 or -1.
 */
int		 conn_read_start(struct conn *c);
/*
 * Reading is on, but the next read is tried at once from the loop,
 * without registering the socket with epoll: for a connection whose
 * peer has likely spoken already (a client just accepted).  The socket
 * is registered only if that read finds nothing, or when the owner
 * calls conn_read_start() because it wants more than that read gave.
 */
void		 conn_read_once(struct conn *c);
void		 conn_read_stop(struct conn *c);

/*
 * Reading pauses while the input holds <read_high> bytes or more, and
 * resumes by itself once its owner has taken some (0: no limit).  The
 * write callback runs when the output falls to <write_low> or below.
 */
void		 conn_watermarks(struct conn *c, size_t read_high,
		    size_t write_low);

/*
 * Writes the output as far as the socket takes it: now, or, for a plain
 * conn on the base conn_loop() runs, when the loop pass is over.  The
 * rest goes when the socket is writable.  Never calls back: a failure
 * is reported through the event callback, from the loop.  During a TLS
 * handshake the output waits for its end.
 */
void		 conn_flush(struct conn *c);

/*
 * Runs the loop of <base> until it is broken or has no events, as
 * event_base_dispatch() does, but the plain conns of <base> are read and
 * written at the end of each pass: one read for each that was readable,
 * all in one system call (io_uring), then their read callbacks, then
 * what conn_flush() was asked for in the pass, again all in one, then
 * the write callbacks that are due, unless
 * <flags> has CONN_LOOP_PLAIN or the kernel refuses io_uring.  One per
 * thread at a time.  event_base_loop()'s result.
 */
#define CONN_LOOP_PLAIN		0x01
int		 conn_loop(struct event_base *base, int flags);

/*
 * Whether bytes (or the end) from <c>'s peer wait to be read while <c>
 * reads: found readable in this pass of conn_loop(), whose reads come
 * after the pass's timers, or come while epoll_wait(2) was cut short
 * (a stopped and continued process), to be reported in the next pass.
 * For a timer to give way to what it waits for.  May cost a poll(2).
 */
bool		 conn_read_due(const struct conn *c);

/* The SSL of a TLS connection, else NULL. */
SSL		*conn_ssl(struct conn *c);

#endif /* PROXY_CONN_H */
