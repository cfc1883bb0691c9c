/*
 * pool/health.c: active health checks over a VM's vsock socket.
 *
 * A probe is a small state machine on the pool thread's event_base:
 * non-blocking connect to the Unix socket, "CONNECT <port>\n", wait for
 * "OK <n>\n", send "GET <path> HTTP/1.1", parse the response with
 * proxy/http.h (the one HTTP parser) and compare the status.  With a
 * place to keep it, the connection outlives the probe when the response
 * allows (keep-alive, the whole body read, nothing more sent): the next
 * probe skips straight to the request, and starts over with a new
 * connection if the guest closed that one before answering.  One timer
 * bounds the whole exchange.  The result goes to
 * the caller's callback once, always from the loop (an immediate
 * failure is reported through a zero timer), and the probe then frees
 * itself.  Bytes from the guest are untrusted: lines and heads are
 * bounded and anything unexpected is a failed check, never an assertion.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/log.h"
#include "pool/health.h"
#include "proxy/http.h"

#define HEALTH_MAGIC		0x4ea17400
#define HEALTH_LINE_MAX		64	/* "OK <port>\n" */
#define HEALTH_REQ_MAX		1024

enum health_phase {
	HEALTH_PH_CONNECT = 0,	/* socket connecting */
	HEALTH_PH_OK,		/* CONNECT sent, waiting for OK */
	HEALTH_PH_RESPONSE,	/* request sent, parsing the response */
	HEALTH_PH_BODY,		/* status known, reading to the end */
	HEALTH_PH_DONE,
};

/*
 * Kept between probes, reading: a guest has nothing to say on an idle
 * connection, so a byte, the end or an error closes it (and clears the
 * caller's pointer) rather than waiting to confuse the next probe.
 */
struct health_conn {
	struct bufferevent	*hc_bev;
	struct health_conn	**hc_slot;	/* the caller's pointer */
};

/* Owned by itself from start to the callback (or health_probe_free()). */
struct health_probe {
	unsigned		 magic;
	struct bufferevent	*hp_bev;
	struct http_parser	*hp_parser;
	struct event		*hp_timer;
	enum health_phase	 hp_phase;
	enum health_result	 hp_res;	/* for a deferred failure */
	unsigned		 hp_port;
	char			 hp_req[HEALTH_REQ_MAX];
	int			 hp_expect;
	int			 hp_status;	/* HEALTH_PH_BODY */
	struct health_conn	**hp_keep;	/* NULL: close after */
	bool			 hp_reused;	/* a kept connection */
	struct event_base	*hp_base;
	char			 hp_sock[sizeof(((struct sockaddr_un *)0)->
				    sun_path)];
	health_cb		 hp_cb;
	void			*hp_arg;
};

static int	health_connect(struct health_probe *p);
static void	health_finish(struct health_probe *p, enum health_result res,
		    int status);
static void	health_finish_keep(struct health_probe *p, int status);
static bool	health_retry_fresh(struct health_probe *p);
static void	health_idle_read_cb(struct bufferevent *bev, void *arg);
static void	health_idle_event_cb(struct bufferevent *bev, short what,
		    void *arg);
static void	health_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	health_read_cb(struct bufferevent *bev, void *arg);
static void	health_event_cb(struct bufferevent *bev, short what,
		    void *arg);
static int	health_ok_line(struct health_probe *p, struct evbuffer *in);
static void	health_response(struct health_probe *p, struct evbuffer *in,
		    bool eof);

