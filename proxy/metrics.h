/*
 * proxy/metrics.h: request counters kept per worker and summed when
 * scraped, and the Prometheus text exposition of them and of the
 * microvm pools (GET /metrics on the admin listener).
 *
 * Each worker writes only its own shard (struct metrics_shard), on its
 * own cache lines, with relaxed atomic loads and stores and no
 * read-modify-write: one writer per shard, so an increment costs what a
 * plain one does.  The scraper reads every shard with relaxed atomic
 * loads: a scrape may miss the requests ending while it runs, never
 * sees a torn counter, and each histogram's _count is the sum of the
 * buckets it printed.
 */
#ifndef PROXY_METRICS_H
#define PROXY_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct accesslog_entry;
struct evbuffer;
struct metrics;		/* opaque: the shards; owned by main */
struct metrics_shard;	/* opaque: one worker's counters */
struct pool;

/*
 * Routes are labelled by their key ("routes[3]") up to this many; later
 * ones share route="other", and requests that matched none route="none".
 * Status codes are labelled exactly if http.h names them (or 499: no
 * response was sent), else by class ("5xx"): the label set is bounded.
 */
#define METRICS_ROUTES_MAX	64

/* <nshards> shards (one per worker).  NULL: out of memory. */
struct metrics		*metrics_new(size_t nshards);
/* NULL is a no-op.  No worker may be writing any more. */
void			 metrics_free(struct metrics *m);
/* Shard <i> < nshards, for worker <i>; NULL if <m> is NULL. */
struct metrics_shard	*metrics_shard(struct metrics *m, size_t i);

/*
 * The data path's one call: counts the request <e> describes (the entry
 * the session hands the access log; borrowed) into <ms>: by route and
 * status, its latency (ae_total_us), bytes and retries.  Only the thread
 * that owns <ms> may call it.  <ms> NULL is a no-op.
 */
void	 metrics_request(struct metrics_shard *ms,
	    const struct accesslog_entry *e);

/*
 * Appends the request metrics of <m> (every shard summed) to <out> in
 * the Prometheus text format 0.0.4.  Any thread.  0, or -1 (ENOMEM).
 */
int	 metrics_write_requests(const struct metrics *m, struct evbuffer *out);

/*
 * Appends the metrics of the live microvm pools <pools> (<n> of them;
 * VMs by state, boots, boot times, exits and replacements by reason,
 * queue length and waits, requests in flight) to <out>.  Any thread: it
 * reads each pool's published snapshot and atomics.  0, or -1.
 */
int	 metrics_write_pools(struct pool *const *pools, size_t n,
	    struct evbuffer *out);

/* The index "routes[<i>]" names, or -1 for anything else. */
long	 metrics_route_index(const char *key);

#endif /* PROXY_METRICS_H */
