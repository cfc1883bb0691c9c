/*
 * kvmcheck: minimal smoke test of a real /dev/kvm.
 *
 * Creates a VM with 2 MiB of memory, loads a few real-mode instructions
 *
 *	mov al, 'A'; mov dx, 0x3f8; out dx, al; hlt
 *
 * runs one vCPU and checks that it sees KVM_EXIT_IO carrying 'A' on port
 * 0x3f8, then KVM_EXIT_HLT.  With -n N it then measures the cost of N
 * round trips (KVM_RUN -> guest "out" -> exit to user space).  With -p it
 * only probes: /dev/kvm opens, KVM_GET_API_VERSION is 12, KVM_CREATE_VM works.
 *
 * Exit status: 0 if everything behaved, 1 otherwise.
 */

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/kvm.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

#define MEM_SIZE	(2UL * 1024 * 1024)
#define CODE_ADDR	0x1000
#define LOOP_ADDR	0x1100
#define SERIAL_PORT	0x3f8

/* mov al, 'A'; mov dx, 0x3f8; out dx, al; hlt */
static const uint8_t code[] = {
	0xb0, 'A',
	0xba, SERIAL_PORT & 0xff, SERIAL_PORT >> 8,
	0xee,
	0xf4,
};

/* 1: out dx, al; jmp 1b */
static const uint8_t loopcode[] = {
	0xee,
	0xeb, 0xfd,
};

static double	now(void);
static void	set_realmode(int, uint64_t);
static const char *exitname(uint32_t);
static __dead void usage(void);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
set_realmode(int vcpufd, uint64_t rip)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpufd, KVM_GET_SREGS, &sregs) == -1)
		err(1, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpufd, KVM_SET_SREGS, &sregs) == -1)
		err(1, "KVM_SET_SREGS");

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rax = 'A';
	regs.rdx = SERIAL_PORT;
	regs.rflags = 0x2;
	if (ioctl(vcpufd, KVM_SET_REGS, &regs) == -1)
		err(1, "KVM_SET_REGS");
}

static const char *
exitname(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO:
		return "KVM_EXIT_IO";
	case KVM_EXIT_HLT:
		return "KVM_EXIT_HLT";
	case KVM_EXIT_MMIO:
		return "KVM_EXIT_MMIO";
	case KVM_EXIT_SHUTDOWN:
		return "KVM_EXIT_SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY:
		return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR:
		return "KVM_EXIT_INTERNAL_ERROR";
	default:
		return "KVM_EXIT_?";
	}
}

static __dead void
usage(void)
{
	fprintf(stderr, "usage: kvmcheck [-p] [-n iterations]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct kvm_userspace_memory_region region;
	struct kvm_run *run;
	double t0, t1, t2, t3;
	uint8_t *mem;
	long long iters = 0, i;
	int ch, kvmfd, vmfd, vcpufd, api, mmapsz, sawio = 0, sawhlt = 0;
	int probe = 0;

	while ((ch = getopt(argc, argv, "n:p")) != -1) {
		switch (ch) {
		case 'p':
			probe = 1;
			break;
		case 'n':
			iters = strtoll(optarg, NULL, 10);
			if (iters < 0 || iters > 100000000)
				errx(1, "iterations out of range: %s",
				    optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage();

	t0 = now();
	if ((kvmfd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1)
		err(1, "open /dev/kvm");
	if ((api = ioctl(kvmfd, KVM_GET_API_VERSION, 0)) == -1)
		err(1, "KVM_GET_API_VERSION");
	printf("KVM_GET_API_VERSION: %d\n", api);
	if (api != KVM_API_VERSION)
		errx(1, "unexpected API version %d (want %d)", api,
		    KVM_API_VERSION);

	if ((vmfd = ioctl(kvmfd, KVM_CREATE_VM, 0UL)) == -1)
		err(1, "KVM_CREATE_VM");
	printf("KVM_CREATE_VM: ok\n");
	if (probe) {
		close(vmfd);
		close(kvmfd);
		return 0;
	}

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		err(1, "mmap guest memory");
	memcpy(mem + CODE_ADDR, code, sizeof(code));
	memcpy(mem + LOOP_ADDR, loopcode, sizeof(loopcode));

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &region) == -1)
		err(1, "KVM_SET_USER_MEMORY_REGION");

	if ((vcpufd = ioctl(vmfd, KVM_CREATE_VCPU, 0UL)) == -1)
		err(1, "KVM_CREATE_VCPU");
	if ((mmapsz = ioctl(kvmfd, KVM_GET_VCPU_MMAP_SIZE, 0)) == -1)
		err(1, "KVM_GET_VCPU_MMAP_SIZE");
	if ((size_t)mmapsz < sizeof(*run))
		errx(1, "KVM_GET_VCPU_MMAP_SIZE too small: %d", mmapsz);
	run = mmap(NULL, mmapsz, PROT_READ | PROT_WRITE, MAP_SHARED,
	    vcpufd, 0);
	if (run == MAP_FAILED)
		err(1, "mmap vcpu");

	set_realmode(vcpufd, CODE_ADDR);
	t1 = now();

	for (i = 0; i < 8 && !sawhlt; i++) {
		if (ioctl(vcpufd, KVM_RUN, 0) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.size == 1 && run->io.count == 1 &&
			    run->io.port == SERIAL_PORT) {
				char c;

				c = *((char *)run + run->io.data_offset);
				printf("exit: KVM_EXIT_IO port=0x%x "
				    "data='%c'\n", run->io.port, c);
				if (c == 'A' && !sawio)
					sawio = 1;
				else
					errx(1, "unexpected IO data 0x%02x",
					    (unsigned char)c);
			} else
				errx(1, "unexpected IO exit: port=0x%x "
				    "dir=%d size=%d count=%u", run->io.port,
				    run->io.direction, run->io.size,
				    run->io.count);
			break;
		case KVM_EXIT_HLT:
			printf("exit: KVM_EXIT_HLT\n");
			sawhlt = 1;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			errx(1, "KVM_EXIT_FAIL_ENTRY: reason 0x%llx",
			    (unsigned long long)
			    run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			errx(1, "KVM_EXIT_INTERNAL_ERROR: suberror 0x%x",
			    run->internal.suberror);
		default:
			errx(1, "unexpected exit: %s (%u)",
			    exitname(run->exit_reason), run->exit_reason);
		}
	}
	t2 = now();
	if (!sawio || !sawhlt)
		errx(1, "did not see IO 'A' followed by HLT");

	printf("setup: %.3f ms, run to hlt: %.3f ms\n", (t1 - t0) * 1e3,
	    (t2 - t1) * 1e3);

	if (iters > 0) {
		set_realmode(vcpufd, LOOP_ADDR);
		t2 = now();
		for (i = 0; i < iters; i++) {
			if (ioctl(vcpufd, KVM_RUN, 0) == -1) {
				if (errno == EINTR) {
					i--;
					continue;
				}
				err(1, "KVM_RUN");
			}
			if (run->exit_reason != KVM_EXIT_IO)
				errx(1, "loop: unexpected exit %s (%u)",
				    exitname(run->exit_reason),
				    run->exit_reason);
		}
		t3 = now();
		printf("io exits: %lld in %.3f s, %.1f us/exit\n", iters,
		    t3 - t2, (t3 - t2) * 1e6 / iters);
	}

	printf("kvmcheck: OK\n");
	munmap(run, mmapsz);
	munmap(mem, MEM_SIZE);
	close(vcpufd);
	close(vmfd);
	close(kvmfd);
	return 0;
}
