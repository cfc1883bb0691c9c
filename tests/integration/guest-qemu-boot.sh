#!/usr/bin/env bash
# guest-qemu-boot: corral-guest boots under QEMU TCG (no KVM needed)
# through its PVH entry on the microvm machine, and powers itself off.
#
#   corral.selftest=1      the LAPIC timer wakes a halted CPU, clock_ms()
#                          moves, the allocator churns and gives all back;
#                          power-off status 0 (QEMU's isa-debug-exit makes
#                          that exit status 2 * 0 + 1 = 1)
#   corral.selftest=trap   an invalid opcode reaches the panic path: the
#                          exception is named, power-off status 3 (exit 7)
#   corral.selftest=crash  platform_crash() triple faults: QEMU resets,
#                          which -no-reboot turns into exit 0
#   no self-test           the guest finds QEMU's virtio-rng on the command
#                          line QEMU writes, says it is no vsock device,
#                          and idles halted (little host CPU) until killed
#
# vsock itself needs vhost-vsock or corral-vmm under KVM (vsock-*.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
set +e
t_init guest-qemu-boot
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null 2>&1 || t_skip "no qemu-system-x86_64"
G=$BUILD/corral-guest
[ -f "$G" ] || { t_failcheck "$G not built"; t_done; }

# acpi=off: QEMU then lists virtio-mmio devices on the command line
# (virtio_mmio.device=...), as corral-vmm does; with ACPI it does not.
qemu() {	# SERIAL-FILE APPEND [QEMU ARGS...], bounded
	local serial=$1 append=$2
	shift 2
	timeout -k 5 60 "$QEMU" \
	    -M microvm,x-option-roms=off,isa-serial=on,rtc=off,pit=on,acpi=off \
	    -cpu max -m 128M -nodefaults -no-user-config -display none \
	    -serial "file:$serial" -monitor none -no-reboot \
	    -global virtio-mmio.force-legacy=false \
	    -device isa-debug-exit,iobase=0x501,iosize=1 \
	    -kernel "$G" -append "console=ttyS0 $append" "$@"
}

first_line_is_banner() {	# SERIAL-FILE ID
	head -n 1 "$1" | grep -q "^corral-guest: booting (id $2)\$"
}

# 1. The self-test passes and powers off with status 0.
qemu "$T/selftest" "corral.id=q1 corral.selftest=1"
check_eq "selftest: QEMU exit status (guest status 0)" 1 "$?"
check "selftest: first line is the banner" first_line_is_banner \
    "$T/selftest" q1
check "selftest: the timer interrupt fired" grep -q \
    "selftest: timer: 50 ms asked, .* [1-9][0-9]* timer interrupts" \
    "$T/selftest"
check "selftest: the allocator got everything back" grep -q \
    "selftest: allocator: .* 0 errors" "$T/selftest"
check "selftest: passed" grep -qx "corral-guest: selftest passed" \
    "$T/selftest"
sed 's/^/    /' "$T/selftest"

# 2. An exception panics with its name and powers off with status 3.
qemu "$T/trap" "corral.id=q2 corral.selftest=trap"
check_eq "trap: QEMU exit status (guest status 3)" 7 "$?"
check "trap: first line is the banner" first_line_is_banner "$T/trap" q2
check "trap: the panic names the exception" grep -q \
    "^corral-guest: panic: exception 6 (invalid opcode) at rip 0x" \
    "$T/trap"

# 3. A triple fault resets the machine.
qemu "$T/crash" "corral.id=q3 corral.selftest=crash"
check_eq "crash: QEMU exit status (reset under -no-reboot)" 0 "$?"
check "crash: it got as far as crashing" grep -q \
    "corral-guest: selftest: crashing" "$T/crash"

# 4. Idle: halted, not spinning.
"$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=off,pit=on,acpi=off \
    -cpu max -m 16M -nodefaults -no-user-config -display none \
    -serial "file:$T/idle" -monitor none -no-reboot \
    -global virtio-mmio.force-legacy=false -device virtio-rng-device \
    -kernel "$G" -append "console=ttyS0 corral.id=q4 corral.port=x" &
qpid=$!
T_PIDS+=("$qpid")
wait_for "idle: banner" 30 first_line_is_banner "$T/idle" q4
wait_for "idle: no vsock device found" 30 grep -q \
    "no usable virtio-vsock device" "$T/idle"
check "idle: a bad option is reported" grep -q \
    'ignoring "corral.port=x": bad port' "$T/idle"
check "idle: the virtio-rng device was probed and passed over" grep -q \
    "virtio-mmio at 0x[0-9a-f]*: not vsock (device id 4)" "$T/idle"
cpu0=$(awk '{ print $14 + $15 }' "/proc/$qpid/stat")
sleep 2
cpu1=$(awk '{ print $14 + $15 }' "/proc/$qpid/stat")
hz=$(getconf CLK_TCK)
# A spinning vCPU would burn the whole 2 s; a halted one close to none.
ms=$(( (cpu1 - cpu0) * 1000 / hz ))
check "idle: under 0.5 s of host CPU in 2 s (${ms} ms)" \
    test $(( (cpu1 - cpu0) * 2 )) -lt "$hz"
check "idle: still running" kill -0 "$qpid"
sed 's/^/    /' "$T/idle"
t_done
