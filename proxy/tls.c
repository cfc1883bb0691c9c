/*
 * proxy/tls.c: the server side of TLS, one struct tls_server per TLS
 * listener, and the session-ticket keys they share.
 *
 * A tls_server holds one SSL_CTX per certificate, all configured alike
 * (versions, ciphers, ALPN, tickets, cache, client verification), and a
 * table of the DNS names each certificate covers.  New SSLs start on the
 * default certificate's context; the servername callback moves a
 * connection to the context whose name matches its SNI: exact names
 * first, then "*.example.com" wildcards, which cover exactly one label.
 * The default context is also the "session context" OpenSSL keeps the
 * session cache and the ticket callback on, so resumption works whichever
 * certificate was served.
 *
 * Built on the main thread, then read-only: the worker threads share the
 * contexts (OpenSSL 3 locks what it mutates inside them, the session
 * cache).  The only mutable state, the ticket keys, has its own mutex.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/mtime.h"
#include "proxy/tls.h"

/*
 * For TLS 1.2 only (1.3 suites are all AEAD): forward secrecy and AEAD,
 * the "intermediate" list of Mozilla's guidelines.
 */
#define TLS_CIPHERS_DEFAULT						\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Session-cache entries per byte of "session_cache" (as nginx counts). */
#define TLS_SESSION_BYTES	256
#define TLS_VERIFY_DEPTH	10
#define TLS_NAME_MAX		253	/* RFC 1035 */
#define TLS_SID_CTX_MAX		SSL_MAX_SID_CTX_LENGTH

#define TLS_KEY_NAME_LEN	16
#define TLS_KEY_AES_LEN		32
#define TLS_KEY_HMAC_LEN	32

struct tls_key {
	unsigned char	 tk_name[TLS_KEY_NAME_LEN];
	unsigned char	 tk_aes[TLS_KEY_AES_LEN];
	unsigned char	 tk_hmac[TLS_KEY_HMAC_LEN];
};

/* Owned by its references: each tls_server and whoever made it. */
struct tls_tickets {
	atomic_uint		 tt_refs;
	pthread_mutex_t		 tt_lock;	/* guards the rest */
	const struct mtime_clock *tt_clock;
	uint64_t		 tt_period;	/* ns */
	uint64_t		 tt_start;	/* ns: tt_cur's period */
	struct tls_key		 tt_cur;
	struct tls_key		 tt_prev;
	bool			 tt_has_prev;
	EVP_CIPHER		*tt_cipher;	/* AES-256-CBC */
};

/* One DNS name of a certificate: "a.test", or ".wild.test" for "*.". */
struct tls_name {
	char		*tn_name;
	bool		 tn_wild;
	SSL_CTX		*tn_ctx;	/* borrowed from ts_ctxs */
};

/* Owned by the runtime built for one listener. */
struct tls_server {
	unsigned		 magic;
#define TLS_SERVER_MAGIC	0x7e5e7e01
	SSL_CTX			**ts_ctxs;	/* [0]: the default */
	size_t			 ts_nctxs;
	struct tls_name		*ts_names;	/* first listed wins */
	size_t			 ts_nnames;
	struct tls_tickets	*ts_tickets;
	X509_STORE		*ts_cas;	/* client CAs, or NULL */
	STACK_OF(X509_NAME)	*ts_ca_names;
};

static uint64_t	tls_tickets_now(const struct tls_tickets *);
static int	tls_tickets_fill(struct tls_key *);
static void	tls_tickets_tick(struct tls_tickets *);
static int	tls_tickets_find(struct tls_tickets *, const unsigned char *,
		    struct tls_key *, bool *);
static int	tls_server_ticket_cb(SSL *, unsigned char *, unsigned char *,
		    EVP_CIPHER_CTX *, EVP_MAC_CTX *, int);
static int	tls_server_mac_init(EVP_MAC_CTX *, const struct tls_key *);
static int	tls_server_sni_cb(SSL *, int *, void *);
static int	tls_server_alpn_cb(SSL *, const unsigned char **,
		    unsigned char *, const unsigned char *, unsigned int,
		    void *);
static int	tls_server_no_password(char *, int, int, void *);
static SSL_CTX	*tls_server_ctx_new(struct tls_server *,
		    const struct conf_listener *, const char *);
static int	tls_server_check_ciphers(const struct conf_listener *,
		    struct conf_errors *);
