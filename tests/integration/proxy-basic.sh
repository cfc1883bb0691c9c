#!/usr/bin/env bash
# proxy-basic: corral in front of two origins, routed by host and path.
# What the client gets (status, body, rewritten headers, HEAD, 404) and
# what the origin saw (Via, X-Forwarded-*, a fresh X-Request-Id, no
# hop-by-hop fields, origin-form target) are both checked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-basic

origin_start o1
origin_start o2
cat >"$T/c.yaml" <<EOF
workers: 2
log: { level: info, access: stderr }
listeners:
  - name: web
    listen: 127.0.0.1:0
  - name: redir
    listen: 127.0.0.1:0
    redirect_https: 8443
routes:
  - match: { host: api.test, path_prefix: /headers }
    pool: two
  - match: { host: "*.api.test" }
    pool: two
  - match: { host: "*", path_prefix: / }
    pool: one
    listeners: [web]
pools:
  - name: one
    type: static
    servers: [127.0.0.1:$O1_PORT]
  - name: two
    type: static
    servers: [127.0.0.1:$O2_PORT]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

body=$(curl -s "$URL/")
check_eq "GET / reaches the catch-all pool" "origin o1" "$body"
body=$(curl -s -H 'Host: API.test:80' "$URL/headers")
check "host route (case and port ignored) reaches pool two" \
    grep -q '^Host: API.test:80' <<<"$body"
check_eq "origin o2 saw it" 1 "$(lines "$T/o2.log" '^GET /headers ')"
body=$(curl -s -H 'Host: v2.api.test' "$URL/")
check_eq "wildcard host route" "origin o2" "$body"

# Rewriting: what the origin received.
hdrs=$(curl -s -H 'Connection: keep-alive, X-Secret' -H 'X-Secret: 1' \
    -H 'Keep-Alive: timeout=5' -H 'TE: trailers' \
    -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Request-Id: forged' \
    -H 'Proxy-Connection: keep-alive' "$URL/headers")
check "Via added" grep -q '^Via: 1.1 corral' <<<"$hdrs"
check "X-Forwarded-For replaced (untrusted peer)" \
    grep -qx $'X-Forwarded-For: 127.0.0.1\r' <<<"$hdrs"
check "X-Forwarded-Proto: http" grep -q '^X-Forwarded-Proto: http' <<<"$hdrs"
check "X-Forwarded-Host" grep -q "^X-Forwarded-Host: 127.0.0.1:$PORT" \
    <<<"$hdrs"
check "X-Request-Id generated, not the client's" \
    grep -Eq $'^X-Request-Id: [0-9a-f]{32}\r$' <<<"$hdrs"
check "hop-by-hop fields removed" \
    bash -c '! grep -Eiq "^(X-Secret|Keep-Alive|TE|Proxy-Connection|Connection):" <<<"$1"' _ "$hdrs"

# Responses: Via added, HEAD without a body, status codes passed on.
resp=$(curl -s -D - -o /dev/null "$URL/status/418")
check "status passed through" grep -q '^HTTP/1.1 418' <<<"$resp"
check "response Via" grep -qi '^Via: 1.1 corral' <<<"$resp"
resp=$(curl -s -I "$URL/bytes/1234")
check "HEAD keeps Content-Length" grep -qi '^Content-Length: 1234' <<<"$resp"
end=$(printf 'HEAD /bytes/1234 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    raw "$PORT" | tail -c 4 | od -An -c | tr -d ' ')
check_eq "HEAD response ends with its head" '\r\n\r\n' "$end"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/status/204")
check_eq "204 passed through" 204 "$code"

# POST with a body, echoed.
body=$(curl -s --data-binary 'hello, corral' "$URL/echo")
check_eq "POST body echoed" "hello, corral" "$body"
check "origin saw a Content-Length body of 13" \
    grep -q '^POST /echo framing=length body=13 ' "$T/o1.log"
# Expect: 100-continue answered, body forwarded.
body=$(curl -s -H 'Expect: 100-continue' --data-binary @/etc/hostname \
    "$URL/echo")
check_eq "Expect: 100-continue body echoed" "$(cat /etc/hostname)" "$body"
# corral answered it: the origin is not asked to.
hdrs=$(curl -s -H 'Expect: 100-continue' --data-binary @/etc/hostname \
    "$URL/headers" | tr -d '\r')
check "the origin saw the request" grep -q '^POST /headers ' <<<"$hdrs"
check_eq "the origin saw no Expect" "" "$(grep -i '^expect:' <<<"$hdrs")"

# Absolute-form target: routed by its authority, sent in origin-form.
resp=$(printf 'GET http://api.test/headers?x=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n' |
    raw "$PORT")
check "absolute-form routed by its authority" grep -q '^Host: api.test' \
    <<<"$resp"
check "origin got origin-form" grep -q '^GET /headers?x=1 ' "$T/o2.log"

# No route: 404 from corral, nothing reaches an origin.
before=$(( $(wc -l <"$T/o1.log") + $(wc -l <"$T/o2.log") ))
code=$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$(listener_port redir)/x" -H 'Host: a.b')
check_eq "redirect listener answers 301" 301 "$code"
loc=$(curl -s -D - -o /dev/null -H 'Host: www.test:80' \
    "http://127.0.0.1:$(listener_port redir)/p?q=1" | tr -d '\r' |
    sed -n 's/^Location: //p')
check_eq "redirect Location" "https://www.test:8443/p?q=1" "$loc"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    "http://127.0.0.1:$(listener_port redir)/x")
check_eq "redirect of a POST is 308" 308 "$code"
after=$(( $(wc -l <"$T/o1.log") + $(wc -l <"$T/o2.log") ))
check_eq "no request reached an origin" "$before" "$after"

check "access log lines written" grep -q '"GET /headers HTTP/1.1" 200' \
    "$T/corral.err"
t_done
