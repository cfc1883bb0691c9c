/*
 * vmm/i8042.h: the two ways a guest turns itself off.  The i8042
 * keyboard controller at ports 0x60/0x64 (a 0xfe command to 0x64 pulses
 * the CPU reset line: Linux's reboot=k, the default fallback) and the
 * debug-exit port 0x501, where a 1-byte write of V powers off with exit
 * status V (corral-guest's /exit/CODE, our test kernels).  A reset ends
 * the VM as a power-off: corral-vmm never reboots a guest.
 */
#ifndef VMM_I8042_H
#define VMM_I8042_H

#include "vmm/bus.h"

#define I8042_DATA_PORT		0x60
#define I8042_CMD_PORT		0x64
#define I8042_NPORTS		(I8042_CMD_PORT - I8042_DATA_PORT + 1)
#define I8042_CMD_RESET		0xfe
#define I8042_DEBUG_EXIT_PORT	0x501

/*
 * Called on the vCPU thread that wrote: <status> 0 for a reset, V for a
 * debug exit; <why> a constant string for the log line.
 */
typedef void	i8042_off_fn(void *arg, int status, const char *why);

struct i8042;	/* opaque; owned by struct vm */

/* NULL on error. */
struct i8042	*i8042_new(i8042_off_fn *off, void *arg);
void		 i8042_free(struct i8042 *k);	/* NULL is a no-op */

/*
 * Register i8042_bus_ops on ports I8042_DATA_PORT .. I8042_CMD_PORT
 * (I8042_NPORTS ports; 0x61-0x63 in between read as all ones) and
 * i8042_exit_bus_ops on I8042_DEBUG_EXIT_PORT (1 port), both with the
 * struct i8042.
 */
extern const struct bus_ops	i8042_bus_ops;
extern const struct bus_ops	i8042_exit_bus_ops;

#endif /* VMM_I8042_H */
