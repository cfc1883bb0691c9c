#!/usr/bin/env bash
# vmm-triple-fault: a guest that loads an empty IDT and traps triple-
# faults; corral-vmm reports a guest crash: exit 3 and one line.
. "$(dirname "$0")/lib.sh"
t_init vmm-triple-fault
skip_unless_kvm
VMM=$BUILD/corral-vmm
K=$("$ROOT/tests/fixtures/build-vmm-kernel.sh" "$BUILD/fixtures")

t_bg vm "$VMM" --kernel "$K" --id tf --serial "$T/serial" \
    --cmdline fixture.fault
t_wait_exit "$(cat "$T/vm.pid")" 60
check_eq "exit status 3 (guest crash)" 3 "$T_RC"
check "stderr says triple fault" grep -q \
    "corral-vmm tf: guest crashed: triple fault (vcpu 0), exit 3" "$T/vm.err"
check "the guest got as far as faulting" grep -q "vmm-kernel: faulting" \
    "$T/serial"
t_done
