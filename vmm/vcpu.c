/*
 * vmm/vcpu.c: a vCPU's KVM state and its thread.  Set-up (CPUID, MSRs,
 * FPU, LAPIC, registers) happens on the main thread; then one thread per
 * vCPU loops on KVM_RUN and dispatches port and MMIO exits to the bus.
 * The kvm_run area is shared with the kernel and, for immediate_exit,
 * with the thread that stops us.  Stopping: set vc_stop and
 * immediate_exit, then signal the thread, so a KVM_RUN in progress
 * returns EINTR and one about to start returns at once.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/kvm.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mtime.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/hv.h"
#include "vmm/vcpu.h"
#include "vmm/vmm_ctl.h"

#define VCPU_CPUID_HV_BASE	0x40000000U
#define VCPU_CPUID_HYPERVISOR	(1U << 31)	/* leaf 1 ECX */
#define VCPU_CPUID_HTT		(1U << 28)	/* leaf 1 EDX */
#define VCPU_LOG_PER_S		10	/* unhandled-access lines per second */
#define VCPU_WHY_MAX		160

/* Boot MSRs, after Firecracker's create_boot_msr_entries(). */
#define VCPU_MSR_IA32_TSC		0x010
#define VCPU_MSR_SYSENTER_CS		0x174
#define VCPU_MSR_SYSENTER_ESP		0x175
#define VCPU_MSR_SYSENTER_EIP		0x176
#define VCPU_MSR_MISC_ENABLE		0x1a0
#define VCPU_MSR_MTRR_DEF_TYPE		0x2ff
#define VCPU_MSR_STAR			0xc0000081
#define VCPU_MSR_LSTAR			0xc0000082
#define VCPU_MSR_CSTAR			0xc0000083
#define VCPU_MSR_SYSCALL_MASK		0xc0000084
#define VCPU_MSR_KERNEL_GS_BASE		0xc0000102
#define VCPU_MISC_ENABLE_FAST_STRING	0x1ULL
#define VCPU_MTRR_ENABLE_WB		((1ULL << 11) | 6)

/* LAPIC registers in struct kvm_lapic_state, and delivery modes. */
#define VCPU_APIC_LVT0		0x350
#define VCPU_APIC_LVT1		0x360
#define VCPU_APIC_DM_NMI	4
#define VCPU_APIC_DM_EXTINT	7

struct vcpu {
	unsigned		 vc_id;
	int			 vc_fd;
	struct kvm_run		*vc_run;
	size_t			 vc_run_size;
	const struct bus	*vc_bus;
	vcpu_exit_fn		*vc_exit;
	void			*vc_arg;
	pthread_t		 vc_thread;
	int			 vc_started;
	int			 vc_stop;	/* atomic */
	uint64_t		 vc_rl_ms;	/* rate limit window start */
	unsigned		 vc_rl_n;
};

static const struct {
	uint32_t	 index;
	uint64_t	 data;
} vcpu_boot_msrs[] = {
	/* No fast system calls until the kernel sets them up. */
	{ VCPU_MSR_SYSENTER_CS,		0 },
	{ VCPU_MSR_SYSENTER_ESP,	0 },
	{ VCPU_MSR_SYSENTER_EIP,	0 },
	{ VCPU_MSR_STAR,		0 },
	{ VCPU_MSR_LSTAR,		0 },
	{ VCPU_MSR_CSTAR,		0 },
	{ VCPU_MSR_SYSCALL_MASK,	0 },
	{ VCPU_MSR_KERNEL_GS_BASE,	0 },
	/* Every vCPU starts at TSC 0: KVM then keeps them in sync. */
	{ VCPU_MSR_IA32_TSC,		0 },
	/* rep movs/stos fast strings, as firmware enables them. */
	{ VCPU_MSR_MISC_ENABLE,		VCPU_MISC_ENABLE_FAST_STRING },
	/*
	 * MTRRs on, default write-back: without this Linux treats all of RAM
	 * as uncached and runs very slowly.
	 */
	{ VCPU_MSR_MTRR_DEF_TYPE,	VCPU_MTRR_ENABLE_WB },
};

#define VCPU_NBOOT_MSRS	(sizeof(vcpu_boot_msrs) / sizeof(vcpu_boot_msrs[0]))

static void	 vcpu_sig_handler(int);
static int	 vcpu_setup_cpuid(struct vcpu *, unsigned,
		    const struct kvm_cpuid2 *);
