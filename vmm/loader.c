/*
 * vmm/loader.c: ELF64 and bzImage kernels (the x86 boot protocol,
 * Documentation/arch/x86/boot.rst).  Every field of the file is input:
 * offsets and sizes are checked against the buffer and against guest RAM
 * with arithmetic that cannot wrap, before anything is copied.  The file
 * is little-endian like the only host we run on (x86-64), so headers are
 * read with memcpy.  Main thread, before the VM runs.
 */
#include <sys/stat.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/gmem.h"
#include "vmm/loader.h"

/* Setup header fields, as offsets into the file (and the zero page). */
#define BZ_SETUP_SECTS		0x1f1
#define BZ_SYSSIZE		0x1f4
#define BZ_BOOT_FLAG		0x1fe
#define BZ_JUMP			0x200
#define BZ_HEADER		0x202
#define BZ_VERSION		0x206
#define BZ_LOADFLAGS		0x211
#define BZ_INITRD_ADDR_MAX	0x22c
#define BZ_RELOCATABLE		0x234
#define BZ_XLOADFLAGS		0x236
#define BZ_CMDLINE_SIZE		0x238
#define BZ_PREF_ADDRESS		0x258
#define BZ_INIT_SIZE		0x260
#define BZ_HDR_MIN_LEN		0x268	/* through init_size */

#define BZ_BOOT_FLAG_MAGIC	0xaa55
#define BZ_HEADER_MAGIC		0x53726448	/* "HdrS" */
#define BZ_LOADED_HIGH		0x01
#define BZ_XLF_KERNEL_64	0x01
#define BZ_ENTRY_64		0x200	/* startup_64 = load address + 0x200 */
#define BZ_SECTOR		512

static int	loader_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	loader_fits(const struct gmem *, uint64_t, uint64_t);
static int	loader_parse_elf(const uint8_t *, size_t, const struct gmem *,
		    struct loader_kernel *, char *, size_t);
static int	loader_parse_bz(const uint8_t *, size_t, const struct gmem *,
		    struct loader_kernel *, char *, size_t);
static uint64_t	loader_get(const uint8_t *, size_t, unsigned);

int
loader_parse(const void *buf, size_t len, const struct gmem *gm,
    struct loader_kernel *lk, char *err, size_t errlen)
{
	const uint8_t	*p = buf;

	memset(lk, 0, sizeof(*lk));
	if (len >= SELFMAG && memcmp(p, ELFMAG, SELFMAG) == 0)
		return loader_parse_elf(p, len, gm, lk, err, errlen);
	if (len >= BZ_HEADER + 4 &&
	    loader_get(p + BZ_BOOT_FLAG, len - BZ_BOOT_FLAG, 2) ==
	    BZ_BOOT_FLAG_MAGIC &&
	    loader_get(p + BZ_HEADER, len - BZ_HEADER, 4) == BZ_HEADER_MAGIC)
		return loader_parse_bz(p, len, gm, lk, err, errlen);
	return loader_err(err, errlen, "not a kernel (neither ELF64 nor "
	    "bzImage)");
}

int
loader_load(const struct loader_kernel *lk, const void *buf, struct gmem *gm)
{
	const struct loader_seg	*s;
	unsigned		 i;

	for (i = 0; i < lk->lk_nsegs; i++) {
		s = &lk->lk_segs[i];
		if (gmem_write(gm, s->ls_gpa, (const uint8_t *)buf + s->ls_off,
		    s->ls_filesz) == -1)
			return -1;
	}
	return 0;
}

uint64_t
loader_low_ram_end(const struct gmem *gm)
{
	const struct gmem_region	*r;

	r = gmem_region(gm, 0);
	ASSERT(r->gr_gpa == 0);
	return r->gr_size;
}

int
loader_initrd_place(const struct loader_kernel *lk, const struct gmem *gm,
    uint64_t size, uint64_t *gpa, char *err, size_t errlen)
{
	uint64_t	 top, lo, at;

	top = loader_low_ram_end(gm);
	if (lk->lk_initrd_max < top - 1)
		top = lk->lk_initrd_max + 1;
	lo = (lk->lk_end + 0xfff) & ~0xfffULL;
	if (size == 0)
		return loader_err(err, errlen, "initrd is empty");
	if (size > top || ((top - size) & ~0xfffULL) < lo)
		return loader_err(err, errlen, "initrd of %llu bytes does not "
		    "fit between the kernel (ends at 0x%llx) and 0x%llx",
		    (unsigned long long)size, (unsigned long long)lo,
		    (unsigned long long)top);
	at = (top - size) & ~0xfffULL;
	*gpa = at;
	return 0;
}