static int	tls_server_load_cas(struct tls_server *,
		    const struct conf_listener *, struct conf_errors *);
static int	tls_server_load_cert(struct tls_server *, SSL_CTX *,
		    const struct conf_cert *, bool, struct conf_errors *);
static X509	*tls_server_load_chain(SSL_CTX *, const struct conf_file *,
		    struct conf_errors *);
static int	tls_server_load_key(SSL_CTX *, X509 *,
		    const struct conf_cert *, struct conf_errors *);
static int	tls_server_add_names(struct tls_server *, SSL_CTX *, X509 *,
		    const struct conf_cert *, bool, struct conf_errors *);
static int	tls_server_add_name(struct tls_server *, SSL_CTX *,
		    const unsigned char *, int, const struct conf_cert *,
		    struct conf_errors *);
static SSL_CTX	*tls_server_lookup(const struct tls_server *,
		    const char *);

const char *
tls_error_reason(void)
{
	unsigned long	 e;
	const char	*r;

	e = ERR_peek_last_error();
	r = e != 0 ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/* ------------------------------------------------------------------ */
/* Ticket keys */

struct tls_tickets *
tls_tickets_new(const struct mtime_clock *clock, uint64_t period_ms)
{
	struct tls_tickets	*tk;

	if (period_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((tk = calloc(1, sizeof(*tk))) == NULL)
		return NULL;
	atomic_init(&tk->tt_refs, 1);
	tk->tt_clock = clock != NULL ? clock : &mtime_monotonic;
	tk->tt_period = period_ms * MTIME_NS_PER_MS;
	if ((errno = pthread_mutex_init(&tk->tt_lock, NULL)) != 0) {
		free(tk);
		return NULL;
	}
	tk->tt_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (tk->tt_cipher == NULL || tls_tickets_fill(&tk->tt_cur) == -1) {
		EVP_CIPHER_free(tk->tt_cipher);
		pthread_mutex_destroy(&tk->tt_lock);
		free(tk);
		errno = EIO;
		return NULL;
	}
	tk->tt_start = tls_tickets_now(tk);
	return tk;
}

struct tls_tickets *
tls_tickets_get(struct tls_tickets *tk)
{
	atomic_fetch_add(&tk->tt_refs, 1);
	return tk;
}

void
tls_tickets_put(struct tls_tickets *tk)
{
	if (tk == NULL || atomic_fetch_sub(&tk->tt_refs, 1) != 1)
		return;
	OPENSSL_cleanse(&tk->tt_cur, sizeof(tk->tt_cur));
	OPENSSL_cleanse(&tk->tt_prev, sizeof(tk->tt_prev));
	EVP_CIPHER_free(tk->tt_cipher);
	pthread_mutex_destroy(&tk->tt_lock);
	free(tk);
}

int
tls_tickets_rotate(struct tls_tickets *tk)
{
	struct tls_key	 key;

	if (tls_tickets_fill(&key) == -1) {
		errno = EIO;
		return -1;
	}
	pthread_mutex_lock(&tk->tt_lock);
	tk->tt_prev = tk->tt_cur;
	tk->tt_has_prev = true;
	tk->tt_cur = key;
	tk->tt_start = tls_tickets_now(tk);
	pthread_mutex_unlock(&tk->tt_lock);
	OPENSSL_cleanse(&key, sizeof(key));
	return 0;
}

static uint64_t
tls_tickets_now(const struct tls_tickets *tk)
{
	return tk->tt_clock->now_ns(tk->tt_clock->arg);
}

static int
tls_tickets_fill(struct tls_key *key)
{
	if (RAND_bytes(key->tk_name, sizeof(key->tk_name)) != 1 ||
	    RAND_priv_bytes(key->tk_aes, sizeof(key->tk_aes)) != 1 ||
	    RAND_priv_bytes(key->tk_hmac, sizeof(key->tk_hmac)) != 1)
		return -1;
	return 0;
}

/*
 * Rotates lazily, on the period grid that began at creation: the key of
 * period n encrypts during period n and still decrypts during n + 1.
 * When a whole period went by unused, the previous key is older than
 * that and is dropped too.  Called with tt_lock held.
 */
static void
tls_tickets_tick(struct tls_tickets *tk)
{
	struct tls_key	 key;
	uint64_t	 now, k;

	now = tls_tickets_now(tk);
	if (now < tk->tt_start || now - tk->tt_start < tk->tt_period)
		return;
	if (tls_tickets_fill(&key) == -1)
		return;		/* keep the old key, try again later */
	k = (now - tk->tt_start) / tk->tt_period;
	if (k == 1) {
		tk->tt_prev = tk->tt_cur;
		tk->tt_has_prev = true;
	} else {
		OPENSSL_cleanse(&tk->tt_prev, sizeof(tk->tt_prev));
		tk->tt_has_prev = false;
	}
	tk->tt_cur = key;
	tk->tt_start += k * tk->tt_period;
	OPENSSL_cleanse(&key, sizeof(key));
}

/*
 * Copies the key to encrypt with (<name> NULL) or the key called <name>
 * into <key>; <old> tells whether it is the previous one.  0, or -1 when
 * no key has that name.
 */
static int
tls_tickets_find(struct tls_tickets *tk, const unsigned char *name,
    struct tls_key *key, bool *old)
{
	int	 rc = 0;

	pthread_mutex_lock(&tk->tt_lock);
	tls_tickets_tick(tk);
	*old = false;
	if (name == NULL ||
	    memcmp(name, tk->tt_cur.tk_name, TLS_KEY_NAME_LEN) == 0)
		*key = tk->tt_cur;
	else if (tk->tt_has_prev &&
	    memcmp(name, tk->tt_prev.tk_name, TLS_KEY_NAME_LEN) == 0) {
		*key = tk->tt_prev;
		*old = true;
	} else
		rc = -1;
	pthread_mutex_unlock(&tk->tt_lock);
	return rc;
}

static int
tls_server_mac_init(EVP_MAC_CTX *hctx, const struct tls_key *key)
{
	OSSL_PARAM	 params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)key->tk_hmac, sizeof(key->tk_hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/*
 * OpenSSL's ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)):
 * with <enc>, name, IV and keys for a new ticket; without, the keys of
 * the ticket named <name>: 1, or 2 to have the client get a new ticket
 * under the current key, or 0 for an unknown key (full handshake).
 */
static int
tls_server_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_server	*ts;
	struct tls_key		 key;
	bool			 old;
	int			 ivlen, rc = -1;

	ts = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (ts == NULL || ts->magic != TLS_SERVER_MAGIC)
		return -1;
	ivlen = EVP_CIPHER_get_iv_length(ts->ts_tickets->tt_cipher);
	if (enc) {
		if (tls_tickets_find(ts->ts_tickets, NULL, &key, &old) == -1 ||
		    RAND_bytes(iv, ivlen) != 1)
			goto done;
		memcpy(name, key.tk_name, TLS_KEY_NAME_LEN);
		if (EVP_EncryptInit_ex(cctx, ts->ts_tickets->tt_cipher, NULL,
		    key.tk_aes, iv) != 1 ||
		    tls_server_mac_init(hctx, &key) == -1)
			goto done;
		rc = 1;
	} else {
		if (tls_tickets_find(ts->ts_tickets, name, &key, &old) == -1) {
			rc = 0;
			goto done;
		}
		if (EVP_DecryptInit_ex(cctx, ts->ts_tickets->tt_cipher, NULL,
		    key.tk_aes, iv) != 1 ||
		    tls_server_mac_init(hctx, &key) == -1)
			goto done;
		rc = old ? 2 : 1;
	}
done:
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}

/* ------------------------------------------------------------------ */
/* Server contexts */

struct tls_server *
tls_server_new(const struct conf_listener *li, struct conf_errors *errs)
{
	return tls_server_new_tickets(li, NULL, errs);
}

struct tls_server *
tls_server_new_tickets(const struct conf_listener *li, struct tls_tickets *tk,
    struct conf_errors *errs)
{
	const struct conf_tls	*tl = li->li_tls;
	const struct conf_cert	*ce;
	struct tls_server	*ts;
	const char		*ciphers;
	SSL_CTX			*ctx;
	size_t			 i, n;
	bool			 bad = false;

	ASSERT(tl != NULL);
	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		goto nomem;
	ts->magic = TLS_SERVER_MAGIC;
	ts->ts_tickets = tk != NULL ? tls_tickets_get(tk) :
	    tls_tickets_new(NULL, TLS_TICKET_PERIOD_MS);
	if (ts->ts_tickets == NULL)
		goto nomem;
	n = tl->tl_ncerts + (tl->tl_default.ce_cert.cf_path != NULL);
	if (n == 0) {		/* conf/ refuses this already */
		conf_errors_at(errs, &tl->tl_pos, li->li_key, "tls: no "
		    "certificate");
		tls_server_free(ts);
		return NULL;
	}
	if ((ts->ts_ctxs = calloc(n, sizeof(*ts->ts_ctxs))) == NULL)
		goto nomem;

	ciphers = tl->tl_ciphers != NULL ? tl->tl_ciphers :
	    TLS_CIPHERS_DEFAULT;
	if (tls_server_check_ciphers(li, errs) == -1) {
		bad = true;
		ciphers = NULL;
	}
	if (tl->tl_verify_client != CONF_VERIFY_OFF &&
	    tls_server_load_cas(ts, li, errs) == -1)
		bad = true;

	/* Every certificate is loaded, even after an error: report all. */
	for (i = 0; i < n; i++) {
		if (tl->tl_default.ce_cert.cf_path != NULL)
			ce = i == 0 ? &tl->tl_default : &tl->tl_certs[i - 1];
		else
			ce = &tl->tl_certs[i];
		if ((ctx = tls_server_ctx_new(ts, li, ciphers)) == NULL)
			goto nomem;
		ts->ts_ctxs[ts->ts_nctxs++] = ctx;
		if (tls_server_load_cert(ts, ctx, ce, i == 0, errs) == -1)
			bad = true;
	}
	if (bad) {
		tls_server_free(ts);
		return NULL;
	}
	return ts;

nomem:
	conf_errors_at(errs, &tl->tl_pos, li->li_key, "tls: out of memory");
	tls_server_free(ts);
	return NULL;
}

void
tls_server_free(struct tls_server *ts)
{
	size_t	 i;

	if (ts == NULL)
		return;
	ASSERT(ts->magic == TLS_SERVER_MAGIC);
	for (i = 0; i < ts->ts_nctxs; i++)
		SSL_CTX_free(ts->ts_ctxs[i]);
	free(ts->ts_ctxs);
	for (i = 0; i < ts->ts_nnames; i++)
		free(ts->ts_names[i].tn_name);
	free(ts->ts_names);
	X509_STORE_free(ts->ts_cas);
	sk_X509_NAME_pop_free(ts->ts_ca_names, X509_NAME_free);
	tls_tickets_put(ts->ts_tickets);
	ts->magic = 0;
	free(ts);
}

SSL *
tls_server_ssl(struct tls_server *ts)
{
	ASSERT(ts->magic == TLS_SERVER_MAGIC);
	return SSL_new(ts->ts_ctxs[0]);
}

void
tls_ssl_finish(SSL *ssl)
{
	if (SSL_is_init_finished(ssl))
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN |
		    SSL_RECEIVED_SHUTDOWN);
}

int
tls_alpn_http11(SSL *ssl)
{
	const unsigned char	*p;
	unsigned int		 len;

	SSL_get0_alpn_selected(ssl, &p, &len);
	return len == 8 && memcmp(p, "http/1.1", 8) == 0;
}

/*
 * One context, configured like every other of the listener: only the
 * certificate differs between them, since SSL_set_SSL_CTX() swaps the
 * certificate but keeps the connection's other settings.  <ciphers> NULL
 * leaves OpenSSL's list (the configured one was bad, and reported).
 */
static SSL_CTX *
tls_server_ctx_new(struct tls_server *ts, const struct conf_listener *li,
    const char *ciphers)
{
	const struct conf_tls	*tl = li->li_tls;
	STACK_OF(X509_NAME)	*names;
	SSL_CTX			*ctx;
	unsigned char		 sid[TLS_SID_CTX_MAX];
	uint64_t		 options;
	size_t			 len;
	int			 mode;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return NULL;
	SSL_CTX_set_app_data(ctx, ts);
	SSL_CTX_set_min_proto_version(ctx, tl->tl_min_version ==
	    CONF_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
	options = SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION;
	if (!tl->tl_tickets)
		options |= SSL_OP_NO_TICKET;
	SSL_CTX_set_options(ctx, options);
	/* Idle keep-alive connections then hold no 34 KiB of buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
		goto fail;

	/* The same id context everywhere: a session survives SNI moves. */
	len = strlen(li->li_name);
	if (len > sizeof(sid) - 7)
		len = sizeof(sid) - 7;
	memcpy(sid, "corral:", 7);
	memcpy(sid + 7, li->li_name, len);
	if (SSL_CTX_set_session_id_context(ctx, sid, 7 + len) != 1)
		goto fail;
	if (tl->tl_session_cache > 0) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(ctx,
		    tl->tl_session_cache / TLS_SESSION_BYTES > 0 ?
		    (long)(tl->tl_session_cache / TLS_SESSION_BYTES) : 1);
	} else
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (tl->tl_tickets &&
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx,
	    tls_server_ticket_cb) != 1)
		goto fail;
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_server_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, ts);
	SSL_CTX_set_alpn_select_cb(ctx, tls_server_alpn_cb, NULL);

	if (tl->tl_verify_client != CONF_VERIFY_OFF && ts->ts_cas != NULL) {
		mode = SSL_VERIFY_PEER;
		if (tl->tl_verify_client == CONF_VERIFY_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, NULL);
		SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
		SSL_CTX_set1_cert_store(ctx, ts->ts_cas);
		if ((names = SSL_dup_CA_list(ts->ts_ca_names)) == NULL)
			goto fail;
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	return ctx;

fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * OpenSSL 3 accepts a list with unknown names in it as long as one
 * cipher is left, so this catches lists with nothing usable in them.
 * The ciphers key has no position of its own: report at "tls:".
 */
static int
tls_server_check_ciphers(const struct conf_listener *li,
    struct conf_errors *errs)
{
	const struct conf_tls	*tl = li->li_tls;
	SSL_CTX			*ctx;
	char			 path[128];
	int			 rc = 0;

	if (tl->tl_ciphers == NULL)
		return 0;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return -1;
	if (SSL_CTX_set_cipher_list(ctx, tl->tl_ciphers) != 1) {
		snprintf(path, sizeof(path), "%s.tls.ciphers", li->li_key);
		conf_errors_at(errs, &tl->tl_pos, path, "no usable cipher in "
		    "\"%s\": %s", tl->tl_ciphers, tls_error_reason());
		rc = -1;
	}
	SSL_CTX_free(ctx);
	return rc;
}

static int
tls_server_load_cas(struct tls_server *ts, const struct conf_listener *li,
    struct conf_errors *errs)
{
	const struct conf_file	*f = &li->li_tls->tl_client_ca;

	ERR_clear_error();
	if (access(f->cf_path, R_OK) == -1) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "cannot read "
		    "\"%s\": %s", f->cf_path, strerror(errno));
		return -1;
	}
	if ((ts->ts_cas = X509_STORE_new()) == NULL)
		return -1;
	if (X509_STORE_load_file(ts->ts_cas, f->cf_path) != 1) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key,
		    "cannot load CA certificates from \"%s\": %s", f->cf_path,
		    tls_error_reason());
		return -1;
	}
	/* The names go into CertificateRequest, so clients pick a cert. */
	ts->ts_ca_names = SSL_load_client_CA_file(f->cf_path);
	if (ts->ts_ca_names == NULL) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key,
		    "no CA certificate in \"%s\"", f->cf_path);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* Password callback: a key that needs one is an error, not a prompt. */
