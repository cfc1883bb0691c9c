/*
 * proxy/runtime.h: everything the workers need from one configuration,
 * built once and then immutable: the conf itself, the route table, the
 * backend pools, the TLS contexts of the listeners and backends, and the
 * access log.  SIGHUP builds a new runtime and swaps it in for new
 * requests; sessions keep a reference to the runtime they started on
 * and the last one to let go frees it.
 *
 * The only parts that change are per worker: runtime_slot(rt, i) is
 * touched only by worker i (balancer state, idle upstream connections),
 * and the backends' atomic counters.
 */
#ifndef PROXY_RUNTIME_H
#define PROXY_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct accesslog;
struct backend_pool;
struct conf;
struct conf_errors;
struct conf_pool;
struct pool_group;
struct route_table;
struct tls_server;
struct tls_tickets;
struct upstream_idle;

/* Worker i's part of a runtime; only worker i touches it. */
struct runtime_slot {
	void			**rs_lb;	/* per pool: balancer state */
	struct upstream_idle	**rs_idle;	/* per pool, per backend */
};

#define RUNTIME_MAGIC	0x0c0ffee5

/* Shared by reference: see runtime_get() and runtime_put(). */
struct runtime {
	unsigned		 magic;
	_Atomic unsigned	 rt_refs;
	struct conf		*rt_conf;
	struct route_table	*rt_routes;
	struct backend_pool	**rt_pools;	/* per conf pool */
	struct tls_server	**rt_tls;	/* per listener; NULL: plain */
	struct accesslog	*rt_log;	/* NULL in check mode */
	struct runtime_slot	*rt_slots;
	size_t			 rt_nslots;
};

/* runtime_new() flags. */
#define RUNTIME_CHECK	0x01	/* corral -t: no access log is opened */

/*
 * Builds a runtime from <*confp>, which it takes (*confp becomes NULL
 * whatever happens), with one slot per worker (<nworkers>).  Builds
 * every TLS context and resolves every backend name; each failure is
 * reported into <errs> at its conf position.  The TLS listeners encrypt
 * session tickets with <tk> (a reference is taken; NULL: keys of their
 * own), so that tickets survive a reload.  Returns the runtime with one
 * reference, or NULL.
 */
struct runtime	*runtime_new(struct conf **confp, size_t nworkers,
		    struct tls_tickets *tk, unsigned flags,
		    struct conf_errors *errs);

/*
 * Gives <rt>'s microvm pools their live pools from <g>, before <rt> is
 * handed to the workers.  A pool <g> does not know (added by a reload)
 * is reported and stays empty (503).
 */
void		 runtime_bind_pools(struct runtime *rt, struct pool_group *g);

/* Another reference to <rt>; any thread. */
struct runtime	*runtime_get(struct runtime *rt);
/* Drops one; the last frees it (its slots must be empty). NULL: no-op. */
void		 runtime_put(struct runtime *rt);

/* Worker <i>'s slot. */
struct runtime_slot	*runtime_slot(struct runtime *rt, size_t i);
/* Worker <i> closes its idle connections of <rt>: on its thread only. */
void			 runtime_slot_clear(struct runtime *rt, size_t i);

/* The index of <cp> in rt->rt_conf->c_pools. */
size_t		 runtime_pool_index(const struct runtime *rt,
		    const struct conf_pool *cp);

#endif /* PROXY_RUNTIME_H */
