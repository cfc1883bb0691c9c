/*
 * vmm/uart.c: the serial console.  A 16550A as far as a console driver
 * looks at it: divisor latch, IER/IIR with the transmit-holding-register
 * empty interrupt, LCR/MCR/SCR that read back what was written, LSR
 * always "transmitter empty" (THRE|TEMT) and no received data, MSR with
 * carrier and clear-to-send.  Transmitting is instant, so a THRE
 * interrupt is pending whenever the guest enables it or writes THR, as in
 * Firecracker's serial.  Output is line-buffered and written with one
 * write(2) per line.  vCPU threads call in concurrently: one mutex.
 * XXX a partial line (a prompt) is written only when the VM stops or the
 * line fills up; a flush timer on the device loop would fix that.  There
 * is no input side: RBR reads 0 and LSR never shows data ready.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/uart.h"

#define UART_RBR_THR	0	/* DLL when DLAB */
#define UART_IER	1	/* DLM when DLAB */
#define UART_IIR_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_LCR_DLAB	0x80
#define UART_IER_THRI	0x02
#define UART_IER_MASK	0x0f
#define UART_IIR_NONE	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_FIFO	0xc0	/* FIFOs enabled, as a 16550A reports */
#define UART_FCR_ENABLE	0x01
#define UART_MCR_MASK	0x1f
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_DCD	0x80
#define UART_LINE_MAX	256

struct uart {
	pthread_mutex_t	 u_mtx;
	int		 u_fd;
	uart_irq_fn	*u_irq;
	void		*u_irqarg;
	uint8_t		 u_ier, u_lcr, u_mcr, u_scr, u_fcr;
	uint8_t		 u_dll, u_dlm;
	int		 u_thri;	/* THR-empty interrupt pending */
	char		 u_line[UART_LINE_MAX];
	size_t		 u_len;
	int		 u_werr;	/* logged a write error already */
};

static void	uart_read(void *, uint64_t, void *, uint32_t);
static void	uart_write(void *, uint64_t, const void *, uint32_t);
static void	uart_flush_locked(struct uart *);

const struct bus_ops	uart_bus_ops = {
	.read = uart_read,
	.write = uart_write,
};

struct uart *
uart_new(int fd, uart_irq_fn *irq, void *irqarg)
{
	struct uart	*u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	pthread_mutex_init(&u->u_mtx, NULL);
	u->u_fd = fd;
	u->u_irq = irq;
	u->u_irqarg = irqarg;
	/* 8N1 at 115200 baud, what firmware would leave behind. */
	u->u_lcr = 0x03;
	u->u_dll = 1;
	u->u_mcr = 0x08;	/* OUT2: the IRQ line is wired */
	return u;
}

void
uart_free(struct uart *u)
{
	if (u == NULL)
		return;
	uart_flush(u);
	pthread_mutex_destroy(&u->u_mtx);
	free(u);
}

void
uart_flush(struct uart *u)
{
	pthread_mutex_lock(&u->u_mtx);
	uart_flush_locked(u);
	pthread_mutex_unlock(&u->u_mtx);
}

static void
uart_flush_locked(struct uart *u)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (u->u_fd != -1 && off < u->u_len) {
		n = write(u->u_fd, u->u_line + off, u->u_len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* The console is lost, the VM is not: say so once. */
			if (!u->u_werr)
				log_warn("serial: write");
			u->u_werr = 1;
			break;
		}
		off += (size_t)n;
	}
	u->u_len = 0;
}

static void
uart_read(void *arg, uint64_t off, void *data, uint32_t len)
{
	struct uart	*u = arg;
	uint8_t		 v = 0;

	memset(data, 0, len);
	pthread_mutex_lock(&u->u_mtx);
	switch (off) {
	case UART_RBR_THR:
		v = (u->u_lcr & UART_LCR_DLAB) ? u->u_dll : 0;
		break;
	case UART_IER:
		v = (u->u_lcr & UART_LCR_DLAB) ? u->u_dlm : u->u_ier;
		break;
	case UART_IIR_FCR:
		v = (u->u_fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;
		/* Reading IIR acknowledges the THR-empty interrupt. */
		if (u->u_thri && (u->u_ier & UART_IER_THRI)) {
			v |= UART_IIR_THRI;
			u->u_thri = 0;
		} else
			v |= UART_IIR_NONE;
		break;
	case UART_LCR:
		v = u->u_lcr;
		break;
	case UART_MCR:
		v = u->u_mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT;
		break;
	case UART_MSR:
		v = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
		break;
	case UART_SCR:
		v = u->u_scr;
		break;
	}
	pthread_mutex_unlock(&u->u_mtx);
	*(uint8_t *)data = v;
}

static void
uart_write(void *arg, uint64_t off, const void *data, uint32_t len)
{
	struct uart	*u = arg;
	uint8_t		 v;
	int		 raise = 0;

	(void)len;		/* 8-bit registers: only the low byte counts */
	v = *(const uint8_t *)data;
	pthread_mutex_lock(&u->u_mtx);
	switch (off) {
	case UART_RBR_THR:
		if (u->u_lcr & UART_LCR_DLAB) {
			u->u_dll = v;
			break;
		}
		u->u_line[u->u_len++] = (char)v;
		if (v == '\n' || u->u_len == sizeof(u->u_line))
			uart_flush_locked(u);
		u->u_thri = 1;
		raise = (u->u_ier & UART_IER_THRI) != 0;
		break;
	case UART_IER:
		if (u->u_lcr & UART_LCR_DLAB) {
			u->u_dlm = v;
			break;
		}
		/* Enabling THRI with THR empty interrupts at once. */
		if ((v & UART_IER_THRI) && !(u->u_ier & UART_IER_THRI)) {
			u->u_thri = 1;
			raise = 1;
		}
		u->u_ier = v & UART_IER_MASK;
		break;
	case UART_IIR_FCR:
		u->u_fcr = v;
		break;
	case UART_LCR:
		u->u_lcr = v;
		break;
	case UART_MCR:
		u->u_mcr = v & UART_MCR_MASK;
		break;
	case UART_SCR:
		u->u_scr = v;
		break;
	}
	pthread_mutex_unlock(&u->u_mtx);
	if (raise && u->u_irq != NULL)
		u->u_irq(u->u_irqarg);
}
