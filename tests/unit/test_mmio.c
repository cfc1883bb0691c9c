/*
 * tests/unit/test_mmio.c: the virtio-mmio register file as a driver sees
 * it.  The test plays the guest driver through bus_read()/bus_write() on
 * a vCPU-like thread (the test's own) while a real loop runs the device
 * half on its own thread, with a small fake device that records what the
 * transport tells it.  No hv: notifications take the bus fallback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/mtime.h"
#include "vmm/bus.h"
#include "vmm/gmem.h"
#include "vmm/loop.h"
#include "vmm/mmio.h"
#include "vmm/vq.h"

#define BASE		0xd0000000ULL
#define RAM_SIZE	(1024 * 1024)
#define DEADLINE_MS	2000

/* What the fake device saw; written on the loop thread, read by the test. */
struct fake {
	struct mmio_dev	*md;
	struct vq	*vqs;
	int		 activated;
	int		 resets;
	int		 notified[3];
	uint64_t	 features;
	uint16_t	 qsize[3];
	uint64_t	 qdesc[3];
};

struct fix {
	struct gmem	*gm;
	struct bus	*bus;
	struct loop	*lp;
	struct mmio_dev	*md;
	pthread_t	 thr;
	struct fake	 fake;
};

static void
fake_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	static const uint8_t	 cfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)dev;
	memcpy(data, cfg + off, len);
}

static void
fake_activate(void *dev, struct mmio_dev *md, struct vq *vqs,
    uint64_t features)
{
	struct fake	*fk = dev;
	int		 i;

	fk->md = md;
	fk->vqs = vqs;
	fk->features = features;
	for (i = 0; i < 3; i++) {
		fk->qsize[i] = vqs[i].vq_ready ? vqs[i].vq_size : 0;
		fk->qdesc[i] = vqs[i].vq_desc;
	}
	__atomic_add_fetch(&fk->activated, 1, __ATOMIC_SEQ_CST);
}

static void
fake_notify(void *dev, unsigned q)
{
	struct fake	*fk = dev;

	__atomic_add_fetch(&fk->notified[q], 1, __ATOMIC_SEQ_CST);
}

static void
fake_reset(void *dev)
{
	struct fake	*fk = dev;

	__atomic_add_fetch(&fk->resets, 1, __ATOMIC_SEQ_CST);
}

static const struct mmio_dev_ops fake_ops = {
	.mo_device_id = 42,
	.mo_features = 1ULL << 3 | 1ULL << 40,
	.mo_nqueues = 3,
	.mo_queue_max = 64,
	.mo_config_size = 8,
	.mo_config_read = fake_config_read,
	.mo_activate = fake_activate,
	.mo_notify = fake_notify,
	.mo_reset = fake_reset,
};

static void *
fix_thread(void *arg)
{
	struct fix	*f = arg;

	loop_run(f->lp);
	return NULL;
}

static int
fix_setup(void **state)
{
	static struct fix	 f;

	memset(&f, 0, sizeof(f));
	f.gm = gmem_new(RAM_SIZE, 0xc0000000ULL);
	f.bus = bus_new();
	f.lp = loop_new();
	assert_non_null(f.gm);
	assert_non_null(f.bus);
	assert_non_null(f.lp);
	f.md = mmio_new(f.bus, NULL, f.lp, f.gm, BASE, 5, &fake_ops, &f.fake);
	assert_non_null(f.md);
	assert_int_equal(pthread_create(&f.thr, NULL, fix_thread, &f), 0);
	*state = &f;
	return 0;
}

static int
fix_teardown(void **state)
{
	struct fix	*f = *state;

	loop_stop(f->lp);
	pthread_join(f->thr, NULL);
	mmio_free(f->md);
	loop_free(f->lp);
	bus_free(f->bus);
	gmem_free(f->gm);
	return 0;
}

static uint32_t
rd(struct fix *f, uint64_t off)
{
	uint32_t	 v;

	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE + off, &v, 4), 0);
	return v;
}

static void
wr(struct fix *f, uint64_t off, uint32_t v)
{
	assert_int_equal(bus_write(f->bus, BUS_MMIO, BASE + off, &v, 4), 0);
}

