/*
 * proxy/http.h: HTTP/1.1 messages for corral: the one parser (client
 * requests, backend responses, health checks), the message model,
 * the proxy's rewriting, and serialisation.
 *
 * http.c		the incremental parser (llhttp for the head, our own
 *			strict checks and body framing on top)
 * http_msg.c		the message model: start line and ordered fields
 * http_rewrite.c	hop-by-hop removal, Via, X-Forwarded-*, X-Request-Id
 * http_write.c		heads, chunks and error responses into evbuffers
 *
 * Nothing here is shared between threads: a parser and its message
 * belong to the worker that owns the connection.
 */
#ifndef PROXY_HTTP_H
#define PROXY_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/*
 * Methods corral knows by name.  Any other method llhttp accepts
 * (WebDAV and friends) is HTTP_METHOD_OTHER, with its text in the
 * message.  The table exists once, here.
 */
#define HTTP_METHODS(X)							\
	X(GET,		"GET")						\
	X(HEAD,		"HEAD")						\
	X(POST,		"POST")						\
	X(PUT,		"PUT")						\
	X(DELETE,	"DELETE")					\
	X(CONNECT,	"CONNECT")					\
	X(OPTIONS,	"OPTIONS")					\
	X(TRACE,	"TRACE")					\
	X(PATCH,	"PATCH")

enum http_method {
	HTTP_METHOD_OTHER = 0,
#define HTTP_METHOD_ENUM(id, name)	HTTP_METHOD_##id,
	HTTP_METHODS(HTTP_METHOD_ENUM)
#undef HTTP_METHOD_ENUM
};

/* Status codes and their reason phrases (RFC 9110 §15), once. */
#define HTTP_REASONS(X)							\
	X(100, "Continue")						\
	X(101, "Switching Protocols")					\
	X(200, "OK")							\
	X(201, "Created")						\
	X(202, "Accepted")						\
	X(203, "Non-Authoritative Information")				\
	X(204, "No Content")						\
	X(205, "Reset Content")						\
	X(206, "Partial Content")					\
	X(300, "Multiple Choices")					\
	X(301, "Moved Permanently")					\
	X(302, "Found")							\
	X(303, "See Other")						\
	X(304, "Not Modified")						\
	X(307, "Temporary Redirect")					\
	X(308, "Permanent Redirect")					\
	X(400, "Bad Request")						\
	X(401, "Unauthorized")						\
	X(403, "Forbidden")						\
	X(404, "Not Found")						\
	X(405, "Method Not Allowed")					\
	X(406, "Not Acceptable")					\
	X(408, "Request Timeout")					\
	X(409, "Conflict")						\
	X(410, "Gone")							\
	X(411, "Length Required")					\
	X(412, "Precondition Failed")					\
	X(413, "Content Too Large")					\
	X(414, "URI Too Long")						\
	X(415, "Unsupported Media Type")				\
	X(416, "Range Not Satisfiable")					\
	X(417, "Expectation Failed")					\
	X(421, "Misdirected Request")					\
	X(422, "Unprocessable Content")					\
	X(426, "Upgrade Required")					\
	X(429, "Too Many Requests")					\
	X(431, "Request Header Fields Too Large")			\
	X(500, "Internal Server Error")					\
	X(501, "Not Implemented")					\
	X(502, "Bad Gateway")						\
	X(503, "Service Unavailable")					\
	X(504, "Gateway Timeout")					\
	X(505, "HTTP Version Not Supported")

/* How a message's body is delimited (RFC 9112 §6.3). */
enum http_framing {
	HTTP_FRAMING_NONE = 0,		/* no body at all */
	HTTP_FRAMING_LENGTH,		/* Content-Length: N (N may be 0) */
	HTTP_FRAMING_CHUNKED,		/* Transfer-Encoding: chunked */
	HTTP_FRAMING_CLOSE,		/* until the server closes (responses) */
};

/* Bits of http_msg_flags(). */
#define HTTP_MSG_KEEPALIVE	0x01	/* the connection may carry another */
#define HTTP_MSG_EXPECT_100	0x02	/* request: Expect: 100-continue */
#define HTTP_MSG_UPGRADE	0x04	/* request: Upgrade + Connection:
					   upgrade; response: 101 to one */
