/*
 * tests/unit/test_guest_http.c: corral-guest's HTTP server (guest/http*.c,
 * compiled for the host), driven through guest/app.h exactly as the
 * platform drives it.  This file is the platform: struct conn is a test
 * double with a receive window (unconsumed bytes, at most T_WINDOW, as the
 * vsock credit allows), a send buffer of chosen size that the simulated
 * peer drains at a chosen pace, and a transcript of every byte the app
 * sent; mem_alloc counts allocations, clock_ms is a variable the tests
 * move, and the platform_* faults record the call and longjmp back.
 * Responses are checked by parsing the transcript as a client would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guest/app.h"
#include "guest/http_parse.h"
#include "guest/http_resp.h"

#define T_WINDOW	(64 * 1024)	/* the peer's credit: rx buffer */
#define T_BIG		(1 << 20)	/* a send buffer that never fills */
#define T_HDRS		40
#define T_STEPS		50000000	/* bound on platform iterations */

/* ---- the platform side of app.h ---- */

struct conn {
	void		*st;
	uint8_t		 rx[T_WINDOW];	/* received, not consumed */
	size_t		 rx_len;
	bool		 rx_new;	/* app_recv() is due */
	bool		 eof;
	uint8_t		*tx;		/* everything conn_send() took */
	size_t		 tx_len;
	size_t		 tx_cap;
	size_t		 sndbuf;	/* send buffer size */
	size_t		 inflight;	/* taken, not drained by the peer */
	size_t		 drain;		/* drained per step, 0: stalled */
	bool		 closed;	/* conn_close() was called */
	unsigned	 kicks;
	unsigned	 recvs;		/* app_recv() calls */
	size_t		 max_send;	/* largest single conn_send() */
	unsigned	 first_seq;	/* when it first sent, of all */
};

static uint64_t	 t_now = 1000;
static long	 t_allocs;
static bool	 t_nomem;		/* mem_alloc() fails */
static unsigned	 t_seq;			/* first sends, in order */
static jmp_buf	 t_fault_jmp;
static int	 t_fault;		/* 1 crash, 2 hang, 3 poweroff */
static int	 t_exit_status = -1;
static uint64_t	 t_deadline = UINT64_MAX;	/* app_poll()'s answer */

size_t
conn_send(struct conn *c, const void *buf, size_t len)
{
	size_t	 n;

	if (c->closed)
		return 0;
	n = c->sndbuf - c->inflight;
	if (n > len)
		n = len;
	if (c->tx_len + n > c->tx_cap) {
		c->tx_cap = (c->tx_len + n) * 2 + 4096;
		c->tx = realloc(c->tx, c->tx_cap);
		assert_non_null(c->tx);
	}
	if (c->tx_len == 0 && n > 0)
		c->first_seq = ++t_seq;
	memcpy(c->tx + c->tx_len, buf, n);
	c->tx_len += n;
	c->inflight += n;
	if (n > c->max_send)
		c->max_send = n;
	return n;
}

size_t
conn_send_space(const struct conn *c)
{
	return c->closed ? 0 : c->sndbuf - c->inflight;
}

void
conn_rx_kick(struct conn *c)
{
	c->kicks++;
}

void
conn_close(struct conn *c)
{
	assert_false(c->closed);
	c->closed = true;
}

void *
mem_alloc(size_t len)
{
	if (t_nomem)
		return NULL;
	t_allocs++;
	return malloc(len);
}

void
mem_free(void *p)
{
	if (p != NULL)
		t_allocs--;
	free(p);
}

uint64_t
clock_ms(void)
{
	return t_now;
}

void
platform_crash(void)
{
	t_fault = 1;
	longjmp(t_fault_jmp, 1);
}

void
platform_hang(void)
{
	t_fault = 2;
	longjmp(t_fault_jmp, 1);
}

void
platform_poweroff(uint8_t status)
{
	t_fault = 3;
	t_exit_status = status;
	longjmp(t_fault_jmp, 1);
}

/* ---- driving connections ---- */

static void
t_init(const char *id, bool faults)
{
	struct app_config	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.ac_id, sizeof(cfg.ac_id), "%s", id);
	cfg.ac_port = 8080;
	cfg.ac_faults = faults;
	app_init(&cfg);
	t_fault = 0;
	t_exit_status = -1;
}

static struct conn *
t_open(size_t sndbuf)
{
	struct conn	*c;

	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->sndbuf = sndbuf;
	c->drain = SIZE_MAX;
	c->st = app_accept(c);
	assert_non_null(c->st);
	return c;
}

/* The platform's last word: app_free(), then the stream is gone. */
static void
t_free(struct conn *c)
{
	app_free(c->st);
	free(c->tx);
	free(c);
}

/* One pass of the platform's main loop; false when nothing happened. */
static bool
t_step(struct conn *c)
{
	size_t	 n, d;
	bool	 busy = false;

	if (c->rx_new || c->kicks > 0) {
		c->rx_new = false;
		c->kicks = 0;
		c->recvs++;
		n = app_recv(c->st, c->rx, c->rx_len, c->eof);
		assert_true(n <= c->rx_len);
		memmove(c->rx, c->rx + n, c->rx_len - n);
		c->rx_len -= n;
		busy = true;
	}
	if (c->inflight > 0 && c->drain > 0) {
		d = c->inflight < c->drain ? c->inflight : c->drain;
		c->inflight -= d;
		app_writable(c->st);
		busy = true;
	}
	t_deadline = app_poll(t_now);
	/* A deadline may have fired: more to do if it kicked or sent. */
	return busy || c->kicks > 0 || (c->inflight > 0 && c->drain > 0);
}

static void
t_run(struct conn *c)
{
	long	 i;

	for (i = 0; i < T_STEPS && t_step(c); i++)
		;
	assert_true(i < T_STEPS);
}

/* The peer sends <len> bytes, as fast as the window lets it. */
static void
t_feed(struct conn *c, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n;

	while (len > 0) {
		n = T_WINDOW - c->rx_len;
		if (n > len)
			n = len;
		if (n == 0) {
			/* A full window and an app that takes nothing. */
			assert_true(t_step(c));
			continue;
		}
		memcpy(c->rx + c->rx_len, p, n);
		c->rx_len += n;
		c->rx_new = true;
		p += n;
		len -= n;
		t_run(c);
	}
}

static void
t_feeds(struct conn *c, const char *s)
{
	t_feed(c, s, strlen(s));
}

static void
t_eof(struct conn *c)
{
	c->eof = true;
	c->rx_new = true;
	t_run(c);
}

/* ---- reading responses as a client ---- */

struct t_resp {
	int		 status;
	bool		 continued;	/* a 100 Continue came first */
	char		 head[2048];
	size_t		 nhdr;
	char		 name[T_HDRS][64];
	char		 value[T_HDRS][512];
	uint8_t		*body;
	size_t		 body_len;
	bool		 chunked;
};

static void
t_resp_clear(struct t_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static const char *
t_hdr(const struct t_resp *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->name[i], name) == 0)
			return r->value[i];
	return NULL;
}

static size_t
t_find(const uint8_t *b, size_t len, const char *s)
{
	size_t	 i, n = strlen(s);

	for (i = 0; i + n <= len; i++)
		if (memcmp(b + i, s, n) == 0)
			return i;
	return SIZE_MAX;
}

