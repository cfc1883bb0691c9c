#!/usr/bin/env bash
# proxy-websocket: an Upgrade request is forwarded with its Upgrade and
# Connection fields; after the origin's 101 corral tunnels raw bytes both
# ways (the origin echoes them) until the client closes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-websocket

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 2
log: { level: info, access: stderr }
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

out=$(python3 - "$PORT" <<'EOF'
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, rest = buf.split(b"\r\n\r\n", 1)
print(head.split(b"\r\n")[0].decode())
for line in head.split(b"\r\n")[1:]:
    print(line.decode())
ok = 0
for size in (1, 100, 70000, 300000):
    data = os.urandom(size)
    s.sendall(data)
    got = rest
    while len(got) < size:
        got += s.recv(65536)
    rest = got[size:]
    ok += got[:size] == data
print("echoed %d/4" % ok)
s.close()
EOF
)
check "101 passed to the client" grep -q '^HTTP/1.1 101' <<<"$out"
check "Upgrade: websocket kept" grep -qi '^Upgrade: websocket' <<<"$out"
check "Connection: upgrade kept" grep -qi '^Connection: upgrade' <<<"$out"
check "Sec-WebSocket-Accept passed" \
    grep -q '^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' <<<"$out"
check_eq "raw bytes tunnelled both ways" "echoed 4/4" "$(tail -n 1 <<<"$out")"
check "origin got the upgrade request" \
    grep -q '^GET /ws .*Upgrade.*Connection\|^GET /ws .*Connection.*Upgrade' \
    "$T/o1.log"
wait_for "tunnel logged when it closed" 10 \
    grep -q '"GET /ws HTTP/1.1" 101' "$T/corral.err"
t_done
