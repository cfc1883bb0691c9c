/*
 * guest/cons.h: the serial console (8250 UART at 0x3f8, polled) and
 * panic.  Every line corral-guest prints starts with "corral-guest: ".
 */
#ifndef GUEST_CONS_H
#define GUEST_CONS_H

#include <stddef.h>

/* Sets up the UART: 115200 8N1, FIFOs on, its interrupts off. */
void	 cons_init(void);

/* Writes <len> bytes of <s>, waiting for room in the transmitter. */
void	 cons_write(const char *s, size_t len);

/* printf(3)-style (guest/fmt.h); output longer than 256 bytes is cut. */
void	 cons_printf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Prints "corral-guest: panic: <reason>" and powers off with status 3
 * (corral-vmm reports a guest crash); a panic inside a panic triple
 * faults instead.
 */
void	 cons_panic(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#define CONS_PANIC_STATUS	3

#endif /* GUEST_CONS_H */
