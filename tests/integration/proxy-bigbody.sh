#!/usr/bin/env bash
# proxy-bigbody: a 1 GiB request body and a 1 GiB response body stream
# through corral with its memory flat: backpressure bounds what any
# connection buffers, whatever the body size.  The bound is checked on
# VmHWM (peak RSS), not on time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-bigbody
# Under ASan (make SAN=1), freed memory waits in a quarantine of up to
# 256 MiB by default: RSS would measure that, not corral.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1

GIB=1073741824
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

# Warm up both workers, then take the baseline.
for i in $(seq 8); do curl -s -o /dev/null --data-binary 'x' "$URL/echo"; done
before=$(vm_hwm "$CORRAL_PID")

n=$(head -c $GIB /dev/zero | curl -s -T - -H 'Transfer-Encoding:' \
    -H "Content-Length: $GIB" \
    "$URL/echo" | wc -c)
check_eq "1 GiB Content-Length upload echoed back" $GIB "$n"
check "origin got all of it" \
    grep -q "^PUT /echo framing=length body=$GIB " "$T/o1.log"
n=$(curl -s "$URL/bytes/$GIB" | wc -c)
check_eq "1 GiB download" $GIB "$n"
n=$(head -c $((GIB / 4)) /dev/zero | curl -s -T - "$URL/echo" | wc -c)
check_eq "256 MiB chunked upload echoed back" $((GIB / 4)) "$n"

after=$(vm_hwm "$CORRAL_PID")
echo "VmHWM before ${before} kB, after ${after} kB"
check "peak RSS grew by less than 16 MiB (${before} -> ${after} kB)" \
    test $((after - before)) -lt 16384
t_done
