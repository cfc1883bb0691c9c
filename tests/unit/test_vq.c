/*
 * tests/unit/test_vq.c: split virtqueues against a hostile driver.  The
 * test writes rings into a real gmem the way a guest would, including
 * every kind of broken ring, and checks what vq_pop() makes of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "lib/mtime.h"
#include "vmm/gmem.h"
#include "vmm/vq.h"

#define RAM_SIZE	(1024 * 1024)
#define QSIZE		8
#define DESC		0x1000
#define AVAIL		0x2000
#define USED		0x3000
#define BUF		0x10000

struct fix {
	struct gmem	*gm;
	struct vq	 vq;
	struct vq_chain	 ch;
	uint16_t	 aidx;		/* driver's avail->idx */
};

static int
fix_setup(void **state)
{
	static struct fix	 f;

	memset(&f, 0, sizeof(f));
	f.gm = gmem_new(RAM_SIZE, 0xc0000000ULL);
	assert_non_null(f.gm);
	assert_int_equal(vq_init(&f.vq, f.gm, QSIZE, DESC, AVAIL, USED), 0);
	*state = &f;
	return 0;
}

static int
fix_teardown(void **state)
{
	struct fix	*f = *state;

	gmem_free(f->gm);
	return 0;
}

static void
put_desc(struct fix *f, uint16_t i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	uint8_t	*d = gmem_ptr(f->gm, DESC + 16ULL * i, 16);

	assert_non_null(d);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Publishes head <head> in the next avail slot. */
static void
put_avail(struct fix *f, uint16_t head)
{
	uint16_t	*ring = gmem_ptr(f->gm, AVAIL + 4, 2 * QSIZE);
	uint16_t	*idx = gmem_ptr(f->gm, AVAIL + 2, 2);

	ring[f->aidx % QSIZE] = head;
	f->aidx++;
	*idx = f->aidx;
}

static void
set_avail_idx(struct fix *f, uint16_t v)
{
	uint16_t	*idx = gmem_ptr(f->gm, AVAIL + 2, 2);

	f->aidx = v;
	*idx = v;
}

static void
test_vq_init_rejects_bad_geometry(void **state)
{
	static const struct {
		uint16_t	 size;
		uint64_t	 desc, avail, used;
		int		 err;
	} cases[] = {
		{ 0, DESC, AVAIL, USED, EINVAL },		/* empty */
		{ 3, DESC, AVAIL, USED, EINVAL },		/* not 2^n */
		{ 512, DESC, AVAIL, USED, EINVAL },		/* > max */
		{ 8, DESC + 8, AVAIL, USED, EINVAL },		/* desc align */
		{ 8, DESC, AVAIL + 1, USED, EINVAL },		/* avail align */
		{ 8, DESC, AVAIL, USED + 2, EINVAL },		/* used align */
		{ 8, RAM_SIZE - 64, AVAIL, USED, EFAULT },	/* past RAM */
		{ 8, DESC, RAM_SIZE - 16, USED, EFAULT },
		{ 8, DESC, AVAIL, RAM_SIZE - 32, EFAULT },
		{ 8, 0xfffffffffffffff0ULL, AVAIL, USED, EFAULT }, /* wraps */
		{ 8, DESC, AVAIL, 0x100000000ULL, EFAULT },	/* no RAM */
	};
	struct fix	*f = *state;
	struct vq	 vq;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errno = 0;
		assert_int_equal(vq_init(&vq, f->gm, cases[i].size,
		    cases[i].desc, cases[i].avail, cases[i].used), -1);
		assert_int_equal(errno, cases[i].err);
		assert_false(vq.vq_ready);
	}
	/* The biggest ring that ends exactly at the end of RAM is fine. */
	assert_int_equal(vq_init(&vq, f->gm, VQ_SIZE_MAX,
	    RAM_SIZE - 16 * VQ_SIZE_MAX, AVAIL, USED), 0);
}

static void
test_vq_pop_empty_ring_returns_zero(void **state)
{
	struct fix	*f = *state;

	assert_int_equal(vq_pop(&f->vq, &f->ch), 0);
	assert_false(f->vq.vq_broken);
}

