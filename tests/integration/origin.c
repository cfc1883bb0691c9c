/*
 * tests/integration/origin.c: the origin HTTP/1.1 server the integration
 * tests put behind corral.
 *
 *	origin --listen 127.0.0.1:0 [--unix PATH] [--name NAME] [--log FILE]
 *	    [--tls CERT KEY]
 *
 * prints "listening 127.0.0.1:PORT" (and "listening unix:PATH") on
 * stdout, then serves until SIGTERM.  It reads requests with corral's
 * own strict parser (proxy/http.c), not with evhttp, which is lenient:
 * a request smuggled past the proxy must not be understood here either,
 * and --log FILE records one line per request that did arrive (method,
 * target, body framing and length, field names) or was refused, so a
 * test can check what reached the origin.  Routes are listed in
 * origin_route().  One thread, one event_base; each connection is a
 * struct origin_conn owning its bufferevent and parser, and handles one
 * request at a time (pipelined ones wait in the input buffer).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "proxy/http.h"

#define ORIGIN_CONN_MAGIC	0x0419c0de
#define ORIGIN_HIGH_WATER	(256 * 1024)	/* output buffered, max */
#define ORIGIN_LOW_WATER	(64 * 1024)	/* refill below this */
#define ORIGIN_PIECE		(16 * 1024)	/* generated per step */
#define ORIGIN_MAX_DELAY_MS	600000
#define ORIGIN_MAX_SLOW		100000		/* /slow/N bytes */
#define ORIGIN_SLOW_MS		100		/* /slow/N: ms per byte */
#define ORIGIN_WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static const char origin_pattern[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

enum origin_state {
	ORIGIN_READING = 0,	/* parsing requests */
	ORIGIN_ECHOING,		/* /echo: body streams back as it comes */
	ORIGIN_WAITING,		/* response pending (delay, slow, bytes) */
	ORIGIN_HANGING,		/* /hang: never answers */
	ORIGIN_TUNNEL,		/* after a 101: echo raw bytes */
	ORIGIN_CLOSING,		/* flush, then close */
};

struct origin;

/* Owned by the server's list; owns its bufferevent, parser and timer. */
struct origin_conn {
	unsigned		 magic;
	struct origin		*o;
	struct bufferevent	*bev;
	struct http_parser	*parser;
	struct evbuffer		*body;		/* scratch */
	struct event		*timer;
	enum origin_state	 state;
	int			 keepalive;
	int			 head_only;	/* HEAD request */
	int			 chunked_out;	/* echo/bytes: chunked */
	int			 ws;		/* /ws upgrade accepted */
	int			 eof;		/* the client stopped sending */
	uint64_t		 left;		/* bytes still to produce */
	uint64_t		 off;		/* pattern offset */
	unsigned		 slow_ms;
	int			 delay_ms;
	TAILQ_ENTRY(origin_conn) entry;
};

/* The server: one per process, owned by main(). */
struct origin {
	struct event_base	*base;
	const char		*name;
	int			 logfd;
	SSL_CTX			*ssl;
	struct evconnlistener	*lis[2];
	TAILQ_HEAD(, origin_conn) conns;
};

static void	origin_usage(void) __attribute__((noreturn));
static int	origin_addr(const char *addr, struct sockaddr_storage *ss,
		    socklen_t *len);
static int	origin_listen(struct origin *o, int idx, const char *addr,
		    const char *upath);
static void	origin_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
		    struct sockaddr *sa, int salen, void *arg);
static void	origin_free(struct origin_conn *c);
static void	origin_read_cb(struct bufferevent *bev, void *arg);
static void	origin_write_cb(struct bufferevent *bev, void *arg);
static void	origin_event_cb(struct bufferevent *bev, short what,
		    void *arg);
