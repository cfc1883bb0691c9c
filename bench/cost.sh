#!/usr/bin/env bash
# bench/cost.sh: what a proxied request costs corral, nginx and HAProxy,
# counted rather than timed, so the figures hold on a busy or shared
# machine where req/s moves by 10-30 % between identical runs:
#
#   - system calls per request (strace -c on the proxy during a wrk run);
#   - user-space instructions per request (valgrind --tool=callgrind on
#     the proxy for a whole run, start-up included, divided by the
#     requests wrk completed: repeatable for the same binary and input).
#
# The kernel's share of a request is about its system calls (loopback
# TCP: the work done in the kernel is the same for every proxy), the
# rest is the instructions; together they explain CPU per request.
#
#   bench/cost.sh                          # ka100 close100 tlska100, 3 proxies
#   SCENARIOS=ka100 PROXIES=corral bench/cost.sh
#
# One worker each, the shared harness's origin and peer configs
# (../shared/bench/), proxy on CPU 0, origin and wrk on CPU 1, 16
# connections.  Ports: PROXY_PORT (18100), PROXY_TLS_PORT (18440),
# ORIGIN_PORT (18080).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
SHARED=${SHARED:-$ROOT/../shared/bench}
SCENARIOS=${SCENARIOS:-ka100 close100 tlska100}
PROXIES=${PROXIES:-corral nginx haproxy}
port=${PROXY_PORT:-18100} tport=${PROXY_TLS_PORT:-18440}
oport=${ORIGIN_PORT:-18080}

need=()
for p in wrk nginx haproxy strace valgrind; do
	command -v "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "cost.sh: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" \
	    >/dev/null
	for s in nginx haproxy; do
		systemctl stop "$s" >/dev/null 2>&1 || true
	done
fi
make -s "$BUILD"/corral
for i in "$port" "$tport" "$oport"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$i") 2>/dev/null; then
		echo "cost.sh: port $i is in use" >&2
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/corral-cost.XXXXXX)
opid= ppid_=
cleanup() {
	[ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null
	[ -n "$opid" ] && kill "$opid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cc -O2 -o "$tmp/origin" "$SHARED/origin.c"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 2 -subj /CN=localhost -keyout "$tmp/key.pem" \
    -out "$tmp/cert.pem" 2>/dev/null
cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/bundle.pem"
taskset -c 1 "$tmp/origin" -a 127.0.0.1 -p "$oport" >"$tmp/origin.log" 2>&1 &
opid=$!

# proxy_cmd NAME: CMD=(the command line), its config written into
# $tmp/NAME/.
proxy_cmd() {
	local d=$tmp/$1
	rm -rf "$d"
	mkdir -p "$d"
	case $1 in
	corral)
		cat >"$d/corral.yaml" <<EOF
workers: 1
log: { level: warn, access: off }
admin: off
listeners:
  - { name: plain, listen: "127.0.0.1:$port" }
  - name: tls
    listen: "127.0.0.1:$tport"
    tls: { cert: $tmp/cert.pem, key: $tmp/key.pem, min_version: "1.2" }
routes:
  - { match: { host: "*", path_prefix: / }, pool: origin }
pools:
  - name: origin
    type: static
    servers: [ "127.0.0.1:$oport" ]
    keepalive: { idle: 256, timeout: 60s }
EOF
		CMD=("$ROOT/$BUILD/corral" -c "$d/corral.yaml") ;;
	nginx|haproxy)
		local conf=$SHARED/configs/$1.conf
		[ "$1" = haproxy ] && conf=$SHARED/configs/haproxy.cfg
		sed -e "s|@PORT@|$port|g; s|@TLS_PORT@|$tport|g" \
		    -e "s|@ORIGIN_PORT@|$oport|g; s|@DIR@|$d|g" \
		    -e "s|@WORKERS@|1|g; s|@CERT@|$tmp/cert.pem|g" \
		    -e "s|@KEY@|$tmp/key.pem|g; s|@BUNDLE@|$tmp/bundle.pem|g" \
		    "$conf" >"$d/$(basename "$conf")"
		if [ "$1" = nginx ]; then
			# One process: the worker is what is measured.
			CMD=(nginx -p "$d" -c "$d/nginx.conf" -g
			    "daemon off; master_process off;")
		else
			CMD=(haproxy -db -f "$d/haproxy.cfg")
		fi ;;
	esac
}

# up: waits until the proxy answers on the plain port (valgrind is slow).
up() {
	local i
	for ((i = 0; i < 150; i++)); do
		curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/100" &&
		    return 0
		sleep 0.2
	done
	echo "cost.sh: $1 did not come up" >&2
	return 1
}

# load SCENARIO SECONDS: wrk's completed requests.
load() {
	local url=http://127.0.0.1:$port/100 hdr=()
	case $1 in
	close100)	hdr=(-H "Connection: close") ;;
	tlska100)	url=https://127.0.0.1:$tport/100 ;;
	esac
	taskset -c 1 wrk -t1 -c16 -d"$2"s "${hdr[@]}" "$url" |
	    awk '/requests in/ { print $1 }'
}

stop() {
	kill -INT "$ppid_" 2>/dev/null || true
	sleep 1
	kill -TERM "$ppid_" 2>/dev/null || true
	wait "$ppid_" 2>/dev/null || true
	ppid_=
}

printf '| scenario | proxy | syscalls/req | user instructions/req | top calls per request |\n'
printf '|---|---|--:|--:|---|\n'
for s in $SCENARIOS; do
	for px in $PROXIES; do
		proxy_cmd "$px"
		# System calls: strace attached after a warm-up.
		taskset -c 0 "${CMD[@]}" >"$tmp/$px/out" 2>&1 &
		ppid_=$!
		up "$px"
		load "$s" 1 >/dev/null
		strace -c -f -o "$tmp/$px/strace" -p "$ppid_" 2>/dev/null &
		spid=$!
		sleep 0.5
		n=$(load "$s" 3)
		sleep 0.3
		kill -TERM "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
		stop
		sys=$(awk -v r="$n" '
		    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
			c[$NF] = $4; t += $4 }
		    END {
			top = ""
			for (k in c) if (c[k] / r >= 0.05)
				top = top sprintf("%s %.2f, ", k, c[k] / r)
			sub(/, $/, "", top)
			printf "%.2f\t%s", t / r, top }' "$tmp/$px/strace")
		# Instructions: the whole run under callgrind.
		taskset -c 0 valgrind --tool=callgrind \
		    --callgrind-out-file="$tmp/$px/cg.%p" "${CMD[@]}" \
		    >"$tmp/$px/valgrind.log" 2>&1 &
		ppid_=$!
		up "$px"
		n=$(load "$s" 8)
		stop
		ir=$(callgrind_annotate "$(ls -t "$tmp/$px"/cg.[0-9]* | head -1)" \
		    2>/dev/null | awk '/PROGRAM TOTALS/ {
			gsub(",", "", $1); print $1 }')
		printf '| %s | %s | %s | %d | %s |\n' "$s" "$px" \
		    "${sys%%$'\t'*}" $((ir / n)) "${sys#*$'\t'}"
	done
done
