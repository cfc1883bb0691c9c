/*
 * proxy/runtime.c: building, sharing and freeing a runtime.
 *
 * runtime_new() runs on the main thread (at start and on SIGHUP) and
 * may block: it resolves backend names and reads certificates.  It
 * builds every part, collecting every error, before anyone sees the
 * result, so a bad reload leaves the running runtime untouched.  The
 * reference count is atomic: the main thread holds one for the current
 * runtime, every worker one for the runtime it hands to new sessions,
 * and every session one for the runtime it started on.  The last
 * runtime_put() frees the runtime on whichever thread that is, which is
 * why nothing in it may belong to an event_base by then: each worker
 * empties its slot (idle connections) when it lets a runtime go.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "pool/pool.h"
#include "proxy/accesslog.h"
#include "proxy/backend.h"
#include "proxy/route.h"
#include "proxy/runtime.h"
#include "proxy/tls.h"
#include "proxy/upstream.h"

static int	runtime_tls(struct runtime *rt, struct tls_tickets *tk,
		    struct conf_errors *errs);
static int	runtime_slots(struct runtime *rt);
static void	runtime_free(struct runtime *rt);

struct runtime *
runtime_new(struct conf **confp, size_t nworkers, struct tls_tickets *tk,
    unsigned flags, struct conf_errors *errs)
{
	struct runtime	*rt;
	struct conf	*conf = *confp;
	struct conf_pos	 pos;
	size_t		 i;
	int		 bad = 0;

	*confp = NULL;
	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		conf_free(conf);
		return (NULL);
	}
	rt->magic = RUNTIME_MAGIC;
	atomic_init(&rt->rt_refs, 1);
	rt->rt_conf = conf;
	rt->rt_nslots = nworkers;
	if ((rt->rt_routes = route_table_new(conf)) == NULL ||
	    (conf->c_npools > 0 && (rt->rt_pools = calloc(conf->c_npools,
	    sizeof(*rt->rt_pools))) == NULL) ||
	    (conf->c_nlisteners > 0 && (rt->rt_tls = calloc(
	    conf->c_nlisteners, sizeof(*rt->rt_tls))) == NULL))
		goto nomem;
	for (i = 0; i < conf->c_npools; i++) {
		rt->rt_pools[i] = backend_pool_new(&conf->c_pools[i], NULL,
		    errs);
		if (rt->rt_pools[i] == NULL) {
			if (errno == ENOMEM)
				goto nomem;
			bad = 1;
		}
	}
	if (runtime_tls(rt, tk, errs) == -1)
		bad = 1;
	if (bad)
		goto fail;
	if (runtime_slots(rt) == -1)
		goto nomem;
	if (!(flags & RUNTIME_CHECK) &&
	    (rt->rt_log = accesslog_open(&conf->c_log)) == NULL) {
		pos = conf->c_log.lg_access_file.cf_pos;
		if (pos.cp_file == NULL) {
			pos.cp_file = conf->c_file;
			pos.cp_line = 0;
		}
		conf_errors_at(errs, &pos, conf->c_log.lg_access_file.cf_key,
		    "cannot open the access log: %s", strerror(errno));
		goto fail;
	}
	return (rt);
nomem:
	pos.cp_file = conf->c_file;
	pos.cp_line = pos.cp_col = 0;
	conf_errors_at(errs, &pos, NULL, "out of memory");
fail:
	runtime_free(rt);
	return (NULL);
}

/* The listeners' TLS servers and the static backends' TLS clients. */
static int
runtime_tls(struct runtime *rt, struct tls_tickets *tk,
    struct conf_errors *errs)
{
	const struct conf	*conf = rt->rt_conf;
	struct backend_pool	*bp;
	size_t			 i, j;
	int			 rc = 0;

	for (i = 0; i < conf->c_nlisteners; i++) {
		if (conf->c_listeners[i].li_tls == NULL)
			continue;
		rt->rt_tls[i] = tk != NULL ?
		    tls_server_new_tickets(&conf->c_listeners[i], tk, errs) :
		    tls_server_new(&conf->c_listeners[i], errs);
		if (rt->rt_tls[i] == NULL)
			rc = -1;
	}
	for (i = 0; i < conf->c_npools; i++) {
		if ((bp = rt->rt_pools[i]) == NULL)
			continue;
		for (j = 0; j < bp->bp_n; j++) {
			if (bp->bp_backends[j].be_conf == NULL ||
			    !bp->bp_backends[j].be_conf->sv_tls)
				continue;
			if ((bp->bp_backends[j].be_tls = tls_client_new(
			    bp->bp_backends[j].be_conf, errs)) == NULL)
				rc = -1;
		}
	}
	return (rc);
}

