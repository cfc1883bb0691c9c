#!/usr/bin/env bash
# tls-mtls.sh: client certificates.  verify_client required: a cert from
# the configured CA is served; no cert, an expired one or one from
# another CA fail the handshake and reach no origin.  optional: no cert
# is served too, a bad one is still refused.  The combined access log
# records the requests that were served.  A subject a client sends is
# dropped; the origin sees only corral's.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/tls/common.sh"
t_init tls-mtls
tls_certs
tls_origin o1

tls_corral 2 <<EOF2
admin: { listen: "off" }
log: { access: $T/access.log, format: combined }
listeners:
  - name: required
    listen: 127.0.0.1:0
    tls:
      cert: $CERTS/a.pem
      key: $CERTS/a.key
      client_ca: $CERTS/ca.pem
      verify_client: required
  - name: optional
    listen: 127.0.0.1:0
    tls:
      cert: $CERTS/a.pem
      key: $CERTS/a.key
      client_ca: $CERTS/ca.pem
      verify_client: optional
routes:
  - match: { host: "*" }
    pool: o
pools:
  - name: o
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF2

# get LISTENER CERT: curl's exit status and body; CERT "-" for none.
get() {
	local port args=()
	port=$(tls_port "$1")
	[ "$2" = - ] || args=(--cert "$CERTS/$2.pem" --key "$CERTS/$2.key")
	rc=0
	body=$(tls_curl "${args[@]}" --resolve "a.test:$port:127.0.0.1" \
	    -A "mtls-$1-$2" "https://a.test:$port/") || rc=$?
}

for l in required optional; do
	get "$l" client
	check_eq "$l: CA-signed client cert served" "origin o1" "$body"
done
get optional -
check_eq "optional: no client cert served" "origin o1" "$body"
served=$(tls_origin_count o1)
check_eq "origin saw the three served requests" 3 "$served"

for c in required:- required:expired required:other optional:expired \
    optional:other; do
	get "${c%%:*}" "${c#*:}"
	check "${c%%:*}: client cert ${c#*:} refused (curl exit $rc)" \
	    test "$rc" -ne 0
	check_eq "${c%%:*}: client cert ${c#*:}: no body" "" "$body"
done
check_eq "origin saw no refused request" "$served" "$(tls_origin_count o1)"

# s_client shows the reason: the server's alert.
out=$(tls_sclient "$(tls_port required)" -servername a.test \
    -cert "$CERTS/expired.pem" -key "$CERTS/expired.key")
check "expired cert: server alerts certificate expired" \
    grep -q 'alert certificate expired' <<<"$out"
out=$(tls_sclient "$(tls_port required)" -servername a.test \
    -cert "$CERTS/other.pem" -key "$CERTS/other.key")
check "unknown CA: server alerts unknown ca" \
    grep -q 'alert unknown ca' <<<"$out"

wait_for "access log: three lines" 5 \
    test "$(grep -c . "$T/access.log")" -ge 3
check_eq "access log: only served requests, one line each" 3 \
    "$(grep -c '" 200 [0-9]* "-" "mtls-' "$T/access.log")"
re='^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] '
re+='"GET / HTTP/1\.1" 200 [0-9]+ "-" "mtls-required-client" '
re+='rt=[0-9.]+ uct=[0-9.]+ ttfb=[0-9.]+ up=127\.0\.0\.1:[0-9]+ '
re+='route=routes\[0\] pool=o rid=[^ ]+ retries=0$'
check "access log: combined format with corral's fields" \
    grep -Eq "$re" "$T/access.log"

# Only corral says who the client is: a client's own X-Client-Cert-Subject
# never reaches the origin, whatever its case; corral's does, once.
hdrs() {
	local port
	port=$(tls_port "$1")
	[ "$2" = - ] || args=(--cert "$CERTS/$2.pem" --key "$CERTS/$2.key")
	[ "$2" != - ] || args=()
	tls_curl "${args[@]}" --resolve "a.test:$port:127.0.0.1" \
	    -H 'X-Client-Cert-Subject: CN=forged' \
	    -H 'x-client-cert-subject: CN=forged too' \
	    "https://a.test:$port/headers" | tr -d '\r' |
	    grep -i '^x-client-cert-subject:' || true
}
check_eq "mTLS: the origin sees corral's subject only" \
    "X-Client-Cert-Subject: CN=client one" "$(hdrs required client)"
check_eq "no client cert: the origin sees no subject at all" "" \
    "$(hdrs optional -)"
t_done
