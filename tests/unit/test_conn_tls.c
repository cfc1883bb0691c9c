/*
 * tests/unit/test_conn_tls.c: proxy/conn.c speaking TLS through real
 * OpenSSL handshakes over socketpairs, with a certificate made here at
 * start: a server conn and a client conn on one loop (the handshake,
 * CONN_EV_CONNECTED on the client side only, bytes both ways), 4 MiB
 * through the read watermark with the input never above it and every
 * byte in order once the owner drains it, a pause that leaves a record
 * inside OpenSSL with nothing on the socket (it must not be stranded
 * when reading resumes), data and close_notify in one
 * segment (the data first, then EOF), a bare EOF, plaintext at a TLS
 * server, a client that refuses the certificate, a peer's key update;
 * and what a review found: a handshake waiting to write while the
 * socket is readable (no spinning), a fatal record behind data (an
 * error, not an EOF), an end kept across a stop and start of reading,
 * and a TLS 1.2 server's data read with its Finished.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "proxy/conn.h"

#define TEST_DEADLINE_MS	5000
#define TEST_BIG		(4 * 1024 * 1024)
#define TEST_HIGH		(64 * 1024)
#define TEST_HELD_SENT		(3 * 16384)	/* three full records */
#define TEST_HELD_HIGH		40000		/* inside the third */

static SSL_CTX	*test_sctx;		/* the server's, with the certificate */
static SSL_CTX	*test_cctx;		/* a client that verifies nothing */

/* What one side's callbacks saw. */
struct test_side {
	struct conn	*c;
	int		 nread;
	int		 events;	/* CONN_EV_* seen, or'ed */
	int		 eof_reads;	/* reads seen before the EOF */
	int		 err;
	bool		 drain;		/* the read cb empties the input */
	size_t		 drained;
	size_t		 max_in;	/* the most input seen at a read */
	size_t		 bad;		/* bytes out of the pattern */
	int		 done;		/* for test_run_until */
};

struct test_pair {
	struct event_base	*base;
	struct test_side	 s;	/* the server side: a conn */
	struct test_side	 k;	/* the client side: a conn ... */
	int			 raw;	/* ... or a bare fd (-1 if not) */
};

/* ------------------------------------------------------------------ */
/* Helpers */

