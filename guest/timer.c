/*
 * guest/timer.c: clock_ms() and the deadline timer.
 *
 * The TSC is the clock: clock_ms() is (rdtsc - TSC at boot) / tsc_khz.
 * Deadlines use the LAPIC timer in one-shot mode (divide by 1).  Both
 * frequencies come, in order of preference, from corral-vmm's CPUID leaf
 * 0x40000010 (EAX = TSC kHz, EBX = LAPIC timer kHz; no measuring, so no
 * boot delay), from kvmclock (TSC rate; the LAPIC timer then measured
 * against the TSC over 1 ms), or from PIT channel 0 over 3 x 5 ms (QEMU TCG).
 * The timer interrupt only wakes the main loop, which reads the clock.
 * File-scope state, written once by timer_init(); boot CPU only.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/apic.h"
#include "guest/app.h"
#include "guest/cons.h"
#include "guest/cpu.h"
#include "guest/timer.h"

#define CPUID_HV_BASE		0x40000000
#define CPUID_HV_FREQ		0x40000010
#define CPUID_KVM_FEATURES	0x40000001
#define KVM_FEATURE_CLOCK2	(1u << 3)
#define MSR_KVM_SYSTEM_TIME	0x4b564d01

#define PIT_HZ			1193182
#define PIT_CH0			0x40
#define PIT_MODE		0x43
#define PIT_CAL_MS		5
#define PIT_CAL_RUNS		3

/* Sanity bounds for any frequency we learn: 1 MHz .. 10 GHz. */
#define KHZ_MIN			1000ULL
#define KHZ_MAX			10000000ULL

/* Longest single one-shot; a later deadline just re-arms on wake-up. */
#define ARM_MAX_MS		4000

struct timer_pvclock {
	uint32_t	 pv_version;
	uint32_t	 pv_pad0;
	uint64_t	 pv_tsc_timestamp;
	uint64_t	 pv_system_time;
	uint32_t	 pv_mul;
	int8_t		 pv_shift;
	uint8_t		 pv_flags;
	uint8_t		 pv_pad[2];
} __attribute__((packed));

static struct {
	uint64_t	 t_tsc0;
	uint32_t	 t_tsc_khz;
	uint32_t	 t_lapic_khz;
	const char	*t_source;
	uint64_t	 t_armed;	/* deadline armed, UINT64_MAX: none */
} timer;

static struct timer_pvclock timer_pv __attribute__((aligned(64)));

static bool
timer_khz_ok(uint64_t khz)
{
	return khz >= KHZ_MIN && khz <= KHZ_MAX;
}

static bool
timer_from_cpuid(void)
{
	uint32_t	 r[4];

	cpu_cpuid(1, 0, r);
	if (!(r[2] & (1u << 31)))		/* no hypervisor */
		return false;
	cpu_cpuid(CPUID_HV_BASE, 0, r);
	if (r[0] < CPUID_HV_FREQ || r[0] > CPUID_HV_BASE + 0xffff)
		return false;
	cpu_cpuid(CPUID_HV_FREQ, 0, r);
	if (!timer_khz_ok(r[0]) || !timer_khz_ok(r[1]))
		return false;
	timer.t_tsc_khz = r[0];
	timer.t_lapic_khz = r[1];
	timer.t_source = "cpuid";
	return true;
}

/* Counts LAPIC ticks over <tsc_ticks> of the TSC. */
static uint64_t
timer_lapic_over_tsc(uint64_t tsc_ticks)
{
	uint64_t	 t0;
	uint32_t	 left;

	apic_timer_oneshot(UINT32_MAX);
	t0 = cpu_rdtsc();
	while (cpu_rdtsc() - t0 < tsc_ticks)
		cpu_pause();
	left = apic_timer_current();
	apic_timer_oneshot(0);
	return UINT32_MAX - left;
}

static bool
timer_from_kvmclock(void)
{
	uint32_t	 r[4];
	uint64_t	 khz, lapic;

	cpu_cpuid(CPUID_HV_BASE, 0, r);
	/* "KVMKVMKVM\0\0\0" */
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d)
		return false;
	cpu_cpuid(CPUID_KVM_FEATURES, 0, r);
	if (!(r[0] & KVM_FEATURE_CLOCK2))
		return false;
	cpu_wrmsr(MSR_KVM_SYSTEM_TIME, (uintptr_t)&timer_pv | 1);
	cpu_barrier();
	if (timer_pv.pv_mul == 0)
		return false;
	/* ns = ticks * 2^shift * mul / 2^32: kHz = 10^6 2^32 / mul / 2^shift */
	khz = (1000000ULL << 32) / timer_pv.pv_mul;
	if (timer_pv.pv_shift < 0)
		khz <<= -timer_pv.pv_shift;
	else
		khz >>= timer_pv.pv_shift;
	cpu_wrmsr(MSR_KVM_SYSTEM_TIME, 0);
	if (!timer_khz_ok(khz))
		return false;
	lapic = timer_lapic_over_tsc(khz);	/* 1 ms */
	if (!timer_khz_ok(lapic))
		return false;
	timer.t_tsc_khz = khz;
	timer.t_lapic_khz = lapic;
	timer.t_source = "kvmclock";
	return true;
}