static int	 vcpu_setup_msrs(struct vcpu *);
static int	 vcpu_setup_fpu(struct vcpu *);
static int	 vcpu_setup_lapic(struct vcpu *);
static void	*vcpu_main(void *);
static int	 vcpu_handle_exit(struct vcpu *);
static void	 vcpu_pio(struct vcpu *);
static void	 vcpu_mmio(struct vcpu *);
static void	 vcpu_unhandled(struct vcpu *, const char *, int, uint64_t,
		    uint32_t);
static void	 vcpu_report(struct vcpu *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static struct kvm_cpuid_entry2 *vcpu_cpuid_find(struct kvm_cpuid2 *,
		    uint32_t, uint32_t);

int
vcpu_signal_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_sig_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: KVM_RUN must see EINTR */
	return sigaction(VCPU_SIG, &sa, NULL);
}

static void
vcpu_sig_handler(int sig)
{
	(void)sig;
}

struct vcpu *
vcpu_new(struct hv *hv, unsigned id, unsigned ncpus,
    const struct kvm_cpuid2 *supported, const struct bus *b,
    vcpu_exit_fn *fn, void *arg, const char **what)
{
	struct vcpu	*vc;
	void		*p;

	if ((vc = calloc(1, sizeof(*vc))) == NULL) {
		*what = "calloc";
		return NULL;
	}
	vc->vc_id = id;
	vc->vc_bus = b;
	vc->vc_exit = fn;
	vc->vc_arg = arg;
	vc->vc_run_size = hv_run_size(hv);
	if ((vc->vc_fd = hv_vcpu_fd(hv, id)) == -1) {
		*what = "KVM_CREATE_VCPU";
		free(vc);
		return NULL;
	}
	p = mmap(NULL, vc->vc_run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    vc->vc_fd, 0);
	if (p == MAP_FAILED) {
		*what = "mmap kvm_run";
		goto fail;
	}
	vc->vc_run = p;
	if (vcpu_setup_cpuid(vc, ncpus, supported) == -1) {
		*what = "KVM_SET_CPUID2";
		goto fail;
	}
	if (vcpu_setup_msrs(vc) == -1) {
		*what = "KVM_SET_MSRS";
		goto fail;
	}
	if (vcpu_setup_fpu(vc) == -1) {
		*what = "KVM_SET_FPU";
		goto fail;
	}
	if (vcpu_setup_lapic(vc) == -1) {
		*what = "KVM_SET_LAPIC";
		goto fail;
	}
	return vc;
fail:
	vcpu_free(vc);
	return NULL;
}

void
vcpu_free(struct vcpu *vc)
{
	int	 saved = errno;

	if (vc == NULL)
		return;
	if (vc->vc_started) {
		vcpu_kick(vc);
		pthread_join(vc->vc_thread, NULL);
	}
	if (vc->vc_run != NULL)
		munmap(vc->vc_run, vc->vc_run_size);
	close(vc->vc_fd);
	free(vc);
	errno = saved;
}

int
vcpu_boot(struct vcpu *vc, uint64_t entry)
{
	struct kvm_regs		 regs;
	struct kvm_sregs	 sregs;

	if (ioctl(vc->vc_fd, KVM_GET_SREGS, &sregs) == -1)
		return -1;
	boot_regs(entry, &regs, &sregs);
	if (ioctl(vc->vc_fd, KVM_SET_SREGS, &sregs) == -1)
		return -1;
	return ioctl(vc->vc_fd, KVM_SET_REGS, &regs) == -1 ? -1 : 0;
}

int
vcpu_start(struct vcpu *vc)
{
	int	 rc;

	if ((rc = pthread_create(&vc->vc_thread, NULL, vcpu_main, vc)) != 0) {
		errno = rc;
		return -1;
	}
	vc->vc_started = 1;
	return 0;
}

void
vcpu_kick(struct vcpu *vc)
{
	__atomic_store_n(&vc->vc_stop, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vc->vc_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vc->vc_started)
		pthread_kill(vc->vc_thread, VCPU_SIG);
}

static struct kvm_cpuid_entry2 *
vcpu_cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
	unsigned	 i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

