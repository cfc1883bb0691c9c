/*
 * vmm/vm.c: the life of one microVM.  vm_new() works in two halves:
 * first everything that only needs guest RAM (kernel and initrd files,
 * zero page, command line, page tables, GDT, MP table), so that a wrong
 * file is a usage error even on a machine without KVM; then KVM, the
 * devices and the vCPUs.  vm_run() turns the main thread into the device
 * thread (struct loop, with a signalfd for SIGTERM/SIGINT) while one
 * thread per vCPU runs the guest.  Whoever ends the VM (a vCPU exit, a
 * device, a signal) calls vm_stop(), which records the first reason and
 * stops the loop; vm_run() then kicks and joins the vCPUs, tears down
 * the devices and logs the reason.  struct vm owns every object below;
 * only vm_stop() is called from other threads, under vm_mtx.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/gmem.h"
#include "vmm/hv.h"
#include "vmm/i8042.h"
#include "vmm/loader.h"
#include "vmm/loop.h"
#include "vmm/mmio.h"
#include "vmm/mptable.h"
#include "vmm/opts.h"
#include "vmm/uart.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vmm_ctl.h"
#include "vmm/vsock.h"

#define VM_WHY_MAX	200
#define VM_DUMP_STREAMS	2048	/* lines per SIGUSR2 */

struct vm {
	const struct vmm_opts	*vm_opts;
	struct gmem		*vm_gm;
	struct loader_kernel	 vm_kernel;
	struct hv		*vm_hv;
	struct bus		*vm_bus;
	struct loop		*vm_loop;
	struct uart		*vm_uart;
	struct i8042		*vm_i8042;
	struct vsock		*vm_vsock;
	struct mmio_dev		*vm_mmio;
	struct vcpu		*vm_vcpus[VMM_CTL_VCPUS_MAX];
	unsigned		 vm_nvcpus;
	int			 vm_serial_fd;	/* -1: none; 1: stdout */
	int			 vm_sigfd;

	pthread_mutex_t		 vm_mtx;	/* guards the three below */
	int			 vm_stopping;
	int			 vm_status;
	char			 vm_why[VM_WHY_MAX];
};

static int	vm_load_kernel(struct vm *);
static int	vm_load_initrd(struct vm *, uint64_t *, uint64_t *);
static int	vm_build_ram(struct vm *);
static int	vm_open_serial(struct vm *);
static int	vm_setup_kvm(struct vm *);
static int	vm_setup_devices(struct vm *);
static int	vm_setup_vcpus(struct vm *);
static void	vm_uart_irq(void *);
static void	vm_device_off(void *, int, const char *);
static void	vm_vcpu_exit(void *, int, const char *);
static void	vm_signal_cb(int, uint32_t, void *);

struct vm *
vm_new(const struct vmm_opts *o, int *status)
{
	struct vm	*vm;

	*status = VMM_CTL_EXIT_ERROR;
	if ((vm = calloc(1, sizeof(*vm))) == NULL) {
		log_warn("vm");
		return NULL;
	}
	vm->vm_opts = o;
	vm->vm_serial_fd = -1;
	vm->vm_sigfd = -1;
	pthread_mutex_init(&vm->vm_mtx, NULL);
	if ((vm->vm_gm = gmem_new(o->vo_memory, VM_MMIO_HOLE)) == NULL) {
		log_warn("guest memory (%llu bytes)",
		    (unsigned long long)o->vo_memory);
		goto fail;
	}
	/* Files first: a wrong argument is exit 2 even without KVM. */
	*status = VMM_CTL_EXIT_USAGE;
	if (vm_build_ram(vm) == -1 || vm_open_serial(vm) == -1)
		goto fail;
	*status = VMM_CTL_EXIT_ERROR;
	if (vm_setup_kvm(vm) == -1 || vm_setup_devices(vm) == -1 ||
	    vm_setup_vcpus(vm) == -1)
		goto fail;
	return vm;
fail:
	vm_free(vm);
	return NULL;
}

void
vm_free(struct vm *vm)
{
	unsigned	 i;

	if (vm == NULL)
		return;
	for (i = 0; i < vm->vm_nvcpus; i++) {
		vcpu_free(vm->vm_vcpus[i]);
		vm->vm_vcpus[i] = NULL;
	}
	mmio_free(vm->vm_mmio);
	vsock_free(vm->vm_vsock);
	i8042_free(vm->vm_i8042);
	uart_free(vm->vm_uart);
	if (vm->vm_sigfd != -1)
		close(vm->vm_sigfd);
	loop_free(vm->vm_loop);
	bus_free(vm->vm_bus);
	hv_free(vm->vm_hv);
	gmem_free(vm->vm_gm);
	if (vm->vm_serial_fd > STDERR_FILENO)
		close(vm->vm_serial_fd);
	pthread_mutex_destroy(&vm->vm_mtx);
	free(vm);
}

