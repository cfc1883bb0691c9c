#!/usr/bin/env bash
# bench/pool.sh: the microVM pool measured from outside, the way its
# users see it, with bench/poolbench.c as the stopwatch (it starts corral
# or the VMMs itself and timestamps their output as it arrives):
#
#   cold start	a pool with size.min 0: GET / from zero VMs to the answer
#   replacement	kill -9 of a ready VM to the pool being back at its size
#   boots/s	BOOT_N VMs started at once: a pool with size.min BOOT_N
#		(ready = first health check passed), beside BOOT_N copies
#		of corral-vmm alone and of QEMU's microvm booting the same
#		build/corral-guest (ready = its last boot line on serial)
#   idle	memory per idle VM (VMM resident memory and guest pages,
#		and PSS, which shares the VMM's code between VMs) and the
#		CPU used by IDLE_N idle VMs, health checks included
#
#   RUNS=10 BOOT_N=200 PEER_N=200 IDLE_N=1000 IDLE_S=10 bench/pool.sh
#
# Prints a markdown table and keeps it, with every raw line, under
# $BUILD/bench-results/pool/.  Without /dev/kvm it re-runs itself inside
# tests/kvmlab (nested KVM under QEMU TCG, one emulated CPU doing all
# the work): the figures are then an emulated machine's, good for ratios
# and for finding where the time goes, not for absolute numbers, and the
# table says so.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-10}
BOOT_N=${BOOT_N:-200}
PEER_N=${PEER_N:-$BOOT_N}
IDLE_N=${IDLE_N:-1000}
IDLE_S=${IDLE_S:-10}
MEM_MIB=${MEM_MIB:-16}
QEMU=${QEMU:-qemu-system-x86_64}
LAB_MEM=${LAB_MEM:-8G}
export RUNS BOOT_N PEER_N IDLE_N IDLE_S MEM_MIB BUILD

if ! [ -c /dev/kvm ]; then
	[ -z "${KVMLAB:-}" ] || { echo "pool.sh: no /dev/kvm in kvmlab" >&2; exit 1; }
	make -s all "$BUILD"/bench/poolbench "$BUILD"/bench/boottime
	echo "pool.sh: no /dev/kvm here; running inside tests/kvmlab" >&2
	exec tests/kvmlab/kvmlab.sh --mem "$LAB_MEM" --timeout 5400 -- \
	    bench/pool.sh
fi
[ -n "${KVMLAB:-}" ] || make -s all "$BUILD"/bench/poolbench "$BUILD"/bench/boottime
# The lab starts with its loopback down.
ip -o link show lo 2>/dev/null | grep -q 'UP' || ip link set lo up 2>/dev/null || true

# Under /tmp: the lab cannot bind Unix sockets on its 9p shares.
out=$(mktemp -d /tmp/corral-bench-pool.XXXXXX)
res=$BUILD/bench-results/pool
mkdir -p "$res"
trap 'rm -rf "$out"' EXIT
PB=$BUILD/bench/poolbench
G=$BUILD/corral-guest

# conf NAME MIN MAX [EXTRA]: a config with one pool "hello" as the
# example's (16MiB, health every 1s), run directory under $out.
conf() {
	cat >"$out/$1.yaml" <<EOF
workers: 2
log: { level: info, access: off }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: "*" }
    pool: hello
pools:
  - name: hello
    type: microvm
    kernel: $G
    memory: ${MEM_MIB}MiB
    port: 8080
    size: { min: $2, max: $3 }
    run_dir: $out/run-$1
    health: { path: /health, interval: 1s, timeout: 500ms, rise: 2, fall: 3 }
${4:-}
EOF
}

# run NAME ARGS...: poolbench ARGS, its lines kept in $res/NAME.
run() {
	local name=$1
	shift
	echo "pool.sh: $name: poolbench $*" >&2
	"$PB" "$@" >"$res/$name" 2>"$res/$name.err" ||
	    echo "pool.sh: $name: poolbench failed (see $res/$name.err)" >&2
}

conf cold 0 1 "    scale: { target_inflight: 1, cooldown: 100ms }
    queue: { length: 8, timeout: 30s }"
run cold cold -r "$RUNS" -t 600 -l "$res/cold.log" -- \
    "$BUILD"/corral -c "$out/cold.yaml"
