/*
 * guest/timer.h: time for corral-guest: clock_ms() (guest/app.h) from the
 * TSC, and one LAPIC one-shot timer that wakes the main loop at the next
 * deadline.
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdint.h>

/*
 * Learns the TSC and LAPIC timer frequencies (corral-vmm's CPUID leaf
 * 0x40000010, else kvmclock, else a PIT measurement) and starts
 * clock_ms() at 0.  Needs apic_init() and cpu_init() first.
 */
void	 timer_init(void);

/*
 * Arms the timer so that an interrupt comes once clock_ms() >= <deadline>
 * (maybe earlier, never much later); UINT64_MAX disarms it.
 */
void	 timer_arm(uint64_t deadline);

/* The frequencies found, in kHz, and how: "cpuid", "kvmclock", "pit". */
uint32_t timer_tsc_khz(void);
uint32_t timer_lapic_khz(void);
const char *timer_source(void);

#endif /* GUEST_TIMER_H */
