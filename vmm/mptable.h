/*
 * vmm/mptable.h: the Intel MultiProcessor Specification 1.4 table that
 * tells a guest without ACPI (Linux with acpi=off or no tables, like
 * Firecracker's guests) its CPUs, its IOAPIC and how ISA and virtio IRQs
 * reach the IOAPIC pins.  Placed in the EBDA (BOOT_EBDA), which Linux
 * scans for the floating pointer.
 */
#ifndef VMM_MPTABLE_H
#define VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

struct gmem;

#define MPTABLE_CPUS_MAX	32
#define MPTABLE_IOAPIC_ADDR	0xfec00000U
#define MPTABLE_LAPIC_ADDR	0xfee00000U
#define MPTABLE_IRQS		24	/* IOAPIC pins 0..23 */

/* Bytes the table takes for <ncpus> CPUs (floating pointer included). */
size_t	mptable_size(unsigned ncpus);

/*
 * Writes the floating pointer and configuration table at <gpa> for
 * <ncpus> CPUs (1..MPTABLE_CPUS_MAX), APIC ids 0..ncpus-1, CPU 0 the BSP.
 * -1 with EINVAL for a bad <ncpus>, EFAULT if it does not fit in RAM.
 */
int	mptable_write(struct gmem *gm, uint64_t gpa, unsigned ncpus)
	    __attribute__((warn_unused_result));

#endif /* VMM_MPTABLE_H */
