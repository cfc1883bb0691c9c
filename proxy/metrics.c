/*
 * proxy/metrics.c: per-worker request counters and the Prometheus text
 * exposition (format 0.0.4) of them and of the microvm pools.
 *
 * Data model: struct metrics holds one struct metrics_shard per worker,
 * each its own allocation aligned to a cache line, so no line is written
 * by two workers.  A shard is a table of routes (METRICS_ROUTES_MAX keys
 * "routes[i]", then "other" and "none"), each with a counter per status
 * slot (the codes http.h names, 499, one per class, one for anything
 * else), a latency histogram, bytes and retries.  Only the shard's
 * worker writes it, with a relaxed load and store (no locked
 * instruction); the scraper (the admin thread) sums every shard with
 * relaxed loads into a private copy, then prints.  The status-to-slot
 * table is built by metrics_new() and only read afterwards.
 *
 * The pools' metrics come from each pool's published struct pool_info
 * and its atomics (pool/pool.h), read by the scraper's thread.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lib/log.h"
#include "pool/member.h"
#include "pool/pool.h"
#include "proxy/accesslog.h"
#include "proxy/http.h"
#include "proxy/metrics.h"

#define METRICS_MAGIC		0x3e7c1c55
#define METRICS_LINE		64	/* a cache line */
#define METRICS_STATUS_MIN	100
#define METRICS_STATUS_END	600	/* codes 100..599 */
#define METRICS_ABORTED		499	/* no response sent (proxy/session.c) */

/* The codes labelled exactly: http.h's table, then 499. */
#define METRICS_ONE(code, text)	+ 1
enum {
	METRICS_NNAMED = 0 HTTP_REASONS(METRICS_ONE) + 1,
	METRICS_NCLASSES = 5,				/* 1xx..5xx */
	METRICS_NCODES = METRICS_NNAMED + METRICS_NCLASSES + 1,	/* other */
	METRICS_ROUTE_OTHER = METRICS_ROUTES_MAX,
	METRICS_ROUTE_NONE,
	METRICS_NROUTES,
};
#undef METRICS_ONE

/* Request latency buckets, in microseconds; then +Inf. */
static const uint64_t metrics_lat_bounds_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};
#define METRICS_NLAT	(sizeof(metrics_lat_bounds_us) / \
			    sizeof(metrics_lat_bounds_us[0]) + 1)

#define METRICS_CODE(code, text)	code,
static const int metrics_codes[METRICS_NNAMED] = {
	HTTP_REASONS(METRICS_CODE)
	METRICS_ABORTED,
};
#undef METRICS_CODE

struct metrics_route {
	_Atomic uint64_t	 mr_codes[METRICS_NCODES];
	_Atomic uint64_t	 mr_lat[METRICS_NLAT];	/* not cumulative */
	_Atomic uint64_t	 mr_lat_sum_us;
	_Atomic uint64_t	 mr_bytes_in;
	_Atomic uint64_t	 mr_bytes_out;
	_Atomic uint64_t	 mr_retries;
};

/* One worker's.  Owned by struct metrics; written by that worker only. */
struct metrics_shard {
	unsigned		 magic;
	const uint8_t		*ms_slot;	/* the parent's m_slot */
	struct metrics_route	 ms_routes[METRICS_NROUTES];
};

/* Owned by main (proxy/main.c); immutable but for the shards' counters. */
struct metrics {
	unsigned		 magic;
	size_t			 m_nshards;
	struct metrics_shard	**m_shards;
	/* Status code (100..599) to counter slot. */
	uint8_t			 m_slot[METRICS_STATUS_END -
				    METRICS_STATUS_MIN];
};

/* The scraper's sum of every shard (plain: one thread's copy). */
struct metrics_sum {
	uint64_t		 su_codes[METRICS_NROUTES][METRICS_NCODES];
	uint64_t		 su_lat[METRICS_NROUTES][METRICS_NLAT];
	uint64_t		 su_lat_sum_us[METRICS_NROUTES];
	uint64_t		 su_bytes_in[METRICS_NROUTES];
	uint64_t		 su_bytes_out[METRICS_NROUTES];
	uint64_t		 su_retries[METRICS_NROUTES];
	uint64_t		 su_total[METRICS_NROUTES];
};