static void
test_vq_pop_reads_chain_and_push_publishes(void **state)
{
	struct fix	*f = *state;
	uint16_t	*uidx = gmem_ptr(f->gm, USED + 2, 2);
	uint32_t	*uelem = gmem_ptr(f->gm, USED + 4, 8);

	put_desc(f, 5, BUF, 10, VQ_DESC_F_NEXT, 2);
	put_desc(f, 2, BUF + 100, 0, VQ_DESC_F_NEXT, 7);	/* empty: skipped */
	put_desc(f, 7, BUF + 200, 20, VQ_DESC_F_NEXT, 0);
	put_desc(f, 0, BUF + 300, 30, VQ_DESC_F_WRITE, 0);
	put_avail(f, 5);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 1);
	assert_int_equal(f->ch.vc_head, 5);
	assert_int_equal(f->ch.vc_nread, 2);
	assert_int_equal(f->ch.vc_nwrite, 1);
	assert_int_equal(f->ch.vc_rlen, 30);
	assert_int_equal(f->ch.vc_wlen, 30);
	assert_int_equal(f->ch.vc_segs[1].vs_gpa, BUF + 200);
	assert_int_equal(f->ch.vc_segs[2].vs_gpa, BUF + 300);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 0);

	assert_int_equal(vq_push(&f->vq, 5, 17), 0);
	assert_int_equal(*uidx, 1);
	assert_int_equal(uelem[0], 5);
	assert_int_equal(uelem[1], 17);
}

static void
test_vq_unpop_gives_the_chain_back(void **state)
{
	struct fix	*f = *state;

	put_desc(f, 1, BUF, 8, 0, 0);
	put_avail(f, 1);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 1);
	vq_unpop(&f->vq);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 1);
	assert_int_equal(f->ch.vc_head, 1);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 0);
}

static void
test_vq_indices_wrap_at_64k(void **state)
{
	struct fix	*f = *state;
	uint16_t	*uidx = gmem_ptr(f->gm, USED + 2, 2);
	int		 i;

	f->vq.vq_last_avail = 0xfffd;
	f->vq.vq_used_idx = 0xfffd;
	set_avail_idx(f, 0xfffd);
	for (i = 0; i < QSIZE; i++) {
		put_desc(f, i, BUF + 64 * i, 64, VQ_DESC_F_WRITE, 0);
		put_avail(f, i);
	}
	assert_int_equal(f->aidx, 5);
	for (i = 0; i < QSIZE; i++) {
		assert_int_equal(vq_pop(&f->vq, &f->ch), 1);
		assert_int_equal(f->ch.vc_head, i);
		assert_int_equal(vq_push(&f->vq, f->ch.vc_head, 1), 0);
	}
	assert_int_equal(vq_pop(&f->vq, &f->ch), 0);
	assert_int_equal(*uidx, 5);
	assert_false(f->vq.vq_broken);
}

static void
test_vq_avail_idx_too_far_ahead_breaks_queue(void **state)
{
	struct fix	*f = *state;

	put_desc(f, 0, BUF, 8, 0, 0);
	set_avail_idx(f, QSIZE + 1);	/* 9 new entries in an 8-entry ring */
	errno = 0;
	assert_int_equal(vq_pop(&f->vq, &f->ch), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(f->vq.vq_broken);
	/* Broken stays broken: no more pops, no pushes. */
	set_avail_idx(f, 1);
	assert_int_equal(vq_pop(&f->vq, &f->ch), -1);
	assert_int_equal(vq_push(&f->vq, 0, 0), -1);
}

static void
test_vq_avail_idx_exactly_full_is_fine(void **state)
{
	struct fix	*f = *state;
	int		 i;

	for (i = 0; i < QSIZE; i++) {
		put_desc(f, i, BUF, 8, 0, 0);
		put_avail(f, i);
	}
	for (i = 0; i < QSIZE; i++)
		assert_int_equal(vq_pop(&f->vq, &f->ch), 1);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 0);
}

