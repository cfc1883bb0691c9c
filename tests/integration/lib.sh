# tests/integration/lib.sh: sourced by every scenario.  Gives a scratch
# directory, background processes that are always reaped, checks that are
# counted, and polling with a deadline instead of sleeps.
#
#	. "$(dirname "$0")/lib.sh"
#	t_init vmm-boot			# name; makes $T (scratch dir)
#	skip_unless_kvm			# exit 77 with "SKIP: ..." without KVM
#	t_bg vmm build/corral-vmm ...	# start in background, pid in $T/vmm.pid
#	wait_for "banner" 10 grep -q corral-guest "$T/serial"
#	check "exit status" test "$rc" -eq 0
#	check_eq "body" "ok" "$body"
#	t_done				# pass iff >= 1 check and none failed
#
# Exit statuses: 0 pass, 1 fail, 77 skipped.

set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
T_NAME=unnamed
T_CHECKS=0
T_FAILED=0
T_PIDS=()

t_init() {
	T_NAME=$1
	# /tmp, not $TMPDIR: inside tests/kvmlab, $TMPDIR is a 9p share where
	# Unix sockets cannot be bound.
	T=$(mktemp -d "/tmp/corral-$T_NAME.XXXXXX")
	trap t_cleanup EXIT
	trap 'exit 1' INT TERM
	echo "== $T_NAME (scratch $T)"
}

t_cleanup() {
	local pid
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		# Bounded: 50 x 0.1 s, then SIGKILL.
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	if [ "$T_FAILED" -eq 0 ] && [ -z "${T_KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "scratch kept: $T"
	fi
}

# t_bg NAME CMD...: runs CMD in the background with stdout and stderr in
# $T/NAME.out and $T/NAME.err; its pid goes to $T/NAME.pid and T_PIDS.
t_bg() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	T_PIDS+=($!)
	echo $! >"$T/$name.pid"
}

# t_wait_exit PID TIMEOUT_S: waits for a background child to exit and
# sets T_RC to its status (124 on timeout, and the child is killed).
t_wait_exit() {
	local pid=$1 limit=$2 deadline
	deadline=$(( $(date +%s%N) + limit * 1000000000 ))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s%N)" -gt "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			T_RC=124
			return 1
		fi
		sleep 0.02
	done
	wait "$pid"
	T_RC=$?
	return 0
}

# wait_for DESC TIMEOUT_S CMD...: polls CMD every 20 ms until it succeeds
# or the deadline passes (a failed check).
wait_for() {
	local desc=$1 limit=$2 deadline
	shift 2
	deadline=$(( $(date +%s%N) + limit * 1000000000 ))
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s%N)" -gt "$deadline" ]; then
			t_failcheck "$desc (not within ${limit}s)"
			return 1
		fi
		sleep 0.02
	done
	T_CHECKS=$((T_CHECKS + 1))
	echo "ok: $desc"
}

t_failcheck() {
	T_CHECKS=$((T_CHECKS + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "FAILED: $*"
}

# check DESC CMD...: CMD must succeed.
check() {
	local desc=$1
	shift
	if "$@"; then
		T_CHECKS=$((T_CHECKS + 1))
		echo "ok: $desc"
	else
		t_failcheck "$desc"
	fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		T_CHECKS=$((T_CHECKS + 1))
		echo "ok: $1"
	else
		t_failcheck "$1: expected '$2', got '$3'"
	fi
}

t_skip() {
	echo "SKIP: $T_NAME: $*"
	exit 77
}

skip_unless_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] ||
	    t_skip "no /dev/kvm"
}

t_done() {
	if [ "$T_CHECKS" -eq 0 ]; then
		echo "FAIL: $T_NAME made no checks"
		exit 1
	fi
	echo "$T_NAME: $T_CHECKS checks, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ] || exit 1
	exit 0
}
