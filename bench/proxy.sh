#!/usr/bin/env bash
# bench/proxy.sh: corral beside nginx, HAProxy and h2o in one run of the
# shared harness (../shared/bench/bench.sh): every scenario, one worker
# each, interleaved rounds, and a table of medians with ratios to nginx.
#
#   bench/proxy.sh                       # all scenarios, ~10 minutes
#   ROUNDS=1 DURATION=2 SCENARIOS=ka100 bench/proxy.sh    # smoke
#
# corral gets the same set-up as the peers' configs: upstream keep-alive,
# no access log, TLS 1.3 allowed, no per-connection request cap.
#
# bench/cost.sh counts instead of timing: system calls and user-space
# instructions per request, for corral, nginx and HAProxy.
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

export PROXY_CMD="$ROOT/$BUILD/bench-corral.sh"
export PROXY_PORT=${PROXY_PORT:-18100} PROXY_TLS_PORT=${PROXY_TLS_PORT:-18440}
export PROXY_NAME=corral
export RESULTS=${RESULTS:-$ROOT/$BUILD/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
exec bash "$HARNESS"
