#!/usr/bin/env bash
# bench/boot.sh: boot time and memory of corral-vmm beside QEMU's microvm
# machine, booting the same build/corral-guest, runs interleaved so both
# see the same machine.  Prints a markdown table of medians with the
# 10th-90th percentile spread, and corral's ratio to QEMU.
#
#   RUNS=20 bench/boot.sh
#
# Without /dev/kvm it re-runs itself inside tests/kvmlab (nested KVM
# under QEMU TCG): the figures are then an emulated machine's, good for
# ratios, not for absolute numbers, and the table says so.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-20}
MEM_MIB=${MEM_MIB:-16}
QEMU=${QEMU:-qemu-system-x86_64}

if ! [ -c /dev/kvm ]; then
	[ -z "${KVMLAB:-}" ] || { echo "boot.sh: no /dev/kvm in kvmlab" >&2; exit 1; }
	make -s all "$BUILD"/bench/boottime
	echo "boot.sh: no /dev/kvm here; running inside tests/kvmlab" >&2
	exec tests/kvmlab/kvmlab.sh --timeout 1800 -- env RUNS="$RUNS" \
	    MEM_MIB="$MEM_MIB" BUILD="$BUILD" bench/boot.sh
fi
[ -n "${KVMLAB:-}" ] || make -s all "$BUILD"/bench/boottime

out=$(mktemp -d /tmp/corral-bench-boot.XXXXXX)
trap 'rm -rf "$out"' EXIT
G=$BUILD/corral-guest
BT=$BUILD/bench/boottime

corral_run() {
	rm -f "$out/vm.sock"
	"$BT" -g "$MEM_MIB" -u "$out/vm.sock" -p 8080 -t 20 -- \
	    "$BUILD"/corral-vmm --kernel "$G" --memory "${MEM_MIB}MiB" \
	    --vsock-cid 3 --vsock-uds "$out/vm.sock" --serial stdout \
	    --cmdline "corral.id=bench"
}

# QEMU's microvm with the guest's PVH entry; acpi=off makes QEMU list its
# virtio-mmio slots on the command line, as corral-vmm does.
qemu_run() {
	"$BT" -g "$MEM_MIB" -t 20 -- "$QEMU" -enable-kvm \
	    -M microvm,x-option-roms=off,isa-serial=on,rtc=off,pit=on,acpi=off \
	    -cpu host,-arch-capabilities -m "${MEM_MIB}M" -nodefaults \
	    -no-user-config -display none -serial stdio -monitor none \
	    -no-reboot -kernel "$G" -append "console=ttyS0 corral.id=bench"
}

for i in $(seq "$RUNS"); do
	# Alternate who goes first, so neither always runs on a warm cache.
	if [ $((i % 2)) -eq 0 ]; then
		corral_run >>"$out/corral" || echo "run $i: corral-vmm failed" >&2
		qemu_run >>"$out/qemu" || echo "run $i: qemu failed" >&2
	else
		qemu_run >>"$out/qemu" || echo "run $i: qemu failed" >&2
		corral_run >>"$out/corral" || echo "run $i: corral-vmm failed" >&2
	fi
done

# stat FILE KEY: "median p10-p90" of KEY's nonzero values
stat() {
	sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1" | awk '$1 > 0' | sort -n |
	    awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		lo = v[int(NR * 0.1) + 1]; hi = v[int(NR * 0.9) > 0 ? int(NR * 0.9) : 1]
		printf "%d %d-%d\n", m, lo, hi }'
}
ms() { awk -v u="$1" 'BEGIN { if (u == "-") print "-"; else printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

read -r cs cs_sp <<<"$(stat "$out/corral" serial_us)"
read -r qs qs_sp <<<"$(stat "$out/qemu" serial_us)"
read -r ch ch_sp <<<"$(stat "$out/corral" health_us)"
read -r cr _ <<<"$(stat "$out/corral" rss_kib)"
read -r qr _ <<<"$(stat "$out/qemu" rss_kib)"
read -r cg _ <<<"$(stat "$out/corral" guest_kib)"
read -r qg _ <<<"$(stat "$out/qemu" guest_kib)"

where="this host"
[ -n "${KVMLAB:-}" ] && where="tests/kvmlab (nested KVM under QEMU TCG: compare ratios, not absolute times)"
echo
echo "boot of build/corral-guest, $MEM_MIB MiB, $RUNS interleaved runs each, on $where"
echo
echo "| metric | corral-vmm | QEMU microvm | corral / QEMU |"
echo "| --- | --: | --: | --: |"
echo "| process start to first serial line, ms (median; p10-p90) | $(ms "$cs") ($cs_sp us) | $(ms "$qs") ($qs_sp us) | $(ratio "$cs" "$qs") |"
echo "| process start to first 200 for GET /health over vsock, ms | $(ms "$ch") ($ch_sp us) | - | - |"
echo "| VMM resident memory, KiB (guest RAM touched excluded) | $((cr - cg)) | $((qr - qg)) | $(ratio $((cr - cg)) $((qr - qg))) |"
echo "| guest RAM touched, KiB | $cg | $qg | - |"