static int
tls_server_no_password(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/*
 * Loads certificate <ce> into <ctx> and indexes its names.  <first>: the
 * default certificate, which needs no name to be served.
 */
static int
tls_server_load_cert(struct tls_server *ts, SSL_CTX *ctx,
    const struct conf_cert *ce, bool first, struct conf_errors *errs)
{
	X509	*leaf;
	int	 rc = -1;

	ERR_clear_error();
	if ((leaf = tls_server_load_chain(ctx, &ce->ce_cert, errs)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	if (tls_server_load_key(ctx, leaf, ce, errs) == 0 &&
	    tls_server_add_names(ts, ctx, leaf, ce, first, errs) == 0)
		rc = 0;
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
		conf_errors_warn_at(errs, &ce->ce_cert.cf_pos,
		    ce->ce_cert.cf_key, "certificate in \"%s\" has expired",
		    ce->ce_cert.cf_path);
	X509_free(leaf);
	ERR_clear_error();
	return rc;
}

/*
 * The leaf and then any intermediates, as SSL_CTX_use_certificate_chain_
 * file() reads them, but with errors that say which.  The leaf comes back
 * with a reference for the caller.
 */
static X509 *
tls_server_load_chain(SSL_CTX *ctx, const struct conf_file *f,
    struct conf_errors *errs)
{
	unsigned long	 e;
	FILE		*fp;
	X509		*leaf = NULL, *ca;
	int		 n;

	if ((fp = fopen(f->cf_path, "r")) == NULL) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "cannot read "
		    "\"%s\": %s", f->cf_path, strerror(errno));
		return NULL;
	}
	leaf = PEM_read_X509_AUX(fp, NULL, tls_server_no_password, NULL);
	if (leaf == NULL) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "no PEM "
		    "certificate in \"%s\": %s", f->cf_path,
		    tls_error_reason());
		goto fail;
	}
	if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "certificate in "
		    "\"%s\" refused: %s", f->cf_path, tls_error_reason());
		goto fail;
	}
	for (n = 2;; n++) {
		if ((ca = PEM_read_X509(fp, NULL, tls_server_no_password,
		    NULL)) == NULL) {
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break;		/* the end of the file */
			conf_errors_at(errs, &f->cf_pos, f->cf_key, "bad "
			    "certificate #%d in \"%s\": %s", n, f->cf_path,
			    tls_error_reason());
			goto fail;
		}
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			conf_errors_at(errs, &f->cf_pos, f->cf_key, "chain "
			    "certificate #%d in \"%s\" refused: %s", n,
			    f->cf_path, tls_error_reason());
			goto fail;
		}
	}
	ERR_clear_error();
	fclose(fp);
	return leaf;

