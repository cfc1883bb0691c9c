#!/usr/bin/env bash
# pool-crashloop: a "kernel" that cannot boot makes every VM exit at
# once: the pool backs off (boots stay few), says it is degraded, and
# requests get a 503 whose body says no VM is ready.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-crashloop
skip_unless_kvm

printf 'not a kernel\n' >"$T/bad-kernel"
pool_conf c.yaml 2 2 "    queue: { length: 0 }"
sed -i "s#kernel: .*#kernel: $T/bad-kernel#" "$T/c.yaml"
corral_start c.yaml
wait_for "degraded" 20 grep -q 'pool hello: degraded:' "$T/corral.err"
code=$(curl -s -m 10 -o "$T/body" -w '%{http_code}' \
    "http://127.0.0.1:$PORT/")
check_eq "503" 503 "$code"
check "the body says why" grep -q 'pool hello: no VM ready' "$T/body"
wait_for "the back-off reaches 1.6 s" 30 grep -q 'next boot in 1600 ms' \
    "$T/corral.err"
# Doubling from 100 ms: 2 first boots, then one per back-off step.
boots=$(lines "$T/corral.err" ': booting (pid')
check "boots are bounded ($boots)" test "$boots" -le 10
t_done