static void	metrics_inc(_Atomic uint64_t *c, uint64_t n);
static size_t	metrics_code_slot(const struct metrics_shard *ms, int status);
static void	metrics_sum(const struct metrics *m, struct metrics_sum *su);
static int	metrics_route_label(char *buf, size_t len, size_t r);
static int	metrics_code_label(char *buf, size_t len, size_t c);
static int	metrics_head(struct evbuffer *out, const char *name,
		    const char *type, const char *help);
static int	metrics_hist(struct evbuffer *out, const char *name,
		    const char *labels, const uint64_t *bounds_us,
		    const uint64_t *count, size_t n, uint64_t sum_us);
static int	metrics_write_pool_reasons(struct pool_info *const *pi,
		    size_t n, struct evbuffer *out);
static int	metrics_write_pool_hists(struct pool *const *pools,
		    struct pool_info *const *pi, size_t n,
		    struct evbuffer *out);

struct metrics *
metrics_new(size_t nshards)
{
	struct metrics	*m;
	size_t		 i, size;
	int		 code;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	m->magic = METRICS_MAGIC;
	for (code = METRICS_STATUS_MIN; code < METRICS_STATUS_END; code++) {
		/* Unnamed codes count in their class, after the named. */
		m->m_slot[code - METRICS_STATUS_MIN] = (uint8_t)(
		    METRICS_NNAMED + (size_t)(code / 100 - 1));
		for (i = 0; i < METRICS_NNAMED; i++)
			if (metrics_codes[i] == code)
				m->m_slot[code - METRICS_STATUS_MIN] =
				    (uint8_t)i;
	}
	if (nshards > 0 && (m->m_shards = calloc(nshards,
	    sizeof(*m->m_shards))) == NULL)
		goto fail;
	size = (sizeof(struct metrics_shard) + METRICS_LINE - 1) /
	    METRICS_LINE * METRICS_LINE;
	for (i = 0; i < nshards; i++) {
		if ((m->m_shards[i] = aligned_alloc(METRICS_LINE, size)) ==
		    NULL)
			goto fail;
		m->m_nshards = i + 1;
		memset(m->m_shards[i], 0, size);
		m->m_shards[i]->magic = METRICS_MAGIC;
		m->m_shards[i]->ms_slot = m->m_slot;
	}
	return (m);
fail:
	metrics_free(m);
	return (NULL);
}

void
metrics_free(struct metrics *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->m_nshards; i++)
		free(m->m_shards[i]);
	free(m->m_shards);
	m->magic = 0;
	free(m);
}

struct metrics_shard *
metrics_shard(struct metrics *m, size_t i)
{
	if (m == NULL)
		return (NULL);
	ASSERT(i < m->m_nshards);
	return (m->m_shards[i]);
}

long
metrics_route_index(const char *key)
{
	static const char	 prefix[] = "routes[";
	const char		*p;
	long			 n = 0;

	if (key == NULL || strncmp(key, prefix, sizeof(prefix) - 1) != 0)
		return (-1);
	p = key + sizeof(prefix) - 1;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != ']'))
		return (-1);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > 100000000)
			return (-1);
		n = n * 10 + (*p - '0');
	}
	return (p[0] == ']' && p[1] == '\0' ? n : -1);
}