fail:
	X509_free(leaf);
	fclose(fp);
	return NULL;
}

static int
tls_server_load_key(SSL_CTX *ctx, X509 *leaf, const struct conf_cert *ce,
    struct conf_errors *errs)
{
	const struct conf_file	*f = &ce->ce_key;
	EVP_PKEY		*pkey;
	FILE			*fp;
	int			 rc = -1;

	if ((fp = fopen(f->cf_path, "r")) == NULL) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "cannot read "
		    "\"%s\": %s", f->cf_path, strerror(errno));
		return -1;
	}
	pkey = PEM_read_PrivateKey(fp, NULL, tls_server_no_password, NULL);
	fclose(fp);
	if (pkey == NULL) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "no usable PEM "
		    "private key in \"%s\" (encrypted keys are not supported): "
		    "%s", f->cf_path, tls_error_reason());
		return -1;
	}
	if (X509_check_private_key(leaf, pkey) != 1)
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "key in \"%s\" "
		    "does not match the certificate in \"%s\"", f->cf_path,
		    ce->ce_cert.cf_path);
	else if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "key in \"%s\" "
		    "refused: %s", f->cf_path, tls_error_reason());
	else
		rc = 0;
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

/*
 * The DNS names of the subjectAltName extension, or the common name when
 * there are none (RFC 6125 §6.4.4).
 */
