/*
 * tests/unit/test_tls.c: proxy/tls.c and proxy/tls_client.c with real
 * certificates (made by tests/fixtures/tls/mkcerts.sh into a scratch
 * directory at start) and real handshakes between a client SSL and a
 * server SSL joined by an in-memory BIO pair: SNI selection, versions,
 * ALPN, resumption and ticket-key rotation, mTLS, upstream verification,
 * and errors reported at the configuration's positions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf/conf.h"
#include "lib/mtime.h"
#include "proxy/tls.h"

#define HS_ROUNDS	64

static char	 test_dir[PATH_MAX];	/* the certificates */

/* ------------------------------------------------------------------ */
/* Helpers */

/* Finds mkcerts.sh from the repository root or from the binary. */
static int
test_tls_mkcerts(void)
{
	char	 exe[PATH_MAX], script[PATH_MAX + 64], cmd[3 * PATH_MAX];
	char	*slash;
	ssize_t	 n;
	int	 up;

	snprintf(script, sizeof(script), "tests/fixtures/tls/mkcerts.sh");
	if (access(script, X_OK) == -1 &&
	    (n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		for (up = 0; up < 4; up++) {
			if ((slash = strrchr(exe, '/')) == NULL)
				break;
			*slash = '\0';
			snprintf(script, sizeof(script),
			    "%s/tests/fixtures/tls/mkcerts.sh", exe);
			if (access(script, X_OK) == 0)
				break;
		}
	}
	snprintf(test_dir, sizeof(test_dir), "%s/corral-test-tls.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(test_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", script, test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
test_tls_setup(void **state)
{
	(void)state;
	return test_tls_mkcerts();
}

static int
test_tls_teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * The YAML of one TLS listener: <tls> is the "tls:" map's body, indented
 * six spaces, with $D for the certificate directory; <servers> the body
 * of the pool's server list (or NULL).
 */
static struct conf *
test_tls_conf(const char *tls, const char *server, struct conf_errors **errs)
{
	static const char	 head[] =
	    "listeners:\n"
	    "  - name: s\n"
	    "    listen: 127.0.0.1:0\n"
	    "    tls:\n";
	static const char	 tail[] =
	    "routes:\n"
	    "  - match: { host: \"*\" }\n"
	    "    pool: p\n"
	    "pools:\n"
	    "  - name: p\n"
	    "    type: static\n"
	    "    servers:\n";
	char			 text[8192];
	const char		*p;
	size_t			 len;
	struct conf		*c;

	len = snprintf(text, sizeof(text), "%s", head);
	for (p = tls; *p != '\0'; p++) {
		if (p[0] == '$' && p[1] == 'D') {
			len += snprintf(text + len, sizeof(text) - len, "%s",
			    test_dir);
			p++;
		} else
			text[len++] = *p;
		assert_true(len < sizeof(text) - 1024);
	}
	len += snprintf(text + len, sizeof(text) - len, "%s", tail);
	if (server == NULL)
		server = "127.0.0.1:9";
	len += snprintf(text + len, sizeof(text) - len, "      - ");
	for (p = server; *p != '\0'; p++) {
		if (p[0] == '$' && p[1] == 'D') {
			len += snprintf(text + len, sizeof(text) - len, "%s",
			    test_dir);
			p++;
		} else
			text[len++] = *p;
	}
	text[len++] = '\n';
	text[len] = '\0';
	assert_non_null(*errs = conf_errors_new());
	c = conf_load_string("t.yaml", text, len, *errs);
	if (c == NULL)
		conf_errors_print(*errs, stderr);
	assert_non_null(c);
	return c;
}

/* All the SNI certificates: default.test is the default. */
static const char test_tls_sni[] =
    "      cert: $D/default.pem\n"
    "      key: $D/default.key\n"
    "      certs:\n"
    "        - { cert: $D/a.pem, key: $D/a.key }\n"
    "        - { cert: $D/b.pem, key: $D/b.key }\n"
    "        - { cert: $D/wild.pem, key: $D/wild.key }\n"
    "        - { cert: $D/cn.pem, key: $D/cn.key }\n"
    "        - { cert: $D/chain.pem, key: $D/chain.key }\n";

struct test_server {
	struct conf		*conf;
	struct conf_errors	*errs;
	struct tls_server	*ts;
};

static void
test_server_new(struct test_server *t, const char *tls,
    struct tls_tickets *tk)
{
	t->conf = test_tls_conf(tls, NULL, &t->errs);
	t->ts = tls_server_new_tickets(&t->conf->c_listeners[0], tk, t->errs);
	if (t->ts == NULL)
		conf_errors_print(t->errs, stderr);
	assert_non_null(t->ts);
	assert_int_equal(conf_errors_count(t->errs), 0);
}

static void
test_server_free(struct test_server *t)
{
	tls_server_free(t->ts);
	conf_free(t->conf);
	conf_errors_free(t->errs);
}

/* A client context that trusts the test CA; <cert> "client", or NULL. */
static SSL_CTX *
test_client_ctx(const char *cert, int max_version)
{
	char	 path[PATH_MAX + 32];
	SSL_CTX	*ctx;

	assert_non_null(ctx = SSL_CTX_new(TLS_client_method()));
	snprintf(path, sizeof(path), "%s/ca.pem", test_dir);
	assert_int_equal(SSL_CTX_load_verify_file(ctx, path), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (max_version != 0)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	if (cert != NULL) {
		snprintf(path, sizeof(path), "%s/%s.pem", test_dir, cert);
		assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, path),
		    1);
		snprintf(path, sizeof(path), "%s/%s.key", test_dir, cert);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, path,
		    SSL_FILETYPE_PEM), 1);
	}
	return ctx;
}