/* A self-signed P-256 certificate for "localhost", made once. */
static int
test_group_setup(void **state)
{
	EVP_PKEY	*key;
	X509		*x;
	X509_NAME	*name;

	(void)state;
	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		return (-1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, key, EVP_sha256()) == 0)
		return (-1);
	if ((test_sctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(test_sctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(test_sctx, key) != 1 ||
	    (test_cctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (-1);
	SSL_CTX_set_verify(test_cctx, SSL_VERIFY_NONE, NULL);
	X509_free(x);
	EVP_PKEY_free(key);
	return (0);
}

static int
test_group_teardown(void **state)
{
	(void)state;
	SSL_CTX_free(test_sctx);
	SSL_CTX_free(test_cctx);
	return (0);
}

/* The byte at offset <i> of what the tests send. */
static unsigned char
test_byte(size_t i)
{
	return ((unsigned char)((i * 7 + i / 4093) & 0xff));
}

static void
test_read_cb(struct conn *c, void *arg)
{
	struct test_side	*t = arg;
	struct evbuffer		*in = conn_input(c);
	unsigned char		 buf[4096];
	size_t			 len = evbuffer_get_length(in), i, n;

	t->nread++;
	if (len > t->max_in)
		t->max_in = len;
	if (!t->drain)
		return;
	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0 &&
	    n <= sizeof(buf)) {
		for (i = 0; i < n; i++)
			if (buf[i] != test_byte(t->drained + i))
				t->bad++;
		t->drained += n;
	}
}

static void
test_event_cb(struct conn *c, int what, void *arg)
{
	struct test_side	*t = arg;

	(void)c;
	if ((what & CONN_EV_EOF) && !(t->events & CONN_EV_EOF))
		t->eof_reads = t->nread;
	t->events |= what;
	if (what & CONN_EV_ERROR)
		t->err = errno;
}

static void
test_nonblock(int fd)
{
	int	 fl = fcntl(fd, F_GETFL);

	assert_true(fl != -1);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/*
 * A TLS server conn on one end of a socketpair and, if <client>, a TLS
 * client conn on the other (through <cctx>); else p->raw is that end.
 */
static void
test_setup(struct test_pair *p, bool client, SSL_CTX *cctx)
{
	int	 sv[2];
	SSL	*ssl;

	memset(p, 0, sizeof(*p));
	p->raw = -1;
	assert_non_null(p->base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	test_nonblock(sv[0]);
	test_nonblock(sv[1]);
	assert_non_null(ssl = SSL_new(test_sctx));
	assert_non_null(p->s.c = conn_new_ssl(p->base, sv[0], ssl, true));
	conn_setcb(p->s.c, test_read_cb, NULL, test_event_cb, &p->s);
	conn_read_once(p->s.c);
	if (!client) {
		p->raw = sv[1];
		return;
	}
	assert_non_null(p->k.c = conn_new(p->base, sv[1]));
	conn_setcb(p->k.c, test_read_cb, NULL, test_event_cb, &p->k);
	assert_non_null(ssl = SSL_new(cctx));
	assert_int_equal(conn_start_ssl(p->k.c, ssl), 0);
}

static void
test_teardown(struct test_pair *p)
{
	conn_free(p->s.c);
	conn_free(p->k.c);
	if (p->raw != -1)
		close(p->raw);
	event_base_free(p->base);
}

static void
test_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until <done>() or the deadline; whether it was done. */
static bool
test_run_until(struct test_pair *p, bool (*done)(struct test_pair *))
{
	struct timeval	 tv = { TEST_DEADLINE_MS / 1000, 0 };
	struct event	*ev;
	int		 late = 0;

	assert_non_null(ev = evtimer_new(p->base, test_deadline_cb, &late));
	evtimer_add(ev, &tv);
	while (!done(p) && !late)
		event_base_loop(p->base, EVLOOP_ONCE);
	event_free(ev);
	return (done(p));
}

/* Runs the loop for <ms> whatever happens. */
static void
test_run_for(struct test_pair *p, int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };

	event_base_loopexit(p->base, &tv);
	event_base_dispatch(p->base);
}

static bool
test_connected(struct test_pair *p)
{
	return ((p->k.events & (CONN_EV_CONNECTED | CONN_EV_ERROR)) != 0);
}

static bool
test_server_ended(struct test_pair *p)
{
	return ((p->s.events & (CONN_EV_EOF | CONN_EV_ERROR)) != 0);
}

static bool
test_client_ended(struct test_pair *p)
{
	return ((p->k.events & (CONN_EV_EOF | CONN_EV_ERROR)) != 0);
}

static bool
test_server_got_big(struct test_pair *p)
{
	return (p->s.drained >= TEST_BIG || test_server_ended(p));
}

static bool
test_client_got_big(struct test_pair *p)
{
	return (p->k.drained >= TEST_BIG || test_client_ended(p));
}

static bool
test_server_full_held(struct test_pair *p)
{
	return (evbuffer_get_length(conn_input(p->s.c)) >= TEST_HELD_HIGH ||
	    test_server_ended(p));
}

static bool
test_server_full(struct test_pair *p)
{
	return (evbuffer_get_length(conn_input(p->s.c)) >= TEST_HIGH ||
	    test_server_ended(p));
}

/* The pattern's bytes [off, off + len) added to <buf>. */
static void
test_fill(struct evbuffer *buf, size_t off, size_t len)
{
	unsigned char	 chunk[8192];
	size_t		 i, n;

	while (len > 0) {
		n = len < sizeof(chunk) ? len : sizeof(chunk);
		for (i = 0; i < n; i++)
			chunk[i] = test_byte(off + i);
		assert_int_equal(evbuffer_add(buf, chunk, n), 0);
		off += n;
		len -= n;
	}
}

/*
 * A bare OpenSSL client on p->raw, handshaking with the server conn:
 * the two are pumped in turn, as they share this thread.
 */
static SSL *
test_raw_client(struct test_pair *p)
{
	SSL	*ssl;
	int	 i, r = 0;

	assert_non_null(ssl = SSL_new(test_cctx));
	assert_int_equal(SSL_set_fd(ssl, p->raw), 1);
	SSL_set_connect_state(ssl);
	for (i = 0; i < 200 && (r = SSL_do_handshake(ssl)) != 1; i++) {
		assert_true(SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ ||
		    SSL_get_error(ssl, r) == SSL_ERROR_WANT_WRITE);
		test_run_for(p, 5);
	}
	assert_int_equal(r, 1);
	return (ssl);
}

/* ------------------------------------------------------------------ */

static void
test_conn_tls_handshake_and_bytes(void **state)
{
	struct test_pair	 p;
	char			 buf[64];

	(void)state;
	test_setup(&p, true, test_cctx);
	assert_true(test_run_until(&p, test_connected));
	assert_int_equal(p.k.events, CONN_EV_CONNECTED);
	assert_non_null(conn_ssl(p.k.c));
	assert_non_null(conn_ssl(p.s.c));

	evbuffer_add(conn_output(p.k.c), "GET / HTTP/1.1\r\n\r\n", 18);
	conn_flush(p.k.c);
	while (evbuffer_get_length(conn_input(p.s.c)) < 18 && p.s.events == 0)
		event_base_loop(p.base, EVLOOP_ONCE);
	assert_int_equal(evbuffer_remove(conn_input(p.s.c), buf, sizeof(buf)),
	    18);
	assert_memory_equal(buf, "GET / HTTP/1.1\r\n\r\n", 18);
	/* A server says nothing when its handshake ends. */
	assert_int_equal(p.s.events, 0);

	evbuffer_add(conn_output(p.s.c), "HTTP/1.1 204 \r\n\r\n", 17);
	conn_flush(p.s.c);
	while (evbuffer_get_length(conn_input(p.k.c)) < 17 && p.k.events ==
	    CONN_EV_CONNECTED)
		event_base_loop(p.base, EVLOOP_ONCE);
	assert_int_equal(evbuffer_remove(conn_input(p.k.c), buf, sizeof(buf)),
	    17);
	assert_memory_equal(buf, "HTTP/1.1 204 \r\n\r\n", 17);
	test_teardown(&p);
}

static void
test_conn_tls_big_both_ways(void **state)
{
	struct test_pair	 p;

	(void)state;
	test_setup(&p, true, test_cctx);
	assert_true(test_run_until(&p, test_connected));
	p.s.drain = p.k.drain = true;
	test_fill(conn_output(p.k.c), 0, TEST_BIG);
	conn_flush(p.k.c);
	assert_true(test_run_until(&p, test_server_got_big));
	assert_int_equal(p.s.drained, TEST_BIG);
	assert_int_equal(p.s.bad, 0);

	test_fill(conn_output(p.s.c), 0, TEST_BIG);
	conn_flush(p.s.c);
	assert_true(test_run_until(&p, test_client_got_big));
	assert_int_equal(p.k.drained, TEST_BIG);
	assert_int_equal(p.k.bad, 0);
	assert_int_equal(p.s.events | (p.k.events & ~CONN_EV_CONNECTED), 0);
	test_teardown(&p);
}

static void
test_conn_tls_watermark_pauses_and_resumes(void **state)
{
	struct test_pair	 p;
	struct evbuffer		*in;

	(void)state;
	test_setup(&p, true, test_cctx);
	conn_watermarks(p.s.c, TEST_HIGH, 0);
	assert_true(test_run_until(&p, test_connected));
	test_fill(conn_output(p.k.c), 0, TEST_BIG);
	conn_flush(p.k.c);

	/* The owner takes nothing: input stops at the watermark. */
	assert_true(test_run_until(&p, test_server_full));
	test_run_for(&p, 100);
	in = conn_input(p.s.c);
	assert_int_equal(evbuffer_get_length(in), TEST_HIGH);
	assert_true(p.s.max_in <= TEST_HIGH);
	assert_int_equal(p.s.events, 0);

	/*
	 * Taking the input resumes reading.  Records OpenSSL read ahead
	 * before the pause are not visible to epoll: they must come too.
	 */
	p.s.drain = true;
	test_read_cb(p.s.c, &p.s);
	assert_true(test_run_until(&p, test_server_got_big));
	assert_int_equal(p.s.drained, TEST_BIG);
	assert_int_equal(p.s.bad, 0);
	assert_true(p.s.max_in <= TEST_HIGH);
	test_teardown(&p);
}

static bool
test_server_got_held(struct test_pair *p)
{
	return (p->s.drained >= TEST_HELD_SENT || test_server_ended(p));
}

/*
 * Three full records against a watermark that ends inside the third:
 * the pause leaves the rest of it decrypted inside OpenSSL with nothing
 * left on the socket, so only conn.c can know to read it on resuming.
 */
static void
test_conn_tls_records_held_at_pause(void **state)
{
	struct test_pair	 p;

	(void)state;
	test_setup(&p, true, test_cctx);
	conn_watermarks(p.s.c, TEST_HELD_HIGH, 0);
	assert_true(test_run_until(&p, test_connected));
	test_fill(conn_output(p.k.c), 0, TEST_HELD_SENT);
	conn_flush(p.k.c);
	assert_true(test_run_until(&p, test_server_full_held));
	test_run_for(&p, 50);
	assert_int_equal(evbuffer_get_length(conn_input(p.s.c)),
	    TEST_HELD_HIGH);
	assert_true(SSL_has_pending(conn_ssl(p.s.c)));

	p.s.drain = true;
	test_read_cb(p.s.c, &p.s);
	assert_true(test_run_until(&p, test_server_got_held));
	assert_int_equal(p.s.drained, TEST_HELD_SENT);
	assert_int_equal(p.s.bad, 0);
	test_teardown(&p);
}

static void
test_conn_tls_data_then_close_notify(void **state)
{
	struct test_pair	 p;
	SSL			*ssl;

	(void)state;
	test_setup(&p, false, NULL);
	ssl = test_raw_client(&p);
	/* Both records in one segment: data, then the end. */
	assert_int_equal(SSL_write(ssl, "last words", 10), 10);
	assert_true(SSL_shutdown(ssl) >= 0);
	assert_true(test_run_until(&p, test_server_ended));
	assert_int_equal(p.s.events, CONN_EV_EOF);
	assert_true(p.s.eof_reads >= 1);
	assert_int_equal(evbuffer_get_length(conn_input(p.s.c)), 10);
	SSL_free(ssl);
	test_teardown(&p);
}

static void
test_conn_tls_bare_eof(void **state)
{
	struct test_pair	 p;

	(void)state;
	test_setup(&p, true, test_cctx);
	assert_true(test_run_until(&p, test_connected));
	evbuffer_add(conn_output(p.k.c), "bye", 3);
	conn_flush(p.k.c);
	test_run_for(&p, 20);
	/* The client goes without close_notify: an EOF all the same. */
	conn_free(p.k.c);
	p.k.c = NULL;
	assert_true(test_run_until(&p, test_server_ended));
	assert_int_equal(p.s.events, CONN_EV_EOF);
	assert_int_equal(evbuffer_get_length(conn_input(p.s.c)), 3);
	test_teardown(&p);
}

static void
test_conn_tls_plaintext_is_an_error(void **state)
{
	static const char	 req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct test_pair	 p;

	(void)state;
	test_setup(&p, false, NULL);
	assert_int_equal(write(p.raw, req, sizeof(req) - 1),
	    (ssize_t)sizeof(req) - 1);
	assert_true(test_run_until(&p, test_server_ended));
	assert_int_equal(p.s.events, CONN_EV_ERROR);
	assert_int_equal(p.s.err, EPROTO);
	assert_int_equal(p.s.nread, 0);
	test_teardown(&p);
}

static void
test_conn_tls_client_refuses_certificate(void **state)
{
	struct test_pair	 p;
	SSL_CTX			*strict;

	(void)state;
	/* No trusted CA at all: the self-signed certificate fails. */
	assert_non_null(strict = SSL_CTX_new(TLS_client_method()));
	SSL_CTX_set_verify(strict, SSL_VERIFY_PEER, NULL);
	test_setup(&p, true, strict);
	assert_true(test_run_until(&p, test_connected));
	assert_int_equal(p.k.events, CONN_EV_ERROR);
	assert_int_equal(p.k.err, EPROTO);
	/* The server hears the alert: it ends too, with no request read. */
	assert_true(test_run_until(&p, test_server_ended));
	assert_int_equal(p.s.nread, 0);
	test_teardown(&p);
	SSL_CTX_free(strict);
}

static void
test_conn_tls_peer_key_update(void **state)
{
	struct test_pair	 p;
	SSL			*ssl;
	char			 buf[64];
	int			 i, n = -1;

	(void)state;
	test_setup(&p, false, NULL);
	ssl = test_raw_client(&p);
	/* The peer asks for new keys both ways, then speaks. */
	assert_int_equal(SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	assert_int_equal(SSL_write(ssl, "ping", 4), 4);
	for (i = 0; i < 200 &&
	    evbuffer_get_length(conn_input(p.s.c)) < 4; i++)
		test_run_for(&p, 5);
	assert_int_equal(evbuffer_remove(conn_input(p.s.c), buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);

	/* The answer comes under the server's new key. */
	evbuffer_add(conn_output(p.s.c), "pong", 4);
	conn_flush(p.s.c);
	for (i = 0; i < 200 && n <= 0; i++) {
		test_run_for(&p, 5);
		n = SSL_read(ssl, buf, sizeof(buf));
	}
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "pong", 4);
	assert_int_equal(p.s.events, 0);
	SSL_free(ssl);
	test_teardown(&p);
}

/* Fills the socket buffer from <fd> towards a peer that never reads. */
static void
test_fill_socket(int fd)
{
	char	 junk[4096];

	memset(junk, 'J', sizeof(junk));
	while (write(fd, junk, sizeof(junk)) > 0)
		continue;
	while (write(fd, junk, 1) > 0)
		continue;
}

/* Loop passes in <ms>: a few when idle, tens of thousands if spinning. */
static long
test_loop_passes(struct test_pair *p, int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };
	struct event	*ev;
	int		 late = 0;
	long		 n = 0;

	assert_non_null(ev = evtimer_new(p->base, test_deadline_cb, &late));
	evtimer_add(ev, &tv);
	while (!late && n < 100000) {
		event_base_loop(p->base, EVLOOP_ONCE);
		n++;
	}
	event_free(ev);
	return (n);
}

/*
 * The server's handshake flight does not fit (its client reads
 * nothing), and the client sends another byte: the socket is readable
 * while the handshake waits to write.  Reading must wait too, or every
 * pass of the loop finds the same WANT_WRITE.
 */
static void
test_conn_tls_handshake_waiting_to_write_does_not_spin(void **state)
{
	struct test_pair	 p;
	SSL			*ssl;
	BIO			*rb, *wb;
	char			 hello[4096];
	int			 len, r;

	(void)state;
	test_setup(&p, false, NULL);
	test_run_for(&p, 10);
	test_fill_socket(SSL_get_fd(conn_ssl(p.s.c)));
	/* A ClientHello made in memory, written by hand. */
	assert_non_null(ssl = SSL_new(test_cctx));
	assert_non_null(rb = BIO_new(BIO_s_mem()));
	assert_non_null(wb = BIO_new(BIO_s_mem()));
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	r = SSL_do_handshake(ssl);
	assert_int_equal(SSL_get_error(ssl, r), SSL_ERROR_WANT_READ);
	assert_true((len = BIO_read(wb, hello, sizeof(hello))) > 0);
	assert_int_equal(write(p.raw, hello, (size_t)len), len);
	test_run_for(&p, 10);
	/* A ChangeCipherSpec: readable, and nothing the server can use. */
	assert_int_equal(write(p.raw, "\x14\x03\x03\x00\x01\x01", 6), 6);
	assert_true(test_loop_passes(&p, 300) < 100);
	assert_int_equal(p.s.events, 0);
	SSL_free(ssl);
	test_teardown(&p);
}

/*
 * Good data, then a corrupt record, in one read: the data first, then an
 * error, not an orderly EOF (OpenSSL, asked again after a fatal error,
 * answers with what looks like one).
 */
static void
test_conn_tls_error_after_data_is_an_error(void **state)
{
	struct test_pair	 p;
	SSL			*ssl;
	unsigned char		 bad[5 + 32];

	(void)state;
	test_setup(&p, false, NULL);
	ssl = test_raw_client(&p);
	assert_int_equal(SSL_write(ssl, "hello", 5), 5);
	memcpy(bad, "\x17\x03\x03\x00\x20", 5);	/* application data */
	memset(bad + 5, 0xa5, 32);
	assert_int_equal(write(p.raw, bad, sizeof(bad)), (ssize_t)sizeof(bad));
	assert_true(test_run_until(&p, test_server_ended));
	assert_int_equal(p.s.events, CONN_EV_ERROR);
	assert_int_equal(p.s.err, EPROTO);
	assert_true(p.s.eof_reads == 0 && p.s.nread >= 1);
	assert_int_equal(evbuffer_get_length(conn_input(p.s.c)), 5);
	SSL_free(ssl);
	test_teardown(&p);
}

static void
test_stop_read_cb(struct conn *c, void *arg)
{
	test_read_cb(c, arg);
	conn_read_stop(c);
}

/*
 * Data and close_notify together, and the owner stops reading in its
 * read callback, then starts again: the end, already taken out of the
 * socket, must still be reported.
 */
static void
test_conn_tls_end_kept_across_stop_and_start(void **state)
{
	struct test_pair	 p;
	SSL			*ssl;

	(void)state;
	test_setup(&p, false, NULL);
	ssl = test_raw_client(&p);
	conn_setcb(p.s.c, test_stop_read_cb, NULL, test_event_cb, &p.s);
	assert_int_equal(SSL_write(ssl, "last words", 10), 10);
	assert_true(SSL_shutdown(ssl) >= 0);
	test_run_for(&p, 50);
	assert_int_equal(p.s.nread, 1);
	assert_int_equal(p.s.events, 0);
	conn_setcb(p.s.c, test_read_cb, NULL, test_event_cb, &p.s);
	assert_int_equal(conn_read_start(p.s.c), 0);
	assert_true(test_run_until(&p, test_server_ended));
	assert_int_equal(p.s.events, CONN_EV_EOF);
	SSL_free(ssl);
	test_teardown(&p);
}

static bool
test_client_has_5(struct test_pair *p)
{
	return (evbuffer_get_length(conn_input(p->k.c)) >= 5 ||
	    test_client_ended(p));
}

/*
 * TLS 1.2, where the server finishes first and may speak at once: its
 * Finished and its data arrive in one read on the client side, and the
 * data must not stay inside OpenSSL.
 */
static void
test_conn_tls_client_reads_data_behind_finished(void **state)
{
	struct test_pair	 p;
	SSL_CTX			*c12;
	SSL			*srv, *ssl;
	int			 sv[2], i, r = 0;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.raw = -1;
	assert_non_null(p.base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	test_nonblock(sv[0]);
	test_nonblock(sv[1]);
	assert_non_null(c12 = SSL_CTX_new(TLS_client_method()));
	SSL_CTX_set_max_proto_version(c12, TLS1_2_VERSION);
	assert_non_null(p.k.c = conn_new(p.base, sv[1]));
	conn_setcb(p.k.c, test_read_cb, NULL, test_event_cb, &p.k);
	assert_non_null(ssl = SSL_new(c12));
	assert_int_equal(conn_start_ssl(p.k.c, ssl), 0);
	assert_non_null(srv = SSL_new(test_sctx));
	assert_int_equal(SSL_set_fd(srv, sv[0]), 1);
	SSL_set_accept_state(srv);
	for (i = 0; i < 200 && (r = SSL_do_handshake(srv)) != 1; i++)
		test_run_for(&p, 5);
	assert_int_equal(r, 1);
	assert_int_equal(SSL_version(srv), TLS1_2_VERSION);
	/* The server's Finished is on the socket, unread: data behind it. */
	assert_int_equal(SSL_write(srv, "hello", 5), 5);
	assert_true(test_run_until(&p, test_client_has_5));
	assert_int_equal(p.k.events, CONN_EV_CONNECTED);
	assert_int_equal(evbuffer_get_length(conn_input(p.k.c)), 5);
	SSL_free(srv);
	close(sv[0]);
	test_teardown(&p);
	SSL_CTX_free(c12);
}

int
main(void)
{
	int			 rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conn_tls_handshake_and_bytes),
		cmocka_unit_test(test_conn_tls_big_both_ways),
		cmocka_unit_test(test_conn_tls_watermark_pauses_and_resumes),
		cmocka_unit_test(test_conn_tls_records_held_at_pause),
		cmocka_unit_test(test_conn_tls_data_then_close_notify),
		cmocka_unit_test(test_conn_tls_bare_eof),
		cmocka_unit_test(test_conn_tls_plaintext_is_an_error),
		cmocka_unit_test(test_conn_tls_client_refuses_certificate),
		cmocka_unit_test(test_conn_tls_peer_key_update),
		cmocka_unit_test(
		    test_conn_tls_handshake_waiting_to_write_does_not_spin),
		cmocka_unit_test(test_conn_tls_error_after_data_is_an_error),
		cmocka_unit_test(test_conn_tls_end_kept_across_stop_and_start),
		cmocka_unit_test(
		    test_conn_tls_client_reads_data_behind_finished),
	};

	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests(tests, test_group_setup,
	    test_group_teardown);
	/* Kept for reuse, else LeakSanitizer calls it a leak. */
	conn_cache_flush();
	return (rc);
}
