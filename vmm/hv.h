/*
 * vmm/hv.h: thin wrappers over the KVM ioctls (named hv_, since
 * <linux/kvm.h> owns kvm_).  0/-1 with errno from the ioctl; the caller
 * that knows the context logs.
 */
#ifndef VMM_HV_H
#define VMM_HV_H

#include <stddef.h>
#include <stdint.h>

struct hv;	/* opaque: the /dev/kvm and VM descriptors; owned by struct vm */
struct kvm_cpuid2;

/*
 * Device hooks.  Any thread, after the VM exists.
 *
 * hv_ioeventfd: a guest write of <len> bytes equal to <datamatch> at MMIO
 * address <gpa> signals eventfd <fd> instead of exiting to userspace.
 * hv_irqfd: signalling eventfd <fd> raises (edge) GSI <gsi> of the
 * in-kernel irqchip.
 */
int	hv_ioeventfd(struct hv *hv, uint64_t gpa, uint32_t len,
	    uint64_t datamatch, int fd) __attribute__((warn_unused_result));
int	hv_irqfd(struct hv *hv, int fd, uint32_t gsi)
	    __attribute__((warn_unused_result));

#define HV_API_VERSION		12
#define HV_DEV			"/dev/kvm"

/*
 * Opens <path> (HV_DEV) and checks the API version.  NULL with errno:
 * ENOENT/EACCES from open, EPROTO on a version other than 12.
 */
struct hv	*hv_open(const char *path);
void		 hv_free(struct hv *hv);	/* NULL is a no-op */

/*
 * Creates the VM and its x86 platform: TSS and identity-map pages at the
 * top of the 32-bit space, the in-kernel PIC/IOAPIC/LAPIC and the PIT.
 * Once, before anything below.
 */
int	hv_create_vm(struct hv *hv) __attribute__((warn_unused_result));

/* Maps <size> bytes of host memory <host> as guest RAM at <gpa>. */
int	hv_set_memory(struct hv *hv, uint32_t slot, uint64_t gpa,
	    uint64_t size, void *host) __attribute__((warn_unused_result));

/* Drives ISA/IOAPIC line <irq> to <level> (0 or 1). */
int	hv_irq_line(struct hv *hv, uint32_t irq, int level);

/* The size of the kvm_run area to mmap on each vCPU descriptor. */
size_t	hv_run_size(const struct hv *hv);

/* A new vCPU descriptor for APIC id <id>, or -1. */
int	hv_vcpu_fd(struct hv *hv, unsigned id)
	    __attribute__((warn_unused_result));

/*
 * KVM_GET_SUPPORTED_CPUID, with room for <extra> more entries that the
 * caller may append.  free() the result.  NULL on error.
 */
struct kvm_cpuid2	*hv_supported_cpuid(struct hv *hv, unsigned extra);

#endif /* VMM_HV_H */
