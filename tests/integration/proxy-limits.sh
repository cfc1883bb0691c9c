#!/usr/bin/env bash
# proxy-limits: requests over the listener's limits are refused by
# corral and never reach the origin: 414 (URI), 431 (header bytes,
# header count), 413 (Content-Length or chunked body over max_body); a
# route's own max_body overrides the listener's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-limits

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 2
listeners:
  - name: web
    listen: 127.0.0.1:0
    limits: { max_uri: 1KiB, max_header_size: 2KiB, max_headers: 10, max_body: 1KiB }
routes:
  - match: { host: "*", path_prefix: "/echo?big" }
    pool: app
    limits: { max_body: 10KiB }
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
long=$(head -c 2000 /dev/zero | tr '\0' a)
check_eq "URI over max_uri: 414" 414 "$(code "$URL/$long")"
check_eq "URI just under max_uri passes" 404 \
    "$(code "$URL/status/404?${long:0:900}")"
check_eq "header bytes over max_header_size: 431" 431 \
    "$(code -H "X-Big: ${long:0:1500}" -H "X-Big2: ${long:0:1000}" "$URL/")"
hs=()
for i in $(seq 12); do hs+=(-H "X-H$i: $i"); done
check_eq "more than max_headers fields: 431" 431 "$(code "${hs[@]}" "$URL/")"
head -c 2000 /dev/zero >"$T/2k"
check_eq "Content-Length over max_body: 413" 413 \
    "$(code --data-binary @"$T/2k" "$URL/echo")"
check_eq "chunked body over max_body: 413" 413 \
    "$(code -H 'Transfer-Encoding: chunked' --data-binary @"$T/2k" \
    "$URL/echo")"
check_eq "the route's larger max_body lets it through" 200 \
    "$(code --data-binary @"$T/2k" "$URL/echo?big=1")"
head -c 20000 /dev/zero >"$T/20k"
check_eq "...up to its own limit" 413 \
    "$(code --data-binary @"$T/20k" "$URL/echo?big=1")"
check_eq "the origin saw only the request within limits" \
    "POST /echo?big=1 framing=length body=2000" \
    "$(grep -v '^REJECT' "$T/o1.log" | grep -v '^GET /status' |
    grep -o '^[A-Z]* [^ ]* framing=[a-z]* body=[0-9]*' | sort -u |
    tr '\n' ' ' | sed 's/ $//')"
check_eq "still serving" 200 "$(code "$URL/")"
t_done
