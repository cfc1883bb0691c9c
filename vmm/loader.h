/*
 * vmm/loader.h: kernel images.  loader_parse() reads an ELF64 executable
 * (vmlinux, corral-guest) or a bzImage from a buffer and decides where
 * each piece goes in guest RAM; it is pure (the file is never trusted:
 * truncation, overflow and overlap are refused with a reason), so the unit
 * tests feed it corrupted images.  loader_load() then copies the bytes.
 */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct gmem;

/*
 * Nothing of the kernel may land below 1 MiB: the zero page, command
 * line, page tables, GDT and MP table live there (vmm/boot.h).
 */
#define LOADER_KERNEL_MIN	0x100000ULL
#define LOADER_SEGS_MAX		16
#define LOADER_PHDRS_MAX	64
/* Linux's COMMAND_LINE_SIZE on x86, for kernels with no header to say. */
#define LOADER_CMDLINE_DEFAULT	2048
/* The setup header occupies 0x1f1 .. 0x290 of the zero page at most. */
#define LOADER_HDR_OFF		0x1f1
#define LOADER_HDR_MAX		(0x290 - LOADER_HDR_OFF)

enum loader_kind {
	LOADER_ELF = 0,
	LOADER_BZIMAGE,
};

/* <ls_filesz> bytes at file offset <ls_off> go to <ls_gpa>, then zeros. */
struct loader_seg {
	uint64_t	 ls_gpa;
	uint64_t	 ls_off;
	uint64_t	 ls_filesz;
	uint64_t	 ls_memsz;
};

struct loader_kernel {
	enum loader_kind	 lk_kind;
	uint64_t		 lk_entry;	/* 64-bit entry, physical */
	struct loader_seg	 lk_segs[LOADER_SEGS_MAX];
	unsigned		 lk_nsegs;
	uint64_t		 lk_end;	/* RAM the kernel needs ends here */
	uint64_t		 lk_cmdline_max;	/* bytes, without NUL */
	uint64_t		 lk_initrd_max;	/* last byte an initrd may use */
	/* bzImage only: the setup header, copied into the zero page. */
	uint8_t			 lk_hdr[LOADER_HDR_MAX];
	size_t			 lk_hdrlen;
	uint16_t		 lk_version;	/* boot protocol, 0x020f */
};

/*
 * Parses the kernel image <buf> (<len> bytes) for a guest with RAM <gm>.
 * 0 and <lk> filled, or -1 with one line (no newline) in <err>: not a
 * kernel, truncated, inconsistent, or does not fit in RAM at or above
 * LOADER_KERNEL_MIN.  <buf> is not kept.
 */
int	loader_parse(const void *buf, size_t len, const struct gmem *gm,
	    struct loader_kernel *lk, char *err, size_t errlen)
	    __attribute__((warn_unused_result));

/*
 * Copies the segments of <lk> from <buf> (the same buffer loader_parse()
 * accepted) into <gm>.  Bytes between ls_filesz and ls_memsz are left as
 * they are: fresh guest RAM is zero.  -1 with EFAULT only if <lk> does not
 * come from loader_parse() on this <gm>.
 */
int	loader_load(const struct loader_kernel *lk, const void *buf,
	    struct gmem *gm) __attribute__((warn_unused_result));

/*
 * Where an initrd of <size> bytes goes: page-aligned, as high as possible
 * below both lk_initrd_max and the end of RAM under 4 GiB, above
 * lk_end.  0 with *<gpa>, or -1 with one line in <err>.
 */
int	loader_initrd_place(const struct loader_kernel *lk,
	    const struct gmem *gm, uint64_t size, uint64_t *gpa, char *err,
	    size_t errlen) __attribute__((warn_unused_result));

/*
 * Reads all of <path> into a new buffer (free() it) of *<len> bytes;
 * refuses (EFBIG) files over <max> bytes.  -1 with errno.
 */
int	loader_read_file(const char *path, uint64_t max, void **buf,
	    size_t *len) __attribute__((warn_unused_result));

/* The low 4 GiB part of guest RAM ends here (exclusive). */
uint64_t loader_low_ram_end(const struct gmem *gm);

#endif /* VMM_LOADER_H */
