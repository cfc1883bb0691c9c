#!/usr/bin/env bash
# vsock-notify: a guest-initiated connection.  Given corral.notify=PORT
# the guest connects to CID 2 port PORT once it serves; the VMM carries
# that to <uds>_PORT, where we listen, and "READY <id>" arrives.
. "$(dirname "$0")/lib.sh"
t_init vsock-notify
skip_unless_kvm

VSOCKC=$BUILD/tests/vsockc
check "vsockc is built" test -x "$VSOCKC" || t_done
S=$(mktemp -d /tmp/corral-vsock.XXXXXX)
trap 'rm -rf "$S"; t_cleanup' EXIT
UDS=$S/vm.sock

t_bg listener "$VSOCKC" -t 60 -L "${UDS}_7001"
wait_for "listener up" 10 grep -q LISTENING "$T/listener.out"
t_bg vmm "$BUILD/corral-vmm" --kernel "$BUILD/corral-guest" \
    --memory 64MiB --vsock-cid 3 --vsock-uds "$UDS" --serial "$T/serial" \
    --cmdline "corral.id=vm-notify-7 corral.notify=7001"
wait_for "READY line arrives" 60 grep -q "^READY" "$T/listener.out"
check_eq "READY names the VM" "READY vm-notify-7" \
    "$(grep '^READY' "$T/listener.out")"
t_wait_exit "$(cat "$T/listener.pid")" 10
check_eq "listener exit status" 0 "$T_RC"
check "guest still serves" "$VSOCKC" -t 20 -p /health "$UDS" 8080
t_done
