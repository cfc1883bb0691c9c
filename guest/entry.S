/*
 * guest/entry.S: corral-guest's two entry points, its GDT, its page
 * tables, its stacks and the interrupt stubs.
 *
 * _start64 is the ELF entry point that corral-vmm jumps to (Linux 64-bit
 * boot protocol: long mode, RSI = boot_params).  pvh_start is named by the
 * Xen ELF note, which QEMU (-M microvm -kernel) follows: 32-bit protected
 * mode, paging off, EBX = hvm_start_info.  Both load the same GDT and page
 * tables (an identity map of 0..4 GiB in 2 MiB pages, built at link time
 * so that boot does no work for them; 3..4 GiB, where the MMIO lives, is
 * uncached), clear .bss, switch to the boot stack and call
 * kmain(kind, info) in guest/main.c, which never returns.
 *
 * The 256 interrupt stubs are 16 bytes apart from isr_stubs; each pushes
 * a 0 where the CPU pushes no error code, then the vector, and jumps to
 * isr_common, which saves the registers as struct cpu_frame (guest/cpu.h)
 * and calls cpu_trap().
 */

#define CPU_SEL_CODE	0x10
#define CPU_SEL_DATA	0x18
#define CPU_BOOT_LINUX	1
#define CPU_BOOT_PVH	2

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

#define PTE_P		0x001
#define PTE_RW		0x002
#define PTE_PWT		0x008
#define PTE_PCD		0x010
#define PTE_PS		0x080

#define XEN_ELFNOTE_PHYS32_ENTRY	18

#define STACK_SIZE	32768

	.section .note.Xen, "a", @note
	.balign 4
	.long	4			/* namesz: "Xen\0" */
	.long	4			/* descsz */
	.long	XEN_ELFNOTE_PHYS32_ENTRY
	.asciz	"Xen"
	.balign 4
	.long	pvh_start
	.balign 4

	.section .text.boot, "ax"

/* PVH: 32-bit protected mode, paging off, interrupts off. */
	.code32
	.globl	pvh_start
pvh_start:
	cli
	cld
	movl	%ebx, %esi		/* hvm_start_info, kept until kmain */
	lgdt	gdt_ptr
	movl	$CPU_SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$CPU_SEL_CODE, $pvh_long

	.code64
pvh_long:
	movl	%esi, %esi		/* the upper half is undefined */
	movl	$CPU_BOOT_PVH, %edi
	jmp	common64

/* corral-vmm: long mode, identity map of the first GiB, RSI = boot_params. */
	.globl	_start64
_start64:
	cli
	cld
	/* The boot protocol promises no stack; the far return needs one. */
	movq	$boot_stack_top, %rsp
	lgdt	gdt_ptr
	movl	$CPU_BOOT_LINUX, %edi
	pushq	$CPU_SEL_CODE
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:	movl	$pml4, %eax
	movq	%rax, %cr3
	/* FALLTHROUGH */

/* EDI = kind, RSI = boot information; both survive the code below. */
common64:
	movl	$CPU_SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	/* Nobody promises a zeroed .bss: the stacks and the IDT live there. */
	movq	%rdi, %r8
	movq	$__bss_start, %rdi
	movq	$__bss_end, %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq
	movq	%r8, %rdi
	movq	$boot_stack_top, %rsp
	xorl	%ebp, %ebp
	call	kmain
2:	cli
	hlt
	jmp	2b

/* The interrupt stubs. */
	.text
	.balign 16
	.globl	isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	256
	.balign	16
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || \
	    (vec == 21) || (vec == 29) || (vec == 30)
	pushq	$vec
	.else
	pushq	$0
	pushq	$vec
	.endif
	jmp	isr_common
	.set	vec, vec + 1
	.endr

isr_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rbx
	pushq	%rbp
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	/* 22 quadwords from a 16-byte boundary: RSP is aligned for C. */
	movq	%rsp, %rdi
	call	cpu_trap
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rbp
	popq	%rbx
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq

	.data
	.balign 16
	.globl	gdt
gdt:
	.quad	0			/* 0x00 */
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code, unused */
	.quad	0x00af9a000000ffff	/* 0x10: 64-bit code */
	.quad	0x00cf92000000ffff	/* 0x18: data */
	.quad	0, 0			/* 0x20: TSS, filled by cpu_init() */
gdt_end:

	.balign 8
	.word	0
	.globl	gdt_ptr
gdt_ptr:
	.word	gdt_end - gdt - 1
	.quad	gdt

	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad	pdpt + PTE_P + PTE_RW
	.fill	511, 8, 0
pdpt:
	.quad	pd + 0x0000 + PTE_P + PTE_RW
	.quad	pd + 0x1000 + PTE_P + PTE_RW
	.quad	pd + 0x2000 + PTE_P + PTE_RW
	.quad	pd + 0x3000 + PTE_P + PTE_RW
	.fill	508, 8, 0
pd:
	.set	i, 0
	.rept	2048
	.if i >= 1536
	.quad	(i << 21) + PTE_P + PTE_RW + PTE_PS + PTE_PWT + PTE_PCD
	.else
	.quad	(i << 21) + PTE_P + PTE_RW + PTE_PS
	.endif
	.set	i, i + 1
	.endr

	.bss
	.balign 16
boot_stack:
	.skip	STACK_SIZE
	.globl	boot_stack_top
boot_stack_top:
