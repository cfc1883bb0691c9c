/*
 * guest/selftest.h: corral.selftest=, for booting corral-guest where no
 * vsock device exists (QEMU TCG): checks the timer, the interrupt path
 * and the allocator, then powers off with a status
 * (tests/integration/guest-qemu-boot.sh).
 */
#ifndef GUEST_SELFTEST_H
#define GUEST_SELFTEST_H

#include "guest/cmdline.h"

#define SELFTEST_PASS	0	/* power-off status */
#define SELFTEST_FAIL	1

/* Runs the test <mode> names; never returns. */
void	 selftest_run(enum cmdline_selftest mode) __attribute__((noreturn));

#endif /* GUEST_SELFTEST_H */
