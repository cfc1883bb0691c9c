#!/usr/bin/env bash
# vsock-concurrent: 100 concurrent connections x 100 keep-alive requests,
# every /bytes/N body checked byte for byte, N up to 64 KiB + 1; then 100
# connections x 4 bodies of 1 MiB, which once stalled for good when an
# interrupt came before the guest's hlt (see cpu_trap()).
. "$(dirname "$0")/lib.sh"
t_init vsock-concurrent
skip_unless_kvm

VSOCKC=$BUILD/tests/vsockc
check "vsockc is built" test -x "$VSOCKC" || t_done
S=$(mktemp -d /tmp/corral-vsock.XXXXXX)
trap 'rm -rf "$S"; t_cleanup' EXIT
UDS=$S/vm.sock

t_bg vmm "$BUILD/corral-vmm" --kernel "$BUILD/corral-guest" \
    --memory 64MiB --vsock-cid 3 --vsock-uds "$UDS" --serial "$T/serial"
wait_for "guest listening" 30 grep -q "listening on vsock port 8080" \
    "$T/serial"

check "100 x 100 GET /bytes/0" "$VSOCKC" -t 120 -n 100 -m 100 \
    -p /bytes/0 "$UDS" 8080
check "100 x 100 GET /bytes/4096" "$VSOCKC" -t 120 -n 100 -m 100 \
    -p /bytes/4096 "$UDS" 8080
check "100 x 100 GET /bytes/65537" "$VSOCKC" -t 300 -n 100 -m 100 \
    -p /bytes/65537 "$UDS" 8080
check "100 x 4 GET /bytes/1048576" "$VSOCKC" -t 300 -n 100 -m 4 \
    -p /bytes/1048576 "$UDS" 8080
check "VMM still running" kill -0 "$(cat "$T/vmm.pid")"
t_done
