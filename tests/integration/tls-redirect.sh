#!/usr/bin/env bash
# tls-redirect.sh: plain-HTTP listeners with redirect_https send 301 (GET,
# HEAD) or 308 (other methods) to the https:// URL, as a port on the same
# host or as a URL prefix; nothing reaches the origin over plain HTTP,
# and following the redirect to the HTTPS listener is served there.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/tls/common.sh"
t_init tls-redirect
tls_certs
tls_origin o1

tls_corral 3 <<EOF2
admin: { listen: "off" }
listeners:
  - name: https
    listen: 127.0.0.1:0
    tls: { cert: $CERTS/a.pem, key: $CERTS/a.key }
    hsts: 1d
  - name: toport
    listen: 127.0.0.1:0
    redirect_https: 8443
  - name: tourl
    listen: 127.0.0.1:0
    redirect_https: "https://secure.a.test/"
routes:
  - match: { host: "*" }
    pool: o
pools:
  - name: o
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF2
P=$(tls_port https)
PP=$(tls_port toport)
PU=$(tls_port tourl)

# redirect PORT METHOD PATH: sets code and loc.
redirect() {
	local out
	out=$(curl -s --max-time "$TLS_TIMEOUT" -o /dev/null -X "$2" \
	    -H 'Host: a.test:8080' -w '%{http_code} %{redirect_url}' \
	    "http://127.0.0.1:$1$3")
	code=${out%% *}
	loc=${out#* }
}

redirect "$PP" GET '/x/y?q=1&r=2'
check_eq "GET to a port: 301" 301 "$code"
check_eq "GET to a port: Location" 'https://a.test:8443/x/y?q=1&r=2' "$loc"
redirect "$PP" POST /form
check_eq "POST to a port: 308 (method kept)" 308 "$code"
check_eq "POST to a port: Location" 'https://a.test:8443/form' "$loc"
redirect "$PU" GET '/x?q=1'
check_eq "GET to a URL: 301" 301 "$code"
check_eq "GET to a URL: Location" 'https://secure.a.test/x?q=1' "$loc"
hsts=$(curl -s --max-time "$TLS_TIMEOUT" -D - -o /dev/null \
    "http://127.0.0.1:$PP/" | grep -ci '^Strict-Transport-Security')
check_eq "no HSTS over plain HTTP" 0 "$hsts"
check_eq "nothing reached the origin over plain HTTP" 0 \
    "$(tls_origin_count o1)"

# Follow it by hand: the 8443 of the config is our HTTPS listener's port.
redirect "$PP" GET /
url=${loc/:8443/:$P}
body=$(tls_curl --resolve "a.test:$P:127.0.0.1" "$url")
check_eq "the redirect target is served over HTTPS" "origin o1" "$body"
t_done
