/*
 * guest/http_route.c: corral-guest's routes.  A table maps each path (or
 * path prefix with one decimal argument) to the methods it allows, the
 * argument's range and a function that fills a struct http_plan.  The
 * plan is all that guest/http.c needs to serve the request, so routing
 * has no connection state, allocates nothing and calls nothing of the
 * platform: faults are returned in the plan, not triggered here.
 *
 * Routes: GET /health, GET / (names the VM), /echo, GET /bytes/N,
 * GET /delay/MS, GET /status/CODE, GET /cache/SECONDS, and with
 * hs_faults GET /crash, /hang and /exit/CODE.  HEAD is allowed wherever
 * GET is, except on the fault routes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/klib.h"
#include "guest/http_parse.h"
#include "guest/http_route.h"

#define HTTP_ROUTE_BYTES_MAX	(1ULL << 30)
#define HTTP_ROUTE_DELAY_MAX	60000
#define HTTP_ROUTE_CACHE_MAX	31536000	/* a year, RFC 9111 §5.2.2.1 */

#define HTTP_ROUTE_TEXT		"text/plain; charset=utf-8"
#define HTTP_ROUTE_BINARY	"application/octet-stream"

#define HTTP_ROUTE_M(m)		(1u << (m))
#define HTTP_ROUTE_GET		\
    (HTTP_ROUTE_M(HTTP_M_GET) | HTTP_ROUTE_M(HTTP_M_HEAD))

struct http_route_def {
	const char	*rd_path;	/* exact, or a prefix if rd_arg */
	bool		 rd_arg;	/* a decimal argument follows */
	uint64_t	 rd_min;	/* the argument's range */
	uint64_t	 rd_max;
	unsigned	 rd_methods;	/* HTTP_ROUTE_M(HTTP_M_*) */
	const char	*rd_allow;
	bool		 rd_fault;	/* only with hs_faults */
	void		(*rd_fn)(const struct http_site *,
			    const struct http_req *, uint64_t,
			    struct http_plan *);
};

static void	 http_route_init(const struct http_req *, struct http_plan *);
static void	 http_route_text(struct http_plan *, const char *, uint64_t,
    const char *);