int
loader_read_file(const char *path, uint64_t max, void **bufp, size_t *lenp)
{
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 len, off;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	len = (size_t)st.st_size;
	if ((buf = malloc(len ? len : 1)) == NULL)
		goto fail;
	for (off = 0; off < len; off += (size_t)n) {
		n = read(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1)
			goto fail;
		if (n == 0)
			break;		/* shrank under us: parse what is there */
	}
	close(fd);
	*bufp = buf;
	*lenp = off;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

static int
loader_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* [gpa, gpa + len) is RAM at or above LOADER_KERNEL_MIN, no wrap. */
static int
loader_fits(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	if (gpa < LOADER_KERNEL_MIN || gpa + len < gpa)
		return 0;
	return gmem_ptr(gm, gpa, len) != NULL;
}

/* Little-endian field of <size> bytes; the caller has checked <avail>. */
static uint64_t
loader_get(const uint8_t *p, size_t avail, unsigned size)
{
	uint64_t	 v = 0;
	unsigned	 i;

	ASSERT(size <= 8 && size <= avail);
	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int
loader_parse_elf(const uint8_t *p, size_t len, const struct gmem *gm,
    struct loader_kernel *lk, char *err, size_t errlen)
{
	Elf64_Ehdr	 eh;
	Elf64_Phdr	 ph;
	uint64_t	 end;
	unsigned	 i;
	int		 entry_ok = 0;

	if (len < sizeof(eh))
		return loader_err(err, errlen, "ELF: truncated header");
	memcpy(&eh, p, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return loader_err(err, errlen, "ELF: not 64-bit");
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return loader_err(err, errlen, "ELF: not little-endian");
	if (eh.e_machine != EM_X86_64)
		return loader_err(err, errlen, "ELF: not x86-64 (e_machine "
		    "%u)", eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return loader_err(err, errlen, "ELF: not an executable "
		    "(e_type %u)", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return loader_err(err, errlen, "ELF: bad e_phentsize %u",
		    eh.e_phentsize);
	if (eh.e_phnum == 0 || eh.e_phnum > LOADER_PHDRS_MAX)
		return loader_err(err, errlen, "ELF: %u program headers "
		    "(1 to %d expected)", eh.e_phnum, LOADER_PHDRS_MAX);
	if (eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(ph) > len - eh.e_phoff)
		return loader_err(err, errlen, "ELF: program headers beyond "
		    "the end of the file");
	lk->lk_kind = LOADER_ELF;
	for (i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, p + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return loader_err(err, errlen, "ELF: segment %u: "
			    "p_filesz > p_memsz", i);
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return loader_err(err, errlen, "ELF: segment %u: "
			    "beyond the end of the file (truncated?)", i);
		if (!loader_fits(gm, ph.p_paddr, ph.p_memsz))
			return loader_err(err, errlen, "ELF: segment %u "
			    "(0x%llx, %llu bytes) is not in guest RAM above "
			    "1 MiB", i, (unsigned long long)ph.p_paddr,
			    (unsigned long long)ph.p_memsz);
		if (lk->lk_nsegs == LOADER_SEGS_MAX)
			return loader_err(err, errlen, "ELF: more than %d "
			    "PT_LOAD segments", LOADER_SEGS_MAX);
		lk->lk_segs[lk->lk_nsegs].ls_gpa = ph.p_paddr;
		lk->lk_segs[lk->lk_nsegs].ls_off = ph.p_offset;
		lk->lk_segs[lk->lk_nsegs].ls_filesz = ph.p_filesz;
		lk->lk_segs[lk->lk_nsegs].ls_memsz = ph.p_memsz;
		lk->lk_nsegs++;
		end = ph.p_paddr + ph.p_memsz;
		if (end > lk->lk_end)
			lk->lk_end = end;
		if (eh.e_entry >= ph.p_paddr && eh.e_entry < end)
			entry_ok = 1;
	}
	if (lk->lk_nsegs == 0)
		return loader_err(err, errlen, "ELF: no PT_LOAD segment");
	if (!entry_ok)
		return loader_err(err, errlen, "ELF: entry point 0x%llx is "
		    "outside the loaded segments",
		    (unsigned long long)eh.e_entry);
	lk->lk_entry = eh.e_entry;
	lk->lk_cmdline_max = LOADER_CMDLINE_DEFAULT - 1;
	lk->lk_initrd_max = 0xffffffffULL;
	return 0;
}

static int
loader_parse_bz(const uint8_t *p, size_t len, const struct gmem *gm,
    struct loader_kernel *lk, char *err, size_t errlen)
{
	uint64_t	 setup_len, payload, syssize, load, base, init_size,
			 pref, end;
	unsigned	 sects, hdrend, xlf = 0;

	if (len < BZ_HDR_MIN_LEN)
		return loader_err(err, errlen, "bzImage: truncated header");
	lk->lk_kind = LOADER_BZIMAGE;
	lk->lk_version = (uint16_t)loader_get(p + BZ_VERSION, 2, 2);
	if (lk->lk_version < 0x0206)
		return loader_err(err, errlen, "bzImage: boot protocol "
		    "%u.%02u is older than 2.06", lk->lk_version >> 8,
		    lk->lk_version & 0xff);
	if (lk->lk_version >= 0x020c)
		xlf = (unsigned)loader_get(p + BZ_XLOADFLAGS, 2, 2);
	if ((xlf & BZ_XLF_KERNEL_64) == 0)
		return loader_err(err, errlen, "bzImage: no 64-bit entry "
		    "point (XLF_KERNEL_64)");
	if ((p[BZ_LOADFLAGS] & BZ_LOADED_HIGH) == 0)
		return loader_err(err, errlen, "bzImage: not loaded high "
		    "(a zImage?)");
	sects = p[BZ_SETUP_SECTS] ? p[BZ_SETUP_SECTS] : 4;
	setup_len = (uint64_t)(sects + 1) * BZ_SECTOR;
	if (setup_len >= len)
		return loader_err(err, errlen, "bzImage: truncated (no "
		    "protected-mode kernel after %llu setup bytes)",
		    (unsigned long long)setup_len);
	payload = len - setup_len;
	syssize = loader_get(p + BZ_SYSSIZE, 4, 4) * 16;
	if (syssize > payload)
		return loader_err(err, errlen, "bzImage: truncated (%llu of "
		    "%llu kernel bytes)", (unsigned long long)payload,
		    (unsigned long long)syssize);
	/* The header ends at 0x202 + the jump's displacement (boot.rst). */
	hdrend = BZ_HEADER + p[BZ_JUMP + 1];
	if (hdrend > LOADER_HDR_OFF + LOADER_HDR_MAX)
		hdrend = LOADER_HDR_OFF + LOADER_HDR_MAX;
	if (hdrend > len)
		hdrend = (unsigned)len;
	lk->lk_hdrlen = hdrend - LOADER_HDR_OFF;
	memcpy(lk->lk_hdr, p + LOADER_HDR_OFF, lk->lk_hdrlen);

	init_size = lk->lk_version >= 0x020a ?
	    loader_get(p + BZ_INIT_SIZE, 4, 4) : 0;
	pref = lk->lk_version >= 0x020a ?
	    loader_get(p + BZ_PREF_ADDRESS, 8, 8) : 0;
	if (init_size < payload)
		init_size = payload;
	/*
	 * A relocatable kernel decompresses at pref_address wherever it was
	 * loaded, so loading it there avoids a copy; otherwise 1 MiB, the
	 * protocol's fixed address.  Either way the kernel needs init_size
	 * bytes from the higher of the two.
	 */
	if (pref + init_size < pref)
		return loader_err(err, errlen, "bzImage: pref_address 0x%llx "
		    "+ init_size overflows", (unsigned long long)pref);
	load = LOADER_KERNEL_MIN;
	if (p[BZ_RELOCATABLE] && pref >= LOADER_KERNEL_MIN &&
	    loader_fits(gm, pref, init_size))
		load = pref;
	base = pref > load ? pref : load;
	if (!loader_fits(gm, load, payload) ||
	    !loader_fits(gm, base, init_size))
		return loader_err(err, errlen, "bzImage: needs RAM up to "
		    "0x%llx, more than the guest has",
		    (unsigned long long)(base + init_size));
	end = base + init_size;
	lk->lk_end = end > load + payload ? end : load + payload;
	lk->lk_segs[0].ls_gpa = load;
	lk->lk_segs[0].ls_off = setup_len;
	lk->lk_segs[0].ls_filesz = payload;
	lk->lk_segs[0].ls_memsz = payload;
	lk->lk_nsegs = 1;
	lk->lk_entry = load + BZ_ENTRY_64;
	lk->lk_cmdline_max = loader_get(p + BZ_CMDLINE_SIZE, 4, 4);
	lk->lk_initrd_max = loader_get(p + BZ_INITRD_ADDR_MAX, 4, 4);
	return 0;
}