/* Balancer state and empty keep-alive pools for every worker. */
static int
runtime_slots(struct runtime *rt)
{
	const struct conf	*conf = rt->rt_conf;
	struct runtime_slot	*rs;
	struct backend_pool	*bp;
	size_t			 w, p, b;

	if (rt->rt_nslots == 0)
		return (0);
	if ((rt->rt_slots = calloc(rt->rt_nslots, sizeof(*rt->rt_slots))) ==
	    NULL)
		return (-1);
	for (w = 0; w < rt->rt_nslots; w++) {
		rs = &rt->rt_slots[w];
		if (conf->c_npools == 0)
			continue;
		if ((rs->rs_lb = calloc(conf->c_npools, sizeof(void *))) ==
		    NULL || (rs->rs_idle = calloc(conf->c_npools,
		    sizeof(*rs->rs_idle))) == NULL)
			return (-1);
		for (p = 0; p < conf->c_npools; p++) {
			bp = rt->rt_pools[p];
			if (bp->bp_n == 0)
				continue;
			if ((rs->rs_lb[p] = bp->bp_lb->lo_new(bp->bp_targets,
			    bp->bp_n)) == NULL ||
			    (rs->rs_idle[p] = calloc(bp->bp_n,
			    sizeof(struct upstream_idle))) == NULL)
				return (-1);
			for (b = 0; b < bp->bp_n; b++)
				upstream_idle_init(&rs->rs_idle[p][b],
				    conf->c_pools[p].pl_keepalive.ka_idle,
				    conf->c_pools[p].pl_keepalive.ka_timeout);
		}
	}
	return (0);
}

void
runtime_bind_pools(struct runtime *rt, struct pool_group *g)
{
	const struct conf_pool	*cp;
	size_t			 i;

	for (i = 0; i < rt->rt_conf->c_npools; i++) {
		cp = &rt->rt_conf->c_pools[i];
		if (cp->pl_type != CONF_POOL_MICROVM)
			continue;
		if (backend_pool_bind(rt->rt_pools[i], pool_group_find(g,
		    cp->pl_name)) == -1 || rt->rt_pools[i]->bp_vm == NULL)
			log_warnx("pool %s: a new or resized microvm pool "
			    "needs a restart: it answers 503 until then",
			    cp->pl_name);
	}
}

struct runtime *
runtime_get(struct runtime *rt)
{
	ASSERT(rt->magic == RUNTIME_MAGIC);
	atomic_fetch_add(&rt->rt_refs, 1);
	return (rt);
}

void
runtime_put(struct runtime *rt)
{
	if (rt == NULL)
		return;
	ASSERT(rt->magic == RUNTIME_MAGIC);
	if (atomic_fetch_sub(&rt->rt_refs, 1) == 1)
		runtime_free(rt);
}

struct runtime_slot *
runtime_slot(struct runtime *rt, size_t i)
{
	ASSERT(i < rt->rt_nslots);
	return (&rt->rt_slots[i]);
}

void
runtime_slot_clear(struct runtime *rt, size_t i)
{
	struct runtime_slot	*rs = runtime_slot(rt, i);
	size_t			 p, b;

	if (rs->rs_idle == NULL)
		return;
	for (p = 0; p < rt->rt_conf->c_npools; p++) {
		if (rs->rs_idle[p] == NULL)
			continue;
		for (b = 0; b < rt->rt_pools[p]->bp_n; b++)
			upstream_idle_clear(&rs->rs_idle[p][b]);
	}
}

size_t
runtime_pool_index(const struct runtime *rt, const struct conf_pool *cp)
{
	size_t	 i = (size_t)(cp - rt->rt_conf->c_pools);

	ASSERT(i < rt->rt_conf->c_npools);
	return (i);
}

static void
runtime_free(struct runtime *rt)
{
	const struct conf	*conf = rt->rt_conf;
	struct runtime_slot	*rs;
	size_t			 w, p, b;

	for (w = 0; w < rt->rt_nslots && rt->rt_slots != NULL; w++) {
		rs = &rt->rt_slots[w];
		for (p = 0; p < conf->c_npools; p++) {
			if (rs->rs_lb != NULL && rs->rs_lb[p] != NULL)
				rt->rt_pools[p]->bp_lb->lo_free(rs->rs_lb[p]);
			if (rs->rs_idle == NULL || rs->rs_idle[p] == NULL)
				continue;
			for (b = 0; b < rt->rt_pools[p]->bp_n; b++)
				ASSERT(rs->rs_idle[p][b].ui_n == 0);
			free(rs->rs_idle[p]);
		}
		free(rs->rs_lb);
		free(rs->rs_idle);
	}
	free(rt->rt_slots);
	for (p = 0; rt->rt_pools != NULL && p < conf->c_npools; p++) {
		if (rt->rt_pools[p] == NULL)
			continue;
		for (b = 0; b < rt->rt_pools[p]->bp_n; b++)
			tls_client_free(rt->rt_pools[p]->bp_backends[b].be_tls);
		backend_pool_free(rt->rt_pools[p]);
	}
	free(rt->rt_pools);
	for (p = 0; rt->rt_tls != NULL && p < conf->c_nlisteners; p++)
		tls_server_free(rt->rt_tls[p]);
	free(rt->rt_tls);
	accesslog_free(rt->rt_log);
	route_table_free(rt->rt_routes);
	conf_free(rt->rt_conf);
	rt->magic = 0;
	free(rt);
}
