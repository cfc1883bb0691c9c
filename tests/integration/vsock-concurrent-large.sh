#!/usr/bin/env bash
# vsock-concurrent-large: 100 concurrent connections each fetching four
# 1 MiB bodies through corral-vmm's vsock device from corral-guest.
#
# XXX Known intermittent stall: in about two of five runs in tests/kvmlab
# no connection finishes (vsockc: "100 of 100 connections unfinished"
# after 300 s) while the VMM keeps running; the same load passes in 30 s
# otherwise.  Not yet found whether the guest's or the device's credit
# accounting is stuck.  Skipped unless CORRAL_KNOWN_BUGS=1 so the suite
# stays meaningful; run it that way to reproduce:
#   CORRAL_KNOWN_BUGS=1 tests/run.sh integration vsock-concurrent-large
. "$(dirname "$0")/lib.sh"
t_init vsock-concurrent-large
skip_unless_kvm
[ -n "${CORRAL_KNOWN_BUGS:-}" ] ||
    t_skip "known intermittent stall under investigation (CORRAL_KNOWN_BUGS=1 runs it)"

VSOCKC=$BUILD/tests/vsockc
check "vsockc is built" test -x "$VSOCKC" || t_done
UDS=$T/vm.sock
t_bg vmm "$BUILD/corral-vmm" --kernel "$BUILD/corral-guest" \
    --memory 64MiB --vsock-cid 3 --vsock-uds "$UDS" --serial "$T/serial"
wait_for "guest listening" 30 grep -q "listening on vsock port 8080" \
    "$T/serial"
check "100 x 4 GET /bytes/1048576" "$VSOCKC" -t 300 -n 100 -m 4 \
    -p /bytes/1048576 "$UDS" 8080
check "VMM still running" kill -0 "$(cat "$T/vmm.pid")"
t_done
