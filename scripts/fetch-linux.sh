#!/usr/bin/env bash
# scripts/fetch-linux.sh [CACHE_DIR]: fetches Debian's current cloud
# kernel package (the one linux-image-cloud-amd64 depends on) with
# apt-get download, once, into CACHE_DIR (default build/linux-cache, never
# the repo), and extracts two kernels from it for corral-vmm's Linux
# tests:
#
#   CACHE_DIR/<version>/bzImage   the package's vmlinuz (a bzImage)
#   CACHE_DIR/<version>/vmlinux   the ELF inside it, found by scanning the
#                                 bzImage for a compressed stream (xz,
#                                 zstd, lz4, gzip, ...) that decompresses
#                                 to an ELF file
#   CACHE_DIR/<version>/config    the kernel's build configuration
#
# Prints "BZIMAGE=<path>", "VMLINUX=<path>" and "CONFIG=<path>" on stdout.  Exit status 0;
# 3 if the package cannot be resolved or downloaded (callers skip); 1 on
# any other failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-$root/build/linux-cache}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

die() { echo "fetch-linux: $*" >&2; exit "${2:-1}"; }

resolve() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

pkg=$(resolve || true)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(resolve || true)
fi
[ -n "$pkg" ] || die "cannot resolve linux-image-cloud-amd64" 3
dir=$cache/$pkg
if [ ! -s "$dir/bzImage" ] || [ ! -s "$dir/vmlinux" ] ||
    [ ! -s "$dir/config" ]; then
	tmp=$(mktemp -d "$cache/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) ||
		    die "apt-get download $pkg failed" 3
		mv "$tmp"/"$pkg"_*.deb "$cache"/
		deb=$(ls "$cache"/"$pkg"_*.deb | head -n 1)
	fi
	dpkg-deb -x "$deb" "$tmp/x" || die "dpkg-deb -x $deb failed"
	vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -n "$vmlinuz" ] || die "$deb: no /boot/vmlinuz-*"
	mkdir -p "$dir"
	cp "$vmlinuz" "$tmp/bzImage"

	# Like the kernel's scripts/extract-vmlinux: try every offset where a
	# known compression magic occurs until one yields an ELF.
	found=0
	for m in "xz:\xfd7zXZ\x00:xz -dc" "zstd:(\xb5/\xfd:zstd -dcq" \
	    "lz4:\x02!L\x18:lz4 -dc" "gzip:\x1f\x8b\x08:gzip -dc" \
	    "lzma:\x5d\x00\x00\x00:xz -dc --format=lzma" \
	    "bzip2:BZh:bzip2 -dc"; do
		name=${m%%:*}
		rest=${m#*:}
		magic=${rest%%:*}
		cmd=${rest#*:}
		command -v "${cmd%% *}" >/dev/null 2>&1 || continue
		for off in $(LC_ALL=C grep -aboP "$magic" "$tmp/bzImage" \
		    2>/dev/null | cut -d: -f1 | head -n 20); do
			tail -c +$((off + 1)) "$tmp/bzImage" |
			    $cmd >"$tmp/vmlinux" 2>/dev/null || true
			if [ "$(head -c 4 "$tmp/vmlinux" | od -An -tx1 |
			    tr -d ' \n')" = 7f454c46 ]; then
				echo "fetch-linux: vmlinux: $name at offset $off" >&2
				found=1
				break 2
			fi
		done
	done
	[ "$found" -eq 1 ] || die "no compressed ELF found in $vmlinuz"
	cp "$(ls "$tmp"/x/boot/config-* | head -n 1)" "$dir/config" ||
	    die "$deb: no /boot/config-*"
	mv "$tmp/bzImage" "$dir/bzImage"
	mv "$tmp/vmlinux" "$dir/vmlinux"
fi
echo "BZIMAGE=$dir/bzImage"
echo "VMLINUX=$dir/vmlinux"
echo "CONFIG=$dir/config"
