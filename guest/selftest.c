/*
 * guest/selftest.c: the boot self-test (see guest/selftest.h).
 *
 * "1": the LAPIC timer must interrupt a halted CPU and clock_ms() must
 * move by the time asked for; then the allocator must hand out and take
 * back a churn of mixed sizes and end with the free space it started
 * with, merged into as few blocks.  Prints one line per check and powers
 * off with SELFTEST_PASS or SELFTEST_FAIL.  "trap" takes an invalid
 * opcode exception (the panic path, status 3); "crash" calls
 * platform_crash() (triple fault).  No state.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/apic.h"
#include "guest/app.h"
#include "guest/cons.h"
#include "guest/cpu.h"
#include "guest/klib.h"
#include "guest/mem.h"
#include "guest/selftest.h"
#include "guest/timer.h"

#define SELFTEST_WAIT_MS	50
#define SELFTEST_SLOTS		64
#define SELFTEST_ROUNDS		2000

static bool
selftest_timer(void)
{
	uint64_t	 t0, t1, irqs0, irqs, wakeups = 0;

	t0 = clock_ms();
	irqs0 = cpu_irq_count(APIC_VEC_TIMER);
	timer_arm(t0 + SELFTEST_WAIT_MS);
	/* Halting, not spinning: only the timer can end this loop. */
	while ((t1 = clock_ms()) < t0 + SELFTEST_WAIT_MS && wakeups < 1000) {
		cpu_idle();
		wakeups++;
		timer_arm(t0 + SELFTEST_WAIT_MS);
	}
	irqs = cpu_irq_count(APIC_VEC_TIMER) - irqs0;
	cons_printf("corral-guest: selftest: timer: %lu ms asked, %lu ms "
	    "passed, %lu timer interrupts, %lu wake-ups\n",
	    (uint64_t)SELFTEST_WAIT_MS, t1 - t0, irqs, wakeups);
	return t1 - t0 >= SELFTEST_WAIT_MS && irqs >= 1 && wakeups < 1000;
}

/* A byte pattern that differs per block, to catch overlapping blocks. */
static uint8_t
selftest_pattern(size_t slot, size_t i)
{
	return (uint8_t)(slot * 31 + i * 7 + 1);
}

static bool
selftest_mem(void)
{
	struct mem_stats	 before, after;
	uint8_t			*p[SELFTEST_SLOTS];
	size_t			 len[SELFTEST_SLOTS], i, j, bad = 0;
	uint32_t		 rnd = 12345;

	mem_stats_get(&before);
	memset(p, 0, sizeof(p));
	memset(len, 0, sizeof(len));
	for (i = 0; i < SELFTEST_ROUNDS; i++) {
		rnd = rnd * 1103515245 + 12345;
		j = (rnd >> 16) % SELFTEST_SLOTS;
		if (p[j] != NULL) {
			for (size_t k = 0; k < len[j]; k++)
				if (p[j][k] != selftest_pattern(j, k))
					bad++;
			mem_free(p[j]);
			p[j] = NULL;
			continue;
		}
		/* 1 byte to 64 KiB, mostly small, as connections use it. */
		len[j] = 1 + ((rnd >> 8) % ((rnd & 3) == 0 ? 65536 : 512));
		if ((p[j] = mem_alloc(len[j])) == NULL) {
			bad++;
			continue;
		}
		if (((uintptr_t)p[j] & (MEM_ALIGN - 1)) != 0)
			bad++;
		for (size_t k = 0; k < len[j]; k++)
			p[j][k] = selftest_pattern(j, k);
	}
	for (j = 0; j < SELFTEST_SLOTS; j++)
		mem_free(p[j]);
	mem_stats_get(&after);
	cons_printf("corral-guest: selftest: allocator: %zu KiB free before, "
	    "%zu KiB after, %zu blocks before, %zu after, %zu errors\n",
	    before.ms_free / 1024, after.ms_free / 1024,
	    before.ms_free_blocks, after.ms_free_blocks, bad);
	return bad == 0 && after.ms_free == before.ms_free &&
	    after.ms_free_blocks == before.ms_free_blocks &&
	    after.ms_used_blocks == before.ms_used_blocks;
}

void
selftest_run(enum cmdline_selftest mode)
{
	bool	 ok;

	switch (mode) {
	case CMDLINE_SELFTEST_TRAP:
		cons_printf("corral-guest: selftest: taking an exception\n");
		__asm__ volatile("ud2");
		break;
	case CMDLINE_SELFTEST_CRASH:
		cons_printf("corral-guest: selftest: crashing\n");
		platform_crash();
	default:
		break;
	}
	ok = selftest_timer();
	ok = selftest_mem() && ok;
	cons_printf("corral-guest: selftest %s\n", ok ? "passed" : "FAILED");
	platform_poweroff(ok ? SELFTEST_PASS : SELFTEST_FAIL);
}
