#!/usr/bin/env bash
# run-demo: what `make run` does after its deps step: scripts/run.sh
# makes the certificate, starts corral with conf/examples/corral.yaml
# (HTTP on 127.0.0.1:8080, HTTPS on :8443, admin on :9901, a pool of two
# corral-guest VMs) and says when it is ready; 8080 answers from a VM
# that names itself, 8443 over TLS with the generated certificate, and
# Ctrl-C (SIGINT to its process group, as a terminal sends it) leaves no
# process, no corral-vmm and no socket file.  Fixed ports: the lab is a
# machine of its own, so nothing else holds them there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
. "$(dirname "$0")/pool-lib.bash"
t_init run-demo
skip_unless_kvm

# The example's run directory is $XDG_RUNTIME_DIR/corral-<pid>/hello:
# point it into the scratch directory (under /tmp, where the lab can
# bind Unix sockets) so that what is left behind is ours to count.
export XDG_RUNTIME_DIR=$T/xdg BUILD
mkdir -p "$XDG_RUNTIME_DIR"
demo_vmms() { pgrep -f -- "--vsock-uds $XDG_RUNTIME_DIR/" || true; }

# Job control gives run.sh a process group of its own, with SIGINT not
# ignored, the way an interactive shell starts `make run`.
set -m
t_bg demo "$ROOT/scripts/run.sh"
set +m
DEMO=$(cat "$T/demo.pid")
wait_for "ready message" 120 grep -q 'corral is serving' "$T/demo.out" ||
    { cat "$T/demo.err"; t_done; }
check "certificate made" test -s "$BUILD/certs/site.pem" -a \
    -s "$BUILD/certs/site.key"
check "listeners as in the example" grep -q \
    'listener secure: listening on 127.0.0.1:8443' "$T/demo.err"
check "the banner names the curl lines" grep -q \
    'curl http://127.0.0.1:8080/' "$T/demo.out"
check_eq "two corral-vmm processes" 2 "$(demo_vmms | wc -l)"

code=$(curl -s -m 20 -o "$T/http.body" -w '%{http_code}' \
    http://127.0.0.1:8080/)
check_eq "http 8080" 200 "$code"
check "the answer names a VM" grep -q 'hello-[0-9]' "$T/http.body"
code=$(curl -s -m 20 -o "$T/https.body" -w '%{http_code}' \
    --cacert "$BUILD/certs/site.pem" https://127.0.0.1:8443/)
check_eq "https 8443, certificate verified" 200 "$code"
check "TLS answer names a VM" grep -q 'hello-[0-9]' "$T/https.body"
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -k \
    https://localhost:8443/health)
check_eq "https -k" 200 "$code"
if grep -q 'admin.*listening on' "$T/demo.err"; then
	check_eq "admin /status" 200 "$(curl -s -m 10 -o /dev/null \
	    -w '%{http_code}' http://127.0.0.1:9901/status)"
	check_eq "admin /metrics" 200 "$(curl -s -m 10 -o /dev/null \
	    -w '%{http_code}' http://127.0.0.1:9901/metrics)"
else
	echo "note: no admin listener in this build: /status and /metrics" \
	    "not checked"
fi

kill -INT -- "-$DEMO"
t_wait_exit "$DEMO" 60
check_eq "run.sh exits 0 after Ctrl-C" 0 "$T_RC"
check "corral said its VMs stopped" grep -q 'every VM stopped' \
    "$T/demo.err"
check_eq "no process left in its group" 0 \
    "$(pgrep -g "$DEMO" | wc -l)"
check_eq "no corral-vmm left" 0 "$(demo_vmms | wc -l)"
check_eq "no socket file left" 0 \
    "$(find "$XDG_RUNTIME_DIR" -type s 2>/dev/null | wc -l)"
check_eq "run directory removed" 0 \
    "$(find "$XDG_RUNTIME_DIR" -mindepth 1 2>/dev/null | wc -l)"
echo "-- what the user saw:"
sed 's/^/  | /' "$T/demo.out" "$T/demo.err"
t_done