static void	origin_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	origin_signal_cb(evutil_socket_t fd, short what, void *arg);
static void	origin_process(struct origin_conn *c);
static void	origin_head(struct origin_conn *c, struct http_msg *req);
static void	origin_route(struct origin_conn *c, struct http_msg *req);
static void	origin_log(struct origin_conn *c, struct http_msg *req);
static void	origin_logf(struct origin *o, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static int	origin_start(struct origin_conn *c, int status,
		    enum http_framing framing, uint64_t len,
		    const char *name, const char *value);
static void	origin_reply(struct origin_conn *c, int status,
		    const char *body);
static void	origin_produce(struct origin_conn *c);
static void	origin_finish(struct origin_conn *c);
static int	origin_ws_accept(const char *key, size_t len, char *out,
		    size_t outsz);

static void
origin_usage(void)
{
	fprintf(stderr, "usage: origin --listen ADDR:PORT [--unix PATH] "
	    "[--name NAME] [--log FILE] [--tls CERT KEY]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct origin		 o;
	struct origin_conn	*c;
	struct event		*sig[2];
	const char		*listen = NULL, *upath = NULL, *logpath = NULL;
	const char		*cert = NULL, *key = NULL;
	int			 i;

	memset(&o, 0, sizeof(o));
	o.name = "origin";
	o.logfd = -1;
	TAILQ_INIT(&o.conns);
	log_init("origin", LOG_LEVEL_INFO);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(argv[i], "--unix") == 0 && i + 1 < argc)
			upath = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			o.name = argv[++i];
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			logpath = argv[++i];
		else if (strcmp(argv[i], "--tls") == 0 && i + 2 < argc) {
			cert = argv[++i];
			key = argv[++i];
		} else
			origin_usage();
	}
	if (listen == NULL && upath == NULL)
		origin_usage();
	signal(SIGPIPE, SIG_IGN);
	if (logpath != NULL && (o.logfd = open(logpath,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) == -1)
		fatal("%s", logpath);
	if (cert != NULL) {
		if ((o.ssl = SSL_CTX_new(TLS_server_method())) == NULL ||
		    SSL_CTX_use_certificate_chain_file(o.ssl, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(o.ssl, key,
		    SSL_FILETYPE_PEM) != 1)
			fatalx("tls: cannot load %s and %s", cert, key);
	}
	if ((o.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((listen != NULL && origin_listen(&o, 0, listen, NULL) == -1) ||
	    (upath != NULL && origin_listen(&o, 1, NULL, upath) == -1))
		exit(1);
	sig[0] = evsignal_new(o.base, SIGTERM, origin_signal_cb, &o);
	sig[1] = evsignal_new(o.base, SIGINT, origin_signal_cb, &o);
	if (sig[0] == NULL || sig[1] == NULL || evsignal_add(sig[0], NULL) ||
	    evsignal_add(sig[1], NULL))
		fatalx("cannot catch signals");
	fflush(stdout);

	event_base_dispatch(o.base);

	while ((c = TAILQ_FIRST(&o.conns)) != NULL)
		origin_free(c);
	for (i = 0; i < 2; i++)
		if (o.lis[i] != NULL)
			evconnlistener_free(o.lis[i]);
	if (upath != NULL)
		unlink(upath);
	event_free(sig[0]);
	event_free(sig[1]);
	event_base_free(o.base);
	SSL_CTX_free(o.ssl);
	if (o.logfd != -1)
		close(o.logfd);
	return (0);
}

static void
origin_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct origin	*o = arg;

	(void)fd;
	(void)what;
	event_base_loopexit(o->base, NULL);
}

/* "127.0.0.1:8080" or "[::1]:0" (port 0 included, unlike libevent's). */
static int
origin_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;
	const char		*colon = strrchr(addr, ':');
	char			 host[128], *end;
	size_t			 hlen;
	unsigned long		 port;

	if (colon == NULL)
		return (-1);
	hlen = (size_t)(colon - addr);
	if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
		addr++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return (-1);
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port > 65535 || errno != 0)
		return (-1);
	memset(ss, 0, sizeof(*ss));
	if (evutil_inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	} else if (evutil_inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else
		return (-1);
	return (0);
}

/* Binds <addr> (TCP) or <upath> (Unix) and says where on stdout. */
static int
origin_listen(struct origin *o, int idx, const char *addr, const char *upath)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	socklen_t		 slen = sizeof(ss);
	char			 host[128];
	socklen_t		 len;
	unsigned		 flags = LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	if (upath != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(upath) >= sizeof(sun.sun_path)) {
			log_warnx("%s: path too long", upath);
			return (-1);
		}
		memcpy(sun.sun_path, upath, strlen(upath) + 1);
		unlink(upath);
		o->lis[idx] = evconnlistener_new_bind(o->base,
		    origin_accept_cb, o, flags & ~LEV_OPT_REUSEABLE, 128,
		    (struct sockaddr *)&sun, sizeof(sun));
		if (o->lis[idx] == NULL) {
			log_warn("%s", upath);
			return (-1);
		}
		printf("listening unix:%s\n", upath);
		return (0);
	}
	if (origin_addr(addr, &ss, &len) == -1) {
		log_warnx("%s: not an address and port", addr);
		return (-1);
	}
	o->lis[idx] = evconnlistener_new_bind(o->base, origin_accept_cb, o,
	    flags, 128, (struct sockaddr *)&ss, (int)len);
	if (o->lis[idx] == NULL) {
		log_warn("%s", addr);
		return (-1);
	}
	if (getsockname(evconnlistener_get_fd(o->lis[idx]),
	    (struct sockaddr *)&ss, &slen) == -1)
		fatal("getsockname");
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		printf("listening [%s]:%u\n", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;

		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		printf("listening %s:%u\n", host, ntohs(s4->sin_port));
	}
	return (0);
}

