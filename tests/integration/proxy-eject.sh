#!/usr/bin/env bash
# proxy-eject: passive ejection.  A dead backend fails twice, is ejected
# (logged once), and gets no more attempts during its back-off: every
# request after that goes straight to the live one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-eject

origin_start o1
DEAD=$(free_port)
cat >"$T/c.yaml" <<EOF
workers: 1
log: { level: info, access: stderr }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: "*" }
    pool: app
    retries: 1
pools:
  - name: app
    type: static
    eject: { failures: 2, backoff: 60s, max_backoff: 5m }
    servers: [127.0.0.1:$DEAD, 127.0.0.1:$O1_PORT]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

ok=0
for i in $(seq 20); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/?i=$i")" = 200 ] &&
	    ok=$((ok + 1))
done
check_eq "20 requests, none failed" 20 "$ok"
check_eq "ejected once, logged" 1 \
    "$(lines "$T/corral.err" "backend 127.0.0.1:$DEAD: ejected after 2 failures")"
check_eq "exactly two requests needed a retry" 2 \
    "$(lines "$T/corral.err" '"GET /?i=[0-9]* HTTP/1.1" 200 .* retries=1')"
check_eq "the other 18 went straight to the live backend" 18 \
    "$(lines "$T/corral.err" '"GET /?i=[0-9]* HTTP/1.1" 200 .* retries=0')"
t_done
