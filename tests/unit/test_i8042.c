/*
 * tests/unit/test_i8042.c: the two power-off paths: 0xfe on port 0x64
 * (and only there) resets, a 1-byte write of V to 0x501 exits with V;
 * other widths and ports do nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "vmm/bus.h"
#include "vmm/i8042.h"

struct seen {
	int		 n;
	int		 status;
	const char	*why;
};

static void
off_cb(void *arg, int status, const char *why)
{
	struct seen	*s = arg;

	s->n++;
	s->status = status;
	s->why = why;
}

static void
test_i8042_reset_and_debug_exit(void **state)
{
	struct seen	 s;
	struct bus	*b;
	struct i8042	*k;
	uint8_t		 v;
	uint16_t	 w = 0x00fe;

	(void)state;
	memset(&s, 0, sizeof(s));
	b = bus_new();
	k = i8042_new(off_cb, &s);
	assert_non_null(k);
	assert_int_equal(bus_register(b, BUS_PIO, I8042_DATA_PORT,
	    I8042_NPORTS, &i8042_bus_ops, k), 0);
	assert_int_equal(bus_register(b, BUS_PIO, I8042_DEBUG_EXIT_PORT, 1,
	    &i8042_exit_bus_ops, k), 0);

	v = 0xff;
	assert_int_equal(bus_read(b, BUS_PIO, 0x64, &v, 1), 0);
	assert_int_equal(v, 0);				/* buffers empty */
	v = 0xfe;
	assert_int_equal(bus_write(b, BUS_PIO, 0x60, &v, 1), 0);
	assert_int_equal(s.n, 0);			/* data port: no */
	v = 0xd1;
	assert_int_equal(bus_write(b, BUS_PIO, 0x64, &v, 1), 0);
	assert_int_equal(s.n, 0);			/* other command */
	assert_int_equal(bus_write(b, BUS_PIO, 0x63, &w, 2), 0);
	assert_int_equal(s.n, 0);			/* 16-bit: no */
	v = 0xfe;
	assert_int_equal(bus_write(b, BUS_PIO, 0x64, &v, 1), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.status, 0);
	assert_non_null(strstr(s.why, "reset"));

	w = 0x0707;
	assert_int_equal(bus_write(b, BUS_PIO, 0x501, &w, 2), -1);
	assert_int_equal(s.n, 1);			/* 16-bit: no */
	v = 42;
	assert_int_equal(bus_write(b, BUS_PIO, 0x501, &v, 1), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.status, 42);
	assert_non_null(strstr(s.why, "debug-exit"));
	v = 0;
	assert_int_equal(bus_read(b, BUS_PIO, 0x501, &v, 1), -1);
	assert_int_equal(v, 0xff);
	assert_int_equal(bus_read(b, BUS_PIO, 0x62, &v, 1), 0);
	assert_int_equal(v, 0xff);			/* between: nothing */
	i8042_free(k);
	i8042_free(NULL);
	bus_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8042_reset_and_debug_exit),
	};

	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
