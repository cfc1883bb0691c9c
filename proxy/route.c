/*
 * proxy/route.c: the route table.
 *
 * Each entry is a route of the configuration reduced to what matching
 * needs: the host pattern (exact, "*.example.com" suffix, or any), the
 * path prefix and, when the route names listeners, one flag per
 * listener.  Matching walks the entries in order (first match wins, as
 * the configuration says); route counts are small, and a linear scan of
 * a few prefixes costs less than building anything cleverer.  The table
 * is immutable once built, so any worker reads it without locking.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "proxy/route.h"

struct route_entry {
	enum conf_host_match	 re_kind;
	const char		*re_host;	/* lowercase; ".ex.com" */
	size_t			 re_hostlen;
	const char		*re_prefix;
	size_t			 re_prefixlen;
	bool			*re_listeners;	/* NULL: every listener */
};

/* Owned by whoever built it; borrows the strings of its conf. */
struct route_table {
	struct route_entry	*rt_entries;
	size_t			 rt_n;
	size_t			 rt_nlisteners;
};

static bool	route_entry_match(const struct route_entry *re,
		    const char *host, size_t hostlen, const char *path,
		    size_t pathlen);

struct route_table *
route_table_new(const struct conf *conf)
{
	struct route_table	*rt;
	struct route_entry	*re;
	const struct conf_route	*ro;
	size_t			 i, j, li;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return (NULL);
	rt->rt_nlisteners = conf->c_nlisteners;
	if (conf->c_nroutes > 0 && (rt->rt_entries = calloc(conf->c_nroutes,
	    sizeof(*rt->rt_entries))) == NULL)
		goto fail;
	for (i = 0; i < conf->c_nroutes; i++) {
		ro = &conf->c_routes[i];
		re = &rt->rt_entries[i];
		rt->rt_n = i + 1;
		re->re_kind = ro->ro_match.ma_kind;
		re->re_host = ro->ro_match.ma_host != NULL ?
		    ro->ro_match.ma_host : "";
		re->re_hostlen = strlen(re->re_host);
		re->re_prefix = ro->ro_match.ma_path_prefix != NULL ?
		    ro->ro_match.ma_path_prefix : "/";
		re->re_prefixlen = strlen(re->re_prefix);
		if (ro->ro_nlisteners == 0)
			continue;
		if ((re->re_listeners = calloc(conf->c_nlisteners,
		    sizeof(bool))) == NULL)
			goto fail;
		for (j = 0; j < ro->ro_nlisteners; j++) {
			li = (size_t)(ro->ro_listeners[j] - conf->c_listeners);
			if (li < conf->c_nlisteners)
				re->re_listeners[li] = true;
		}
	}
	return (rt);
fail:
	route_table_free(rt);
	return (NULL);
}

void
route_table_free(struct route_table *rt)
{
	size_t	 i;

	if (rt == NULL)
		return;
	for (i = 0; i < rt->rt_n; i++)
		free(rt->rt_entries[i].re_listeners);
	free(rt->rt_entries);
	free(rt);
}

long
route_host_normalise(const char *host, size_t len, char *buf, size_t bufsize)
{
	const char	*end;
	size_t		 i, n;

	if (len > 0 && host[0] == '[') {
		/* An IPv6 literal: up to and including the bracket. */
		if ((end = memchr(host, ']', len)) == NULL)
			return (-1);
		n = (size_t)(end - host) + 1;
	} else {
		end = memchr(host, ':', len);
		n = end != NULL ? (size_t)(end - host) : len;
		if (n > 0 && host[n - 1] == '.')
			n--;
	}
	if (n >= bufsize)
		return (-1);
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)host[i]);
	buf[n] = '\0';
	return ((long)n);
}

long
route_find(const struct route_table *rt, size_t listener, const char *host,
    size_t hostlen, const char *path, size_t pathlen)
{
	const struct route_entry	*re;
	char				 h[ROUTE_HOST_MAX + 1];
	long				 n;
	size_t				 i;

	/* A host too long to be a name matches only "*" routes. */
	if ((n = route_host_normalise(host != NULL ? host : "",
	    host != NULL ? hostlen : 0, h, sizeof(h))) == -1) {
		h[0] = '\0';
		n = -1;
	}
	for (i = 0; i < rt->rt_n; i++) {
		re = &rt->rt_entries[i];
		if (re->re_listeners != NULL &&
		    (listener >= rt->rt_nlisteners ||
		    !re->re_listeners[listener]))
			continue;
		if (n == -1 && re->re_kind != CONF_HOST_ANY)
			continue;
		if (route_entry_match(re, h, n == -1 ? 0 : (size_t)n, path,
		    pathlen))
			return ((long)i);
	}
	return (-1);
}

static bool
route_entry_match(const struct route_entry *re, const char *host,
    size_t hostlen, const char *path, size_t pathlen)
{
	if (pathlen < re->re_prefixlen ||
	    memcmp(path, re->re_prefix, re->re_prefixlen) != 0)
		return (false);
	switch (re->re_kind) {
	case CONF_HOST_ANY:
		return (true);
	case CONF_HOST_EXACT:
		return (hostlen == re->re_hostlen &&
		    memcmp(host, re->re_host, hostlen) == 0);
	case CONF_HOST_SUFFIX:
		/* "*.example.com" wants a label before the suffix. */
		return (hostlen > re->re_hostlen &&
		    memcmp(host + hostlen - re->re_hostlen, re->re_host,
		    re->re_hostlen) == 0);
	}
	return (false);
}
