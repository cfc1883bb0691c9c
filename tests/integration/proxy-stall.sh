#!/usr/bin/env bash
# proxy-stall: corral is stopped (SIGSTOP) while bytes reach it and a
# deadline passes, then let go (SIGCONT), so that the bytes and the
# deadline meet in one pass of the worker's loop, in which timers run
# before the sockets found readable are read (conn_loop()).  The bytes
# came first, and win:
#   - a response that came before the response timeout is passed on,
#     not turned into a 504 (and the backend is not counted as failed);
#   - the end of a head that came before the header timeout is served,
#     not answered 408;
#   - a next request that came before the keep-alive timeout is served,
#     not dropped with the connection.
# Deadlines are 1 s; each stop lasts 1.5 s past the moment it must
# cover, so the checks do not depend on timing within that margin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-stall

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 1
listeners:
  - name: web
    listen: 127.0.0.1:0
    timeouts: { client_header: 1s, keepalive: 1s }
routes:
  - match: { host: "*", path_prefix: /delay }
    pool: app
    timeouts: { response: 1s }
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    servers: [127.0.0.1:$O1_PORT]
    eject: { failures: 1, backoff: 30s }
EOF
corral_start c.yaml

# stall.py PORT ORIGIN_LOG CORRAL_PID CASE: one client, and the stop.
cat >"$T/stall.py" <<'EOF'
import os, signal, socket, sys, time
port, olog, pid, case = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]

def stop():
    os.kill(pid, signal.SIGSTOP)

def cont():
    os.kill(pid, signal.SIGCONT)

def status(s):
    """The status line of the next response, or what ended the read."""
    s.settimeout(10)
    data = b""
    try:
        while b"\r\n" not in data:
            d = s.recv(4096)
            if not d:
                return "closed"
            data += d
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "reset"
    return data.split(b"\r\n")[0].decode(errors="replace")

def drain_response(s):
    """Reads one short response whole (its head and Content-Length)."""
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        body += s.recv(4096)
    return head.split(b"\r\n")[0].decode()

s = socket.create_connection(("127.0.0.1", port))
try:
    if case == "response":
        # The origin answers at 0.5 s; the deadline is at 1 s.
        s.sendall(b"GET /delay/500 HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(250):
            with open(olog) as f:
                if "GET /delay/500 " in f.read():
                    break
            time.sleep(0.02)
        stop()
        time.sleep(2.0)
        cont()
        print(status(s))
    elif case == "head":
        s.sendall(b"GET /?a HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        stop()
        s.sendall(b"\r\n")
        time.sleep(1.5)
        cont()
        print(status(s))
    elif case == "keepalive":
        s.sendall(b"GET /?b HTTP/1.1\r\nHost: x\r\n\r\n")
        print(drain_response(s))
        stop()
        s.sendall(b"GET /?c HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(1.5)
        cont()
        print(status(s))
finally:
    cont()
EOF

out=$(python3 "$T/stall.py" "$PORT" "$T/o1.log" "$CORRAL_PID" response)
check_eq "a response that came before its timeout is passed on" \
    "HTTP/1.1 200 OK" "$out"
# One failure would have ejected the only backend for 30 s.
check_eq "and the backend still serves" "origin o1" \
    "$(curl -s -m 5 "http://127.0.0.1:$PORT/")"

out=$(python3 "$T/stall.py" "$PORT" "$T/o1.log" "$CORRAL_PID" head)
check_eq "a head finished before its timeout is served" \
    "HTTP/1.1 200 OK" "$out"

out=$(python3 "$T/stall.py" "$PORT" "$T/o1.log" "$CORRAL_PID" keepalive)
check_eq "a next request sent before the keep-alive timeout is served" \
    "HTTP/1.1 200 OK
HTTP/1.1 200 OK" "$out"
check_eq "the origin got the next request" 1 "$(lines "$T/o1.log" '^GET /?c ')"

kill -0 "$CORRAL_PID" 2>/dev/null
check_eq "corral still running" 0 $?
t_done
