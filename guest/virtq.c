/*
 * guest/virtq.c: split virtqueues, driver side (virtio 1.2 section 2.7).
 *
 * Each buffer is one descriptor (no chains, no indirect tables), so a
 * descriptor index is also the buffer's identity: vq_cookie[] maps it back
 * to the caller's token and vq_busy[] says whether the device holds it.
 * The device is not trusted: a used entry naming a descriptor it does not
 * hold is skipped, a length past the buffer is capped, and a used index
 * that moves by more than the ring size breaks the queue instead of
 * letting us walk stale entries.  x86 keeps stores in order and loads in
 * order, so compiler barriers suffice between ring writes; the notify
 * write that follows is fenced by the caller.  Owned by one driver; main
 * loop only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"
#include "guest/klib.h"
#include "guest/virtq.h"

#define VIRTQ_DESC_F_WRITE	2

struct virtq_desc {
	uint64_t	 d_addr;
	uint32_t	 d_len;
	uint16_t	 d_flags;
	uint16_t	 d_next;
};

struct virtq_used_elem {
	uint32_t	 u_id;
	uint32_t	 u_len;
};

struct virtq {
	uint16_t		 vq_num;
	uint16_t		 vq_avail_idx;	/* next avail->idx we publish */
	uint16_t		 vq_used_idx;	/* next used entry to read */
	uint16_t		 vq_nfree;
	bool			 vq_broken;
	struct virtq_desc	*vq_desc;
	uint16_t		*vq_avail;	/* flags, idx, ring[], event */
	uint16_t		*vq_used;	/* flags, idx, then elements */
	void			**vq_cookie;
	uint32_t		*vq_len;	/* our copy: d_len is shared */
	uint8_t			*vq_busy;
	uint16_t		*vq_freelist;	/* stack of free indexes */
};

static void
virtq_barrier(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static volatile uint16_t *
virtq_avail_idx_p(struct virtq *vq)
{
	return (volatile uint16_t *)&vq->vq_avail[1];
}

static volatile const uint16_t *
virtq_used_idx_p(const struct virtq *vq)
{
	return (volatile const uint16_t *)&vq->vq_used[1];
}

static volatile struct virtq_used_elem *
virtq_used_elem(struct virtq *vq, uint16_t i)
{
	return (volatile struct virtq_used_elem *)((uint8_t *)vq->vq_used +
	    4 + (size_t)i * sizeof(struct virtq_used_elem));
}

struct virtq *
virtq_new(uint16_t num)
{
	struct virtq	*vq;
	size_t		 desc_sz, avail_sz, used_sz;
	uint16_t	 i;

	if (num == 0 || (num & (num - 1)) != 0)
		return NULL;
	if ((vq = mem_alloc(sizeof(*vq))) == NULL)
		return NULL;
	memset(vq, 0, sizeof(*vq));
	vq->vq_num = num;
	desc_sz = (size_t)num * sizeof(struct virtq_desc);
	avail_sz = 6 + 2 * (size_t)num;
	used_sz = 6 + (size_t)num * sizeof(struct virtq_used_elem);
	/* mem_alloc() aligns to 16: what the descriptor table needs. */
	vq->vq_desc = mem_alloc(desc_sz);
	vq->vq_avail = mem_alloc(avail_sz);
	vq->vq_used = mem_alloc(used_sz);
	vq->vq_cookie = mem_alloc(num * sizeof(void *));
	vq->vq_len = mem_alloc(num * sizeof(uint32_t));
	vq->vq_busy = mem_alloc(num);
	vq->vq_freelist = mem_alloc(num * sizeof(uint16_t));
	if (vq->vq_desc == NULL || vq->vq_avail == NULL ||
	    vq->vq_used == NULL || vq->vq_cookie == NULL ||
	    vq->vq_len == NULL || vq->vq_busy == NULL ||
	    vq->vq_freelist == NULL)
		goto fail;
	memset(vq->vq_desc, 0, desc_sz);
	memset(vq->vq_avail, 0, avail_sz);
	memset(vq->vq_used, 0, used_sz);
	memset(vq->vq_busy, 0, num);
	for (i = 0; i < num; i++)
		vq->vq_freelist[i] = num - 1 - i;
	vq->vq_nfree = num;
	return vq;
fail:
	virtq_free(vq);
	return NULL;
}

void
virtq_free(struct virtq *vq)
{
	if (vq == NULL)
		return;
	mem_free(vq->vq_desc);
	mem_free(vq->vq_avail);
	mem_free(vq->vq_used);
	mem_free(vq->vq_cookie);
	mem_free(vq->vq_len);
	mem_free(vq->vq_busy);
	mem_free(vq->vq_freelist);
	mem_free(vq);
}

uint64_t
virtq_desc_addr(const struct virtq *vq)
{
	return (uintptr_t)vq->vq_desc;
}

uint64_t
virtq_avail_addr(const struct virtq *vq)
{
	return (uintptr_t)vq->vq_avail;
}

uint64_t
virtq_used_addr(const struct virtq *vq)
{
	return (uintptr_t)vq->vq_used;
}

uint16_t
virtq_size(const struct virtq *vq)
{
	return vq->vq_num;
}

unsigned
virtq_nfree(const struct virtq *vq)
{
	return vq->vq_nfree;
}

bool
virtq_broken(const struct virtq *vq)
{
	return vq->vq_broken;
}

int
virtq_add(struct virtq *vq, void *buf, uint32_t len, bool device_writes,
    void *cookie)
{
	struct virtq_desc	*d;
	uint16_t		 id;

	if (vq->vq_nfree == 0 || vq->vq_broken)
		return -1;
	id = vq->vq_freelist[--vq->vq_nfree];
	d = &vq->vq_desc[id];
	d->d_addr = (uintptr_t)buf;
	d->d_len = len;
	d->d_flags = device_writes ? VIRTQ_DESC_F_WRITE : 0;
	d->d_next = 0;
	vq->vq_cookie[id] = cookie;
	vq->vq_len[id] = len;
	vq->vq_busy[id] = 1;
	vq->vq_avail[2 + (vq->vq_avail_idx & (vq->vq_num - 1))] = id;
	/* The descriptor and ring entry before the index (2.7.13). */
	virtq_barrier();
	*virtq_avail_idx_p(vq) = ++vq->vq_avail_idx;
	return 0;
}

bool
virtq_pending(const struct virtq *vq)
{
	return !vq->vq_broken && *virtq_used_idx_p(vq) != vq->vq_used_idx;
}

int
virtq_get(struct virtq *vq, void **cookie, uint32_t *len)
{
	volatile struct virtq_used_elem	*e;
	uint16_t			 idx;
	uint32_t			 id, ulen;

	if (vq->vq_broken)
		return -1;
	idx = *virtq_used_idx_p(vq);
	if (idx == vq->vq_used_idx)
		return 0;
	if ((uint16_t)(idx - vq->vq_used_idx) > vq->vq_num) {
		vq->vq_broken = true;
		return -1;
	}
	/* The index before the entry it covers. */
	virtq_barrier();
	e = virtq_used_elem(vq, vq->vq_used_idx & (vq->vq_num - 1));
	id = e->u_id;
	ulen = e->u_len;
	vq->vq_used_idx++;
	if (id >= vq->vq_num || !vq->vq_busy[id])
		return -1;
	vq->vq_busy[id] = 0;
	vq->vq_freelist[vq->vq_nfree++] = (uint16_t)id;
	*cookie = vq->vq_cookie[id];
	*len = ulen < vq->vq_len[id] ? ulen : vq->vq_len[id];
	return 1;
}