/* Decodes a chunked body strictly; bytes used, 0 if incomplete. */
static size_t
t_unchunk(const uint8_t *b, size_t len, struct t_resp *r)
{
	size_t		 pos = 0, eol;
	unsigned long	 n;
	char		 line[32], *end;

	r->chunked = true;
	for (;;) {
		if ((eol = t_find(b + pos, len - pos, "\r\n")) == SIZE_MAX)
			return 0;
		assert_true(eol > 0 && eol < sizeof(line));
		memcpy(line, b + pos, eol);
		line[eol] = '\0';
		n = strtoul(line, &end, 16);
		assert_true(*end == '\0');
		pos += eol + 2;
		if (n == 0)
			break;
		if (len - pos < n + 2)
			return 0;
		r->body = realloc(r->body, r->body_len + n);
		assert_non_null(r->body);
		memcpy(r->body + r->body_len, b + pos, n);
		r->body_len += n;
		pos += n;
		assert_memory_equal(b + pos, "\r\n", 2);
		pos += 2;
	}
	/* We send no trailers. */
	if (len - pos < 2)
		return 0;
	assert_memory_equal(b + pos, "\r\n", 2);
	return pos + 2;
}

/*
 * Parses the response at <b>/<len> (after any 100 Continue); returns the
 * bytes it took, 0 if it is not all there.  <head_only>: it answers HEAD.
 */
static size_t
t_resp_parse(const uint8_t *b, size_t len, bool head_only,
    struct t_resp *r)
{
	size_t		 hl, pos, used, skip = 0;
	char		*line, *next, *colon;
	const char	*v;
	unsigned long	 cl;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if ((hl = t_find(b + skip, len - skip, "\r\n\r\n")) ==
		    SIZE_MAX)
			return 0;
		hl += 4;
		assert_true(hl < sizeof(r->head));
		memcpy(r->head, b + skip, hl);
		r->head[hl] = '\0';
		assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status),
		    1);
		if (r->status != 100)
			break;
		assert_string_equal(r->head, "HTTP/1.1 100 Continue\r\n\r\n");
		r->continued = true;
		skip += hl;
	}
	line = strstr(r->head, "\r\n") + 2;
	while (*line != '\r') {
		next = strstr(line, "\r\n");
		*next = '\0';
		colon = strchr(line, ':');
		assert_non_null(colon);
		assert_true(r->nhdr < T_HDRS);
		*colon = '\0';
		snprintf(r->name[r->nhdr], sizeof(r->name[0]), "%s", line);
		assert_true(colon[1] == ' ');
		snprintf(r->value[r->nhdr], sizeof(r->value[0]), "%s",
		    colon + 2);
		r->nhdr++;
		*colon = ':';
		*next = '\r';
		line = next + 2;
	}
	pos = skip + hl;
	if (head_only || r->status == 204 || r->status == 304)
		return pos;
	if ((v = t_hdr(r, "Transfer-Encoding")) != NULL) {
		assert_string_equal(v, "chunked");
		assert_null(t_hdr(r, "Content-Length"));
		used = t_unchunk(b + pos, len - pos, r);
		return used == 0 ? 0 : pos + used;
	}
	v = t_hdr(r, "Content-Length");
	assert_non_null(v);
	cl = strtoul(v, NULL, 10);
	if (len - pos < cl)
		return 0;
	r->body = malloc(cl + 1);
	assert_non_null(r->body);
	memcpy(r->body, b + pos, cl);
	r->body[cl] = '\0';
	r->body_len = cl;
	return pos + cl;
}

/*
 * Parses responses from c->tx at *<off>; bit i of <heads> says whether
 * response i answers HEAD.  Returns how many complete ones it found.
 */
static size_t
t_resps(struct conn *c, size_t *off, unsigned heads, struct t_resp *out,
    size_t max)
{
	size_t	 n, used;

	for (n = 0; n < max; n++) {
		used = t_resp_parse(c->tx + *off, c->tx_len - *off,
		    (heads >> n) & 1, &out[n]);
		if (used == 0) {
			t_resp_clear(&out[n]);
			break;
		}
		*off += used;
	}
	return n;
}

/* What every response carries. */
static void
t_check_common(const struct t_resp *r, const char *id)
{
	assert_non_null(t_hdr(r, "Server"));
	assert_string_equal(t_hdr(r, "Server"), "corral-guest");
	assert_non_null(t_hdr(r, "X-Corral-VM"));
	assert_string_equal(t_hdr(r, "X-Corral-VM"), id);
	if (r->status == 204 || r->status == 304) {
		assert_null(t_hdr(r, "Content-Length"));
		assert_null(t_hdr(r, "Transfer-Encoding"));
	} else
		assert_true(t_hdr(r, "Content-Length") != NULL ||
		    t_hdr(r, "Transfer-Encoding") != NULL);
}