void
vcpu_cpuid_fixup(struct kvm_cpuid2 *c, unsigned id, unsigned ncpus,
    uint32_t tsc_khz)
{
	struct kvm_cpuid_entry2	*e;
	uint32_t		 shift = 0;
	unsigned		 i;

	while ((1U << shift) < ncpus)
		shift++;
	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
			    ((ncpus & 0xff) << 16);
			e->ecx |= VCPU_CPUID_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= VCPU_CPUID_HTT;
			break;
		case 0xb:
		case 0x1f:
			/* One core per vCPU, all in one package. */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1U << 8) | e->index;
			} else if (e->index == 1) {
				e->eax = shift;
				e->ebx = ncpus;
				e->ecx = (2U << 8) | e->index;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		}
	}
	if (tsc_khz == 0)
		return;
	if ((e = vcpu_cpuid_find(c, VCPU_CPUID_HV_BASE, 0)) == NULL) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = VCPU_CPUID_HV_BASE;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
	}
	if (e->eax < VCPU_CPUID_TIMING)
		e->eax = VCPU_CPUID_TIMING;
	if ((e = vcpu_cpuid_find(c, VCPU_CPUID_TIMING, 0)) == NULL) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = VCPU_CPUID_TIMING;
	}
	e->eax = tsc_khz;
	e->ebx = VCPU_LAPIC_KHZ;
	e->ecx = e->edx = 0;
}

static int
vcpu_setup_cpuid(struct vcpu *vc, unsigned ncpus,
    const struct kvm_cpuid2 *supported)
{
	struct kvm_cpuid2	*c;
	size_t			 sz;
	int			 khz, rc;

	sz = sizeof(*c) + (supported->nent + VCPU_CPUID_EXTRA) *
	    sizeof(struct kvm_cpuid_entry2);
	if ((c = calloc(1, sz)) == NULL)
		return -1;
	memcpy(c, supported, sizeof(*c) +
	    supported->nent * sizeof(struct kvm_cpuid_entry2));
	/* KVM_CAP_GET_TSC_KHZ: without it the guest calibrates. */
	if ((khz = ioctl(vc->vc_fd, KVM_GET_TSC_KHZ, 0)) == -1)
		khz = 0;
	vcpu_cpuid_fixup(c, vc->vc_id, ncpus, (uint32_t)khz);
	rc = ioctl(vc->vc_fd, KVM_SET_CPUID2, c) == -1 ? -1 : 0;
	free(c);
	return rc;
}

static int
vcpu_setup_msrs(struct vcpu *vc)
{
	struct {
		struct kvm_msrs		hdr;
		struct kvm_msr_entry	ent;
	} m;
	unsigned	 i;
	int		 n;

	/*
	 * One at a time: KVM stops at the first MSR it refuses, and a refused
	 * one (a nested KVM without MTRRs, say) costs the guest some speed,
	 * not its boot.  An ioctl error is still fatal.
	 */
	for (i = 0; i < VCPU_NBOOT_MSRS; i++) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.ent.index = vcpu_boot_msrs[i].index;
		m.ent.data = vcpu_boot_msrs[i].data;
		if ((n = ioctl(vc->vc_fd, KVM_SET_MSRS, &m)) == -1)
			return -1;
		if (n != 1 && vc->vc_id == 0)
			log_warnx("vcpu %u: KVM refused MSR 0x%x", vc->vc_id,
			    vcpu_boot_msrs[i].index);
	}
	return 0;
}

static int
vcpu_setup_fpu(struct vcpu *vc)
{
	struct kvm_fpu	 fpu;

	/* The x87 and SSE control words FNINIT and reset leave. */
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	return ioctl(vc->vc_fd, KVM_SET_FPU, &fpu) == -1 ? -1 : 0;
}

static int
vcpu_setup_lapic(struct vcpu *vc)
{
	struct kvm_lapic_state	 st;
	uint32_t		 v;

	/*
	 * Virtual-wire mode, as firmware leaves it: the PIC's output on
	 * LINT0 (ExtINT), NMIs on LINT1; the MP table says the same.
	 */
	if (ioctl(vc->vc_fd, KVM_GET_LAPIC, &st) == -1)
		return -1;
	memcpy(&v, &st.regs[VCPU_APIC_LVT0], sizeof(v));
	v = (v & ~0x700U) | (VCPU_APIC_DM_EXTINT << 8);
	memcpy(&st.regs[VCPU_APIC_LVT0], &v, sizeof(v));
	memcpy(&v, &st.regs[VCPU_APIC_LVT1], sizeof(v));
	v = (v & ~0x700U) | (VCPU_APIC_DM_NMI << 8);
	memcpy(&st.regs[VCPU_APIC_LVT1], &v, sizeof(v));
	return ioctl(vc->vc_fd, KVM_SET_LAPIC, &st) == -1 ? -1 : 0;
}

static void *
vcpu_main(void *arg)
{
	struct vcpu	*vc = arg;
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_SIG);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!__atomic_load_n(&vc->vc_stop, __ATOMIC_SEQ_CST)) {
		if (ioctl(vc->vc_fd, KVM_RUN, 0) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vcpu_report(vc, VMM_CTL_EXIT_ERROR, "vcpu %u: KVM_RUN: "
			    "%s", vc->vc_id, strerror(errno));
			break;
		}
		if (vcpu_handle_exit(vc) == -1)
			break;
	}
	return NULL;
}

