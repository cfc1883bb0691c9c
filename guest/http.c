/*
 * guest/http.c: corral-guest's HTTP/1.1 server, the application side of
 * guest/app.h.  One struct http_conn per vsock stream, allocated in
 * app_accept() and freed in app_free().  The platform owns the receive
 * buffer: a request head is parsed where it lies (guest/http_parse.c) and
 * consumed only when complete, and request bodies go from that buffer
 * straight to conn_send() (/echo) or are dropped, never copied, so a
 * connection costs its struct, about 1.3 KiB, whatever it is sent.
 *
 * Requests are served strictly in order.  A head is routed
 * (guest/http_route.c) into a plan; the response head and any small body
 * go into hc_out, bigger bodies stream after it (the /bytes pattern, the
 * echoed body).  The next head is not consumed until the current
 * response is all queued: app_recv() returns early and app_writable()
 * and app_poll() (for /delay deadlines) resume, then conn_rx_kick() has
 * the platform offer the input again.
 *
 * app.h's entry points carry no server context, so the server (settings,
 * the deadline-ordered list of delayed responses) is this file's one
 * mutable file-scope variable.  Everything runs in the guest's main
 * loop, never in an interrupt handler; nothing locks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"
#include "guest/klib.h"
#include "guest/http_parse.h"
#include "guest/http_resp.h"
#include "guest/http_route.h"

#define HTTP_CONN_MAGIC		0x48547031	/* "HTp1" */
#define HTTP_OUT_MAX		1024		/* heads, small bodies */

enum http_in {
	HTTP_IN_HEAD = 0,		/* waiting for a complete head */
	HTTP_IN_BODY,			/* taking the request body */
	HTTP_IN_DONE,			/* request taken, response not queued */
	HTTP_IN_CLOSED,			/* conn_close() called */
};

enum http_adv {
	HTTP_ADV_BUSY = 0,		/* the response is not all queued */
	HTTP_ADV_IDLE,			/* done, ready for the next request */
	HTTP_ADV_CLOSED,		/* done, and conn_close() called */
};

struct http_conn;

struct http_server {
	struct http_site	 hs_site;
	struct http_conn	*hs_delays;	/* by hc_deadline, then FIFO */
};

/*
 * One stream.  Owned by the platform's struct conn from app_accept() to
 * app_free(); hc_conn is borrowed for that long.
 */
struct http_conn {
	unsigned		 hc_magic;
	struct conn		*hc_conn;
	struct http_server	*hc_srv;
	enum http_in		 hc_in;
	bool			 hc_eof;	/* the peer sends no more */
	bool			 hc_close;	/* close after this response */
	bool			 hc_kick;	/* app_recv() stopped early */
	struct http_req		 hc_req;	/* the head being parsed */

	/* The request body. */
	enum http_body		 hc_body;
	uint64_t		 hc_body_left;	/* with HTTP_BODY_LENGTH */
	struct http_chunked	 hc_chunked;	/* with HTTP_BODY_CHUNKED */
	bool			 hc_echo;	/* it goes back to the peer */
	bool			 hc_echo_chunked;
	bool			 hc_echo_go;	/* its first byte is here */
	uint64_t		 hc_echo_left;	/* of the chunk announced */

	/* The response. */
	size_t			 hc_resp_start;	/* its first byte in hc_out */
	bool			 hc_resp_sent;	/* a byte of it was queued */
	bool			 hc_broken;	/* hc_out overflowed */
	uint64_t		 hc_gen_off;	/* /bytes: next offset */
	uint64_t		 hc_gen_left;	/* /bytes: still to send */
	bool			 hc_delayed;	/* on hs_delays, held */
	uint64_t		 hc_deadline;
	struct http_conn	*hc_dnext;
	struct http_conn	**hc_dprev;
	size_t			 hc_out_off;	/* queued up to here */
	size_t			 hc_out_len;
	uint8_t			 hc_out[HTTP_OUT_MAX];
};

static struct http_server http_srv;