/* One request on a fresh connection; the response in <r>. */
static void
t_one(const char *req, size_t reqlen, bool head, struct t_resp *r,
    bool *closed)
{
	struct conn	*c;
	size_t		 off = 0;

	c = t_open(T_BIG);
	t_feed(c, req, reqlen);
	assert_int_equal(t_resps(c, &off, head ? 1 : 0, r, 1), 1);
	/* Nothing after the response. */
	assert_int_equal(off, c->tx_len);
	*closed = c->closed;
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

static bool
t_is_pattern(const uint8_t *p, size_t n, uint64_t off)
{
	static const char	 pat[] = HTTP_PATTERN;
	size_t			 i;

	for (i = 0; i < n; i++)
		if (p[i] != (uint8_t)pat[(off + i) % 64])
			return false;
	return true;
}

static uint32_t t_rand_state = 2463534242u;

static uint32_t
t_rand(void)
{
	t_rand_state ^= t_rand_state << 13;
	t_rand_state ^= t_rand_state >> 17;
	t_rand_state ^= t_rand_state << 5;
	return t_rand_state;
}

#define T_GET(path)	"GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* ---- routes ---- */

static void
test_http_routes_answer_as_specified(void **state)
{
	static const struct {
		const char	*req;
		int		 status;
		const char	*body;		/* NULL: not checked */
		const char	*type;		/* NULL: not checked */
	} cases[] = {
		{ T_GET("/health"), 200, "ok\n", "text/plain; charset=utf-8" },
		{ T_GET("/health?probe=1"), 200, "ok\n", NULL },
		{ "GET http://vm/health HTTP/1.1\r\nHost: vm\r\n\r\n", 200,
		    "ok\n", NULL },
		{ "GET https://vm HTTP/1.1\r\nHost: vm\r\n\r\n", 200,
		    "corral-guest vm-7\n", NULL },
		{ T_GET("/"), 200, "corral-guest vm-7\n", NULL },
		{ T_GET("/echo"), 200, "", "application/octet-stream" },
		{ T_GET("/bytes/0"), 200, "", "application/octet-stream" },
		{ T_GET("/bytes/10"), 200, "0123456789", NULL },
		{ T_GET("/bytes/1073741825"), 400, NULL, NULL },
		{ T_GET("/bytes/"), 400, NULL, NULL },
		{ T_GET("/bytes/-1"), 400, NULL, NULL },
		{ T_GET("/bytes/1x"), 400, NULL, NULL },
		{ T_GET("/bytes/99999999999999999999999"), 400, NULL, NULL },
		{ T_GET("/delay/60001"), 400, NULL, NULL },
		{ T_GET("/delay/x"), 400, NULL, NULL },
		{ T_GET("/status/200"), 200, "200 OK\n", NULL },
		{ T_GET("/status/201"), 201, "201 Created\n", NULL },
		{ T_GET("/status/205"), 205, "", NULL },
		{ T_GET("/status/299"), 299, "299\n", NULL },
		{ T_GET("/status/301"), 301, "301 Moved Permanently\n", NULL },
		{ T_GET("/status/404"), 404, "404 Not Found\n", NULL },
		{ T_GET("/status/418"), 418, "418\n", NULL },
		{ T_GET("/status/429"), 429, "429 Too Many Requests\n", NULL },
		{ T_GET("/status/500"), 500, "500 Internal Server Error\n",
		    NULL },
		{ T_GET("/status/503"), 503, "503 Service Unavailable\n",
		    NULL },
		{ T_GET("/status/599"), 599, "599\n", NULL },
		{ T_GET("/status/199"), 400, NULL, NULL },
		{ T_GET("/status/600"), 400, NULL, NULL },
		{ T_GET("/status/100"), 400, NULL, NULL },
		{ T_GET("/status/abc"), 400, NULL, NULL },
		{ T_GET("/cache/31536001"), 400, NULL, NULL },
		{ T_GET("/nope"), 404, "404 Not Found\n", NULL },
		{ T_GET("/health/"), 404, NULL, NULL },
		{ T_GET("/healthz"), 404, NULL, NULL },
		{ T_GET("/echo/x"), 404, NULL, NULL },
		{ T_GET("/bytes"), 404, NULL, NULL },
		{ T_GET("/crash"), 404, NULL, NULL },
		{ T_GET("/hang"), 404, NULL, NULL },
		{ T_GET("/exit/0"), 404, NULL, NULL },
		{ "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
		    "\r\n", 405, "405 Method Not Allowed\n", NULL },
		{ "get /health HTTP/1.1\r\nHost: t\r\n\r\n", 405, NULL, NULL },
		{ "DELETE /echo HTTP/1.1\r\nHost: t\r\n\r\n", 405, NULL, NULL },
		{ "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 404, NULL, NULL },
	};
	struct t_resp	 r;
	size_t		 i;
	bool		 closed;

	(void)state;
	t_init("vm-7", false);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_one(cases[i].req, strlen(cases[i].req), false, &r, &closed);
		if (r.status != cases[i].status)
			fail_msg("%s: status %d", cases[i].req, r.status);
		t_check_common(&r, "vm-7");
		if (cases[i].body != NULL) {
			assert_int_equal(r.body_len, strlen(cases[i].body));
			assert_memory_equal(r.body, cases[i].body, r.body_len);
		}
		if (cases[i].type != NULL)
			assert_string_equal(t_hdr(&r, "Content-Type"),
			    cases[i].type);
		/* Routing answers never end the connection. */
		assert_false(closed);
		assert_null(t_hdr(&r, "Connection"));
		t_resp_clear(&r);
	}
}

static void
test_http_405_lists_allowed_methods(void **state)
{
	static const struct {
		const char	*req;
		const char	*allow;
	} cases[] = {
		{ "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
		    "\r\nab", "GET, HEAD" },
		{ "PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
		    "GET, HEAD" },
		{ "DELETE /echo HTTP/1.1\r\nHost: t\r\n\r\n",
		    "GET, HEAD, POST, PUT" },
		{ "POST /bytes/5 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
		    "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "GET, HEAD" },
		{ "HEAD /crash HTTP/1.1\r\nHost: t\r\n\r\n", "GET" },
	};
	struct t_resp	 r;
	size_t		 i;
	bool		 closed;

	(void)state;
	t_init("vm-7", true);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_one(cases[i].req, strlen(cases[i].req),
		    cases[i].req[0] == 'H', &r, &closed);
		assert_int_equal(r.status, 405);
		assert_non_null(t_hdr(&r, "Allow"));
		assert_string_equal(t_hdr(&r, "Allow"), cases[i].allow);
		assert_false(closed);
		t_resp_clear(&r);
	}
}

static void
test_http_vm_id_defaults_and_is_sanitized(void **state)
{
	static const struct {
		const char	*id;
		const char	*want;
	} cases[] = {
		{ "", "guest" }, { "pool-a.3", "pool-a.3" },
		{ "a b\tc\r\nd", "a_b_c__d" },
	};
	struct t_resp	 r;
	size_t		 i;
	bool		 closed;
	char		 body[128];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_init(cases[i].id, false);
		t_one(T_GET("/"), strlen(T_GET("/")), false, &r, &closed);
		t_check_common(&r, cases[i].want);
		snprintf(body, sizeof(body), "corral-guest %s\n",
		    cases[i].want);
		assert_string_equal((char *)r.body, body);
		t_resp_clear(&r);
	}
}

static void
test_http_head_has_get_headers_and_no_body(void **state)
{
	static const char *paths[] = {
		"/health", "/", "/bytes/100000", "/status/404", "/status/204",
		"/cache/60", "/echo", "/nope", "/delay/0",
	};
	struct t_resp	 r[2];
	struct conn	*c;
	char		 req[256];
	size_t		 i, j, off;

	(void)state;
	t_init("vm-7", false);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		/* HEAD then GET, pipelined: a HEAD body would show. */
		snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: t\r\n"
		    "\r\nGET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i],
		    paths[i]);
		c = t_open(T_BIG);
		t_feeds(c, req);
		off = 0;
		assert_int_equal(t_resps(c, &off, 1, r, 2), 2);
		assert_int_equal(off, c->tx_len);
		assert_int_equal(r[0].status, r[1].status);
		assert_int_equal(r[0].nhdr, r[1].nhdr);
		for (j = 0; j < r[0].nhdr; j++) {
			assert_string_equal(r[0].name[j], r[1].name[j]);
			assert_string_equal(r[0].value[j], r[1].value[j]);
		}
		assert_int_equal(r[0].body_len, 0);
		t_resp_clear(&r[0]);
		t_resp_clear(&r[1]);
		t_free(c);
	}
	assert_int_equal(t_allocs, 0);
}

static void
test_http_bytes_pattern_across_cycle_and_sends(void **state)
{
	static const uint64_t	 sizes[] = {
		1, 63, 64, 65, 127, 4095, 4096, 4097, 4159, 4160, 4161,
		10000, 65537,
	};
	static const size_t	 sndbufs[] = { 1, 7, 1000, 4096, T_BIG };
	struct t_resp		 r;
	struct conn		*c;
	char			 req[128];
	size_t			 i, j, off;

	(void)state;
	t_init("vm-7", false);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizeof(sndbufs) / sizeof(sndbufs[0]); j++) {
			if (sndbufs[j] == 1 && sizes[i] > 5000)
				continue;
			snprintf(req, sizeof(req), T_GET("/bytes/%llu"),
			    (unsigned long long)sizes[i]);
			c = t_open(sndbufs[j]);
			t_feeds(c, req);
			off = 0;
			assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
			assert_int_equal(r.status, 200);
			assert_int_equal(r.body_len, sizes[i]);
			assert_true(t_is_pattern(r.body, r.body_len, 0));
			assert_false(c->closed);
			t_resp_clear(&r);
			t_free(c);
		}
	}
	assert_true(t_is_pattern(http_resp_pattern(37), HTTP_PATTERN_SPAN,
	    37));
	assert_int_equal(t_allocs, 0);
}

