# tests/integration/proxy-lib.bash: what the proxy-*.sh scenarios share,
# on top of lib.sh (sourced first): origins, corral, ports, counting.
# Not a scenario itself (run.sh runs *.sh only).
#
#	. "$(dirname "$0")/lib.sh"
#	. "$(dirname "$0")/proxy-lib.bash"
#	t_init proxy-basic
#	origin_start o1			# $T/o1.log, port in O1_PORT
#	cat >"$T/c.yaml" <<EOF ... EOF	# listeners on 127.0.0.1:0
#	corral_start c.yaml		# port of listener "web" in PORT

# origin_start NAME [ARGS...]: build/tests/origin --name NAME --log
# $T/NAME.log on 127.0.0.1:0; its port goes to ${NAME^^}_PORT.
origin_start() {
	local name=$1 port
	shift
	t_bg "$name" "$BUILD/tests/origin" --listen 127.0.0.1:0 --name "$name" \
	    --log "$T/$name.log" "$@"
	wait_for "origin $name listening" 10 grep -q '^listening 127' \
	    "$T/$name.out" || return 1
	port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
	    "$T/$name.out")
	printf -v "${name^^}_PORT" '%s' "$port"
}

# corral_start CONF [NAME]: starts corral -c $T/CONF as NAME (default
# corral) and waits for its listeners; the port of "web" goes to PORT.
corral_start() {
	local conf=$1 name=${2:-corral}
	t_bg "$name" "$BUILD/corral" -c "$T/$conf"
	wait_for "$name listening" 10 grep -q 'listener web: listening on' \
	    "$T/$name.err" || { cat "$T/$name.err"; return 1; }
	PORT=$(listener_port web "$name")
	CORRAL_PID=$(cat "$T/$name.pid")
}

# listener_port LISTENER [NAME]: the port corral printed for LISTENER.
listener_port() {
	sed -n "s/.*listener $1: listening on 127\\.0\\.0\\.1:\\([0-9]*\\)\$/\\1/p" \
	    "$T/${2:-corral}.err" | head -n 1
}

# lines FILE PATTERN: how many lines of FILE match PATTERN (0 if none).
lines() {
	local n
	n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

# tcp_conns PORT: TCP connections (any state but LISTEN, TIME-WAIT
# included) with PORT at one end, each counted once.
tcp_conns() {
	ss -Htan 2>/dev/null | awk -v p=":$1" '
	    $1 != "LISTEN" {
		a = $4; b = $5
		if (substr(a, length(a) - length(p) + 1) != p &&
		    substr(b, length(b) - length(p) + 1) != p)
			next
		k = a < b ? a " " b : b " " a
		seen[k] = 1
	    }
	    END { n = 0; for (k in seen) n++; print n }'
}

# vm_hwm PID: peak resident set of PID in kB.
vm_hwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# raw PORT: sends stdin to 127.0.0.1:PORT, prints what comes back until
# the server closes or 5 s of silence.
raw() {
	socat -t 5 -T 5 - "TCP:127.0.0.1:$1" 2>/dev/null
}

# free_port: a port nothing listens on (bound, then released).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
