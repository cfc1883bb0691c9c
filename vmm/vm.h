/*
 * vmm/vm.h: one microVM, the aggregate that owns everything of
 * corral-vmm: guest RAM, the KVM descriptors, the device bus and event
 * loop, the devices and the vCPUs.  main() builds it, runs it to the end
 * and frees it.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

struct vm;
struct vmm_opts;

/* Where the virtio-mmio vsock device sits (announced on the cmdline). */
#define VM_VSOCK_MMIO_BASE	0xd0000000ULL	/* one MMIO_SLOT_SIZE (4K) */
#define VM_VSOCK_GSI		5
/* Guest RAM above this continues at 4 GiB: the 32-bit MMIO hole. */
#define VM_MMIO_HOLE		0xc0000000ULL

/*
 * Builds the VM described by <o> (borrowed; must outlive the VM): loads
 * the kernel and initrd, writes the boot structures, then opens KVM and
 * creates devices and vCPUs.  Files are checked before KVM is touched,
 * so usage errors come first.  NULL on failure, which has been logged in
 * one line, with *<status> the exit status (VMM_CTL_EXIT_USAGE or
 * VMM_CTL_EXIT_ERROR).
 */
struct vm	*vm_new(const struct vmm_opts *o, int *status);

/*
 * Runs the VM on the calling thread (the device loop; vCPUs get their
 * own threads) until the guest powers off or crashes, or SIGTERM or
 * SIGINT arrives (the caller blocked them before any thread existed).
 * Stops the vCPUs and the devices, logs one line saying why, and returns
 * the exit status.  Once.
 */
int		 vm_run(struct vm *vm);

/* NULL is a no-op. */
void		 vm_free(struct vm *vm);

/*
 * Any thread: ends the VM with exit <status> because of <why> (one line,
 * copied).  The first call wins; later ones are ignored.
 */
void		 vm_stop(struct vm *vm, int status, const char *why);

#endif /* VMM_VM_H */