static int
tls_server_add_names(struct tls_server *ts, SSL_CTX *ctx, X509 *leaf,
    const struct conf_cert *ce, bool first, struct conf_errors *errs)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*gen;
	const X509_NAME_ENTRY	*ent;
	const ASN1_STRING	*s;
	size_t			 before = ts->ts_nnames;
	int			 i, idx, rc = 0, ndns = 0;

	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_DNS)
			continue;
		ndns++;
		s = gen->d.dNSName;
		if (tls_server_add_name(ts, ctx, ASN1_STRING_get0_data(s),
		    ASN1_STRING_length(s), ce, errs) == -1)
			rc = -1;
	}
	GENERAL_NAMES_free(gens);
	if (ndns == 0) {
		idx = X509_NAME_get_index_by_NID(X509_get_subject_name(leaf),
		    NID_commonName, -1);
		if (idx >= 0) {
			ent = X509_NAME_get_entry(X509_get_subject_name(leaf),
			    idx);
			s = X509_NAME_ENTRY_get_data(ent);
			if (tls_server_add_name(ts, ctx,
			    ASN1_STRING_get0_data(s), ASN1_STRING_length(s), ce,
			    errs) == -1)
				rc = -1;
		}
	}
	if (rc == 0 && !first && ts->ts_nnames == before)
		conf_errors_warn_at(errs, &ce->ce_cert.cf_pos,
		    ce->ce_cert.cf_key, "certificate in \"%s\" names no host "
		    "that another certificate does not already cover: it is "
		    "never served", ce->ce_cert.cf_path);
	return rc;
}