/* One hostile chain per case, each on a fresh queue. */
static void
test_vq_hostile_chains_break_queue(void **state)
{
	static const struct {
		const char	*what;
		uint16_t	 head;
		struct { uint64_t addr; uint32_t len; uint16_t flags, next; }
				 d[3];
		int		 err;
	} cases[] = {
		{ "head out of range", QSIZE, { { BUF, 8, 0, 0 } }, EINVAL },
		{ "next out of range", 0, { { BUF, 8, VQ_DESC_F_NEXT, QSIZE },
		    }, EINVAL },
		{ "self loop", 0, { { BUF, 8, VQ_DESC_F_NEXT, 0 } }, EINVAL },
		{ "two-descriptor loop", 0, { { BUF, 8, VQ_DESC_F_NEXT, 1 },
		    { BUF, 8, VQ_DESC_F_NEXT, 0 } }, EINVAL },
		{ "buffer past RAM", 0, { { RAM_SIZE - 4, 8, 0, 0 } },
		    EFAULT },
		{ "buffer in no RAM", 0, { { 0x200000000ULL, 8, 0, 0 } },
		    EFAULT },
		{ "addr + len wraps", 0, { { 0xfffffffffffffff8ULL, 16, 0,
		    0 } }, EFAULT },
		{ "read after write", 0, { { BUF, 8, VQ_DESC_F_WRITE |
		    VQ_DESC_F_NEXT, 1 }, { BUF, 8, 0, 0 } }, EINVAL },
		{ "read after empty write", 0, { { BUF, 0, VQ_DESC_F_WRITE |
		    VQ_DESC_F_NEXT, 1 }, { BUF, 8, 0, 0 } }, EINVAL },
		{ "indirect not negotiated", 0, { { BUF, 16,
		    VQ_DESC_F_INDIRECT, 0 } }, EINVAL },
	};
	struct fix	*f = *state;
	size_t		 i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(vq_init(&f->vq, f->gm, QSIZE, DESC, AVAIL,
		    USED), 0);
		memset(gmem_ptr(f->gm, DESC, 16 * QSIZE), 0, 16 * QSIZE);
		set_avail_idx(f, 0);
		for (j = 0; j < 3; j++)
			put_desc(f, j, cases[i].d[j].addr, cases[i].d[j].len,
			    cases[i].d[j].flags, cases[i].d[j].next);
		put_avail(f, cases[i].head);
		errno = 0;
		if (vq_pop(&f->vq, &f->ch) != -1 || errno != cases[i].err)
			fail_msg("case \"%s\": errno %d", cases[i].what, errno);
		assert_true(f->vq.vq_broken);
	}
}

static void
test_vq_longest_chain_is_queue_size(void **state)
{
	struct fix	*f = *state;
	int		 i;

	for (i = 0; i < QSIZE; i++)
		put_desc(f, i, BUF + i, 1, i < QSIZE - 1 ? VQ_DESC_F_NEXT : 0,
		    i + 1);
	put_avail(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 1);
	assert_int_equal(f->ch.vc_nread, QSIZE);
	assert_int_equal(f->ch.vc_rlen, QSIZE);
}

static void
test_vq_total_length_over_u32_is_rejected(void **state)
{
	struct gmem	*big;
	struct vq	 vq;
	struct fix	*f = *state;
	uint8_t		*d;
	uint64_t	 addr = 0;
	uint32_t	 len = 0x80000000U;
	uint16_t	 flags[2] = { VQ_DESC_F_WRITE | VQ_DESC_F_NEXT,
			    VQ_DESC_F_WRITE }, next = 1, idx = 1, head = 0;
	int		 i;

	/* Two 2 GiB buffers are valid RAM but their sum is not a u32. */
	big = gmem_new(3ULL << 30, 3ULL << 30);
	assert_non_null(big);
	assert_int_equal(vq_init(&vq, big, QSIZE, DESC, AVAIL, USED), 0);
	for (i = 0; i < 2; i++) {
		d = gmem_ptr(big, DESC + 16 * i, 16);
		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags[i], 2);
		memcpy(d + 14, &next, 2);
	}
	memcpy(gmem_ptr(big, AVAIL + 4, 2), &head, 2);
	memcpy(gmem_ptr(big, AVAIL + 2, 2), &idx, 2);
	errno = 0;
	assert_int_equal(vq_pop(&vq, &f->ch), -1);
	assert_int_equal(errno, EINVAL);
	gmem_free(big);
}

static void
test_vq_chain_copies_span_segments(void **state)
{
	struct fix	*f = *state;
	uint8_t		 out[16], in[16];
	int		 i;

	memcpy(gmem_ptr(f->gm, BUF, 3), "abc", 3);
	memcpy(gmem_ptr(f->gm, BUF + 100, 5), "defgh", 5);
	put_desc(f, 0, BUF, 3, VQ_DESC_F_NEXT, 1);
	put_desc(f, 1, BUF + 100, 5, VQ_DESC_F_NEXT, 2);
	put_desc(f, 2, BUF + 200, 4, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 3);
	put_desc(f, 3, BUF + 300, 4, VQ_DESC_F_WRITE, 0);
	put_avail(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->ch), 1);

	memset(out, 0, sizeof(out));
	assert_int_equal(vq_chain_read(&f->vq, &f->ch, 2, out, 16), 6);
	assert_memory_equal(out, "cdefgh", 6);
	assert_int_equal(vq_chain_read(&f->vq, &f->ch, 8, out, 4), 0);

	for (i = 0; i < 16; i++)
		in[i] = 'A' + i;
	assert_int_equal(vq_chain_write(&f->vq, &f->ch, 1, in, 16), 7);
	assert_memory_equal(gmem_ptr(f->gm, BUF + 201, 3), "ABC", 3);
	assert_memory_equal(gmem_ptr(f->gm, BUF + 300, 4), "DEFG", 4);
	/* Writes never touch the readable part. */
	assert_memory_equal(gmem_ptr(f->gm, BUF, 3), "abc", 3);
}

