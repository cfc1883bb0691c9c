#!/usr/bin/env bash
# pool-faults: a guest that crashes (/crash: triple fault, corral-vmm
# exits 3) is replaced; a guest that hangs (/hang: stops serving) leaves
# the rotation at its first failed health check, is marked down at the
# last, stopped and replaced.  The pool keeps serving throughout.  The
# faults are sent to one VM's socket directly: through corral, the
# retries of an idempotent GET would carry them to every VM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-faults
skip_unless_kvm

pool_conf c.yaml 2 4
corral_start c.yaml
wait_for "two VMs ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 2 ]"
URL=http://127.0.0.1:$PORT
VSOCKC=$BUILD/tests/vsockc

fault() {	# PATH: GET PATH from the VM in slot 0, no wait for a reply
	printf 'GET %s HTTP/1.1\r\nHost: vm\r\n\r\n' "$1" |
	    "$VSOCKC" -t 2 "$T/run/vm-0.vsock" 8080 >/dev/null 2>&1
}

fault /crash
wait_for "the crash is noticed" 20 grep -q \
    'exited while ready (status 3: guest crash)' "$T/corral.err"
wait_for "a replacement is ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 3 ]"
check_eq "serving after the crash" 200 \
    "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/")"

wait_for "slot 0 serves again" 30 test -S "$T/run/vm-0.vsock"
wait_for "slot 0 is ready" 30 bash -c "grep ': ready in ' $T/corral.err |
    tail -n 1 | grep -q 'vm 0:'"
fault /hang
wait_for "its first failed check takes it out of rotation" 30 grep -q \
    'vm 0: out of rotation until' "$T/corral.err"
wait_for "the hung VM fails its health checks" 30 grep -q \
    'health check failed (2/2)' "$T/corral.err"
wait_for "it is marked down" 10 grep -q 'marked down: stopping it' \
    "$T/corral.err"
wait_for "and replaced" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 4 ]"
wait_for "two corral-vmm processes again" 20 pool_has 2
check_eq "serving after the hang" 200 \
    "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/")"
t_done