/* One writer per counter: a load and a store, no locked instruction. */
static void
metrics_inc(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

static size_t
metrics_code_slot(const struct metrics_shard *ms, int status)
{
	if (status < METRICS_STATUS_MIN || status >= METRICS_STATUS_END)
		return (METRICS_NCODES - 1);
	return (ms->ms_slot[status - METRICS_STATUS_MIN]);
}

void
metrics_request(struct metrics_shard *ms, const struct accesslog_entry *e)
{
	struct metrics_route	*mr;
	long			 r;
	size_t			 b;

	if (ms == NULL)
		return;
	ASSERT(ms->magic == METRICS_MAGIC);
	if (e->ae_route == NULL)
		r = METRICS_ROUTE_NONE;
	else if ((r = metrics_route_index(e->ae_route)) == -1 ||
	    r >= METRICS_ROUTES_MAX)
		r = METRICS_ROUTE_OTHER;
	mr = &ms->ms_routes[r];
	metrics_inc(&mr->mr_codes[metrics_code_slot(ms, e->ae_status)], 1);
	for (b = 0; b + 1 < METRICS_NLAT; b++)
		if (e->ae_total_us <= metrics_lat_bounds_us[b])
			break;
	metrics_inc(&mr->mr_lat[b], 1);
	metrics_inc(&mr->mr_lat_sum_us, e->ae_total_us);
	metrics_inc(&mr->mr_bytes_in, e->ae_bytes_in);
	metrics_inc(&mr->mr_bytes_out, e->ae_bytes_out);
	if (e->ae_retries > 0)
		metrics_inc(&mr->mr_retries, e->ae_retries);
}

/* ------------------------------------------------------------------ */

static void
metrics_sum(const struct metrics *m, struct metrics_sum *su)
{
	const struct metrics_route	*mr;
	size_t				 i, r, c;
	uint64_t			 v;

	memset(su, 0, sizeof(*su));
	for (i = 0; i < m->m_nshards; i++) {
		for (r = 0; r < METRICS_NROUTES; r++) {
			mr = &m->m_shards[i]->ms_routes[r];
			for (c = 0; c < METRICS_NCODES; c++)
				su->su_codes[r][c] += atomic_load_explicit(
				    &mr->mr_codes[c], memory_order_relaxed);
			for (c = 0; c < METRICS_NLAT; c++) {
				v = atomic_load_explicit(&mr->mr_lat[c],
				    memory_order_relaxed);
				su->su_lat[r][c] += v;
				su->su_total[r] += v;
			}
			su->su_lat_sum_us[r] += atomic_load_explicit(
			    &mr->mr_lat_sum_us, memory_order_relaxed);
			su->su_bytes_in[r] += atomic_load_explicit(
			    &mr->mr_bytes_in, memory_order_relaxed);
			su->su_bytes_out[r] += atomic_load_explicit(
			    &mr->mr_bytes_out, memory_order_relaxed);
			su->su_retries[r] += atomic_load_explicit(
			    &mr->mr_retries, memory_order_relaxed);
		}
	}
}

static int
metrics_route_label(char *buf, size_t len, size_t r)
{
	if (r == METRICS_ROUTE_OTHER)
		return (snprintf(buf, len, "route=\"other\""));
	if (r == METRICS_ROUTE_NONE)
		return (snprintf(buf, len, "route=\"none\""));
	return (snprintf(buf, len, "route=\"routes[%zu]\"", r));
}

static int
metrics_code_label(char *buf, size_t len, size_t c)
{
	if (c < METRICS_NNAMED)
		return (snprintf(buf, len, "code=\"%d\"", metrics_codes[c]));
	if (c < METRICS_NNAMED + METRICS_NCLASSES)
		return (snprintf(buf, len, "code=\"%zuxx\"",
		    c - METRICS_NNAMED + 1));
	return (snprintf(buf, len, "code=\"other\""));
}

static int
metrics_head(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	return (evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
	    name, help, name, type) == -1 ? -1 : 0);
}

/*
 * A histogram's series: cumulative buckets, _sum in seconds, _count the
 * total of the buckets printed (so that a scrape is self-consistent).
 * <labels> ("route=\"routes[0]\"") goes before le.
 */
static int
metrics_hist(struct evbuffer *out, const char *name, const char *labels,
    const uint64_t *bounds_us, const uint64_t *count, size_t n,
    uint64_t sum_us)
{
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i < n; i++) {
		cum += count[i];
		if (i + 1 < n) {
			if (evbuffer_add_printf(out, "%s_bucket{%s,le=\"%g\"} "
			    "%llu\n", name, labels, (double)bounds_us[i] / 1e6,
			    (unsigned long long)cum) == -1)
				return (-1);
		} else if (evbuffer_add_printf(out, "%s_bucket{%s,le=\"+Inf\"} "
		    "%llu\n", name, labels, (unsigned long long)cum) == -1)
			return (-1);
	}
	if (evbuffer_add_printf(out, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n",
	    name, labels, (double)sum_us / 1e6, name, labels,
	    (unsigned long long)cum) == -1)
		return (-1);
	return (0);
}

