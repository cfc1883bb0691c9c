/*
 * proxy/upstream.h: connections from a worker to backends, and the
 * worker's keep-alive pools of idle ones.
 *
 * One interface for every transport: TCP, Unix sockets and VM vsock
 * sockets (connect to the Unix socket, write "CONNECT <port>\n", read
 * "OK <n>\n", then HTTP), each optionally wrapped in TLS.  A struct
 * upstream belongs to one worker's event_base: to the session that uses
 * it, or to an upstream_idle pool while it waits for the next request.
 */
#ifndef PROXY_UPSTREAM_H
#define PROXY_UPSTREAM_H

#include <sys/queue.h>

#include <openssl/ssl.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backend;
struct conn;
struct event_base;
struct upstream;

enum upstream_error {
	UPSTREAM_OK = 0,
	UPSTREAM_REFUSED,	/* connect failed or the peer went away */
	UPSTREAM_TIMEOUT,	/* not connected within the timeout */
	UPSTREAM_HANDSHAKE,	/* vsock CONNECT or TLS handshake failed */
};

/*
 * Called once when the connection is ready (UPSTREAM_OK) or has failed;
 * never from inside upstream_connect().  On failure the callee still
 * owns <up> and must upstream_free() it.
 */
typedef void	(*upstream_ready_cb)(struct upstream *up,
		    enum upstream_error err, void *arg);

/*
 * Starts a connection to <b> on <base>, ready within <timeout_ms> (0:
 * no limit) including the vsock and TLS handshakes.  <ssl>, if not NULL,
 * is taken: the connection speaks TLS through it.  NULL only if out of
 * resources (then <ssl> is freed too).
 */
struct upstream		*upstream_connect(struct event_base *base,
			    struct backend *b, SSL *ssl, uint64_t timeout_ms,
			    upstream_ready_cb cb, void *arg);

/*
 * The connection (proxy/conn.h), once ready: reading, without callbacks.
 * Its owner sets the callbacks and watermarks it wants and flushes what
 * it queues; upstream_idle_put() resets them.
 */
struct conn		*upstream_conn(struct upstream *up);
struct backend		*upstream_backend(const struct upstream *up);
/* Whether it came from an idle pool (it has carried a request before). */
bool			 upstream_reused(const struct upstream *up);
/* Closes the connection.  NULL is a no-op. */
void			 upstream_free(struct upstream *up);

const char		*upstream_strerror(enum upstream_error err);

/*
 * Idle connections to one backend, most recently used first.  Belongs to
 * one worker, like the connections in it.  A connection that receives
 * anything while idle (the backend closed it, or sent stray bytes) or
 * stays idle for <timeout_ms> is closed and dropped.
 */
TAILQ_HEAD(upstream_list, upstream);
struct upstream_idle {
	struct upstream_list	 ui_list;
	size_t			 ui_n;
	size_t			 ui_max;	/* 0: keep none */
	uint64_t		 ui_timeout_ms;	/* 0: no limit */
};

void		 upstream_idle_init(struct upstream_idle *ui, size_t max,
		    uint64_t timeout_ms);
/* Closes every idle connection. */
void		 upstream_idle_clear(struct upstream_idle *ui);
/* The most recently used idle connection, taken from the pool, or NULL. */
struct upstream	*upstream_idle_get(struct upstream_idle *ui);
/*
 * Takes <up> (which must have no unread input): keeps it, evicting the
 * oldest if the pool is full, or closes it if the pool keeps none.
 */
void		 upstream_idle_put(struct upstream_idle *ui,
		    struct upstream *up);

#endif /* PROXY_UPSTREAM_H */