/* Polls *<p> (an int the loop thread bumps) until it reaches <want>. */
static int
wait_int(const int *p, int want)
{
	uint64_t	 end = mtime_now_ms() + DEADLINE_MS;
	struct timespec	 ts = { 0, 1000000 };

	while (__atomic_load_n(p, __ATOMIC_SEQ_CST) < want) {
		if (mtime_now_ms() > end)
			return -1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Waits for the loop thread to have handled everything queued so far. */
static void
sync_loop_cb(int fd, uint32_t ev, void *arg)
{
	(void)fd;
	(void)ev;
	__atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void
sync_loop(struct fix *f)
{
	int	 done = 0;

	assert_int_equal(loop_call(f->lp, sync_loop_cb, &done), 0);
	assert_int_equal(wait_int(&done, 1), 0);
}

/* Consumes the interrupt eventfd if it fires within <ms>. */
static int
irq_pending(struct fix *f, int ms)
{
	struct pollfd	 pfd = { mmio_irq_fd(f->md), POLLIN, 0 };
	uint64_t	 v;

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return read(pfd.fd, &v, sizeof(v)) == sizeof(v);
}

static void
negotiate(struct fix *f, uint64_t features)
{
	wr(f, 0x070, 0x01);
	wr(f, 0x070, 0x03);
	wr(f, 0x024, 0);
	wr(f, 0x020, (uint32_t)features);
	wr(f, 0x024, 1);
	wr(f, 0x020, (uint32_t)(features >> 32));
	wr(f, 0x070, 0x0b);
}

static void
setup_queue(struct fix *f, unsigned q, uint32_t num, uint64_t desc)
{
	wr(f, 0x030, q);
	wr(f, 0x038, num);
	wr(f, 0x080, (uint32_t)desc);
	wr(f, 0x084, (uint32_t)(desc >> 32));
	wr(f, 0x090, (uint32_t)(desc + 0x1000));
	wr(f, 0x094, 0);
	wr(f, 0x0a0, (uint32_t)(desc + 0x2000));
	wr(f, 0x0a4, 0);
	wr(f, 0x044, 1);
}

static void
bring_up(struct fix *f)
{
	unsigned	 q;

	negotiate(f, MMIO_F_VERSION_1 | 1ULL << 3);
	assert_int_equal(rd(f, 0x070), 0x0b);
	for (q = 0; q < 3; q++)
		setup_queue(f, q, 16, 0x10000 * (q + 1));
	wr(f, 0x070, 0x0f);
	assert_int_equal(wait_int(&f->fake.activated, 1), 0);
}

static void
test_mmio_identifies_device(void **state)
{
	struct fix	*f = *state;

	assert_int_equal(rd(f, 0x000), 0x74726976);
	assert_int_equal(rd(f, 0x004), 2);
	assert_int_equal(rd(f, 0x008), 42);
	wr(f, 0x030, 2);
	assert_int_equal(rd(f, 0x034), 64);
	wr(f, 0x030, 3);		/* no such queue */
	assert_int_equal(rd(f, 0x034), 0);
	assert_int_equal(rd(f, 0x0fc), 0);
	assert_int_equal(rd(f, 0x070), 0);
}

static void
test_mmio_rejects_wrong_width_and_alignment(void **state)
{
	struct fix	*f = *state;
	uint16_t	 v16 = 0xffff;
	uint8_t		 v8 = 0xff;
	uint64_t	 v64 = ~0ULL;
	uint32_t	 v32 = 0x01;

	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE, &v16, 2), 0);
	assert_int_equal(v16, 0);
	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE + 1, &v8, 1), 0);
	assert_int_equal(v8, 0);
	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE, &v64, 8), 0);
	assert_int_equal(v64, 0);
	/* A misaligned or narrow Status write changes nothing. */
	assert_int_equal(bus_write(f->bus, BUS_MMIO, BASE + 0x071, &v32, 4),
	    0);
	v8 = 1;
	assert_int_equal(bus_write(f->bus, BUS_MMIO, BASE + 0x070, &v8, 1),
	    0);
	assert_int_equal(rd(f, 0x070), 0);
}

static void
test_mmio_offers_version_1_in_high_word(void **state)
{
	struct fix	*f = *state;

	wr(f, 0x014, 0);
	assert_int_equal(rd(f, 0x010), 1U << 3);
	wr(f, 0x014, 1);
	assert_int_equal(rd(f, 0x010), 1U | 1U << 8);	/* bits 32, 40 */
	wr(f, 0x014, 2);
	assert_int_equal(rd(f, 0x010), 0);
}

