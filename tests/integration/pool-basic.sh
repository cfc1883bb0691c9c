#!/usr/bin/env bash
# pool-basic: corral boots a microvm pool of corral-guest VMs (size.min
# of them), says so, and serves requests from them over vsock; the
# responses name the VMs, and requests are spread over both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-basic
skip_unless_kvm

pool_conf c.yaml 2 4
corral_start c.yaml
wait_for "two VMs ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 2 ]"
check "start-up line" grep -q "pool hello: 2/2 VMs ready in" \
    "$T/corral.err"
check_eq "two corral-vmm processes" 2 "$(pool_nvmms)"
URL=http://127.0.0.1:$PORT
for i in $(seq 20); do
	curl -s -m 10 "$URL/" >>"$T/bodies"
	echo >>"$T/bodies"
done
check_eq "20 answers" 20 "$(grep -c 'hello-' "$T/bodies")"
check "both VMs served" test "$(grep -o 'hello-[0-9]*' "$T/bodies" |
    sort -u | wc -l)" -eq 2
check_eq "/health through corral" 200 \
    "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/health")"
t_done