static struct http_conn *http_conn_get(void *);
static void	 http_delay_insert(struct http_server *, struct http_conn *);
static void	 http_delay_remove(struct http_conn *);
static void	 http_conn_compact(struct http_conn *);
static void	 http_conn_tail(struct http_conn *, struct http_wbuf *);
static void	 http_conn_put(struct http_conn *, struct http_wbuf *);
static bool	 http_conn_held(const struct http_conn *);
static bool	 http_conn_flush(struct http_conn *);
static bool	 http_conn_pattern(struct http_conn *);
static enum http_adv http_conn_advance(struct http_conn *);
static void	 http_conn_wake(struct http_conn *);
static void	 http_conn_abort(struct http_conn *);
static void	 http_conn_fault(const struct http_plan *);
static void	 http_conn_start(struct http_conn *, const struct http_plan *,
    const struct http_req *);
static bool	 http_conn_head(struct http_conn *, const uint8_t *, size_t,
    size_t *);
static size_t	 http_conn_echo(struct http_conn *, const uint8_t *, size_t);
static void	 http_conn_body_done(struct http_conn *);
static void	 http_conn_body_bad(struct http_conn *);
static size_t	 http_conn_body(struct http_conn *, const uint8_t *, size_t);

static struct http_conn *
http_conn_get(void *st)
{
	struct http_conn	*hc = st;

	/* A bad magic is the platform's bug; leave the stream alone. */
	if (hc == NULL || hc->hc_magic != HTTP_CONN_MAGIC)
		return NULL;
	return hc;
}

static void
http_delay_insert(struct http_server *srv, struct http_conn *hc)
{
	struct http_conn	**pp;

	for (pp = &srv->hs_delays; *pp != NULL &&
	    (*pp)->hc_deadline <= hc->hc_deadline; pp = &(*pp)->hc_dnext)
		;
	hc->hc_dnext = *pp;
	hc->hc_dprev = pp;
	if (*pp != NULL)
		(*pp)->hc_dprev = &hc->hc_dnext;
	*pp = hc;
	hc->hc_delayed = true;
}

static void
http_delay_remove(struct http_conn *hc)
{
	if (!hc->hc_delayed)
		return;
	*hc->hc_dprev = hc->hc_dnext;
	if (hc->hc_dnext != NULL)
		hc->hc_dnext->hc_dprev = hc->hc_dprev;
	hc->hc_dnext = NULL;
	hc->hc_dprev = NULL;
	hc->hc_delayed = false;
}

static void
http_conn_compact(struct http_conn *hc)
{
	size_t	 off = hc->hc_out_off;

	if (off == 0)
		return;
	memmove(hc->hc_out, hc->hc_out + off, hc->hc_out_len - off);
	hc->hc_out_len -= off;
	hc->hc_resp_start = hc->hc_resp_start > off ?
	    hc->hc_resp_start - off : 0;
	hc->hc_out_off = 0;
}

/* Opens <w> on hc_out's free tail; http_conn_put() commits it. */
static void
http_conn_tail(struct http_conn *hc, struct http_wbuf *w)
{
	http_conn_compact(hc);
	http_wbuf_init(w, hc->hc_out + hc->hc_out_len,
	    sizeof(hc->hc_out) - hc->hc_out_len);
}

/* Commits what <w>, opened by http_conn_tail(), wrote. */
static void
http_conn_put(struct http_conn *hc, struct http_wbuf *w)
{
	if (w->wb_over) {
		hc->hc_broken = true;
		return;
	}
	hc->hc_out_len += w->wb_len;
}

/*
 * Whether the response must wait (a 100 Continue before it need not):
 * for its deadline, or for the request body, so that a bad chunked body
 * can still be answered with a 400.  An echo waits for its first byte.
 */
static bool
http_conn_held(const struct http_conn *hc)
{
	return hc->hc_delayed ||
	    (hc->hc_in == HTTP_IN_BODY && !hc->hc_echo_go);
}

/* Queues hc_out up to a held response; true when all that may go went. */
static bool
http_conn_flush(struct http_conn *hc)
{
	size_t	 lim, n;

	lim = http_conn_held(hc) ? hc->hc_resp_start : hc->hc_out_len;
	if (hc->hc_out_off < lim) {
		n = conn_send(hc->hc_conn, hc->hc_out + hc->hc_out_off,
		    lim - hc->hc_out_off);
		hc->hc_out_off += n;
		if (hc->hc_out_off > hc->hc_resp_start)
			hc->hc_resp_sent = true;
	}
	if (hc->hc_out_off == hc->hc_out_len) {
		hc->hc_out_off = 0;
		hc->hc_out_len = 0;
		hc->hc_resp_start = 0;
		return true;
	}
	return hc->hc_out_off == lim;
}