static void
test_mmio_features_ok_needs_version_1_and_offered_bits(void **state)
{
	static const struct { uint64_t feat; int ok; } cases[] = {
		{ 0, 0 },
		{ 1ULL << 3, 0 },			/* legacy driver */
		{ MMIO_F_VERSION_1 | 1ULL << 4, 0 },	/* not offered */
		{ MMIO_F_VERSION_1, 1 },
		{ MMIO_F_VERSION_1 | 1ULL << 3 | 1ULL << 40, 1 },
	};
	struct fix	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wr(f, 0x070, 0);
		negotiate(f, cases[i].feat);
		assert_int_equal(rd(f, 0x070) & 0x08, cases[i].ok ? 0x08 : 0);
	}
	/* A page of features past the second is refused too. */
	wr(f, 0x070, 0);
	wr(f, 0x024, 2);
	wr(f, 0x020, 1);
	negotiate(f, MMIO_F_VERSION_1);
	assert_int_equal(rd(f, 0x070) & 0x08, 0);
}

static void
test_mmio_driver_ok_activates_with_queues(void **state)
{
	struct fix	*f = *state;

	bring_up(f);
	assert_int_equal(f->fake.features, MMIO_F_VERSION_1 | 1ULL << 3);
	assert_int_equal(f->fake.qsize[0], 16);
	assert_int_equal(f->fake.qdesc[2], 0x30000);
	assert_int_equal(rd(f, 0x070), 0x0f);
	wr(f, 0x030, 1);
	assert_int_equal(rd(f, 0x044), 1);
	/* Every ready queue is looked at once, then on each notify. */
	assert_int_equal(wait_int(&f->fake.notified[1], 1), 0);
	wr(f, 0x050, 1);
	assert_int_equal(wait_int(&f->fake.notified[1], 2), 0);
	wr(f, 0x050, 7);		/* no such queue: ignored */
	sync_loop(f);
	assert_int_equal(f->fake.notified[0] + f->fake.notified[2], 2);
}

static void
test_mmio_queue_registers_frozen_while_ready(void **state)
{
	struct fix	*f = *state;

	bring_up(f);
	wr(f, 0x030, 0);
	wr(f, 0x038, 4);
	wr(f, 0x080, 0x50000);
	wr(f, 0x070, 0);
	sync_loop(f);
	/* After a reset the old values are gone, not the ones written late. */
	wr(f, 0x030, 0);
	assert_int_equal(rd(f, 0x044), 0);
	negotiate(f, MMIO_F_VERSION_1);
	setup_queue(f, 0, 8, 0x40000);
	wr(f, 0x070, 0x0f);
	assert_int_equal(wait_int(&f->fake.activated, 2), 0);
	assert_int_equal(f->fake.qsize[0], 8);
	assert_int_equal(f->fake.qdesc[0], 0x40000);
	assert_int_equal(f->fake.qsize[1], 0);
}

/* Holds the loop thread until the test writes to the pipe. */
static void
hold_loop_cb(int fd, uint32_t ev, void *arg)
{
	char	 c;

	(void)fd;
	(void)ev;
	(void)!read(*(int *)arg, &c, 1);
}

static void
test_mmio_queue_rearmed_before_device_looks_uses_new_rings(void **state)
{
	struct fix	*f = *state;
	int		 p[2];

	bring_up(f);
	assert_int_equal(f->fake.qdesc[1], 0x20000);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_call(f->lp, hold_loop_cb, &p[0]), 0);
	/* Off, new rings, on: all while the device thread is busy. */
	wr(f, 0x030, 1);
	wr(f, 0x044, 0);
	setup_queue(f, 1, 8, 0x60000);
	assert_int_equal(write(p[1], "x", 1), 1);
	sync_loop(f);
	close(p[0]);
	close(p[1]);
	assert_int_equal(f->fake.vqs[1].vq_desc, 0x60000);
	assert_int_equal(f->fake.vqs[1].vq_size, 8);
	assert_int_equal(rd(f, 0x070), 0x0f);
}

static void
test_mmio_bad_queue_sets_needs_reset(void **state)
{
	static const struct { uint32_t num; uint64_t desc; } cases[] = {
		{ 12, 0x10000 },		/* not a power of two */
		{ 128, 0x10000 },		/* above QueueNumMax */
		{ 16, RAM_SIZE - 0x100 },	/* rings past RAM */
		{ 16, 0x10008 },		/* misaligned */
	};
	struct fix	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wr(f, 0x070, 0);
		sync_loop(f);
		negotiate(f, MMIO_F_VERSION_1);
		setup_queue(f, 0, cases[i].num, cases[i].desc);
		wr(f, 0x070, 0x0f);
		sync_loop(f);
		assert_int_equal(rd(f, 0x070), 0x4f);
		assert_int_equal(rd(f, 0x060) & 2, 2);
		assert_true(irq_pending(f, DEADLINE_MS));
		assert_int_equal(f->fake.activated, 0);
	}
	/* The driver's reset clears it and a good setup then works. */
	wr(f, 0x070, 0);
	sync_loop(f);
	assert_int_equal(rd(f, 0x070), 0);
	assert_int_equal(rd(f, 0x060), 0);
	bring_up(f);
}

