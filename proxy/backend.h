/*
 * proxy/backend.h: the runtime view of one pool's backends: addresses
 * ready to connect to, weights for the balancer, and the state every
 * worker shares about each backend (requests in flight, consecutive
 * failures, passive ejection with a growing back-off).
 *
 * A backend_pool is built once per runtime (proxy/runtime.c) from one
 * struct conf_pool and is then shared by every worker: its shape never
 * changes, and the shared counters are atomics.  The ejection decision
 * (rare: only on failures) is taken under a per-backend mutex so that
 * two workers failing at once move the back-off one step, not two.
 */
#ifndef PROXY_BACKEND_H
#define PROXY_BACKEND_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mtime.h"
#include "pool/lb.h"

struct conf_errors;
struct conf_pool;
struct conf_server;
struct pool;
struct tls_client;

enum backend_kind {
	BACKEND_TCP = 0,	/* IPv4/IPv6, names resolved at load */
	BACKEND_UNIX,		/* a Unix stream socket */
	BACKEND_VSOCK,		/* a VM's vsock socket: CONNECT <port> first */
};

#define BACKEND_NAME_MAX	300	/* "[v6]:port", "unix:PATH", ... */

/* Owned by its backend_pool (an element of bp_backends). */
struct backend {
	struct backend_pool		*be_pool;
	size_t				 be_index;	/* in the pool */
	const struct conf_server	*be_conf;	/* NULL: not static */
	char				 be_name[BACKEND_NAME_MAX];
	enum backend_kind		 be_kind;
	struct sockaddr_storage		 be_ss;
	socklen_t			 be_sslen;
	uint32_t			 be_vsock_port;	/* BACKEND_VSOCK */
	struct tls_client		*be_tls;	/* set by the runtime */

	/* Shared by every worker. */
	_Atomic uint32_t		 be_inflight;
	_Atomic uint32_t		 be_failures;	/* consecutive */
	_Atomic uint64_t		 be_until_ns;	/* ejected until */
	pthread_mutex_t			 be_lock;	/* be_backoff_ms */
	uint64_t			 be_backoff_ms;	/* 0: not ejected */
};

/* Owned by the runtime that built it. */
struct backend_pool {
	const struct conf_pool	*bp_conf;
	const struct lb_ops	*bp_lb;
	struct backend		*bp_backends;
	struct lb_target	*bp_targets;	/* the same order */
	size_t			 bp_n;
	struct mtime_clock	 bp_clock;
	/*
	 * A microvm pool: one backend per slot of the pool (pool/pool.h),
	 * whose VM may come and go; bp_vm is the live pool (NULL until
	 * backend_pool_bind(), and in check mode: nothing is ready).
	 */
	struct pool		*bp_vm;
};

/*
 * The backends of the pool <cp>: its servers, or for a microvm pool one
 * per slot (pool_nslots()), at the slot's vsock socket.  Host names are resolved
 * here, with getaddrinfo(), which blocks: call it off the workers'
 * loops (at load and reload).  A name that does not resolve is
 * reported at its conf position.  <clock> NULL is the monotonic clock.
 * NULL on error (reported into <errs>, or ENOMEM).
 */
struct backend_pool	*backend_pool_new(const struct conf_pool *cp,
			    const struct mtime_clock *clock,
			    struct conf_errors *errs);
void			 backend_pool_free(struct backend_pool *bp);

/*
 * Attaches the microvm pool <bp> to its live pool <vm> (NULL: none),
 * before any worker sees <bp>.  -1 (EINVAL) if their slots differ.
 */
int	 backend_pool_bind(struct backend_pool *bp, struct pool *vm);

/* Whether <b> may be given a request now (not ejected). */
bool	 backend_usable(struct backend *b);

/*
 * A request to <b> failed (connect refused or timed out, reset before a
 * response, a malformed response, a response timeout).  After the
 * pool's eject.failures consecutive failures <b> is ejected for
 * eject.backoff; when it fails again after coming back, for twice as
 * long, up to eject.max_backoff.  Returns true if this call ejected it.
 */
bool	 backend_failure(struct backend *b);

/* A response arrived: the failure count and the back-off start over. */
void	 backend_success(struct backend *b);

/* Requests in flight, for least_request. */
void	 backend_acquire(struct backend *b);
void	 backend_release(struct backend *b);

#endif /* PROXY_BACKEND_H */
