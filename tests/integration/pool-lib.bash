# tests/integration/pool-lib.bash: what the pool-*.sh scenarios share, on
# top of lib.sh and proxy-lib.bash (sourced first).  Not a scenario.
#
#	pool_conf FILE MIN MAX [EXTRA]	a pool "hello" of corral-guest VMs
#	pool_ready_count [NAME]		"ready in" lines so far
#	pool_nvmms			corral-vmm processes of this test

# pool_conf FILE MIN MAX [EXTRA]: a config with one microvm pool "hello"
# of corral-guest VMs (fault routes on), run directory under $T (Unix
# sockets must live under /tmp); EXTRA is more YAML for the pool.
pool_conf() {
	local file=$1 min=$2 max=$3 extra=${4:-}
	cat >"$T/$file" <<EOF
workers: 2
log: { level: info, access: stderr }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: "*" }
    pool: hello
    retries: 3
pools:
  - name: hello
    type: microvm
    kernel: $BUILD/corral-guest
    memory: 16MiB
    port: 8080
    size: { min: $min, max: $max }
    faults: true
    run_dir: $T/run
    health: { path: /health, interval: 200ms, timeout: 1s, fall: 2 }
$extra
EOF
}

pool_ready_count() {
	lines "$T/${1:-corral}.err" ': ready in '
}

# pool_vmms: pids of the corral-vmm processes whose socket is under $T.
pool_vmms() {
	pgrep -f -- "--vsock-uds $T/run/" || true
}

pool_nvmms() {
	pool_vmms | wc -l
}

# pool_has N: exactly N corral-vmm processes (for wait_for).
pool_has() {
	[ "$(pool_nvmms)" -eq "$1" ]
}

# Inside tests/kvmlab the loopback interface starts down (the lab's
# init does not bring it up): clients could not reach corral.
if ip -o link show lo 2>/dev/null | grep -q 'state DOWN' ||
    ! ip -o link show lo 2>/dev/null | grep -q 'UP'; then
	ip link set lo up 2>/dev/null || true
fi