struct health_probe *
health_probe_start(struct event_base *base, const char *sock, unsigned port,
    const char *path, int expect, uint64_t timeout_ms,
    struct health_conn **keep, health_cb cb, void *arg)
{
	struct health_probe	*p;
	struct health_conn	*hc;
	struct timeval		 tv;
	int			 n;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->magic = HEALTH_MAGIC;
	p->hp_base = base;
	p->hp_port = port;
	p->hp_expect = expect;
	p->hp_keep = keep;
	p->hp_cb = cb;
	p->hp_arg = arg;
	n = snprintf(p->hp_req, sizeof(p->hp_req), "GET %s HTTP/1.1\r\n"
	    "Host: corral\r\nUser-Agent: corral-health\r\n%s\r\n", path,
	    keep != NULL ? "" : "Connection: close\r\n");
	if (n < 0 || (size_t)n >= sizeof(p->hp_req) ||
	    strlen(sock) >= sizeof(p->hp_sock))
		goto fail;
	memcpy(p->hp_sock, sock, strlen(sock) + 1);
	if ((p->hp_timer = evtimer_new(base, health_timer_cb, p)) == NULL ||
	    (p->hp_parser = http_parser_new(HTTP_PARSER_RESPONSE, NULL)) ==
	    NULL)
		goto fail;
	http_parser_set_request(p->hp_parser, HTTP_METHOD_GET, 0);
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	if (keep != NULL && (hc = *keep) != NULL) {
		*keep = NULL;
		p->hp_bev = hc->hc_bev;
		free(hc);
		p->hp_reused = true;
		p->hp_phase = HEALTH_PH_RESPONSE;
		bufferevent_setcb(p->hp_bev, health_read_cb, NULL,
		    health_event_cb, p);
		if (bufferevent_write(p->hp_bev, p->hp_req,
		    strlen(p->hp_req)) == -1 ||
		    bufferevent_enable(p->hp_bev, EV_READ | EV_WRITE) == -1)
			goto fail;
	} else if (health_connect(p) == -1) {
		if (p->hp_bev == NULL)
			goto fail;
		/* ENOENT while the VMM starts: a failed check, from the loop. */
		p->hp_phase = HEALTH_PH_DONE;
		p->hp_res = HEALTH_CONNECT;
		tv.tv_sec = 0;
		tv.tv_usec = 0;
	}
	evtimer_add(p->hp_timer, &tv);
	return (p);
fail:
	health_probe_free(p);
	return (NULL);
}

/*
 * A new connection in p->hp_bev (the old one, if any, closed).  -1 with
 * hp_bev NULL: out of resources; with hp_bev set: the connect failed.
 */