static void
origin_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct origin		*o = arg;
	struct origin_conn	*c;
	struct http_limits	 lim;
	SSL			*ssl;

	(void)l;
	(void)sa;
	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->magic = ORIGIN_CONN_MAGIC;
	c->o = o;
	http_limits_default(&lim);
	if (o->ssl != NULL) {
		if ((ssl = SSL_new(o->ssl)) != NULL)
			c->bev = bufferevent_openssl_socket_new(o->base, fd,
			    ssl, BUFFEREVENT_SSL_ACCEPTING,
			    BEV_OPT_CLOSE_ON_FREE);
	} else
		c->bev = bufferevent_socket_new(o->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	c->parser = http_parser_new(HTTP_PARSER_REQUEST, &lim);
	c->body = evbuffer_new();
	c->timer = evtimer_new(o->base, origin_timer_cb, c);
	if (c->bev == NULL || c->parser == NULL || c->body == NULL ||
	    c->timer == NULL) {
		if (c->bev == NULL)
			evutil_closesocket(fd);
		log_warnx("connection: out of memory");
		TAILQ_INSERT_TAIL(&o->conns, c, entry);
		origin_free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&o->conns, c, entry);
	bufferevent_setcb(c->bev, origin_read_cb, origin_write_cb,
	    origin_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, ORIGIN_LOW_WATER, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
origin_free(struct origin_conn *c)
{
	TAILQ_REMOVE(&c->o->conns, c, entry);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	evbuffer_free(c->body);
	http_parser_free(c->parser);
	c->magic = 0;
	free(c);
}

static void
origin_read_cb(struct bufferevent *bev, void *arg)
{
	struct origin_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);

	ASSERT(c->magic == ORIGIN_CONN_MAGIC);
	switch (c->state) {
	case ORIGIN_TUNNEL:
		evbuffer_add_buffer(bufferevent_get_output(bev), in);
		break;
	case ORIGIN_HANGING:
	case ORIGIN_CLOSING:
		evbuffer_drain(in, evbuffer_get_length(in));
		break;
	case ORIGIN_READING:
	case ORIGIN_ECHOING:
		origin_process(c);
		break;
	case ORIGIN_WAITING:
		break;		/* pipelined: later */
	}
}

static void
origin_write_cb(struct bufferevent *bev, void *arg)
{
	struct origin_conn	*c = arg;

	ASSERT(c->magic == ORIGIN_CONN_MAGIC);
	if (c->state == ORIGIN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		origin_free(c);
	else if (c->state == ORIGIN_WAITING && c->left > 0 &&
	    c->slow_ms == 0)
		origin_produce(c);
	else if (c->state == ORIGIN_ECHOING)
		origin_process(c);
}

static void
origin_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct origin_conn	*c = arg;

	(void)bev;
	ASSERT(c->magic == ORIGIN_CONN_MAGIC);
	if (what == BEV_EVENT_CONNECTED)
		return;		/* TLS handshake done */
	if (!(what & BEV_EVENT_EOF) || c->state == ORIGIN_HANGING) {
		origin_free(c);
		return;
	}
	/*
	 * The client is done sending (perhaps only half-closed): answer
	 * what it sent, then close.
	 */
	c->eof = 1;
	if (c->state == ORIGIN_READING || c->state == ORIGIN_ECHOING)
		origin_process(c);
	if ((c->state == ORIGIN_READING || c->state == ORIGIN_ECHOING) &&
	    http_parse_eof(c->parser) == HTTP_PARSE_ERROR)
		origin_logf(c->o, "REJECT %d %s\n",
		    http_parser_status(c->parser),
		    http_parser_error(c->parser));
	if (c->state != ORIGIN_WAITING)
		c->state = ORIGIN_CLOSING;
	if (c->state == ORIGIN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		origin_free(c);
}

/* Parses what is buffered, one request at a time. */
static void
origin_process(struct origin_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	enum http_parse_result	 r;
	size_t			 room;

	while (c->state == ORIGIN_READING || c->state == ORIGIN_ECHOING) {
		room = ORIGIN_HIGH_WATER;
		if (c->state == ORIGIN_ECHOING) {
			if (evbuffer_get_length(out) >= ORIGIN_HIGH_WATER)
				return;		/* the write callback resumes */
			room -= evbuffer_get_length(out);
		}
		r = http_parse(c->parser, in, c->state == ORIGIN_ECHOING ?
		    c->body : NULL, room);
		switch (r) {
		case HTTP_PARSE_OK:
		case HTTP_PARSE_AGAIN:
			return;
		case HTTP_PARSE_HEAD:
			origin_head(c, http_parser_msg(c->parser));
			break;
		case HTTP_PARSE_BODY:
			if ((c->chunked_out ? http_write_chunk(out, c->body) :
			    evbuffer_add_buffer(out, c->body)) == -1)
				c->state = ORIGIN_CLOSING;
			break;
		case HTTP_PARSE_DONE:
			origin_log(c, http_parser_msg(c->parser));
			if (c->state == ORIGIN_ECHOING) {
				if (c->chunked_out ?
				    http_write_chunk(out, c->body) == -1 ||
				    http_write_last_chunk(out) == -1 :
				    evbuffer_add_buffer(out, c->body) == -1) {
					c->state = ORIGIN_CLOSING;
					return;
				}
				origin_finish(c);
			} else
				origin_route(c, http_parser_msg(c->parser));
			break;
		case HTTP_PARSE_ERROR:
			origin_logf(c->o, "REJECT %d %s\n",
			    http_parser_status(c->parser),
			    http_parser_error(c->parser));
			if (http_write_error(out,
			    http_parser_status(c->parser)) == -1)
				log_warnx("error response: out of memory");
			c->state = ORIGIN_CLOSING;
			return;
		}
	}
}

/* A head arrived: /echo starts answering now, the rest at the end. */
static void
origin_head(struct origin_conn *c, struct http_msg *req)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	const char	*t;
	size_t		 tlen;

	c->keepalive = (http_msg_flags(req) & HTTP_MSG_KEEPALIVE) != 0;
	c->head_only = http_msg_method(req) == HTTP_METHOD_HEAD;
	c->chunked_out = 0;
	if (http_msg_flags(req) & HTTP_MSG_EXPECT_100)
		evbuffer_add_printf(out, "HTTP/1.1 100 Continue\r\n\r\n");
	t = http_msg_target(req, &tlen);
	if ((tlen == 5 || (tlen > 5 && t[5] == '?')) &&
	    memcmp(t, "/echo", 5) == 0) {
		switch (http_msg_framing(req)) {
		case HTTP_FRAMING_CHUNKED:
			c->chunked_out = 1;
			(void)origin_start(c, 200, HTTP_FRAMING_CHUNKED, 0,
			    NULL, NULL);
			break;
		default:
			(void)origin_start(c, 200, HTTP_FRAMING_LENGTH,
			    http_msg_content_length(req), NULL, NULL);
			break;
		}
		c->state = ORIGIN_ECHOING;
	}
}

/* The request is complete: answer it. */
static void
origin_route(struct origin_conn *c, struct http_msg *req)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct timeval	 tv;
	const char	*t, *v, *q;
	char		 path[256], text[256], accept[64];
	size_t		 tlen, len;
	long		 n;

	t = http_msg_target(req, &tlen);
	q = memchr(t, '?', tlen);
	len = q != NULL ? (size_t)(q - t) : tlen;
	if (len >= sizeof(path)) {
		origin_reply(c, 404, "no such route\n");
		return;
	}
	memcpy(path, t, len);
	path[len] = '\0';
	n = strrchr(path, '/') != NULL ? strtol(strrchr(path, '/') + 1,
	    NULL, 10) : 0;

	if (strcmp(path, "/") == 0) {
		snprintf(text, sizeof(text), "origin %s\n", c->o->name);
		origin_reply(c, 200, text);
	} else if (strcmp(path, "/headers") == 0) {
		v = http_msg_head(req, &len);
		if (origin_start(c, 200, HTTP_FRAMING_LENGTH, len, NULL,
		    NULL) == 0 && !c->head_only)
			evbuffer_add(out, v, len);
		origin_finish(c);
	} else if (strcmp(path, "/close") == 0) {
		c->keepalive = 0;
		origin_reply(c, 200, "closing\n");
	} else if (strncmp(path, "/status/", 8) == 0) {
		if (n < 200 || n > 599) {
			origin_reply(c, 400, "status must be 200-599\n");
			return;
		}
		snprintf(text, sizeof(text), "%ld %s\n", n,
		    http_reason((int)n));
		origin_reply(c, (int)n, text);
	} else if (strncmp(path, "/bytes/", 7) == 0 ||
	    strncmp(path, "/slow/", 6) == 0) {
		if (n < 0 || (path[1] == 's' && n > ORIGIN_MAX_SLOW)) {
			origin_reply(c, 400, "bad length\n");
			return;
		}
		c->chunked_out = path[1] == 'b' && q != NULL &&
		    strstr(q, "chunked=1") != NULL;
		c->slow_ms = 0;
		if (path[1] == 's') {
			c->slow_ms = ORIGIN_SLOW_MS;
			if (q != NULL && (v = strstr(q, "ms=")) != NULL)
				c->slow_ms = (unsigned)strtoul(v + 3, NULL, 10);
			if (c->slow_ms < 1 || c->slow_ms > 10000)
				c->slow_ms = ORIGIN_SLOW_MS;
		}
		c->left = c->head_only ? 0 : (uint64_t)n;
		c->off = 0;
		if (origin_start(c, 200, c->chunked_out ? HTTP_FRAMING_CHUNKED :
		    HTTP_FRAMING_LENGTH, (uint64_t)n, NULL, NULL) == -1)
			return;
		c->state = ORIGIN_WAITING;
		origin_produce(c);
	} else if (strncmp(path, "/delay/", 7) == 0) {
		if (n < 0 || n > ORIGIN_MAX_DELAY_MS) {
			origin_reply(c, 400, "bad delay\n");
			return;
		}
		c->delay_ms = (int)n;
		c->left = 0;
		c->state = ORIGIN_WAITING;
		tv.tv_sec = n / 1000;
		tv.tv_usec = (n % 1000) * 1000;
		evtimer_add(c->timer, &tv);
	} else if (strcmp(path, "/hang") == 0) {
		c->state = ORIGIN_HANGING;
	} else if (strcmp(path, "/ws") == 0) {
		v = http_msg_get(req, "sec-websocket-key", &len);
		if (!(http_msg_flags(req) & HTTP_MSG_UPGRADE) ||
		    !http_msg_has_token(req, "upgrade", "websocket") ||
		    v == NULL || origin_ws_accept(v, len, accept,
		    sizeof(accept)) == -1) {
			origin_reply(c, 400, "not a websocket upgrade\n");
			return;
		}
		c->ws = 1;
		if (origin_start(c, 101, HTTP_FRAMING_NONE, 0,
		    "Sec-WebSocket-Accept", accept) == -1)
			return;
		/* Bytes after the head are the tunnel's already. */
		c->state = ORIGIN_TUNNEL;
		evbuffer_add_buffer(out, bufferevent_get_input(c->bev));
	} else
		origin_reply(c, 404, "no such route\n");
}