/*
 * Adds one name to the SNI table, lowercase.  Names that are not host
 * names, or wildcards other than a whole leading label, never match an
 * SNI host name and are skipped; a name already listed keeps its first
 * certificate.  -1 only when out of memory.
 */
static int
tls_server_add_name(struct tls_server *ts, SSL_CTX *ctx,
    const unsigned char *p, int len, const struct conf_cert *ce,
    struct conf_errors *errs)
{
	struct tls_name	*tn;
	char		 name[TLS_NAME_MAX + 1];
	bool		 wild = false;
	size_t		 i;
	int		 j;

	if (len <= 0 || len > TLS_NAME_MAX)
		return 0;
	for (j = 0; j < len; j++) {
		if (!isalnum(p[j]) && p[j] != '-' && p[j] != '.' &&
		    !(p[j] == '*' && j == 0))
			return 0;
		name[j] = (char)tolower(p[j]);
	}
	name[len] = '\0';
	if (name[0] == '*') {
		/* "*.b.c": at least two labels after the star. */
		if (len < 5 || name[1] != '.' || strchr(name + 2, '.') == NULL)
			return 0;
		wild = true;
	}
	for (i = 0; i < ts->ts_nnames; i++) {
		tn = &ts->ts_names[i];
		if (tn->tn_wild == wild &&
		    strcmp(tn->tn_name, wild ? name + 1 : name) == 0) {
			if (tn->tn_ctx != ctx)
				conf_errors_warn_at(errs, &ce->ce_cert.cf_pos,
				    ce->ce_cert.cf_key, "\"%s\" is also named "
				    "by an earlier certificate, which is the "
				    "one served", name);
			return 0;
		}
	}
	tn = reallocarray(ts->ts_names, ts->ts_nnames + 1, sizeof(*tn));
	if (tn == NULL)
		return -1;
	ts->ts_names = tn;
	tn = &ts->ts_names[ts->ts_nnames];
	if ((tn->tn_name = strdup(wild ? name + 1 : name)) == NULL)
		return -1;
	tn->tn_wild = wild;
	tn->tn_ctx = ctx;
	ts->ts_nnames++;
	return 0;
}

