/*
 * proxy/tls.h: OpenSSL contexts for corral's two TLS roles.
 *
 * Server side, one struct tls_server per TLS listener: one SSL_CTX per
 * certificate, chosen by SNI, with TLS 1.2/1.3, ALPN http/1.1, session
 * tickets under rotating in-memory keys, a server-side session cache and
 * optional client certificates (mTLS).  Client side, one struct
 * tls_client per static server with "tls: true": verification, SNI and
 * host-name checks for upstream connections.
 *
 * Both are built before the workers start (or on reload) and are then
 * read-only: every worker thread may call tls_server_ssl() and
 * tls_client_ssl() at once.  Each SSL they return belongs to the one
 * worker that owns the connection.
 */
#ifndef PROXY_TLS_H
#define PROXY_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

struct conf_errors;
struct conf_listener;
struct conf_server;
struct mtime_clock;

/* Ticket keys rotate this often; the previous key still decrypts. */
#define TLS_TICKET_PERIOD_MS	(3600ULL * 1000)

/*
 * Session-ticket keys: a current key that encrypts new tickets and the
 * previous one, kept for one more period so that tickets issued just
 * before a rotation stay valid.  Keys live only in memory, are made with
 * the OpenSSL CSPRNG and rotate lazily, whenever a ticket is issued or
 * checked after the period has passed (no timer).  Refcounted: every
 * tls_server using them holds a reference, so the proxy can keep one set
 * across configuration reloads and tickets survive a SIGHUP.  Thread-safe.
 */
struct tls_tickets;

/*
 * New keys that rotate every <period_ms> milliseconds of <clock> (NULL:
 * CLOCK_MONOTONIC; a test passes its own).  <clock> is borrowed and must
 * outlive the keys.  NULL with errno on failure.  The caller holds one
 * reference.
 */
struct tls_tickets	*tls_tickets_new(const struct mtime_clock *clock,
			    uint64_t period_ms);
struct tls_tickets	*tls_tickets_get(struct tls_tickets *tk);
/* NULL is a no-op. */
void			 tls_tickets_put(struct tls_tickets *tk);

/* Rotates now: the current key becomes the previous one. 0, or -1. */
int			 tls_tickets_rotate(struct tls_tickets *tk);

/* Per listener: SSL_CTX(s) with SNI selection, tickets, cache, mTLS. */
struct tls_server;

/*
 * Builds the contexts of <li>'s "tls:" section (<li>->li_tls must not be
 * NULL): loads every certificate chain and key, the client CA, the cipher
 * list.  Each problem is added to <errs> at the position of the key
 * concerned ("listeners[0].tls.certs[1].key: key does not match ...");
 * NULL then.  <li> is borrowed: nothing is kept after the call.  Its own
 * ticket keys, rotating every TLS_TICKET_PERIOD_MS.
 */
struct tls_server	*tls_server_new(const struct conf_listener *li,
			    struct conf_errors *errs);

/* The same with shared ticket keys <tk> (a reference is taken). */
struct tls_server	*tls_server_new_tickets(const struct conf_listener *li,
			    struct tls_tickets *tk, struct conf_errors *errs);

/*
 * NULL is a no-op.  Every SSL made from <ts> must be freed first: their
 * callbacks (SNI, tickets) use it.
 */
void			 tls_server_free(struct tls_server *ts);

/*
 * A new server-side SSL for one accepted connection (the caller owns it
 * and frees it, usually through a bufferevent), or NULL if out of
 * memory.  Any thread.
 */
SSL			*tls_server_ssl(struct tls_server *ts);

/* Per static server with tls: true. */
struct tls_client;

/*
 * Client context for <sv>: peer verification on unless "verify: false",
 * against <sv>->sv_ca or the system store; SNI and the name checked are
 * "sni:" or else the host name of the address (no SNI for an IP literal,
 * which is checked against the certificate's IP addresses instead).
 * ALPN offers http/1.1.  The last session is kept and offered again, so
 * reconnections resume.  Errors are added to <errs>; NULL then.
 */
struct tls_client	*tls_client_new(const struct conf_server *sv,
			    struct conf_errors *errs);
/*
 * NULL is a no-op.  Every SSL made from <tc> must be freed first: TLS 1.3
 * tickets arrive at any time and are stored in <tc>.
 */
void			 tls_client_free(struct tls_client *tc);

/* A new client SSL with SNI and verification set, or NULL.  Any thread. */
SSL			*tls_client_ssl(struct tls_client *tc);

/*
 * After the handshake of a server-side <ssl>: the verified client
 * certificate's subject in RFC 2253 form ("CN=client one,O=Example"),
 * written into <buf> of <len> bytes, which is returned.  NULL when there
 * is no verified client certificate or the subject does not fit.  The
 * text is printable ASCII: OpenSSL escapes control and non-ASCII bytes.
 */
const char		*tls_client_cert_subject(SSL *ssl, char *buf,
			    size_t len);

/*
 * The reason text of this thread's last OpenSSL error ("certificate
 * verify failed", "unknown error" when there is none); clears the error
 * queue.  Static text.
 */
const char		*tls_error_reason(void);

/*
 * To call on a server or client SSL just before it is freed, as
 * bufferevent_free() does without sending a close_notify.  Once the
 * handshake is done, marks the shutdown as done both ways (nginx does the
 * same), so that OpenSSL keeps the session in the server's cache: without
 * it SSL_free() takes the connection for a broken one and drops the
 * session, and clients of a listener with "tickets: off" never resume.
 * Sends nothing; a no-op during the handshake.
 */
void			 tls_ssl_finish(SSL *ssl);

/* After the handshake: 1 if ALPN selected http/1.1, else 0. */
int			 tls_alpn_http11(SSL *ssl);

#endif /* PROXY_TLS_H */