/*
 * Writes a response head.  <name>/<value>: one more field, or NULL.
 * Responses to HEAD carry the length without the body (RFC 9110 §9.3.2).
 */
static int
origin_start(struct origin_conn *c, int status, enum http_framing framing,
    uint64_t len, const char *name, const char *value)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct http_msg	*m;
	char		 num[32];
	int		 rc = -1;

	if ((m = http_msg_new()) == NULL ||
	    http_msg_set_status(m, status, NULL) == -1 ||
	    http_msg_add(m, "X-Origin", c->o->name) == -1)
		goto fail;
	if (status == 101) {
		if (http_msg_add(m, "Upgrade", "websocket") == -1 ||
		    http_msg_add(m, "Connection", "Upgrade") == -1)
			goto fail;
	} else if (http_msg_add(m, "Content-Type", "text/plain") == -1 ||
	    (!c->keepalive && http_msg_add(m, "Connection", "close") == -1))
		goto fail;
	if (name != NULL && http_msg_add(m, name, value) == -1)
		goto fail;
	if (c->head_only && framing == HTTP_FRAMING_LENGTH) {
		snprintf(num, sizeof(num), "%" PRIu64, len);
		if (http_msg_add(m, "Content-Length", num) == -1)
			goto fail;
		framing = HTTP_FRAMING_NONE;
	}
	if (status == 204 || status == 304)
		framing = HTTP_FRAMING_NONE;
	rc = http_write_head(out, m, framing, len);
