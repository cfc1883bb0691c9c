/*
 * tests/unit/test_guest_stream.c: corral-guest's vsock stream layer
 * (guest/stream.c, compiled for the host).  The test is both the peer,
 * feeding packets to stream_input() and reading what the transmit hook
 * got, and the owner of the connections (a small recording app).  It
 * checks the handshake, credit in both directions, buffering, closing,
 * resets, limits and a hostile peer, and that nothing leaks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "guest/app.h"
#include "guest/stream.h"

#define GUEST_CID	3
#define HOST		STREAM_CID_HOST
#define PORT		8080
#define PEER_BUF	(256 * 1024)

/* ---- heap, with failure injection and a leak count ---- */

static unsigned	 live_allocs;
static bool	 alloc_fails;

void *
mem_alloc(size_t len)
{
	void	*p;

	if (alloc_fails)
		return NULL;
	if ((p = malloc(len)) != NULL)
		live_allocs++;
	return p;
}

void
mem_free(void *p)
{
	if (p == NULL)
		return;
	live_allocs--;
	free(p);
}

/* ---- the transmit hook ---- */

struct pkt {
	struct stream_hdr	 h;
	uint8_t			 data[STREAM_PKT_MAX];
};

#define SENT_MAX	2048
static struct pkt	 sent[SENT_MAX];
static unsigned		 nsent, ntaken;
static bool		 tx_full;

static int
tx(void *arg, const struct stream_hdr *h, const uint8_t *payload, size_t len)
{
	(void)arg;
	if (tx_full)
		return -1;
	assert_true(nsent < SENT_MAX);
	assert_true(len <= STREAM_PKT_MAX);
	assert_int_equal(h->sh_len, len);
	sent[nsent].h = *h;
	if (len > 0)
		memcpy(sent[nsent].data, payload, len);
	nsent++;
	return 0;
}

/* The next packet the guest sent, or NULL. */
static const struct pkt *
next_sent(void)
{
	return ntaken < nsent ? &sent[ntaken++] : NULL;
}

/* ---- the owner ---- */

struct app {
	struct conn	*c;
	uint8_t		 got[512 * 1024];
	size_t		 ngot;
	size_t		 consume_max;	/* per call */
	bool		 close_in_recv;	/* conn_close() first, then read */
	bool		 eof;
	unsigned	 recv_calls, eof_calls, writable_calls, free_calls;
	unsigned	 connected_calls;
};

#define APPS_MAX	600
static struct app	*apps[APPS_MAX];
static unsigned		 napps;
static bool		 refuse;

static void *
t_accept(void *arg, struct conn *c)
{
	struct app	*a;

	(void)arg;
	if (refuse)
		return NULL;
	a = calloc(1, sizeof(*a));
	assert_non_null(a);
	a->c = c;
	a->consume_max = SIZE_MAX;
	assert_true(napps < APPS_MAX);
	apps[napps++] = a;
	return a;
}

static void
t_connected(void *st)
{
	((struct app *)st)->connected_calls++;
}

static size_t
t_recv(void *st, const uint8_t *data, size_t len, bool eof)
{
	struct app	*a = st;
	size_t		 n = len < a->consume_max ? len : a->consume_max;

	assert_int_equal(a->free_calls, 0);
	a->recv_calls++;
	if (a->close_in_recv)
		conn_close(a->c);
	if (eof)
		a->eof_calls++;
	a->eof = eof;
	assert_true(a->ngot + n <= sizeof(a->got));
	if (n > 0)
		memcpy(a->got + a->ngot, data, n);
	a->ngot += n;
	return n;
}

static void
t_writable(void *st)
{
	((struct app *)st)->writable_calls++;
}

static void
t_free(void *st)
{
	struct app	*a = st;

	a->free_calls++;
	assert_int_equal(a->free_calls, 1);
}

static const struct stream_conn_ops ops = {
	.co_accept = t_accept,
	.co_connected = t_connected,
	.co_recv = t_recv,
	.co_writable = t_writable,
	.co_free = t_free,
};

/* ---- the peer ---- */

static uint64_t	 now;

