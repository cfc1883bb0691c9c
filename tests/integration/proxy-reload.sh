#!/usr/bin/env bash
# proxy-reload: SIGHUP under a steady loop of requests.  A valid new file
# (the route now points at another origin) is swapped in with no failed
# request, and requests on an already open keep-alive connection move to
# it too; a broken file is reported, every error at its line, and the
# running configuration keeps serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-reload

origin_start o1
origin_start o2
conf() {	# conf ORIGIN_PORT
	cat <<EOF
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
    servers: [127.0.0.1:$1]
EOF
}
conf "$O1_PORT" >"$T/c.yaml"
corral_start c.yaml
URL=http://127.0.0.1:$PORT

# Bounded request loops: new connections, and one keep-alive connection.
(
	for i in $(seq 400); do
		curl -s -m 5 -o /dev/null -w '%{http_code}\n' "$URL/?loop=$i"
	done >"$T/codes"
) &
loop=$!
urls=()
for i in $(seq 300); do urls+=("$URL/delay/20?ka=$i"); done
(curl -s -m 60 -w '\n%{http_code}\n' "${urls[@]}" >"$T/ka.out") &
ka=$!

wait_for "the loops are running" 10 \
    bash -c "[ \$(grep -c . '$T/codes' 2>/dev/null || echo 0) -ge 20 ]"
# Same listener, new backend: this must be swapped in.
conf "$O2_PORT" >"$T/c.yaml.new"
mv "$T/c.yaml.new" "$T/c.yaml"
kill -HUP "$CORRAL_PID"
wait_for "config reloaded" 10 grep -q 'config reloaded' "$T/corral.err"
wait_for "new requests reach the new origin" 10 \
    grep -q '^GET /?loop=' "$T/o2.log"
t_wait_exit "$loop" 120
t_wait_exit "$ka" 120
check_eq "all 400 new-connection requests got a 200" "400" \
    "$(grep -c '^200$' "$T/codes")"
check_eq "all 300 keep-alive requests got an answer" 300 \
    "$(grep -c "^delayed 20 ms" "$T/ka.out")"
check "the keep-alive connection moved to the new origin" \
    grep -q "^GET /delay/20?ka=" "$T/o2.log"
check "...after starting on the old one" grep -q "^GET /delay/20?ka=1 " "$T/o1.log"

# A broken file: reported, and the running configuration stays.
printf 'listeners:\n  - name: web\n    listen: nonsense\nroutes: [\n' \
    >"$T/c.yaml"
kill -HUP "$CORRAL_PID"
wait_for "bad reload reported" 10 grep -q 'reload failed' "$T/corral.err"
check "the error names the file and line" grep -q "c.yaml:[0-9]*:[0-9]*: " \
    "$T/corral.err"
check_eq "still serving from the reloaded configuration" "origin o2" \
    "$(curl -s -m 5 "$URL/")"
# A valid file that moves a listener needs a restart: refused too.
conf "$O1_PORT" | sed 's/127.0.0.1:0/127.0.0.1:1/' >"$T/c.yaml"
kill -HUP "$CORRAL_PID"
wait_for "listener change refused" 10 grep -q 'needs a restart' \
    "$T/corral.err"
check_eq "still the same configuration" "origin o2" "$(curl -s -m 5 "$URL/")"
check "corral still runs" kill -0 "$CORRAL_PID"
t_done