static int
health_connect(struct health_probe *p)
{
	struct sockaddr_un	 sun;

	if (p->hp_bev != NULL)
		bufferevent_free(p->hp_bev);
	p->hp_reused = false;
	p->hp_phase = HEALTH_PH_CONNECT;
	if ((p->hp_bev = bufferevent_socket_new(p->hp_base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return (-1);
	bufferevent_setcb(p->hp_bev, health_read_cb, NULL, health_event_cb,
	    p);
	bufferevent_setwatermark(p->hp_bev, EV_READ, 0, 64 * 1024);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, p->hp_sock, strlen(p->hp_sock) + 1);
	return (bufferevent_socket_connect(p->hp_bev, (struct sockaddr *)&sun,
	    sizeof(sun)));
}

static void
health_idle_read_cb(struct bufferevent *bev, void *arg)
{
	struct health_conn	*hc = arg;

	(void)bev;
	if (*hc->hc_slot == hc)
		*hc->hc_slot = NULL;
	health_conn_free(hc);
}

static void
health_idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	health_idle_read_cb(bev, arg);
}

void
health_conn_free(struct health_conn *hc)
{
	if (hc == NULL)
		return;
	bufferevent_free(hc->hc_bev);
	free(hc);
}

void
health_probe_free(struct health_probe *p)
{
	if (p == NULL)
		return;
	if (p->hp_bev != NULL)
		bufferevent_free(p->hp_bev);
	if (p->hp_timer != NULL)
		event_free(p->hp_timer);
	http_parser_free(p->hp_parser);
	p->magic = 0;
	free(p);
}

const char *
health_strerror(enum health_result res)
{
	switch (res) {
	case HEALTH_OK:
		return ("ok");
	case HEALTH_CONNECT:
		return ("cannot connect");
	case HEALTH_HANDSHAKE:
		return ("vsock handshake failed");
	case HEALTH_TIMEOUT:
		return ("timeout");
	case HEALTH_STATUS:
		return ("unexpected status");
	case HEALTH_PROTOCOL:
		return ("bad response");
	}
	return ("?");
}

static void
health_finish(struct health_probe *p, enum health_result res, int status)
{
	health_cb	 cb = p->hp_cb;
	void		*arg = p->hp_arg;

	health_probe_free(p);
	cb(res, status, arg);
}

/*
 * The response ended (HTTP_PARSE_DONE): the connection goes back to the
 * caller if it may carry the next probe.
 */
static void
health_finish_keep(struct health_probe *p, int status)
{
	struct health_conn	*hc;
	struct http_msg		*msg = http_parser_msg(p->hp_parser);

	if (p->hp_keep != NULL && *p->hp_keep == NULL &&
	    (http_msg_flags(msg) & HTTP_MSG_KEEPALIVE) &&
	    evbuffer_get_length(bufferevent_get_input(p->hp_bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(p->hp_bev)) == 0 &&
	    (hc = calloc(1, sizeof(*hc))) != NULL) {
		hc->hc_bev = p->hp_bev;
		hc->hc_slot = p->hp_keep;
		p->hp_bev = NULL;
		bufferevent_setcb(hc->hc_bev, health_idle_read_cb, NULL,
		    health_idle_event_cb, hc);
		bufferevent_enable(hc->hc_bev, EV_READ);
		*p->hp_keep = hc;
	}
	health_finish(p, status == p->hp_expect ? HEALTH_OK : HEALTH_STATUS,
	    status);
}

/*
 * A kept connection the guest closed before answering (or that broke):
 * the check starts over on a new one, within the same deadline.
 */
static bool
health_retry_fresh(struct health_probe *p)
{
	if (!p->hp_reused || p->hp_phase != HEALTH_PH_RESPONSE ||
	    http_parser_body_bytes(p->hp_parser) != 0 ||
	    evbuffer_get_length(bufferevent_get_input(p->hp_bev)) != 0)
		return (false);
	http_parser_free(p->hp_parser);
	if ((p->hp_parser = http_parser_new(HTTP_PARSER_RESPONSE, NULL)) ==
	    NULL) {
		health_finish(p, HEALTH_CONNECT, 0);
		return (true);
	}
	http_parser_set_request(p->hp_parser, HTTP_METHOD_GET, 0);
	if (health_connect(p) == -1)
		health_finish(p, HEALTH_CONNECT, 0);
	return (true);
}

static void
health_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health_probe	*p = arg;

	(void)fd;
	(void)what;
	ASSERT(p->magic == HEALTH_MAGIC);
	/* A body slow to end: the status was the answer (not kept). */
	if (p->hp_phase == HEALTH_PH_BODY)
		health_finish(p, p->hp_status == p->hp_expect ? HEALTH_OK :
		    HEALTH_STATUS, p->hp_status);
	else
		health_finish(p, p->hp_phase == HEALTH_PH_DONE ? p->hp_res :
		    HEALTH_TIMEOUT, 0);
}

static void
health_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct health_probe	*p = arg;
	char			 line[32];
	int			 n;

	ASSERT(p->magic == HEALTH_MAGIC);
	if (what & BEV_EVENT_CONNECTED) {
		n = snprintf(line, sizeof(line), "CONNECT %u\n", p->hp_port);
		p->hp_phase = HEALTH_PH_OK;
		if (bufferevent_write(bev, line, (size_t)n) == -1 ||
		    bufferevent_enable(bev, EV_READ | EV_WRITE) == -1)
			health_finish(p, HEALTH_CONNECT, 0);
		return;
	}
	/* EOF or error. */
	if (health_retry_fresh(p))
		return;
	switch (p->hp_phase) {
	case HEALTH_PH_CONNECT:
		health_finish(p, HEALTH_CONNECT, 0);
		break;
	case HEALTH_PH_OK:
		health_finish(p, HEALTH_HANDSHAKE, 0);
		break;
	default:
		health_response(p, bufferevent_get_input(bev), true);
		break;
	}
}