static void
peer_pkt(struct stream *s, uint64_t src_cid, uint64_t dst_cid,
    uint32_t src_port, uint32_t dst_port, uint16_t type, uint16_t op,
    uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt, const void *data,
    uint32_t len)
{
	uint8_t			 buf[STREAM_HDR_SIZE + STREAM_PKT_MAX];
	struct stream_hdr	 h;

	memset(&h, 0, sizeof(h));
	h.sh_src_cid = src_cid;
	h.sh_dst_cid = dst_cid;
	h.sh_src_port = src_port;
	h.sh_dst_port = dst_port;
	h.sh_type = type;
	h.sh_op = op;
	h.sh_flags = flags;
	h.sh_buf_alloc = buf_alloc;
	h.sh_fwd_cnt = fwd_cnt;
	h.sh_len = len;
	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), data, len);
	stream_input(s, buf, sizeof(h) + len, now);
}

/* A packet from host port <pport> to the guest's PORT. */
static void
peer(struct stream *s, uint32_t pport, uint16_t op, uint32_t flags,
    uint32_t fwd_cnt, const void *data, uint32_t len)
{
	peer_pkt(s, HOST, GUEST_CID, pport, PORT, STREAM_TYPE_STREAM, op,
	    flags, PEER_BUF, fwd_cnt, data, len);
}

/* One main-loop turn without app_poll(). */
static void
turn(struct stream *s)
{
	stream_deliver(s);
	stream_flush(s, now);
}

static void
expect_pkt(uint16_t op, uint32_t dst_port, uint32_t src_port)
{
	const struct pkt	*p = next_sent();

	assert_non_null(p);
	assert_int_equal(p->h.sh_op, op);
	assert_int_equal(p->h.sh_dst_port, dst_port);
	assert_int_equal(p->h.sh_src_port, src_port);
	assert_int_equal(p->h.sh_src_cid, GUEST_CID);
	assert_int_equal(p->h.sh_type, STREAM_TYPE_STREAM);
}

static void
expect_nothing(void)
{
	assert_null(next_sent());
}

/* Opens a connection from host port <pport>; the app's state. */
static struct app *
open_conn(struct stream *s, uint32_t pport)
{
	unsigned	 before = napps;

	peer(s, pport, STREAM_OP_REQUEST, 0, 0, NULL, 0);
	turn(s);
	assert_int_equal(napps, before + 1);
	expect_pkt(STREAM_OP_RESPONSE, pport, PORT);
	return apps[before];
}

static int
setup(void **state)
{
	struct stream	*s;

	nsent = ntaken = 0;
	napps = 0;
	tx_full = refuse = alloc_fails = false;
	now = 1000;
	s = stream_new(GUEST_CID, PORT, &ops, NULL, tx, NULL);
	assert_non_null(s);
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	unsigned	 i;

	stream_free(*state);
	assert_int_equal(live_allocs, 0);
	for (i = 0; i < napps; i++)
		free(apps[i]);
	return 0;
}

/* ---- tests ---- */

static void
test_stream_accepts_request_and_responds(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	const struct pkt	*p;

	peer(s, 1234, STREAM_OP_REQUEST, 0, 0, NULL, 0);
	assert_int_equal(napps, 1);
	stream_flush(s, now);
	p = next_sent();
	assert_non_null(p);
	assert_int_equal(p->h.sh_op, STREAM_OP_RESPONSE);
	assert_int_equal(p->h.sh_dst_cid, HOST);
	assert_int_equal(p->h.sh_dst_port, 1234);
	assert_int_equal(p->h.sh_src_port, PORT);
	assert_int_equal(p->h.sh_buf_alloc, STREAM_RCVBUF);
	assert_int_equal(p->h.sh_fwd_cnt, 0);
	expect_nothing();
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_accepted, 1);
	assert_int_equal(st.ss_conns, 1);
	assert_false(stream_busy(s));
}

static void
test_stream_resets_what_nobody_listens_to(void **state)
{
	struct stream	*s = *state;

	/* Another port. */
	peer_pkt(s, HOST, GUEST_CID, 1, 22, STREAM_TYPE_STREAM,
	    STREAM_OP_REQUEST, 0, PEER_BUF, 0, NULL, 0);
	/* Data for a stream that does not exist. */
	peer(s, 77, STREAM_OP_RW, 0, 0, "x", 1);
	/* An RST for one: no answer, or two sides could loop. */
	peer(s, 78, STREAM_OP_RST, 0, 0, NULL, 0);
	turn(s);
	assert_int_equal(napps, 0);
	expect_pkt(STREAM_OP_RST, 1, 22);
	expect_pkt(STREAM_OP_RST, 77, PORT);
	expect_nothing();
}

