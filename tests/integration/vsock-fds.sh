#!/usr/bin/env bash
# vsock-fds: 1,000 host connections, opened, used and closed, leave the
# VMM with the descriptors it had before: every stream is torn down.
. "$(dirname "$0")/lib.sh"
t_init vsock-fds
skip_unless_kvm

VSOCKC=$BUILD/tests/vsockc
check "vsockc is built" test -x "$VSOCKC" || t_done
S=$(mktemp -d /tmp/corral-vsock.XXXXXX)
trap 'rm -rf "$S"; t_cleanup' EXIT
UDS=$S/vm.sock

t_bg vmm "$BUILD/corral-vmm" --kernel "$BUILD/corral-guest" \
    --memory 64MiB --vsock-cid 3 --vsock-uds "$UDS" --serial "$T/serial"
PID=$(cat "$T/vmm.pid")
wait_for "guest listening" 30 grep -q "listening on vsock port 8080" \
    "$T/serial"
nfds() { ls "/proc/$PID/fd" | wc -l; }
fds_back() { [ "$(nfds)" -le "$before" ]; }
before=$(nfds)
echo "VMM descriptors before: $before"

ok=1
for _ in $(seq 20); do
	"$VSOCKC" -t 60 -n 50 -m 2 -p /bytes/1000 "$UDS" 8080 || ok=0
done
check "20 rounds x 50 connections x 2 requests" test "$ok" -eq 1
if command -v socat >/dev/null; then
	# Clients that vanish right after CONNECT, and ones that say nothing.
	for _ in $(seq 100); do
		printf 'CONNECT 8080\n' | socat -u - "UNIX-CONNECT:$UDS" \
		    >/dev/null 2>&1
		socat -u /dev/null "UNIX-CONNECT:$UDS" >/dev/null 2>&1
	done
	check "vanishing clients done" true
fi
wait_for "VMM back to $before descriptors" 30 fds_back
echo "VMM descriptors after: $(nfds)"
check "VMM still running" kill -0 "$PID"
t_done
