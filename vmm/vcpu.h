/*
 * vmm/vcpu.h: one virtual CPU and the thread that runs it.  vCPU 0 is
 * the BSP and starts at the kernel's entry; the others stay in the
 * in-kernel LAPIC's wait-for-SIPI state until the guest starts them.
 * Port and MMIO exits go to the bus; whatever ends the VM (triple fault,
 * failed entry, KVM error) is reported through a callback, once.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <signal.h>
#include <stdint.h>

struct bus;
struct hv;
struct kvm_cpuid2;
struct vcpu;	/* opaque; owned by struct vm */

/*
 * The vCPU thread saw the end of the VM: <status> is a VMM_CTL_EXIT_*
 * value, <why> one line without newline (the caller copies it).  Called on
 * the vCPU thread, at most once per vCPU; the thread then ends.
 */
typedef void	vcpu_exit_fn(void *arg, int status, const char *why);

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define VCPU_SIG	SIGUSR1
/* Extra CPUID entries vcpu_cpuid_fixup() may append. */
#define VCPU_CPUID_EXTRA	2
/* Hypervisor leaf with the TSC and LAPIC timer frequencies in kHz. */
#define VCPU_CPUID_TIMING	0x40000010U
/* KVM's LAPIC timer runs at 1 GHz (APIC bus cycle 1 ns). */
#define VCPU_LAPIC_KHZ		1000000U

/*
 * Installs the no-op VCPU_SIG handler (without SA_RESTART, so KVM_RUN
 * returns EINTR).  Once, before vcpu_start().
 */
int	vcpu_signal_init(void) __attribute__((warn_unused_result));

/*
 * Creates vCPU <id> of <ncpus> with CPUID from <supported>
 * (hv_supported_cpuid(); borrowed), boot MSRs, FPU and LAPIC LINT0/1,
 * dispatching exits to <b> (borrowed, must outlive the vCPU).  NULL with
 * errno, and *<what> naming the step that failed.
 */
struct vcpu	*vcpu_new(struct hv *hv, unsigned id, unsigned ncpus,
		    const struct kvm_cpuid2 *supported, const struct bus *b,
		    vcpu_exit_fn *fn, void *arg, const char **what);
/* Joins the thread if it was started; NULL is a no-op. */
void		 vcpu_free(struct vcpu *vc);

/* Long-mode registers for the 64-bit entry <entry> (vmm/boot.h). */
int		 vcpu_boot(struct vcpu *vc, uint64_t entry)
		    __attribute__((warn_unused_result));

/* Starts the vCPU thread. */
int		 vcpu_start(struct vcpu *vc) __attribute__((warn_unused_result));

/*
 * Any thread: makes the vCPU thread leave KVM_RUN and end (immediate_exit
 * plus VCPU_SIG).  Does not wait; vcpu_free() joins.
 */
void		 vcpu_kick(struct vcpu *vc);

/*
 * Adapts KVM's supported CPUID <c> (room for c->nent + VCPU_CPUID_EXTRA
 * entries) for vCPU <id> of <ncpus>: APIC ids in leaves 1, 0xb and 0x1f
 * with a flat topology, the hypervisor bit, and leaf VCPU_CPUID_TIMING
 * with <tsc_khz> (skipped when 0) under a hypervisor max leaf raised to
 * reach it.
 */
void		 vcpu_cpuid_fixup(struct kvm_cpuid2 *c, unsigned id,
		    unsigned ncpus, uint32_t tsc_khz);

#endif /* VMM_VCPU_H */