static void
test_stream_refused_by_app_gets_rst(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;

	refuse = true;
	peer(s, 5, STREAM_OP_REQUEST, 0, 0, NULL, 0);
	turn(s);
	expect_pkt(STREAM_OP_RST, 5, PORT);
	expect_nothing();
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_refused, 1);
	assert_int_equal(st.ss_conns, 0);
}

static void
test_stream_drops_malformed_packets(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	uint8_t			 raw[STREAM_HDR_SIZE + 8];
	struct stream_hdr	 h;

	/* Shorter than a header. */
	memset(raw, 0, sizeof(raw));
	stream_input(s, raw, STREAM_HDR_SIZE - 1, now);
	/* A length past what arrived. */
	memset(&h, 0, sizeof(h));
	h.sh_src_cid = HOST;
	h.sh_dst_cid = GUEST_CID;
	h.sh_type = STREAM_TYPE_STREAM;
	h.sh_op = STREAM_OP_REQUEST;
	h.sh_dst_port = PORT;
	h.sh_len = 9;
	memcpy(raw, &h, sizeof(h));
	stream_input(s, raw, sizeof(raw), now);
	h.sh_len = UINT32_MAX;
	memcpy(raw, &h, sizeof(h));
	stream_input(s, raw, sizeof(raw), now);
	/* Not addressed to us. */
	peer_pkt(s, HOST, GUEST_CID + 1, 9, PORT, STREAM_TYPE_STREAM,
	    STREAM_OP_REQUEST, 0, PEER_BUF, 0, NULL, 0);
	turn(s);
	expect_nothing();
	/* Seqpacket, which we lack: RST, as Linux does. */
	peer_pkt(s, HOST, GUEST_CID, 9, PORT, 2, STREAM_OP_REQUEST, 0,
	    PEER_BUF, 0, NULL, 0);
	turn(s);
	assert_non_null(next_sent());
	assert_int_equal(sent[0].h.sh_op, STREAM_OP_RST);
	assert_int_equal(sent[0].h.sh_type, 2);
	assert_int_equal(napps, 0);
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_bad, 5);
}

static void
test_stream_unconsumed_data_comes_again_contiguous(void **state)
{
	struct stream	*s = *state;
	struct app	*a = open_conn(s, 10);

	a->consume_max = 3;
	peer(s, 10, STREAM_OP_RW, 0, 0, "hello", 5);
	turn(s);
	assert_int_equal(a->ngot, 3);
	/* Nothing new: no call. */
	turn(s);
	assert_int_equal(a->recv_calls, 1);
	peer(s, 10, STREAM_OP_RW, 0, 0, " world", 6);
	a->consume_max = SIZE_MAX;
	turn(s);
	assert_int_equal(a->recv_calls, 2);
	assert_int_equal(a->ngot, 11);
	assert_memory_equal(a->got, "hello world", 11);
	/* A kick calls again even with nothing new. */
	conn_rx_kick(a->c);
	assert_true(stream_busy(s));
	turn(s);
	assert_int_equal(a->recv_calls, 3);
	assert_false(stream_busy(s));
}

static void
test_stream_resets_a_peer_that_overruns_credit(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	struct app		*a = open_conn(s, 11);
	static uint8_t		 chunk[STREAM_PKT_MAX];
	unsigned		 i;

	a->consume_max = 0;
	for (i = 0; i < STREAM_RCVBUF / STREAM_PKT_MAX; i++)
		peer(s, 11, STREAM_OP_RW, 0, 0, chunk, sizeof(chunk));
	turn(s);
	assert_int_equal(a->free_calls, 0);
	expect_nothing();
	/* One byte past buf_alloc. */
	peer(s, 11, STREAM_OP_RW, 0, 0, chunk, 1);
	turn(s);
	expect_pkt(STREAM_OP_RST, 11, PORT);
	assert_int_equal(a->free_calls, 1);
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_conns, 0);
	assert_int_equal(st.ss_resets_out, 1);
}

