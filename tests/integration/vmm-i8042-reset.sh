#!/usr/bin/env bash
# vmm-i8042-reset: a guest that resets the CPU through the keyboard
# controller (what Linux's reboot=k does) ends the VM like a power-off:
# exit 0, as Firecracker does.
. "$(dirname "$0")/lib.sh"
t_init vmm-i8042-reset
skip_unless_kvm
VMM=$BUILD/corral-vmm
K=$("$ROOT/tests/fixtures/build-vmm-kernel.sh" "$BUILD/fixtures")

t_bg vm "$VMM" --kernel "$K" --serial "$T/serial" --cmdline fixture.reset
t_wait_exit "$(cat "$T/vm.pid")" 60
check_eq "exit status 0" 0 "$T_RC"
check "stderr says reset" grep -q "guest reset (i8042), exit 0" "$T/vm.err"
check "guest asked for it" grep -q "vmm-kernel: reset" "$T/serial"
t_done