static void
test_http_bytes_64mib_streams_without_buffering(void **state)
{
	struct t_resp	 r;
	struct conn	*c;
	size_t		 off = 0;
	uint64_t	 n = (64ULL << 20) + 3;
	char		 req[128];

	(void)state;
	t_init("vm-7", false);
	snprintf(req, sizeof(req), T_GET("/bytes/%llu"),
	    (unsigned long long)n);
	c = t_open(64 * 1024);
	t_feeds(c, req);
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
	assert_int_equal(r.body_len, n);
	assert_true(t_is_pattern(r.body, r.body_len, 0));
	/* Pattern slices, never the whole body at once. */
	assert_true(c->max_send <= HTTP_PATTERN_SPAN);
	assert_true(t_allocs == 1);
	t_resp_clear(&r);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

/* ---- /cache and If-None-Match ---- */

static void
test_http_cache_sets_max_age_and_stable_etag(void **state)
{
	struct t_resp	 a, b, x;
	bool		 closed;
	char		 etag[HTTP_ETAG_MAX], other[HTTP_ETAG_MAX];

	(void)state;
	t_init("vm-7", false);
	t_one(T_GET("/cache/60"), strlen(T_GET("/cache/60")), false, &a,
	    &closed);
	t_one(T_GET("/cache/60"), strlen(T_GET("/cache/60")), false, &b,
	    &closed);
	t_one(T_GET("/cache/61"), strlen(T_GET("/cache/61")), false, &x,
	    &closed);
	assert_int_equal(a.status, 200);
	assert_string_equal(t_hdr(&a, "Cache-Control"), "max-age=60");
	assert_string_equal(t_hdr(&x, "Cache-Control"), "max-age=61");
	/* Strong, quoted, and the same for the same inputs. */
	assert_true(t_hdr(&a, "ETag")[0] == '"');
	assert_true(strncmp(t_hdr(&a, "ETag"), "W/", 2) != 0);
	assert_string_equal(t_hdr(&a, "ETag"), t_hdr(&b, "ETag"));
	assert_string_not_equal(t_hdr(&a, "ETag"), t_hdr(&x, "ETag"));
	assert_memory_equal(a.body, b.body, a.body_len);
	http_resp_etag(etag, "vm-7", 60);
	assert_string_equal(t_hdr(&a, "ETag"), etag);
	http_resp_etag(other, "vm-8", 60);
	assert_string_not_equal(etag, other);
	t_resp_clear(&a);
	t_resp_clear(&b);
	t_resp_clear(&x);

	t_one(T_GET("/cache/0"), strlen(T_GET("/cache/0")), false, &a,
	    &closed);
	assert_string_equal(t_hdr(&a, "Cache-Control"), "max-age=0");
	t_resp_clear(&a);
	t_one(T_GET("/cache/31536000"), strlen(T_GET("/cache/31536000")),
	    false, &a, &closed);
	assert_string_equal(t_hdr(&a, "Cache-Control"), "max-age=31536000");
	t_resp_clear(&a);
}

/* <tmpl> with each '@' replaced by <with>. */
static void
t_subst(char *out, size_t cap, const char *tmpl, const char *with)
{
	size_t	 n = 0, w = strlen(with);

	for (; *tmpl != '\0'; tmpl++) {
		assert_true(n + w + 1 < cap);
		if (*tmpl == '@') {
			memcpy(out + n, with, w);
			n += w;
		} else
			out[n++] = *tmpl;
	}
	out[n] = '\0';
}

static void
test_http_if_none_match_weak_comparison(void **state)
{
	static const struct {
		const char	*inm;		/* @: our etag */
		int		 status;
	} cases[] = {
		{ "If-None-Match: @\r\n", 304 },
		{ "If-None-Match: W/@\r\n", 304 },
		{ "If-None-Match: *\r\n", 304 },
		{ "If-None-Match: \"x\", @\r\n", 304 },
		{ "If-None-Match: \"x\",W/@ , \"y\"\r\n", 304 },
		{ "If-None-Match: , @,\r\n", 304 },
		{ "If-None-Match: \"x\"\r\nIf-None-Match: @\r\n", 304 },
		{ "If-None-Match: \"x\"\r\n", 200 },
		{ "If-None-Match: W/\"x\", \"y\"\r\n", 200 },
		{ "If-None-Match: \r\n", 200 },
		{ "If-None-Match: @@\r\n", 200 },
		{ "If-None-Match: @ x\r\n", 200 },
		{ "If-None-Match: *, @\r\n", 200 },
		{ "If-Match: @\r\n", 200 },
	};
	struct t_resp	 r;
	char		 etag[HTTP_ETAG_MAX], field[256], req[512];
	size_t		 i;
	bool		 closed;

	(void)state;
	t_init("vm-7", false);
	http_resp_etag(etag, "vm-7", 120);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_subst(field, sizeof(field), cases[i].inm, etag);
		snprintf(req, sizeof(req), "GET /cache/120 HTTP/1.1\r\n"
		    "Host: t\r\n%s\r\n", field);
		t_one(req, strlen(req), false, &r, &closed);
		if (r.status != cases[i].status)
			fail_msg("%s: status %d", field, r.status);
		t_check_common(&r, "vm-7");
		assert_string_equal(t_hdr(&r, "ETag"), etag);
		assert_string_equal(t_hdr(&r, "Cache-Control"), "max-age=120");
		if (r.status == 304)
			assert_int_equal(r.body_len, 0);
		assert_false(closed);
		t_resp_clear(&r);
	}
}

/* ---- connection handling ---- */

static void
test_http_keepalive_follows_version_and_connection(void **state)
{
	static const struct {
		const char	*req;
		bool		 closes;
		const char	*conn;		/* Connection: in the reply */
	} cases[] = {
		{ "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", false, NULL },
		{ "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
		    "\r\n", true, "close" },
		{ "GET /health HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, "
		    "CLOSE\r\n\r\n", true, "close" },
		{ "GET /health HTTP/1.1\r\nHost: t\r\nConnection: "
		    "keep-alive\r\n\r\n", false, NULL },
		{ "GET /health HTTP/1.0\r\n\r\n", true, "close" },
		{ "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		    false, "keep-alive" },
		{ "GET /health HTTP/1.0\r\nConnection: Keep-Alive, close\r\n"
		    "\r\n", true, "close" },
		{ "GET /health HTTP/1.9\r\nHost: t\r\n\r\n", false, NULL },
		{ "GET /nope HTTP/1.0\r\n\r\n", true, "close" },
	};
	struct t_resp	 r;
	size_t		 i;
	bool		 closed;

	(void)state;
	t_init("vm-7", false);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_one(cases[i].req, strlen(cases[i].req), false, &r, &closed);
		assert_int_equal(closed, cases[i].closes);
		if (cases[i].conn == NULL)
			assert_null(t_hdr(&r, "Connection"));
		else
			assert_string_equal(t_hdr(&r, "Connection"),
			    cases[i].conn);
		t_resp_clear(&r);
	}
}

/* A mixed pipeline whose exact output the split tests compare with. */
static const char t_pipeline[] =
    "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n"
    "hello world"
    "\r\n"
    "PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\n1\r\n \r\nA ; q=\"x\"\r\nabcdefghij\r\n"
    "0\r\nX-Trailer: yes\r\n\r\n"
    "HEAD /bytes/70 HTTP/1.1\r\nHost: t\r\n\r\n"
    "GET /bytes/70 HTTP/1.1\r\nHost: t\r\n\r\n"
    "GET /cache/5 HTTP/1.1\r\nHost: t\r\n\r\n"
    "GET /status/204 HTTP/1.1\r\nHost: t\r\n\r\n"
    "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    "GET /never HTTP/1.1\r\nHost: t\r\n\r\n";

