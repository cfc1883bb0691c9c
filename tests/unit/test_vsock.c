/*
 * tests/unit/test_vsock.c: the virtio-vsock device end to end, without
 * KVM.  The test is the guest driver: it builds the rings in a real gmem,
 * sets the device up through bus_write() on the mmio transport, posts rx
 * buffers, sends packets on the tx queue and reads the used rings after
 * the interrupt eventfd fires.  A real loop runs the device on its own
 * thread, and host clients are real Unix sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mtime.h"
#include "vmm/bus.h"
#include "vmm/gmem.h"
#include "vmm/loop.h"
#include "vmm/mmio.h"
#include "vmm/vq.h"
#include "vmm/vsock.h"

#define BASE		0xd0000000ULL
#define RAM_SIZE	(8 * 1024 * 1024)
#define QSZ		64
#define RING(q)		(0x10000ULL * ((q) + 1))
#define AVAIL(q)	(RING(q) + 0x1000)
#define USED(q)		(RING(q) + 0x2000)
#define RXBUF_SIZE	4096
#define RXBUF(i)	(0x100000ULL + (uint64_t)(i) * RXBUF_SIZE)
#define TXSLOTS		(QSZ / 2)
#define TXBUF(s)	(0x200000ULL + (uint64_t)(s) * 0x11000)
#define TXDATA(s)	(TXBUF(s) + 0x100)
#define GUEST_CID	3
#define WAIT_MS		2000

#define OP_REQUEST	1
#define OP_RESPONSE	2
#define OP_RST		3
#define OP_SHUTDOWN	4
#define OP_RW		5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7

struct hdr {
	uint64_t	 src_cid;
	uint64_t	 dst_cid;
	uint32_t	 src_port;
	uint32_t	 dst_port;
	uint32_t	 len;
	uint16_t	 type;
	uint16_t	 op;
	uint32_t	 flags;
	uint32_t	 buf_alloc;
	uint32_t	 fwd_cnt;
} __attribute__((packed));

struct pkt {
	struct hdr	 h;
	uint8_t		 data[RXBUF_SIZE];
};

struct t {
	struct gmem		*gm;
	struct bus		*bus;
	struct loop		*lp;
	struct vsock		*vs;
	struct mmio_dev		*md;
	pthread_t		 thr;
	int			 running;
	char			 dir[64];
	char			 path[108];
	uint16_t		 avail[3];
	uint16_t		 used[3];
	unsigned		 txslot;
	uint32_t		 buf_alloc;	/* what the guest advertises */
	uint32_t		 fwd_cnt;	/* what the guest consumed */
};

static struct t	 T;

/* ---- Harness: the device on its loop thread. */

static void *
t_thread(void *arg)
{
	struct t	*t = arg;

	loop_run(t->lp);
	return NULL;
}

static void
t_start(const struct vsock_params *vp)
{
	struct t	*t = &T;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_vsock.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	assert_true(snprintf(t->path, sizeof(t->path), "%s/vm.sock", t->dir) <
	    (int)sizeof(t->path));
	t->gm = gmem_new(RAM_SIZE, 0xc0000000ULL);
	t->bus = bus_new();
	t->lp = loop_new();
	assert_non_null(t->gm);
	assert_non_null(t->bus);
	assert_non_null(t->lp);
	t->vs = vsock_new(t->lp, t->gm, GUEST_CID, t->path);
	assert_non_null(t->vs);
	if (vp != NULL)
		assert_int_equal(vsock_set_params(t->vs, vp), 0);
	t->md = mmio_new(t->bus, NULL, t->lp, t->gm, BASE, 5, &vsock_mmio_ops,
	    t->vs);
	assert_non_null(t->md);
	t->buf_alloc = 1024 * 1024;
	assert_int_equal(pthread_create(&t->thr, NULL, t_thread, t), 0);
	t->running = 1;
}

static int
t_teardown(void **state)
{
	struct t	*t = &T;
	char		 cmd[128];

	(void)state;
	if (t->running) {
		loop_stop(t->lp);
		pthread_join(t->thr, NULL);
	}
	mmio_free(t->md);
	vsock_free(t->vs);
	loop_free(t->lp);
	bus_free(t->bus);
	gmem_free(t->gm);
	if (snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir) >= (int)sizeof(cmd))
		return -1;
	(void)!system(cmd);
	return 0;
}

static void
wr(struct t *t, uint64_t off, uint32_t v)
{
	assert_int_equal(bus_write(t->bus, BUS_MMIO, BASE + off, &v, 4), 0);
}

static uint32_t
rd(struct t *t, uint64_t off)
{
	uint32_t	 v;

	assert_int_equal(bus_read(t->bus, BUS_MMIO, BASE + off, &v, 4), 0);
	return v;
}

static void
t_on_loop_cb(int fd, uint32_t ev, void *arg)
{
	int	*v = arg;

	(void)fd;
	(void)ev;
	__atomic_store_n(v, (int)vsock_nconns(T.vs) + 1, __ATOMIC_SEQ_CST);
}

/* vsock_nconns(), read on the loop thread after what is queued there. */
static int
t_nconns(struct t *t)
{
	uint64_t	 end = mtime_now_ms() + WAIT_MS;
	int		 v = 0;

	assert_int_equal(loop_call(t->lp, t_on_loop_cb, &v), 0);
	while (__atomic_load_n(&v, __ATOMIC_SEQ_CST) == 0)
		assert_true(mtime_now_ms() < end);
	return v - 1;
}

