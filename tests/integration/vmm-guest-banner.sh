#!/usr/bin/env bash
# vmm-guest-banner: corral-vmm boots corral-guest (the bundled workload)
# with the vsock device and the guest prints its banner, a first serial
# line starting with "corral-guest", carrying the id we gave it; SIGTERM
# then stops it cleanly.
. "$(dirname "$0")/lib.sh"
t_init vmm-guest-banner
skip_unless_kvm
VMM=$BUILD/corral-vmm
G=$BUILD/corral-guest
[ -x "$G" ] || { t_failcheck "$G not built"; t_done; }
# Unix sockets cannot be bound on kvmlab's 9p scratch dir ($T): /tmp.
S=$(mktemp -d /tmp/corral-vmm-guest.XXXXXX)

t_bg vm "$VMM" --kernel "$G" --memory 16M --id g1 --serial "$T/serial" \
    --vsock-cid 3 --vsock-uds "$S/vm.vsock" --cmdline "corral.id=g1"
pid=$(cat "$T/vm.pid")
wait_for "first serial line" 60 test -s "$T/serial"
check "the first line is corral-guest's banner" sh -c \
    "head -n 1 '$T/serial' | grep -q '^corral-guest'"
check "the banner names the VM" grep -q "corral-guest.*g1" "$T/serial"
kill -TERM "$pid"
t_wait_exit "$pid" 20
check_eq "SIGTERM: exit 0" 0 "$T_RC"
check "socket removed" test ! -e "$S/vm.vsock"
rmdir "$S"
t_done