void
vm_stop(struct vm *vm, int status, const char *why)
{
	pthread_mutex_lock(&vm->vm_mtx);
	if (!vm->vm_stopping) {
		vm->vm_stopping = 1;
		vm->vm_status = status;
		snprintf(vm->vm_why, sizeof(vm->vm_why), "%s", why);
	}
	pthread_mutex_unlock(&vm->vm_mtx);
	loop_stop(vm->vm_loop);
}

int
vm_run(struct vm *vm)
{
	sigset_t	 set;
	unsigned	 i;
	int		 status;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR2);
	/* Blocked in every thread; the vCPU threads inherit the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (vm->vm_sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) ==
	    -1 || loop_add(vm->vm_loop, vm->vm_sigfd, EPOLLIN, vm_signal_cb,
	    vm) == -1 || vcpu_signal_init() == -1) {
		log_warn("signals");
		return VMM_CTL_EXIT_ERROR;
	}
	for (i = 0; i < vm->vm_nvcpus; i++) {
		if (vcpu_start(vm->vm_vcpus[i]) == -1) {
			log_warn("vcpu %u: thread", i);
			vm_stop(vm, VMM_CTL_EXIT_ERROR, "vcpu thread failed");
			break;
		}
	}
	if (i == vm->vm_nvcpus)
		log_info("running: %u vcpu%s, %llu MiB", vm->vm_nvcpus,
		    vm->vm_nvcpus > 1 ? "s" : "",
		    (unsigned long long)(vm->vm_opts->vo_memory >> 20));
	if (loop_run(vm->vm_loop) == -1) {
		log_warn("device loop");
		vm_stop(vm, VMM_CTL_EXIT_ERROR, "device loop failed");
	}
	/* Teardown order: vCPUs first, so no exit reaches a freed device. */
	for (i = 0; i < vm->vm_nvcpus; i++)
		vcpu_kick(vm->vm_vcpus[i]);
	for (i = 0; i < vm->vm_nvcpus; i++) {
		vcpu_free(vm->vm_vcpus[i]);
		vm->vm_vcpus[i] = NULL;
	}
	vm->vm_nvcpus = 0;
	mmio_free(vm->vm_mmio);
	vm->vm_mmio = NULL;
	vsock_free(vm->vm_vsock);
	vm->vm_vsock = NULL;
	uart_flush(vm->vm_uart);
	pthread_mutex_lock(&vm->vm_mtx);
	status = vm->vm_status;
	if (status == VMM_CTL_EXIT_POWEROFF)
		log_info("%s, exit %d", vm->vm_why, status);
	else
		log_warnx("%s, exit %d", vm->vm_why, status);
	pthread_mutex_unlock(&vm->vm_mtx);
	return status;
}

/* Kernel, initrd, command line and boot structures, into guest RAM. */
static int
vm_build_ram(struct vm *vm)
{
	const struct vmm_opts	*o = vm->vm_opts;
	char			*cmdline;
	char			 dev[64];
	uint64_t		 initrd_gpa = 0, initrd_size = 0;
	size_t			 max;
	int			 rc = -1;

	if (vm_load_kernel(vm) == -1 ||
	    vm_load_initrd(vm, &initrd_gpa, &initrd_size) == -1)
		return -1;
	/* How Linux (virtio_mmio's cmdline_devices) and corral-guest look. */
	dev[0] = '\0';
	if (o->vo_cid != 0)
		snprintf(dev, sizeof(dev), "virtio_mmio.device=4K@0x%llx:%d",
		    (unsigned long long)VM_VSOCK_MMIO_BASE, VM_VSOCK_GSI);
	max = vm->vm_kernel.lk_cmdline_max;
	if (max > BOOT_CMDLINE_LIMIT - 1)
		max = BOOT_CMDLINE_LIMIT - 1;
	if ((cmdline = malloc(max + 1)) == NULL) {
		log_warn("command line");
		return -1;
	}
	if (boot_cmdline(dev, o->vo_cmdline, max, cmdline, max + 1) == -1) {
		log_warnx("%s: the command line is longer than the %zu bytes "
		    "the kernel accepts", VMM_CTL_FLAG_CMDLINE, max);
		goto out;
	}
	log_debug("command line: %s", cmdline);
	if (boot_zero_page(vm->vm_gm, &vm->vm_kernel, cmdline, initrd_gpa,
	    initrd_size) == -1 || boot_page_tables(vm->vm_gm) == -1 ||
	    boot_gdt(vm->vm_gm) == -1 ||
	    mptable_write(vm->vm_gm, BOOT_EBDA, vm->vm_opts->vo_vcpus) == -1) {
		log_warn("boot structures");
		goto out;
	}
	rc = 0;
out:
	free(cmdline);
	return rc;
}