static void
test_mmio_driver_ok_without_features_ok_needs_reset(void **state)
{
	struct fix	*f = *state;

	wr(f, 0x070, 0x01);
	wr(f, 0x070, 0x03);
	wr(f, 0x070, 0x07);
	assert_int_equal(rd(f, 0x070), 0x43);
	assert_int_equal(rd(f, 0x060), 2);
	sync_loop(f);
	assert_int_equal(f->fake.activated, 0);
}

static void
test_mmio_reset_stops_device_and_clears_state(void **state)
{
	struct fix	*f = *state;

	bring_up(f);
	mmio_interrupt(f->md, 3);	/* out of range: raised regardless */
	assert_int_equal(rd(f, 0x060), 1);
	wr(f, 0x070, 0);
	sync_loop(f);
	assert_int_equal(f->fake.resets, 1);
	assert_int_equal(rd(f, 0x070), 0);
	assert_int_equal(rd(f, 0x060), 0);
	wr(f, 0x030, 0);
	assert_int_equal(rd(f, 0x044), 0);
	/* Notifications to a reset device reach nobody. */
	wr(f, 0x050, 0);
	sync_loop(f);
	assert_int_equal(f->fake.notified[0], 1);
}

static void
test_mmio_interrupt_and_ack(void **state)
{
	struct fix	*f = *state;
	uint16_t	*avail_flags;

	bring_up(f);
	(void)irq_pending(f, 0);
	assert_int_equal(rd(f, 0x060), 0);
	mmio_interrupt(f->md, 0);
	assert_true(irq_pending(f, DEADLINE_MS));
	assert_int_equal(rd(f, 0x060), 1);
	wr(f, 0x064, 1);
	assert_int_equal(rd(f, 0x060), 0);
	/* VIRTQ_AVAIL_F_NO_INTERRUPT on queue 0's avail ring suppresses it. */
	avail_flags = gmem_ptr(f->gm, 0x11000, 2);
	*avail_flags = VQ_AVAIL_F_NO_INTERRUPT;
	mmio_interrupt(f->md, 0);
	assert_int_equal(rd(f, 0x060), 0);
}

static void
test_mmio_config_space_reads(void **state)
{
	struct fix	*f = *state;
	uint64_t	 v64 = 0;
	uint16_t	 v16 = 0;
	uint8_t		 v8 = 0;

	assert_int_equal(rd(f, 0x104), 0x08070605);
	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE + 0x100, &v64, 8),
	    0);
	assert_int_equal(v64, 0x0807060504030201ULL);
	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE + 0x102, &v16, 2),
	    0);
	assert_int_equal(v16, 0x0403);
	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE + 0x107, &v8, 1), 0);
	assert_int_equal(v8, 8);
	/* Past the end, or misaligned: zeros. */
	assert_int_equal(rd(f, 0x108), 0);
	assert_int_equal(bus_read(f->bus, BUS_MMIO, BASE + 0x101, &v16, 2),
	    0);
	assert_int_equal(v16, 0);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, fix_setup, fix_teardown)
	const struct CMUnitTest	 tests[] = {
		T(test_mmio_identifies_device),
		T(test_mmio_rejects_wrong_width_and_alignment),
		T(test_mmio_offers_version_1_in_high_word),
		T(test_mmio_features_ok_needs_version_1_and_offered_bits),
		T(test_mmio_driver_ok_activates_with_queues),
		T(test_mmio_queue_registers_frozen_while_ready),
		T(test_mmio_queue_rearmed_before_device_looks_uses_new_rings),
		T(test_mmio_bad_queue_sets_needs_reset),
		T(test_mmio_driver_ok_without_features_ok_needs_reset),
		T(test_mmio_reset_stops_device_and_clears_state),
		T(test_mmio_interrupt_and_ack),
		T(test_mmio_config_space_reads),
	};
#undef T

	return cmocka_run_group_tests_name("mmio", tests, NULL, NULL);
}
