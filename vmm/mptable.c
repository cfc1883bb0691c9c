/*
 * vmm/mptable.c: builds an MP table (Intel MP spec 1.4, chapter 4) in a
 * buffer and copies it into guest RAM: the 16-byte floating pointer,
 * then the configuration table header, one processor entry per vCPU, the
 * ISA bus, the in-kernel IOAPIC, an interrupt entry per IOAPIC pin
 * (identity: ISA/virtio IRQ n is pin n, as KVM's irqchip routes GSIs) and
 * the local interrupts (ExtINT on LINT0, NMI on LINT1).  Same content as
 * Firecracker's mptable.rs.  Main thread, before the VM runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/gmem.h"
#include "vmm/mptable.h"

#define MP_APIC_VERSION		0x14
#define MP_IOAPIC_VERSION	0x11
#define MP_SPEC_REV		4
#define MP_CPU_ENABLED		0x01
#define MP_CPU_BSP		0x02
#define MP_CPU_STEPPING		0x600
#define MP_CPU_FEATURES		0x201	/* APIC | FPU */
#define MP_ENTRY_CPU		0
#define MP_ENTRY_BUS		1
#define MP_ENTRY_IOAPIC		2
#define MP_ENTRY_INTSRC		3
#define MP_ENTRY_LINTSRC	4
#define MP_INT			0
#define MP_NMI			1
#define MP_EXTINT		3
#define MP_IOAPIC_ENABLED	0x01

struct mp_floating {
	char		 mf_sig[4];		/* "_MP_" */
	uint32_t	 mf_physptr;
	uint8_t		 mf_length;		/* in 16-byte units */
	uint8_t		 mf_spec;
	uint8_t		 mf_checksum;
	uint8_t		 mf_feature[5];
} __attribute__((packed));

struct mp_config {
	char		 mc_sig[4];		/* "PCMP" */
	uint16_t	 mc_length;
	uint8_t		 mc_spec;
	uint8_t		 mc_checksum;
	char		 mc_oem[8];
	char		 mc_product[12];
	uint32_t	 mc_oemptr;
	uint16_t	 mc_oemsize;
	uint16_t	 mc_count;
	uint32_t	 mc_lapic;
	uint16_t	 mc_ext_length;
	uint8_t		 mc_ext_checksum;
	uint8_t		 mc_reserved;
} __attribute__((packed));

