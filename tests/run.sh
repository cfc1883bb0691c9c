#!/usr/bin/env bash
# tests/run.sh [unit|integration] [NAME...]: runs the unit test programs
# under $BUILD/tests and the scenarios in tests/integration/*.sh, each
# bounded in time, and ends with the line "N passed, N failed, N skipped".
# A scenario exits 0 (pass), 77 (skipped, it has said why) or anything
# else (fail).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
what=${1:-all}
shift || true
pass=0 fail=0 skip=0
failed=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"

run_one() {	# name timeout cmd...
	local name=$1 limit=$2 rc
	shift 2
	timeout --kill-after=10 "$limit" "$@" >"$logdir/$name.log" 2>&1
	rc=$?
	case $rc in
	0)	pass=$((pass + 1)); echo "PASS: $name" ;;
	77)	skip=$((skip + 1)); grep -h '^SKIP' "$logdir/$name.log" ||
		    echo "SKIP: $name" ;;
	*)	fail=$((fail + 1)); failed+=("$name")
		echo "FAIL: $name (exit $rc; last lines of $logdir/$name.log:)"
		tail -n 30 "$logdir/$name.log" | sed 's/^/    /' ;;
	esac
}


if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		if [ $# -gt 0 ] && [[ ! " $* " == *" $n "* ]]; then continue; fi
		run_one "$n" 300 "$t"
	done
fi
# Scenarios that call skip_unless_kvm need /dev/kvm.  Without one, they
# run together in one boot of tests/kvmlab (a Debian kernel under QEMU
# with emulated SVM, which has a real nested /dev/kvm), unless
# CORRAL_KVMLAB=0; results come back as the inner run's PASS/FAIL/SKIP
# lines.
run_in_kvmlab() {
	local log=$logdir/kvmlab.log rc n line
	echo "-- ${#kvm[@]} scenarios need /dev/kvm: running them in tests/kvmlab"
	# The lab has no network: what a scenario must download, it names
	# on a "# host-prepare: CMD" line, run here first.
	for n in "${kvm[@]}"; do
		sed -n 's/^# host-prepare: //p' "tests/integration/$n.sh" |
		while read -r line; do
			BUILD=$BUILD bash -c "$line" >>"$logdir/kvmlab-prepare.log" \
			    2>&1 || echo "-- $n: host-prepare failed: $line"
		done
	done
	tests/kvmlab/kvmlab.sh --timeout 2400 -- env BUILD="$BUILD" \
	    tests/run.sh integration "${kvm[@]}" >"$log" 2>&1
	rc=$?
	for n in "${kvm[@]}"; do
		line=$(grep -E "^(PASS|FAIL|SKIP): $n( |:|\$)" "$log" | head -n 1)
		case $line in
		PASS:*)	pass=$((pass + 1)); echo "PASS: $n (kvmlab)" ;;
		SKIP:*)	skip=$((skip + 1)); echo "$line (kvmlab)" ;;
		*)	fail=$((fail + 1)); failed+=("$n")
			echo "FAIL: $n (kvmlab exit $rc; see $logdir/$n.log," \
			    "$log)"
			tail -n 20 "$logdir/$n.log" 2>/dev/null | sed 's/^/    /' ;;
		esac
	done
}

if [ "$what" = all ] || [ "$what" = integration ]; then
	kvm=()
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		[ "$n" = lib ] && continue
		if [ $# -gt 0 ] && [[ ! " $* " == *" $n "* ]]; then continue; fi
		if ! [ -c /dev/kvm ] && grep -q '^skip_unless_kvm' "$t"; then
			kvm+=("$n")
			continue
		fi
		BUILD=$BUILD run_one "$n" 900 bash "$t"
	done
	if [ ${#kvm[@]} -gt 0 ]; then
		if [ "${CORRAL_KVMLAB:-1}" != 0 ] &&
		    command -v qemu-system-x86_64 >/dev/null; then
			run_in_kvmlab
		else
			for n in "${kvm[@]}"; do
				skip=$((skip + 1))
				echo "SKIP: $n: no /dev/kvm"
			done
		fi
	fi
fi
echo
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ $((pass + skip)) -gt 0 ]
