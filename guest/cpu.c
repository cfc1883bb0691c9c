/*
 * guest/cpu.c: corral-guest's descriptor tables and trap dispatch.
 *
 * The GDT lives in guest/entry.S (both entry points load it); cpu_init()
 * adds a 64-bit TSS whose IST1 stack takes double faults, so a fault on a
 * broken stack still reaches the panic path, and fills the IDT with the
 * 256 stubs of guest/entry.S.  cpu_trap() panics on exceptions (vector,
 * RIP, error code, CR2: corral-vmm then exits with "guest crash") and
 * hands device vectors to the handler cpu_irq_set() registered, then
 * signals end-of-interrupt to the LAPIC.  The tables are file-scope
 * because the CPU reads them; they are written only during boot.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/apic.h"
#include "guest/cons.h"
#include "guest/cpu.h"
#include "guest/klib.h"

#define IDT_VECTORS	256
#define IDT_GATE_INTR	0x8e		/* present, DPL 0, interrupt gate */
#define ISR_STUB_SIZE	16		/* see isr_stubs in guest/entry.S */
#define CPU_EXC_MAX	32
#define CPU_VEC_DF	8
#define IST_STACK_SIZE	8192

struct cpu_gate {
	uint16_t	 g_off0;
	uint16_t	 g_sel;
	uint8_t		 g_ist;
	uint8_t		 g_type;
	uint16_t	 g_off1;
	uint32_t	 g_off2;
	uint32_t	 g_zero;
} __attribute__((packed));

struct cpu_tss {
	uint32_t	 t_rsvd0;
	uint64_t	 t_rsp[3];
	uint64_t	 t_rsvd1;
	uint64_t	 t_ist[7];
	uint64_t	 t_rsvd2;
	uint16_t	 t_rsvd3;
	uint16_t	 t_iomap;
} __attribute__((packed));

struct cpu_dtr {
	uint16_t	 d_limit;
	uint64_t	 d_base;
} __attribute__((packed));

struct cpu_irq {
	cpu_irq_fn	*ci_fn;
	void		*ci_arg;
	uint64_t	 ci_count;
};

extern uint64_t	 gdt[];			/* guest/entry.S */
extern char	 isr_stubs[];		/* guest/entry.S */

static struct cpu_gate	 cpu_idt[IDT_VECTORS] __attribute__((aligned(16)));
static struct cpu_tss	 cpu_tss __attribute__((aligned(16)));
static uint8_t		 cpu_df_stack[IST_STACK_SIZE]
			    __attribute__((aligned(16)));
static struct cpu_irq	 cpu_irqs[IDT_VECTORS];
static uint64_t		 cpu_idle_rescues;	/* see cpu_trap() */
extern const char	 cpu_idle_hlt[];	/* in cpu_idle() */

static const char *const cpu_exc_names[CPU_EXC_MAX] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"bound range", "invalid opcode", "device not available",
	"double fault", "coprocessor overrun", "invalid TSS",
	"segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check",
	"machine check", "SIMD error", "virtualization", "control protection",
	"reserved", "reserved", "reserved", "reserved", "reserved",
	"reserved", "hypervisor injection", "VMM communication",
	"security", "reserved",
};