# The same VMM booted alone, to its first 200 over vsock: what a cold
# start costs without the pool (bench/boot.sh's measure).
mkdir -p "$out/one"
for _ in $(seq "$RUNS"); do
	rm -f "$out/one/vm.sock"
	"$BUILD"/bench/boottime -g "$MEM_MIB" -u "$out/one/vm.sock" -p 8080 \
	    -t 20 -- "$BUILD"/corral-vmm --kernel "$G" --memory "${MEM_MIB}MiB" \
	    --vsock-cid 3 --vsock-uds "$out/one/vm.sock" --serial stdout \
	    --cmdline "corral.id=one" | sed 's/^/one /' || true
done >"$res/one"
conf kill 2 4
run kill kill -r "$RUNS" -n 2 -t 600 -l "$res/kill.log" -- \
    "$BUILD"/corral -c "$out/kill.yaml"
conf boot "$BOOT_N" "$BOOT_N"
run boot pool -n "$BOOT_N" -i "$IDLE_S" -g "$MEM_MIB" -t 900 \
    -l "$res/boot.log" -- "$BUILD"/corral -c "$out/boot.yaml"
mkdir -p "$out/vmm"
run vmm procs -n "$BOOT_N" -i "$IDLE_S" -g "$MEM_MIB" -t 900 \
    -k 'listening on vsock' -- "$BUILD"/corral-vmm --kernel "$G" \
    --memory "${MEM_MIB}MiB" --vsock-cid 3 --vsock-uds "$out/vmm/vm-{}.sock" \
    --serial stdout --cmdline "corral.id=vmm-{}"
# QEMU's microvm with the guest's PVH entry, as bench/boot.sh runs it;
# without a vsock device (QEMU's needs the host's vhost-vsock) the
# guest's last boot line says so instead of "listening".
if [ "$PEER_N" -gt 0 ] && command -v "$QEMU" >/dev/null; then
	run qemu procs -n "$PEER_N" -i "$IDLE_S" -g "$MEM_MIB" -t 900 \
	    -k 'no usable virtio-vsock' -k 'listening on vsock' -- "$QEMU" \
	    -enable-kvm \
	    -M microvm,x-option-roms=off,isa-serial=on,rtc=off,pit=on,acpi=off \
	    -cpu host,-arch-capabilities -m "${MEM_MIB}M" -nodefaults \
	    -no-user-config -display none -serial stdio -monitor none \
	    -no-reboot -kernel "$G" -append "console=ttyS0 corral.id=qemu-{}"
else
	: >"$res/qemu"
fi
if [ "$IDLE_N" -gt 0 ]; then
	conf idle "$IDLE_N" "$IDLE_N"
	run idle pool -n "$IDLE_N" -i "$IDLE_S" -g "$MEM_MIB" -t 900 \
	    -l "$res/idle.log" -- "$BUILD"/corral -c "$out/idle.yaml"
else
	: >"$res/idle"
fi

# val FILE TAG KEY: KEY's value on FILE's first TAG line, or "-".
val() {
	local v
	v=$(sed -n "s/^$2 .*\\b$3=\\([-0-9.]*\\).*/\\1/p" "$1" | head -n 1)
	echo "${v:--}"
}
# stat FILE TAG KEY: "median p10-p90" of KEY over FILE's TAG lines with
# status 200 (cold) or all (kill), in ms.
stat() {
	sed -n "/^$2 /{/status=-1/d; s/.*\\b$3=\\([0-9.]*\\).*/\\1/p}" "$1" |
	    awk '$1 > 0' | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		lo = v[int(NR * 0.1) + 1]; hi = v[int(NR * 0.9) > 0 ? int(NR * 0.9) : 1]
		printf "%.1f %.1f-%.1f %d\n", m / 1000, lo / 1000, hi / 1000, NR }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", a + b }'; }

read -r cm csp cn <<<"$(stat "$res/cold" cold cold_us)"
read -r csm _ _ <<<"$(stat "$res/cold" cold spawn_us)"
read -r crm _ _ <<<"$(stat "$res/cold" cold vm_ready_us)"
read -r om _ _ <<<"$(stat "$res/one" one health_us)"
read -r km ksp kn <<<"$(stat "$res/kill" kill replace_us)"
read -r kem _ _ <<<"$(stat "$res/kill" kill exit_seen_us)"
read -r ksm _ _ <<<"$(stat "$res/kill" kill spawn_us)"
where="this host ($(nproc) CPUs)"
[ -n "${KVMLAB:-}" ] && where="tests/kvmlab (nested KVM under QEMU TCG, one emulated CPU: compare ratios, not absolute times)"
bp=$(val "$res/boot" boot boots_per_s)
bv=$(val "$res/vmm" boot boots_per_s)
bq=$(val "$res/qemu" boot boots_per_s)