#define HTTP_MSG_ABSOLUTE	0x08	/* request-target in absolute-form */

struct http_msg;
struct http_parser;

/* One header field as returned by http_msg_field(): not terminated. */
struct http_field {
	const char	*f_name;
	size_t		 f_namelen;
	const char	*f_value;
	size_t		 f_valuelen;
};

/*
 * Parser bounds.  A request over one of them is answered with the status
 * in the comment; a response over one of them is a 502.
 */
struct http_limits {
	size_t		 l_max_uri;		/* request-target bytes: 414 */
	size_t		 l_max_header_bytes;	/* field section bytes: 431 */
	size_t		 l_max_headers;		/* field lines: 431 */
	uint64_t	 l_max_body;		/* body bytes, 0 = any: 413 */
};

#define HTTP_DEFAULT_MAX_URI		8192
#define HTTP_DEFAULT_MAX_HEADER_BYTES	32768
#define HTTP_DEFAULT_MAX_HEADERS	100

/*
 * http.c ---------------------------------------------------------------
 */

enum http_parse_result {
	HTTP_PARSE_OK = 0,	/* http_parse_eof(): closed between messages */
	HTTP_PARSE_AGAIN,	/* all input used, need more bytes */
	HTTP_PARSE_HEAD,	/* head complete: look at http_parser_msg() */
	HTTP_PARSE_BODY,	/* body bytes were appended to <body> */
	HTTP_PARSE_DONE,	/* message complete (last bytes in <body>) */
	HTTP_PARSE_ERROR,	/* see http_parser_status/_error() */
};

enum http_parser_kind {
	HTTP_PARSER_REQUEST = 0,
	HTTP_PARSER_RESPONSE,
};

/* Fills <lim> with the defaults above (no body limit). */
void	 http_limits_default(struct http_limits *lim);

/*
 * A parser for one direction of one connection.  <lim> is copied; NULL,
 * or a zero in one of its first three bounds, means the default.
 * Returns NULL on allocation failure.
 */
struct http_parser	*http_parser_new(enum http_parser_kind kind,
			    const struct http_limits *lim);
/* The memory is kept for this thread's next http_parser_new(). */
void			 http_parser_free(struct http_parser *p);
/* Frees what this thread keeps for http_parser_new(): before it ends. */
void			 http_parser_cache_flush(void);

/*
 * Response parsers only: the request the next responses answer.  A HEAD
 * request's response has no body whatever its fields say; a 101 is valid
 * only if <upgrade> (the request asked for HTTP_MSG_UPGRADE).  Call it
 * before the response's first byte is parsed; it holds until changed
 * (so a 100 Continue and the final response answer the same request).
 */
void	 http_parser_set_request(struct http_parser *p,
	    enum http_method method, int upgrade);

/*
 * Parses bytes from <in>, draining what it uses, and stops at the first
 * event: the end of the head (HEAD: the body is not touched before the
 * next call), body bytes (BODY), the end of the message (DONE), an
 * error, or the end of the input (AGAIN).  De-chunked body bytes are
 * appended to <body> (NULL: discarded); at most <body_max> (> 0) of them
 * per call, which is how the caller applies backpressure.  After DONE,
 * the bytes of the next message stay in <in> until the next call, which
 * starts that message: pipelined requests wait for the caller.  After a
 * message with HTTP_MSG_UPGRADE the caller must decide (101 or not)
 * before calling again: after a 101 the bytes are the tunnel's.  After
 * ERROR the parser stays in error; the connection must be closed.
 */
enum http_parse_result	http_parse(struct http_parser *p, struct evbuffer *in,
			    struct evbuffer *body, size_t body_max)
			    __attribute__((warn_unused_result));

/* The same from a byte span: <*used> is set to the bytes consumed. */
enum http_parse_result	http_parse_span(struct http_parser *p,
			    const char *data, size_t len, size_t *used,
			    struct evbuffer *body, size_t body_max)
			    __attribute__((warn_unused_result));

/*
 * The peer closed.  OK if no message was in progress (a response parser's
 * caller knows whether one was due), DONE if it ends a body delimited by
 * the close, else ERROR (a truncated message).
 */