static void	 http_route_root(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_health(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_echo(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_bytes(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_delay(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_status(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_cache(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_crash(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_hang(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);
static void	 http_route_exit(const struct http_site *,
    const struct http_req *, uint64_t, struct http_plan *);

static const struct http_route_def http_routes[] = {
	{ "/", false, 0, 0, HTTP_ROUTE_GET, "GET, HEAD", false,
	    http_route_root },
	{ "/health", false, 0, 0, HTTP_ROUTE_GET, "GET, HEAD", false,
	    http_route_health },
	{ "/echo", false, 0, 0,
	    HTTP_ROUTE_GET | HTTP_ROUTE_M(HTTP_M_POST) |
	    HTTP_ROUTE_M(HTTP_M_PUT),
	    "GET, HEAD, POST, PUT", false, http_route_echo },
	{ "/bytes/", true, 0, HTTP_ROUTE_BYTES_MAX, HTTP_ROUTE_GET,
	    "GET, HEAD", false, http_route_bytes },
	{ "/delay/", true, 0, HTTP_ROUTE_DELAY_MAX, HTTP_ROUTE_GET,
	    "GET, HEAD", false, http_route_delay },
	{ "/status/", true, 200, 599, HTTP_ROUTE_GET, "GET, HEAD", false,
	    http_route_status },
	{ "/cache/", true, 0, HTTP_ROUTE_CACHE_MAX, HTTP_ROUTE_GET,
	    "GET, HEAD", false, http_route_cache },
	{ "/crash", false, 0, 0, HTTP_ROUTE_M(HTTP_M_GET), "GET", true,
	    http_route_crash },
	{ "/hang", false, 0, 0, HTTP_ROUTE_M(HTTP_M_GET), "GET", true,
	    http_route_hang },
	{ "/exit/", true, 0, 255, HTTP_ROUTE_M(HTTP_M_GET), "GET", true,
	    http_route_exit },
};

void
http_route_site(struct http_site *site, const struct app_config *cfg)
{
	size_t	 i;
	uint8_t	 c;

	memset(site, 0, sizeof(*site));
	/* The config is the platform's, but it came from a command line. */
	for (i = 0; i < APP_ID_MAX - 1 && cfg->ac_id[i] != '\0'; i++) {
		c = (uint8_t)cfg->ac_id[i];
		site->hs_id[i] = (c > 0x20 && c < 0x7f) ? (char)c : '_';
	}
	if (i == 0)
		memcpy(site->hs_id, "guest", sizeof("guest"));
	site->hs_faults = cfg->ac_faults;
}

/* A 200 text response of the GET kind, keep-alive as the request says. */
static void
http_route_init(const struct http_req *req, struct http_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->hp_resp.rs_status = 200;
	plan->hp_resp.rs_type = HTTP_ROUTE_TEXT;
	plan->hp_resp.rs_len = HTTP_LEN_FIXED;
	/* RFC 9112 §9.3: 1.1 persists unless "close", 1.0 only if asked. */
	plan->hp_resp.rs_close = req->hr_close ||
	    (req->hr_minor == 0 && !req->hr_keepalive);
	plan->hp_resp.rs_keepalive = req->hr_minor == 0 &&
	    !plan->hp_resp.rs_close;
	plan->hp_head_only = req->hr_method == HTTP_M_HEAD;
}

/* The fixed body "<a><number><b>\n"; <b> may be NULL, no number if a is. */
static void
http_route_text(struct http_plan *plan, const char *a, uint64_t num,
    const char *b)
{
	struct http_wbuf	 w;

	http_wbuf_init(&w, plan->hp_body, sizeof(plan->hp_body));
	http_wbuf_str(&w, a);
	http_wbuf_u64(&w, num);
	if (b != NULL)
		http_wbuf_str(&w, b);
	http_wbuf_str(&w, "\n");
	/* Every caller's text is far below HTTP_FIXED_MAX. */
	plan->hp_body_len = w.wb_len;
	plan->hp_resp.rs_clen = w.wb_len;
}

static void
http_route_root(const struct http_site *site, const struct http_req *req,
    uint64_t arg, struct http_plan *plan)
{
	struct http_wbuf	 w;

	(void)req;
	(void)arg;
	http_wbuf_init(&w, plan->hp_body, sizeof(plan->hp_body));
	http_wbuf_str(&w, "corral-guest ");
	http_wbuf_str(&w, site->hs_id);
	http_wbuf_str(&w, "\n");
	plan->hp_body_len = w.wb_len;
	plan->hp_resp.rs_clen = w.wb_len;
}

static void
http_route_health(const struct http_site *site, const struct http_req *req,
    uint64_t arg, struct http_plan *plan)
{
	(void)site;
	(void)req;
	(void)arg;
	memcpy(plan->hp_body, "ok\n", 3);
	plan->hp_body_len = 3;
	plan->hp_resp.rs_clen = 3;
}

/* The body goes back as it came: same length, or chunked if chunked. */
static void
http_route_echo(const struct http_site *site, const struct http_req *req,
    uint64_t arg, struct http_plan *plan)
{
	(void)site;
	(void)arg;
	plan->hp_resp.rs_type = HTTP_ROUTE_BINARY;
	if (req->hr_body == HTTP_BODY_CHUNKED)
		plan->hp_resp.rs_len = HTTP_LEN_CHUNKED;
	else if (req->hr_body == HTTP_BODY_LENGTH)
		plan->hp_resp.rs_clen = req->hr_clen;
	plan->hp_echo = !plan->hp_head_only;
}

static void
http_route_bytes(const struct http_site *site, const struct http_req *req,
    uint64_t n, struct http_plan *plan)
{
	(void)site;
	(void)req;
	plan->hp_resp.rs_type = HTTP_ROUTE_BINARY;
	plan->hp_resp.rs_clen = n;
	plan->hp_bytes = plan->hp_head_only ? 0 : n;
}

static void
http_route_delay(const struct http_site *site, const struct http_req *req,
    uint64_t ms, struct http_plan *plan)
{
	(void)site;
	(void)req;
	http_route_text(plan, "delayed ", ms, " ms");
	plan->hp_delay = true;
	plan->hp_delay_ms = (uint32_t)ms;
}

static void
http_route_status(const struct http_site *site, const struct http_req *req,
    uint64_t code, struct http_plan *plan)
{
	struct http_wbuf	 w;

	(void)site;
	(void)req;
	plan->hp_resp.rs_status = (int)code;
	switch (code) {
	case 204:
	case 304:
		/* RFC 9110 §15.3.5, §15.4.5: no content, no length. */
		plan->hp_resp.rs_type = NULL;
		plan->hp_resp.rs_len = HTTP_LEN_NONE;
		break;
	case 205:
		/* §15.3.6: no content, but an explicit zero length. */
		plan->hp_resp.rs_type = NULL;
		break;
	default:
		http_wbuf_init(&w, plan->hp_body, sizeof(plan->hp_body));
		http_wbuf_u64(&w, code);
		if (*http_resp_reason((int)code) != '\0') {
			http_wbuf_str(&w, " ");
			http_wbuf_str(&w, http_resp_reason((int)code));
		}
		http_wbuf_str(&w, "\n");
		plan->hp_body_len = w.wb_len;
		plan->hp_resp.rs_clen = w.wb_len;
		break;
	}
}

static void
http_route_cache(const struct http_site *site, const struct http_req *req,
    uint64_t secs, struct http_plan *plan)
{
	struct http_field	 f;
	struct http_wbuf	 w;
	size_t			 pos = 0;

	http_resp_etag(plan->hp_etag, site->hs_id, (uint32_t)secs);
	plan->hp_resp.rs_etag = plan->hp_etag;
	plan->hp_resp.rs_cache = true;
	plan->hp_resp.rs_max_age = (uint32_t)secs;
	/* A strong validator promises the same bytes: derive them alike. */
	http_wbuf_init(&w, plan->hp_body, sizeof(plan->hp_body));
	http_wbuf_str(&w, "corral-guest ");
	http_wbuf_str(&w, site->hs_id);
	http_wbuf_str(&w, " cache ");
	http_wbuf_u64(&w, secs);
	http_wbuf_str(&w, "\n");
	plan->hp_body_len = w.wb_len;
	plan->hp_resp.rs_clen = w.wb_len;
	while (http_parse_field_next(req, &pos, &f)) {
		if (!http_parse_field_is(&f, "if-none-match") ||
		    !http_parse_inm_match(f.hf_value, f.hf_value_len,
		    plan->hp_etag))
			continue;
		/* RFC 9110 §15.4.5: 304 keeps ETag and Cache-Control. */
		plan->hp_resp.rs_status = 304;
		plan->hp_resp.rs_type = NULL;
		plan->hp_resp.rs_len = HTTP_LEN_NONE;
		plan->hp_body_len = 0;
		break;
	}
}

static void
http_route_crash(const struct http_site *site, const struct http_req *req,
    uint64_t arg, struct http_plan *plan)
{
	(void)site;
	(void)req;
	(void)arg;
	plan->hp_fault = HTTP_FAULT_CRASH;
}

static void
http_route_hang(const struct http_site *site, const struct http_req *req,
    uint64_t arg, struct http_plan *plan)
{
	(void)site;
	(void)req;
	(void)arg;
	plan->hp_fault = HTTP_FAULT_HANG;
}

static void
http_route_exit(const struct http_site *site, const struct http_req *req,
    uint64_t code, struct http_plan *plan)
{
	(void)site;
	(void)req;
	plan->hp_fault = HTTP_FAULT_EXIT;
	plan->hp_exit = (uint8_t)code;
}

void
http_route(const struct http_site *site, const struct http_req *req,
    struct http_plan *plan)
{
	const struct http_route_def	*rd;
	size_t				 i, n;
	uint64_t			 arg = 0;

	for (i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
		rd = &http_routes[i];
		n = strlen(rd->rd_path);
		if (rd->rd_fault && !site->hs_faults)
			continue;
		if (rd->rd_arg ? req->hr_path_len < n :
		    req->hr_path_len != n)
			continue;
		if (memcmp(req->hr_path, rd->rd_path, n) == 0)
			break;
	}
	http_route_init(req, plan);
	if (i == sizeof(http_routes) / sizeof(http_routes[0])) {
		http_route_text(plan, "", 404, " Not Found");
		plan->hp_resp.rs_status = 404;
		return;
	}
	if ((rd->rd_methods & HTTP_ROUTE_M(req->hr_method)) == 0) {
		http_route_text(plan, "", 405, " Method Not Allowed");
		plan->hp_resp.rs_status = 405;
		plan->hp_resp.rs_allow = rd->rd_allow;
		return;
	}
	if (rd->rd_arg && (http_parse_u64(req->hr_path + n,
	    req->hr_path_len - n, rd->rd_max, &arg) == -1 ||
	    arg < rd->rd_min)) {
		http_route_text(plan, "", 400, " Bad Request: bad argument");
		plan->hp_resp.rs_status = 400;
		return;
	}
	rd->rd_fn(site, req, arg, plan);
}

void
http_route_error(const struct http_site *site, int status, const char *why,
    struct http_plan *plan)
{
	struct http_wbuf	 w;

	(void)site;
	memset(plan, 0, sizeof(*plan));
	plan->hp_resp.rs_status = status;
	plan->hp_resp.rs_type = HTTP_ROUTE_TEXT;
	plan->hp_resp.rs_len = HTTP_LEN_FIXED;
	plan->hp_resp.rs_close = true;
	http_wbuf_init(&w, plan->hp_body, sizeof(plan->hp_body));
	http_wbuf_u64(&w, (uint64_t)status);
	http_wbuf_str(&w, " ");
	http_wbuf_str(&w, http_resp_reason(status));
	if (why != NULL) {
		http_wbuf_str(&w, ": ");
		http_wbuf_str(&w, why);
	}
	http_wbuf_str(&w, "\n");
	plan->hp_body_len = w.wb_len;
	plan->hp_resp.rs_clen = w.wb_len;
}
