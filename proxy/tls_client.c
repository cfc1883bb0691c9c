/*
 * proxy/tls_client.c: TLS towards upstream servers ("tls: true" in a
 * static pool), and what the server side tells about a client's
 * certificate.
 *
 * One struct tls_client per configured server: an SSL_CTX that verifies
 * the peer (system store or the server's "ca:"), offers ALPN http/1.1 and
 * TLS 1.2 or later, plus the names to send as SNI and to check the
 * certificate against.  The last session the server gave us is kept
 * (under a mutex, since every worker connects to the same server) and
 * offered on the next connection, so reconnections are resumptions.
 * Built on the main thread before the workers start; the SSLs it makes
 * belong to the worker that asked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "proxy/tls.h"

/* Owned by the runtime, one per static server with tls: true. */
struct tls_client {
	unsigned	 magic;
#define TLS_CLIENT_MAGIC	0x7e5c11e7
	SSL_CTX		*tc_ctx;
	char		*tc_sni;	/* NULL: no SNI (IP literal) */
	char		*tc_host;	/* checked; NULL: chain only */
	bool		 tc_host_ip;	/* tc_host is an IP address */
	bool		 tc_verify;
	pthread_mutex_t	 tc_lock;	/* guards tc_session */
	SSL_SESSION	*tc_session;	/* the newest, or NULL */
};

static int	tls_client_names(struct tls_client *,
		    const struct conf_server *, struct conf_errors *);
static int	tls_client_session_cb(SSL *, SSL_SESSION *);

