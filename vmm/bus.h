/*
 * vmm/bus.h: port-I/O and MMIO dispatch for vCPU exits.  Devices register
 * their ranges while the VM is built; the table is read-only once vCPUs
 * run, so dispatch takes no lock.  Handlers run on the vCPU thread that
 * exited and must lock whatever state they share with other threads.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdint.h>

enum bus_space {
	BUS_PIO = 0,
	BUS_MMIO,
};

struct bus_ops {
	/* Fill <data> with <len> (1, 2, 4 or 8) bytes read at <off>. */
	void	(*read)(void *arg, uint64_t off, void *data, uint32_t len);
	void	(*write)(void *arg, uint64_t off, const void *data,
		    uint32_t len);
};

struct bus;	/* opaque; owned by struct vm */

struct bus	*bus_new(void);
void		 bus_free(struct bus *b);	/* NULL is a no-op */

/*
 * Routes accesses to [<base>, <base> + <len>) of <space> to <ops> with
 * <arg>.  -1 with EEXIST if the range overlaps one already registered.
 * Before vCPUs start only.
 */
int		 bus_register(struct bus *b, enum bus_space space,
		    uint64_t base, uint64_t len, const struct bus_ops *ops,
		    void *arg) __attribute__((warn_unused_result));

/*
 * Dispatches one access.  Returns 0 if a device took it, -1 if nothing is
 * there: reads then see all ones, writes are dropped, as on real hardware.
 */
int		 bus_read(const struct bus *b, enum bus_space space,
		    uint64_t addr, void *data, uint32_t len);
int		 bus_write(const struct bus *b, enum bus_space space,
		    uint64_t addr, const void *data, uint32_t len);

#endif /* VMM_BUS_H */
