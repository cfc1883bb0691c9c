#!/usr/bin/env bash
# vsock-sigterm: SIGTERM with streams open stops the VMM with status 0,
# closes the clients' sockets and leaves no socket file behind.
. "$(dirname "$0")/lib.sh"
t_init vsock-sigterm
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
before=$(nfds)
check "request before SIGTERM" "$VSOCKC" -t 20 -p /health "$UDS" 8080
wait_for "that stream closed" 10 bash -c \
    "[ \$(ls /proc/$PID/fd | wc -l) -le $before ]"
# A client with an open stream: its stdin is a FIFO we keep open.
mkfifo "$S/in"
exec 3<>"$S/in"
# (bash -c: a background job's stdin would be /dev/null otherwise)
t_bg idle bash -c "exec '$VSOCKC' -t 60 '$UDS' 8080 <'$S/in'"
wait_for "idle stream accepted" 10 bash -c \
    "[ \$(ls /proc/$PID/fd | wc -l) -gt $before ]"
kill -TERM "$PID"
t_wait_exit "$PID" 10
check_eq "VMM exit status" 0 "$T_RC"
check "socket file removed" test ! -e "$UDS"
t_wait_exit "$(cat "$T/idle.pid")" 10
check_eq "open client saw the stream end" 0 "$T_RC"
t_done
