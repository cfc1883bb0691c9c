#!/usr/bin/env bash
# proxy-keepalive: connections are kept alive on both sides.  One client
# connection carrying 20 requests opens one connection to the origin;
# 20 separate clients still share the workers' pooled connections (the
# origin sees far fewer connections than requests); an idle client is
# closed after the keep-alive timeout; a backend that closes its end
# ("Connection: close") costs nothing to the next request.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-keepalive

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 2
listeners:
  - name: web
    listen: 127.0.0.1:0
    timeouts: { keepalive: 1s }
routes:
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    keepalive: { idle: 8, timeout: 30s }
    servers: [127.0.0.1:$O1_PORT]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

urls=()
for i in $(seq 20); do urls+=("$URL/?i=$i"); done
connects=$(curl -s -o /dev/null -w '%{num_connects}\n' "${urls[@]}" |
    awk '{ n += $1 } END { print n }')
check_eq "client side: 20 requests over one connection" 1 "$connects"
check_eq "origin got the 20 requests" 20 "$(lines "$T/o1.log" '^GET /?i=')"
n=$(tcp_conns "$O1_PORT")
check "origin side: one connection for them (got $n)" test "$n" -eq 1

for i in $(seq 20); do
	curl -s -o /dev/null "$URL/?j=$i" || break
done
check_eq "20 more clients served" 20 "$(lines "$T/o1.log" '^GET /?j=')"
n=$(tcp_conns "$O1_PORT")
check "origin saw far fewer connections than 40 requests (got $n)" \
    test "$n" -le 4

# The backend closes after this one: the next request gets a new one.
body=$(curl -s "$URL/close" "$URL/")
check_eq "request after a backend close" $'closing\norigin o1' "$body"

# An idle client is closed silently once the keep-alive timeout passes.
out=$(python3 - "$PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
data = b""
while b"origin o1\n" not in data:
    data += s.recv(4096)
t0 = time.monotonic()
try:
    rest = s.recv(4096)
    print("closed" if rest == b"" else "data", "%.1f" % (time.monotonic() - t0))
except socket.timeout:
    print("open")
EOF
)
check "idle keep-alive connection closed by corral ($out)" \
    grep -q '^closed' <<<"$out"
t_done