{
echo
echo "microVM pool of build/corral-guest, $MEM_MIB MiB VMs, on $where"
echo
echo "| metric | corral | target | runs |"
echo "| --- | --: | --: | --: |"
echo "| cold start: GET / from zero VMs to the answer, ms (median; p10-p90) | $cm ($csp) | <= 15 | $cn |"
echo "| of which: GET sent to corral-vmm spawned / to the VM ready, ms (medians) | $csm / $crm | | |"
echo "| for comparison: corral-vmm alone, process start to its first 200 over vsock, ms | $om | | |"
echo "| replacement: kill -9 of a ready VM to the pool back at size, ms | $km ($ksp) | <= 20 | $kn |"
echo "| of which: to the exit noticed / to the new VM spawned, ms (medians) | $kem / $ksm | | |"
echo
echo "| $BOOT_N VMs started at once ($PEER_N for QEMU) | corral pool | corral-vmm alone | QEMU microvm | pool / QEMU | corral-vmm / QEMU |"
echo "| --- | --: | --: | --: | --: | --: |"
echo "| boots per second (target >= 300 for the pool) | $bp | $bv | $bq | $(ratio "$bp" "$bq") | $(ratio "$bv" "$bq") |"
echo "| first boot to last VM ready, ms | $(ratio "$(val "$res/boot" boot first_boot_to_all_ready_us)" 1000) | $(ratio "$(val "$res/vmm" boot start_to_all_ready_us)" 1000) | $(ratio "$(val "$res/qemu" boot start_to_all_ready_us)" 1000) | | |"
for k in vm_rss_kib vm_guest_kib vm_pss_kib; do
	case $k in
	vm_rss_kib) label="idle VM: VMM resident memory incl. guest pages, KiB" ;;
	vm_guest_kib) label="idle VM: of which guest pages, KiB" ;;
	vm_pss_kib) label="idle VM: proportional set size (shared code split), KiB" ;;
	esac
	a=$(val "$res/boot" idle "$k"); b=$(val "$res/vmm" idle "$k"); c=$(val "$res/qemu" idle "$k")
	echo "| $label | $a | $b | $c | $(ratio "$a" "$c") | $(ratio "$b" "$c") |"
done
a=$(sum "$(val "$res/boot" cpu vmm_cpu_pct)" "$(val "$res/boot" cpu corral_cpu_pct)")
b=$(val "$res/vmm" cpu vmm_cpu_pct); c=$(val "$res/qemu" cpu vmm_cpu_pct)
echo "| CPU of the idle VMs (+ corral), % of one CPU, over ${IDLE_S}s | $a | $b | $c | $(ratio "$a" "$c") | $(ratio "$b" "$c") |"
echo "| whole machine busy meanwhile, % of all CPUs | $(val "$res/boot" cpu machine_cpu_pct) | $(val "$res/vmm" cpu machine_cpu_pct) | $(val "$res/qemu" cpu machine_cpu_pct) | | |"
echo "| corral's own resident memory, KiB | $(val "$res/boot" idle corral_rss_kib) | | | | |"
if [ "$IDLE_N" -gt 0 ]; then
	echo
	echo "| $IDLE_N idle VMs in one pool (health checks every 1s) | value | target |"
	echo "| --- | --: | --: |"
	echo "| VMs ready | $(val "$res/idle" idle vms)$(grep -h '^notready' "$res/idle" | sed 's/^notready / (not all ready: /; s/$/)/') | $IDLE_N |"
	echo "| boots per second | $(val "$res/idle" boot boots_per_s) | |"
	echo "| CPU of the VMMs + corral, % of one CPU | $(sum "$(val "$res/idle" cpu vmm_cpu_pct)" "$(val "$res/idle" cpu corral_cpu_pct)") | |"
	echo "| of which corral (health checks, pool thread), % of one CPU | $(val "$res/idle" cpu corral_cpu_pct) | |"
	echo "| whole machine busy, % of all $(val "$res/idle" cpu ncpu) CPUs | $(val "$res/idle" cpu machine_cpu_pct) | < 2 |"
	echo "| memory per idle VM: RSS / guest pages / PSS, KiB | $(val "$res/idle" idle vm_rss_kib) / $(val "$res/idle" idle vm_guest_kib) / $(val "$res/idle" idle vm_pss_kib) | |"
	echo "| SIGTERM to every VM gone, ms; VMMs left over | $(ratio "$(val "$res/idle" stop stop_us)" 1000); $(val "$res/idle" stop leftover_vmms) | 0 left |"
fi
} | tee "$res/table.md"
