#!/usr/bin/env bash
# proxy-admin: the admin listener in front of a static pool.  /status is
# JSON naming the pool's servers; /metrics counts the requests that went
# through the proxy by route and status (what the origin saw, too), with
# a latency histogram; wrong methods get 405, unknown paths and pools
# 404, hostile requests their 4xx and a closed connection.  The counters
# survive a reload.  An admin address the file gives that is taken stops
# corral; the default one (127.0.0.1:9901) never does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-admin

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 2
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { path_prefix: /bytes }
    pool: app
  - match: { path_prefix: /status }
    pool: app
pools:
  - name: app
    type: static
    servers: [ 127.0.0.1:$O1_PORT ]
EOF
corral_start c.yaml
wait_for "admin listening" 10 grep -q 'admin: listening on 127' \
    "$T/corral.err"
ADMIN=$(sed -n 's/.*admin: listening on \(127\.0\.0\.1:[0-9]*\)$/\1/p' \
    "$T/corral.err")
URL=http://127.0.0.1:$PORT
A=http://$ADMIN

# json EXPR: evaluates the Python expression EXPR on the JSON of stdin.
json() {
	python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}
# metric SERIES: the value of one series of /metrics (empty if none).
metric() {
	curl -s -m 10 "$A/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}

curl -s -m 10 -D "$T/h" -o "$T/status" "$A/status"
check "GET /status is JSON" grep -qi '^content-type: application/json' \
    "$T/h"
check_eq "the pool" "app static" "$(json \
    'd["pools"][0]["name"], d["pools"][0]["type"]' <"$T/status")"
check_eq "its server" "127.0.0.1:$O1_PORT 0 False" "$(json \
    'd["pools"][0]["servers"][0]["name"], \
    d["pools"][0]["servers"][0]["inflight"], \
    d["pools"][0]["servers"][0]["ejected"]' <"$T/status")"

# Through the proxy: 7 to routes[0], 3 to routes[1], 2 with no route.
for i in $(seq 7); do
	curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$URL/bytes/$i"
done >"$T/codes"
for i in 1 2 3; do
	curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$URL/status/503"
done >>"$T/codes"
for i in 1 2; do
	curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$URL/none"
done >>"$T/codes"
check_eq "the client's answers" "7x200 2x404 3x503" "$(sort "$T/codes" |
    uniq -c | awk '{ print $1 "x" $2 }' | paste -sd ' ')"
check_eq "the origin saw 10" 10 "$(lines "$T/o1.log" 'GET /')"
check_eq "routes[0] by status" 7 \
    "$(metric 'corral_http_requests_total{route="routes[0]",code="200"}')"
check_eq "routes[1] by status" 3 \
    "$(metric 'corral_http_requests_total{route="routes[1]",code="503"}')"
check_eq "no route" 2 \
    "$(metric 'corral_http_requests_total{route="none",code="404"}')"
check_eq "latency histogram count" 7 "$(metric \
    'corral_http_request_duration_seconds_count{route="routes[0]"}')"
check_eq "latency histogram +Inf" 7 "$(metric \
    'corral_http_request_duration_seconds_bucket{route="routes[0]",le="+Inf"}')"
check "metrics content type" bash -c "curl -s -m 10 -D - -o /dev/null \
    $A/metrics | grep -qi '^content-type: text/plain; version=0.0.4'"

check_eq "HEAD /status" "200 0" "$(curl -s -m 10 -I -o /dev/null \
    -w '%{http_code} %{size_download}' "$A/status")"
check_eq "POST /metrics" 405 "$(curl -s -m 10 -o /dev/null \
    -w '%{http_code}' -X POST "$A/metrics")"
check_eq "unknown path" 404 "$(curl -s -m 10 -o /dev/null \
    -w '%{http_code}' "$A/nope")"
check_eq "replace in a static pool" 404 "$(curl -s -m 10 -o /dev/null \
    -w '%{http_code}' -X POST "$A/pools/app/vms/0/replace")"
check_eq "replace in no pool" 404 "$(curl -s -m 10 -o /dev/null \
    -w '%{http_code}' -X POST "$A/pools/zz/vms/0/replace")"
APORT=${ADMIN##*:}
check "a bare LF: 400, closed" bash -c "printf 'GET /status HTTP/1.1\\nHost: a\\n\\n' |
    socat -t 5 -T 5 - TCP:127.0.0.1:$APORT | grep -q '^HTTP/1.1 400'"
check "a 2 KiB target: 414" bash -c "printf 'GET /%02000d HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n' 0 |
    socat -t 5 -T 5 - TCP:127.0.0.1:$APORT | grep -q '^HTTP/1.1 414'"
check "keep-alive: two answers on one connection" bash -c \
    "printf 'GET /status HTTP/1.1\\r\\nHost: a\\r\\n\\r\\nGET /nope HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n' |
    socat -t 5 -T 5 - TCP:127.0.0.1:$APORT | grep -c '^HTTP/1.1 ' |
    grep -qx 2"

# A reload keeps the admin listener and the counters.
sed -i 's|path_prefix: /bytes }|path_prefix: /bytes }\n    retries: 1|' "$T/c.yaml"
kill -HUP "$CORRAL_PID"
wait_for "reloaded" 10 grep -q 'config reloaded' "$T/corral.err"
check_eq "counters kept across the reload" 7 \
    "$(metric 'corral_http_requests_total{route="routes[0]",code="200"}')"
check_eq "status after the reload" app "$(curl -s -m 10 "$A/status" |
    json 'd["pools"][0]["name"]')"

# An explicit admin address that is taken: corral does not start.
sed "s|admin: { listen: 127.0.0.1:0 }|admin: { listen: $ADMIN }|" \
    "$T/c.yaml" >"$T/taken.yaml"
t_bg taken "$BUILD/corral" -c "$T/taken.yaml"
t_wait_exit "$(cat "$T/taken.pid")" 10
check_eq "taken admin address: exit 1" 1 "$T_RC"
check "and says why" grep -q "admin: cannot listen on $ADMIN" \
    "$T/taken.err"

# Without an admin key, two corrals both start (127.0.0.1:9901 is the
# default: at most one of them gets it).
grep -v '^admin:' "$T/c.yaml" >"$T/default.yaml"
corral_start default.yaml d1
corral_start default.yaml d2
got=$(cat "$T/d1.err" "$T/d2.err" |
    grep -c 'admin: listening on 127.0.0.1:9901$')
check "at most one has the default port" test "$got" -le 1
check_eq "the others warned and went on" $((2 - got)) "$(cat "$T/d1.err" \
    "$T/d2.err" | grep -c 'admin: cannot listen on 127.0.0.1:9901 (the default): going on')"
t_done
