/*
 * tests/unit/test_vcpu.c: the CPUID a vCPU gets, built from a synthetic
 * KVM_GET_SUPPORTED_CPUID answer: APIC ids, flat topology, hypervisor
 * bit and the timing leaf 0x40000010 (needs no KVM).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/kvm.h>

#include <stdlib.h>
#include <string.h>

#include "vmm/vcpu.h"

static struct kvm_cpuid2 *
cpuid_alloc(int with_hv_leaf)
{
	struct kvm_cpuid2	*c;
	struct kvm_cpuid_entry2	*e;

	c = calloc(1, sizeof(*c) + (8 + VCPU_CPUID_EXTRA) * sizeof(*e));
	assert_non_null(c);
	e = c->entries;
	e[c->nent].function = 0;
	e[c->nent++].eax = 0x1f;
	e[c->nent].function = 1;
	e[c->nent].ebx = 0x07080800;		/* host APIC id 7, 8 CPUs */
	e[c->nent++].ecx = 0x1;
	e[c->nent].function = 0xb;
	e[c->nent].index = 0;
	e[c->nent].eax = 1;			/* host SMT: shift 1 */
	e[c->nent++].ebx = 2;
	e[c->nent].function = 0xb;
	e[c->nent].index = 1;
	e[c->nent].eax = 4;
	e[c->nent++].ebx = 16;
	e[c->nent].function = 0xb;
	e[c->nent].index = 2;
	e[c->nent++].ecx = 2;
	if (with_hv_leaf) {
		e[c->nent].function = 0x40000000;
		e[c->nent++].eax = 0x40000001;
		e[c->nent].function = 0x40000001;
		e[c->nent++].eax = 0x1234;
	}
	return c;
}

static const struct kvm_cpuid_entry2 *
find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
	unsigned	 i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static void
test_vcpu_cpuid_sets_apic_id_and_topology(void **state)
{
	struct kvm_cpuid2		*c;
	const struct kvm_cpuid_entry2	*e;

	(void)state;
	c = cpuid_alloc(1);
	vcpu_cpuid_fixup(c, 2, 3, 2000000);
	e = find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 2);		/* initial APIC id */
	assert_int_equal((e->ebx >> 16) & 0xff, 3);	/* logical CPUs */
	assert_int_equal(e->ebx & 0xffff, 0x0800);	/* CLFLUSH kept */
	assert_int_equal(e->ecx, 0x80000001);		/* hypervisor bit */
	assert_int_equal(e->edx & (1U << 28), 1U << 28);	/* HTT */
	e = find(c, 0xb, 0);
	assert_int_equal(e->edx, 2);			/* x2APIC id */
	assert_int_equal(e->eax, 0);
	assert_int_equal(e->ebx, 1);
	assert_int_equal(e->ecx, 0x100);
	e = find(c, 0xb, 1);
	assert_int_equal(e->edx, 2);
	assert_int_equal(e->eax, 2);			/* 3 CPUs: 2 bits */
	assert_int_equal(e->ebx, 3);
	assert_int_equal(e->ecx, 0x201);
	e = find(c, 0xb, 2);
	assert_int_equal(e->ebx, 0);
	assert_int_equal(e->ecx, 2);			/* invalid level */
	free(c);
}

static void
test_vcpu_cpuid_timing_leaf(void **state)
{
	struct kvm_cpuid2		*c;
	const struct kvm_cpuid_entry2	*e;
	unsigned			 n;

	(void)state;
	/* KVM's signature leaf exists: raised, and 0x40000010 appended. */
	c = cpuid_alloc(1);
	n = c->nent;
	vcpu_cpuid_fixup(c, 0, 1, 2093821);
	assert_int_equal(c->nent, n + 1);
	e = find(c, 0x40000000, 0);
	assert_int_equal(e->eax, VCPU_CPUID_TIMING);
	assert_int_equal(find(c, 0x40000001, 0)->eax, 0x1234);
	e = find(c, VCPU_CPUID_TIMING, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 2093821);
	assert_int_equal(e->ebx, VCPU_LAPIC_KHZ);
	assert_int_equal(find(c, 1, 0)->edx & (1U << 28), 0);	/* 1 CPU */
	free(c);

	/* No signature leaf: both are added, with KVM's signature. */
	c = cpuid_alloc(0);
	n = c->nent;
	vcpu_cpuid_fixup(c, 0, 1, 1000000);
	assert_int_equal(c->nent, n + VCPU_CPUID_EXTRA);
	e = find(c, 0x40000000, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, VCPU_CPUID_TIMING);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_int_equal(find(c, VCPU_CPUID_TIMING, 0)->eax, 1000000);
	free(c);

	/* Unknown TSC frequency: no timing leaf at all. */
	c = cpuid_alloc(1);
	n = c->nent;
	vcpu_cpuid_fixup(c, 0, 1, 0);
	assert_int_equal(c->nent, n);
	assert_int_equal(find(c, 0x40000000, 0)->eax, 0x40000001);
	assert_null(find(c, VCPU_CPUID_TIMING, 0));
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_cpuid_sets_apic_id_and_topology),
		cmocka_unit_test(test_vcpu_cpuid_timing_leaf),
	};

	return cmocka_run_group_tests_name("vcpu", tests, NULL, NULL);
}