/* Streams the /bytes body; true when it is all queued. */
static bool
http_conn_pattern(struct http_conn *hc)
{
	size_t	 n, taken;

	while (hc->hc_gen_left > 0) {
		n = hc->hc_gen_left < HTTP_PATTERN_SPAN ?
		    (size_t)hc->hc_gen_left : HTTP_PATTERN_SPAN;
		taken = conn_send(hc->hc_conn,
		    http_resp_pattern(hc->hc_gen_off), n);
		hc->hc_gen_off += taken;
		hc->hc_gen_left -= taken;
		if (taken > 0)
			hc->hc_resp_sent = true;
		if (taken < n)
			return false;
	}
	return true;
}

/*
 * Queues what it can of the response; once the request is taken and the
 * response all queued, closes the connection or readies it for the next
 * request.
 */
static enum http_adv
http_conn_advance(struct http_conn *hc)
{
	if (hc->hc_broken) {
		http_conn_abort(hc);
		return HTTP_ADV_CLOSED;
	}
	if (!http_conn_flush(hc))
		return HTTP_ADV_BUSY;
	if (http_conn_held(hc) || !http_conn_pattern(hc))
		return HTTP_ADV_BUSY;
	if (hc->hc_in != HTTP_IN_DONE)
		return HTTP_ADV_BUSY;
	if (hc->hc_close) {
		hc->hc_in = HTTP_IN_CLOSED;
		conn_close(hc->hc_conn);
		return HTTP_ADV_CLOSED;
	}
	memset(&hc->hc_req, 0, sizeof(hc->hc_req));
	hc->hc_in = HTTP_IN_HEAD;
	hc->hc_body = HTTP_BODY_NONE;
	hc->hc_echo = false;
	hc->hc_resp_sent = false;
	return HTTP_ADV_IDLE;
}

/* Output room or a deadline: move on, and have app_recv() resume. */
static void
http_conn_wake(struct http_conn *hc)
{
	if (http_conn_advance(hc) == HTTP_ADV_CLOSED)
		return;
	/* While the response is queued, input cannot move. */
	if (hc->hc_kick && hc->hc_in != HTTP_IN_DONE) {
		hc->hc_kick = false;
		conn_rx_kick(hc->hc_conn);
	}
}

/* Gives up on the connection; what conn_send() took still goes out. */
static void
http_conn_abort(struct http_conn *hc)
{
	http_delay_remove(hc);
	hc->hc_in = HTTP_IN_CLOSED;
	conn_close(hc->hc_conn);
}

static void
http_conn_fault(const struct http_plan *plan)
{
	switch (plan->hp_fault) {
	case HTTP_FAULT_CRASH:
		platform_crash();
	case HTTP_FAULT_HANG:
		platform_hang();
	case HTTP_FAULT_EXIT:
		platform_poweroff(plan->hp_exit);
	case HTTP_FAULT_NONE:
		break;
	}
}

/* Sets the connection up to serve <plan> for <req> (NULL for errors). */
static void
http_conn_start(struct http_conn *hc, const struct http_plan *plan,
    const struct http_req *req)
{
	struct http_wbuf	 w;

	http_conn_fault(plan);
	http_conn_tail(hc, &w);
	/* RFC 9110 §10.1.1: the client may wait for this to send a body. */
	if (req != NULL && req->hr_continue && req->hr_minor == 1 &&
	    req->hr_body != HTTP_BODY_NONE)
		http_resp_continue(&w);
	hc->hc_resp_start = hc->hc_out_len + w.wb_len;
	hc->hc_resp_sent = false;
	http_resp_head(&w, &plan->hp_resp, hc->hc_srv->hs_site.hs_id);
	if (!plan->hp_head_only)
		http_wbuf_mem(&w, plan->hp_body, plan->hp_body_len);
	http_conn_put(hc, &w);

	hc->hc_close = plan->hp_resp.rs_close;
	hc->hc_body = req != NULL ? req->hr_body : HTTP_BODY_NONE;
	hc->hc_body_left = req != NULL ? req->hr_clen : 0;
	memset(&hc->hc_chunked, 0, sizeof(hc->hc_chunked));
	hc->hc_echo = plan->hp_echo;
	hc->hc_echo_chunked = plan->hp_resp.rs_len == HTTP_LEN_CHUNKED;
	hc->hc_echo_left = 0;
	hc->hc_echo_go = false;
	hc->hc_gen_off = 0;
	hc->hc_gen_left = plan->hp_bytes;
	if (plan->hp_delay) {
		hc->hc_deadline = clock_ms() + plan->hp_delay_ms;
		http_delay_insert(hc->hc_srv, hc);
	}
	hc->hc_in = hc->hc_body == HTTP_BODY_NONE ? HTTP_IN_DONE :
	    HTTP_IN_BODY;
}

