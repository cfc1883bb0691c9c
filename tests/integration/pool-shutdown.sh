#!/usr/bin/env bash
# pool-shutdown: SIGTERM to corral stops every VM of its pool: corral
# exits 0, no corral-vmm process is left, and no socket file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-shutdown
skip_unless_kvm

pool_conf c.yaml 3 4
corral_start c.yaml
wait_for "three VMs ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 3 ]"
check_eq "three corral-vmm processes" 3 "$(pool_nvmms)"
check_eq "three sockets" 3 "$(find "$T/run" -name 'vm-*.vsock' | wc -l)"
check_eq "served" 200 "$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$PORT/")"
kill -TERM "$CORRAL_PID"
t_wait_exit "$CORRAL_PID" 30
check_eq "corral exits 0" 0 "$T_RC"
check_eq "no corral-vmm left" 0 "$(pool_nvmms)"
check_eq "no socket left" 0 "$(find "$T/run" -name '*.vsock*' 2>/dev/null |
    wc -l)"
check "every VM said stopped" test "$(lines "$T/corral.err" \
    ': stopped (')" -eq 3
t_done