struct mp_cpu {
	uint8_t		 mp_type;
	uint8_t		 mp_apicid;
	uint8_t		 mp_apicver;
	uint8_t		 mp_flags;
	uint32_t	 mp_signature;
	uint32_t	 mp_features;
	uint32_t	 mp_reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t		 mb_type;
	uint8_t		 mb_id;
	char		 mb_name[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t		 mi_type;
	uint8_t		 mi_id;
	uint8_t		 mi_ver;
	uint8_t		 mi_flags;
	uint32_t	 mi_addr;
} __attribute__((packed));

struct mp_intsrc {
	uint8_t		 ms_type;
	uint8_t		 ms_irqtype;
	uint16_t	 ms_irqflag;
	uint8_t		 ms_srcbus;
	uint8_t		 ms_srcbusirq;
	uint8_t		 ms_dstapic;
	uint8_t		 ms_dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "floating pointer");
_Static_assert(sizeof(struct mp_config) == 44, "config header");
_Static_assert(sizeof(struct mp_cpu) == 20, "processor entry");
_Static_assert(sizeof(struct mp_bus) == 8, "bus entry");
_Static_assert(sizeof(struct mp_ioapic) == 8, "ioapic entry");
_Static_assert(sizeof(struct mp_intsrc) == 8, "interrupt entry");

static uint8_t	mptable_checksum(const void *, size_t);

size_t
mptable_size(unsigned ncpus)
{
	return sizeof(struct mp_floating) + sizeof(struct mp_config) +
	    ncpus * sizeof(struct mp_cpu) + sizeof(struct mp_bus) +
	    sizeof(struct mp_ioapic) +
	    (MPTABLE_IRQS + 2) * sizeof(struct mp_intsrc);
}

int
mptable_write(struct gmem *gm, uint64_t gpa, unsigned ncpus)
{
	struct mp_floating	*mf;
	struct mp_config	*mc;
	struct mp_cpu		*cpu;
	struct mp_bus		*bus;
	struct mp_ioapic	*io;
	struct mp_intsrc	*is;
	uint8_t			*buf, *p;
	size_t			 len;
	unsigned		 i;
	int			 rc;

	if (ncpus == 0 || ncpus > MPTABLE_CPUS_MAX || gpa > 0xffffffffULL) {
		errno = EINVAL;
		return -1;
	}
	len = mptable_size(ncpus);
	if ((buf = calloc(1, len)) == NULL)
		return -1;
	mf = (struct mp_floating *)buf;
	mc = (struct mp_config *)(mf + 1);
	p = (uint8_t *)(mc + 1);

	memcpy(mf->mf_sig, "_MP_", 4);
	mf->mf_physptr = (uint32_t)(gpa + sizeof(*mf));
	mf->mf_length = 1;
	mf->mf_spec = MP_SPEC_REV;

	memcpy(mc->mc_sig, "PCMP", 4);
	mc->mc_length = (uint16_t)(len - sizeof(*mf));
	mc->mc_spec = MP_SPEC_REV;
	memcpy(mc->mc_oem, "CORRAL  ", 8);
	memcpy(mc->mc_product, "corral-vmm  ", 12);
	mc->mc_lapic = MPTABLE_LAPIC_ADDR;
	mc->mc_count = (uint16_t)(ncpus + 1 + 1 + MPTABLE_IRQS + 2);

	for (i = 0; i < ncpus; i++) {
		cpu = (struct mp_cpu *)p;
		cpu->mp_type = MP_ENTRY_CPU;
		cpu->mp_apicid = (uint8_t)i;
		cpu->mp_apicver = MP_APIC_VERSION;
		cpu->mp_flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		cpu->mp_signature = MP_CPU_STEPPING;
		cpu->mp_features = MP_CPU_FEATURES;
		p += sizeof(*cpu);
	}
	bus = (struct mp_bus *)p;
	bus->mb_type = MP_ENTRY_BUS;
	bus->mb_id = 0;
	memcpy(bus->mb_name, "ISA   ", 6);
	p += sizeof(*bus);
	/* The IOAPIC's id follows the CPUs' so that no APIC id repeats. */
	io = (struct mp_ioapic *)p;
	io->mi_type = MP_ENTRY_IOAPIC;
	io->mi_id = (uint8_t)ncpus;
	io->mi_ver = MP_IOAPIC_VERSION;
	io->mi_flags = MP_IOAPIC_ENABLED;
	io->mi_addr = MPTABLE_IOAPIC_ADDR;
	p += sizeof(*io);
	for (i = 0; i < MPTABLE_IRQS; i++) {
		is = (struct mp_intsrc *)p;
		is->ms_type = MP_ENTRY_INTSRC;
		is->ms_irqtype = MP_INT;
		is->ms_irqflag = 0;	/* conforms to the bus: edge, high */
		is->ms_srcbus = 0;
		is->ms_srcbusirq = (uint8_t)i;
		is->ms_dstapic = (uint8_t)ncpus;
		is->ms_dstirq = (uint8_t)i;
		p += sizeof(*is);
	}
	is = (struct mp_intsrc *)p;
	is->ms_type = MP_ENTRY_LINTSRC;
	is->ms_irqtype = MP_EXTINT;
	is->ms_dstapic = 0;		/* the BSP's LINT0 */
	is->ms_dstirq = 0;
	p += sizeof(*is);
	is = (struct mp_intsrc *)p;
	is->ms_type = MP_ENTRY_LINTSRC;
	is->ms_irqtype = MP_NMI;
	is->ms_dstapic = 0xff;		/* every CPU's LINT1 */
	is->ms_dstirq = 1;
	p += sizeof(*is);

	mc->mc_checksum = mptable_checksum(mc, mc->mc_length);
	mf->mf_checksum = mptable_checksum(mf, sizeof(*mf));
	rc = gmem_write(gm, gpa, buf, len);
	free(buf);
	return rc;
}

/* The byte that makes the sum of <len> bytes at <p> zero. */
static uint8_t
mptable_checksum(const void *p, size_t len)
{
	const uint8_t	*b = p;
	uint8_t		 sum = 0;
	size_t		 i;

	for (i = 0; i < len; i++)
		sum += b[i];
	return (uint8_t)(0 - sum);
}
