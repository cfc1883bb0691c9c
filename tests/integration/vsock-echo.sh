#!/usr/bin/env bash
# vsock-echo: request bodies reach the guest intact and come back: a
# 1 MiB POST /echo round trip, alone and on 10 connections at once.
. "$(dirname "$0")/lib.sh"
t_init vsock-echo
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

check "1 MiB /echo" "$VSOCKC" -t 60 -e 1048576 "$UDS" 8080
check "10 x 3 x 1 MiB /echo" "$VSOCKC" -t 300 -n 10 -m 3 -e 1048576 \
    "$UDS" 8080
check "100 x 10 x 1000 B /echo" "$VSOCKC" -t 120 -n 100 -m 10 -e 1000 \
    "$UDS" 8080
t_done
