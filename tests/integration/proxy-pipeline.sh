#!/usr/bin/env bash
# proxy-pipeline: pipelined requests in one write (one with a body) are
# answered in order, each forwarded only after the previous response;
# nothing after a "Connection: close" request is served.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-pipeline

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 2
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF
corral_start c.yaml

resp=$(printf '%s' \
    $'GET /delay/200 HTTP/1.1\r\nHost: x\r\n\r\n' \
    $'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nhello\n' \
    $'GET /status/202 HTTP/1.1\r\nHost: x\r\n\r\n' \
    $'GET /status/203 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    $'GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n' | raw "$PORT")
statuses=$(grep -a -o '^HTTP/1.1 [0-9]*' <<<"$resp" | awk '{ print $2 }' |
    tr '\n' ' ')
check_eq "responses in order, none after close" "200 200 202 203 " \
    "$statuses"
check "the delayed response came first" \
    grep -q 'delayed 200 ms' <<<"$(head -c 400 <<<"$resp")"
check "the pipelined body was echoed" grep -q '^hello' <<<"$resp"
order=$(awk '{ print $1 " " $2 }' "$T/o1.log" | tr '\n' ',')
check_eq "origin saw them in order" \
    "GET /delay/200,POST /echo,GET /status/202,GET /status/203," "$order"

# Many small pipelined requests on one connection.
req=""
for i in $(seq 50); do req+=$'GET /?n='$i$' HTTP/1.1\r\nHost: x\r\n\r\n'; done
req+=$'GET /?n=last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
n=$(printf '%s' "$req" | raw "$PORT" | grep -a -c '^HTTP/1.1 200')
check_eq "51 pipelined requests answered" 51 "$n"
t_done
