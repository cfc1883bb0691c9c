#!/usr/bin/env bash
# proxy-transports: the connectors behind one interface.  A Unix-socket
# origin; a VM's vsock socket as corral-vmm offers it (here a small fake:
# "CONNECT <port>\n" answered "OK <n>\n", then HTTP); a vsock socket that
# refuses the port (502) and one that never answers the handshake (the
# connect timeout: 503).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-transports

origin_start o1 --unix "$T/o1.sock"
wait_for "origin unix socket" 10 test -S "$T/o1.sock"

# fakevm PATH MODE: MODE ok (serve HTTP after OK), no (refuse), mute.
cat >"$T/fakevm.py" <<'EOF'
import os, socket, sys, threading
path, mode = sys.argv[1], sys.argv[2]
log = open(path + ".log", "a", buffering=1)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
def serve(c):
    f = c.makefile("rb")
    line = f.readline()
    log.write(line.decode(errors="replace"))
    if mode == "mute":
        f.read()
        return
    if mode == "no" or line != b"CONNECT 8080\n":
        c.sendall(b"NO\n")
        c.close()
        return
    c.sendall(b"OK 1073741825\n")
    while True:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            b = f.read(1)
            if not b:
                return
            head += b
        log.write(head.split(b"\r\n")[0].decode() + "\n")
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nvsock ok\n")
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
for m in ok no mute; do
	t_bg "vm$m" python3 "$T/fakevm.py" "$T/vm-$m.vsock" "$m"
	wait_for "fake vm ($m) listening" 10 test -S "$T/vm-$m.vsock"
done

cat >"$T/c.yaml" <<EOF
workers: 1
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: unix.test }
    pool: unix
  - match: { host: vm.test }
    pool: vm
  - match: { host: no.test }
    pool: no
  - match: { host: mute.test }
    pool: mute
    timeouts: { connect: 300ms }
pools:
  - name: unix
    type: static
    servers: ["unix:$T/o1.sock"]
  - name: vm
    type: static
    servers: ["vsock:$T/vm-ok.vsock:8080"]
  - name: no
    type: static
    eject: { failures: 0 }
    servers: ["vsock:$T/vm-no.vsock:8080"]
  - name: mute
    type: static
    eject: { failures: 0 }
    servers: ["vsock:$T/vm-mute.vsock:8080"]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

check_eq "unix socket origin" "origin o1" "$(curl -s -H 'Host: unix.test' "$URL/")"
body=$(curl -s -H 'Host: vm.test' "$URL/a" "$URL/b" "$URL/c")
check_eq "vsock: three requests answered" "vsock ok
vsock ok
vsock ok" "$body"
check_eq "vsock: one handshake, one kept-alive stream" \
    "CONNECT 8080,GET /a HTTP/1.1,GET /b HTTP/1.1,GET /c HTTP/1.1" \
    "$(paste -sd, "$T/vm-ok.vsock.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: no.test' "$URL/")
check_eq "vsock port refused: 502" 502 "$code"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Host: mute.test' \
    "$URL/")
check_eq "vsock handshake never answered: connect timeout, 503" 503 "$code"
t_done
