/*
 * tests/unit/test_uart.c: the 8250 as a console driver sees it through
 * the bus: line status, divisor latch, scratch, the THR-empty interrupt
 * and its acknowledgement through IIR, and output arriving on a pipe one
 * line per write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/bus.h"
#include "vmm/uart.h"

struct t {
	struct bus	*b;
	struct uart	*u;
	int		 pfd[2];
	int		 irqs;
};

static void
t_irq(void *arg)
{
	((struct t *)arg)->irqs++;
}

static void
t_setup(struct t *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(pipe2(t->pfd, O_NONBLOCK), 0);
	t->b = bus_new();
	t->u = uart_new(t->pfd[1], t_irq, t);
	assert_non_null(t->u);
	assert_int_equal(bus_register(t->b, BUS_PIO, UART_COM1_BASE,
	    UART_NREGS, &uart_bus_ops, t->u), 0);
}

static void
t_teardown(struct t *t)
{
	uart_free(t->u);
	bus_free(t->b);
	close(t->pfd[0]);
	close(t->pfd[1]);
}

static uint8_t
in(struct t *t, unsigned reg)
{
	uint8_t	 v = 0;

	assert_int_equal(bus_read(t->b, BUS_PIO, UART_COM1_BASE + reg, &v, 1),
	    0);
	return v;
}

static void
out(struct t *t, unsigned reg, uint8_t v)
{
	assert_int_equal(bus_write(t->b, BUS_PIO, UART_COM1_BASE + reg, &v,
	    1), 0);
}

static void
test_uart_registers(void **state)
{
	struct t	 t;

	(void)state;
	t_setup(&t);
	assert_int_equal(in(&t, 5) & 0x60, 0x60);	/* THRE | TEMT */
	assert_int_equal(in(&t, 5) & 0x01, 0);		/* no data */
	assert_int_equal(in(&t, 6) & 0xb0, 0xb0);	/* DCD DSR CTS */
	out(&t, 7, 0x5a);
	assert_int_equal(in(&t, 7), 0x5a);		/* scratch */
	out(&t, 3, 0x83);				/* DLAB */
	out(&t, 0, 0x0c);
	out(&t, 1, 0x00);
	assert_int_equal(in(&t, 0), 0x0c);
	assert_int_equal(in(&t, 1), 0x00);
	out(&t, 3, 0x03);
	assert_int_equal(in(&t, 3), 0x03);
	assert_int_equal(in(&t, 1), 0);			/* IER again */
	assert_int_equal(in(&t, 2) & 0x0f, 0x01);	/* no interrupt */
	out(&t, 2, 0x07);				/* FIFO on */
	assert_int_equal(in(&t, 2) & 0xc0, 0xc0);
	/* Divisor writes transmitted nothing. */
	char	 buf[8];
	assert_int_equal(read(t.pfd[0], buf, sizeof(buf)), -1);
	t_teardown(&t);
}

static void
test_uart_thr_empty_interrupt(void **state)
{
	struct t	 t;

	(void)state;
	t_setup(&t);
	out(&t, 0, 'a');
	assert_int_equal(t.irqs, 0);			/* IER off */
	out(&t, 1, 0x02);				/* ETBEI */
	assert_int_equal(t.irqs, 1);			/* THR is empty */
	assert_int_equal(in(&t, 2) & 0x0f, 0x02);	/* THRI pending */
	assert_int_equal(in(&t, 2) & 0x0f, 0x01);	/* read acked it */
	out(&t, 0, 'b');
	assert_int_equal(t.irqs, 2);
	assert_int_equal(in(&t, 2) & 0x0f, 0x02);
	out(&t, 1, 0x00);
	out(&t, 0, 'c');
	assert_int_equal(t.irqs, 2);
	assert_int_equal(in(&t, 2) & 0x0f, 0x01);
	t_teardown(&t);
}

static void
test_uart_output_is_written_per_line(void **state)
{
	struct t	 t;
	char		 buf[512];
	const char	*s = "corral-guest: booting\nrest";
	ssize_t		 n;
	int		 i;

	(void)state;
	t_setup(&t);
	for (; *s; s++)
		out(&t, 0, (uint8_t)*s);
	n = read(t.pfd[0], buf, sizeof(buf));
	assert_int_equal(n, 22);
	assert_memory_equal(buf, "corral-guest: booting\n", 22);
	assert_int_equal(read(t.pfd[0], buf, sizeof(buf)), -1);
	uart_flush(t.u);				/* the partial line */
	n = read(t.pfd[0], buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "rest", 4);
	/* A line longer than the buffer goes out in pieces, all of it. */
	for (i = 0; i < 300; i++)
		out(&t, 0, 'x');
	uart_flush(t.u);
	n = read(t.pfd[0], buf, sizeof(buf));
	assert_int_equal(n, 300);
	t_teardown(&t);
}

static void
test_uart_without_output_discards(void **state)
{
	struct bus	*b;
	struct uart	*u;
	uint8_t		 v = 'x';

	(void)state;
	b = bus_new();
	u = uart_new(-1, NULL, NULL);
	assert_non_null(u);
	assert_int_equal(bus_register(b, BUS_PIO, UART_COM1_BASE, UART_NREGS,
	    &uart_bus_ops, u), 0);
	v = 0x02;
	assert_int_equal(bus_write(b, BUS_PIO, UART_COM1_BASE + 1, &v, 1), 0);
	v = '\n';
	assert_int_equal(bus_write(b, BUS_PIO, UART_COM1_BASE, &v, 1), 0);
	uart_free(u);
	bus_free(b);
	uart_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uart_registers),
		cmocka_unit_test(test_uart_thr_empty_interrupt),
		cmocka_unit_test(test_uart_output_is_written_per_line),
		cmocka_unit_test(test_uart_without_output_discards),
	};

	return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
