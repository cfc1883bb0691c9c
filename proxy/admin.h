/*
 * proxy/admin.h: the admin listener (conf "admin: { listen: ADDR }",
 * 127.0.0.1:9901 by default): a small HTTP/1.1 server on a thread and
 * event_base of its own, never on a worker's.
 *
 *	GET  /status				JSON: every pool, every VM
 *	GET  /metrics				Prometheus text format 0.0.4
 *	POST /pools/NAME/vms/ID/replace		202: VM ID (its slot, "vm 3"
 *						in the logs) is replaced
 *
 * HEAD works wherever GET does.  Requests are read with the proxy's
 * strict parser (proxy/http.h) under small limits; a bad one is answered
 * with its 4xx and the connection closed.
 */
#ifndef PROXY_ADMIN_H
#define PROXY_ADMIN_H

#include <stddef.h>

struct admin;		/* opaque; owned by main */
struct conf_addr;
struct event_base;
struct metrics;
struct runtime;

#define ADMIN_ADDR_MAX	64	/* "[ffff:...:ffff]:65535" */

/*
 * Binds and listens on <ca> (no SO_REUSEPORT: a second corral on the
 * same address fails with EADDRINUSE rather than sharing it), writes the
 * bound address ("127.0.0.1:9901") into <addr> of <len> bytes.  Returns
 * the non-blocking socket, or -1 with errno.
 */
int		 admin_listen(const struct conf_addr *ca, char *addr,
		    size_t len);

/*
 * An admin listener with an event_base of its own, showing <m> (the
 * workers' request counters; borrowed, must outlive it) and the pools of
 * <rt> (a reference is taken).  It serves nothing until given a socket.
 * NULL if out of resources.
 */
struct admin	*admin_new(struct metrics *m, struct runtime *rt);
/* Accepts connections on the listening socket <fd> (taken).  0 or -1. */
int		 admin_listen_fd(struct admin *a, int fd);
/* Serves the connected socket <fd> (taken), as if accepted.  0 or -1. */
int		 admin_serve(struct admin *a, int fd);
/* Its event_base: for tests, which run it on their own thread. */
struct event_base *admin_base(struct admin *a);
/* Runs the event_base on a new thread, signals blocked.  0 or -1. */
int		 admin_start(struct admin *a);
/* Any thread: show <rt> from now on (a reference is taken; SIGHUP). */
void		 admin_swap(struct admin *a, struct runtime *rt);
/*
 * Stops the thread (if started) and joins it, closes every connection,
 * frees.  Call it before the pools are freed.  NULL is a no-op.
 */
void		 admin_free(struct admin *a);

#endif /* PROXY_ADMIN_H */
