#!/usr/bin/env bash
# bench/proxy.sh: corral beside nginx, HAProxy and h2o in one run of the
# shared harness (../shared/bench/bench.sh): every scenario, one worker
# each, interleaved rounds, and a table of medians with ratios to nginx.
#
#   bench/proxy.sh                       # all scenarios, ~10 minutes
#   ROUNDS=1 DURATION=2 SCENARIOS=ka100 bench/proxy.sh    # smoke
#   bench/proxy.sh --syscalls            # system calls per request
#
# corral gets the same set-up as the peers' configs: upstream keep-alive,
# no access log, TLS 1.3 allowed, no per-connection request cap.
#
# --syscalls runs corral alone against the harness's origin, counts its
# system calls with strace -c during a fixed wrk run per scenario (ka100,
# ka16k, close100, tlska100) and prints them per request: a figure that,
# unlike req/s, does not move when other work shares the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
HARNESS=${HARNESS:-$ROOT/../shared/bench/bench.sh}
[ -x "$HARNESS" ] || [ -f "$HARNESS" ] ||
    { echo "proxy.sh: no harness at $HARNESS" >&2; exit 1; }

# The harness's own dependencies (peers and load generator); Debian only.
need=()
for p in wrk nginx haproxy h2o; do
	command -v "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "proxy.sh: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" \
	    >/dev/null
	# Debian starts the packaged daemons; the harness runs its own.
	for s in nginx haproxy h2o; do
		systemctl stop "$s" >/dev/null 2>&1 || service "$s" stop \
		    >/dev/null 2>&1 || true
	done
fi
make -s "$BUILD"/corral

# bench.sh runs PROXY_CMD with PORT TLS_PORT ORIGIN CERT KEY WORKERS DIR
# in its environment; this writes corral's config from them.
cat >"$BUILD"/bench-corral.sh <<WRAP
#!/usr/bin/env bash
set -eu
cat >"\$DIR/corral.yaml" <<YAML
workers: \$WORKERS
log: { level: warn, access: off }
admin: off
listeners:
  - name: plain
    listen: 127.0.0.1:\$PORT
  - name: tls
    listen: 127.0.0.1:\$TLS_PORT
    tls: { cert: \$CERT, key: \$KEY, min_version: "1.2" }
routes:
  - match: { host: "*", path_prefix: / }
    pool: origin
pools:
  - name: origin
    type: static
    servers: [ "\$ORIGIN" ]
    keepalive: { idle: 256, timeout: 60s }
YAML
exec "$ROOT/$BUILD/corral" -c "\$DIR/corral.yaml"
WRAP
chmod +x "$BUILD"/bench-corral.sh

# --syscalls: corral on CPU 0, origin and wrk on CPU 1, strace -c -f.
syscalls() {
	local dir port=${PROXY_PORT:-18100} tport=${PROXY_TLS_PORT:-18440}
	local oport=${ORIGIN_PORT:-18080} spid s url hdr reqs i
	command -v strace >/dev/null 2>&1 ||
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace \
	    >/dev/null
	for i in "$port" "$tport" "$oport"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$i") 2>/dev/null; then
			echo "proxy.sh: port $i is in use" >&2
			exit 1
		fi
	done
	tmp=$(mktemp -d /tmp/corral-syscalls.XXXXXX)
	dir=$tmp/corral
	mkdir -p "$dir"
	cc -O2 -o "$tmp/origin" "$(dirname "$HARNESS")/origin.c"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj /CN=localhost -keyout "$tmp/key.pem" \
	    -out "$tmp/cert.pem" 2>/dev/null
	taskset -c 1 "$tmp/origin" -a 127.0.0.1 -p "$oport" \
	    >"$tmp/origin.log" 2>&1 &
	opid=$!
	cpid=
	trap 'kill $opid $cpid 2>/dev/null || true; rm -rf "$tmp"' EXIT
	PORT=$port TLS_PORT=$tport ORIGIN=127.0.0.1:$oport CERT=$tmp/cert.pem \
	    KEY=$tmp/key.pem WORKERS=1 DIR=$dir taskset -c 0 \
	    "$BUILD"/bench-corral.sh 2>"$tmp/corral.log" &
	cpid=$!
	for ((i = 0; i < 50; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$port/100" && break
		sleep 0.1
	done
	# bench-corral.sh execs corral: cpid is corral itself.
	printf '| scenario | requests | syscalls/req | top calls per request |\n'
	printf '|---|--:|--:|---|\n'
	for s in ka100 ka16k close100 tlska100; do
		url=http://127.0.0.1:$port/100 hdr=()
		case $s in
		ka16k)		url=http://127.0.0.1:$port/16k ;;
		close100)	hdr=(-H "Connection: close") ;;
		tlska100)	url=https://127.0.0.1:$tport/100 ;;
		esac
		taskset -c 1 wrk -t1 -c16 -d1s "${hdr[@]}" "$url" >/dev/null
		strace -c -f -o "$tmp/$s.strace" -p "$cpid" 2>/dev/null &
		spid=$!
		sleep 0.5
		taskset -c 1 wrk -t1 -c16 -d3s "${hdr[@]}" "$url" >"$tmp/$s.wrk"
		sleep 0.3
		# Not SIGINT: a script's background jobs ignore it.
		kill -TERM "$spid"
		wait "$spid" 2>/dev/null || true
		reqs=$(awk '/requests in/ { print $1 }' "$tmp/$s.wrk")
		awk -v s="$s" -v r="$reqs" '
		    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
			n[$NF] = $4; t += $4 }
		    END {
			if (r == 0) { printf "| %s | 0 | - | - |\n", s; exit }
			top = ""
			for (k in n) if (n[k] / r >= 0.05)
				top = top sprintf("%s %.2f, ", k, n[k] / r)
			sub(/, $/, "", top)
			printf "| %s | %d | %.2f | %s |\n", s, r, t / r, top }' \
		    "$tmp/$s.strace"
	done
	kill "$cpid" "$opid" 2>/dev/null || true
	wait "$cpid" "$opid" 2>/dev/null || true
}
if [ "${1:-}" = --syscalls ]; then
	syscalls
	exit 0
fi

export PROXY_CMD="$ROOT/$BUILD/bench-corral.sh"
export PROXY_PORT=${PROXY_PORT:-18100} PROXY_TLS_PORT=${PROXY_TLS_PORT:-18440}
export PROXY_NAME=corral
export RESULTS=${RESULTS:-$ROOT/$BUILD/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
exec bash "$HARNESS"
