/*
 * guest/cons.c: corral-guest's console, an 8250 UART at I/O port 0x3f8
 * driven by polling: each byte waits for the transmit holding register to
 * empty (LSR.THRE) and is written to THR.  Polling keeps the console
 * usable from exception handlers and before interrupts are set up; the
 * guest prints a handful of lines, so the cost does not matter.  The only
 * state is the panic-nesting counter.  Main loop and trap handlers.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"
#include "guest/cons.h"
#include "guest/cpu.h"
#include "guest/fmt.h"

#define COM1		0x3f8
#define UART_THR	0	/* transmit holding (DLAB=0) */
#define UART_DLL	0	/* divisor low (DLAB=1) */
#define UART_IER	1
#define UART_DLM	1	/* divisor high (DLAB=1) */
#define UART_FCR	2	/* write */
#define UART_IIR	2	/* read */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LCR_8N1		0x03
#define LCR_DLAB	0x80
#define FCR_ENABLE	0x07	/* enable and clear both FIFOs */
#define MCR_DTR_RTS	0x03
#define LSR_THRE	0x20
#define IIR_FIFO	0xc0	/* both bits: a working 16550A FIFO */
#define UART_FIFO_SIZE	16

/*
 * A UART that never reports THRE (or none at all on the bus, where reads
 * give 0xff, which has THRE set) must not hang the guest.
 */
#define CONS_SPIN_MAX	100000

#define CONS_LINE_MAX	256

static unsigned	 cons_panicking;
static unsigned	 cons_burst = 1;	/* bytes per THRE: 16 with a FIFO */

void
cons_init(void)
{
	cpu_outb(COM1 + UART_IER, 0);
	cpu_outb(COM1 + UART_LCR, LCR_DLAB);
	cpu_outb(COM1 + UART_DLL, 1);		/* 115200 baud */
	cpu_outb(COM1 + UART_DLM, 0);
	cpu_outb(COM1 + UART_LCR, LCR_8N1);
	cpu_outb(COM1 + UART_FCR, FCR_ENABLE);
	cpu_outb(COM1 + UART_MCR, MCR_DTR_RTS);
	if ((cpu_inb(COM1 + UART_IIR) & IIR_FIFO) == IIR_FIFO)
		cons_burst = UART_FIFO_SIZE;
}

/*
 * THRE with the FIFO on means the whole FIFO is empty, so a burst of 16
 * bytes follows each LSR read: under a VMM every port access is an exit,
 * and the banner is on the boot-time path.
 */
void
cons_write(const char *s, size_t len)
{
	unsigned	 spin, n;

	while (len > 0) {
		for (spin = 0; spin < CONS_SPIN_MAX; spin++) {
			if (cpu_inb(COM1 + UART_LSR) & LSR_THRE)
				break;
			cpu_pause();
		}
		for (n = 0; n < cons_burst && len > 0; n++, len--)
			cpu_outb(COM1 + UART_THR, (uint8_t)*s++);
	}
}

static void
cons_vprintf(const char *fmt, va_list ap)
{
	char	 line[CONS_LINE_MAX];
	int	 n;

	n = fmt_vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		/* Cut, but keep the line a line. */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	cons_write(line, (size_t)n);
}

void
cons_printf(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	cons_vprintf(fmt, ap);
	va_end(ap);
}

void
cons_panic(const char *fmt, ...)
{
	va_list	 ap;

	cpu_cli();
	if (cons_panicking++ > 0)
		cpu_reset();
	cons_printf("corral-guest: panic: ");
	va_start(ap, fmt);
	cons_vprintf(fmt, ap);
	va_end(ap);
	cons_write("\n", 1);
	platform_poweroff(CONS_PANIC_STATUS);
}
