#!/usr/bin/env bash
# vmm-sigterm: SIGTERM and SIGINT stop a running VM cleanly: exit 0, one
# line "stopped by signal", and the vsock Unix socket is removed.  The
# guest halts with interrupts off, so the vCPU thread sits in KVM_RUN and
# must be kicked out of it.
. "$(dirname "$0")/lib.sh"
t_init vmm-sigterm
skip_unless_kvm
VMM=$BUILD/corral-vmm
K=$("$ROOT/tests/fixtures/build-vmm-kernel.sh" "$BUILD/fixtures")
# Unix sockets cannot be bound on kvmlab's 9p scratch dir ($T): /tmp.
S=$(mktemp -d /tmp/corral-vmm-sigterm.XXXXXX)

for sig in TERM INT; do
	sock=$S/vm-$sig.vsock
	t_bg "vm$sig" "$VMM" --kernel "$K" --vcpus 2 --id "s$sig" \
	    --serial "$T/serial-$sig" --vsock-cid 3 --vsock-uds "$sock" \
	    --cmdline fixture.hang
	pid=$(cat "$T/vm$sig.pid")
	wait_for "SIG$sig: guest is hanging" 60 grep -q "vmm-kernel: hanging" \
	    "$T/serial-$sig"
	check "SIG$sig: vsock socket exists" test -S "$sock"
	check "SIG$sig: virtio-mmio device announced" grep -qF \
	    "virtio_mmio.device=4K@0xd0000000:5" "$T/serial-$sig"
	kill "-$sig" "$pid"
	t_wait_exit "$pid" 20
	check_eq "SIG$sig: exit status 0" 0 "$T_RC"
	check "SIG$sig: stderr says stopped by signal" grep -q \
	    "corral-vmm s$sig: stopped by signal SIG$sig, exit 0" \
	    "$T/vm$sig.err"
	check "SIG$sig: socket removed" test ! -e "$sock"
done
rmdir "$S"
t_done