/* Polls until vsock_nconns() is <want>. */
static int
t_wait_nconns(struct t *t, int want)
{
	uint64_t	 end = mtime_now_ms() + WAIT_MS;
	struct pollfd	 pfd = { -1, 0, 0 };

	while (t_nconns(t) != want) {
		if (mtime_now_ms() > end)
			return -1;
		poll(&pfd, 0, 1);
	}
	return 0;
}

static void
t_publish(struct t *t, unsigned q, uint16_t head)
{
	uint16_t	*ring = gmem_ptr(t->gm, AVAIL(q) + 4, 2 * QSZ);
	uint16_t	*idx = gmem_ptr(t->gm, AVAIL(q) + 2, 2);

	ring[t->avail[q] % QSZ] = head;
	t->avail[q]++;
	__atomic_store_n(idx, t->avail[q], __ATOMIC_RELEASE);
}

static void
t_desc(struct t *t, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	uint8_t	*d = gmem_ptr(t->gm, RING(q) + 16ULL * i, 16);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* The driver's side of §3.1.1, then every rx buffer posted. */
static void
t_driver_up(struct t *t)
{
	unsigned	 q;
	int		 i;

	wr(t, 0x070, 0);
	wr(t, 0x070, 1);
	wr(t, 0x070, 3);
	wr(t, 0x024, 1);
	wr(t, 0x020, 1);		/* VIRTIO_F_VERSION_1 */
	wr(t, 0x070, 0x0b);
	assert_int_equal(rd(t, 0x070), 0x0b);
	for (q = 0; q < 3; q++) {
		wr(t, 0x030, q);
		assert_int_equal(rd(t, 0x034), 256);
		wr(t, 0x038, QSZ);
		wr(t, 0x080, (uint32_t)RING(q));
		wr(t, 0x090, (uint32_t)AVAIL(q));
		wr(t, 0x0a0, (uint32_t)USED(q));
		wr(t, 0x044, 1);
	}
	for (i = 0; i < QSZ; i++) {
		t_desc(t, 0, i, RXBUF(i), RXBUF_SIZE, VQ_DESC_F_WRITE, 0);
		t_publish(t, 0, i);
	}
	wr(t, 0x070, 0x0f);
}

/* Waits until the device moved used->idx of <q> past what we saw. */
static int
t_wait_used(struct t *t, unsigned q, int ms)
{
	uint16_t	*uidx = gmem_ptr(t->gm, USED(q) + 2, 2);
	uint64_t	 end = mtime_now_ms() + ms, now, v;
	struct pollfd	 pfd = { mmio_irq_fd(t->md), POLLIN, 0 };

	while (__atomic_load_n(uidx, __ATOMIC_ACQUIRE) == t->used[q]) {
		if ((now = mtime_now_ms()) >= end)
			return 0;
		if (poll(&pfd, 1, (int)(end - now)) == 1)
			(void)!read(pfd.fd, &v, sizeof(v));
	}
	return 1;
}

/*
 * Takes the next packet from the rx queue within <ms>, gives its buffer
 * back, and counts its payload as consumed.  0 on timeout.
 */
static int
t_rx(struct t *t, struct pkt *p, int ms)
{
	uint32_t	*elem;
	uint32_t	 id, len;

	if (!t_wait_used(t, 0, ms))
		return 0;
	elem = gmem_ptr(t->gm, USED(0) + 4 + 8ULL * (t->used[0] % QSZ), 8);
	id = elem[0];
	len = elem[1];
	t->used[0]++;
	assert_true(id < QSZ);
	assert_true(len >= sizeof(p->h) && len <= RXBUF_SIZE);
	memcpy(&p->h, gmem_ptr(t->gm, RXBUF(id), sizeof(p->h)), sizeof(p->h));
	assert_int_equal(p->h.len, len - sizeof(p->h));
	memcpy(p->data, gmem_ptr(t->gm, RXBUF(id) + sizeof(p->h), p->h.len),
	    p->h.len);
	assert_int_equal(p->h.src_cid, 2);
	assert_int_equal(p->h.dst_cid, GUEST_CID);
	assert_int_equal(p->h.type, 1);
	t->fwd_cnt += p->h.len;
	t_publish(t, 0, (uint16_t)id);
	wr(t, 0x050, 0);
	return 1;
}

/* Like t_rx(), but skips credit packets, which may come at any time. */
static int
t_rx_op(struct t *t, struct pkt *p, int ms)
{
	do {
		if (!t_rx(t, p, ms))
			return 0;
	} while (p->h.op == OP_CREDIT_UPDATE || p->h.op == OP_CREDIT_REQUEST);
	return 1;
}

/* Sends one tx chain of <h> and <len> bytes of <data>, waits for it. */
static void
t_tx_hdr(struct t *t, const struct hdr *h, const void *data, uint32_t len)
{
	unsigned	 s = t->txslot++ % TXSLOTS;

	memcpy(gmem_ptr(t->gm, TXBUF(s), sizeof(*h)), h, sizeof(*h));
	if (len != 0)
		memcpy(gmem_ptr(t->gm, TXDATA(s), len), data, len);
	t_desc(t, 1, 2 * s, TXBUF(s), sizeof(*h), len ? VQ_DESC_F_NEXT : 0,
	    2 * s + 1);
	t_desc(t, 1, 2 * s + 1, TXDATA(s), len, 0, 0);
	t_publish(t, 1, 2 * s);
	wr(t, 0x050, 1);
	while (t->used[1] != t->avail[1]) {
		assert_true(t_wait_used(t, 1, WAIT_MS));
		t->used[1] = *(uint16_t *)gmem_ptr(t->gm, USED(1) + 2, 2);
	}
}

static void
t_tx(struct t *t, uint16_t op, uint32_t sport, uint32_t dport,
    uint32_t flags, const void *data, uint32_t len)
{
	struct hdr	 h;

	memset(&h, 0, sizeof(h));
	h.src_cid = GUEST_CID;
	h.dst_cid = 2;
	h.src_port = sport;
	h.dst_port = dport;
	h.len = len;
	h.type = 1;
	h.op = op;
	h.flags = flags;
	h.buf_alloc = t->buf_alloc;
	h.fwd_cnt = t->fwd_cnt;
	t_tx_hdr(t, &h, data, len);
}

/* ---- Host clients. */

static int
t_bind(int fd, const char *path)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) <
	    (int)sizeof(sun.sun_path));
	return bind(fd, (struct sockaddr *)&sun, sizeof(sun));
}

