#!/usr/bin/env bash
# proxy-timeouts: a client that sends its head slowly gets a 408 while
# other clients are served meanwhile; a body that stalls gets a 408; a
# backend that never answers gets the client a 504; an idle connection
# is closed.  Timeouts are short here; the checks wait with deadlines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-timeouts

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 1
listeners:
  - name: web
    listen: 127.0.0.1:0
    timeouts: { client_header: 1s, client_body: 1s, keepalive: 1s }
routes:
  - match: { host: "*", path_prefix: /hang }
    pool: app
    timeouts: { response: 1s }
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

# One worker: the slow client shares its loop with everyone else.
python3 - "$PORT" >"$T/slow.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
s.settimeout(10)
t0 = time.monotonic()
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except socket.timeout:
    pass
print(data.split(b"\r\n")[0].decode(errors="replace"))
EOF
slow=$!
ok=0
for i in $(seq 10); do
	[ "$(curl -s -m 5 "$URL/")" = "origin o1" ] && ok=$((ok + 1))
done
check_eq "other clients served while one sends its head slowly" 10 "$ok"
wait "$slow"
check_eq "the slow head got a 408" "HTTP/1.1 408 Request Timeout" \
    "$(cat "$T/slow.out")"

out=$(python3 - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /status/201 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
s.settimeout(10)
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except socket.timeout:
    pass
print(data.split(b"\r\n")[0].decode(errors="replace"))
EOF
)
check_eq "a stalled body got a 408" "HTTP/1.1 408 Request Timeout" "$out"

code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/hang")
check_eq "a backend that never answers: 504" 504 "$code"
check_eq "the origin got the request" 1 "$(lines "$T/o1.log" '^GET /hang ')"
check_eq "and the next request is fine" "origin o1" "$(curl -s -m 5 "$URL/")"
t_done
