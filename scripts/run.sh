#!/usr/bin/env bash
# scripts/run.sh: what `make run` starts (after scripts/deps.sh and the
# build): corral with conf/examples/corral.yaml in the foreground, HTTP
# on 127.0.0.1:8080, HTTPS on :8443, the admin listener on :9901, and a
# pool "hello" of corral-guest microVMs.  It makes a self-signed
# certificate for localhost and 127.0.0.1 under $BUILD/certs if there is
# none, relays corral's log, and once every listener is bound and every
# pool has its VMs ready prints the curl lines to try.  Ctrl-C (SIGINT to
# the foreground process group) reaches corral, which drains, stops its
# VMs and removes their sockets; the VMMs run in their own process
# groups so they hear it from corral, in order, not from the terminal.
#
#   BUILD=build		where the programs are (make passes it)
#   CONF=FILE		another configuration (paths relative to the tree)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CONF=${CONF:-conf/examples/corral.yaml}

say() { printf 'run: %s\n' "$*" >&2; }

if ! [ -e /dev/kvm ]; then
	say "/dev/kvm is missing: corral boots its backends as KVM microVMs."
	say "Run this on a bare-metal Linux host, or in a VM with nested"
	say "virtualisation enabled (and the kvm_intel or kvm_amd module loaded)."
	say "Without KVM, 'tests/run.sh integration run-demo' runs this demo"
	say "inside tests/kvmlab (nested KVM under QEMU's emulation)."
	exit 1
fi
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	say "/dev/kvm is not readable and writable by $(id -un):"
	say "run as root, or add yourself to its group ($(stat -c %G /dev/kvm))."
	exit 1
fi
for p in corral corral-vmm corral-guest; do
	[ -x "$BUILD/$p" ] || [ -f "$BUILD/$p" ] ||
	    { say "$BUILD/$p is missing: run 'make' (or 'make run') first"; exit 1; }
done

# The example names build/...; another build tree gets a copy pointing
# at its own programs and certificate.
conf=$CONF
if [ "$(realpath -m "$BUILD")" != "$(realpath -m build)" ] &&
    grep -q 'build/' "$conf"; then
	mkdir -p "$BUILD/run"
	sed "s#build/#$BUILD/#g" "$conf" >"$BUILD/run/corral.yaml"
	conf=$BUILD/run/corral.yaml
fi

# A self-signed certificate for the HTTPS listener, made once.
certs=$BUILD/certs
if ! [ -s "$certs/site.pem" ] || ! [ -s "$certs/site.key" ]; then
	mkdir -p "$certs"
	say "making a self-signed certificate for localhost in $certs"
	(
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -days 825 -subj /CN=localhost \
		    -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		    -addext 'basicConstraints=critical,CA:FALSE' \
		    -addext 'keyUsage=critical,digitalSignature' \
		    -addext 'extendedKeyUsage=serverAuth' \
		    -keyout "$certs/site.key.tmp" -out "$certs/site.pem.tmp" \
		    2>/dev/null
	) || { say "openssl could not make the certificate"; exit 1; }
	mv "$certs/site.key.tmp" "$certs/site.key"
	mv "$certs/site.pem.tmp" "$certs/site.pem"
fi

# run_watch NPOOLS: copies corral's log to stderr, line by line, and
# prints how to reach it once the workers run and NPOOLS pools are
# ready.  Ignores SIGINT: it must keep relaying corral's shutdown lines
# until corral closes the pipe.
run_watch() {
	local pools=$1 line buf="" web="" tls="" admin="" workers=0 ready=0
	local shown=0 waited=0 hinted=0 rc

	trap '' INT
	for (( ;; )); do
		rc=0
		IFS= read -r -t 1 line || rc=$?
		if [ "$rc" -gt 128 ]; then
			# Timed out; keep what came of a line so far.
			buf+=$line
			waited=$((waited + 1))
			if [ "$shown" -eq 0 ] && [ "$hinted" -eq 0 ] &&
			    [ "$waited" -ge 60 ]; then
				hinted=1
				say "still waiting for the pool's VMs after 60 s;" \
				    "its log lines above say why"
			fi
			continue
		fi
		[ "$rc" -eq 0 ] || { [ -n "$buf$line" ] &&
		    printf '%s\n' "$buf$line" >&2; break; }
		line=$buf$line
		buf=""
		printf '%s\n' "$line" >&2
		case $line in
		*"listener web: listening on "*)
			web=${line##*listening on } ;;
		*"listener secure: listening on "*)
			tls=${line##*listening on } ;;
		*admin*"listening on "*)
			admin=${line##*listening on } ;;
		*"started "*" workers")
			workers=1 ;;
		"corral: pool "*[0-9]/[0-9]*" VMs ready in "*)
			ready=$((ready + 1)) ;;
		esac
		if [ "$shown" -eq 0 ] && [ "$workers" -eq 1 ] &&
		    [ "$ready" -ge "$pools" ]; then
			shown=1
			run_banner "$web" "$tls" "$admin"
		fi
	done
}

run_banner() {
	local web=$1 tls=$2 admin=$3

	cat <<MSG

================================================================
corral is serving$([ -n "$web" ] && echo " on http://$web"), from its pool of microVMs.
Try (each / answer names the VM that served it):

  curl http://${web:-127.0.0.1:8080}/
  curl --cacert $certs/site.pem https://${tls:-127.0.0.1:8443}/
  curl -k https://${tls:-127.0.0.1:8443}/
  curl http://${admin:-127.0.0.1:9901}/status
  curl http://${admin:-127.0.0.1:9901}/metrics
$([ -n "$admin" ] || echo "  (the admin listener has not said it is listening: this build may not have it yet)")
Ctrl-C stops corral and every VM it started.
================================================================

MSG
}

# The pools that must say "N/N VMs ready" before the banner: counted in
# the file, since the pool thread may log its start after the workers'.
npools=$(grep -cE '^[^#]*type:[[:space:]]*microvm' "$conf" || true)

say "starting $BUILD/corral -c $conf"
set +e
"$BUILD"/corral -c "$conf" 2>&1 | run_watch "${npools:-0}"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -eq 0 ]; then
	say "corral stopped"
else
	say "corral exited with status $rc"
fi
exit "$rc"
