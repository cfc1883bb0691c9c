#!/usr/bin/env bash
# vsock-health: a host client reaches the guest's HTTP server through the
# VMM's Unix socket (CONNECT 8080, OK <port>) and GET /health is 200.
. "$(dirname "$0")/lib.sh"
t_init vsock-health
skip_unless_kvm

VSOCKC=$BUILD/tests/vsockc
check "vsockc is built" test -x "$VSOCKC" || t_done
# Unix sockets need a local file system; $T may be a 9p share in kvmlab.
S=$(mktemp -d /tmp/corral-vsock.XXXXXX)
trap 'rm -rf "$S"; t_cleanup' EXIT
UDS=$S/vm.sock

t_bg vmm "$BUILD/corral-vmm" --kernel "$BUILD/corral-guest" \
    --memory 64MiB --vsock-cid 3 --vsock-uds "$UDS" --serial "$T/serial"
wait_for "guest listening" 30 grep -q "listening on vsock port 8080" \
    "$T/serial"
check "socket exists" test -S "$UDS"

body=$("$VSOCKC" -t 20 -p /health -o "$UDS" 8080)
check_eq "GET /health is 200 with body" "ok" "$body"
# The raw stream: the client sees exactly the guest's HTTP bytes.
out=$(printf 'GET /health HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n' |
    "$VSOCKC" -t 20 "$UDS" 8080)
check_eq "raw status line" "HTTP/1.1 200 OK" "$(printf '%s' "$out" |
    head -n 1 | tr -d '\r')"
# A port nobody listens on: the guest refuses, the socket closes.
if printf 'x' | "$VSOCKC" -t 10 "$UDS" 9 >/dev/null 2>&1; then
	t_failcheck "CONNECT to a closed port was accepted"
else
	check "CONNECT to a closed port is refused" true
fi
t_done