int
metrics_write_requests(const struct metrics *m, struct evbuffer *out)
{
	struct metrics_sum	*su;
	char			 rl[48], cl[24];
	size_t			 r, c;
	int			 rc = -1;

	if ((su = malloc(sizeof(*su))) == NULL)
		return (-1);
	metrics_sum(m, su);
	if (metrics_head(out, "corral_http_requests_total", "counter",
	    "Requests answered, by route and status code.") == -1)
		goto fail;
	for (r = 0; r < METRICS_NROUTES; r++) {
		metrics_route_label(rl, sizeof(rl), r);
		for (c = 0; c < METRICS_NCODES; c++) {
			if (su->su_codes[r][c] == 0)
				continue;
			metrics_code_label(cl, sizeof(cl), c);
			if (evbuffer_add_printf(out, "corral_http_requests_"
			    "total{%s,%s} %llu\n", rl, cl, (unsigned long long)
			    su->su_codes[r][c]) == -1)
				goto fail;
		}
	}
	if (metrics_head(out, "corral_http_request_duration_seconds",
	    "histogram", "Time from the first byte of a request to the end "
	    "of its response, by route.") == -1)
		goto fail;
	for (r = 0; r < METRICS_NROUTES; r++) {
		if (su->su_total[r] == 0)
			continue;
		metrics_route_label(rl, sizeof(rl), r);
		if (metrics_hist(out, "corral_http_request_duration_seconds",
		    rl, metrics_lat_bounds_us, su->su_lat[r], METRICS_NLAT,
		    su->su_lat_sum_us[r]) == -1)
			goto fail;
	}
	if (metrics_head(out, "corral_http_received_bytes_total", "counter",
	    "Bytes received from clients, by route (the access "
	    "log's bytes_in).") == -1)
		goto fail;
	for (r = 0; r < METRICS_NROUTES; r++) {
		if (su->su_total[r] == 0)
			continue;
		metrics_route_label(rl, sizeof(rl), r);
		if (evbuffer_add_printf(out, "corral_http_received_bytes_total"
		    "{%s} %llu\n", rl,
		    (unsigned long long)su->su_bytes_in[r]) == -1)
			goto fail;
	}
	if (metrics_head(out, "corral_http_sent_bytes_total", "counter",
	    "Bytes sent to clients, by route (the access log's "
	    "bytes_out).") == -1)
		goto fail;
	for (r = 0; r < METRICS_NROUTES; r++) {
		if (su->su_total[r] == 0)
			continue;
		metrics_route_label(rl, sizeof(rl), r);
		if (evbuffer_add_printf(out, "corral_http_sent_bytes_total{%s} "
		    "%llu\n", rl, (unsigned long long)su->su_bytes_out[r]) ==
		    -1)
			goto fail;
	}
	if (metrics_head(out, "corral_http_retries_total", "counter",
	    "Requests sent again to another backend, by route.") == -1)
		goto fail;
	for (r = 0; r < METRICS_NROUTES; r++) {
		if (su->su_total[r] == 0)
			continue;
		metrics_route_label(rl, sizeof(rl), r);
		if (evbuffer_add_printf(out, "corral_http_retries_total{%s} "
		    "%llu\n", rl, (unsigned long long)su->su_retries[r]) == -1)
			goto fail;
	}
	rc = 0;
fail:
	free(su);
	return (rc);
}

/* ------------------------------------------------------------------ */

/* Exits and replacements by reason. */
static int
metrics_write_pool_reasons(struct pool_info *const *pi, size_t n,
    struct evbuffer *out)
{
	size_t	 i, j;

	if (metrics_head(out, "corral_pool_vm_exits_total", "counter",
	    "VMs that stopped, by reason.") == -1)
		return (-1);
	for (i = 0; i < n; i++)
		for (j = MEMBER_WHY_NONE + 1; j < MEMBER_NWHY; j++)
			if (evbuffer_add_printf(out, "corral_pool_vm_exits_total"
			    "{pool=\"%s\",reason=\"%s\"} %llu\n",
			    pi[i]->pi_name, member_why_name(j),
			    (unsigned long long)pi[i]->pi_exits[j]) == -1)
				return (-1);
	if (metrics_head(out, "corral_pool_replacements_total", "counter",
	    "VMs replaced, by the reason they went.") == -1)
		return (-1);
	for (i = 0; i < n; i++)
		for (j = MEMBER_WHY_NONE + 1; j < MEMBER_NWHY; j++) {
			if (j == MEMBER_WHY_SCALE_DOWN ||
			    j == MEMBER_WHY_SHUTDOWN)
				continue;	/* never replaced */
			if (evbuffer_add_printf(out, "corral_pool_replacements_"
			    "total{pool=\"%s\",reason=\"%s\"} %llu\n",
			    pi[i]->pi_name, member_why_name(j),
			    (unsigned long long)pi[i]->pi_replaced[j]) == -1)
				return (-1);
		}
	return (0);
}

/* The pools' histograms: boot times, then queue waits. */
static int
metrics_write_pool_hists(struct pool *const *pools,
    struct pool_info *const *pi, size_t n, struct evbuffer *out)
{
	struct pool_hist	 h;
	char			 lb[96];
	size_t			 i;