/* PIT channel 0's current count (latched, so both bytes agree). */
static uint16_t
timer_pit_read(void)
{
	uint8_t	 lo, hi;

	cpu_outb(PIT_MODE, 0x00);		/* latch channel 0 */
	lo = cpu_inb(PIT_CH0);
	hi = cpu_inb(PIT_CH0);
	return (uint16_t)(hi << 8 | lo);
}

/*
 * One measurement over about PIT_CAL_MS with PIT channel 0, whose gate is
 * always on (channel 2's needs port 0x61, which QEMU's microvm lacks),
 * counting down from 0xffff in mode 0; its output goes nowhere since the
 * PIC and the IOAPIC pin are masked.  Elapsed PIT ticks are summed read
 * by read, so the count wrapping is no problem; a pause longer than a
 * whole wrap (55 ms) is, and makes the TSC look fast: see the caller.
 */
static bool
timer_pit_once(uint64_t *tsc, uint64_t *lapic, uint64_t *pit)
{
	uint64_t	 t0, spins, elapsed = 0;
	uint32_t	 left;
	uint16_t	 prev, cur;

	cpu_outb(PIT_MODE, 0x30);	/* channel 0, lo/hi byte, mode 0 */
	cpu_outb(PIT_CH0, 0xff);
	cpu_outb(PIT_CH0, 0xff);
	/* The count starts on the next PIT clock: wait for it to move. */
	prev = timer_pit_read();
	for (spins = 0; (cur = timer_pit_read()) == prev; spins++)
		if (spins > 1000000)
			return false;
	apic_timer_oneshot(UINT32_MAX);
	t0 = cpu_rdtsc();
	for (prev = cur; elapsed < PIT_HZ / 1000 * PIT_CAL_MS; prev = cur) {
		cur = timer_pit_read();
		elapsed += (uint16_t)(prev - cur);
	}
	*tsc = cpu_rdtsc() - t0;
	left = apic_timer_current();
	apic_timer_oneshot(0);
	*lapic = UINT32_MAX - left;
	*pit = elapsed;
	return true;
}

/*
 * The TSC rate is the lowest of a few measurements, since being paused
 * (a busy host under TCG) can only make the TSC look faster; the LAPIC
 * rate comes from the same run, as a ratio of two free-running counters.
 */
static bool
timer_from_pit(void)
{
	uint64_t	 tsc, lapic, pit, khz, best = UINT64_MAX, lapic_khz = 0;
	unsigned	 i;

	for (i = 0; i < PIT_CAL_RUNS; i++) {
		if (!timer_pit_once(&tsc, &lapic, &pit) || tsc == 0)
			return false;
		khz = tsc * PIT_HZ / 1000 / pit;
		if (khz < best) {
			best = khz;
			lapic_khz = lapic * khz / tsc;
		}
	}
	if (!timer_khz_ok(best) || !timer_khz_ok(lapic_khz))
		return false;
	timer.t_tsc_khz = best;
	timer.t_lapic_khz = lapic_khz;
	timer.t_source = "pit";
	return true;
}

static void
timer_irq(void *arg)
{
	(void)arg;
	timer.t_armed = UINT64_MAX;
}

void
timer_init(void)
{
	if (!timer_from_cpuid() && !timer_from_kvmclock() &&
	    !timer_from_pit())
		cons_panic("no way to measure time (no CPUID 0x40000010, "
		    "kvmclock or PIT)");
	timer.t_tsc0 = cpu_rdtsc();
	timer.t_armed = UINT64_MAX;
	if (cpu_irq_set(APIC_VEC_TIMER, timer_irq, NULL) == -1)
		cons_panic("timer vector taken");
}

uint64_t
clock_ms(void)
{
	return (cpu_rdtsc() - timer.t_tsc0) / timer.t_tsc_khz;
}

void
timer_arm(uint64_t deadline)
{
	uint64_t	 now_tsc, due_tsc, left, count;

	/* A LAPIC write may cost an exit: skip those that change nothing. */
	if (deadline == timer.t_armed)
		return;
	timer.t_armed = deadline;
	if (deadline == UINT64_MAX) {
		apic_timer_oneshot(0);
		return;
	}
	now_tsc = cpu_rdtsc() - timer.t_tsc0;
	if (deadline > UINT64_MAX / timer.t_tsc_khz)
		deadline = UINT64_MAX / timer.t_tsc_khz;
	due_tsc = deadline * timer.t_tsc_khz;
	left = due_tsc > now_tsc ? due_tsc - now_tsc : 0;
	if (left > (uint64_t)ARM_MAX_MS * timer.t_tsc_khz)
		left = (uint64_t)ARM_MAX_MS * timer.t_tsc_khz;
	/* Round up: waking a tick late is fine, early costs a wake-up. */
	count = (left * timer.t_lapic_khz + timer.t_tsc_khz - 1) /
	    timer.t_tsc_khz + 1;
	if (count > UINT32_MAX)
		count = UINT32_MAX;
	apic_timer_oneshot((uint32_t)count);
}

uint32_t
timer_tsc_khz(void)
{
	return timer.t_tsc_khz;
}

uint32_t
timer_lapic_khz(void)
{
	return timer.t_lapic_khz;
}

const char *
timer_source(void)
{
	return timer.t_source;
}
