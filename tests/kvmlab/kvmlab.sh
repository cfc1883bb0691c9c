#!/usr/bin/env bash
#
# kvmlab.sh: run a command against a real /dev/kvm on a machine without one.
#
# Boots a Debian kernel ("L1") under QEMU TCG with emulated AMD SVM, loads
# kvm + kvm_amd in it, and runs COMMAND there.  The host's root filesystem
# is visible in L1 read-only at the same paths (virtio-9p); the repo's
# build/ directory, a per-run scratch directory and any --rw directories
# are writable.  COMMAND runs as root, in the same working directory as on
# the host, with the host's exported environment, via the host's bash.
#
# usage: tests/kvmlab/kvmlab.sh [options] -- COMMAND [ARGS...]
#
#   --cache DIR        cache dir (default: <repo>/build/kvmlab-cache)
#   --rw DIR           also make DIR writable in L1 (repeatable)
#   --timeout SECS     bound for the whole L1 run (default 900)
#   --mem SIZE         L1 memory, QEMU syntax (default 2G)
#   --smp N            L1 vCPUs (default 2)
#   --cpu MODEL        QEMU CPU model (default max; needs svm and npt)
#   --accel ACCEL      QEMU -accel value (default tcg,thread=single:
#                      multi-threaded TCG wedges L1 now and then once
#                      KVM VMs are created and destroyed in it)
#   --npt 0|1          kvm_amd npt= module parameter (default 1)
#   --kernel-deb FILE  use this linux-image .deb instead of apt-get download
#   --keep             keep the per-run directory (console log, scratch)
#   -v, --verbose      copy L1's console (kernel log, init) to stderr
#
# Exit status: COMMAND's status; 124 if the run timed out; 125 if the lab
# itself failed (one line on stderr starting with "kvmlab: error:").
#
# Inside L1: KVMLAB=1, KVMLAB_SCRATCH=<writable per-run dir>, TMPDIR is the
# scratch dir.  /tmp shows the host's /tmp, but writes there stay in L1
# (overlayfs on tmpfs) unless they fall in a writable share.  /run and
# /dev/shm are private to L1.

set -euo pipefail

LAB_FAIL=125
LAB_TIMEOUT=124

die() {
	echo "kvmlab: error: $*" >&2
	exit "$LAB_FAIL"
}

note() {
	if [[ $verbose -eq 1 ]]; then
		echo "kvmlab: $*" >&2
	fi
}

usage() {
	sed -n 's/^# \{0,1\}//; /^usage:/,/^Exit status/p' "$0" |
	    sed '$d' >&2
	exit "$LAB_FAIL"
}

labdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$labdir/../.." && pwd)

cache=""
rwdirs=()
timeout_s=900
mem=2G
smp=2
cpu=max
accel=tcg,thread=single
npt=1
kdeb="${KVMLAB_KERNEL_DEB:-}"
keep=0
verbose=0

while [[ $# -gt 0 ]]; do
	case "$1" in
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	--rw) rwdirs+=("${2:?--rw needs a directory}"); shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	--mem) mem=${2:?--mem needs a size}; shift 2 ;;
	--smp) smp=${2:?--smp needs a number}; shift 2 ;;
	--cpu) cpu=${2:?--cpu needs a model}; shift 2 ;;
	--accel) accel=${2:?--accel needs a value}; shift 2 ;;
	--npt) npt=${2:?--npt needs 0 or 1}; shift 2 ;;
	--kernel-deb) kdeb=${2:?--kernel-deb needs a file}; shift 2 ;;
	--keep) keep=1; shift ;;
	-v|--verbose) verbose=1; shift ;;
	-h|--help) usage ;;
	--) shift; break ;;
	*) echo "kvmlab: error: unknown option: $1" >&2; usage ;;
	esac