static void
cpu_tss_init(void)
{
	uint64_t	 base = (uintptr_t)&cpu_tss;
	uint64_t	 limit = sizeof(cpu_tss) - 1;
	uint16_t	 sel = CPU_SEL_TSS;

	cpu_tss.t_ist[0] = (uintptr_t)(cpu_df_stack + sizeof(cpu_df_stack));
	cpu_tss.t_iomap = sizeof(cpu_tss);	/* no I/O permission map */
	/* A 16-byte system descriptor: type 9 (available 64-bit TSS), P. */
	gdt[CPU_SEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
	    ((uint64_t)0x89 << 40) | (((limit >> 16) & 0xf) << 48) |
	    (((base >> 24) & 0xff) << 56);
	gdt[CPU_SEL_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %0" : : "r"(sel) : "memory");
}

static void
cpu_idt_init(void)
{
	struct cpu_dtr	 dtr;
	uint64_t	 off;
	unsigned	 v;

	for (v = 0; v < IDT_VECTORS; v++) {
		off = (uintptr_t)isr_stubs + (uint64_t)v * ISR_STUB_SIZE;
		cpu_idt[v].g_off0 = off & 0xffff;
		cpu_idt[v].g_sel = CPU_SEL_CODE;
		cpu_idt[v].g_ist = v == CPU_VEC_DF ? 1 : 0;
		cpu_idt[v].g_type = IDT_GATE_INTR;
		cpu_idt[v].g_off1 = (off >> 16) & 0xffff;
		cpu_idt[v].g_off2 = off >> 32;
		cpu_idt[v].g_zero = 0;
	}
	dtr.d_limit = sizeof(cpu_idt) - 1;
	dtr.d_base = (uintptr_t)cpu_idt;
	__asm__ volatile("lidt %0" : : "m"(dtr) : "memory");
}

void
cpu_init(void)
{
	cpu_tss_init();
	cpu_idt_init();
}

int
cpu_irq_set(unsigned vector, cpu_irq_fn *fn, void *arg)
{
	if (vector < CPU_EXC_MAX || vector >= APIC_VEC_SPURIOUS ||
	    cpu_irqs[vector].ci_fn != NULL)
		return -1;
	cpu_irqs[vector].ci_fn = fn;
	cpu_irqs[vector].ci_arg = arg;
	return 0;
}

uint64_t
cpu_irq_count(unsigned vector)
{
	if (vector >= IDT_VECTORS)
		return 0;
	return cpu_irqs[vector].ci_count;
}

static void
cpu_exception(const struct cpu_frame *f)
{
	cons_panic("exception %lu (%s) at rip 0x%lx, error code 0x%lx, "
	    "cr2 0x%lx, rsp 0x%lx", f->cf_vec, cpu_exc_names[f->cf_vec],
	    f->cf_rip, f->cf_err, cpu_cr2(), f->cf_rsp);
}

void
cpu_trap(struct cpu_frame *f)
{
	struct cpu_irq	*irq;

	if (f->cf_vec < CPU_EXC_MAX)
		cpu_exception(f);
	if (f->cf_vec >= IDT_VECTORS)
		cons_panic("trap frame with vector %lu", f->cf_vec);
	irq = &cpu_irqs[f->cf_vec];
	irq->ci_count++;
	/*
	 * An interrupt taken at the hlt of cpu_idle() came inside the STI
	 * shadow, which a hypervisor should not do but one did (nested SVM
	 * under QEMU TCG): returning to the hlt would sleep until the next
	 * interrupt, perhaps forever, with this one's work undone.  Step
	 * over the hlt so the main loop looks at the queues again.
	 */
	if (f->cf_rip == (uint64_t)(uintptr_t)cpu_idle_hlt) {
		f->cf_rip++;		/* hlt is one byte, 0xf4 */
		if (cpu_idle_rescues++ == 0)
			cons_printf("corral-guest: interrupt before hlt "
			    "(lost STI shadow): stepped over\n");
	}
	/* A spurious interrupt is not in service: no EOI (SDM 10.9). */
	if (f->cf_vec == APIC_VEC_SPURIOUS)
		return;
	if (irq->ci_fn != NULL)
		irq->ci_fn(irq->ci_arg);
	apic_eoi();
}

/*
 * noinline: the label below must exist once.  cpu_trap() compares an
 * interrupted RIP with it.
 */
void __attribute__((noinline))
cpu_idle(void)
{
	__asm__ volatile("sti\n"
	    "\t.globl cpu_idle_hlt\n"
	    "cpu_idle_hlt:\n"
	    "\thlt\n"
	    "\tcli" : : : "memory");
}

void
cpu_reset(void)
{
	struct cpu_dtr	 dtr = { 0, 0 };

	/* No gate for the breakpoint, nor for the #GP and #DF it becomes. */
	__asm__ volatile("cli; lidt %0; int3" : : "m"(dtr) : "memory");
	for (;;)
		__asm__ volatile("hlt");
}

void
cpu_hang(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}
