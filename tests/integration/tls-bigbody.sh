#!/usr/bin/env bash
# tls-bigbody.sh: big bodies through TLS on both sides (HTTPS from the
# client, TLS to the origin): a 64 MiB random upload echoed back byte for
# byte, 256 MiB each way counted, and corral's peak RSS flat, so reading
# and writing TLS keep the same backpressure as plain sockets; then 200
# requests on one kept-alive HTTPS connection.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/tls/common.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init tls-bigbody
# Under ASan freed memory waits in a quarantine: RSS would measure that.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1
tls_certs
tls_origin up1 --tls "$CERTS/a.pem" "$CERTS/a.key"

tls_corral 1 <<EOF2
workers: 1
admin: { listen: "off" }
listeners:
  - name: https
    listen: 127.0.0.1:0
    tls: { cert: $CERTS/a.pem, key: $CERTS/a.key }
routes:
  - match: { host: "*" }
    pool: up
pools:
  - name: up
    type: static
    servers:
      - { address: "127.0.0.1:$UP1_PORT", tls: true, sni: a.test, ca: $CERTS/ca.pem }
EOF2
P=$(tls_port https)
URL=https://a.test:$P
C=(curl -s --max-time 120 --cacert "$CERTS/ca.pem" --resolve "a.test:$P:127.0.0.1")

for i in $(seq 4); do "${C[@]}" -o /dev/null --data-binary x "$URL/echo"; done
before=$(vm_hwm "$CORRAL_PID")

head -c $((64 << 20)) /dev/urandom >"$T/random"
want=$(sha256sum <"$T/random" | cut -d' ' -f1)
got=$("${C[@]}" --data-binary @"$T/random" "$URL/echo" | sha256sum |
    cut -d' ' -f1)
check_eq "64 MiB random upload echoed back unchanged" "$want" "$got"
rm -f "$T/random"

MIB256=$((256 << 20))
n=$(head -c $MIB256 /dev/zero | "${C[@]}" -T - -H 'Transfer-Encoding:' \
    -H "Content-Length: $MIB256" "$URL/echo" | wc -c)
check_eq "256 MiB upload echoed back" $MIB256 "$n"
n=$("${C[@]}" "$URL/bytes/$MIB256" | wc -c)
check_eq "256 MiB download" $MIB256 "$n"

after=$(vm_hwm "$CORRAL_PID")
echo "VmHWM before ${before} kB, after ${after} kB"
check "peak RSS grew by less than 16 MiB (${before} -> ${after} kB)" \
    test $((after - before)) -lt 16384

# One connection, 200 requests: curl reuses it for every URL.
urls=()
for i in $(seq 200); do urls+=(-o /dev/null "$URL/?n=$i"); done
out=$("${C[@]}" -w '%{http_code} %{num_connects}\n' "${urls[@]}")
check_eq "200 requests answered 200" 200 "$(grep -c '^200 ' <<<"$out")"
check_eq "...over one connection" 1 \
    "$(awk '{ n += $2 } END { print n }' <<<"$out")"
t_done