done
[[ $# -gt 0 ]] || usage
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout: not a number: $timeout_s"
[[ $npt == 0 || $npt == 1 ]] || die "--npt must be 0 or 1"

cache=${cache:-$repo/build/kvmlab-cache}
mkdir -p "$cache" || die "cannot create cache dir $cache"
cache=$(cd "$cache" && pwd)

# Preparation (kernel, initramfs) is serialised between concurrent runs.
exec 9>"$cache/lock"
flock 9 || die "cannot lock $cache/lock"

# ---------------------------------------------------------------------
# Host tools.

need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
if ! [[ -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
	need_pkgs+=(busybox-static)
fi
command -v cc >/dev/null || need_pkgs+=(gcc libc6-dev)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
	[[ $(id -u) -eq 0 ]] ||
	    die "missing packages: ${need_pkgs[*]} (install them as root)"
	echo "kvmlab: installing ${need_pkgs[*]}" >&2
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"; \
	} >&2 || die "apt-get install ${need_pkgs[*]} failed"
fi

# ---------------------------------------------------------------------
# Kernel: vmlinuz plus the few modules we need, from a Debian linux-image.

# Module paths relative to lib/modules/<kver>/kernel, in load order.
MODS_9P="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko
drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko
drivers/virtio/virtio_pci.ko net/9p/9pnet.ko net/9p/9pnet_virtio.ko
fs/netfs/netfs.ko fs/fscache/fscache.ko fs/9p/9p.ko fs/overlayfs/overlay.ko"
MODS_KVM="virt/lib/irqbypass.ko drivers/crypto/ccp/ccp.ko
arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko"

# What an extracted kernel dir must have been made with; changing the
# module list re-extracts (from the .deb kept in $cache/debs).
kstamp=$(echo "v1 $MODS_9P $MODS_KVM" | sha256sum | cut -d' ' -f1)

# extract_kernel DEB: fill $cache/kernel/<deb name>/, point "current" at it.
extract_kernel() {
	local deb=$1 name dest tmp kver m src off
	name=$(basename "$deb" .deb)
	dest=$cache/kernel/$name
	if [[ $(cat "$dest/ok" 2>/dev/null) != "$kstamp" ]]; then
		note "extracting $deb"
		tmp=$(mktemp -d "$cache/extract.XXXXXX")
		dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; \
		    die "dpkg-deb -x $deb failed"; }
		kver=$(ls "$tmp/lib/modules" | head -1)
		[[ -n $kver && -f $tmp/boot/vmlinuz-$kver ]] ||
		    { rm -rf "$tmp"; die "$deb: no vmlinuz/modules in package"; }
		rm -rf "$dest"
		mkdir -p "$dest/modules"
		cp "$tmp/boot/vmlinuz-$kver" "$dest/vmlinuz"
		for m in $MODS_9P $MODS_KVM; do
			src=$tmp/lib/modules/$kver/kernel/$m
			if [[ -f $src.xz ]]; then
				xz -dc "$src.xz" >"$dest/modules/$(basename "$m")"
			elif [[ -f $src ]]; then
				cp "$src" "$dest/modules/"
			else
				rm -rf "$tmp"
				die "$deb: module $m missing"
			fi
		done
		echo "$kver" >"$dest/kver"
		echo "$deb" >"$dest/deb"
		# An uncompressed vmlinux boots via PVH, skipping the (slow under
		# TCG) in-guest decompression: ~2.5 s less per boot.
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$dest/vmlinuz" |
		    head -1 | cut -d: -f1) || true
		if [[ -n $off ]] && xz -dc --single-stream \
		    < <(tail -c +$((off + 1)) "$dest/vmlinuz" 2>/dev/null) \
		    >"$dest/vmlinux" 2>/dev/null &&
		    [[ $(head -c 4 "$dest/vmlinux") == $'\x7fELF' ]]; then
			:
		else
			rm -f "$dest/vmlinux"
		fi
		rm -rf "$tmp"
		echo "$kstamp" >"$dest/ok"
	fi
	ln -sfn "$name" "$cache/kernel/current"
}

# Newest Debian kernel image: what linux-image-amd64 depends on.
resolve_kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
	    sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1
}

if [[ -n $kdeb ]]; then
	[[ -f $kdeb ]] || die "kernel package not found: $kdeb"
	extract_kernel "$(cd "$(dirname "$kdeb")" && pwd)/$(basename "$kdeb")"
elif [[ $(cat "$cache/kernel/current/ok" 2>/dev/null) == "$kstamp" ]]; then
	:
elif [[ -f $(cat "$cache/kernel/current/deb" 2>/dev/null) ]]; then
	extract_kernel "$(cat "$cache/kernel/current/deb")"
else
	pkg=$(resolve_kernel_pkg)
	if [[ -z $pkg && $(id -u) -eq 0 ]]; then
		apt-get update -qq >&2 || true
		pkg=$(resolve_kernel_pkg)
	fi
	[[ -n $pkg ]] || die "cannot resolve linux-image-amd64 (apt-get update?)"
	mkdir -p "$cache/debs"
	dl=$(mktemp -d "$cache/debs/download.XXXXXX")
	chmod 755 "$dl"
	echo "kvmlab: downloading $pkg (once; cached in $cache)" >&2
	if ! (cd "$dl" && apt-get download -q "$pkg" >&2); then
		rm -rf "$dl"
		die "apt-get download $pkg failed"
	fi
	deb=$(ls "$dl"/*.deb | head -1)
	mv "$deb" "$cache/debs/"
	rm -rf "$dl"
	extract_kernel "$cache/debs/$(basename "$deb")"
fi
kdir=$(cd "$cache/kernel/current" && pwd -P)
kernel=$kdir/vmlinuz
[[ ! -f $kdir/vmlinux ]] || kernel=$kdir/vmlinux

# ---------------------------------------------------------------------
# Initramfs: static busybox, the modules, a static kvmcheck probe, /init.

key=$( {
	cat "$0" "$labdir/kvmcheck.c"
	echo "$kdir"
	sha256sum /bin/busybox
} | sha256sum | cut -d' ' -f1)
initrd=$cache/initrd.gz
if [[ ! -f $initrd || $(cat "$cache/initrd.key" 2>/dev/null) != "$key" ]]; then
	note "building initramfs"
	ir=$(mktemp -d "$cache/initramfs.XXXXXX")
	mkdir -p "$ir"/{bin,dev,proc,sys,ctl,newroot,lib/modules}
	cp /bin/busybox "$ir/bin/busybox"
	cp "$kdir"/modules/*.ko "$ir/lib/modules/"
	cc -static -O2 -Wall -o "$ir/bin/kvmcheck" "$labdir/kvmcheck.c" ||
	    { rm -rf "$ir"; die "cannot build kvmcheck (static)"; }
	{
		echo "MODS_9P='$(for m in $MODS_9P; do basename "$m" .ko; done |
		    tr '\n' ' ')'"
		echo "MODS_KVM='$(for m in $MODS_KVM; do basename "$m" .ko; \
		    done | tr '\n' ' ')'"
	} >"$ir/mods"
	cat >"$ir/init" <<'EOF'
#!/bin/busybox sh
# kvmlab L1 init: runs as PID 1 in the initramfs.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
. /mods

log() { echo "kvmlab-init: $*"; }
off() { sync; poweroff -f; sleep 10; }
fail() {
	log "FAIL: $*"
	[ -d /ctl/in ] && echo "$*" >/ctl/labfail
	off
}
up() { cut -d' ' -f1 /proc/uptime; }
kmsg() {
	dmesg | grep -iE "$1" | sed 's/^\[[^]]*\] //' | tail -${2:-3} |
	    tr '\n' ';'
}

log "kernel up at $(up)s"
for m in $MODS_9P; do
	insmod /lib/modules/$m.ko || fail "insmod $m failed"
done
P9="trans=virtio,version=9p2000.L,msize=512000"
mount -t 9p -o "$P9,cache=none" kvmlab_ctl /ctl ||
    fail "cannot mount control share"
[ -d /ctl/in ] || fail "control share has no in/"
. /ctl/in/config

for m in $MODS_KVM; do
	case $m in kvm-amd) args="npt=$KVMLAB_NPT nested=1" ;; *) args= ;; esac
	insmod /lib/modules/$m.ko $args ||
	    fail "insmod $m failed: $(kmsg 'kvm|svm|ccp')"
done
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm_amd: $(kmsg 'kvm|svm')"
/bin/kvmcheck -p || fail "KVM probe (KVM_GET_API_VERSION/KVM_CREATE_VM) failed"
log "kvm ready at $(up)s: $(kmsg 'SVM:|kvm:' 10)"

R=/newroot
mount -t 9p -o "$P9,cache=loose,ro" kvmlab_root $R ||
    fail "cannot mount host root"
mount -t proc proc $R/proc || fail "mount $R/proc"
mount -t sysfs sys $R/sys || fail "mount $R/sys"
mount -t devtmpfs dev $R/dev || fail "mount $R/dev"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs shm $R/dev/shm
# /tmp: the host's, read-only, under a private writable tmpfs layer.
mkdir -p /ovl && mount -t tmpfs ovl /ovl && mkdir -p /ovl/u /ovl/w &&
    mount -t overlay -o lowerdir=$R/tmp,upperdir=/ovl/u,workdir=/ovl/w \
    tmp $R/tmp || fail "cannot mount overlay on $R/tmp"
mount -t tmpfs run $R/run
# Writable shares, parents first: "tag path" per line.
while read -r tag path; do
	[ -n "$tag" ] || continue
	mkdir -p "$R$path" 2>/dev/null
	if [ "$tag" = kvmlab_ctl ]; then
		mount --bind /ctl "$R$path" || fail "bind $path"
	else
		mount -t 9p -o "$P9,cache=mmap" "$tag" "$R$path" ||
		    fail "cannot mount $tag at $path"
	fi
done </ctl/in/mounts

for t in /dev/ttyS1 /dev/ttyS2; do
	stty -F $t raw -echo -onlcr 115200 || fail "stty $t"
done
log "running command at $(up)s"
echo "$(up)" >/ctl/t_start
chroot $R /bin/bash "$KVMLAB_CTL/in/cmd.sh" </dev/null >/dev/ttyS1 2>/dev/ttyS2
rc=$?
echo "$(up)" >/ctl/t_end
log "command exited $rc at $(up)s"
echo "$rc" >/ctl/status
off
EOF
	chmod +x "$ir/init"
	(cd "$ir" && find . | busybox cpio -o -H newc 2>/dev/null |
	    gzip -1 >"$ir.gz") || { rm -rf "$ir" "$ir.gz"; die "cpio failed"; }
	mv "$ir.gz" "$initrd"
	echo "$key" >"$cache/initrd.key"
	rm -rf "$ir"
fi

flock -u 9
exec 9>&-

# ---------------------------------------------------------------------
# Per-run directory: control files (in/), status, scratch, console log.

mkdir -p "$cache/runs"
run=$(mktemp -d "$cache/runs/run.XXXXXX")
cleanup() {
	if [[ $keep -eq 0 ]]; then
		rm -rf "$run"
	elif [[ $keep -eq 1 ]]; then
		echo "kvmlab: kept $run" >&2
	fi
}
trap cleanup EXIT
mkdir -p "$run/in" "$run/scratch"

cwd=$(pwd -P)
case $cwd/ in
/run/*|/dev/*|/proc/*|/sys/*)
	ok=0
	for d in "${rwdirs[@]}"; do
		d=$(cd "$d" && pwd -P)
		[[ $cwd/ != "$d"/* ]] || ok=1
	done
	[[ $ok -eq 1 ]] || die "working directory $cwd is hidden in L1" \
	    "(private /run, /dev); pass --rw with it or a parent"
	;;
esac
mkdir -p "$repo/build"

# Writable shares: tag, host path.  Sorted so that parents mount first.
declare -A shares=()
shares[kvmlab_ctl]=$run
shares[kvmlab_build]=$(cd "$repo/build" && pwd -P)
i=0
for d in "${rwdirs[@]}"; do
	[[ -d $d ]] || die "--rw: not a directory: $d"
	shares[kvmlab_rw$i]=$(cd "$d" && pwd -P)
	i=$((i + 1))
done
for tag in "${!shares[@]}"; do
	p=${shares[$tag]}
	[[ $p != *[[:space:]]* ]] || die "path with whitespace unsupported: $p"
	echo "$tag $p"
done | sort -k2 | awk '{ print length($2), $0 }' | sort -n -s |
    cut -d' ' -f2- >"$run/in/mounts"

{
	echo "KVMLAB_NPT=$npt"
	echo "KVMLAB_CTL=$run"
} >"$run/in/config"

# The command script, run by the host's bash inside L1's chroot.
{
	echo '# generated by kvmlab.sh'
	export -p | grep -vE '^declare -x (BASHOPTS|SHELLOPTS|BASH_[A-Z_]*|OLDPWD|PWD|SHLVL|_)(=|$)' || true
	printf 'export KVMLAB=1 KVMLAB_SCRATCH=%q TMPDIR=%q\n' \
	    "$run/scratch" "$run/scratch"
	printf 'cd %q || { echo "kvmlab: error: cannot cd in L1" >&2; exit 125; }\n' \
	    "$cwd"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$run/in/cmd.sh"

# ---------------------------------------------------------------------
# Boot L1.

qemu=(qemu-system-x86_64
	-accel "$accel" -cpu "$cpu" -smp "$smp" -m "$mem"
	-nodefaults -display none -no-reboot
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off"
	-chardev "file,id=con,path=$run/console.log"
	-serial chardev:con
	-chardev "file,id=out,path=$run/out.fifo"
	-serial chardev:out
	-chardev "file,id=err,path=$run/err.fifo"
	-serial chardev:err
	-fsdev "local,id=fs_root,path=/,security_model=none,readonly=on,multidevs=remap"
	-device "virtio-9p-pci,fsdev=fs_root,mount_tag=kvmlab_root"
)
# A monitor socket, for poking at a wedged L1 (socat - UNIX:.../monitor).
if [[ ${#run} -lt 90 ]]; then
	qemu+=(-monitor "unix:$run/monitor,server=on,wait=off")
fi
for tag in "${!shares[@]}"; do
	qemu+=(-fsdev "local,id=fs_$tag,path=${shares[$tag]},security_model=none,multidevs=remap"
	    -device "virtio-9p-pci,fsdev=fs_$tag,mount_tag=$tag")
done

note "booting L1: ${qemu[*]}"
# L1's ttyS1/ttyS2 (the command's stdout/stderr) reach ours through FIFOs
# and cat, so that they share our file offsets.
mkfifo "$run/out.fifo" "$run/err.fifo"
cat <"$run/out.fifo" &
outpid=$!
cat <"$run/err.fifo" >&2 &
errpid=$!
t0=$(date +%s.%N)
set +e
timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null 2>"$run/qemu.err"
qrc=$?
set -e
t1=$(date +%s.%N)
# Unblock a cat still waiting to open its FIFO (qemu never opened it).
: 3<>"$run/out.fifo" 4<>"$run/err.fifo"
wait "$outpid" "$errpid" || true

# Keep the run directory (console log, scratch) when L1 gave no status;
# the error message names it.
[[ -f $run/status || $keep -eq 1 ]] || keep=2
if [[ $verbose -eq 1 ]]; then
	sed 's/^/kvmlab: L1: /' "$run/console.log" >&2 || true
	[[ ! -s $run/qemu.err ]] || sed 's/^/kvmlab: qemu: /' "$run/qemu.err" >&2
	if [[ -f $run/t_start && -f $run/t_end ]]; then
		awk -v a="$(cat "$run/t_start")" -v b="$(cat "$run/t_end")" \
		    -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
		    'BEGIN { printf "kvmlab: L1 uptime at command start %.2fs, " \
		    "command %.2fs, wall total %.2fs\n", a, b - a, w }' >&2
	fi
fi

if [[ -f $run/status ]]; then
	exit "$(cat "$run/status")"
fi
if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then
	hint=""
	if grep -qE 'soft lockup|rcu_preempt detected stalls' \
	    "$run/console.log"; then
		hint="; L1 kernel reported lockups/RCU stalls"
	fi
	echo "kvmlab: error: timed out after ${timeout_s}s$hint" \
	    "(console log: $run/console.log)" >&2
	exit "$LAB_TIMEOUT"
fi
if [[ -f $run/labfail ]]; then
	die "L1: $(head -c 600 "$run/labfail") (log: $run/console.log)"
fi
if grep -q '^kvmlab-init: FAIL: ' "$run/console.log" 2>/dev/null; then
	die "L1: $(sed -n 's/^kvmlab-init: FAIL: //p' "$run/console.log" |
	    head -1) (log: $run/console.log)"
fi
if [[ -s $run/qemu.err && $qrc -ne 0 ]]; then
	die "qemu exited $qrc: $(tail -1 "$run/qemu.err") (in $run)"
fi
die "L1 exited without a status (qemu $qrc; console log:" \
    "$run/console.log: $(grep -v '^\s*$' "$run/console.log" | tail -1))"
