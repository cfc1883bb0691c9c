#!/usr/bin/env bash
# proxy-retry: one of three backends is down (nothing listens on its
# port).  Every GET still succeeds: a refused connection is retried on
# another backend, which the access log shows.  A refused connection
# means nothing was sent, so a POST is retried as well; with its only
# backend down it gets a 502 once the route's retries are spent.  (That
# a POST already sent is never retried is proxy-kill's subject.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-retry

origin_start o1
origin_start o2
DEAD=$(free_port)
DEAD2=$(free_port)
cat >"$T/c.yaml" <<EOF
workers: 1
log: { level: info, access: stderr }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: dead.test }
    pool: dead
    retries: 2
  - match: { host: "*" }
    pool: app
    retries: 2
pools:
  - name: app
    type: static
    eject: { failures: 0 }
    servers: [127.0.0.1:$O1_PORT, 127.0.0.1:$DEAD, 127.0.0.1:$O2_PORT]
  - name: dead
    type: static
    eject: { failures: 0 }
    servers: [127.0.0.1:$DEAD2]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

ok=0
for i in $(seq 30); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/?i=$i")" = 200 ] &&
	    ok=$((ok + 1))
done
check_eq "30 GETs, none failed" 30 "$ok"
check_eq "the live origins served all 30" 30 \
    $(( $(lines "$T/o1.log" '^GET /?i=') + $(lines "$T/o2.log" '^GET /?i=') ))
n=$(lines "$T/corral.err" '"GET /?i=[0-9]* HTTP/1.1" 200 .* retries=1')
check "retries happened and were logged ($n)" test "$n" -ge 5
ok=0
for i in $(seq 5); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d x "$URL/echo")" = 200 ] &&
	    ok=$((ok + 1))
done
check_eq "PUT (idempotent, body not yet sent) retried too" 5 "$ok"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: dead.test' \
    -d 'x=1' "$URL/echo")
check_eq "POST to a dead backend: 502" 502 "$code"
check "the POST was tried 1 + retries times" \
    grep -q '"POST /echo HTTP/1.1" 502 .* retries=2' "$T/corral.err"
t_done
