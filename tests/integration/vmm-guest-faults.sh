#!/usr/bin/env bash
# vmm-guest-faults: corral-guest's fault routes end the VM the way the
# pool will see it: /exit/7 makes corral-vmm exit 7, /crash exit 3 (guest
# crash); without corral.faults=1 both are 404 and the VM keeps serving.
. "$(dirname "$0")/lib.sh"
t_init vmm-guest-faults
skip_unless_kvm

VSOCKC=$BUILD/tests/vsockc
check "vsockc is built" test -x "$VSOCKC" || t_done

boot() {	# NAME CMDLINE: boots a guest, waits until it serves
	rm -f "$T/$1.sock"
	t_bg "$1" "$BUILD/corral-vmm" --kernel "$BUILD/corral-guest" \
	    --memory 16MiB --vsock-cid 3 --vsock-uds "$T/$1.sock" \
	    --serial "$T/$1.serial" --id "$1" --cmdline "$2"
	wait_for "$1: guest listening" 30 grep -q "listening on vsock" \
	    "$T/$1.serial"
}

get() {		# NAME PATH: prints the status line
	printf 'GET %s HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n' \
	    "$2" | "$VSOCKC" -t 10 "$T/$1.sock" 8080 2>/dev/null |
	    head -n 1 | tr -d '\r'
}

boot nofaults "corral.id=nf"
check_eq "without faults: /crash is 404" "HTTP/1.1 404 Not Found" \
    "$(get nofaults /crash)"
check_eq "without faults: /exit/7 is 404" "HTTP/1.1 404 Not Found" \
    "$(get nofaults /exit/7)"
check_eq "without faults: still serving" "HTTP/1.1 200 OK" \
    "$(get nofaults /health)"

boot exit7 "corral.id=e7 corral.faults=1"
get exit7 /exit/7 >/dev/null
t_wait_exit "$(cat "$T/exit7.pid")" 20
check_eq "/exit/7: corral-vmm exits 7" 7 "$T_RC"
check "/exit/7: stderr says the guest powered off" grep -q \
    "guest powered off.*exit 7" "$T/exit7.err"

boot crash "corral.id=c1 corral.faults=1"
get crash /crash >/dev/null
t_wait_exit "$(cat "$T/crash.pid")" 20
check_eq "/crash: corral-vmm exits 3 (guest crash)" 3 "$T_RC"
check "/crash: stderr names the crash" grep -q "guest crashed" \
    "$T/crash.err"
sed 's/^/    /' "$T/exit7.err" "$T/crash.err"
t_done