static void
test_stream_grants_credit_as_the_app_consumes(void **state)
{
	struct stream		*s = *state;
	struct app		*a = open_conn(s, 12);
	static uint8_t		 chunk[STREAM_PKT_MAX];
	const struct pkt	*p;
	unsigned		 i;

	a->consume_max = 0;
	/* Fill 3/4 of the window, consume none: no update. */
	for (i = 0; i < 12; i++)
		peer(s, 12, STREAM_OP_RW, 0, 0, chunk, sizeof(chunk));
	turn(s);
	expect_nothing();
	/* Consuming opens the window: the peer hears fwd_cnt. */
	a->consume_max = SIZE_MAX;
	conn_rx_kick(a->c);
	turn(s);
	assert_int_equal(a->ngot, 12 * STREAM_PKT_MAX);
	p = next_sent();
	assert_non_null(p);
	assert_int_equal(p->h.sh_op, STREAM_OP_CREDIT_UPDATE);
	assert_int_equal(p->h.sh_fwd_cnt, 12 * STREAM_PKT_MAX);
	assert_int_equal(p->h.sh_buf_alloc, STREAM_RCVBUF);
	expect_nothing();
	/* A little more data, consumed: the peer still has room, no update. */
	peer(s, 12, STREAM_OP_RW, 0, 0, chunk, 100);
	turn(s);
	expect_nothing();
	/* But it may ask. */
	peer(s, 12, STREAM_OP_CREDIT_REQUEST, 0, 0, NULL, 0);
	turn(s);
	p = next_sent();
	assert_non_null(p);
	assert_int_equal(p->h.sh_op, STREAM_OP_CREDIT_UPDATE);
	assert_int_equal(p->h.sh_fwd_cnt, 12 * STREAM_PKT_MAX + 100);
}

static void
test_stream_sends_within_peer_credit(void **state)
{
	struct stream		*s = *state;
	struct app		*a;
	static uint8_t		 data[20000];
	const struct pkt	*p;
	size_t			 i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	/* The peer offers 10000 bytes of window. */
	peer_pkt(s, HOST, GUEST_CID, 13, PORT, STREAM_TYPE_STREAM,
	    STREAM_OP_REQUEST, 0, 10000, 0, NULL, 0);
	turn(s);
	a = apps[0];
	expect_pkt(STREAM_OP_RESPONSE, 13, PORT);
	assert_int_equal(conn_send(a->c, data, sizeof(data)), sizeof(data));
	turn(s);
	p = next_sent();
	assert_int_equal(p->h.sh_op, STREAM_OP_RW);
	assert_int_equal(p->h.sh_len, STREAM_PKT_MAX);
	assert_memory_equal(p->data, data, STREAM_PKT_MAX);
	p = next_sent();
	assert_int_equal(p->h.sh_len, STREAM_PKT_MAX);
	p = next_sent();
	assert_int_equal(p->h.sh_len, 10000 - 2 * STREAM_PKT_MAX);
	/* Out of credit with data left: ask, once. */
	expect_pkt(STREAM_OP_CREDIT_REQUEST, 13, PORT);
	expect_nothing();
	turn(s);
	expect_nothing();
	/* The peer read 6000: exactly that much more goes. */
	peer_pkt(s, HOST, GUEST_CID, 13, PORT, STREAM_TYPE_STREAM,
	    STREAM_OP_CREDIT_UPDATE, 0, 10000, 6000, NULL, 0);
	turn(s);
	p = next_sent();
	assert_int_equal(p->h.sh_op, STREAM_OP_RW);
	assert_int_equal(p->h.sh_len, STREAM_PKT_MAX);
	assert_memory_equal(p->data, data + 10000, STREAM_PKT_MAX);
	p = next_sent();
	assert_int_equal(p->h.sh_len, 6000 - STREAM_PKT_MAX);
	expect_pkt(STREAM_OP_CREDIT_REQUEST, 13, PORT);
	expect_nothing();
	/* A hostile fwd_cnt beyond what was sent grants nothing. */
	peer_pkt(s, HOST, GUEST_CID, 13, PORT, STREAM_TYPE_STREAM,
	    STREAM_OP_CREDIT_UPDATE, 0, 10000, 100000, NULL, 0);
	turn(s);
	expect_nothing();
}

