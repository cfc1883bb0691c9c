/*
 * vmm/uart.h: an 8250/16550A UART (COM1), output only: what the guest
 * transmits goes to a file descriptor, a write per line.  Registers are
 * reached through bus_ops on vCPU threads.
 */
#ifndef VMM_UART_H
#define VMM_UART_H

#include <stdint.h>

#include "vmm/bus.h"

#define UART_COM1_BASE	0x3f8
#define UART_COM1_IRQ	4
#define UART_NREGS	8

struct uart;	/* opaque; owned by struct vm */

/* Raises the UART's interrupt (an edge on its ISA line). */
typedef void	uart_irq_fn(void *arg);

/*
 * A UART writing to <fd> (borrowed; -1 discards the output) and raising
 * its interrupt through <irq>(<irqarg>), which may be NULL.  NULL on
 * error.
 */
struct uart	*uart_new(int fd, uart_irq_fn *irq, void *irqarg);
void		 uart_free(struct uart *u);	/* flushes; NULL is a no-op */

/* Writes out a partial line.  Any thread. */
void		 uart_flush(struct uart *u);

/* Register accesses, offset 0..7 from the base port; register them. */
extern const struct bus_ops	uart_bus_ops;

#endif /* VMM_UART_H */
