#!/usr/bin/env bash
# bench/vsock.sh: throughput of the vsock path (client -> corral-vmm's
# Unix socket -> virtio-vsock -> corral-guest) for one stream of
# GET /bytes/64MiB, and requests per second of GET /health over 64
# keep-alive connections.  No peer: QEMU has no user-space vsock device
# to compare with (it needs the host kernel's vhost-vsock).
#
#   ROUNDS=3 bench/vsock.sh
#
# Without /dev/kvm it re-runs itself inside tests/kvmlab, like boot.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
REQS=${REQS:-200}

if ! [ -c /dev/kvm ]; then
	[ -z "${KVMLAB:-}" ] || { echo "vsock.sh: no /dev/kvm in kvmlab" >&2; exit 1; }
	make -s all "$BUILD"/tests/vsockc
	echo "vsock.sh: no /dev/kvm here; running inside tests/kvmlab" >&2
	exec tests/kvmlab/kvmlab.sh --timeout 1800 -- env ROUNDS="$ROUNDS" \
	    REQS="$REQS" BUILD="$BUILD" bench/vsock.sh
fi
[ -n "${KVMLAB:-}" ] || make -s all "$BUILD"/tests/vsockc

out=$(mktemp -d /tmp/corral-bench-vsock.XXXXXX)
"$BUILD"/corral-vmm --kernel "$BUILD"/corral-guest --memory 64MiB \
    --vsock-cid 3 --vsock-uds "$out/vm.sock" --serial "$out/serial" \
    --cmdline "corral.id=bench" 2>"$out/vmm.err" &
vmm=$!
trap 'kill -TERM $vmm 2>/dev/null; wait $vmm 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 500); do
	grep -q listening "$out/serial" 2>/dev/null && break
	sleep 0.01
done

now() { date +%s%N; }
bytes=$((64 * 1024 * 1024))
for r in $(seq "$ROUNDS"); do
	t0=$(now)
	"$BUILD"/tests/vsockc -t 120 -n 1 -m 1 -p "/bytes/$bytes" \
	    "$out/vm.sock" 8080 >/dev/null
	t1=$(now)
	"$BUILD"/tests/vsockc -t 120 -n 64 -m "$REQS" -p /health \
	    "$out/vm.sock" 8080 >/dev/null
	t2=$(now)
	awk -v b=$bytes -v t=$((t1 - t0)) -v n=$((64 * REQS)) \
	    -v u=$((t2 - t1)) 'BEGIN {
		printf "round: %.1f MB/s, %.0f req/s\n", b / (t / 1e3), n / (u / 1e9) }'
done | tee "$out/rounds"

where="this host"
[ -n "${KVMLAB:-}" ] && where="tests/kvmlab (nested KVM under QEMU TCG: far slower than a real host)"
echo
echo "vsock path, $ROUNDS rounds, on $where (median)"
echo
echo "| metric | corral-vmm + corral-guest |"
echo "| --- | --: |"
awk '{ print $2 }' "$out/rounds" | sort -n | awk '{ v[NR] = $1 } END {
    printf "| GET /bytes/64MiB, one stream, MB/s | %s |\n", v[int((NR + 1) / 2)] }'
awk '{ print $4 }' "$out/rounds" | sort -n | awk -v r="$REQS" '{ v[NR] = $1 } END {
    printf "| GET /health, 64 keep-alive connections x %d, req/s | %s |\n", r, v[int((NR + 1) / 2)] }'