static void
test_vq_no_interrupt_flag_is_honoured(void **state)
{
	struct fix	*f = *state;
	uint16_t	*flags = gmem_ptr(f->gm, AVAIL, 2);

	*flags = 0;
	assert_true(vq_want_interrupt(&f->vq));
	*flags = VQ_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_want_interrupt(&f->vq));
}

#define TEAR_LOW	0x00ff		/* and its successor cross a byte */
#define TEAR_ROUNDS	2000000
#define TEAR_MS		1500

struct tear {
	uint16_t	*t_idx;
	int		 t_stop;
	unsigned long	 t_bad;		/* values never written */
	uint16_t	 t_badv;
};

/* A vCPU publishing and withdrawing one entry, as fast as it can. */
static void *
tear_writer(void *arg)
{
	struct tear	*t = arg;

	while (!__atomic_load_n(&t->t_stop, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(t->t_idx, TEAR_LOW + 1, __ATOMIC_RELEASE);
		__atomic_store_n(t->t_idx, TEAR_LOW, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* A vCPU reading used->idx while the device writes it. */
static void *
tear_reader(void *arg)
{
	struct tear	*t = arg;
	uint16_t	 v;

	while (!__atomic_load_n(&t->t_stop, __ATOMIC_ACQUIRE)) {
		v = __atomic_load_n(t->t_idx, __ATOMIC_ACQUIRE);
		if (v != TEAR_LOW && v != TEAR_LOW + 1) {
			t->t_bad++;
			t->t_badv = v;
		}
	}
	return NULL;
}

static void
test_vq_avail_idx_is_read_whole_while_the_driver_writes(void **state)
{
	struct fix	*f = *state;
	struct tear	 t = { gmem_ptr(f->gm, AVAIL + 2, 2), 0, 0, 0 };
	pthread_t	 thr;
	unsigned long	 i, broke = 0;
	uint64_t	 end;
	int		 rc;

	put_desc(f, 0, BUF, 16, 0, 0);
	f->vq.vq_last_avail = f->vq.vq_used_idx = TEAR_LOW;
	set_avail_idx(f, TEAR_LOW);
	assert_int_equal(pthread_create(&thr, NULL, tear_writer, &t), 0);
	/*
	 * Either value is fine (empty, or one chain); a read that mixes
	 * their bytes (0x01ff, 0x0000) is "too far ahead" and breaks the
	 * queue of a driver that did nothing wrong.
	 */
	end = mtime_now_ms() + TEAR_MS;
	for (i = 0; !broke && (i % 4096 != 0 || mtime_now_ms() < end); i++) {
		if ((rc = vq_pop(&f->vq, &f->ch)) == 1)
			vq_unpop(&f->vq);
		broke = rc == -1;
	}
	__atomic_store_n(&t.t_stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	if (broke)
		fail_msg("queue broken after %lu pops", i);
}

static void
test_vq_used_idx_is_written_whole_while_the_driver_reads(void **state)
{
	struct fix	*f = *state;
	struct tear	 t = { gmem_ptr(f->gm, USED + 2, 2), 0, 0, 0 };
	pthread_t	 thr;
	unsigned long	 i;

	__atomic_store_n(t.t_idx, TEAR_LOW, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&thr, NULL, tear_reader, &t), 0);
	for (i = 0; i < TEAR_ROUNDS; i++) {
		f->vq.vq_used_idx = i & 1 ? TEAR_LOW : TEAR_LOW - 1;
		assert_int_equal(vq_push(&f->vq, 0, 0), 0);
	}
	__atomic_store_n(&t.t_stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	if (t.t_bad != 0)
		fail_msg("driver read %lu torn indices (%#x)", t.t_bad,
		    t.t_badv);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_vq_init_rejects_bad_geometry, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_pop_empty_ring_returns_zero, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_pop_reads_chain_and_push_publishes, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_unpop_gives_the_chain_back, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_vq_indices_wrap_at_64k,
		    fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_avail_idx_too_far_ahead_breaks_queue, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_avail_idx_exactly_full_is_fine, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_hostile_chains_break_queue, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_longest_chain_is_queue_size, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_total_length_over_u32_is_rejected, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_chain_copies_span_segments, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_no_interrupt_flag_is_honoured, fix_setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_avail_idx_is_read_whole_while_the_driver_writes,
		    fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_vq_used_idx_is_written_whole_while_the_driver_reads,
		    fix_setup, fix_teardown),
	};

	return cmocka_run_group_tests_name("vq", tests, NULL, NULL);
}
