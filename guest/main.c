/*
 * guest/main.c: corral-guest's kmain() and main loop, and the platform
 * services of guest/app.h that belong to no device.
 *
 * Boot: console, the boot information (zero page or PVH start info), the
 * command line, the banner, descriptor tables, interrupt controllers,
 * timer, heap (RAM above the image and below 3 GiB, the part mapped
 * cacheable by guest/entry.S), then the self-test or the app and the
 * first virtio-vsock device.  The main loop runs with interrupts off and
 * enables them only inside cpu_idle(), so interrupt handlers never race
 * with it: each turn polls the device, runs the stream layer and the app,
 * arms the timer for the earliest deadline and halts unless work remains.
 * File-scope state is limited to the boot information, read once.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/apic.h"
#include "guest/app.h"
#include "guest/bootinfo.h"
#include "guest/cmdline.h"
#include "guest/cons.h"
#include "guest/cpu.h"
#include "guest/klib.h"
#include "guest/mem.h"
#include "guest/notify.h"
#include "guest/selftest.h"
#include "guest/stream.h"
#include "guest/timer.h"
#include "guest/vmmio.h"
#include "guest/vsock.h"

#define MAIN_PHYS_LIMIT		0x100000000ULL	/* mapped by entry.S */
#define MAIN_HEAP_LIMIT		0xc0000000ULL	/* cacheable part */
#define DEBUG_EXIT_PORT		0x501
#define I8042_CMD		0x64
#define I8042_RESET		0xfe

void	 kmain(unsigned kind, uint64_t info) __attribute__((noreturn));

extern char	 _image_end[];		/* guest/guest.ld */

static struct bootinfo	 main_bi;
static struct cmdline	 main_cl;

static const void *
main_phys(void *arg, uint64_t pa, size_t len)
{
	(void)arg;
	if (pa == 0 || pa > MAIN_PHYS_LIMIT || len > MAIN_PHYS_LIMIT - pa)
		return NULL;
	return (const void *)(uintptr_t)pa;
}

static void
main_warn(void *arg, const char *word, size_t len, const char *why)
{
	(void)arg;
	cons_printf("corral-guest: command line: ignoring \"%.*s\": %s\n",
	    (int)(len > 100 ? 100 : len), word, why);
}

static void
main_heap(void)
{
	struct mem_stats	 st;
	uint64_t		 lo, hi, start = (uintptr_t)_image_end;
	size_t			 i;

	for (i = 0; i < main_bi.bi_nram; i++) {
		lo = main_bi.bi_ram[i].br_addr;
		hi = lo + main_bi.bi_ram[i].br_size;
		if (lo < start)
			lo = start;
		if (hi > MAIN_HEAP_LIMIT)
			hi = MAIN_HEAP_LIMIT;
		if (lo < hi)
			mem_add((void *)(uintptr_t)lo, hi - lo);
	}
	mem_stats_get(&st);
	if (st.ms_total == 0)
		cons_panic("no RAM above the kernel in the memory map");
}

/* The first virtio-vsock device on the command line, or NULL. */
static struct vsock *
main_vsock(const struct stream_conn_ops *ops)
{
	struct vmmio	 probe;
	size_t		 i;

	for (i = 0; i < main_cl.cl_ndev; i++) {
		const struct cmdline_dev *d = &main_cl.cl_dev[i];

		if (vmmio_probe(&probe, d->cd_addr, d->cd_size, d->cd_irq) ==
		    -1 || probe.vm_device_id != VMMIO_DEV_VSOCK) {
			cons_printf("corral-guest: virtio-mmio at 0x%lx: %s "
			    "(device id %u)\n", d->cd_addr,
			    probe.vm_device_id == 0 ? "no virtio 1.x device" :
			    "not vsock", probe.vm_device_id);
			continue;
		}
		return vsock_new(d->cd_addr, d->cd_size, d->cd_irq,
		    main_cl.cl_port, ops, NULL);
	}
	return NULL;
}

static void *
main_accept(void *arg, struct conn *c)
{
	(void)arg;
	return app_accept(c);
}