/* 0 to run on, -1 when this exit ended the VM (already reported). */
static int
vcpu_handle_exit(struct vcpu *vc)
{
	struct kvm_run	*run = vc->vc_run;
	struct kvm_regs	 regs;
	uint64_t	 rip = 0;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_pio(vc);
		return 0;
	case KVM_EXIT_MMIO:
		vcpu_mmio(vc);
		return 0;
	case KVM_EXIT_INTR:
		return 0;
	}
	if (ioctl(vc->vc_fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		/* No rip: AMD reinitializes the VMCB on a shutdown. */
		vcpu_report(vc, VMM_CTL_EXIT_CRASH, "guest crashed: triple "
		    "fault (vcpu %u)", vc->vc_id);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_report(vc, VMM_CTL_EXIT_CRASH, "guest crashed: VM entry "
		    "failed, reason 0x%llx (vcpu %u, rip 0x%llx)",
		    (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason, vc->vc_id,
		    (unsigned long long)rip);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_report(vc, VMM_CTL_EXIT_CRASH, "guest crashed: KVM "
		    "internal error %u (vcpu %u, rip 0x%llx)",
		    run->internal.suberror, vc->vc_id,
		    (unsigned long long)rip);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ||
		    run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vcpu_report(vc, VMM_CTL_EXIT_POWEROFF, "guest powered "
			    "off (system event %u)", run->system_event.type);
		else
			vcpu_report(vc, VMM_CTL_EXIT_CRASH, "guest crashed: "
			    "system event %u (vcpu %u)",
			    run->system_event.type, vc->vc_id);
		break;
	default:
		/* KVM_EXIT_HLT cannot happen with the in-kernel LAPIC. */
		vcpu_report(vc, VMM_CTL_EXIT_CRASH, "guest crashed: "
		    "unexpected exit %u (vcpu %u, rip 0x%llx)",
		    run->exit_reason, vc->vc_id, (unsigned long long)rip);
		break;
	}
	return -1;
}

static void
vcpu_pio(struct vcpu *vc)
{
	struct kvm_run	*run = vc->vc_run;
	uint8_t		*data;
	uint32_t	 i, size = run->io.size;
	int		 wr = run->io.direction == KVM_EXIT_IO_OUT;
	int		 rc;

	/* KVM wrote data_offset and count; they stay inside kvm_run. */
	data = (uint8_t *)run + run->io.data_offset;
	for (i = 0; i < run->io.count; i++, data += size) {
		if (wr)
			rc = bus_write(vc->vc_bus, BUS_PIO, run->io.port, data,
			    size);
		else
			rc = bus_read(vc->vc_bus, BUS_PIO, run->io.port, data,
			    size);
		if (rc == -1)
			vcpu_unhandled(vc, "port", wr, run->io.port, size);
	}
}

static void
vcpu_mmio(struct vcpu *vc)
{
	struct kvm_run	*run = vc->vc_run;
	uint32_t	 len = run->mmio.len;
	int		 rc;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write)
		rc = bus_write(vc->vc_bus, BUS_MMIO, run->mmio.phys_addr,
		    run->mmio.data, len);
	else
		rc = bus_read(vc->vc_bus, BUS_MMIO, run->mmio.phys_addr,
		    run->mmio.data, len);
	if (rc == -1)
		vcpu_unhandled(vc, "mmio", run->mmio.is_write,
		    run->mmio.phys_addr, len);
}

/* The guest probes what is not there; a debug line, rate-limited. */
static void
vcpu_unhandled(struct vcpu *vc, const char *space, int wr, uint64_t addr,
    uint32_t len)
{
	uint64_t	 now;

	if (log_getlevel() < LOG_LEVEL_DEBUG)
		return;
	now = mtime_now_ms();
	if (now - vc->vc_rl_ms >= 1000) {
		vc->vc_rl_ms = now;
		vc->vc_rl_n = 0;
	}
	if (vc->vc_rl_n++ >= VCPU_LOG_PER_S)
		return;
	log_debug("vcpu %u: unhandled %s %s 0x%llx (%u bytes)", vc->vc_id,
	    space, wr ? "write" : "read", (unsigned long long)addr, len);
}

static void
vcpu_report(struct vcpu *vc, int status, const char *fmt, ...)
{
	char	 why[VCPU_WHY_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vc->vc_exit(vc->vc_arg, status, why);
}
