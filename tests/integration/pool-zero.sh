#!/usr/bin/env bash
# pool-zero: size.min 0 starts no VM; the first request waits in the
# queue while one cold-boots and is served by it; once idle for the
# cool-down the pool drains and stops it, back to zero.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-zero
skip_unless_kvm

pool_conf c.yaml 0 2 "    scale: { target_inflight: 1, cooldown: 1s }
    queue: { length: 8, timeout: 30s }"
corral_start c.yaml
wait_for "start-up line" 10 grep -q 'pool hello: 0/0 VMs ready' \
    "$T/corral.err"
check_eq "no VM at start" 0 "$(pool_nvmms)"
code=$(curl -s -m 40 -o "$T/body" -w '%{http_code}' \
    "http://127.0.0.1:$PORT/")
check_eq "first request served from a cold boot" 200 "$code"
check "by a VM" grep -q 'hello-' "$T/body"
wait_for "scaled down after the cool-down" 30 grep -q \
    'scaling down to 0 VMs' "$T/corral.err"
wait_for "the VM is stopped" 30 grep -q 'vm 0: stopped' "$T/corral.err"
wait_for "no VM left" 20 pool_has 0
t_done