static const struct stream_conn_ops main_app_ops = {
	.co_accept = main_accept,
	.co_connected = NULL,
	.co_recv = app_recv,
	.co_writable = app_writable,
	.co_free = app_free,
};

static uint64_t
main_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void __attribute__((noreturn))
main_loop(struct vsock *v)
{
	struct stream	*s = v != NULL ? vsock_stream(v) : NULL;
	uint64_t	 now, deadline;

	for (;;) {
		now = clock_ms();
		if (v != NULL) {
			vsock_poll(v, now);
			stream_deliver(s);
		}
		deadline = app_poll(now);
		deadline = main_min(deadline, notify_poll(now));
		if (v != NULL) {
			stream_flush(s, clock_ms());
			vsock_kick(v);
			deadline = main_min(deadline, stream_deadline(s));
			if (stream_busy(s) || vsock_pending(v))
				continue;
		}
		if (deadline <= clock_ms())
			continue;
		timer_arm(deadline);
		/*
		 * Interrupts are off: one that arrived since the checks above
		 * is pending and ends the halt at once.
		 */
		cpu_idle();
	}
}

void
kmain(unsigned kind, uint64_t info)
{
	struct app_config	 ac;
	struct vsock		*v;
	int			 r;

	cons_init();
	if (kind == CPU_BOOT_PVH)
		r = bootinfo_from_pvh(&main_bi, info, main_phys, NULL);
	else
		r = bootinfo_from_linux(&main_bi, info, main_phys, NULL);
	cmdline_parse(main_bi.bi_cmdline, &main_cl, NULL, NULL);
	/* The boot benchmark times this line: nothing slow before it. */
	cons_printf("corral-guest: booting (id %s)\n",
	    main_cl.cl_id[0] != '\0' ? main_cl.cl_id : "-");
	if (r == -1)
		cons_panic("unreadable %s boot information at 0x%lx",
		    kind == CPU_BOOT_PVH ? "PVH" : "Linux", info);
	cmdline_parse(main_bi.bi_cmdline, &main_cl, main_warn, NULL);
	if (main_bi.bi_ignored > 0)
		cons_printf("corral-guest: ignored %u bad memory map entries\n",
		    main_bi.bi_ignored);

	cpu_init();
	apic_init();
	timer_init();
	main_heap();

	if (main_cl.cl_selftest != CMDLINE_SELFTEST_NONE) {
		cons_printf("corral-guest: selftest: tsc %u kHz, lapic timer "
		    "%u kHz (%s)\n", timer_tsc_khz(), timer_lapic_khz(),
		    timer_source());
		selftest_run(main_cl.cl_selftest);
	}

	memset(&ac, 0, sizeof(ac));
	memcpy(ac.ac_id, main_cl.cl_id, sizeof(ac.ac_id));
	ac.ac_port = main_cl.cl_port;
	ac.ac_faults = main_cl.cl_faults;
	app_init(&ac);

	if ((v = main_vsock(&main_app_ops)) == NULL)
		cons_printf("corral-guest: no usable virtio-vsock device\n");
	else {
		cons_printf("corral-guest: listening on vsock port %u "
		    "(cid %lu)\n", main_cl.cl_port, vsock_cid(v));
		if (main_cl.cl_notify)
			notify_start(vsock_stream(v), main_cl.cl_notify_port,
			    main_cl.cl_id, clock_ms());
	}
	main_loop(v);
}

/* ---- guest/app.h platform services ---- */

void
platform_poweroff(uint8_t status)
{
	cpu_cli();
	/* corral-vmm, or QEMU's isa-debug-exit (which exits 2 * V + 1). */
	cpu_outb(DEBUG_EXIT_PORT, status);
	/* No such port: reset through the keyboard controller... */
	cpu_outb(I8042_CMD, I8042_RESET);
	/* ...or, failing that, a triple fault. */
	cpu_reset();
}

void
platform_crash(void)
{
	cpu_reset();
}

void
platform_hang(void)
{
	cpu_hang();
}