/*
 * Parses and starts the request at <data> + *<pos>.  Returns false when
 * app_recv() must return *<pos>: the head is incomplete, or the
 * connection closed.
 */
static bool
http_conn_head(struct http_conn *hc, const uint8_t *data, size_t len,
    size_t *pos)
{
	struct http_plan	 plan;
	enum http_parse_res	 r;
	size_t			 p = *pos;

	if (hc->hc_req.hr_scan == 0) {
		/* RFC 9112 §2.2: skip empty lines before a request line. */
		while (len - p >= 2 && data[p] == '\r' && data[p + 1] == '\n')
			p += 2;
		*pos = p;
	}
	r = http_parse_head(&hc->hc_req, data + p, len - p);
	switch (r) {
	case HTTP_PARSE_AGAIN:
		if (hc->hc_eof) {
			/* Nothing more is coming: no request to answer. */
			http_conn_abort(hc);
			*pos = len;
		}
		return false;
	case HTTP_PARSE_ERROR:
		http_route_error(&hc->hc_srv->hs_site, hc->hc_req.hr_status,
		    hc->hc_req.hr_error, &plan);
		http_conn_start(hc, &plan, NULL);
		/* Closing: whatever follows is not read. */
		*pos = len;
		return true;
	case HTTP_PARSE_OK:
		break;
	}
	*pos = p + hc->hc_req.hr_head_len;
	http_route(&hc->hc_srv->hs_site, &hc->hc_req, &plan);
	http_conn_start(hc, &plan, &hc->hc_req);
	return true;
}

/*
 * Sends up to <n> body bytes back, after whatever hc_out holds, in a
 * chunk of our own when the response is chunked.  Returns how many.
 */
static size_t
http_conn_echo(struct http_conn *hc, const uint8_t *p, size_t n)
{
	struct http_wbuf	 w;
	size_t			 taken;

	hc->hc_echo_go = true;
	if (!http_conn_flush(hc))
		return 0;
	if (hc->hc_echo_chunked) {
		/*
		 * Announce only bytes already received: the platform keeps
		 * what we do not consume, so they are there next time too.
		 */
		if (hc->hc_echo_left == 0) {
			http_conn_tail(hc, &w);
			http_wbuf_hex(&w, n);
			http_wbuf_str(&w, "\r\n");
			http_conn_put(hc, &w);
			hc->hc_echo_left = n;
			if (hc->hc_broken || !http_conn_flush(hc))
				return 0;
		}
		if (n > hc->hc_echo_left)
			n = hc->hc_echo_left;
	}
	taken = conn_send(hc->hc_conn, p, n);
	if (taken > 0)
		hc->hc_resp_sent = true;
	if (hc->hc_echo_chunked && taken > 0) {
		hc->hc_echo_left -= taken;
		if (hc->hc_echo_left == 0) {
			http_conn_tail(hc, &w);
			http_wbuf_str(&w, "\r\n");
			http_conn_put(hc, &w);
		}
	}
	return taken;
}

static void
http_conn_body_done(struct http_conn *hc)
{
	struct http_wbuf	 w;

	if (hc->hc_echo && hc->hc_echo_chunked) {
		http_conn_tail(hc, &w);
		http_wbuf_str(&w, "0\r\n\r\n");
		http_conn_put(hc, &w);
	}
	hc->hc_in = HTTP_IN_DONE;
}

/*
 * Bad chunked framing.  A 400 replaces the response if none of it has
 * gone out; otherwise the peer sees the response cut short.
 */
static void
http_conn_body_bad(struct http_conn *hc)
{
	struct http_plan	 plan;

	if (hc->hc_resp_sent) {
		http_conn_abort(hc);
		return;
	}
	http_delay_remove(hc);
	hc->hc_out_len = hc->hc_resp_start;
	hc->hc_gen_left = 0;
	http_route_error(&hc->hc_srv->hs_site, 400, "bad chunked body",
	    &plan);
	http_conn_start(hc, &plan, NULL);
}