static void
t_pipeline_check(struct conn *c)
{
	struct t_resp	 r[8];
	size_t		 off = 0, i;

	assert_int_equal(t_resps(c, &off, 1 << 3, r, 8), 8);
	assert_int_equal(off, c->tx_len);
	assert_true(c->closed);
	assert_string_equal((char *)r[0].body, "ok\n");
	assert_int_equal(r[1].body_len, 11);
	assert_memory_equal(r[1].body, "hello world", 11);
	assert_true(r[2].chunked);
	assert_int_equal(r[2].body_len, 16);
	assert_memory_equal(r[2].body, "hello abcdefghij", 16);
	assert_int_equal(r[3].body_len, 0);
	assert_string_equal(t_hdr(&r[3], "Content-Length"), "70");
	assert_int_equal(r[4].body_len, 70);
	assert_true(t_is_pattern(r[4].body, 70, 0));
	assert_int_equal(r[5].status, 200);
	assert_int_equal(r[6].status, 204);
	assert_string_equal(t_hdr(&r[7], "Connection"), "close");
	for (i = 0; i < 8; i++) {
		t_check_common(&r[i], "vm-7");
		t_resp_clear(&r[i]);
	}
}

static void
test_http_pipeline_in_one_recv(void **state)
{
	struct conn	*c;

	(void)state;
	t_init("vm-7", false);
	c = t_open(T_BIG);
	t_feed(c, t_pipeline, sizeof(t_pipeline) - 1);
	/* One call took everything up to the Connection: close. */
	assert_int_equal(c->recvs, 1);
	t_pipeline_check(c);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

static void
test_http_pipeline_split_at_every_byte(void **state)
{
	struct conn	*ref, *c;
	size_t		 n = sizeof(t_pipeline) - 1, k, cs, ce;

	(void)state;
	t_init("vm-7", false);
	ref = t_open(T_BIG);
	t_feed(ref, t_pipeline, n);
	t_pipeline_check(ref);
	/*
	 * The echo of a chunked body is chunked as the body arrived, so
	 * the bytes differ where a split falls in it: compare the
	 * responses there, the bytes elsewhere.
	 */
	cs = t_find((const uint8_t *)t_pipeline, n, "5;ext");
	ce = t_find((const uint8_t *)t_pipeline, n, "HEAD /bytes");
	for (k = 1; k < n; k++) {
		c = t_open(T_BIG);
		t_feed(c, t_pipeline, k);
		t_feed(c, t_pipeline + k, n - k);
		if (k < cs || k >= ce) {
			assert_int_equal(c->tx_len, ref->tx_len);
			assert_memory_equal(c->tx, ref->tx, ref->tx_len);
		}
		t_pipeline_check(c);
		t_free(c);
	}
	/* And one byte at a time. */
	c = t_open(T_BIG);
	for (k = 0; k < n; k++)
		t_feed(c, t_pipeline + k, 1);
	t_pipeline_check(c);
	t_free(c);
	t_free(ref);
	assert_int_equal(t_allocs, 0);
}

static void
test_http_partial_sends_are_byte_exact(void **state)
{
	static const size_t	 sndbufs[] = { 1, 2, 3, 7, 16, 100, 999 };
	static const size_t	 drains[] = { 1, 5, SIZE_MAX };
	struct conn		*ref, *c;
	size_t			 n = sizeof(t_pipeline) - 1, i, j;

	(void)state;
	t_init("vm-7", false);
	ref = t_open(T_BIG);
	t_feed(ref, t_pipeline, n);
	for (i = 0; i < sizeof(sndbufs) / sizeof(sndbufs[0]); i++) {
		for (j = 0; j < sizeof(drains) / sizeof(drains[0]); j++) {
			c = t_open(sndbufs[i]);
			c->drain = drains[j];
			t_feed(c, t_pipeline, n);
			assert_int_equal(c->tx_len, ref->tx_len);
			assert_memory_equal(c->tx, ref->tx, ref->tx_len);
			assert_true(c->closed);
			t_free(c);
		}
	}
	t_free(ref);
	assert_int_equal(t_allocs, 0);
}

static void
test_http_next_request_waits_for_response(void **state)
{
	struct conn	*c;
	const char	*req = T_GET("/bytes/100000") T_GET("/health");
	struct t_resp	 r[2];
	size_t		 off = 0, first;

	(void)state;
	t_init("vm-7", false);
	c = t_open(1000);
	c->drain = 0;			/* the peer reads nothing */
	t_feeds(c, req);
	/* The second head stays in the receive buffer. */
	first = strlen(T_GET("/bytes/100000"));
	assert_int_equal(c->rx_len, strlen(req) - first);
	assert_int_equal(c->tx_len, 1000);
	c->drain = 333;
	t_run(c);
	assert_int_equal(c->rx_len, 0);
	assert_int_equal(t_resps(c, &off, 0, r, 2), 2);
	assert_int_equal(r[0].body_len, 100000);
	assert_string_equal((char *)r[1].body, "ok\n");
	t_resp_clear(&r[0]);
	t_resp_clear(&r[1]);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

static void
test_http_leading_empty_lines_are_skipped(void **state)
{
	struct t_resp	 r;
	bool		 closed;
	const char	*req = "\r\n\r\n" T_GET("/health");

	(void)state;
	t_init("vm-7", false);
	t_one(req, strlen(req), false, &r, &closed);
	assert_int_equal(r.status, 200);
	assert_false(closed);
	t_resp_clear(&r);
}

static void
test_http_expect_100_continue(void **state)
{
	struct conn	*c;
	struct t_resp	 r;
	size_t		 off = 0;
	const char	*head = "POST /echo HTTP/1.1\r\nHost: t\r\n"
	    "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n";

	(void)state;
	t_init("vm-7", false);
	c = t_open(T_BIG);
	t_feeds(c, head);
	/* Before any body byte, only the interim response. */
	assert_int_equal(c->tx_len, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
	assert_memory_equal(c->tx, "HTTP/1.1 100 Continue\r\n\r\n",
	    c->tx_len);
	t_feeds(c, "ping");
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
	assert_true(r.continued);
	assert_int_equal(r.status, 200);
	assert_string_equal((char *)r.body, "ping");
	t_resp_clear(&r);
	t_free(c);

	/* Not for a request without a body, nor for HTTP/1.0. */
	c = t_open(T_BIG);
	t_feeds(c, "GET /health HTTP/1.1\r\nHost: t\r\nExpect: 100-continue"
	    "\r\n\r\n");
	off = 0;
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
	assert_false(r.continued);
	t_resp_clear(&r);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

/* ---- /echo ---- */

static void
t_echo_big(bool chunked, size_t sndbuf)
{
	struct conn	*c;
	struct t_resp	 r;
	uint8_t		*body;
	size_t		 n = 1 << 20, i, off = 0, k;
	char		 hdr[128];

	body = malloc(n);
	assert_non_null(body);
	for (i = 0; i < n; i++)
		body[i] = (uint8_t)t_rand();
	c = t_open(sndbuf);
	if (!chunked) {
		snprintf(hdr, sizeof(hdr), "POST /echo HTTP/1.1\r\nHost: t\r\n"
		    "Content-Length: %zu\r\n\r\n", n);
		t_feeds(c, hdr);
		t_feed(c, body, n);
	} else {
		t_feeds(c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
		for (i = 0; i < n; i += k) {
			k = 1 + t_rand() % 40000;
			if (k > n - i)
				k = n - i;
			snprintf(hdr, sizeof(hdr), "%zx\r\n", k);
			t_feeds(c, hdr);
			t_feed(c, body + i, k);
			t_feeds(c, "\r\n");
		}
		t_feeds(c, "0\r\n\r\n");
	}
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
	assert_int_equal(r.chunked, chunked);
	assert_int_equal(r.body_len, n);
	assert_memory_equal(r.body, body, n);
	if (!chunked) {
		snprintf(hdr, sizeof(hdr), "%zu", n);
		assert_string_equal(t_hdr(&r, "Content-Length"), hdr);
	}
	assert_false(c->closed);
	/* Still one allocation: the connection's struct. */
	assert_int_equal(t_allocs, 1);
	t_resp_clear(&r);
	t_free(c);
	free(body);
}

static void
test_http_echo_1mib_through_64k_window(void **state)
{
	(void)state;
	t_init("vm-7", false);
	t_echo_big(false, 64 * 1024);
	t_echo_big(true, 64 * 1024);
	t_echo_big(false, 1500);
	t_echo_big(true, 1500);
	assert_int_equal(t_allocs, 0);
}

static void
test_http_chunked_echo_split_anywhere(void **state)
{
	static const char	 body[] =
	    "4\r\nWiki\r\n"
	    "6;name=\"va;lue\"\r\npedia \r\n"
	    "E \t; x\r\nin \r\n\r\nchunks.\r\n"
	    "000\r\nExpires: never\r\nX-A:\r\n\r\n";
	static const char	 want[] = "Wikipedia in \r\n\r\nchunks.";
	const char		*head = "POST /echo HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	struct conn		*c;
	struct t_resp		 r;
	size_t			 n = sizeof(body) - 1, a, b, off;

	(void)state;
	t_init("vm-7", false);
	for (a = 0; a <= n; a++) {
		for (b = a; b <= n; b += 1 + b % 3) {
			c = t_open(a % 2 ? 5 : T_BIG);
			t_feeds(c, head);
			t_feed(c, body, a);
			t_feed(c, body + a, b - a);
			t_feed(c, body + b, n - b);
			t_feeds(c, T_GET("/health"));
			off = 0;
			assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
			assert_int_equal(r.body_len, sizeof(want) - 1);
			assert_memory_equal(r.body, want, r.body_len);
			t_resp_clear(&r);
			assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
			assert_string_equal((char *)r.body, "ok\n");
			t_resp_clear(&r);
			t_free(c);
		}
	}
	assert_int_equal(t_allocs, 0);
}

static void
test_http_get_with_body_echoes_and_others_discard(void **state)
{
	struct conn	*c;
	struct t_resp	 r[3];
	size_t		 off = 0;

	(void)state;
	t_init("vm-7", false);
	c = t_open(T_BIG);
	t_feeds(c, "GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n"
	    "abc"
	    "GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
	    "GET /"
	    "HEAD /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nxy");
	assert_int_equal(t_resps(c, &off, 1 << 2, r, 3), 3);
	assert_int_equal(off, c->tx_len);
	assert_string_equal((char *)r[0].body, "abc");
	assert_string_equal((char *)r[1].body, "ok\n");
	assert_string_equal(t_hdr(&r[2], "Content-Length"), "2");
	assert_int_equal(r[2].body_len, 0);
	t_resp_clear(&r[0]);
	t_resp_clear(&r[1]);
	t_resp_clear(&r[2]);
	assert_false(c->closed);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

/* ---- malformed requests ---- */

#define T_RAW(s)	{ s, sizeof(s) - 1
#define T_H		"Host: t\r\n"

/* Each gets its error status, Connection: close, and the close. */
static const struct t_bad {
	const char	*raw;
	size_t		 len;
	int		 status;
} t_bad[] = {
	T_RAW("GET /health HTTP/1.1\nHost: t\n\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\nHost: t\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\nHost: t\r\n\n"), 400 },
	T_RAW("\nGET /health HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\r\n" T_H "\r\n"), 400 },
	T_RAW("GET  /health HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health  HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1 \r\n" T_H "\r\n"), 400 },
	T_RAW(" GET /health HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET\t/health HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("G(T /health HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /he\x01lth HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /h\xc3\xa9 HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET health HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET * HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET http:///x HTTP/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1x\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health http/1.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health HTTP/1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health HTTP/11.1\r\n" T_H "\r\n"), 400 },
	T_RAW("GET /health HTTP/2.0\r\n" T_H "\r\n"), 505 },
	T_RAW("GET /health HTTP/0.9\r\n" T_H "\r\n"), 505 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H " X: fold\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "X: a\r\n\tfold\r\n\r\n"),
	    400 },
	T_RAW("GET /health HTTP/1.1\r\nHost : t\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H ": x\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "X\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "X(: 1\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "X: a\0b\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "X: a\x7f\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "X: a\rb\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "X: \x1b\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H T_H "\r\n"), 400 },
	T_RAW("GET /health HTTP/1.0\r\n" T_H T_H "\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: \r\n\r\n"),
	    400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: abc\r\n"
	    "\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: -1\r\n"
	    "\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: +1\r\n"
	    "\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: 0x1\r\n"
	    "\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: 1 1\r\n"
	    "\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: 1,1\r\n"
	    "\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: "
	    "18446744073709551616\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: "
	    "99999999999999999999999\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\nhello!"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Content-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "gzip\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked, gzip\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked, chunked\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "gzip, chunked\r\n\r\n"), 501 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "identity\r\nTransfer-Encoding: chunked\r\n\r\n"), 501 },
	T_RAW("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n0\r\n\r\n"), 400 },
	/* Bad chunked bodies, caught before any response byte. */
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\nzz\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n-1\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n10000000000000000\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n1\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n1;a\nb\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n1;\x01\r\n"), 400 },
	T_RAW("POST /echo HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n1x\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n1\r\nab\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n1\r\na\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n0\r\nX: 1\n\r\n"), 400 },
	T_RAW("GET /health HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n0\r\n\n"), 400 },
	T_RAW("GET /delay/10 HTTP/1.1\r\n" T_H "Transfer-Encoding: "
	    "chunked\r\n\r\n0\r\n X: 1\r\n\r\n"), 400 },
};

