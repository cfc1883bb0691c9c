#!/usr/bin/env bash
# pool-recycle: recycle.after_requests replaces each VM after N requests,
# make-before-break: under a loop of GETs none fails, new VMs boot and
# the old ones drain and stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init pool-recycle
skip_unless_kvm

pool_conf c.yaml 2 3 "    recycle: { after_requests: 10 }"
corral_start c.yaml
wait_for "two VMs ready" 60 bash -c \
    "[ \$(grep -c ': ready in ' $T/corral.err) -ge 2 ]"
URL=http://127.0.0.1:$PORT
for i in $(seq 60); do
	curl -s -m 20 -o /dev/null -w '%{http_code}\n' "$URL/?i=$i"
done >"$T/codes"
check_eq "60 answers" 60 "$(wc -l <"$T/codes")"
check_eq "no request failed" 0 "$(grep -vc '^200$' "$T/codes")"
check "VMs were recycled" grep -q 'recycling after 1[0-9] requests' \
    "$T/corral.err"
check "recycled VMs drained" grep -q 'draining (recycled)' "$T/corral.err"
check "replacements booted" test "$(pool_ready_count)" -ge 4
wait_for "back to two VMs" 30 pool_has 2
t_done