/* Takes request body bytes from <buf>/<len>; returns how many. */
static size_t
http_conn_body(struct http_conn *hc, const uint8_t *buf, size_t len)
{
	struct http_chunked	*hk = &hc->hc_chunked;
	enum http_parse_res	 r;
	size_t			 pos = 0, n, avail, taken;
	uint64_t		 left;

	while (hc->hc_in == HTTP_IN_BODY) {
		if (hc->hc_body == HTTP_BODY_CHUNKED &&
		    hk->hk_state != HTTP_CK_DATA) {
			r = http_chunked_frame(hk, buf + pos, len - pos, &n);
			pos += n;
			if (r == HTTP_PARSE_ERROR)
				http_conn_body_bad(hc);
			else if (hk->hk_state == HTTP_CK_DONE)
				http_conn_body_done(hc);
			else if (r == HTTP_PARSE_AGAIN)
				break;
			continue;
		}
		left = hc->hc_body == HTTP_BODY_CHUNKED ? hk->hk_left :
		    hc->hc_body_left;
		avail = len - pos < left ? len - pos : (size_t)left;
		if (avail == 0)
			break;
		taken = hc->hc_echo ? http_conn_echo(hc, buf + pos, avail) :
		    avail;
		pos += taken;
		if (hc->hc_body == HTTP_BODY_CHUNKED)
			http_chunked_data(hk, taken);
		else if ((hc->hc_body_left -= taken) == 0)
			http_conn_body_done(hc);
		if (hc->hc_broken) {
			http_conn_abort(hc);
			break;
		}
		if (taken < avail) {
			hc->hc_kick = true;
			break;
		}
	}
	return pos;
}

void
app_init(const struct app_config *cfg)
{
	memset(&http_srv, 0, sizeof(http_srv));
	http_route_site(&http_srv.hs_site, cfg);
}

void *
app_accept(struct conn *c)
{
	struct http_conn	*hc;

	if ((hc = mem_alloc(sizeof(*hc))) == NULL)
		return NULL;
	memset(hc, 0, sizeof(*hc));
	hc->hc_magic = HTTP_CONN_MAGIC;
	hc->hc_conn = c;
	hc->hc_srv = &http_srv;
	hc->hc_in = HTTP_IN_HEAD;
	return hc;
}

size_t
app_recv(void *st, const uint8_t *data, size_t len, bool eof)
{
	struct http_conn	*hc;
	size_t			 pos = 0;

	if ((hc = http_conn_get(st)) == NULL)
		return 0;
	if (eof)
		hc->hc_eof = true;
	hc->hc_kick = false;
	for (;;) {
		switch (hc->hc_in) {
		case HTTP_IN_HEAD:
			if (!http_conn_head(hc, data, len, &pos))
				return pos;
			break;
		case HTTP_IN_BODY:
			/* Sends 100 Continue, or what an echo holds. */
			if (http_conn_advance(hc) == HTTP_ADV_CLOSED)
				return len;
			pos += http_conn_body(hc, data + pos, len - pos);
			if (hc->hc_in != HTTP_IN_BODY)
				break;
			if (pos == len && hc->hc_eof) {
				/* The body was cut short. */
				http_conn_abort(hc);
				return len;
			}
			return pos;
		case HTTP_IN_DONE:
			if (http_conn_advance(hc) == HTTP_ADV_BUSY) {
				hc->hc_kick = true;
				return pos;
			}
			break;
		case HTTP_IN_CLOSED:
			return len;
		}
	}
}

void
app_writable(void *st)
{
	struct http_conn	*hc;

	if ((hc = http_conn_get(st)) == NULL || hc->hc_in == HTTP_IN_CLOSED)
		return;
	http_conn_wake(hc);
}

void
app_free(void *st)
{
	struct http_conn	*hc;

	if ((hc = http_conn_get(st)) == NULL)
		return;
	http_delay_remove(hc);
	hc->hc_magic = 0;
	mem_free(hc);
}

uint64_t
app_poll(uint64_t now_ms)
{
	struct http_conn	*hc;

	while ((hc = http_srv.hs_delays) != NULL &&
	    hc->hc_deadline <= now_ms) {
		http_delay_remove(hc);
		if (hc->hc_in != HTTP_IN_CLOSED)
			http_conn_wake(hc);
	}
	return http_srv.hs_delays != NULL ? http_srv.hs_delays->hc_deadline :
	    UINT64_MAX;
}