enum http_parse_result	http_parse_eof(struct http_parser *p)
			    __attribute__((warn_unused_result));

/*
 * The message being parsed, owned by the parser: valid from HEAD until
 * the call that starts the next message.  The caller may rewrite it.
 */
struct http_msg		*http_parser_msg(struct http_parser *p);

/* Takes the current message; the parser starts its next one afresh. */
struct http_msg		*http_parser_take(struct http_parser *p);

/*
 * After ERROR: the status to answer with (400, 413, 414, 417, 431, 501,
 * 505 for requests; 502 for responses) and a short reason for the log.
 */
int			 http_parser_status(const struct http_parser *p);
const char		*http_parser_error(const struct http_parser *p);

/* Body bytes handed out so far for the current message. */
uint64_t		 http_parser_body_bytes(const struct http_parser *p);

/* "GET" for HTTP_METHOD_GET, NULL for HTTP_METHOD_OTHER. */
const char		*http_method_name(enum http_method m);

/* The method named by <name>/<len> (case-sensitive, RFC 9110 §9.1). */
enum http_method	 http_method_lookup(const char *name, size_t len);

/* The reason phrase of <status>; "Unknown" for a code not in the table. */
const char		*http_reason(int status);

/*
 * http_msg.c -----------------------------------------------------------
 */

/* An empty message, for building requests and responses. */
struct http_msg	*http_msg_new(void);
void		 http_msg_free(struct http_msg *msg);

/* Start line: requests. <target> is copied. 0 or -1 (ENOMEM/EINVAL). */
int		 http_msg_set_request(struct http_msg *msg,
		    enum http_method method, const char *method_name,
		    const char *target)
		    __attribute__((warn_unused_result));
/* Start line: responses. <reason> NULL takes http_reason(). */
int		 http_msg_set_status(struct http_msg *msg, int status,
		    const char *reason)
		    __attribute__((warn_unused_result));

enum http_method http_msg_method(const struct http_msg *msg);
const char	*http_msg_method_name(const struct http_msg *msg,
		    size_t *len);
const char	*http_msg_target(const struct http_msg *msg, size_t *len);
/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
int		 http_msg_version(const struct http_msg *msg);
int		 http_msg_status(const struct http_msg *msg);
const char	*http_msg_reason(const struct http_msg *msg, size_t *len);
unsigned	 http_msg_flags(const struct http_msg *msg);
enum http_framing http_msg_framing(const struct http_msg *msg);
/* The declared Content-Length (HTTP_FRAMING_LENGTH), else 0. */
uint64_t	 http_msg_content_length(const struct http_msg *msg);

/*
 * The head exactly as received, start line to the empty line included;
 * NULL for a message built with http_msg_new().
 */
const char	*http_msg_head(const struct http_msg *msg, size_t *len);

/*
 * Fields in order.  Pointers from these functions are valid until the
 * message is next changed.
 */
size_t		 http_msg_nfields(const struct http_msg *msg);
void		 http_msg_field(const struct http_msg *msg, size_t i,
		    struct http_field *f);
/* First field named <name> (case-insensitive): its value, or NULL. */
const char	*http_msg_get(const struct http_msg *msg, const char *name,
		    size_t *len);
/* Last one: the one a proxy appends its list element to. */
const char	*http_msg_get_last(const struct http_msg *msg,
		    const char *name, size_t *len);
size_t		 http_msg_count(const struct http_msg *msg, const char *name);
/*
 * Whether a comma-separated list field <name> (all its lines) contains
 * <token>, case-insensitively (Connection: close, Expect).
 */
int		 http_msg_has_token(const struct http_msg *msg,
		    const char *name, const char *token);

/*
 * Append a field.  The name must be a token and the value free of CR, LF
 * and NUL, else -1 with EINVAL; -1 with ENOMEM too.
 */
int		 http_msg_add(struct http_msg *msg, const char *name,
		    const char *value) __attribute__((warn_unused_result));
int		 http_msg_addn(struct http_msg *msg, const char *name,
		    size_t namelen, const char *value, size_t valuelen)
		    __attribute__((warn_unused_result));
