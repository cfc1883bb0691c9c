/*
 * guest/cpu.h: the x86-64 CPU as corral-guest uses it: port and MMIO
 * access, MSRs, CPUID, the TSC, interrupt flag control, and the GDT, TSS
 * and IDT set up by cpu_init().  One CPU (the BSP), ring 0 only.
 */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* Selectors of the GDT in guest/entry.S; the same as corral-vmm's. */
#define CPU_SEL_CODE	0x10
#define CPU_SEL_DATA	0x18
#define CPU_SEL_TSS	0x20

/* How the kernel was entered; the first argument of kmain(). */
#define CPU_BOOT_LINUX	1	/* Linux 64-bit boot, RSI = boot_params */
#define CPU_BOOT_PVH	2	/* PVH, EBX = hvm_start_info */

/*
 * The registers saved by isr_common in guest/entry.S, lowest address
 * first, followed by what the CPU pushed.
 */
struct cpu_frame {
	uint64_t	 cf_r15, cf_r14, cf_r13, cf_r12, cf_r11, cf_r10;
	uint64_t	 cf_r9, cf_r8, cf_rdi, cf_rsi, cf_rbp, cf_rbx;
	uint64_t	 cf_rdx, cf_rcx, cf_rax;
	uint64_t	 cf_vec;	/* pushed by the stub */
	uint64_t	 cf_err;	/* by the CPU, or 0 by the stub */
	uint64_t	 cf_rip, cf_cs, cf_rflags, cf_rsp, cf_ss;
};

/*
 * A device interrupt handler, run with interrupts off; it must be short
 * (acknowledge the device, note that work is pending) since the main loop
 * does the real work.
 */
typedef void	 cpu_irq_fn(void *arg);

/* Loads the final GDT (with a TSS for the double-fault stack) and IDT. */
void	 cpu_init(void);

/*
 * Routes <vector> (32..254) to <fn>(<arg>); the caller acknowledges the
 * interrupt controller.  -1 if the vector is out of range or taken.
 */
int	 cpu_irq_set(unsigned vector, cpu_irq_fn *fn, void *arg);

/* Called from isr_common in guest/entry.S for every vector. */
void	 cpu_trap(struct cpu_frame *f);

/*
 * Halts until an interrupt has been handled: "sti; hlt" is atomic (the
 * STI shadow), so an interrupt that became pending while the caller had
 * interrupts off and checked for work wakes the halt instead of being
 * lost; and where a hypervisor breaks the shadow, cpu_trap() steps over
 * the hlt.  Returns with interrupts off again.
 */
void	 cpu_idle(void);

/* Triple fault: an empty IDT, then an exception. */
void	 cpu_reset(void) __attribute__((noreturn));

/* Interrupts off, halt forever. */
void	 cpu_hang(void) __attribute__((noreturn));

/* The number of times <vector> was taken (for the self-test). */
uint64_t cpu_irq_count(unsigned vector);

static inline void
cpu_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t
cpu_inb(uint16_t port)
{
	uint8_t	 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t
cpu_mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void
cpu_mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}

static inline uint64_t
cpu_rdmsr(uint32_t msr)
{
	uint32_t	 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void
cpu_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
	    "d"((uint32_t)(v >> 32)));
}

static inline void
cpu_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]),
	    "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t
cpu_rdtsc(void)
{
	uint32_t	 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void
cpu_cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void
cpu_sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline uint64_t
cpu_cr2(void)
{
	uint64_t	 v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/*
 * Orders our stores to shared memory (virtqueues) before a later store or
 * MMIO write the device acts on.  x86 keeps stores in order, but the
 * compiler must not move them, and a full fence is cheap next to the exit
 * that a notify costs.
 */
static inline void
cpu_mb(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

/* Only the compiler may reorder loads and stores on x86; stop it. */
static inline void
cpu_barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static inline void
cpu_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

#endif /* GUEST_CPU_H */
