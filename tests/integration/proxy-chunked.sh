#!/usr/bin/env bash
# proxy-chunked: bodies are re-framed both ways.  A chunked request body
# reaches the origin chunked and comes back intact; a Content-Length one
# keeps its length; a chunked response reaches an HTTP/1.1 client
# chunked and an HTTP/1.0 client delimited by the close.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-chunked

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
URL=http://127.0.0.1:$PORT
head -c 3000000 /dev/urandom >"$T/blob"
sum=$(md5sum <"$T/blob")

got=$(curl -s -H 'Transfer-Encoding: chunked' --data-binary @"$T/blob" \
    "$URL/echo" | md5sum)
check_eq "chunked request body echoed intact" "$sum" "$got"
check "origin got it chunked, all of it" \
    grep -q '^POST /echo framing=chunked body=3000000 ' "$T/o1.log"
got=$(curl -s --data-binary @"$T/blob" "$URL/echo" | md5sum)
check_eq "Content-Length request body echoed intact" "$sum" "$got"
check "origin got a Content-Length body" \
    grep -q '^POST /echo framing=length body=3000000 ' "$T/o1.log"

# Hand-made chunks with extensions and a trailer: de-chunked, re-chunked.
resp=$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n' |
    raw "$PORT")
check "response to a chunked request is chunked" \
    grep -qi '^Transfer-Encoding: chunked' <<<"$resp"
body=$(curl -s --raw -H 'Transfer-Encoding: chunked' --data-binary 'abc' \
    "$URL/echo" | tr -d '\r' | tr '\n' '|')
check_eq "chunk framing on the wire" "3|abc|0||" "$body"

hdrs=$(curl -s -D - -o "$T/b11" "$URL/bytes/100000?chunked=1")
check "HTTP/1.1 client: chunked response stays chunked" \
    grep -qi '^Transfer-Encoding: chunked' <<<"$hdrs"
check_eq "HTTP/1.1 client: all bytes" 100000 "$(wc -c <"$T/b11")"
hdrs=$(curl -s --http1.0 -D - -o "$T/b10" "$URL/bytes/100000?chunked=1")
check "HTTP/1.0 client: no chunked framing" \
    bash -c '! grep -qi "^Transfer-Encoding" <<<"$1"' _ "$hdrs"
check "HTTP/1.0 client: connection closes" grep -qi '^Connection: close' \
    <<<"$hdrs"
check_eq "HTTP/1.0 client: all bytes" 100000 "$(wc -c <"$T/b10")"
t_done