static void
test_stream_credit_arithmetic(void **state)
{
	static const struct {
		uint32_t	 buf_alloc, tx_cnt, fwd_cnt, credit;
	} cases[] = {
		{ 65536, 0, 0, 65536 },
		{ 65536, 1000, 0, 64536 },
		{ 65536, 1000, 1000, 65536 },
		{ 65536, 65536, 0, 0 },
		/* Counters that wrapped around 2^32. */
		{ 65536, 10, 0xfffffff0u, 65510 },
		{ 65536, 0x10, 0xffff0010u, 0 },
		{ 65536, 5, UINT32_MAX, 65530 },
		/* Peer claims to have read more than we sent. */
		{ 65536, 100, 200, 0 },
		/* Window shrunk below what is in flight. */
		{ 1000, 5000, 0, 0 },
		{ 0, 0, 0, 0 },
		{ UINT32_MAX, 0, 0, UINT32_MAX },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(stream_credit_avail(cases[i].buf_alloc,
		    cases[i].tx_cnt, cases[i].fwd_cnt), cases[i].credit);
}

static void
test_stream_send_buffer_fills_then_writable(void **state)
{
	struct stream		*s = *state;
	struct app		*a;
	static uint8_t		 data[CONN_SNDBUF + 100];
	const struct pkt	*p;

	/* A peer with no window yet. */
	peer_pkt(s, HOST, GUEST_CID, 14, PORT, STREAM_TYPE_STREAM,
	    STREAM_OP_REQUEST, 0, 0, 0, NULL, 0);
	turn(s);
	a = apps[0];
	assert_int_equal(conn_send_space(a->c), CONN_SNDBUF);
	assert_int_equal(conn_send(a->c, data, sizeof(data)), CONN_SNDBUF);
	assert_int_equal(conn_send_space(a->c), 0);
	assert_int_equal(conn_send(a->c, data, 1), 0);
	turn(s);
	expect_pkt(STREAM_OP_RESPONSE, 14, PORT);
	expect_pkt(STREAM_OP_CREDIT_REQUEST, 14, PORT);
	expect_nothing();
	assert_int_equal(a->writable_calls, 0);
	/* Window opens: data flows, and room is announced once. */
	peer_pkt(s, HOST, GUEST_CID, 14, PORT, STREAM_TYPE_STREAM,
	    STREAM_OP_CREDIT_UPDATE, 0, PEER_BUF, 0, NULL, 0);
	turn(s);
	while ((p = next_sent()) != NULL)
		assert_int_equal(p->h.sh_op, STREAM_OP_RW);
	assert_int_equal(ntaken, 2 + CONN_SNDBUF / STREAM_PKT_MAX);
	assert_int_equal(a->writable_calls, 1);
	assert_int_equal(conn_send_space(a->c), CONN_SNDBUF);
}

static void
test_stream_close_flushes_then_shuts_down(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	struct app		*a = open_conn(s, 15);
	const struct pkt	*p;

	assert_int_equal(conn_send(a->c, "bye", 3), 3);
	conn_close(a->c);
	assert_int_equal(conn_send(a->c, "more", 4), 0);
	assert_int_equal(conn_send_space(a->c), 0);
	turn(s);
	p = next_sent();
	assert_int_equal(p->h.sh_op, STREAM_OP_RW);
	assert_memory_equal(p->data, "bye", 3);
	p = next_sent();
	assert_int_equal(p->h.sh_op, STREAM_OP_SHUTDOWN);
	assert_int_equal(p->h.sh_flags,
	    STREAM_SHUTDOWN_RCV | STREAM_SHUTDOWN_SEND);
	expect_nothing();
	/* Still open until the peer's RST; data after close is dropped. */
	peer(s, 15, STREAM_OP_RW, 0, 0, "late", 4);
	turn(s);
	assert_int_equal(a->ngot, 0);
	assert_int_equal(a->free_calls, 0);
	assert_int_equal(stream_deadline(s), now + STREAM_CLOSE_MS);
	peer(s, 15, STREAM_OP_RST, 0, 0, NULL, 0);
	turn(s);
	assert_int_equal(a->free_calls, 1);
	expect_nothing();
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_conns, 0);
	assert_int_equal(stream_deadline(s), UINT64_MAX);
}

