#!/usr/bin/env bash
# pool-kill: kill -9 of a corral-vmm under a loop of GETs: no GET fails
# (those in flight on the dead VM are retried on another), the exit is
# noticed, and the pool is back at its size with a new VM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-kill
skip_unless_kvm

pool_conf c.yaml 2 4
corral_start c.yaml
wait_for "two VMs ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 2 ]"
URL=http://127.0.0.1:$PORT
pids=()
for c in 1 2 3; do
	(
		for i in $(seq 60); do
			echo "$(curl -s -m 20 -o /dev/null -w '%{http_code}' \
			    "$URL/delay/20?c=$c&i=$i")"
		done >"$T/get.$c"
	) &
	pids+=($!)
done
wait_for "load under way" 30 \
    bash -c "[ \$(cat $T/get.* 2>/dev/null | wc -l) -ge 20 ]"
victim=$(pool_vmms | head -n 1)
kill -KILL "$victim"
# The victim may be a VM the autoscaler is still booting under the load.
wait_for "the exit is noticed" 10 grep -Eq \
    'exited while (ready|booting|draining) \(signal 9\)' "$T/corral.err"
for p in "${pids[@]}"; do t_wait_exit "$p" 180; done
check_eq "every GET answered" 180 "$(cat "$T"/get.* | wc -l)"
check_eq "no GET failed" 0 "$(cat "$T"/get.* | grep -vc '^200$')"
wait_for "a replacement is ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 3 ]"
check_eq "back to two corral-vmm processes" 2 "$(pool_nvmms)"
check "the dead VM is not running" test ! -d "/proc/$victim"
t_done
