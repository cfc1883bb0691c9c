/*
 * guest/http_route.h: what corral-guest answers to a parsed request.
 * Routing is a pure function from a request head to a plan (status,
 * headers, a small fixed body, and what streams after it); guest/http.c
 * carries the plan out on the connection.
 */
#ifndef GUEST_HTTP_ROUTE_H
#define GUEST_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"
#include "guest/http_resp.h"

struct http_req;

/* The server's settings, from struct app_config. */
struct http_site {
	char		 hs_id[APP_ID_MAX];	/* header-safe, never empty */
	bool		 hs_faults;		/* fault routes enabled */
};

enum http_fault {
	HTTP_FAULT_NONE = 0,
	HTTP_FAULT_CRASH,			/* platform_crash() */
	HTTP_FAULT_HANG,			/* platform_hang() */
	HTTP_FAULT_EXIT,			/* platform_poweroff(hp_exit) */
};

#define HTTP_FIXED_MAX		192	/* largest fixed body */

struct http_plan {
	struct http_resp hp_resp;		/* strings point into the plan
						   or at constants */
	uint8_t		 hp_body[HTTP_FIXED_MAX];
	size_t		 hp_body_len;		/* sent after the head */
	bool		 hp_head_only;		/* HEAD: no body at all */
	bool		 hp_echo;		/* then the request body */
	uint64_t	 hp_bytes;		/* then this much pattern */
	bool		 hp_delay;		/* hold the response ... */
	uint32_t	 hp_delay_ms;		/* ... this long */
	enum http_fault	 hp_fault;
	uint8_t		 hp_exit;
	char		 hp_etag[HTTP_ETAG_MAX];
};

/*
 * Fills <site> from <cfg>: the id is cut to APP_ID_MAX - 1 bytes, bytes
 * that cannot appear in a header value become '_', and an empty id is
 * "guest".
 */
void	 http_route_site(struct http_site *site, const struct app_config *cfg);

/*
 * The plan for <req>, a head http_parse_head() accepted: a route's
 * answer, 404, 405 with Allow, or 400 for a bad argument.  Keep-alive
 * follows the request's version and Connection field.
 */
void	 http_route(const struct http_site *site, const struct http_req *req,
    struct http_plan *plan);

/*
 * The plan for a request that cannot be served: <status> with <why> (may
 * be NULL) in a text body, and Connection: close.
 */
void	 http_route_error(const struct http_site *site, int status,
    const char *why, struct http_plan *plan);

#endif /* GUEST_HTTP_ROUTE_H */
