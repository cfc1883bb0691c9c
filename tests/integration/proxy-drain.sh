#!/usr/bin/env bash
# proxy-drain: SIGTERM stops accepting at once, lets the request in
# flight finish (a /delay/700 completes with its 200), closes idle
# keep-alive clients, and exits 0; past the drain timeout, requests in
# flight are cut and corral still exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-drain

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 2
listeners:
  - name: web
    listen: 127.0.0.1:0
    timeouts: { drain: 10s }
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

# An idle keep-alive client, which draining must not wait for.
python3 - "$PORT" >"$T/idle.out" 2>&1 <<'EOF' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(20)
data = b""
while b"origin o1\n" not in data:
    data += s.recv(4096)
print("answered")
try:
    print("closed" if s.recv(4096) == b"" else "data")
except socket.timeout:
    print("still open")
EOF
idle=$!
wait_for "idle client answered" 10 grep -q answered "$T/idle.out"

t_bg slow curl -s -m 20 -w ' %{http_code}' "$URL/delay/700"
wait_for "the slow request reached the origin" 10 \
    grep -q '^GET /delay/700' "$T/o1.log"
kill -TERM "$CORRAL_PID"
wait_for "new connections refused" 5 \
    bash -c "! curl -s -m 2 -o /dev/null '$URL/'"
t_wait_exit "$(cat "$T/slow.pid")" 20
check_eq "the in-flight request completed" "delayed 700 ms
 200" "$(cat "$T/slow.out")"
t_wait_exit "$idle" 20
check_eq "the idle keep-alive client was closed" closed \
    "$(tail -n 1 "$T/idle.out")"
t_wait_exit "$CORRAL_PID" 20
check_eq "corral exited 0" 0 "$T_RC"
check "drain logged" grep -q 'drained' "$T/corral.err"

# The drain timeout passes with requests still in flight: they are cut,
# and corral frees what the stopped workers left (on the main thread,
# whose caches then hold objects of the workers' event bases) and exits
# 0.  Under memcheck: freeing a cached event reads its event_base inside
# libevent, where AddressSanitizer (make SAN=1) does not look.
cat >"$T/c2.yaml" <<EOF
workers: 1
listeners:
  - name: web
    listen: 127.0.0.1:0
    timeouts: { drain: 300ms }
routes:
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF
: >"$T/corral.err"
vg=()
if ! ldd "$BUILD/corral" | grep -q libasan; then
	vg=(valgrind -q --error-exitcode=99 --leak-check=no)
fi
t_bg corral "${vg[@]}" "$BUILD/corral" -c "$T/c2.yaml"
wait_for "corral listening" 60 grep -q 'listener web: listening on' \
    "$T/corral.err" || t_done
PORT=$(listener_port web)
CORRAL_PID=$(cat "$T/corral.pid")
URL=http://127.0.0.1:$PORT
for i in 1 2 3; do
	t_bg "cut$i" curl -s -m 20 -o /dev/null -w '%{http_code}' \
	    "$URL/delay/5000?n=$i"
done
wait_for "three slow requests reached the origin" 10 \
    bash -c "[ \$(grep -c '^GET /delay/5000' '$T/o1.log') -ge 3 ]"
kill -TERM "$CORRAL_PID"
t_wait_exit "$CORRAL_PID" 20
check_eq "corral exited 0 after the drain timeout${vg:+, memcheck clean}" \
    0 "$T_RC"
check "the drain timeout logged" grep -q 'drain timeout' "$T/corral.err"
for i in 1 2 3; do
	t_wait_exit "$(cat "$T/cut$i.pid")" 20
	check_eq "request $i cut, not answered" 000 "$(cat "$T/cut$i.out")"
done
t_done