struct tls_client *
tls_client_new(const struct conf_server *sv, struct conf_errors *errs)
{
	static const unsigned char	 alpn[] = "\x08http/1.1";
	struct tls_client		*tc;
	const struct conf_file		*ca = &sv->sv_ca;

	ERR_clear_error();
	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		goto nomem;
	tc->magic = TLS_CLIENT_MAGIC;
	if ((errno = pthread_mutex_init(&tc->tc_lock, NULL)) != 0) {
		free(tc);
		tc = NULL;
		goto nomem;
	}
	if ((tc->tc_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto nomem;
	SSL_CTX_set_app_data(tc->tc_ctx, tc);
	SSL_CTX_set_min_proto_version(tc->tc_ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(tc->tc_ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(tc->tc_ctx, SSL_MODE_RELEASE_BUFFERS);
	/* SSL_CTX_set_alpn_protos() is the one that returns 0 on success. */
	if (SSL_CTX_set_alpn_protos(tc->tc_ctx, alpn, sizeof(alpn) - 1) != 0)
		goto nomem;
	SSL_CTX_set_session_cache_mode(tc->tc_ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(tc->tc_ctx, tls_client_session_cb);

	tc->tc_verify = sv->sv_verify;
	if (tc->tc_verify) {
		SSL_CTX_set_verify(tc->tc_ctx, SSL_VERIFY_PEER, NULL);
		if (ca->cf_path != NULL && access(ca->cf_path, R_OK) == -1) {
			conf_errors_at(errs, &ca->cf_pos, ca->cf_key, "cannot "
			    "read \"%s\": %s", ca->cf_path, strerror(errno));
			goto fail;
		} else if (ca->cf_path != NULL) {
			if (SSL_CTX_load_verify_file(tc->tc_ctx,
			    ca->cf_path) != 1) {
				conf_errors_at(errs, &ca->cf_pos, ca->cf_key,
				    "cannot load CA certificates from \"%s\": "
				    "%s", ca->cf_path, tls_error_reason());
				goto fail;
			}
		} else if (SSL_CTX_set_default_verify_paths(tc->tc_ctx) != 1) {
			conf_errors_at(errs, &sv->sv_pos, NULL, "cannot load "
			    "the system's CA certificates: %s",
			    tls_error_reason());
			goto fail;
		}
	} else
		SSL_CTX_set_verify(tc->tc_ctx, SSL_VERIFY_NONE, NULL);
	if (tls_client_names(tc, sv, errs) == -1)
		goto nomem;
	return tc;

nomem:
	conf_errors_at(errs, &sv->sv_pos, NULL, "tls: out of memory");
fail:
	tls_client_free(tc);
	return NULL;
}

void
tls_client_free(struct tls_client *tc)
{
	if (tc == NULL)
		return;
	ASSERT(tc->magic == TLS_CLIENT_MAGIC);
	SSL_SESSION_free(tc->tc_session);
	SSL_CTX_free(tc->tc_ctx);
	free(tc->tc_sni);
	free(tc->tc_host);
	pthread_mutex_destroy(&tc->tc_lock);
	tc->magic = 0;
	free(tc);
}

SSL *
tls_client_ssl(struct tls_client *tc)
{
	SSL_SESSION	*sess;
	SSL		*ssl;
	int		 ok = 1;

	ASSERT(tc->magic == TLS_CLIENT_MAGIC);
	if ((ssl = SSL_new(tc->tc_ctx)) == NULL)
		return NULL;
	if (tc->tc_sni != NULL)
		ok = SSL_set_tlsext_host_name(ssl, tc->tc_sni);
	if (ok == 1 && tc->tc_verify && tc->tc_host != NULL) {
		if (tc->tc_host_ip)
			ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    tc->tc_host);
		else {
			SSL_set_hostflags(ssl,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			ok = SSL_set1_host(ssl, tc->tc_host);
		}
	}
	if (ok != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	/*
	 * A copy: OpenSSL marks the session of a connection freed without
	 * a shutdown unresumable, and ours must outlive that.
	 */
	pthread_mutex_lock(&tc->tc_lock);
	sess = tc->tc_session != NULL ? SSL_SESSION_dup(tc->tc_session) :
	    NULL;
	pthread_mutex_unlock(&tc->tc_lock);
	if (sess != NULL) {
		SSL_set_session(ssl, sess);
		SSL_SESSION_free(sess);
	}
	ERR_clear_error();
	return ssl;
}

/*
 * SNI and the name checked: "sni:" when given (the name the server
 * answers to), else the address's host name.  An IP literal gets no SNI
 * (RFC 6066 §3) and is matched against the certificate's IP addresses.
 * Unix and vsock addresses have no name: without "sni:" only the chain
 * is verified, which is worth a warning.
 */
static int
tls_client_names(struct tls_client *tc, const struct conf_server *sv,
    struct conf_errors *errs)
{
	const struct conf_addr	*a = &sv->sv_addr;

	if (sv->sv_sni != NULL) {
		if ((tc->tc_sni = strdup(sv->sv_sni)) == NULL ||
		    (tc->tc_host = strdup(sv->sv_sni)) == NULL)
			return -1;
		return 0;
	}
	switch (a->ca_kind) {
	case CONF_ADDR_NAME:
		if ((tc->tc_sni = strdup(a->ca_host)) == NULL ||
		    (tc->tc_host = strdup(a->ca_host)) == NULL)
			return -1;
		break;
	case CONF_ADDR_IP:
		if ((tc->tc_host = strdup(a->ca_host)) == NULL)
			return -1;
		tc->tc_host_ip = true;
		break;
	default:
		if (tc->tc_verify)
			conf_errors_warn_at(errs, &sv->sv_pos, NULL, "\"%s\" "
			    "has no host name to check the certificate "
			    "against: only its chain is verified (set sni)",
			    a->ca_text);
		break;
	}
	return 0;
}

/*
 * Keeps a copy of the newest resumable session (see tls_client_ssl());
 * returning 0 leaves the original to OpenSSL.
 */
static int
tls_client_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_client	*tc;
	SSL_SESSION		*old, *copy;

	tc = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (tc == NULL || tc->magic != TLS_CLIENT_MAGIC ||
	    !SSL_SESSION_is_resumable(sess) ||
	    (copy = SSL_SESSION_dup(sess)) == NULL)
		return 0;
	pthread_mutex_lock(&tc->tc_lock);
	old = tc->tc_session;
	tc->tc_session = copy;
	pthread_mutex_unlock(&tc->tc_lock);
	SSL_SESSION_free(old);
	return 0;
}

const char *
tls_client_cert_subject(SSL *ssl, char *buf, size_t len)
{
	X509	*x;
	BIO	*bio;
	char	*p;
	long	 n;
	size_t	 i;

	x = SSL_get0_peer_certificate(ssl);
	if (x == NULL || SSL_get_verify_result(ssl) != X509_V_OK || len == 0)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) < 0 || (n = BIO_get_mem_data(bio, &p)) <= 0 ||
	    (size_t)n >= len) {
		BIO_free(bio);
		ERR_clear_error();
		return NULL;
	}
	/* The flags escape control bytes already; this only makes sure. */
	for (i = 0; i < (size_t)n; i++)
		buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	buf[n] = '\0';
	BIO_free(bio);
	return buf;
}