static void
test_http_malformed_requests_get_error_and_close(void **state)
{
	struct t_resp	 r;
	struct conn	*c;
	size_t		 i, off;
	bool		 closed;

	(void)state;
	t_init("vm-7", false);
	for (i = 0; i < sizeof(t_bad) / sizeof(t_bad[0]); i++) {
		c = t_open(T_BIG);
		t_feed(c, t_bad[i].raw, t_bad[i].len);
		off = 0;
		if (t_resps(c, &off, 0, &r, 1) != 1)
			fail_msg("case %zu: no response", i);
		if (r.status != t_bad[i].status)
			fail_msg("case %zu: status %d", i, r.status);
		t_check_common(&r, "vm-7");
		assert_string_equal(t_hdr(&r, "Connection"), "close");
		assert_true(c->closed);
		assert_int_equal(off, c->tx_len);
		t_resp_clear(&r);
		/* More input changes nothing. */
		t_feeds(c, T_GET("/health"));
		assert_int_equal(off, c->tx_len);
		t_free(c);
		assert_int_equal(t_allocs, 0);
	}
	/* The server is fine for everyone else. */
	t_one(T_GET("/health"), strlen(T_GET("/health")), false, &r, &closed);
	assert_int_equal(r.status, 200);
	t_resp_clear(&r);
}