/*
 * Drives both ends over a BIO pair until both finish or one fails, then
 * sends a few bytes each way (the client thereby reads the TLS 1.3
 * tickets).  0 when all of it worked.  <sfail>: the server side failed.
 */
static int
test_handshake(SSL *c, SSL *s, bool *sfail)
{
	BIO	*bc, *bs;
	char	 buf[16];
	bool	 cdone = false, sdone = false, cbad = false, sbad = false;
	int	 i, r, e;

	assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (i = 0; i < HS_ROUNDS && !(cdone && sdone) && !cbad && !sbad;
	    i++) {
		if (!cdone) {
			if ((r = SSL_do_handshake(c)) == 1)
				cdone = true;
			else if ((e = SSL_get_error(c, r)) !=
			    SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				cbad = true;
		}
		if (!sdone) {
			if ((r = SSL_do_handshake(s)) == 1)
				sdone = true;
			else if ((e = SSL_get_error(s, r)) !=
			    SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				sbad = true;
		}
	}
	ERR_clear_error();
	if (sfail != NULL)
		*sfail = sbad;
	if (!cdone || !sdone)
		return -1;
	if (SSL_write(s, "hello", 5) != 5 || SSL_read(c, buf, sizeof(buf)) != 5
	    || SSL_write(c, "hi", 2) != 2 || SSL_read(s, buf, sizeof(buf)) != 2)
		return -1;
	return 0;
}

/*
 * One connection from <cctx> (SNI <sni>, resuming <sess>) to <ts>.
 * Returns the handshake's result; the common name the client saw goes to
 * <cn>, the new session to <out>, whether it resumed to <reused>.
 */
struct test_conn {
	const char	*sni;
	SSL_SESSION	*sess;
	char		 cn[128];
	SSL_SESSION	*out;
	bool		 reused;
	bool		 sfail;
	int		 version;
	int		 alpn11;
	char		 subject[256];
	bool		 has_subject;
	int		 chain_len;
};

static int
test_connect(SSL_CTX *cctx, struct tls_server *ts, struct test_conn *tc)
{
	X509		*peer;
	SSL		*c, *s;
	int		 rc;

	assert_non_null(c = SSL_new(cctx));
	assert_non_null(s = tls_server_ssl(ts));
	if (tc->sni != NULL)
		assert_int_equal(SSL_set_tlsext_host_name(c, tc->sni), 1);
	if (tc->sess != NULL)
		assert_int_equal(SSL_set_session(c, tc->sess), 1);
	rc = test_handshake(c, s, &tc->sfail);
	tc->cn[0] = '\0';
	tc->out = NULL;
	tc->reused = false;
	if (rc == 0) {
		peer = SSL_get0_peer_certificate(c);
		assert_non_null(peer);
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
		    NID_commonName, tc->cn, sizeof(tc->cn));
		tc->out = SSL_get1_session(c);
		tc->reused = SSL_session_reused(c) == 1;
		tc->version = SSL_version(s);
		tc->alpn11 = tls_alpn_http11(s);
		tc->has_subject = tls_client_cert_subject(s, tc->subject,
		    sizeof(tc->subject)) != NULL;
		tc->chain_len = sk_X509_num(SSL_get_peer_cert_chain(c));
		tls_ssl_finish(c);
		tls_ssl_finish(s);
	}
	SSL_free(c);
	SSL_free(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* SNI */

static void
test_tls_sni_selects_exact_wildcard_and_default(void **state)
{
	static const struct { const char *sni, *cn; } cases[] = {
		{ "a.test", "a.test" },
		{ "A.Test", "a.test" },			/* case */
		{ "b.test", "b.test" },
		{ "x.wild.test", "*.wild.test" },
		{ "wild.test", "default.test" },	/* star needs a label */
		{ "y.x.wild.test", "default.test" },	/* one label only */
		{ "cn.test", "cn.test" },		/* no SAN: the CN */
		{ "chain.test", "chain.test" },
		{ "unknown.test", "default.test" },
		{ NULL, "default.test" },		/* no SNI */
	};
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_CTX			*cctx;
	size_t			 i;

	(void)state;
	test_server_new(&t, test_tls_sni, NULL);
	cctx = test_client_ctx(NULL, 0);
	/* The name check is the client's business: only the chain here. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&tc, 0, sizeof(tc));
		tc.sni = cases[i].sni;
		assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
		if (strcmp(tc.cn, cases[i].cn) != 0)
			fail_msg("SNI %s: got %s, want %s", cases[i].sni,
			    tc.cn, cases[i].cn);
		SSL_SESSION_free(tc.out);
	}
	SSL_CTX_free(cctx);
	test_server_free(&t);
}

static void
test_tls_without_default_the_first_cert_is_served(void **state)
{
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_CTX			*cctx;

	(void)state;
	test_server_new(&t,
	    "      certs:\n"
	    "        - { cert: $D/b.pem, key: $D/b.key }\n"
	    "        - { cert: $D/a.pem, key: $D/a.key }\n", NULL);
	cctx = test_client_ctx(NULL, 0);
	memset(&tc, 0, sizeof(tc));
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_string_equal(tc.cn, "b.test");
	SSL_SESSION_free(tc.out);
	tc.sni = "nobody.test";
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_string_equal(tc.cn, "b.test");
	SSL_SESSION_free(tc.out);
	tc.sni = "a.test";
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_string_equal(tc.cn, "a.test");
	SSL_SESSION_free(tc.out);
	SSL_CTX_free(cctx);
	test_server_free(&t);
}

static void
test_tls_chain_file_sends_intermediates(void **state)
{
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_CTX			*cctx;

	(void)state;
	test_server_new(&t, test_tls_sni, NULL);
	cctx = test_client_ctx(NULL, 0);	/* trusts the root only */
	memset(&tc, 0, sizeof(tc));
	tc.sni = "chain.test";
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_string_equal(tc.cn, "chain.test");
	assert_int_equal(tc.chain_len, 2);	/* leaf + intermediate */
	SSL_SESSION_free(tc.out);
	SSL_CTX_free(cctx);
	test_server_free(&t);
}

/* ------------------------------------------------------------------ */
/* Errors at the right place */

/* Expects exactly the errors <want> (prefixes), in file order. */
static void
test_tls_expect_errors(const char *tls, const char *const *want, size_t n)
{
	struct conf_errors	*errs;
	struct conf		*c;
	struct tls_server	*ts;
	const char		*line;
	size_t			 i;

	c = test_tls_conf(tls, NULL, &errs);
	ts = tls_server_new(&c->c_listeners[0], errs);
	assert_null(ts);
	if (conf_errors_count(errs) != n)
		conf_errors_print(errs, stderr);
	assert_int_equal(conf_errors_count(errs), n);
	for (i = 0; i < n; i++) {
		line = conf_errors_line(errs, false, i);
		if (strncmp(line, want[i], strlen(want[i])) != 0)
			fail_msg("error %zu: got \"%s\", want \"%s...\"", i,
			    line, want[i]);
	}
	conf_free(c);
	conf_errors_free(errs);
}

static void
test_tls_key_mismatch_is_reported_at_the_key(void **state)
{
	static const char *const want[] = {
		"t.yaml:6:12: listeners[0].tls.key: key in \"",
	};

	(void)state;
	test_tls_expect_errors(
	    "      cert: $D/a.pem\n"
	    "      key: $D/b.key\n", want, 1);
}

static void
test_tls_bad_files_are_reported_at_their_keys(void **state)
{
	static const char *const want[] = {
		"t.yaml:5:13: listeners[0].tls.cert: cannot read \"",
		"t.yaml:8:17: listeners[0].tls.certs[0].cert: no PEM "
		    "certificate in \"",
		"t.yaml:11:16: listeners[0].tls.certs[1].key: no usable PEM "
		    "private key in \"",
		"t.yaml:12:18: listeners[0].tls.client_ca: cannot load CA "
		    "certificates from \"",
	};

	(void)state;
	test_tls_expect_errors(
	    "      cert: $D/missing.pem\n"
	    "      key: $D/a.key\n"
	    "      certs:\n"
	    "        - cert: $D/garbage.pem\n"
	    "          key: $D/a.key\n"
	    "        - cert: $D/b.pem\n"
	    "          key: $D/garbage.pem\n"
	    "      client_ca: $D/garbage.pem\n"
	    "      verify_client: required\n", want, 4);
}

static void
test_tls_bad_cipher_list_is_reported(void **state)
{
	static const char *const want[] = {
		"t.yaml:5:7: listeners[0].tls.ciphers: no usable cipher in "
		    "\"NOT-A-CIPHER\"",
	};

	(void)state;
	test_tls_expect_errors(
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      ciphers: NOT-A-CIPHER\n", want, 1);
}

static void
test_tls_shadowed_certificate_is_a_warning(void **state)
{
	struct conf_errors	*errs;
	struct conf		*c;
	struct tls_server	*ts;

	(void)state;
	/* The second a.test can never be chosen: served, with a warning. */
	c = test_tls_conf(
	    "      certs:\n"
	    "        - cert: $D/a.pem\n"
	    "          key: $D/a.key\n"
	    "        - cert: $D/a.pem\n"
	    "          key: $D/a.key\n", NULL, &errs);
	assert_non_null(ts = tls_server_new(&c->c_listeners[0], errs));
	assert_int_equal(conf_errors_count(errs), 0);
	assert_int_equal(conf_errors_warnings(errs), 2);
	/* Both at the second certificate, in the order they were found. */
	assert_string_equal(conf_errors_line(errs, true, 0),
	    "t.yaml:8:17: warning: listeners[0].tls.certs[1].cert: \"a.test\" "
	    "is also named by an earlier certificate, which is the one served");
	assert_non_null(strstr(conf_errors_line(errs, true, 1),
	    "t.yaml:8:17: warning: listeners[0].tls.certs[1].cert: "
	    "certificate in \""));
	assert_non_null(strstr(conf_errors_line(errs, true, 1),
	    "it is never served"));
	tls_server_free(ts);
	conf_free(c);
	conf_errors_free(errs);
}

/* ------------------------------------------------------------------ */
/* Versions, ALPN */

static void
test_tls_negotiates_tls13_and_alpn_http11(void **state)
{
	static const unsigned char	 both[] = "\x02h2\x08http/1.1";
	static const unsigned char	 h2[] = "\x02h2";
	struct test_server		 t;
	struct test_conn		 tc;
	SSL_CTX				*cctx;

	(void)state;
	test_server_new(&t, test_tls_sni, NULL);
	cctx = test_client_ctx(NULL, 0);
	assert_int_equal(SSL_CTX_set_alpn_protos(cctx, both,
	    sizeof(both) - 1), 0);
	memset(&tc, 0, sizeof(tc));
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_int_equal(tc.version, TLS1_3_VERSION);
	assert_int_equal(tc.alpn11, 1);
	SSL_SESSION_free(tc.out);

	/* An h2-only client: no protocol selected, the handshake goes on. */
	assert_int_equal(SSL_CTX_set_alpn_protos(cctx, h2, sizeof(h2) - 1), 0);
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_int_equal(tc.alpn11, 0);
	SSL_SESSION_free(tc.out);
	SSL_CTX_free(cctx);
	test_server_free(&t);
}

static void
test_tls_min_version_13_refuses_a_12_client(void **state)
{
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_CTX			*c12;

	(void)state;
	test_server_new(&t,
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      min_version: \"1.3\"\n", NULL);
	c12 = test_client_ctx(NULL, TLS1_2_VERSION);
	memset(&tc, 0, sizeof(tc));
	assert_int_equal(test_connect(c12, t.ts, &tc), -1);
	assert_true(tc.sfail);
	SSL_CTX_free(c12);
	test_server_free(&t);

	/* The default minimum, 1.2, takes it, with the 1.2 cipher list. */
	test_server_new(&t,
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n", NULL);
	c12 = test_client_ctx(NULL, TLS1_2_VERSION);
	assert_int_equal(test_connect(c12, t.ts, &tc), 0);
	assert_int_equal(tc.version, TLS1_2_VERSION);
	SSL_SESSION_free(tc.out);
	SSL_CTX_free(c12);
	test_server_free(&t);
}

/* ------------------------------------------------------------------ */
/* Resumption */

static void
test_tls_resumes_with_a_ticket_across_sni_names(void **state)
{
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_SESSION		*sess;
	SSL_CTX			*cctx;
	int			 v;

	(void)state;
	for (v = 0; v < 2; v++) {
		test_server_new(&t, test_tls_sni, NULL);
		cctx = test_client_ctx(NULL, v == 0 ? 0 : TLS1_2_VERSION);
		memset(&tc, 0, sizeof(tc));
		tc.sni = "b.test";
		assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
		assert_false(tc.reused);
		assert_non_null(sess = tc.out);
		tc.sess = sess;
		assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
		assert_true(tc.reused);
		assert_string_equal(tc.cn, "b.test");
		SSL_SESSION_free(tc.out);
		SSL_SESSION_free(sess);
		SSL_CTX_free(cctx);
		test_server_free(&t);
	}
}

static void
test_tls_resumes_from_the_session_cache_without_tickets(void **state)
{
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_SESSION		*sess;
	SSL_CTX			*cctx;
	int			 v;

	(void)state;
	for (v = 0; v < 2; v++) {
		test_server_new(&t,
		    "      cert: $D/a.pem\n"
		    "      key: $D/a.key\n"
		    "      tickets: off\n"
		    "      session_cache: 64KiB\n", NULL);
		cctx = test_client_ctx(NULL, v == 0 ? 0 : TLS1_2_VERSION);
		memset(&tc, 0, sizeof(tc));
		assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
		assert_non_null(sess = tc.out);
		tc.sess = sess;
		assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
		assert_true(tc.reused);
		SSL_SESSION_free(tc.out);
		SSL_SESSION_free(sess);
		SSL_CTX_free(cctx);
		test_server_free(&t);
	}

	/* Neither tickets nor cache: nothing to resume with. */
	test_server_new(&t,
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      tickets: off\n"
	    "      session_cache: 0\n", NULL);
	cctx = test_client_ctx(NULL, TLS1_2_VERSION);
	memset(&tc, 0, sizeof(tc));
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	tc.sess = sess = tc.out;
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_false(tc.reused);
	SSL_SESSION_free(tc.out);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	test_server_free(&t);
}

struct test_clock {
	uint64_t	 ns;
};

static uint64_t
test_clock_now(void *arg)
{
	return ((struct test_clock *)arg)->ns;
}

/* Resumes <sess> (or not) at the clock's time; returns whether it did. */
static bool
test_tls_resume(SSL_CTX *cctx, struct tls_server *ts, SSL_SESSION *sess,
    SSL_SESSION **out)
{
	struct test_conn	 tc;

	memset(&tc, 0, sizeof(tc));
	tc.sess = sess;
	assert_int_equal(test_connect(cctx, ts, &tc), 0);
	if (out != NULL)
		*out = tc.out;
	else
		SSL_SESSION_free(tc.out);
	return tc.reused;
}

static void
test_tls_ticket_keys_rotate_and_keep_one_old_key(void **state)
{
	static const char	 tls[] =
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      session_cache: 0\n";	/* tickets only */
	struct test_clock	 now = { 1000 * MTIME_NS_PER_S };
	struct mtime_clock	 clock = { test_clock_now, &now };
	struct tls_tickets	*tk;
	struct test_server	 t;
	SSL_SESSION		*s0, *s1;
	SSL_CTX			*cctx;
	int			 v;

	(void)state;
	for (v = 0; v < 2; v++) {
		now.ns = 1000 * MTIME_NS_PER_S;
		assert_non_null(tk = tls_tickets_new(&clock, 1000));
		test_server_new(&t, tls, tk);
		cctx = test_client_ctx(NULL, v == 0 ? 0 : TLS1_2_VERSION);

		assert_false(test_tls_resume(cctx, t.ts, NULL, &s0));
		/* A period later s0's key is the previous one: still good. */
		now.ns += 1500 * MTIME_NS_PER_MS;
		assert_true(test_tls_resume(cctx, t.ts, s0, &s1));
		/* Another period: s0's key is gone, s1's (renewed) is not. */
		now.ns += 1000 * MTIME_NS_PER_MS;
		assert_false(test_tls_resume(cctx, t.ts, s0, NULL));
		assert_true(test_tls_resume(cctx, t.ts, s1, NULL));
		SSL_SESSION_free(s0);
		SSL_SESSION_free(s1);

		/* Unused for two periods: no old key survives. */
		assert_false(test_tls_resume(cctx, t.ts, NULL, &s0));
		now.ns += 2500 * MTIME_NS_PER_MS;
		assert_false(test_tls_resume(cctx, t.ts, s0, NULL));
		SSL_SESSION_free(s0);

		/* Explicit rotations: one is survived, two are not. */
		assert_false(test_tls_resume(cctx, t.ts, NULL, &s0));
		assert_int_equal(tls_tickets_rotate(tk), 0);
		assert_true(test_tls_resume(cctx, t.ts, s0, NULL));
		assert_int_equal(tls_tickets_rotate(tk), 0);
		assert_false(test_tls_resume(cctx, t.ts, s0, NULL));
		SSL_SESSION_free(s0);

		SSL_CTX_free(cctx);
		test_server_free(&t);
		tls_tickets_put(tk);
	}
}

static void
test_tls_shared_ticket_keys_resume_on_another_server(void **state)
{
	static const char	 tls[] =
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      session_cache: 0\n";
	struct tls_tickets	*tk;
	struct test_server	 t1, t2, t3;
	SSL_SESSION		*s0;
	SSL_CTX			*cctx;

	(void)state;
	/* As after a reload: a new tls_server, the same keys. */
	assert_non_null(tk = tls_tickets_new(NULL, TLS_TICKET_PERIOD_MS));
	test_server_new(&t1, tls, tk);
	test_server_new(&t2, tls, tk);
	test_server_new(&t3, tls, NULL);	/* keys of its own */
	cctx = test_client_ctx(NULL, 0);
	assert_false(test_tls_resume(cctx, t1.ts, NULL, &s0));
	assert_true(test_tls_resume(cctx, t2.ts, s0, NULL));
	assert_false(test_tls_resume(cctx, t3.ts, s0, NULL));
	SSL_SESSION_free(s0);
	SSL_CTX_free(cctx);
	test_server_free(&t1);
	test_server_free(&t2);
	test_server_free(&t3);
	tls_tickets_put(tk);
}

/* ------------------------------------------------------------------ */
/* Client certificates */

static void
test_tls_mtls_required(void **state)
{
	static const struct {
		const char	*cert;
		int		 rc;
	} cases[] = {
		{ NULL, -1 },
		{ "client", 0 },
		{ "expired", -1 },
		{ "other", -1 },
	};
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_CTX			*cctx;
	size_t			 i;

	(void)state;
	test_server_new(&t,
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      client_ca: $D/ca.pem\n"
	    "      verify_client: required\n", NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cctx = test_client_ctx(cases[i].cert, 0);
		memset(&tc, 0, sizeof(tc));
		if (test_connect(cctx, t.ts, &tc) != cases[i].rc)
			fail_msg("client cert %s: want %d", cases[i].cert,
			    cases[i].rc);
		if (cases[i].rc == -1)
			assert_true(tc.sfail);	/* the server refused */
		else {
			assert_true(tc.has_subject);
			assert_string_equal(tc.subject, "CN=client one");
		}
		SSL_SESSION_free(tc.out);
		SSL_CTX_free(cctx);
	}
	test_server_free(&t);
}

static void
test_tls_mtls_optional(void **state)
{
	static const struct {
		const char	*cert;
		int		 rc;
		bool		 subject;
	} cases[] = {
		{ NULL, 0, false },
		{ "client", 0, true },
		{ "expired", -1, false },
		{ "other", -1, false },
	};
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_CTX			*cctx;
	size_t			 i;

	(void)state;
	test_server_new(&t,
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      client_ca: $D/ca.pem\n"
	    "      verify_client: optional\n", NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cctx = test_client_ctx(cases[i].cert, 0);
		memset(&tc, 0, sizeof(tc));
		if (test_connect(cctx, t.ts, &tc) != cases[i].rc)
			fail_msg("client cert %s: want %d", cases[i].cert,
			    cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(tc.has_subject, cases[i].subject);
		SSL_SESSION_free(tc.out);
		SSL_CTX_free(cctx);
	}
	test_server_free(&t);
}

static void
test_tls_mtls_session_resumes_with_the_client_identity(void **state)
{
	struct test_server	 t;
	struct test_conn	 tc;
	SSL_SESSION		*sess;
	SSL_CTX			*cctx;

	(void)state;
	test_server_new(&t,
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n"
	    "      client_ca: $D/ca.pem\n"
	    "      verify_client: required\n", NULL);
	cctx = test_client_ctx("client", 0);
	memset(&tc, 0, sizeof(tc));
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	tc.sess = sess = tc.out;
	assert_int_equal(test_connect(cctx, t.ts, &tc), 0);
	assert_true(tc.reused);
	assert_true(tc.has_subject);
	assert_string_equal(tc.subject, "CN=client one");
	SSL_SESSION_free(tc.out);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	test_server_free(&t);
}

/* ------------------------------------------------------------------ */
/* Upstream (client) side */

struct test_upstream {
	struct conf		*conf;
	struct conf_errors	*errs;
	struct tls_client	*tc;
	struct tls_server	*ts;
};

/* <server>: the pool's server entry; the listener serves a, b, default. */
static int
test_upstream_connect(const char *server, int *reused)
{
	struct test_upstream	 u;
	SSL			*c, *s;
	int			 rc, i;

	u.conf = test_tls_conf(
	    "      cert: $D/default.pem\n"
	    "      key: $D/default.key\n"
	    "      certs:\n"
	    "        - { cert: $D/a.pem, key: $D/a.key }\n"
	    "        - { cert: $D/b.pem, key: $D/b.key }\n", server, &u.errs);
	assert_non_null(u.ts = tls_server_new(&u.conf->c_listeners[0],
	    u.errs));
	u.tc = tls_client_new(&u.conf->c_pools[0].pl_servers[0], u.errs);
	if (u.tc == NULL)
		conf_errors_print(u.errs, stderr);
	assert_non_null(u.tc);
	/* Twice: the second connection resumes the first's session. */
	for (i = 0; i < 2; i++) {
		assert_non_null(c = tls_client_ssl(u.tc));
		assert_non_null(s = tls_server_ssl(u.ts));
		rc = test_handshake(c, s, NULL);
		*reused = rc == 0 && SSL_session_reused(c) == 1;
		if (rc == 0) {
			assert_int_equal(tls_alpn_http11(c), 1);
			tls_ssl_finish(s);
		}
		SSL_free(c);
		SSL_free(s);
		if (rc == -1)
			break;
	}
	tls_client_free(u.tc);
	tls_server_free(u.ts);
	conf_free(u.conf);
	conf_errors_free(u.errs);
	return rc;
}

static void
test_tls_upstream_verifies_name_and_chain(void **state)
{
	static const struct {
		const char	*server;
		int		 rc;
	} cases[] = {
		{ "{ address: a.test:443, tls: true, ca: $D/ca.pem }", 0 },
		{ "{ address: \"127.0.0.1:443\", tls: true, ca: $D/ca.pem, "
		    "sni: b.test }", 0 },
		/* SNI unknown to the server: default.test, wrong name. */
		{ "{ address: c.test:443, tls: true, ca: $D/ca.pem }", -1 },
		{ "{ address: c.test:443, tls: true, ca: $D/ca.pem, "
		    "verify: false }", 0 },
		/* An IP address is checked against IP SANs: none here. */
		{ "{ address: \"127.0.0.1:443\", tls: true, ca: $D/ca.pem }",
		    -1 },
		/* Another CA. */
		{ "{ address: a.test:443, tls: true, ca: $D/other-ca.pem }",
		    -1 },
	};
	size_t	 i;
	int	 reused;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (test_upstream_connect(cases[i].server, &reused) !=
		    cases[i].rc)
			fail_msg("%s: want %d", cases[i].server, cases[i].rc);
		if (cases[i].rc == 0)
			assert_true(reused);
	}
}

static void
test_tls_upstream_bad_ca_is_reported(void **state)
{
	struct conf_errors	*errs;
	struct conf		*c;

	(void)state;
	c = test_tls_conf(
	    "      cert: $D/a.pem\n"
	    "      key: $D/a.key\n",
	    "{ address: a.test:443, tls: true, ca: $D/garbage.pem }", &errs);
	assert_null(tls_client_new(&c->c_pools[0].pl_servers[0], errs));
	assert_int_equal(conf_errors_count(errs), 1);
	assert_non_null(strstr(conf_errors_line(errs, false, 0),
	    "pools[0].servers[0].ca: cannot load CA certificates from"));
	conf_free(c);
	conf_errors_free(errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_sni_selects_exact_wildcard_and_default),
		cmocka_unit_test(test_tls_without_default_the_first_cert_is_served),
		cmocka_unit_test(test_tls_chain_file_sends_intermediates),
		cmocka_unit_test(test_tls_key_mismatch_is_reported_at_the_key),
		cmocka_unit_test(test_tls_bad_files_are_reported_at_their_keys),
		cmocka_unit_test(test_tls_bad_cipher_list_is_reported),
		cmocka_unit_test(test_tls_shadowed_certificate_is_a_warning),
		cmocka_unit_test(test_tls_negotiates_tls13_and_alpn_http11),
		cmocka_unit_test(test_tls_min_version_13_refuses_a_12_client),
		cmocka_unit_test(test_tls_resumes_with_a_ticket_across_sni_names),
		cmocka_unit_test(test_tls_resumes_from_the_session_cache_without_tickets),
		cmocka_unit_test(test_tls_ticket_keys_rotate_and_keep_one_old_key),
		cmocka_unit_test(test_tls_shared_ticket_keys_resume_on_another_server),
		cmocka_unit_test(test_tls_mtls_required),
		cmocka_unit_test(test_tls_mtls_optional),
		cmocka_unit_test(test_tls_mtls_session_resumes_with_the_client_identity),
		cmocka_unit_test(test_tls_upstream_verifies_name_and_chain),
		cmocka_unit_test(test_tls_upstream_bad_ca_is_reported),
	};

	return cmocka_run_group_tests_name("tls", tests, test_tls_setup,
	    test_tls_teardown);
}
