/*
 * proxy/route.h: which route a request takes: the first of the
 * configuration's routes whose host pattern and path prefix match and
 * which is open to the listener the request came in on.
 *
 * A route_table is built from one struct conf (which must outlive it)
 * and is read-only afterwards: every worker may use it at once.
 */
#ifndef PROXY_ROUTE_H
#define PROXY_ROUTE_H

#include <stddef.h>

struct conf;

/* Longest host name route_find() compares (RFC 1035 §2.3.4, with room). */
#define ROUTE_HOST_MAX	255

struct route_table;

/* The routes of <conf>; NULL if out of memory. */
struct route_table	*route_table_new(const struct conf *conf);
void			 route_table_free(struct route_table *rt);

/*
 * The index in conf->c_routes of the first route that matches, or -1.
 * <listener> is an index in conf->c_listeners.  <host>/<hostlen> is the
 * Host field (or the authority of an absolute-form target) as received:
 * the port is ignored, and so are case and one trailing dot.
 * <path>/<pathlen> is the request-target's path (the query may follow:
 * prefixes are compared byte by byte from the start).
 */
long	 route_find(const struct route_table *rt, size_t listener,
	    const char *host, size_t hostlen, const char *path,
	    size_t pathlen);

/*
 * The host part of <host>/<len> lower-cased into <buf> (NUL-terminated),
 * without port, brackets kept for IPv6 literals, one trailing dot
 * dropped.  Returns its length, or -1 if it does not fit in <bufsize>.
 */
long	 route_host_normalise(const char *host, size_t len, char *buf,
	    size_t bufsize);

#endif /* PROXY_ROUTE_H */