static void
test_http_oversized_heads(void **state)
{
	static const struct {
		size_t		 target;	/* request target length */
		size_t		 fields;	/* "X-N: v" lines */
		size_t		 pad;		/* one field this long */
		int		 status;
	} cases[] = {
		{ 8100, 0, 0, 404 },
		{ 8200, 0, 0, 414 },
		{ 100000, 0, 0, 414 },
		{ 10, 100, 0, 404 },
		{ 10, 101, 0, 431 },
		{ 10, 5000, 0, 431 },
		{ 10, 0, 8000, 404 },
		{ 10, 0, 8200, 431 },
		{ 4000, 0, 4200, 431 },
	};
	struct t_resp	 r;
	char		*req;
	size_t		 i, j, len, cap;
	bool		 closed;

	(void)state;
	t_init("vm-7", false);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cap = cases[i].target + cases[i].fields * 16 + cases[i].pad +
		    128;
		req = malloc(cap);
		assert_non_null(req);
		len = snprintf(req, cap, "GET /");
		memset(req + len, 'a', cases[i].target - 1);
		len += cases[i].target - 1;
		len += snprintf(req + len, cap - len, " HTTP/1.1\r\n");
		for (j = 0; j + 1 < cases[i].fields; j++)
			len += snprintf(req + len, cap - len, "X-%zu: v\r\n",
			    j);
		if (cases[i].fields > 0)
			len += snprintf(req + len, cap - len, T_H);
		else {
			len += snprintf(req + len, cap - len, T_H "X: ");
			memset(req + len, 'p', cases[i].pad);
			len += cases[i].pad;
			len += snprintf(req + len, cap - len, "\r\n");
		}
		len += snprintf(req + len, cap - len, "\r\n");
		t_one(req, len, false, &r, &closed);
		if (r.status != cases[i].status)
			fail_msg("case %zu: status %d", i, r.status);
		assert_int_equal(closed, r.status != 404);
		t_resp_clear(&r);
		free(req);
	}
}

static void
test_http_duplicate_equal_content_length_is_fine(void **state)
{
	struct t_resp	 r;
	bool		 closed;
	const char	*req = "POST /echo HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 5\r\ncontent-length:   5  \r\n\r\nhello";

	(void)state;
	t_init("vm-7", false);
	t_one(req, strlen(req), false, &r, &closed);
	assert_int_equal(r.status, 200);
	assert_string_equal((char *)r.body, "hello");
	assert_false(closed);
	t_resp_clear(&r);
}