static void
test_stream_close_inside_recv_keeps_data_valid(void **state)
{
	struct stream		*s = *state;
	struct app		*a = open_conn(s, 22);
	const struct pkt	*p;

	/* t_recv() closes, then copies the data: ASan would see a UAF. */
	a->close_in_recv = true;
	a->consume_max = 2;
	peer(s, 22, STREAM_OP_RW, 0, 0, "abcdef", 6);
	turn(s);
	assert_int_equal(a->ngot, 2);
	assert_memory_equal(a->got, "ab", 2);
	/* The rest was dropped but counted: the SHUTDOWN says all 6. */
	p = next_sent();
	assert_non_null(p);
	assert_int_equal(p->h.sh_op, STREAM_OP_SHUTDOWN);
	assert_int_equal(p->h.sh_fwd_cnt, 6);
	turn(s);
	assert_int_equal(a->recv_calls, 1);
}

static void
test_stream_close_times_out_with_rst(void **state)
{
	struct stream	*s = *state;
	struct app	*a = open_conn(s, 16);

	conn_close(a->c);
	turn(s);
	expect_pkt(STREAM_OP_SHUTDOWN, 16, PORT);
	now += STREAM_CLOSE_MS - 1;
	turn(s);
	expect_nothing();
	assert_int_equal(a->free_calls, 0);
	now += 1;
	turn(s);
	expect_pkt(STREAM_OP_RST, 16, PORT);
	assert_int_equal(a->free_calls, 1);
}

static void
test_stream_eof_is_delivered_once(void **state)
{
	struct stream	*s = *state;
	struct app	*a = open_conn(s, 17);

	peer(s, 17, STREAM_OP_RW, 0, 0, "GET", 3);
	peer(s, 17, STREAM_OP_SHUTDOWN, STREAM_SHUTDOWN_SEND, 0, NULL, 0);
	turn(s);
	assert_int_equal(a->ngot, 3);
	assert_true(a->eof);
	assert_int_equal(a->eof_calls, 1);
	turn(s);
	assert_int_equal(a->eof_calls, 1);
	/* Data after EOF is a protocol error. */
	peer(s, 17, STREAM_OP_RW, 0, 0, "x", 1);
	turn(s);
	expect_pkt(STREAM_OP_RST, 17, PORT);
	assert_int_equal(a->free_calls, 1);
}

static void
test_stream_peer_full_shutdown_and_rst_end_it(void **state)
{
	struct stream	*s = *state;
	struct app	*a = open_conn(s, 18);
	struct app	*b = open_conn(s, 19);

	peer(s, 18, STREAM_OP_SHUTDOWN,
	    STREAM_SHUTDOWN_RCV | STREAM_SHUTDOWN_SEND, 0, NULL, 0);
	peer(s, 19, STREAM_OP_RST, 0, 0, NULL, 0);
	turn(s);
	/* Linux waits for our RST after a full shutdown. */
	expect_pkt(STREAM_OP_RST, 18, PORT);
	expect_nothing();
	assert_int_equal(a->free_calls, 1);
	assert_int_equal(b->free_calls, 1);
	/* A REQUEST for an open stream is a protocol error too. */
	a = open_conn(s, 20);
	peer(s, 20, STREAM_OP_REQUEST, 0, 0, NULL, 0);
	turn(s);
	expect_pkt(STREAM_OP_RST, 20, PORT);
	assert_int_equal(a->free_calls, 1);
}

static void
test_stream_caps_connections(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	const struct pkt	*p;
	uint32_t		 i;

	for (i = 0; i < STREAM_CONN_MAX + 1; i++)
		peer(s, 1000 + i, STREAM_OP_REQUEST, 0, 0, NULL, 0);
	turn(s);
	assert_int_equal(napps, STREAM_CONN_MAX);
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_conns, STREAM_CONN_MAX);
	assert_int_equal(st.ss_refused, 1);
	/* The RST goes first, then the RESPONSEs. */
	p = next_sent();
	assert_int_equal(p->h.sh_op, STREAM_OP_RST);
	assert_int_equal(p->h.sh_dst_port, 1000 + STREAM_CONN_MAX);
	for (i = 0; i < STREAM_CONN_MAX; i++)
		assert_int_equal(next_sent()->h.sh_op, STREAM_OP_RESPONSE);
	expect_nothing();
}

