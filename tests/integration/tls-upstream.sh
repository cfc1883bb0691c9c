#!/usr/bin/env bash
# tls-upstream.sh: static servers with "tls: true": the certificate is
# verified against "ca:" and the name from "sni:"; a wrong name or
# another CA gives 502 and no request reaches the origin, unless
# "verify: false".
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/tls/common.sh"
t_init tls-upstream
tls_certs
tls_origin up1 --tls "$CERTS/a.pem" "$CERTS/a.key"

tls_corral 1 <<EOF2
admin: { listen: "off" }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: good.test }
    pool: good
  - match: { host: wrongname.test }
    pool: wrongname
  - match: { host: otherca.test }
    pool: otherca
  - match: { host: noverify.test }
    pool: noverify
pools:
  - name: good
    type: static
    servers:
      - { address: "127.0.0.1:$UP1_PORT", tls: true, sni: a.test, ca: $CERTS/ca.pem }
  - name: wrongname
    type: static
    servers:
      - { address: "127.0.0.1:$UP1_PORT", tls: true, sni: b.test, ca: $CERTS/ca.pem }
  - name: otherca
    type: static
    servers:
      - { address: "127.0.0.1:$UP1_PORT", tls: true, sni: a.test, ca: $CERTS/other-ca.pem }
  - name: noverify
    type: static
    servers:
      - { address: "127.0.0.1:$UP1_PORT", tls: true, verify: false }
EOF2
P=$(tls_port web)

# get HOST [PATH]: sets code and body (a new connection each time).
get() {
	local out
	out=$(curl -s --max-time "$TLS_TIMEOUT" -H "Host: $1" \
	    -H 'Connection: close' -w '\n%{http_code}' \
	    "http://127.0.0.1:$P${2:-/}")
	code=${out##*$'\n'}
	body=${out%$'\n'*}
	body=${body%$'\n'}
}

get good.test
check_eq "sni a.test, test CA: 200" 200 "$code"
check_eq "sni a.test, test CA: the origin answered" "origin up1" "$body"
get good.test /headers
check "origin got the request over TLS, forwarded" \
    grep -qi '^X-Forwarded-For: 127.0.0.1' <<<"$body"

before=$(tls_origin_count up1)
get wrongname.test
check_eq "sni b.test against a.test's certificate: 502" 502 "$code"
get otherca.test
check_eq "another CA: 502" 502 "$code"
check_eq "refused upstreams saw no request" "$before" \
    "$(tls_origin_count up1)"
get noverify.test
check_eq "verify: false: 200 whatever the name" 200 "$code"
check_eq "verify: false: the origin answered" "origin up1" "$body"
t_done