static int
vm_load_kernel(struct vm *vm)
{
	const char	*path = vm->vm_opts->vo_kernel;
	char		 err[200];
	void		*buf;
	size_t		 len;
	int		 rc = -1;

	if (loader_read_file(path, vm->vm_opts->vo_memory, &buf, &len) ==
	    -1) {
		if (errno == EFBIG)
			log_warnx("kernel %s: larger than guest RAM", path);
		else
			log_warn("kernel %s", path);
		return -1;
	}
	if (loader_parse(buf, len, vm->vm_gm, &vm->vm_kernel, err,
	    sizeof(err)) == -1) {
		log_warnx("kernel %s: %s", path, err);
		goto out;
	}
	if (loader_load(&vm->vm_kernel, buf, vm->vm_gm) == -1) {
		log_warn("kernel %s: load", path);
		goto out;
	}
	log_debug("kernel %s: %s, entry 0x%llx, ends at 0x%llx", path,
	    vm->vm_kernel.lk_kind == LOADER_ELF ? "ELF" : "bzImage",
	    (unsigned long long)vm->vm_kernel.lk_entry,
	    (unsigned long long)vm->vm_kernel.lk_end);
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Reads the initrd straight into guest RAM: it may be large. */
static int
vm_load_initrd(struct vm *vm, uint64_t *gpa, uint64_t *size)
{
	const char	*path = vm->vm_opts->vo_initrd;
	struct stat	 st;
	char		 err[200];
	uint8_t		*p;
	uint64_t	 off;
	ssize_t		 n;
	int		 fd, rc = -1;

	if (path == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("initrd %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("initrd %s: not a regular file", path);
		goto out;
	}
	if (loader_initrd_place(&vm->vm_kernel, vm->vm_gm,
	    (uint64_t)st.st_size, gpa, err, sizeof(err)) == -1) {
		log_warnx("initrd %s: %s", path, err);
		goto out;
	}
	*size = (uint64_t)st.st_size;
	p = gmem_ptr(vm->vm_gm, *gpa, *size);
	ASSERT(p != NULL);
	for (off = 0; off < *size; off += (uint64_t)n) {
		n = read(fd, p + off, *size - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			log_warnx("initrd %s: short read", path);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
vm_open_serial(struct vm *vm)
{
	const struct vmm_opts	*o = vm->vm_opts;

	switch (o->vo_serial) {
	case OPTS_SERIAL_STDOUT:
		vm->vm_serial_fd = STDOUT_FILENO;
		break;
	case OPTS_SERIAL_NONE:
		vm->vm_serial_fd = -1;
		break;
	case OPTS_SERIAL_FILE:
		vm->vm_serial_fd = open(o->vo_serial_path,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (vm->vm_serial_fd == -1) {
			log_warn("%s %s", VMM_CTL_FLAG_SERIAL,
			    o->vo_serial_path);
			return -1;
		}
		break;
	}
	return 0;
}

static int
vm_setup_kvm(struct vm *vm)
{
	const struct gmem_region	*r;
	unsigned			 i;

	if ((vm->vm_hv = hv_open(HV_DEV)) == NULL) {
		if (errno == EPROTO)
			log_warnx("%s: KVM API version is not %d", HV_DEV,
			    HV_API_VERSION);
		else
			log_warn("%s", HV_DEV);
		return -1;
	}
	if (hv_create_vm(vm->vm_hv) == -1) {
		log_warn("KVM: creating the VM");
		return -1;
	}
	for (i = 0; i < gmem_nregions(vm->vm_gm); i++) {
		r = gmem_region(vm->vm_gm, i);
		if (hv_set_memory(vm->vm_hv, i, r->gr_gpa, r->gr_size,
		    r->gr_host) == -1) {
			log_warn("KVM: guest memory slot %u", i);
			return -1;
		}
	}
	return 0;
}

static int
vm_setup_devices(struct vm *vm)
{
	const struct vmm_opts	*o = vm->vm_opts;

	if ((vm->vm_bus = bus_new()) == NULL ||
	    (vm->vm_loop = loop_new()) == NULL ||
	    (vm->vm_uart = uart_new(vm->vm_serial_fd, vm_uart_irq, vm)) ==
	    NULL || (vm->vm_i8042 = i8042_new(vm_device_off, vm)) == NULL) {
		log_warn("devices");
		return -1;
	}
	if (bus_register(vm->vm_bus, BUS_PIO, UART_COM1_BASE, UART_NREGS,
	    &uart_bus_ops, vm->vm_uart) == -1 ||
	    bus_register(vm->vm_bus, BUS_PIO, I8042_DATA_PORT, I8042_NPORTS,
	    &i8042_bus_ops, vm->vm_i8042) == -1 ||
	    bus_register(vm->vm_bus, BUS_PIO, I8042_DEBUG_EXIT_PORT, 1,
	    &i8042_exit_bus_ops, vm->vm_i8042) == -1) {
		log_warn("devices: bus");
		return -1;
	}
	if (o->vo_cid == 0)
		return 0;
	if ((vm->vm_vsock = vsock_new(vm->vm_loop, vm->vm_gm, o->vo_cid,
	    o->vo_uds)) == NULL) {
		log_warn("vsock %s", o->vo_uds);
		return -1;
	}
	if ((vm->vm_mmio = mmio_new(vm->vm_bus, vm->vm_hv, vm->vm_loop,
	    vm->vm_gm, VM_VSOCK_MMIO_BASE, VM_VSOCK_GSI, &vsock_mmio_ops,
	    vm->vm_vsock)) == NULL) {
		log_warn("vsock: virtio-mmio transport");
		return -1;
	}
	return 0;
}

static int
vm_setup_vcpus(struct vm *vm)
{
	struct kvm_cpuid2	*cpuid;
	const char		*what;
	unsigned		 i, n = vm->vm_opts->vo_vcpus;
	int			 rc = -1;

	if ((cpuid = hv_supported_cpuid(vm->vm_hv, VCPU_CPUID_EXTRA)) ==
	    NULL) {
		log_warn("KVM_GET_SUPPORTED_CPUID");
		return -1;
	}
	for (i = 0; i < n; i++) {
		vm->vm_vcpus[i] = vcpu_new(vm->vm_hv, i, n, cpuid, vm->vm_bus,
		    vm_vcpu_exit, vm, &what);
		if (vm->vm_vcpus[i] == NULL) {
			log_warn("vcpu %u: %s", i, what);
			goto out;
		}
		vm->vm_nvcpus++;
	}
	if (vcpu_boot(vm->vm_vcpus[0], vm->vm_kernel.lk_entry) == -1) {
		log_warn("vcpu 0: boot registers");
		goto out;
	}
	rc = 0;
out:
	free(cpuid);
	return rc;
}

static void
vm_uart_irq(void *arg)
{
	struct vm	*vm = arg;

	/* An edge on ISA IRQ 4; the IOAPIC and the PIC both see it. */
	if (hv_irq_line(vm->vm_hv, UART_COM1_IRQ, 1) == -1 ||
	    hv_irq_line(vm->vm_hv, UART_COM1_IRQ, 0) == -1)
		log_debug("serial: KVM_IRQ_LINE: %s", strerror(errno));
}

static void
vm_device_off(void *arg, int status, const char *why)
{
	vm_stop(arg, status, why);
}

static void
vm_vcpu_exit(void *arg, int status, const char *why)
{
	vm_stop(arg, status, why);
}

static void
vm_signal_cb(int fd, uint32_t revents, void *arg)
{
	struct vm		*vm = arg;
	struct signalfd_siginfo	 si;
	char			 why[64];

	(void)revents;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		/* A look inside a VM that seems stuck; it keeps running. */
		if (vm->vm_mmio != NULL)
			mmio_dump(vm->vm_mmio);
		if (vm->vm_vsock != NULL)
			vsock_dump(vm->vm_vsock, VM_DUMP_STREAMS);
		return;
	}
	snprintf(why, sizeof(why), "stopped by signal %s",
	    si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	vm_stop(vm, VMM_CTL_EXIT_POWEROFF, why);
}