static int
cli_connect_to(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) <
	    (int)sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void
cli_write(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* One read within <ms>: bytes, 0 at EOF, -1 on error, -2 on timeout. */
static ssize_t
cli_read(int fd, void *buf, size_t len, int ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };

	if (poll(&pfd, 1, ms) != 1)
		return -2;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static int
cli_read_exact(int fd, void *buf, size_t len, int ms)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		if ((n = cli_read(fd, (char *)buf + got, len - got, ms)) <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* 1 when the device closed the client (EOF or reset) within WAIT_MS. */
static int
cli_closed(int fd)
{
	char	 buf[256];
	ssize_t	 n;

	while ((n = cli_read(fd, buf, sizeof(buf), WAIT_MS)) > 0)
		;
	return n == 0 || n == -1;
}

static void
fill_pattern(uint8_t *p, size_t len, size_t off)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((off + i) * 7 + 3);
}

/*
 * A host client through CONNECT <port>, answered by the guest: returns the
 * client fd and the host port the device picked.
 */
static int
t_host_connect(struct t *t, uint32_t port, uint32_t *lport)
{
	struct pkt	 p;
	char		 line[64], want[64];
	int		 fd;

	fd = cli_connect_to(t->path);
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	cli_write(fd, line, strlen(line));
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_REQUEST);
	assert_int_equal(p.h.dst_port, port);
	assert_int_equal(p.h.len, 0);
	assert_true(p.h.buf_alloc > 0);
	*lport = p.h.src_port;
	t_tx(t, OP_RESPONSE, port, *lport, 0, NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", *lport);
	memset(line, 0, sizeof(line));
	assert_int_equal(cli_read_exact(fd, line, strlen(want), WAIT_MS), 0);
	assert_string_equal(line, want);
	return fd;
}

/* ---- Tests. */

static void
test_vsock_credit_arithmetic_wraps(void **state)
{
	static const struct {
		uint32_t	 buf_alloc, fwd_cnt, tx_cnt, credit;
	} cases[] = {
		{ 65536, 0, 0, 65536 },
		{ 65536, 0, 1000, 64536 },
		{ 65536, 1000, 1000, 65536 },
		{ 65536, 0, 65536, 0 },
		{ 65536, 0xfffffff0U, 0x10, 65536 - 0x20 },	/* tx wrapped */
		{ 65536, 0xffffff00U, 0xffffff00U, 65536 },
		{ 65536, 5, 70000, 0 },		/* peer claims too much */
		{ 65536, 2000, 1000, 0 },	/* fwd ahead of tx: nonsense */
		{ 0, 0, 0, 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(vsock_credit(cases[i].buf_alloc,
		    cases[i].fwd_cnt, cases[i].tx_cnt), cases[i].credit);
}

static void
test_vsock_new_checks_cid_and_owns_socket_path(void **state)
{
	struct loop	*lp = loop_new();
	struct gmem	*gm = gmem_new(RAM_SIZE, 0xc0000000ULL);
	struct vsock	*vs;
	struct stat	 st;
	char		 dir[] = "/tmp/test_vsock.XXXXXX", path[128];
	int		 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	errno = 0;
	assert_null(vsock_new(lp, gm, 2, path));
	assert_int_equal(errno, EINVAL);
	assert_null(vsock_new(lp, gm, 0xffffffffULL, path));
	/* A socket left by a dead VMM is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(t_bind(fd, path), 0);
	close(fd);
	vs = vsock_new(lp, gm, 3, path);
	assert_non_null(vs);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	vsock_free(vs);
	assert_int_equal(stat(path, &st), -1);
	vsock_free(NULL);
	rmdir(dir);
	gmem_free(gm);
	loop_free(lp);
}

static void
test_vsock_new_leaves_live_sockets_and_other_files_alone(void **state)
{
	struct loop	*lp = loop_new();
	struct gmem	*gm = gmem_new(RAM_SIZE, 0xc0000000ULL);
	struct stat	 st;
	char		 dir[] = "/tmp/test_vsock.XXXXXX", path[128];
	int		 fd, lfd, afd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	/* A mistyped --vsock-uds naming a file: the file survives. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	errno = 0;
	assert_null(vsock_new(lp, gm, 3, path));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	assert_int_equal(unlink(path), 0);
	/* Another VM's live socket is not taken over. */
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(t_bind(lfd, path), 0);
	assert_int_equal(listen(lfd, 8), 0);
	errno = 0;
	assert_null(vsock_new(lp, gm, 3, path));
	assert_int_equal(errno, EADDRINUSE);
	fd = cli_connect_to(path);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	close(afd);
	close(fd);
	close(lfd);
	unlink(path);
	rmdir(dir);
	gmem_free(gm);
	loop_free(lp);
}

static void
test_vsock_new_failing_after_bind_removes_socket_file(void **state)
{
	struct loop	*lp = loop_new();
	struct gmem	*gm = gmem_new(RAM_SIZE, 0xc0000000ULL);
	struct rlimit	 old, rl;
	struct stat	 st;
	char		 dir[] = "/tmp/test_vsock.XXXXXX", path[128];
	int		 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	/* Room for the listener's descriptor, none for the timer's. */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)fd + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	errno = 0;
	assert_null(vsock_new(lp, gm, 3, path));
	assert_int_equal(errno, EMFILE);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	rmdir(dir);
	gmem_free(gm);
	loop_free(lp);
}

static void
test_vsock_config_space_holds_guest_cid(void **state)
{
	struct t	*t = &T;
	uint64_t	 cid = 0;

	(void)state;
	t_start(NULL);
	assert_int_equal(rd(t, 0x008), 19);
	assert_int_equal(bus_read(t->bus, BUS_MMIO, BASE + 0x100, &cid, 8),
	    0);
	assert_int_equal(cid, GUEST_CID);
	assert_int_equal(rd(t, 0x104), 0);
}

static void
test_vsock_host_connect_and_data_both_ways(void **state)
{
	struct t	*t = &T;
	static uint8_t	 sent[200000], got[200000];
	struct pkt	 p;
	uint32_t	 lport, lport2, n, off;
	size_t		 have;
	ssize_t		 r;
	int		 fd, fd2;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	fd = t_host_connect(t, 8080, &lport);
	assert_int_equal(lport, 1U << 30);
	/* Host ports count up. */
	fd2 = t_host_connect(t, 8080, &lport2);
	assert_int_equal(lport2, lport + 1);
	close(fd2);

	/* Host -> guest: 100 kB arrive byte-exact, in rx-buffer-sized RWs. */
	fill_pattern(sent, 100000, 0);
	cli_write(fd, sent, 100000);
	for (have = 0; have < 100000;) {
		assert_true(t_rx(t, &p, WAIT_MS));
		if (p.h.src_port == lport2)
			continue;	/* fd2's SHUTDOWN */
		if (p.h.op != OP_RW)
			continue;
		assert_int_equal(p.h.src_port, lport);
		assert_int_equal(p.h.dst_port, 8080);
		assert_true(have + p.h.len <= 100000);
		memcpy(got + have, p.data, p.h.len);
		have += p.h.len;
	}
	assert_memory_equal(got, sent, 100000);

	/* Guest -> host: 200 kB in 16 kB RWs while the client reads. */
	fill_pattern(sent, sizeof(sent), 12345);
	have = 0;
	for (off = 0; off < sizeof(sent); off += n) {
		n = sizeof(sent) - off < 16384 ? sizeof(sent) - off : 16384;
		t_tx(t, OP_RW, 8080, lport, 0, sent + off, n);
		while ((r = cli_read(fd, got + have, sizeof(got) - have, 0)) >
		    0)
			have += r;
	}
	assert_int_equal(cli_read_exact(fd, got + have, sizeof(got) - have,
	    WAIT_MS), 0);
	assert_memory_equal(got, sent, sizeof(sent));
	close(fd);
}

static void
test_vsock_guest_rst_closes_client(void **state)
{
	struct t	*t = &T;
	uint32_t	 lport;
	int		 fd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	fd = t_host_connect(t, 80, &lport);
	assert_int_equal(t_nconns(t), 1);
	t_tx(t, OP_RST, 80, lport, 0, NULL, 0);
	assert_true(cli_closed(fd));
	assert_int_equal(t_nconns(t), 0);
	close(fd);
}

static void
test_vsock_refused_request_closes_client(void **state)
{
	struct t	*t = &T;
	struct pkt	 p;
	int		 fd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	fd = cli_connect_to(t->path);
	cli_write(fd, "CONNECT 81\n", 11);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_REQUEST);
	t_tx(t, OP_RST, 81, p.h.src_port, 0, NULL, 0);
	assert_true(cli_closed(fd));
	close(fd);
}

static void
test_vsock_unanswered_request_times_out(void **state)
{
	struct t		*t = &T;
	struct vsock_params	 vp;
	struct pkt		 p;
	uint32_t		 lport;
	uint64_t		 start;
	int			 fd;

	(void)state;
	vsock_params_default(&vp);
	vp.vp_connect_ms = 100;
	t_start(&vp);
	t_driver_up(t);
	start = mtime_now_ms();
	fd = cli_connect_to(t->path);
	cli_write(fd, "CONNECT 82\n", 11);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_REQUEST);
	lport = p.h.src_port;
	assert_true(cli_closed(fd));
	assert_true(mtime_now_ms() - start >= 100);
	/* The guest is told to forget the half-open stream. */
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(p.h.src_port, lport);
	assert_int_equal(p.h.dst_port, 82);
	/* A RESPONSE arriving late meets an RST too. */
	t_tx(t, OP_RESPONSE, 82, lport, 0, NULL, 0);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	close(fd);
}