/* The context for SNI host <host>, or NULL for the default. */
static SSL_CTX *
tls_server_lookup(const struct tls_server *ts, const char *host)
{
	const char	*dot;
	char		 name[TLS_NAME_MAX + 1];
	size_t		 i, len;

	len = strlen(host);
	if (len > 0 && host[len - 1] == '.')
		len--;			/* "a.test." is "a.test" */
	if (len == 0 || len > TLS_NAME_MAX)
		return NULL;
	for (i = 0; i < len; i++)
		name[i] = (char)tolower((unsigned char)host[i]);
	name[len] = '\0';
	for (i = 0; i < ts->ts_nnames; i++)
		if (!ts->ts_names[i].tn_wild &&
		    strcmp(ts->ts_names[i].tn_name, name) == 0)
			return ts->ts_names[i].tn_ctx;
	/* "*.b.c" covers "a.b.c", not "b.c" nor "x.a.b.c". */
	if ((dot = strchr(name, '.')) == NULL || dot == name)
		return NULL;
	for (i = 0; i < ts->ts_nnames; i++)
		if (ts->ts_names[i].tn_wild &&
		    strcmp(ts->ts_names[i].tn_name, dot) == 0)
			return ts->ts_names[i].tn_ctx;
	return NULL;
}

/*
 * A client without SNI, or with a name no certificate covers, stays on
 * the default certificate: the handshake goes on and the client decides.
 */
static int
tls_server_sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_server	*ts = arg;
	const char		*host;
	SSL_CTX			*ctx;

	(void)alert;
	if (ts == NULL || ts->magic != TLS_SERVER_MAGIC)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (host == NULL || (ctx = tls_server_lookup(ts, host)) == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (ctx != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx) == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Selects http/1.1 when the client offers it.  Otherwise (an h2-only
 * client) nothing is selected and the handshake goes on without ALPN,
 * as RFC 7301 §3.2 allows; the client then either speaks HTTP/1.1 or
 * closes.  <in> comes from the client: walked with bounds checks.
 */
static int
tls_server_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int	 i, n;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen; i += 1 + n) {
		n = in[i];
		if (n == 0 || n > inlen - i - 1)
			break;
		if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}
