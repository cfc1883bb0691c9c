#!/usr/bin/env bash
# pool-inflight: max_inflight_per_vm: 1 with one VM serialises requests:
# a fast request sent while a slow one runs waits in the queue and ends
# after it; a burst of eight is served one by one; with a short queue
# timeout a waiting request gets a 503 that says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-inflight
skip_unless_kvm

pool_conf c.yaml 1 1 "    max_inflight_per_vm: 1
    queue: { length: 8, timeout: 3s }"
corral_start c.yaml
wait_for "the VM is ready" 60 grep -q ': ready in ' "$T/corral.err"
URL=http://127.0.0.1:$PORT

# Long first, short second: the short one must finish after the long one.
( curl -s -m 20 -o /dev/null -w '%{http_code}\n' "$URL/delay/2000" >"$T/slow"
  echo slow >>"$T/order" ) &
slow=$!
wait_for "the slow request is in flight" 10 bash -c \
    "ss -Htn state established '( dport = :$PORT )' | grep -q ."
( curl -s -m 20 -o /dev/null -w '%{http_code}\n' "$URL/delay/300" >"$T/fast"
  echo fast >>"$T/order" ) &
fast=$!
t_wait_exit "$slow" 30
t_wait_exit "$fast" 30
check_eq "slow answered" 200 "$(cat "$T/slow")"
check_eq "fast answered" 200 "$(cat "$T/fast")"
check_eq "one at a time: the fast one waited" "slow fast" \
    "$(tr '\n' ' ' <"$T/order" | sed 's/ $//')"

# Eight at once on one VM, over both workers: each waits its turn in
# the queue and is served; none is refused or times out.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s -m 20 -o /dev/null -w '%{http_code}\n' "$URL/delay/100" \
	    >"$T/burst.$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	t_wait_exit "$p" 30
done
check_eq "a burst of 8 through one VM: all served" \
    "200 200 200 200 200 200 200 200" \
    "$(cat "$T"/burst.* | tr '\n' ' ' | sed 's/ $//')"

# A queue timeout shorter than the running request: 503 with a reason.
pool_conf c2.yaml 1 1 "    max_inflight_per_vm: 1
    queue: { length: 8, timeout: 200ms }"
sed -i "s#run_dir: $T/run#run_dir: $T/run2#" "$T/c2.yaml"
corral_start c2.yaml c2
wait_for "c2: the VM is ready" 60 grep -q ': ready in ' "$T/c2.err"
URL2=http://127.0.0.1:$(listener_port web c2)
curl -s -m 20 -o /dev/null "$URL2/delay/3000" &
slow=$!
wait_for "c2: the slow request is in flight" 10 bash -c \
    "ss -Htn state established '( dport = :$(listener_port web c2) )' |
    grep -q ."
code=$(curl -s -m 20 -o "$T/busy" -w '%{http_code}' "$URL2/")
check_eq "queue timeout: 503" 503 "$code"
check "the body says why" grep -q 'pool hello: every VM is busy' "$T/busy"
t_wait_exit "$slow" 30
t_done