fail:
	http_msg_free(m);
	if (rc == -1) {
		log_warnx("response: out of memory");
		c->state = ORIGIN_CLOSING;
	}
	return (rc);
}

/* A whole response with a short body, then the next request. */
static void
origin_reply(struct origin_conn *c, int status, const char *body)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 len = strlen(body);

	if (status == 204 || status == 304)
		len = 0;
	if (origin_start(c, status, HTTP_FRAMING_LENGTH, len, NULL,
	    NULL) == -1)
		return;
	if (!c->head_only)
		evbuffer_add(out, body, len);
	origin_finish(c);
}

/* Generates /bytes and /slow bodies, as far as the output has room. */
static void
origin_produce(struct origin_conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct timeval	 tv;
	char		 piece[ORIGIN_PIECE];
	size_t		 n, i;

	while (c->left > 0 && evbuffer_get_length(out) < ORIGIN_HIGH_WATER) {
		n = c->slow_ms > 0 ? 1 : sizeof(piece);
		if (n > c->left)
			n = (size_t)c->left;
		for (i = 0; i < n; i++)
			piece[i] = origin_pattern[(c->off + i) % 64];
		if ((c->chunked_out ? http_write_chunk_data(out, piece, n) :
		    evbuffer_add(out, piece, n)) == -1) {
			c->state = ORIGIN_CLOSING;
			return;
		}
		c->off += n;
		c->left -= n;
		if (c->slow_ms > 0 && c->left > 0) {
			tv.tv_sec = c->slow_ms / 1000;
			tv.tv_usec = (c->slow_ms % 1000) * 1000;
			evtimer_add(c->timer, &tv);
			return;
		}
	}
	if (c->left > 0)
		return;			/* the write callback comes back */
	if (c->chunked_out && !c->head_only &&
	    http_write_last_chunk(out) == -1) {
		c->state = ORIGIN_CLOSING;
		return;
	}
	origin_finish(c);
}

