#!/usr/bin/env bash
# vmm-cli-errors: corral-vmm refuses bad arguments and files that are not
# kernels with exit 2 and one line on stderr naming the problem, before it
# touches KVM (so this scenario needs no /dev/kvm); --help exits 0.
. "$(dirname "$0")/lib.sh"
t_init vmm-cli-errors
VMM=$BUILD/corral-vmm
[ -x "$VMM" ] || { t_failcheck "$VMM not built"; t_done; }
K=$("$ROOT/tests/fixtures/build-vmm-kernel.sh" "$BUILD/fixtures")

# expect_usage DESC PATTERN ARGS...: exit 2, one stderr line with PATTERN.
expect_usage() {
	local desc=$1 pat=$2 rc
	shift 2
	"$VMM" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	check_eq "$desc: exit status" 2 "$rc"
	check_eq "$desc: one line on stderr" 1 "$(wc -l <"$T/err")"
	check "$desc: says '$pat'" grep -q -- "$pat" "$T/err"
	check "$desc: nothing on stdout" test ! -s "$T/out"
}

expect_usage "no --kernel" "--kernel is required" --memory 64M
expect_usage "bad size" '--memory: bad size "lots"' --kernel "$K" \
    --memory lots
expect_usage "too little memory" "out of range" --kernel "$K" --memory 1M
expect_usage "bad vcpus" '--vcpus: "64"' --kernel "$K" --vcpus 64
expect_usage "cid without uds" "go together" --kernel "$K" --vsock-cid 3
expect_usage "unknown flag" "--frobnicate: unknown argument" --kernel "$K" \
    --frobnicate
expect_usage "missing kernel file" "kernel $T/nope: No such file" \
    --kernel "$T/nope"
head -c 4096 /dev/urandom >"$T/random.bin"
printf 'X' | dd of="$T/random.bin" bs=1 count=1 conv=notrunc 2>/dev/null
expect_usage "not a kernel" "not a kernel (neither ELF64 nor bzImage)" \
    --kernel "$T/random.bin"
head -c 300 "$K" >"$T/truncated.elf"
expect_usage "truncated ELF" "beyond the end of the file" \
    --kernel "$T/truncated.elf"
truncate -s 3M "$T/big.kernel"
expect_usage "kernel larger than RAM" "larger than guest RAM" \
    --kernel "$T/big.kernel" --memory 2M
expect_usage "cmdline too long" "longer than the 2047 bytes" \
    --kernel "$K" --cmdline "$(head -c 3000 /dev/zero | tr '\0' x)"
truncate -s 200M "$T/big.initrd"
expect_usage "initrd too big" "does not fit" --kernel "$K" --memory 64M \
    --initrd "$T/big.initrd"
expect_usage "serial file in a missing directory" "--serial $T/no/dir" \
    --kernel "$K" --serial "$T/no/dir/log"

"$VMM" --help >"$T/out" 2>"$T/err"
check_eq "--help: exit 0" 0 "$?"
check "--help: documents --vsock-uds" grep -q -- "--vsock-uds" "$T/out"

# Good arguments without KVM: one clear line and exit 1.
if [ ! -e /dev/kvm ]; then
	"$VMM" --kernel "$K" >"$T/out" 2>"$T/err"
	check_eq "no /dev/kvm: exit 1" 1 "$?"
	check "no /dev/kvm: says so" grep -q "/dev/kvm" "$T/err"
	check_eq "no /dev/kvm: one line" 1 "$(wc -l <"$T/err")"
fi
t_done