static void
test_http_bad_chunk_after_echo_started_cuts_response(void **state)
{
	struct conn	*c;
	struct t_resp	 r;
	size_t		 off = 0;

	(void)state;
	t_init("vm-7", false);
	c = t_open(T_BIG);
	t_feeds(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n3\r\nabc\r\nzz\r\n");
	/* The 200 and "abc" went out: all we can do is stop. */
	assert_true(c->closed);
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 0);
	assert_true(t_find(c->tx, c->tx_len, "HTTP/1.1 200 OK\r\n") == 0);
	assert_true(t_find(c->tx, c->tx_len, "\r\n\r\n3\r\nabc") !=
	    SIZE_MAX);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

/* ---- end of input ---- */

static void
test_http_eof_handling(void **state)
{
	struct conn	*c;
	struct t_resp	 r;
	size_t		 off = 0;

	(void)state;
	t_init("vm-7", false);

	/* Half-close after a request: answer, then close. */
	c = t_open(T_BIG);
	t_feeds(c, T_GET("/health") T_GET("/status/201"));
	t_eof(c);
	assert_true(c->closed);
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
	t_resp_clear(&r);
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
	assert_int_equal(r.status, 201);
	t_resp_clear(&r);
	t_free(c);

	/* EOF with nothing, or half a head: close quietly. */
	c = t_open(T_BIG);
	t_eof(c);
	assert_true(c->closed);
	assert_int_equal(c->tx_len, 0);
	t_free(c);
	c = t_open(T_BIG);
	t_feeds(c, "GET /health HTTP/1.1\r\nHo");
	t_eof(c);
	assert_true(c->closed);
	assert_int_equal(c->tx_len, 0);
	t_free(c);

	/* A body cut short: close. */
	c = t_open(T_BIG);
	t_feeds(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n"
	    "\r\nabc");
	t_eof(c);
	assert_true(c->closed);
	t_free(c);

	/* Half-close while a delayed response waits: still answered. */
	c = t_open(T_BIG);
	t_feeds(c, T_GET("/delay/50"));
	t_eof(c);
	assert_false(c->closed);
	t_now += 50;
	t_run(c);
	assert_true(c->closed);
	off = 0;
	assert_int_equal(t_resps(c, &off, 0, &r, 1), 1);
	assert_string_equal((char *)r.body, "delayed 50 ms\n");
	t_resp_clear(&r);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

/* ---- /delay ---- */

static void
test_http_delays_fire_in_deadline_order(void **state)
{
	static const unsigned	 ms[] = { 300, 100, 200, 100, 0 };
	struct conn		*c[5], *other;
	struct t_resp		 r;
	uint64_t		 start, step;
	size_t			 i, off;
	char			 req[64], body[64];
	int			 fired[5], order = 0;

	(void)state;
	t_init("vm-7", false);
	t_now = start = 5000;
	for (i = 0; i < 5; i++) {
		c[i] = t_open(T_BIG);
		snprintf(req, sizeof(req), T_GET("/delay/%u"), ms[i]);
		t_feeds(c[i], req);
		fired[i] = -1;
	}
	/* /delay/0 has already gone, in the same pass. */
	assert_true(c[4]->tx_len > 0);
	fired[4] = order++;
	assert_int_equal(t_deadline, start + 100);

	/* Others are served while the delays wait. */
	other = t_open(T_BIG);
	t_feeds(other, T_GET("/health"));
	off = 0;
	assert_int_equal(t_resps(other, &off, 0, &r, 1), 1);
	t_resp_clear(&r);
	t_free(other);

	for (step = start; step <= start + 300; step += 10) {
		t_now = step;
		assert_true(app_poll(t_now) > t_now);
		for (i = 0; i < 5; i++) {
			if (fired[i] != -1 || c[i]->tx_len == 0)
				continue;
			assert_true(step >= start + ms[i]);
			assert_true(step < start + ms[i] + 10);
			fired[i] = order++;
		}
	}
	assert_int_equal(app_poll(t_now), UINT64_MAX);
	/* By deadline; equal deadlines in arrival order. */
	assert_true(c[4]->first_seq < c[1]->first_seq);
	assert_true(c[1]->first_seq < c[3]->first_seq);
	assert_true(c[3]->first_seq < c[2]->first_seq);
	assert_true(c[2]->first_seq < c[0]->first_seq);
	assert_int_equal(fired[0], 4);
	assert_int_equal(fired[2], 3);
	for (i = 0; i < 5; i++) {
		t_run(c[i]);
		off = 0;
		assert_int_equal(t_resps(c[i], &off, 0, &r, 1), 1);
		snprintf(body, sizeof(body), "delayed %u ms\n", ms[i]);
		assert_string_equal((char *)r.body, body);
		t_resp_clear(&r);
		t_free(c[i]);
	}
	assert_int_equal(t_allocs, 0);
}

static void
test_http_delay_then_pipelined_request(void **state)
{
	struct conn	*c;
	struct t_resp	 r[2];
	size_t		 off = 0;

	(void)state;
	t_init("vm-7", false);
	t_now = 100;
	c = t_open(T_BIG);
	t_feeds(c, T_GET("/delay/20") T_GET("/health"));
	assert_int_equal(c->tx_len, 0);
	t_now = 119;
	t_run(c);
	assert_int_equal(app_poll(t_now), 120);
	assert_int_equal(c->tx_len, 0);
	t_now = 120;
	c->kicks = 0;
	assert_int_equal(app_poll(t_now), UINT64_MAX);
	/* The response went, and the platform was asked to go on. */
	assert_true(c->kicks > 0);
	t_run(c);
	assert_int_equal(t_resps(c, &off, 0, r, 2), 2);
	assert_string_equal((char *)r[0].body, "delayed 20 ms\n");
	assert_string_equal((char *)r[1].body, "ok\n");
	t_resp_clear(&r[0]);
	t_resp_clear(&r[1]);
	t_free(c);
	assert_int_equal(t_allocs, 0);
}

/* ---- faults ---- */

/* Sends <req> on a new connection; returns the fault it caused. */
static int
t_fault_of(const char *req)
{
	struct conn	*c;

	c = t_open(T_BIG);
	if (setjmp(t_fault_jmp) == 0) {
		t_feeds(c, req);
		fail_msg("%s: no fault", req);
	}
	/* The platform may still free the connection. */
	t_free(c);
	return t_fault;
}

static void
test_http_fault_routes_only_when_enabled(void **state)
{
	static const struct {
		const char	*req;
		int		 fault;
		int		 status;
	} cases[] = {
		{ T_GET("/crash"), 1, -1 },
		{ T_GET("/hang"), 2, -1 },
		{ T_GET("/exit/0"), 3, 0 },
		{ T_GET("/exit/7"), 3, 7 },
		{ T_GET("/exit/255"), 3, 255 },
	};
	struct t_resp		 r;
	size_t			 i;
	bool			 closed;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_init("vm-7", true);
		assert_int_equal(t_fault_of(cases[i].req), cases[i].fault);
		assert_int_equal(t_exit_status, cases[i].status);
		assert_int_equal(t_allocs, 0);
	}
	t_init("vm-7", true);
	t_one(T_GET("/exit/256"), strlen(T_GET("/exit/256")), false, &r,
	    &closed);
	assert_int_equal(r.status, 400);
	t_resp_clear(&r);
	assert_int_equal(t_fault, 0);
}

/* ---- app_free() at any time ---- */

static void
test_http_free_in_every_state(void **state)
{
	struct conn	*c[8];
	size_t		 i;

	(void)state;
	t_init("vm-7", false);
	t_now = 0;
	for (i = 0; i < 8; i++) {
		c[i] = t_open(100);
		c[i]->drain = 0;
	}
	/* Fresh; mid-head; mid-body; echo blocked on output. */
	t_feeds(c[1], "GET /heal");
	t_feeds(c[2], "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 9"
	    "\r\n\r\nabc");
	t_feeds(c[3], "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n1000\r\n");
	{
		static uint8_t	 junk[5000];

		t_feed(c[3], junk, sizeof(junk));
	}
	/* Delayed; /bytes blocked; 100 Continue queued; closed. */
	t_feeds(c[4], T_GET("/delay/1000"));
	t_feeds(c[5], T_GET("/bytes/1000000"));
	t_feeds(c[6], "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue"
	    "\r\nContent-Length: 100000\r\n\r\n");
	t_feeds(c[7], T_GET("/health") "GET / HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n");
	c[7]->drain = SIZE_MAX;
	t_run(c[7]);
	assert_true(c[7]->closed);
	assert_false(c[5]->closed);
	assert_true(c[3]->rx_len > 0);
	assert_int_equal(t_deadline, 1000);
	assert_int_equal(t_allocs, 8);
	for (i = 0; i < 8; i++)
		t_free(c[i]);
	assert_int_equal(t_allocs, 0);
	/* Nothing of the delayed connection is left to fire. */
	assert_int_equal(app_poll(5000), UINT64_MAX);
}

static void
test_http_free_delayed_connections_in_any_order(void **state)
{
	struct conn	*c[4];
	size_t		 i;
	char		 req[64];

	(void)state;
	t_init("vm-7", false);
	t_now = 0;
	for (i = 0; i < 4; i++) {
		c[i] = t_open(T_BIG);
		snprintf(req, sizeof(req), T_GET("/delay/%zu"), 10 * (i + 1));
		t_feeds(c[i], req);
	}
	t_free(c[1]);
	assert_int_equal(app_poll(0), 10);
	t_free(c[0]);
	assert_int_equal(app_poll(0), 30);
	t_free(c[3]);
	assert_int_equal(app_poll(0), 30);
	assert_int_equal(app_poll(30), UINT64_MAX);
	assert_true(c[2]->tx_len > 0);
	t_free(c[2]);
	assert_int_equal(t_allocs, 0);
}

static void
test_http_accept_refuses_without_memory(void **state)
{
	struct conn	 c;

	(void)state;
	t_init("vm-7", false);
	memset(&c, 0, sizeof(c));
	t_nomem = true;
	assert_null(app_accept(&c));
	t_nomem = false;
	assert_int_equal(t_allocs, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_routes_answer_as_specified),
		cmocka_unit_test(test_http_405_lists_allowed_methods),
		cmocka_unit_test(test_http_vm_id_defaults_and_is_sanitized),
		cmocka_unit_test(test_http_head_has_get_headers_and_no_body),
		cmocka_unit_test(
		    test_http_bytes_pattern_across_cycle_and_sends),
		cmocka_unit_test(
		    test_http_bytes_64mib_streams_without_buffering),
		cmocka_unit_test(test_http_cache_sets_max_age_and_stable_etag),
		cmocka_unit_test(test_http_if_none_match_weak_comparison),
		cmocka_unit_test(
		    test_http_keepalive_follows_version_and_connection),
		cmocka_unit_test(test_http_pipeline_in_one_recv),
		cmocka_unit_test(test_http_pipeline_split_at_every_byte),
		cmocka_unit_test(test_http_partial_sends_are_byte_exact),
		cmocka_unit_test(test_http_next_request_waits_for_response),
		cmocka_unit_test(test_http_leading_empty_lines_are_skipped),
		cmocka_unit_test(test_http_expect_100_continue),
		cmocka_unit_test(test_http_echo_1mib_through_64k_window),
		cmocka_unit_test(test_http_chunked_echo_split_anywhere),
		cmocka_unit_test(
		    test_http_get_with_body_echoes_and_others_discard),
		cmocka_unit_test(
		    test_http_malformed_requests_get_error_and_close),
		cmocka_unit_test(test_http_oversized_heads),
		cmocka_unit_test(
		    test_http_duplicate_equal_content_length_is_fine),
		cmocka_unit_test(
		    test_http_bad_chunk_after_echo_started_cuts_response),
		cmocka_unit_test(test_http_eof_handling),
		cmocka_unit_test(test_http_delays_fire_in_deadline_order),
		cmocka_unit_test(test_http_delay_then_pipelined_request),
		cmocka_unit_test(test_http_fault_routes_only_when_enabled),
		cmocka_unit_test(test_http_free_in_every_state),
		cmocka_unit_test(
		    test_http_free_delayed_connections_in_any_order),
		cmocka_unit_test(test_http_accept_refuses_without_memory),
	};

	return cmocka_run_group_tests_name("guest_http", tests, NULL, NULL);
}