	if (metrics_head(out, "corral_pool_boot_duration_seconds",
	    "histogram", "Time from starting a VM to its first passed "
	    "health check.") == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		snprintf(lb, sizeof(lb), "pool=\"%s\"", pi[i]->pi_name);
		if (metrics_hist(out, "corral_pool_boot_duration_seconds", lb,
		    pi[i]->pi_boot_time.ph_bounds_us,
		    pi[i]->pi_boot_time.ph_count, pi[i]->pi_boot_time.ph_n,
		    pi[i]->pi_boot_time.ph_sum_us) == -1)
			return (-1);
	}
	if (metrics_head(out, "corral_pool_queue_wait_seconds", "histogram",
	    "Time requests waited for a VM with room, served or not.") == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		pool_queue_waits(pools[i], &h);
		snprintf(lb, sizeof(lb), "pool=\"%s\"", pi[i]->pi_name);
		if (metrics_hist(out, "corral_pool_queue_wait_seconds", lb,
		    h.ph_bounds_us, h.ph_count, h.ph_n, h.ph_sum_us) == -1)
			return (-1);
	}
	return (0);
}

int
metrics_write_pools(struct pool *const *pools, size_t n,
    struct evbuffer *out)
{
	struct pool_info	**pi;
	const char		*name;
	uint64_t		 requests, inflight_sum;
	uint32_t		 inflight;
	size_t			 i, j;
	int			 rc = -1;

	if (n == 0)
		return (0);
	if ((pi = calloc(n, sizeof(*pi))) == NULL)
		return (-1);
	/* Pool names are plain (conf/): no label escaping is needed. */
	for (i = 0; i < n; i++)
		pi[i] = pool_info_get(pools[i]);
	if (metrics_head(out, "corral_pool_vms", "gauge",
	    "VMs by pool and state.") == -1)
		goto fail;
	for (i = 0; i < n; i++)
		for (j = 0; j < MEMBER_NSTATES; j++)
			if (j != MEMBER_STOPPED && evbuffer_add_printf(out,
			    "corral_pool_vms{pool=\"%s\",state=\"%s\"} %zu\n",
			    pi[i]->pi_name, member_state_name(j),
			    pi[i]->pi_nstate[j]) == -1)
				goto fail;
	if (metrics_head(out, "corral_pool_target_vms", "gauge",
	    "VMs the load asks for now.") == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (evbuffer_add_printf(out, "corral_pool_target_vms{pool="
		    "\"%s\"} %u\n", pi[i]->pi_name, pi[i]->pi_target) == -1)
			goto fail;
	if (metrics_head(out, "corral_pool_degraded", "gauge",
	    "1 while a crash loop holds boots back.") == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (evbuffer_add_printf(out, "corral_pool_degraded{pool="
		    "\"%s\"} %d\n", pi[i]->pi_name, pi[i]->pi_degraded) == -1)
			goto fail;
	if (metrics_head(out, "corral_pool_boots_total", "counter",
	    "VMs started.") == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (evbuffer_add_printf(out, "corral_pool_boots_total{pool="
		    "\"%s\"} %llu\n", pi[i]->pi_name,
		    (unsigned long long)pi[i]->pi_boots) == -1)
			goto fail;
	if (metrics_write_pool_reasons(pi, n, out) == -1 ||
	    metrics_write_pool_hists(pools, pi, n, out) == -1)
		goto fail;
	if (metrics_head(out, "corral_pool_queue_length", "gauge",
	    "Requests waiting for a VM now.") == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (evbuffer_add_printf(out, "corral_pool_queue_length{pool="
		    "\"%s\"} %zu\n", pi[i]->pi_name,
		    pool_queue_length(pools[i])) == -1)
			goto fail;
	if (metrics_head(out, "corral_pool_inflight", "gauge",
	    "Requests in flight to the pool's VMs now.") == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		inflight_sum = 0;
		for (j = 0; j < pi[i]->pi_nslots; j++) {
			pool_slot_counts(pools[i], j, &inflight, &requests);
			inflight_sum += inflight;
		}
		name = pi[i]->pi_name;
		if (evbuffer_add_printf(out, "corral_pool_inflight{pool=\"%s\"} "
		    "%llu\n", name, (unsigned long long)inflight_sum) == -1)
			goto fail;
	}
	rc = 0;
fail:
	for (i = 0; i < n; i++)
		pool_info_put(pi[i]);
	free(pi);
	return (rc);
}