static void
test_vsock_bad_connect_lines_close_client(void **state)
{
	static const char	*cases[] = {
		"CONNEKT 1\n",
		"CONNECT \n",
		"CONNECT -1\n",
		"CONNECT 4294967296\n",
		"CONNECT 12x\n",
		"CONNECT 12 \n",
		"connect 12\n",
		"CONNECT 123456789012345678901234567890",	/* too long */
		"\n",
	};
	struct t		*t = &T;
	struct vsock_params	 vp;
	struct pkt		 p;
	size_t			 i;
	int			 fd;

	(void)state;
	vsock_params_default(&vp);
	vp.vp_line_ms = 200;
	t_start(&vp);
	t_driver_up(t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = cli_connect_to(t->path);
		cli_write(fd, cases[i], strlen(cases[i]));
		if (!cli_closed(fd))
			fail_msg("\"%s\" kept open", cases[i]);
		close(fd);
	}
	/* Silence, and a line without its end, time out. */
	fd = cli_connect_to(t->path);
	assert_true(cli_closed(fd));
	close(fd);
	fd = cli_connect_to(t->path);
	cli_write(fd, "CONNECT 8", 9);
	assert_true(cli_closed(fd));
	close(fd);
	/* None of it reached the guest. */
	assert_false(t_rx(t, &p, 50));
	assert_int_equal(t_nconns(t), 0);
}