static void
test_stream_waits_for_tx_room(void **state)
{
	struct stream	*s = *state;
	struct app	*a = open_conn(s, 21);

	tx_full = true;
	assert_int_equal(conn_send(a->c, "abc", 3), 3);
	turn(s);
	expect_nothing();
	/* The device is full: nothing to do until it says otherwise. */
	assert_false(stream_busy(s));
	tx_full = false;
	stream_tx_ready(s);
	assert_true(stream_busy(s));
	turn(s);
	expect_pkt(STREAM_OP_RW, 21, PORT);
	assert_false(stream_busy(s));
}

static void
test_stream_round_robin_between_streams(void **state)
{
	struct stream		*s = *state;
	struct app		*a = open_conn(s, 30);
	struct app		*b = open_conn(s, 31);
	static uint8_t		 data[3 * STREAM_PKT_MAX];
	unsigned		 i;

	conn_send(a->c, data, sizeof(data));
	conn_send(b->c, data, sizeof(data));
	turn(s);
	for (i = 0; i < 6; i++)
		expect_pkt(STREAM_OP_RW, i % 2 == 0 ? 30 : 31, PORT);
	expect_nothing();
}

static void
test_stream_connects_out(void **state)
{
	struct stream		*s = *state;
	struct app		 out = { .consume_max = SIZE_MAX };
	struct conn		*c;
	const struct pkt	*p;
	uint32_t		 lport;

	c = stream_connect(s, HOST, 9999, &ops, &out, now);
	assert_non_null(c);
	assert_int_equal(conn_send(c, "READY x\n", 8), 8);
	conn_close(c);
	turn(s);
	p = next_sent();
	assert_int_equal(p->h.sh_op, STREAM_OP_REQUEST);
	assert_int_equal(p->h.sh_dst_port, 9999);
	lport = p->h.sh_src_port;
	assert_true(lport >= 1024 && lport != PORT);
	expect_nothing();
	/* Accepted: the data, then the shutdown. */
	peer_pkt(s, HOST, GUEST_CID, 9999, lport, STREAM_TYPE_STREAM,
	    STREAM_OP_RESPONSE, 0, PEER_BUF, 0, NULL, 0);
	turn(s);
	assert_int_equal(out.connected_calls, 1);
	p = next_sent();
	assert_int_equal(p->h.sh_op, STREAM_OP_RW);
	assert_memory_equal(p->data, "READY x\n", 8);
	expect_pkt(STREAM_OP_SHUTDOWN, 9999, lport);
	peer_pkt(s, HOST, GUEST_CID, 9999, lport, STREAM_TYPE_STREAM,
	    STREAM_OP_RST, 0, PEER_BUF, 0, NULL, 0);
	turn(s);
	assert_int_equal(out.free_calls, 1);
}

static void
test_stream_connect_refused_or_unanswered(void **state)
{
	struct stream		*s = *state;
	struct app		 a = { .consume_max = SIZE_MAX };
	struct app		 b = { .consume_max = SIZE_MAX };
	const struct pkt	*p;

	assert_non_null(stream_connect(s, HOST, 9999, &ops, &a, now));
	turn(s);
	p = next_sent();
	peer_pkt(s, HOST, GUEST_CID, 9999, p->h.sh_src_port,
	    STREAM_TYPE_STREAM, STREAM_OP_RST, 0, 0, 0, NULL, 0);
	turn(s);
	assert_int_equal(a.connected_calls, 0);
	assert_int_equal(a.free_calls, 1);
	/* Nobody answers: given up after STREAM_CONNECT_MS. */
	assert_non_null(stream_connect(s, HOST, 9999, &ops, &b, now));
	turn(s);
	assert_int_equal(next_sent()->h.sh_op, STREAM_OP_REQUEST);
	assert_int_equal(stream_deadline(s), now + STREAM_CONNECT_MS);
	now += STREAM_CONNECT_MS;
	turn(s);
	assert_int_equal(b.free_calls, 1);
	assert_int_equal(b.connected_calls, 0);
}

