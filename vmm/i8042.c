/*
 * vmm/i8042.c: just enough of the i8042 for a guest to reset the
 * machine, plus the debug-exit port.  There is no keyboard: the status
 * register says both buffers are empty and data reads as 0, so Linux's
 * probe finds a controller with nothing behind it.  Stateless apart from
 * the callback, so the vCPU threads need no lock here.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/i8042.h"

struct i8042 {
	i8042_off_fn	*k_off;
	void		*k_arg;
};

static void	i8042_read(void *, uint64_t, void *, uint32_t);
static void	i8042_write(void *, uint64_t, const void *, uint32_t);
static void	i8042_exit_write(void *, uint64_t, const void *, uint32_t);

const struct bus_ops	i8042_bus_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

const struct bus_ops	i8042_exit_bus_ops = {
	.read = NULL,		/* reads see all ones: nothing there */
	.write = i8042_exit_write,
};

struct i8042 *
i8042_new(i8042_off_fn *off, void *arg)
{
	struct i8042	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->k_off = off;
	k->k_arg = arg;
	return k;
}

void
i8042_free(struct i8042 *k)
{
	free(k);
}

static void
i8042_read(void *arg, uint64_t off, void *data, uint32_t len)
{
	(void)arg;
	/* Status 0: output buffer empty, input buffer empty, no data. */
	if (off == 0 || off == I8042_CMD_PORT - I8042_DATA_PORT)
		memset(data, 0, len);
	else
		memset(data, 0xff, len);
}

static void
i8042_write(void *arg, uint64_t off, const void *data, uint32_t len)
{
	struct i8042	*k = arg;

	/* 0xfe on the data port is a keyboard command byte: harmless. */
	if (off == I8042_CMD_PORT - I8042_DATA_PORT && len == 1 && *(const uint8_t *)data == I8042_CMD_RESET &&
	    k->k_off != NULL)
		k->k_off(k->k_arg, 0, "guest reset (i8042)");
}

static void
i8042_exit_write(void *arg, uint64_t off, const void *data, uint32_t len)
{
	struct i8042	*k = arg;

	(void)off;
	if (len != 1 || k->k_off == NULL)
		return;
	k->k_off(k->k_arg, *(const uint8_t *)data,
	    "guest powered off (debug-exit port)");
}