static void
health_read_cb(struct bufferevent *bev, void *arg)
{
	struct health_probe	*p = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	int			 rc;

	ASSERT(p->magic == HEALTH_MAGIC);
	if (p->hp_phase == HEALTH_PH_OK) {
		if ((rc = health_ok_line(p, in)) == 0)
			return;
		if (rc == -1) {
			health_finish(p, HEALTH_HANDSHAKE, 0);
			return;
		}
		p->hp_phase = HEALTH_PH_RESPONSE;
		if (bufferevent_write(bev, p->hp_req, strlen(p->hp_req)) ==
		    -1) {
			health_finish(p, HEALTH_CONNECT, 0);
			return;
		}
	}
	if (p->hp_phase == HEALTH_PH_RESPONSE || p->hp_phase == HEALTH_PH_BODY)
		health_response(p, in, false);
}

/* 1: "OK <digits>\n" consumed; 0: need more; -1: anything else. */
static int
health_ok_line(struct health_probe *p, struct evbuffer *in)
{
	struct evbuffer_ptr	 eol;
	char			 line[HEALTH_LINE_MAX];
	size_t			 i, len;

	(void)p;
	eol = evbuffer_search(in, "\n", 1, NULL);
	if (eol.pos == -1)
		return (evbuffer_get_length(in) >= HEALTH_LINE_MAX ? -1 : 0);
	len = (size_t)eol.pos;
	if (len >= sizeof(line) || len < 4)
		return (-1);
	evbuffer_remove(in, line, len + 1);
	if (memcmp(line, "OK ", 3) != 0)
		return (-1);
	for (i = 3; i < len; i++)
		if (line[i] < '0' || line[i] > '9')
			return (-1);
	return (1);
}

static void
health_response(struct health_probe *p, struct evbuffer *in, bool eof)
{
	enum http_parse_result	 r;
	int			 status;

again:
	r = http_parse(p->hp_parser, in, NULL, 64 * 1024);
	if (r == HTTP_PARSE_AGAIN && eof)
		r = http_parse_eof(p->hp_parser);
	if (p->hp_phase == HEALTH_PH_BODY) {
		/* The verdict is in; the rest only decides the connection. */
		if (r == HTTP_PARSE_DONE)
			health_finish_keep(p, p->hp_status);
		else if (r == HTTP_PARSE_BODY)
			goto again;
		else if (r != HTTP_PARSE_AGAIN)
			health_finish(p, p->hp_status == p->hp_expect ?
			    HEALTH_OK : HEALTH_STATUS, p->hp_status);
		return;
	}
	switch (r) {
	case HTTP_PARSE_HEAD:
	case HTTP_PARSE_BODY:
	case HTTP_PARSE_DONE:
		status = http_msg_status(http_parser_msg(p->hp_parser));
		/* An interim 1xx is not the answer. */
		if (status >= 100 && status < 200) {
			health_finish(p, HEALTH_PROTOCOL, status);
			return;
		}
		if (r == HTTP_PARSE_DONE) {
			health_finish_keep(p, status);
			return;
		}
		/* A connection to keep is read to the end of the body. */
		if (p->hp_keep != NULL && !eof && http_msg_framing(
		    http_parser_msg(p->hp_parser)) != HTTP_FRAMING_CLOSE) {
			p->hp_phase = HEALTH_PH_BODY;
			p->hp_status = status;
			goto again;
		}
		health_finish(p, status == p->hp_expect ? HEALTH_OK :
		    HEALTH_STATUS, status);
		return;
	case HTTP_PARSE_AGAIN:
		return;
	case HTTP_PARSE_OK:
		health_finish(p, eof ? HEALTH_CONNECT : HEALTH_PROTOCOL, 0);
		return;
	case HTTP_PARSE_ERROR:
		health_finish(p, HEALTH_PROTOCOL, 0);
		return;
	}
}

void
health_thread_end(void)
{
	http_parser_cache_flush();
}
