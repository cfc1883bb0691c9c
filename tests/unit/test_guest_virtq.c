/*
 * tests/unit/test_guest_virtq.c: the driver side of corral-guest's split
 * virtqueues (guest/virtq.c, compiled for the host).  The test plays the
 * device on the very rings the driver allocated: it reads the available
 * ring, fills the used ring, and lies (foreign ids, long lengths, an index
 * that jumps) to check the driver takes nothing on trust.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "guest/app.h"
#include "guest/virtq.h"

static unsigned	 live_allocs;
static int	 fail_after = -1;	/* mem_alloc() fails after N calls */

void *
mem_alloc(size_t len)
{
	void	*p;

	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	if ((p = aligned_alloc(16, (len + 15) & ~(size_t)15)) != NULL)
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

/* The device's view, straight from the ring addresses. */
struct dev {
	struct virtq	*vq;
	uint16_t	 num;
	uint16_t	 seen;		/* next avail entry to read */
	uint16_t	 used;		/* used->idx */
};

struct desc {
	uint64_t	 addr;
	uint32_t	 len;
	uint16_t	 flags;
	uint16_t	 next;
};

static uint16_t *
avail(struct dev *d)
{
	return (uint16_t *)(uintptr_t)virtq_avail_addr(d->vq);
}

static uint8_t *
usedp(struct dev *d)
{
	return (uint8_t *)(uintptr_t)virtq_used_addr(d->vq);
}

static struct desc *
descs(struct dev *d)
{
	return (struct desc *)(uintptr_t)virtq_desc_addr(d->vq);
}

/* Takes the next available descriptor index; -1 if none. */
static int
dev_pop(struct dev *d)
{
	if (avail(d)[1] == d->seen)
		return -1;
	return avail(d)[2 + (d->seen++ % d->num)];
}

static void
dev_push(struct dev *d, uint32_t id, uint32_t len)
{
	uint8_t		*u = usedp(d);
	uint32_t	 e[2] = { id, len };

	memcpy(u + 4 + (d->used % d->num) * 8, e, 8);
	d->used++;
	memcpy(u + 2, &d->used, 2);
}

static void
test_virtq_rejects_bad_sizes(void **state)
{
	(void)state;
	assert_null(virtq_new(0));
	assert_null(virtq_new(3));
	assert_null(virtq_new(100));
	assert_int_equal(live_allocs, 0);
}

static void
test_virtq_round_trip(void **state)
{
	struct dev	 d = { 0 };
	uint8_t		 bufs[4][64];
	void		*cookie;
	uint32_t	 len;
	int		 id, i;

	(void)state;
	d.vq = virtq_new(4);
	d.num = 4;
	assert_non_null(d.vq);
	assert_int_equal(virtq_size(d.vq), 4);
	assert_int_equal(virtq_desc_addr(d.vq) % 16, 0);
	assert_int_equal(virtq_used_addr(d.vq) % 4, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(virtq_add(d.vq, bufs[i], 64, i % 2 == 0,
		    bufs[i]), 0);
	assert_int_equal(virtq_nfree(d.vq), 0);
	assert_int_equal(virtq_add(d.vq, bufs[0], 64, true, NULL), -1);
	assert_false(virtq_pending(d.vq));
	assert_int_equal(virtq_get(d.vq, &cookie, &len), 0);
	/* The device sees each buffer with the right address and flags. */
	for (i = 0; i < 4; i++) {
		id = dev_pop(&d);
		assert_true(id >= 0 && id < 4);
		assert_ptr_equal((void *)(uintptr_t)descs(&d)[id].addr,
		    bufs[i]);
		assert_int_equal(descs(&d)[id].len, 64);
		assert_int_equal(descs(&d)[id].flags, i % 2 == 0 ? 2 : 0);
		dev_push(&d, (uint32_t)id, 10 + i);
	}
	assert_int_equal(dev_pop(&d), -1);
	assert_true(virtq_pending(d.vq));
	for (i = 0; i < 4; i++) {
		assert_int_equal(virtq_get(d.vq, &cookie, &len), 1);
		assert_ptr_equal(cookie, bufs[i]);
		assert_int_equal(len, 10 + i);
	}
	assert_int_equal(virtq_get(d.vq, &cookie, &len), 0);
	assert_int_equal(virtq_nfree(d.vq), 4);
	virtq_free(d.vq);
	assert_int_equal(live_allocs, 0);
}

static void
test_virtq_indexes_wrap(void **state)
{
	struct dev	 d = { 0 };
	uint8_t		 buf[8];
	void		*cookie;
	uint32_t	 len;
	unsigned	 i;

	(void)state;
	d.vq = virtq_new(2);
	d.num = 2;
	/* 70000 round trips: both 16-bit indexes wrap. */
	for (i = 0; i < 70000; i++) {
		assert_int_equal(virtq_add(d.vq, buf, 8, true,
		    (void *)(uintptr_t)(i + 1)), 0);
		dev_push(&d, (uint32_t)dev_pop(&d), 8);
		assert_int_equal(virtq_get(d.vq, &cookie, &len), 1);
		assert_int_equal((uintptr_t)cookie, i + 1);
	}
	assert_false(virtq_broken(d.vq));
	virtq_free(d.vq);
}

static void
test_virtq_distrusts_the_device(void **state)
{
	struct dev	 d = { 0 };
	uint8_t		 buf[2][32];
	void		*cookie;
	uint32_t	 len;
	int		 id0, id1;

	(void)state;
	d.vq = virtq_new(4);
	d.num = 4;
	assert_int_equal(virtq_add(d.vq, buf[0], 32, true, buf[0]), 0);
	assert_int_equal(virtq_add(d.vq, buf[1], 32, true, buf[1]), 0);
	id0 = dev_pop(&d);
	id1 = dev_pop(&d);
	/* An id out of range, and one it was never given: skipped. */
	dev_push(&d, 1000, 4);
	dev_push(&d, 3, 4);
	assert_int_equal(virtq_get(d.vq, &cookie, &len), -1);
	assert_int_equal(virtq_get(d.vq, &cookie, &len), -1);
	assert_false(virtq_broken(d.vq));
	/* A length past the buffer is capped to it. */
	dev_push(&d, (uint32_t)id0, 1 << 30);
	assert_int_equal(virtq_get(d.vq, &cookie, &len), 1);
	assert_ptr_equal(cookie, buf[0]);
	assert_int_equal(len, 32);
	/* The same buffer returned twice: the second is not ours. */
	dev_push(&d, (uint32_t)id0, 4);
	assert_int_equal(virtq_get(d.vq, &cookie, &len), -1);
	/* Rewriting the descriptor does not raise our idea of its length. */
	descs(&d)[id1].len = 4096;
	dev_push(&d, (uint32_t)id1, 4096);
	assert_int_equal(virtq_get(d.vq, &cookie, &len), 1);
	assert_int_equal(len, 32);
	assert_int_equal(virtq_nfree(d.vq), 4);
	/* An index that leaps past the ring size breaks the queue. */
	d.used += 100;
	memcpy(usedp(&d) + 2, &d.used, 2);
	assert_int_equal(virtq_get(d.vq, &cookie, &len), -1);
	assert_true(virtq_broken(d.vq));
	assert_false(virtq_pending(d.vq));
	assert_int_equal(virtq_add(d.vq, buf[0], 32, true, buf[0]), -1);
	virtq_free(d.vq);
	assert_int_equal(live_allocs, 0);
}

static void
test_virtq_out_of_memory_leaks_nothing(void **state)
{
	int	 n;

	(void)state;
	for (n = 0; n < 8; n++) {
		fail_after = n;
		assert_null(virtq_new(8));
		assert_int_equal(live_allocs, 0);
	}
	fail_after = -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtq_rejects_bad_sizes),
		cmocka_unit_test(test_virtq_round_trip),
		cmocka_unit_test(test_virtq_indexes_wrap),
		cmocka_unit_test(test_virtq_distrusts_the_device),
		cmocka_unit_test(test_virtq_out_of_memory_leaks_nothing),
	};

	return cmocka_run_group_tests_name("guest_virtq", tests, NULL, NULL);
}