/* Remove every <name> field, then add one. */
int		 http_msg_set(struct http_msg *msg, const char *name,
		    const char *value) __attribute__((warn_unused_result));
/* Replace the value of field <i>. */
int		 http_msg_replace(struct http_msg *msg, size_t i,
		    const char *value, size_t valuelen)
		    __attribute__((warn_unused_result));
/* Remove every <name> field; returns how many went. */
size_t		 http_msg_remove(struct http_msg *msg, const char *name);
void		 http_msg_remove_at(struct http_msg *msg, size_t i);

/*
 * http_rewrite.c -------------------------------------------------------
 */

/* What the proxy knows about the client side of a forwarded request. */
struct http_forward {
	const char	*fw_client_ip;	/* peer address, text */
	int		 fw_trusted;	/* peer is a trusted proxy */
	int		 fw_tls;	/* client spoke TLS: proto https */
	const char	*fw_via;	/* pseudonym, NULL = "corral" */
	/* Randomness for X-Request-Id: fills <buf>, 0 or -1; NULL =
	   getrandom(2). */
	int		(*fw_random)(void *arg, void *buf, size_t len);
	void		 *fw_random_arg;
};

/*
 * Removes the hop-by-hop fields (RFC 9110 §7.6.1): Connection and every
 * field it names (Host and Content-Length excepted), Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding (framing is chosen
 * again when the head is written) and Upgrade.  With <tunnel>, Upgrade
 * stays and "Connection: upgrade" is put back.  0 or -1 (ENOMEM).
 */
int	 http_rewrite_hop_by_hop(struct http_msg *msg, int tunnel)
	    __attribute__((warn_unused_result));

/* Appends "1.1 <pseudonym>" to the last Via field, or adds one. */
int	 http_rewrite_via(struct http_msg *msg, const char *pseudonym)
	    __attribute__((warn_unused_result));

/*
 * Everything a request needs before going upstream: hop-by-hop removal
 * (<tunnel> as above), Via, X-Forwarded-For (appended to when the peer
 * is trusted, replaced otherwise), X-Forwarded-Proto and X-Forwarded-Host
 * (kept from a trusted peer, else set), X-Request-Id (kept from a trusted
 * peer if well-formed, else a new random 128-bit hex id).  Expect goes
 * too (corral answers 100-continue itself), and X-Client-Cert-Subject
 * from whoever sent it (only corral says who a TLS client is).  0 or -1.
 */
int	 http_rewrite_request(struct http_msg *req,
	    const struct http_forward *fw, int tunnel)
	    __attribute__((warn_unused_result));

/* A response before going back to the client: hop-by-hop, Via. */
int	 http_rewrite_response(struct http_msg *resp, const char *pseudonym,
	    int tunnel) __attribute__((warn_unused_result));

/*
 * http_write.c ---------------------------------------------------------
 */

/*
 * Writes the head of <msg> (request or response, always as HTTP/1.1)
 * into <out>.  Its Content-Length and Transfer-Encoding fields are
 * dropped and <framing> decides: LENGTH writes "Content-Length:
 * <length>", CHUNKED "Transfer-Encoding: chunked", CLOSE nothing, NONE
 * keeps the message's own Content-Length (a HEAD or 304 response's).
 * 0 or -1 (ENOMEM).
 */
int	 http_write_head(struct evbuffer *out, const struct http_msg *msg,
	    enum http_framing framing, uint64_t length)
	    __attribute__((warn_unused_result));

/* One chunk holding all of <data> (drained); nothing if it is empty. */
int	 http_write_chunk(struct evbuffer *out, struct evbuffer *data)
	    __attribute__((warn_unused_result));
int	 http_write_chunk_data(struct evbuffer *out, const void *data,
	    size_t len) __attribute__((warn_unused_result));
/* The last-chunk and the end of the (empty) trailer section. */
int	 http_write_last_chunk(struct evbuffer *out)
	    __attribute__((warn_unused_result));

/*
 * A complete short response for <status>: status line, Content-Type:
 * text/plain, Content-Length, Connection: close and a one-line body
 * ("413 Content Too Large").
 */
int	 http_write_error(struct evbuffer *out, int status)
	    __attribute__((warn_unused_result));

#endif /* PROXY_HTTP_H */
