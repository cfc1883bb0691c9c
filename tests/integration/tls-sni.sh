#!/usr/bin/env bash
# tls-sni.sh: one HTTPS listener with three certificates and a default,
# chosen by SNI (exact names, a one-label wildcard); requests reach the
# origin with X-Forwarded-Proto: https, responses carry HSTS, and the
# JSON access log records them as TLS.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/tls/common.sh"
t_init tls-sni
tls_certs
tls_origin o1

tls_corral 1 <<EOF2
workers: 2
admin: { listen: "off" }
log: { access: $T/access.log, format: json }
listeners:
  - name: https
    listen: 127.0.0.1:0
    tls:
      cert: $CERTS/default.pem
      key: $CERTS/default.key
      certs:
        - { cert: $CERTS/a.pem, key: $CERTS/a.key }
        - { cert: $CERTS/b.pem, key: $CERTS/b.key }
        - { cert: $CERTS/wild.pem, key: $CERTS/wild.key }
    hsts: 365d
routes:
  - match: { host: "*" }
    pool: o
pools:
  - name: o
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF2
P=$(tls_port https)

# Subject seen by s_client for each SNI name (none: no -servername).
for pair in a.test:a.test b.test:b.test x.wild.test:*.wild.test \
    y.x.wild.test:default.test unknown.test:default.test -:default.test; do
	sni=${pair%%:*}
	want=${pair#*:}
	if [ "$sni" = - ]; then
		out=$(tls_sclient "$P" -noservername)
	else
		out=$(tls_sclient "$P" -servername "$sni")
	fi
	check_eq "SNI $sni: certificate" "subject=CN = $want" \
	    "$(echo "$out" | grep -m1 '^subject=')"
	check "SNI $sni: request served" grep -q '^origin o1' <<<"$out"
done

# curl checks the name against the certificate: a.test and b.test both
# verify, so each got its own certificate.
for h in a.test b.test; do
	body=$(tls_curl --resolve "$h:$P:127.0.0.1" "https://$h:$P/")
	check_eq "curl https://$h/" "origin o1" "$body"
done
check "curl for wild: x.wild.test verifies" tls_curl -o /dev/null \
    --resolve "x.wild.test:$P:127.0.0.1" "https://x.wild.test:$P/"
rc=0
tls_curl -o /dev/null --resolve "c.test:$P:127.0.0.1" "https://c.test:$P/" ||
    rc=$?
check "curl https://c.test/ gets default.test and refuses it" \
    test "$rc" -ne 0

# What the origin saw, and the HSTS header.
hdrs=$(tls_curl -D "$T/resp.h" --resolve "a.test:$P:127.0.0.1" \
    "https://a.test:$P/headers")
check "origin saw X-Forwarded-Proto: https" \
    grep -qi '^X-Forwarded-Proto: https' <<<"$hdrs"
check "response has Strict-Transport-Security: max-age=31536000" \
    grep -qi '^Strict-Transport-Security: max-age=31536000' "$T/resp.h"

# The access log line of that request.
wait_for "access log line for /headers" 5 \
    grep -q '"target":"/headers"' "$T/access.log"
line=$(grep '"target":"/headers"' "$T/access.log" | head -n 1)
check "access log: status 200, tls true" \
    grep -q '"status":200,.*"tls":true}$' <<<"$line"
check "access log: upstream is the origin" \
    grep -q "\"upstream\":\"127.0.0.1:$O1_PORT\"" <<<"$line"
if command -v python3 >/dev/null; then
	check "access log: every line is JSON" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    json.loads(l)' "$T/access.log"
fi
t_done
