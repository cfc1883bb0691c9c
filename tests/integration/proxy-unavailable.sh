#!/usr/bin/env bash
# proxy-unavailable: every backend of a pool is down.  Once they are
# ejected the client gets a 503 naming the pool at once; a pool that
# never ejects answers 502 once its retries are spent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-unavailable

D1=$(free_port)
D2=$(free_port)
cat >"$T/c.yaml" <<EOF
workers: 1
log: { level: info, access: stderr }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: noeject.test }
    pool: noeject
  - match: { host: "*" }
    pool: down
pools:
  - name: down
    type: static
    eject: { failures: 1, backoff: 60s }
    servers: [127.0.0.1:$D1, 127.0.0.1:$D2]
  - name: noeject
    type: static
    eject: { failures: 0 }
    servers: [127.0.0.1:$D1]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

for i in 1 2 3; do
	resp=$(curl -s -w ' %{http_code}' "$URL/")
	check_eq "all backends down, request $i: 503 naming the pool" \
	    "no backend available for pool down
 503" "$resp"
done
check_eq "both backends ejected" 2 "$(lines "$T/corral.err" 'ejected after 1 failures')"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: noeject.test' "$URL/")
check_eq "no ejection, retries spent: 502" 502 "$code"
t_done