static void
test_stream_transport_reset_drops_everything(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	struct app		*a = open_conn(s, 40);
	struct app		*b = open_conn(s, 41);

	conn_send(a->c, "pending", 7);
	stream_reset(s, GUEST_CID + 1);
	turn(s);
	expect_nothing();
	assert_int_equal(a->free_calls, 1);
	assert_int_equal(b->free_calls, 1);
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_conns, 0);
	/* The new CID is ours now, the old one is not. */
	peer(s, 42, STREAM_OP_REQUEST, 0, 0, NULL, 0);
	turn(s);
	expect_nothing();
	peer_pkt(s, HOST, GUEST_CID + 1, 42, PORT, STREAM_TYPE_STREAM,
	    STREAM_OP_REQUEST, 0, PEER_BUF, 0, NULL, 0);
	turn(s);
	assert_int_equal(next_sent()->h.sh_src_cid, GUEST_CID + 1);
}

static void
test_stream_out_of_memory_refuses_or_resets(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	struct app		*a = open_conn(s, 50);

	alloc_fails = true;
	peer(s, 51, STREAM_OP_REQUEST, 0, 0, NULL, 0);
	/* A receive buffer cannot be had: the stream is reset. */
	peer(s, 50, STREAM_OP_RW, 0, 0, "data", 4);
	turn(s);
	alloc_fails = false;
	expect_pkt(STREAM_OP_RST, 51, PORT);
	expect_pkt(STREAM_OP_RST, 50, PORT);
	assert_int_equal(a->free_calls, 1);
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_refused, 1);
	assert_int_equal(st.ss_nomem, 1);
}

static void
test_stream_many_requests_leave_no_garbage(void **state)
{
	struct stream		*s = *state;
	struct stream_stats	 st;
	static uint8_t		 body[10000];
	unsigned		 i;
	struct app		*a;

	for (i = 0; i < 300; i++) {
		a = open_conn(s, 2000 + i);
		peer(s, 2000 + i, STREAM_OP_RW, 0, 0, body, STREAM_PKT_MAX);
		peer(s, 2000 + i, STREAM_OP_SHUTDOWN, STREAM_SHUTDOWN_SEND, 0,
		    NULL, 0);
		turn(s);
		assert_int_equal(conn_send(a->c, body, sizeof(body)),
		    sizeof(body));
		conn_close(a->c);
		turn(s);
		peer(s, 2000 + i, STREAM_OP_RST, 0, 0, NULL, 0);
		turn(s);
		assert_int_equal(a->free_calls, 1);
		ntaken = nsent = 0;
	}
	stream_stats_get(s, &st);
	assert_int_equal(st.ss_conns, 0);
	assert_int_equal(st.ss_accepted, 300);
	/* Only the stream itself is left. */
	assert_int_equal(live_allocs, 1);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_stream_accepts_request_and_responds),
		T(test_stream_resets_what_nobody_listens_to),
		T(test_stream_refused_by_app_gets_rst),
		T(test_stream_drops_malformed_packets),
		T(test_stream_unconsumed_data_comes_again_contiguous),
		T(test_stream_resets_a_peer_that_overruns_credit),
		T(test_stream_grants_credit_as_the_app_consumes),
		T(test_stream_sends_within_peer_credit),
		cmocka_unit_test(test_stream_credit_arithmetic),
		T(test_stream_send_buffer_fills_then_writable),
		T(test_stream_close_flushes_then_shuts_down),
		T(test_stream_close_inside_recv_keeps_data_valid),
		T(test_stream_close_times_out_with_rst),
		T(test_stream_eof_is_delivered_once),
		T(test_stream_peer_full_shutdown_and_rst_end_it),
		T(test_stream_caps_connections),
		T(test_stream_waits_for_tx_room),
		T(test_stream_round_robin_between_streams),
		T(test_stream_connects_out),
		T(test_stream_connect_refused_or_unanswered),
		T(test_stream_transport_reset_drops_everything),
		T(test_stream_out_of_memory_refuses_or_resets),
		T(test_stream_many_requests_leave_no_garbage),
	};
#undef T

	return cmocka_run_group_tests_name("guest_stream", tests, NULL, NULL);
}
