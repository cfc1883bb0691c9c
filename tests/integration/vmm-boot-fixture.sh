#!/usr/bin/env bash
# vmm-boot-fixture: corral-vmm boots the vmm-kernel fixture through the
# 64-bit boot protocol; the fixture reports what it found (long mode,
# selectors, zero page, command line, e820, the CPUID timing leaf) on the
# serial port and powers off through port 0x501 with the status its
# command line asks for, which becomes corral-vmm's exit status.
. "$(dirname "$0")/lib.sh"
t_init vmm-boot-fixture
skip_unless_kvm
VMM=$BUILD/corral-vmm
K=$("$ROOT/tests/fixtures/build-vmm-kernel.sh" "$BUILD/fixtures")

t_bg vm "$VMM" --kernel "$K" --id fx1 --serial "$T/serial" \
    --cmdline "fixture.exit=42 hello=world"
t_wait_exit "$(cat "$T/vm.pid")" 60
check_eq "exit status is the guest's" 42 "$T_RC"
check "one stderr line says why" grep -q \
    "corral-vmm fx1: guest powered off (debug-exit port), exit 42" \
    "$T/vm.err"
check "banner on the serial file" grep -q "^vmm-kernel: hello$" \
    "$T/serial"
check "long mode, flat code selector, RSI = zero page" grep -q \
    "^vmm-kernel: cs 0x10 efer 0x500 zero page 0x7000$" "$T/serial"
check "command line passed" grep -qF \
    "vmm-kernel: cmdline [fixture.exit=42 hello=world]" "$T/serial"
check "e820: base RAM, EBDA/BIOS reserved, RAM from 1 MiB" grep -q \
    "e820 3 entries 0x0+0x9fc00:ram 0x9fc00+0x60400:res 0x100000+0x7f00000:ram" \
    "$T/serial"
check "CPUID 0x40000010: TSC and LAPIC timer kHz" grep -Eq \
    "hv max leaf 0x400000[1-9a-f][0-9a-f] tsc_khz [1-9][0-9]* lapic_khz 1000000" \
    "$T/serial"
check "nothing on stdout with --serial FILE" test ! -s "$T/vm.out"

# Default serial is stdout; 5 GiB puts RAM above 4 GiB; 4 vCPUs start
# (only the BSP runs the fixture).
t_bg vm2 "$VMM" --kernel "$K" --memory 5G --vcpus 4 --cmdline fixture.exit=0
t_wait_exit "$(cat "$T/vm2.pid")" 60
check_eq "4 vcpus, 5 GiB: exit 0" 0 "$T_RC"
check "serial on stdout by default" grep -q "^vmm-kernel: hello$" \
    "$T/vm2.out"
check "e820 maps RAM above 4 GiB" grep -q \
    "0x100000+0xbff00000:ram 0x100000000+0x80000000:ram" "$T/vm2.out"
check "running line names 4 vcpus" grep -q "running: 4 vcpus, 5120 MiB" \
    "$T/vm2.err"

t_bg vm3 "$VMM" --kernel "$K" --serial none --cmdline fixture.exit=5
t_wait_exit "$(cat "$T/vm3.pid")" 60
check_eq "--serial none: exit 5" 5 "$T_RC"
check "--serial none: stdout empty" test ! -s "$T/vm3.out"
t_done
