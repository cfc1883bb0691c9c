/*
 * guest/apic.c: local APIC, IOAPIC and 8259 PIC (see guest/apic.h).
 *
 * Under corral-vmm these are KVM's in-kernel irqchip; a virtio-mmio IRQ
 * line N arrives on IOAPIC pin N (irqfd, edge).  The PICs are remapped
 * away from the exception vectors and masked entirely, so nothing reaches
 * the CPU through LINT0.  The LAPIC stays in xAPIC mode at its reset
 * base.  Stateless apart from the hardware; boot CPU only.
 */
#include <stdint.h>

#include "guest/apic.h"
#include "guest/cpu.h"

#define MSR_APIC_BASE		0x1b
#define APIC_BASE_ENABLE	(1u << 11)
#define APIC_BASE_X2APIC	(1u << 10)

#define LAPIC_BASE		0xfee00000ULL
#define LAPIC_ID		0x020
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_ESR		0x280
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_LVT_LINT1		0x360
#define LAPIC_LVT_ERROR		0x370
#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_CUR		0x390
#define LAPIC_TIMER_DIV		0x3e0
#define SVR_ENABLE		0x100
#define LVT_MASKED		0x10000
#define LVT_NMI			0x400
#define TIMER_DIV_1		0x0b

#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_SEL		0x00
#define IOAPIC_WIN		0x10
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REG_REDIR	0x10
#define REDIR_MASKED		0x10000

#define PIC1_CMD		0x20
#define PIC1_DATA		0x21
#define PIC2_CMD		0xa0
#define PIC2_DATA		0xa1
#define PIC_ICW1_INIT		0x11	/* edge, cascade, ICW4 follows */
#define PIC_ICW4_8086		0x01
#define PIC_VEC_BASE		0x20	/* 0x20..0x2f, never unmasked */

static uint32_t
apic_lapic_read(uint32_t reg)
{
	return cpu_mmio_read32(LAPIC_BASE + reg);
}

static void
apic_lapic_write(uint32_t reg, uint32_t v)
{
	cpu_mmio_write32(LAPIC_BASE + reg, v);
}

static uint32_t
apic_ioapic_read(uint32_t reg)
{
	cpu_mmio_write32(IOAPIC_BASE + IOAPIC_SEL, reg);
	return cpu_mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

static void
apic_ioapic_write(uint32_t reg, uint32_t v)
{
	cpu_mmio_write32(IOAPIC_BASE + IOAPIC_SEL, reg);
	cpu_mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static void
apic_pic_disable(void)
{
	cpu_outb(PIC1_CMD, PIC_ICW1_INIT);
	cpu_outb(PIC2_CMD, PIC_ICW1_INIT);
	cpu_outb(PIC1_DATA, PIC_VEC_BASE);
	cpu_outb(PIC2_DATA, PIC_VEC_BASE + 8);
	cpu_outb(PIC1_DATA, 4);			/* slave on IRQ2 */
	cpu_outb(PIC2_DATA, 2);
	cpu_outb(PIC1_DATA, PIC_ICW4_8086);
	cpu_outb(PIC2_DATA, PIC_ICW4_8086);
	cpu_outb(PIC1_DATA, 0xff);
	cpu_outb(PIC2_DATA, 0xff);
}

void
apic_init(void)
{
	uint64_t	 base;

	apic_pic_disable();
	base = cpu_rdmsr(MSR_APIC_BASE);
	/* xAPIC mode at the architectural base, globally enabled. */
	base &= ~(uint64_t)(APIC_BASE_X2APIC | 0xfffff000ULL);
	base |= LAPIC_BASE | APIC_BASE_ENABLE;
	cpu_wrmsr(MSR_APIC_BASE, base);

	/*
	 * Software-enable first: while SVR says disabled, LVT writes cannot
	 * clear their mask bits (SDM 10.4.7.2); KVM enforces this, QEMU's
	 * TCG APIC does not.
	 */
	apic_lapic_write(LAPIC_SVR, SVR_ENABLE | APIC_VEC_SPURIOUS);
	apic_lapic_write(LAPIC_TPR, 0);
	apic_lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	apic_lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
	apic_lapic_write(LAPIC_LVT_ERROR, APIC_VEC_ERROR);
	apic_lapic_write(LAPIC_ESR, 0);
	apic_lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_1);
	apic_lapic_write(LAPIC_LVT_TIMER, APIC_VEC_TIMER);
	apic_lapic_write(LAPIC_TIMER_INIT, 0);
	apic_lapic_write(LAPIC_EOI, 0);
}

void
apic_eoi(void)
{
	apic_lapic_write(LAPIC_EOI, 0);
}

int
apic_ioapic_route(unsigned pin)
{
	uint32_t	 npins, dest;

	npins = ((apic_ioapic_read(IOAPIC_REG_VER) >> 16) & 0xff) + 1;
	if (pin >= npins || pin >= APIC_IOAPIC_PINS_MAX)
		return -1;
	dest = apic_lapic_read(LAPIC_ID) >> 24;
	/* Masked while the halves disagree. */
	apic_ioapic_write(IOAPIC_REG_REDIR + 2 * pin, REDIR_MASKED);
	apic_ioapic_write(IOAPIC_REG_REDIR + 2 * pin + 1, dest << 24);
	/* Fixed delivery, physical destination, active high, edge. */
	apic_ioapic_write(IOAPIC_REG_REDIR + 2 * pin, APIC_VEC_IRQ_BASE + pin);
	return 0;
}

void
apic_timer_oneshot(uint32_t count)
{
	apic_lapic_write(LAPIC_TIMER_INIT, count);
}

uint32_t
apic_timer_current(void)
{
	return apic_lapic_read(LAPIC_TIMER_CUR);
}
