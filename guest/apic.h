/*
 * guest/apic.h: the interrupt controllers: the local APIC (xAPIC, MMIO at
 * 0xfee00000) of the boot CPU with its one-shot timer, the IOAPIC at
 * 0xfec00000 that device IRQs arrive on, and the 8259 PICs, which are
 * only masked.
 */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdint.h>

#define APIC_VEC_IRQ_BASE	0x30	/* IOAPIC pin N -> vector 0x30 + N */
#define APIC_IOAPIC_PINS_MAX	24
#define APIC_VEC_TIMER		0xf0
#define APIC_VEC_ERROR		0xfe
#define APIC_VEC_SPURIOUS	0xff

/* Masks and remaps the PICs, enables the LAPIC with the timer stopped. */
void	 apic_init(void);

/* End of interrupt for the vector in service. */
void	 apic_eoi(void);

/*
 * Routes IOAPIC <pin> (edge, active high, fixed) to this CPU at
 * APIC_VEC_IRQ_BASE + <pin>.  -1 if the IOAPIC has no such pin.
 */
int	 apic_ioapic_route(unsigned pin);

/*
 * The LAPIC timer, divide by 1, one-shot: fires APIC_VEC_TIMER after
 * <count> ticks; 0 stops it.
 */
void	 apic_timer_oneshot(uint32_t count);

/* Ticks left of the current one-shot count. */
uint32_t apic_timer_current(void);

#endif /* GUEST_APIC_H */