static void
origin_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct origin_conn	*c = arg;
	char			 text[64];

	(void)fd;
	(void)what;
	ASSERT(c->magic == ORIGIN_CONN_MAGIC);
	if (c->left > 0) {
		origin_produce(c);
		return;
	}
	snprintf(text, sizeof(text), "delayed %d ms\n", c->delay_ms);
	origin_reply(c, 200, text);
}

/* The response is written: next request, or close once flushed. */
static void
origin_finish(struct origin_conn *c)
{
	c->chunked_out = 0;
	c->slow_ms = 0;
	c->left = 0;
	if (!c->keepalive || c->eof) {
		c->state = ORIGIN_CLOSING;
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	c->state = ORIGIN_READING;
	/* Pipelined requests may be waiting; not from inside the loop. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/* Sec-WebSocket-Accept: base64(SHA-1(key GUID)) (RFC 6455 §4.2.2). */
static int
origin_ws_accept(const char *key, size_t len, char *out, size_t outsz)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	EVP_MD_CTX	*ctx;
	int		 ok;

	if (len == 0 || outsz < 4 * ((20 + 2) / 3) + 1 ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, key, len) == 1 &&
	    EVP_DigestUpdate(ctx, ORIGIN_WS_GUID,
	    sizeof(ORIGIN_WS_GUID) - 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return (-1);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	return (0);
}

/* One line per request that arrived, written whole (O_APPEND). */
static void
origin_log(struct origin_conn *c, struct http_msg *req)
{
	static const char *const framings[] = {
		[HTTP_FRAMING_NONE] = "none",
		[HTTP_FRAMING_LENGTH] = "length",
		[HTTP_FRAMING_CHUNKED] = "chunked",
		[HTTP_FRAMING_CLOSE] = "close",
	};
	struct http_field	 f;
	struct evbuffer		*line;
	const char		*m, *t;
	size_t			 mlen, tlen, i;

	if (c->o->logfd == -1 || (line = evbuffer_new()) == NULL)
		return;
	m = http_msg_method_name(req, &mlen);
	t = http_msg_target(req, &tlen);
	evbuffer_add_printf(line, "%.*s %.*s framing=%s body=%" PRIu64
	    " headers=", (int)mlen, m, (int)tlen, t,
	    framings[http_msg_framing(req)],
	    http_parser_body_bytes(c->parser));
	for (i = 0; i < http_msg_nfields(req); i++) {
		http_msg_field(req, i, &f);
		evbuffer_add_printf(line, "%s%.*s", i ? "," : "",
		    (int)f.f_namelen, f.f_name);
	}
	evbuffer_add(line, "\n", 1);
	if (write(c->o->logfd, evbuffer_pullup(line, -1),
	    evbuffer_get_length(line)) == -1)
		log_warn("log");
	evbuffer_free(line);
}

static void
origin_logf(struct origin *o, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 n;

	if (o->logfd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(o->logfd, buf, (size_t)n < sizeof(buf) ?
	    (size_t)n : sizeof(buf) - 1) == -1)
		log_warn("log");
}
