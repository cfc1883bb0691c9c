#!/usr/bin/env bash
# tls-alpn-version.sh: ALPN selects http/1.1, an h2-only client gets no
# ALPN and is still served over HTTP/1.1, TLS 1.3 is negotiated by
# default, TLS 1.2 is accepted by default and refused by a listener with
# min_version "1.3".
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/tls/common.sh"
t_init tls-alpn-version
tls_certs
tls_origin o1

tls_corral 2 <<EOF2
admin: { listen: "off" }
listeners:
  - name: any
    listen: 127.0.0.1:0
    tls: { cert: $CERTS/a.pem, key: $CERTS/a.key }
  - name: only13
    listen: 127.0.0.1:0
    tls: { cert: $CERTS/a.pem, key: $CERTS/a.key, min_version: "1.3" }
routes:
  - match: { host: "*" }
    pool: o
pools:
  - name: o
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF2
P=$(tls_port any)
P13=$(tls_port only13)

out=$(tls_sclient "$P" -servername a.test -alpn h2,http/1.1)
check "ALPN h2,http/1.1: http/1.1 selected" \
    grep -q '^ALPN protocol: http/1.1' <<<"$out"
check "TLS 1.3 by default" grep -q '^New, TLSv1.3' <<<"$out"
check "served" grep -q '^origin o1' <<<"$out"

out=$(tls_sclient "$P" -servername a.test -alpn h2)
check "ALPN h2 only: nothing selected" \
    grep -q '^No ALPN negotiated' <<<"$out"
check "ALPN h2 only: still served over HTTP/1.1" \
    grep -q '^origin o1' <<<"$out"

v=$(tls_curl -o /dev/null -w '%{http_version}' \
    --resolve "a.test:$P:127.0.0.1" "https://a.test:$P/")
check_eq "curl (offers h2 and http/1.1) speaks HTTP/1.1" 1.1 "$v"

out=$(tls_sclient "$P" -servername a.test -tls1_2)
check "TLS 1.2 accepted by default" grep -q '^New, TLSv1.2' <<<"$out"
aead='(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)'
check "TLS 1.2: forward-secret AEAD cipher" \
    grep -Eq "^New, TLSv1.2, Cipher is ECDHE-(ECDSA|RSA)-$aead\$" <<<"$out"

before=$(tls_origin_count o1)
out=$(tls_sclient "$P13" -servername a.test -tls1_2)
check "min_version 1.3: TLS 1.2 client refused" \
    grep -q 'alert protocol version' <<<"$out"
rc=0
tls_curl -o /dev/null --tls-max 1.2 --resolve "a.test:$P13:127.0.0.1" \
    "https://a.test:$P13/" || rc=$?
check "min_version 1.3: curl --tls-max 1.2 fails" test "$rc" -ne 0
check_eq "min_version 1.3: refused clients reached no origin" "$before" \
    "$(tls_origin_count o1)"
out=$(tls_sclient "$P13" -servername a.test)
check "min_version 1.3: TLS 1.3 client served" \
    grep -q '^origin o1' <<<"$out"
t_done