static void
test_vsock_data_sent_with_connect_line_is_kept(void **state)
{
	struct t	*t = &T;
	struct pkt	 p;
	char		 ok[32];
	int		 fd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	fd = cli_connect_to(t->path);
	cli_write(fd, "CONNECT 8080\nGET / HTTP/1.1\r\n\r\n", 31);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_REQUEST);
	t_tx(t, OP_RESPONSE, 8080, p.h.src_port, 0, NULL, 0);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RW);
	assert_int_equal(p.h.len, 18);
	assert_memory_equal(p.data, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_true(cli_read(fd, ok, sizeof(ok), WAIT_MS) > 0);
	assert_memory_equal(ok, "OK ", 3);
	close(fd);
}

static void
test_vsock_guest_initiated_connect(void **state)
{
	struct t		*t = &T;
	struct sockaddr_un	 sun;
	struct pkt		 p;
	char			 buf[64];
	int			 lfd, afd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(snprintf(sun.sun_path, sizeof(sun.sun_path), "%s_5000",
	    t->path) < (int)sizeof(sun.sun_path));
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 8), 0);

	t_tx(t, OP_REQUEST, 1234, 5000, 0, NULL, 0);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RESPONSE);
	assert_int_equal(p.h.src_port, 5000);
	assert_int_equal(p.h.dst_port, 1234);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	t_tx(t, OP_RW, 1234, 5000, 0, "READY 7\n", 8);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(cli_read_exact(afd, buf, 8, WAIT_MS), 0);
	assert_string_equal(buf, "READY 7\n");
	cli_write(afd, "hello", 5);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RW);
	assert_memory_equal(p.data, "hello", 5);

	/* No one listens on 5001: refused with an RST. */
	t_tx(t, OP_REQUEST, 1235, 5001, 0, NULL, 0);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(p.h.dst_port, 1235);
	close(afd);
	close(lfd);
}

static void
test_vsock_host_data_respects_guest_credit(void **state)
{
	struct t	*t = &T;
	static uint8_t	 sent[5000];
	uint8_t		 got[5000];
	struct pkt	 p;
	uint32_t	 lport, have = 0;
	int		 fd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	t->buf_alloc = 1000;
	fd = t_host_connect(t, 8080, &lport);
	fill_pattern(sent, sizeof(sent), 0);
	cli_write(fd, sent, sizeof(sent));
	while (have < 1000) {
		assert_true(t_rx(t, &p, WAIT_MS));
		if (p.h.op == OP_RW) {
			memcpy(got + have, p.data, p.h.len);
			have += p.h.len;
		}
	}
	assert_int_equal(have, 1000);
	/* Out of credit: at most a CREDIT_REQUEST, never more data. */
	while (t_rx(t, &p, 100))
		assert_int_equal(p.h.op, OP_CREDIT_REQUEST);
	/* The guest read it all (t_rx counted fwd_cnt): the rest flows. */
	t->buf_alloc = 8192;
	t_tx(t, OP_CREDIT_UPDATE, 8080, lport, 0, NULL, 0);
	while (have < sizeof(sent)) {
		assert_true(t_rx(t, &p, WAIT_MS));
		if (p.h.op == OP_RW) {
			assert_true(have + p.h.len <= sizeof(sent));
			memcpy(got + have, p.data, p.h.len);
			have += p.h.len;
		}
	}
	assert_memory_equal(got, sent, sizeof(sent));
	close(fd);
}

static void
test_vsock_slow_reader_bounds_buffering(void **state)
{
	struct t		*t = &T;
	struct vsock_params	 vp;
	static uint8_t		 chunk[4096];
	struct pkt		 p;
	uint32_t		 lport, sent = 0, fwd = 0, credit;
	int			 fd, i;

	(void)state;
	vsock_params_default(&vp);
	vp.vp_buf_alloc = 4096;
	t_start(&vp);
	t_driver_up(t);
	fd = t_host_connect(t, 8080, &lport);
	/*
	 * The client never reads.  Send what our view of the device's credit
	 * allows, asking for updates, until the socket and the device's
	 * 4 kB are full and the credit stays at zero.
	 */
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 100000; i++) {
		credit = vsock_credit(vp.vp_buf_alloc, fwd, sent);
		if (credit != 0) {
			t_tx(t, OP_RW, 8080, lport, 0, chunk, credit);
			sent += credit;
			continue;
		}
		/* Updates may also come unasked: the last one counts. */
		t_tx(t, OP_CREDIT_REQUEST, 8080, lport, 0, NULL, 0);
		assert_true(t_rx(t, &p, WAIT_MS));
		do {
			assert_int_equal(p.h.op, OP_CREDIT_UPDATE);
			assert_int_equal(p.h.buf_alloc, 4096);
			/* Held by the device: never more than it offered. */
			assert_true(sent - p.h.fwd_cnt <= 4096);
			credit = p.h.fwd_cnt;
		} while (t_rx(t, &p, 50));
		if (credit == fwd)
			break;		/* no progress: the pipe is full */
		fwd = credit;
	}
	assert_true(i < 100000);
	assert_int_equal(sent - fwd, 4096);
	/* One byte past the credit: the stream is reset. */
	t_tx(t, OP_RW, 8080, lport, 0, chunk, 1);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_true(cli_closed(fd));
	close(fd);
}

