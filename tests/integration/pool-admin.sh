#!/usr/bin/env bash
# pool-admin: the admin listener in front of a microvm pool.  /status
# shows the VMs ready with the pids and CIDs of the corral-vmm processes
# that run them; /metrics counts the requests and the boots; POST
# /pools/hello/vms/ID/replace replaces that VM make-before-break (a new
# pid, the pool back to its size, no request failed in a GET loop
# running meanwhile); a guest crash shows up as an exit by reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-admin
skip_unless_kvm

pool_conf c.yaml 2 4 "admin: { listen: 127.0.0.1:0 }"
corral_start c.yaml
wait_for "two VMs ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 2 ]"
ADMIN=$(sed -n 's/.*admin: listening on \(127\.0\.0\.1:[0-9]*\)$/\1/p' \
    "$T/corral.err")
check "admin listening" test -n "$ADMIN"
A=http://$ADMIN
URL=http://127.0.0.1:$PORT

# json EXPR: evaluates the Python expression EXPR on the JSON of stdin.
json() {
	python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}
# vms EXPR: EXPR for each VM of pool hello (v), one line each, by id.
vms() {
	curl -s -m 10 "$A/status" | python3 -c "import json, sys
d = json.load(sys.stdin)
for v in sorted(d['pools'][0]['vms'], key=lambda v: v['id']):
	print($1)"
}
metric() {
	curl -s -m 10 "$A/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}
# ready_pids: the pids of the READY VMs, sorted, on one line.
ready_pids() {
	vms 'v["pid"] if v["state"] == "ready" else ""' | grep . | sort |
	    paste -sd ' '
}
# ready_is N [PID]: N VMs READY in /status, PID not among them.
ready_is() {
	local p
	p=$(ready_pids)
	[ "$(echo "$p" | wc -w)" -eq "$1" ] && [[ " $p " != *" ${2:-x} "* ]]
}
# metric_is SERIES VALUE
metric_is() {
	[ "$(metric "$1")" = "$2" ]
}

wait_for "status: two ready" 30 ready_is 2
check_eq "status: the corral-vmm pids" "$(pool_vmms | sort | paste -sd ' ')" \
    "$(ready_pids)"
check_eq "status: distinct CIDs above 2" 2 "$(vms 'v["cid"]' |
    awk '$1 > 2' | sort -u | wc -l)"
check_eq "status: boot times and health" "True True" "$(vms \
    'v["boot_ms"] > 0 and v["uptime_s"] > 0 and v["health"]["result"] == "ok"' |
    paste -sd ' ')"

for i in $(seq 20); do
	curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$URL/?i=$i"
done >"$T/codes"
check_eq "20 answers" "20" "$(grep -c '^200$' "$T/codes")"
check_eq "metrics: 20 requests" 20 \
    "$(metric 'corral_http_requests_total{route="routes[0]",code="200"}')"
check_eq "status: 20 requests over the VMs" 20 "$(vms 'v["requests"]' |
    awk '{ n += $1 } END { print n }')"
check_eq "metrics: two ready" 2 \
    "$(metric 'corral_pool_vms{pool="hello",state="ready"}')"
check_eq "metrics: two boots timed" 2 \
    "$(metric 'corral_pool_boot_duration_seconds_count{pool="hello"}')"

# Replace VM 0 while a loop of GETs runs: none may fail.
old=$(vms 'v["pid"] if v["id"] == 0 else ""' | grep .)
(
	for i in $(seq 60); do
		curl -s -m 20 -o /dev/null -w '%{http_code}\n' "$URL/?r=$i"
	done >"$T/loop"
) &
LOOP=$!
wait_for "the loop is under way" 30 bash -c "[ \$(wc -l <$T/loop) -ge 5 ]"
curl -s -m 10 -X POST -o "$T/replace" -w '%{http_code}' \
    "$A/pools/hello/vms/0/replace" >"$T/replace.code"
check_eq "POST replace: 202" 202 "$(cat "$T/replace.code")"
check_eq "it names the VM" "0 $old ready True" "$(json \
    'd["vm"], d["pid"], d["state"], d["replacing"]' <"$T/replace")"
wait_for "the old VM drains" 60 grep -q 'vm 0: draining (replaced)' \
    "$T/corral.err"
wait_for "the old corral-vmm is gone" 30 bash -c "! kill -0 $old"
wait_for "two ready again, the old pid not among them" 60 ready_is 2 "$old"
wait_for "two corral-vmm processes" 30 pool_has 2
t_wait_exit "$LOOP" 600
check_eq "the loop: 60 answers, all 200" "60 60" "$(wc -l <"$T/loop") \
$(grep -c '^200$' "$T/loop")"
check_eq "metrics: replaced by admin" 1 \
    "$(metric 'corral_pool_replacements_total{pool="hello",reason="admin"}')"
check_eq "metrics: stopped for admin" 1 \
    "$(metric 'corral_pool_vm_exits_total{pool="hello",reason="admin"}')"
check_eq "replace a VM that is not there: 404" 404 "$(curl -s -m 10 \
    -o /dev/null -w '%{http_code}' -X POST \
    "$A/pools/hello/vms/7/replace")"

# A guest crash: an exit by reason.
slot=$(vms 'v["id"] if v["state"] == "ready" else ""' | grep . | head -n 1)
printf 'GET /crash HTTP/1.1\r\nHost: vm\r\n\r\n' |
    "$BUILD/tests/vsockc" -t 2 "$T/run/vm-$slot.vsock" 8080 >/dev/null 2>&1
wait_for "the crash is noticed" 30 grep -q \
    "vm $slot: exited while ready (status 3: guest crash)" "$T/corral.err"
check_eq "metrics: one crash" 1 \
    "$(metric 'corral_pool_vm_exits_total{pool="hello",reason="crash"}')"
check_eq "metrics: replaced after a crash" 1 \
    "$(metric 'corral_pool_replacements_total{pool="hello",reason="crash"}')"
wait_for "two ready after the crash" 60 metric_is \
    'corral_pool_vms{pool="hello",state="ready"}' 2
check "every state change logged" bash -c "grep -q 'vm [0-9]*: booting (pid' \
    $T/corral.err && grep -q 'vm 0: stopped (' $T/corral.err &&
    grep -q 'pool hello: 2/2 VMs ready in' $T/corral.err"
# For the record (the scenario's log): what an operator sees.
curl -s -m 10 "$A/status"
curl -s -m 10 "$A/metrics" | grep -v '^#' | grep -v ' 0$'
grep 'pool hello' "$T/corral.err"
t_done
