#!/usr/bin/env bash
# scripts/run.sh: what `make run` starts.  Until the pool supervisor lands
# (it will start corral with conf/examples/corral.yaml), this boots one
# corral-guest microVM and says how to talk to it over its vsock socket.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
run=${RUN_DIR:-$BUILD/run}
mkdir -p "$run"

if ! [ -c /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "run: /dev/kvm is missing or not writable: corral needs KVM" \
	    "(a bare-metal host, or a VM with nested virtualisation)" >&2
	exit 1
fi

sock=$run/vm-1.vsock
serial=$run/vm-1.serial
rm -f "$sock" "$serial"
"$BUILD"/corral-vmm --id 1 --kernel "$BUILD"/corral-guest --memory 16MiB \
    --vsock-cid 3 --vsock-uds "$sock" --serial "$serial" \
    --cmdline "corral.id=vm-1" &
vmm=$!
trap 'kill -TERM $vmm 2>/dev/null; wait $vmm' INT TERM EXIT

# Poll for the guest's banner, bounded: 500 x 10 ms.
for _ in $(seq 500); do
	grep -q 'listening' "$serial" 2>/dev/null && break
	kill -0 $vmm 2>/dev/null || { wait $vmm; exit $?; }
	sleep 0.01
done
cat "$serial"
cat <<MSG

corral-guest vm-1 is up (corral-vmm pid $vmm; serial log $serial).
Talk to it over vsock, Firecracker style:

  printf 'CONNECT 8080\nGET / HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n' |
      socat -t5 - UNIX-CONNECT:$sock

Ctrl-C stops the VM.
MSG
wait $vmm
