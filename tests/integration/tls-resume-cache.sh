#!/usr/bin/env bash
# tls-resume-cache.sh: resumption from the server-side session cache
# with tickets off (session ids under TLS 1.2, stateful tickets under
# 1.3), openssl s_client -sess_out then -sess_in.  The cache is shared by
# the workers.  It keeps only sessions of connections closed cleanly:
# corral must call tls_ssl_finish() before it frees a TLS connection.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/fixtures/tls/common.sh"
t_init tls-resume-cache
tls_certs
tls_origin o1

tls_corral 1 <<EOF2
workers: 2
admin: { listen: "off" }
listeners:
  - name: cache
    listen: 127.0.0.1:0
    tls:
      cert: $CERTS/a.pem
      key: $CERTS/a.key
      tickets: off
      session_cache: 1MiB
routes:
  - match: { host: "*" }
    pool: o
pools:
  - name: o
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF2

# resume LISTENER VERSION SNI: a full handshake, then four resumptions.
resume() {
	local port ver=$2 sni=$3 out i
	port=$(tls_port "$1")
	rm -f "$T/sess.pem"
	out=$(tls_sclient "$port" "-$ver" -servername "$sni" \
	    -sess_out "$T/sess.pem")
	check "$1 $ver: first handshake is new" grep -q '^New, ' <<<"$out"
	check "$1 $ver: first request served" grep -q '^origin o1' <<<"$out"
	check "$1 $ver: session saved" test -s "$T/sess.pem"
	# SO_REUSEPORT spreads connections over the workers: resuming four
	# times makes it most unlikely that one worker took them all.
	for i in 1 2 3 4; do
		out=$(tls_sclient "$port" "-$ver" -servername "$sni" \
		    -sess_in "$T/sess.pem")
		check "$1 $ver: resumption $i reused" \
		    grep -q '^Reused, ' <<<"$out"
		check "$1 $ver: resumption $i served" \
		    grep -q '^origin o1' <<<"$out"
	done
}

resume cache tls1_3 a.test
resume cache tls1_2 a.test
t_done
