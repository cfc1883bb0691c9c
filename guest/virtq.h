/*
 * guest/virtq.h: the driver side of a split virtqueue (virtio 1.2 section
 * 2.7) with one descriptor per buffer, which is all corral-guest needs.
 * Pure code over guest memory (physical == virtual): also built on the
 * host for tests/unit/test_guest_virtq.c, where the test plays the device.
 */
#ifndef GUEST_VIRTQ_H
#define GUEST_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTQ_SIZE_MAX	32768

struct virtq;		/* opaque; owned by the device driver */

/*
 * A queue of <num> entries (a power of two, 1..VIRTQ_SIZE_MAX), its rings
 * from mem_alloc().  NULL on a bad size or when out of memory.
 */
struct virtq	*virtq_new(uint16_t num);
void		 virtq_free(struct virtq *vq);		/* NULL is a no-op */

/* Guest-physical addresses for QueueDesc, QueueDriver, QueueDevice. */
uint64_t	 virtq_desc_addr(const struct virtq *vq);
uint64_t	 virtq_avail_addr(const struct virtq *vq);
uint64_t	 virtq_used_addr(const struct virtq *vq);
uint16_t	 virtq_size(const struct virtq *vq);

/*
 * Makes the <len> bytes at <buf> available to the device, which writes
 * them if <device_writes>, else reads them; <cookie> comes back from
 * virtq_get().  The caller notifies the device afterwards.  -1 if every
 * descriptor is in use.
 */
int		 virtq_add(struct virtq *vq, void *buf, uint32_t len,
		    bool device_writes, void *cookie);

/* Descriptors not in the device's hands. */
unsigned	 virtq_nfree(const struct virtq *vq);

/* The device returned buffers that virtq_get() has not taken yet. */
bool		 virtq_pending(const struct virtq *vq);

/*
 * Takes the next used buffer: its cookie and the byte count the device
 * wrote, capped to the buffer's length.  1 if one was taken, 0 if none is
 * pending, -1 if the device returned an entry that is not ours (skipped;
 * call again) or moved its index by more than the queue holds (the queue
 * is then broken for good and every call returns -1).
 */
int		 virtq_get(struct virtq *vq, void **cookie, uint32_t *len);

bool		 virtq_broken(const struct virtq *vq);

#endif /* GUEST_VIRTQ_H */
