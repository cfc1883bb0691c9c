#!/usr/bin/env bash
# scripts/deps.sh: installs the Debian packages corral builds, tests and
# runs with, and nothing else.  Idempotent: with everything present it asks
# dpkg once and returns.  Needs root (or sudo) only when something is
# missing.
set -euo pipefail

packages=(
	gcc make libc6-dev pkg-config	# toolchain
	libcmocka-dev			# unit tests
	libevent-dev libssl-dev libyaml-dev libpcre2-dev libseccomp-dev
	liburing-dev
	node-llhttp			# llhttp sources, compiled in
	curl openssl socat python3 iproute2	# integration-test clients
	valgrind			# memcheck where ASan cannot see
	qemu-system-x86			# guest boot test and boot benchmark
	busybox-static			# tests/kvmlab initramfs
	xz-utils lz4 zstd cpio		# unpacking Linux kernels for tests
)

missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null |
    awk '$NF == "installed" { print $1 }')
for pkg in "${packages[@]}"; do
	grep -qx -- "$pkg" <<<"$installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run 'make deps' as root, or install them with apt-get" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq &&
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "deps: apt-get could not install: ${missing[*]}" >&2
	exit 1
fi
