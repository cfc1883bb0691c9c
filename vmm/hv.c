/*
 * vmm/hv.c: the KVM system and VM descriptors of one corral-vmm.  Set up
 * on the main thread before any vCPU runs; afterwards the descriptors are
 * only read, and the ioctls used from other threads (KVM_IRQ_LINE,
 * KVM_IOEVENTFD, KVM_IRQFD) are thread-safe in the kernel.
 */
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/hv.h"

/*
 * Intel VMX needs three pages for the real-mode TSS and one for the EPT
 * identity map, somewhere the guest does not use: just below the 4 GiB
 * BIOS area, as Firecracker and QEMU place them.  AMD ignores both.
 */
#define HV_TSS_ADDR		0xfffbd000ULL
#define HV_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define HV_CPUID_MAX		256

struct hv {
	int	 hv_kvmfd;
	int	 hv_vmfd;
	size_t	 hv_run_size;
};

struct hv *
hv_open(const char *path)
{
	struct hv	*hv;
	int		 v;

	if ((hv = calloc(1, sizeof(*hv))) == NULL)
		return NULL;
	hv->hv_vmfd = -1;
	if ((hv->hv_kvmfd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		goto fail;
	if ((v = ioctl(hv->hv_kvmfd, KVM_GET_API_VERSION, 0)) == -1)
		goto fail;
	if (v != HV_API_VERSION) {
		errno = EPROTO;
		goto fail;
	}
	if ((v = ioctl(hv->hv_kvmfd, KVM_GET_VCPU_MMAP_SIZE, 0)) == -1)
		goto fail;
	hv->hv_run_size = (size_t)v;
	return hv;
fail:
	hv_free(hv);
	return NULL;
}

void
hv_free(struct hv *hv)
{
	int	 saved = errno;

	if (hv == NULL)
		return;
	if (hv->hv_vmfd != -1)
		close(hv->hv_vmfd);
	if (hv->hv_kvmfd != -1)
		close(hv->hv_kvmfd);
	free(hv);
	errno = saved;
}

int
hv_create_vm(struct hv *hv)
{
	struct kvm_pit_config	 pit;
	uint64_t		 idmap = HV_IDENTITY_MAP_ADDR;

	ASSERT(hv->hv_vmfd == -1);
	if ((hv->hv_vmfd = ioctl(hv->hv_kvmfd, KVM_CREATE_VM, 0)) == -1)
		return -1;
	if (ioctl(hv->hv_vmfd, KVM_SET_TSS_ADDR, HV_TSS_ADDR) == -1)
		return -1;
	if (ioctl(hv->hv_vmfd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) == -1)
		return -1;
	if (ioctl(hv->hv_vmfd, KVM_CREATE_IRQCHIP, 0) == -1)
		return -1;
	/* The dummy speaker keeps port 0x61 in the kernel, as Firecracker. */
	memset(&pit, 0, sizeof(pit));
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(hv->hv_vmfd, KVM_CREATE_PIT2, &pit) == -1)
		return -1;
	return 0;
}

int
hv_set_memory(struct hv *hv, uint32_t slot, uint64_t gpa, uint64_t size,
    void *host)
{
	struct kvm_userspace_memory_region	 r;

	memset(&r, 0, sizeof(r));
	r.slot = slot;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = (uint64_t)(uintptr_t)host;
	return ioctl(hv->hv_vmfd, KVM_SET_USER_MEMORY_REGION, &r) == -1 ?
	    -1 : 0;
}

int
hv_irq_line(struct hv *hv, uint32_t irq, int level)
{
	struct kvm_irq_level	 l;

	memset(&l, 0, sizeof(l));
	l.irq = irq;
	l.level = level ? 1 : 0;
	return ioctl(hv->hv_vmfd, KVM_IRQ_LINE, &l) == -1 ? -1 : 0;
}

size_t
hv_run_size(const struct hv *hv)
{
	return hv->hv_run_size;
}

int
hv_vcpu_fd(struct hv *hv, unsigned id)
{
	return ioctl(hv->hv_vmfd, KVM_CREATE_VCPU, (unsigned long)id);
}

struct kvm_cpuid2 *
hv_supported_cpuid(struct hv *hv, unsigned extra)
{
	struct kvm_cpuid2	*c;
	unsigned		 n = HV_CPUID_MAX;

	for (;;) {
		c = calloc(1, sizeof(*c) +
		    (n + extra) * sizeof(struct kvm_cpuid_entry2));
		if (c == NULL)
			return NULL;
		c->nent = n;
		if (ioctl(hv->hv_kvmfd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || n >= 4 * HV_CPUID_MAX)
			return NULL;
		n *= 2;
	}
}

int
hv_ioeventfd(struct hv *hv, uint64_t gpa, uint32_t len, uint64_t datamatch,
    int fd)
{
	struct kvm_ioeventfd	 io;

	memset(&io, 0, sizeof(io));
	io.addr = gpa;
	io.len = len;
	io.datamatch = datamatch;
	io.fd = fd;
	io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
	return ioctl(hv->hv_vmfd, KVM_IOEVENTFD, &io) == -1 ? -1 : 0;
}

int
hv_irqfd(struct hv *hv, int fd, uint32_t gsi)
{
	struct kvm_irqfd	 irq;

	memset(&irq, 0, sizeof(irq));
	irq.fd = (uint32_t)fd;
	irq.gsi = gsi;
	return ioctl(hv->hv_vmfd, KVM_IRQFD, &irq) == -1 ? -1 : 0;
}