static void
test_vsock_hostile_packets_get_rst_or_dropped(void **state)
{
	struct t	*t = &T;
	struct hdr	 h;
	struct pkt	 p;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	/* Dropped without an answer: */
	memset(&h, 0, sizeof(h));
	h.src_cid = 4;			/* spoofed source */
	h.dst_cid = 2;
	h.type = 1;
	h.op = OP_RW;
	h.src_port = 1;
	h.dst_port = 2;
	t_tx_hdr(t, &h, NULL, 0);
	h.src_cid = GUEST_CID;
	h.dst_cid = 7;			/* not the host */
	t_tx_hdr(t, &h, NULL, 0);
	h.dst_cid = 2;
	h.len = 100;			/* more than the chain holds */
	t_tx_hdr(t, &h, "abc", 3);
	h.len = 0;
	h.op = OP_RST;			/* RST for nothing */
	t_tx_hdr(t, &h, NULL, 0);
	h.op = OP_REQUEST;
	h.type = 2;			/* SEQPACKET: RST */
	h.src_port = 11;
	t_tx_hdr(t, &h, NULL, 0);
	assert_true(t_rx(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(p.h.dst_port, 11);
	/* RW and SHUTDOWN for unknown streams: RST. */
	t_tx(t, OP_RW, 12, 99, 0, "x", 1);
	assert_true(t_rx(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(p.h.dst_port, 12);
	assert_int_equal(p.h.src_port, 99);
	t_tx(t, OP_SHUTDOWN, 13, 99, 3, NULL, 0);
	assert_true(t_rx(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(p.h.dst_port, 13);
	/* An unknown op on a live stream resets it. */
	{
		uint32_t lport;
		int fd = t_host_connect(t, 80, &lport);

		t_tx(t, 99, 80, lport, 0, NULL, 0);
		assert_true(t_rx_op(t, &p, WAIT_MS));
		assert_int_equal(p.h.op, OP_RST);
		assert_true(cli_closed(fd));
		close(fd);
	}
	assert_false(t_rx(t, &p, 50));
	assert_int_equal(rd(t, 0x070), 0x0f);	/* all that was not fatal */
}

static void
test_vsock_stream_cap_refuses_more(void **state)
{
	struct t		*t = &T;
	struct vsock_params	 vp;
	struct sockaddr_un	 sun;
	struct pkt		 p;
	uint32_t		 lport;
	int			 fds[3], fd, lfd, i;

	(void)state;
	vsock_params_default(&vp);
	vp.vp_conns_max = 3;
	t_start(&vp);
	t_driver_up(t);
	for (i = 0; i < 3; i++)
		fds[i] = t_host_connect(t, 80, &lport);
	/* A fourth host client is closed at once. */
	fd = cli_connect_to(t->path);
	assert_true(cli_closed(fd));
	close(fd);
	/* A guest connection beyond the cap is refused even with a listener. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(snprintf(sun.sun_path, sizeof(sun.sun_path), "%s_6000",
	    t->path) < (int)sizeof(sun.sun_path));
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	t_tx(t, OP_REQUEST, 1000, 6000, 0, NULL, 0);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(t_nconns(t), 3);
	close(lfd);
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

static void
test_vsock_broken_ring_needs_reset_and_reset_closes_streams(void **state)
{
	struct t	*t = &T;
	uint32_t	 lport;
	uint16_t	*idx;
	int		 fd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	fd = t_host_connect(t, 80, &lport);
	/* The tx avail index leaps a whole ring ahead. */
	idx = gmem_ptr(t->gm, AVAIL(1) + 2, 2);
	__atomic_store_n(idx, (uint16_t)(t->avail[1] + QSZ + 1),
	    __ATOMIC_RELEASE);
	wr(t, 0x050, 1);
	{
		uint64_t end = mtime_now_ms() + WAIT_MS;

		while ((rd(t, 0x070) & 0x40) == 0)
			assert_true(mtime_now_ms() < end);
	}
	assert_int_equal(rd(t, 0x060) & 2, 2);
	/*
	 * Linux never resets a device that asks for it: the streams end
	 * now, not when the VM does.
	 */
	assert_true(cli_closed(fd));
	assert_int_equal(t_wait_nconns(t, 0), 0);
	close(fd);
	/* So does a new client, as soon as its CONNECT line is in. */
	fd = cli_connect_to(t->path);
	cli_write(fd, "CONNECT 80\n", 11);
	assert_true(cli_closed(fd));
	close(fd);
	wr(t, 0x070, 0);
	assert_int_equal(t_wait_nconns(t, 0), 0);

	/* A fresh start works. */
	memset(t->avail, 0, sizeof(t->avail));
	memset(t->used, 0, sizeof(t->used));
	memset(gmem_ptr(t->gm, RING(0), 0x40000), 0, 0x40000);
	t_driver_up(t);
	fd = t_host_connect(t, 80, &lport);
	close(fd);
}

static void
test_vsock_shutdowns_map_to_unix_side(void **state)
{
	struct t	*t = &T;
	struct pkt	 p;
	char		 buf[16];
	uint32_t	 lport;
	int		 fd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	fd = t_host_connect(t, 80, &lport);
	/* Client half-closes: the guest hears SHUTDOWN(SEND) after the data. */
	cli_write(fd, "req", 3);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RW);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_SHUTDOWN);
	assert_int_equal(p.h.flags, 2);
	/* The guest still answers, then closes: client reads it, then EOF. */
	t_tx(t, OP_RW, 80, lport, 0, "resp", 4);
	t_tx(t, OP_SHUTDOWN, 80, lport, 3, NULL, 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(cli_read_exact(fd, buf, 4, WAIT_MS), 0);
	assert_string_equal(buf, "resp");
	assert_true(cli_closed(fd));
	/* The device answered the guest's full SHUTDOWN with the RST. */
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(t_nconns(t), 0);
	close(fd);
}

static void
test_vsock_guest_shutdown_rcv_fails_client_writes(void **state)
{
	struct t	*t = &T;
	struct pkt	 p;
	char		 buf[16];
	uint32_t	 lport;
	int		 fd;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	fd = t_host_connect(t, 80, &lport);
	/* t_tx() returns once the device has taken the packet. */
	t_tx(t, OP_SHUTDOWN, 80, lport, 1, NULL, 0);
	errno = 0;
	assert_int_equal(send(fd, "x", 1, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	/* The other direction still flows. */
	t_tx(t, OP_RW, 80, lport, 0, "resp", 4);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(cli_read_exact(fd, buf, 4, WAIT_MS), 0);
	assert_string_equal(buf, "resp");
	assert_false(t_rx_op(t, &p, 50));
	assert_int_equal(t_nconns(t), 1);
	close(fd);
}

struct t_flood {
	struct t	*f_t;
	int		 f_stop;
	uint64_t	 f_consumed;	/* tx chains the device took */
	uint64_t	 f_at_call;	/* f_consumed when the call ran */
	int		 f_served;
};

/*
 * A guest vCPU that refills the tx ring as fast as the device drains it,
 * with packets the device drops (a spoofed source CID).
 */
static void *
t_flood_thread(void *arg)
{
	struct t_flood	*f = arg;
	struct t	*t = f->f_t;
	uint16_t	*uidx = gmem_ptr(t->gm, USED(1) + 2, 2);
	uint16_t	 seen = 0, u;
	uint32_t	 one = 1;
	unsigned	 idle = 0;

	while (!__atomic_load_n(&f->f_stop, __ATOMIC_ACQUIRE)) {
		u = __atomic_load_n(uidx, __ATOMIC_ACQUIRE);
		__atomic_add_fetch(&f->f_consumed, (uint16_t)(u - seen),
		    __ATOMIC_RELEASE);
		idle = u == seen ? idle + 1 : 0;
		seen = u;
		while ((uint16_t)(t->avail[1] - seen) < QSZ)
			t_publish(t, 1, 0);
		/*
		 * Notify only when the device seems to have stopped: a driver
		 * that notified every time would be slower than the device.
		 */
		if (idle != 0 && idle % 4096 == 0)
			(void)bus_write(t->bus, BUS_MMIO, BASE + 0x050, &one,
			    4);
	}
	return NULL;
}

static void
t_flood_call_cb(int fd, uint32_t ev, void *arg)
{
	struct t_flood	*f = arg;

	(void)fd;
	(void)ev;
	f->f_at_call = __atomic_load_n(&f->f_consumed, __ATOMIC_ACQUIRE);
	__atomic_store_n(&f->f_served, 1, __ATOMIC_RELEASE);
}

static void
test_vsock_guest_refilling_tx_does_not_starve_the_loop(void **state)
{
	struct t	*t = &T;
	struct t_flood	 f;
	struct pollfd	 pfd = { -1, 0, 0 };
	struct hdr	 h;
	pthread_t	 thr;
	uint64_t	 end, before = 0;
	int		 i, failed = 0;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	memset(&f, 0, sizeof(f));
	f.f_t = t;
	memset(&h, 0, sizeof(h));
	h.src_cid = GUEST_CID + 1;
	h.dst_cid = 2;
	h.type = 1;
	h.op = OP_RW;
	memcpy(gmem_ptr(t->gm, TXBUF(0), sizeof(h)), &h, sizeof(h));
	t_desc(t, 1, 0, TXBUF(0), sizeof(h), 0, 0);
	assert_int_equal(pthread_create(&thr, NULL, t_flood_thread, &f), 0);
	end = mtime_now_ms() + WAIT_MS;
	while (__atomic_load_n(&f.f_consumed, __ATOMIC_ACQUIRE) < 10 * QSZ &&
	    mtime_now_ms() < end)
		poll(&pfd, 0, 1);
	/*
	 * Anything else for the loop (a signal, a socket) gets its turn
	 * within a ring or two of tx work, not when the guest pauses.
	 */
	end = mtime_now_ms() + WAIT_MS;
	for (i = 0; i < 20 && !failed; i++) {
		__atomic_store_n(&f.f_served, 0, __ATOMIC_RELEASE);
		assert_int_equal(loop_call(t->lp, t_flood_call_cb, &f), 0);
		before = __atomic_load_n(&f.f_consumed, __ATOMIC_ACQUIRE);
		while (!__atomic_load_n(&f.f_served, __ATOMIC_ACQUIRE) &&
		    mtime_now_ms() < end)
			poll(&pfd, 0, 1);
		failed = !__atomic_load_n(&f.f_served, __ATOMIC_ACQUIRE) ||
		    f.f_at_call > before + 8 * QSZ;
	}
	__atomic_store_n(&f.f_stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	assert_true(before >= 10 * QSZ);
	if (failed)
		fail_msg("loop call %d waited for %llu tx chains", i,
		    (unsigned long long)(f.f_at_call - before));
	assert_int_equal(rd(t, 0x070), 0x0f);
}

static void
test_vsock_client_close_shuts_down_then_waits_for_rst(void **state)
{
	struct t		*t = &T;
	struct vsock_params	 vp;
	struct pkt		 p;
	uint32_t		 lport;
	int			 fd;

	(void)state;
	vsock_params_default(&vp);
	vp.vp_close_ms = 100;
	t_start(&vp);
	t_driver_up(t);
	fd = t_host_connect(t, 80, &lport);
	close(fd);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_SHUTDOWN);
	assert_int_equal(p.h.flags, 3);
	t_tx(t, OP_RST, 80, lport, 0, NULL, 0);
	assert_int_equal(t_wait_nconns(t, 0), 0);

	/* A guest that never answers gets the RST after vp_close_ms. */
	fd = t_host_connect(t, 80, &lport);
	close(fd);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_SHUTDOWN);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(p.h.src_port, lport);
	assert_int_equal(t_nconns(t), 0);
}

static void
test_vsock_client_half_close_then_gone_ends_stream(void **state)
{
	struct t		*t = &T;
	struct vsock_params	 vp;
	struct pkt		 p;
	uint32_t		 lport;
	int			 fd;

	(void)state;
	vsock_params_default(&vp);
	vp.vp_close_ms = 100;
	t_start(&vp);
	t_driver_up(t);
	fd = t_host_connect(t, 80, &lport);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_SHUTDOWN);
	assert_int_equal(p.h.flags, 2);
	/* Gone for good while the guest keeps its side open. */
	close(fd);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_SHUTDOWN);
	assert_int_equal(p.h.flags, 3);
	assert_true(t_rx_op(t, &p, WAIT_MS));
	assert_int_equal(p.h.op, OP_RST);
	assert_int_equal(t_nconns(t), 0);
}

static void
test_vsock_many_concurrent_streams(void **state)
{
	enum { N = 300 };
	struct t	*t = &T;
	static int	 fds[N];
	static uint32_t	 lports[N];
	static int	 seen[N];
	struct pkt	 p;
	char		 msg[32], buf[32];
	int		 i, k, got;

	(void)state;
	t_start(NULL);
	t_driver_up(t);
	for (i = 0; i < N; i++)
		fds[i] = t_host_connect(t, 80, &lports[i]);
	assert_int_equal(t_nconns(t), N);
	/* Every client talks at once; each byte reaches its own stream. */
	for (i = 0; i < N; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		cli_write(fds[i], msg, strlen(msg));
	}
	for (got = 0; got < N;) {
		assert_true(t_rx_op(t, &p, WAIT_MS));
		assert_int_equal(p.h.op, OP_RW);
		k = (int)(p.h.src_port - lports[0]);
		assert_true(k >= 0 && k < N && !seen[k]);
		snprintf(msg, sizeof(msg), "m%d", k);
		assert_int_equal(p.h.len, strlen(msg));
		assert_memory_equal(p.data, msg, p.h.len);
		seen[k] = 1;
		got++;
	}
	for (i = N - 1; i >= 0; i--) {
		snprintf(msg, sizeof(msg), "r%d", i);
		t_tx(t, OP_RW, 80, lports[i], 0, msg, strlen(msg));
	}
	for (i = 0; i < N; i++) {
		snprintf(msg, sizeof(msg), "r%d", i);
		memset(buf, 0, sizeof(buf));
		assert_int_equal(cli_read_exact(fds[i], buf, strlen(msg),
		    WAIT_MS), 0);
		assert_string_equal(buf, msg);
		close(fds[i]);
	}
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_teardown(fn, t_teardown)
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_vsock_credit_arithmetic_wraps),
		cmocka_unit_test(
		    test_vsock_new_checks_cid_and_owns_socket_path),
		cmocka_unit_test(
		    test_vsock_new_leaves_live_sockets_and_other_files_alone),
		cmocka_unit_test(
		    test_vsock_new_failing_after_bind_removes_socket_file),
		T(test_vsock_config_space_holds_guest_cid),
		T(test_vsock_host_connect_and_data_both_ways),
		T(test_vsock_guest_rst_closes_client),
		T(test_vsock_refused_request_closes_client),
		T(test_vsock_unanswered_request_times_out),
		T(test_vsock_bad_connect_lines_close_client),
		T(test_vsock_data_sent_with_connect_line_is_kept),
		T(test_vsock_guest_initiated_connect),
		T(test_vsock_host_data_respects_guest_credit),
		T(test_vsock_slow_reader_bounds_buffering),
		T(test_vsock_hostile_packets_get_rst_or_dropped),
		T(test_vsock_stream_cap_refuses_more),
		T(test_vsock_broken_ring_needs_reset_and_reset_closes_streams),
		T(test_vsock_shutdowns_map_to_unix_side),
		T(test_vsock_guest_shutdown_rcv_fails_client_writes),
		T(test_vsock_guest_refilling_tx_does_not_starve_the_loop),
		T(test_vsock_client_close_shuts_down_then_waits_for_rst),
		T(test_vsock_client_half_close_then_gone_ends_stream),
		T(test_vsock_many_concurrent_streams),
	};
#undef T

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("vsock", tests, NULL, NULL);
}
