/*
 * guest/notify.h: the readiness signal.  With corral.notify=PORT on the
 * command line, once the app listens, corral-guest connects to the host
 * (CID 2) on PORT, sends "READY <id>\n" and closes; corral-vmm turns the
 * connection into one on a Unix socket, which the pool takes as "booted".
 */
#ifndef GUEST_NOTIFY_H
#define GUEST_NOTIFY_H

#include <stdint.h>

struct stream;

/* Starts the first attempt; <id> is copied.  Once per boot. */
void	 notify_start(struct stream *s, uint32_t port, const char *id,
	    uint64_t now);

/*
 * Retries a refused or unanswered attempt (a few times, spaced out).
 * Returns the next time it wants to run, or UINT64_MAX.
 */
uint64_t notify_poll(uint64_t now);

#endif /* GUEST_NOTIFY_H */
