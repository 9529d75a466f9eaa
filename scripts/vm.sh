#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a test kernel under virtme-ng (TCG) with an igb SR-IOV PF behind a
# pcie-root-port and intel-iommu in scalable mode, run a command in it, and
# bring its output and dmesg back.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") [--flavour lean|debug] [--out DIR] [--timeout MIN] [--kvm] -- COMMAND...

Boots \$VPV_CACHE/kbuild/current-<flavour> (default: lean) in QEMU q35 with:
  intel-iommu (scalable mode, PASID), a pcie-root-port with an igb PF
  (SR-IOV, 8 VFs), a second igb PF on its own root port (left without VFs,
  for tests that unbind a PF), a pci-testdev (a function that is not a VF),
  and an nvme SR-IOV PF (2 VFs, in an nvme-subsys) on a third root port, a
  second PF type for the fixture tests.
The host's root is the guest's root (read-only); DIR (default: a new
directory under build/vm/) is writable and holds:
  dmesg      the guest kernel log at the end of the run
  output     what COMMAND printed (also printed here at the end)
  console    the VM console (boot messages included)
  status     the exit status of COMMAND
  monitor.sock  QEMU's HMP monitor while the VM runs
  stall.txt  after a timeout: each vCPU's registers (RIP resolved against
             System.map) and local APIC, taken from the monitor before
             QEMU is killed (scripts/vm-stall-dump.py)
COMMAND runs as root in the guest with VPV_OUT=DIR in its environment.

Exit status: COMMAND's, or 1 if dmesg shows a WARN, BUG, Oops, KASAN,
lockdep or kmemleak report (listed on stderr), or 1 if the VM died.  A VM
that ends without finishing COMMAND fails the run, with one exception: the
host QEMU's known TCG abort (QEMU killed by signal 6 after "iotlb_to_section:
Assertion ... sections_nb' failed", QEMU issue 1921, seen in the emulation
suite's nvme pass), a QEMU bug and not a test result, boots the VM once more
with a warning; the first console is kept as console.1 and the file retried
names the cause (scripts/test.sh counts and prints retries).  A failing
COMMAND is never retried.
--timeout: the VM is stopped (and the run fails) after MIN minutes
(default 20; the long mode of scripts/reliability.sh needs more).
--kvm uses hardware virtualisation; it does not work on the CI machines.
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

flavour=lean
out=
timeout_min=20
accel=--disable-kvm
while [[ $# -gt 0 ]]; do
	case $1 in
	--flavour) flavour=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout_min=$2; shift 2
		[[ $timeout_min =~ ^[1-9][0-9]*$ ]] || die "--timeout: minutes, a positive integer" ;;
	--kvm) accel=; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ $# -gt 0 ]] || { usage >&2; exit 2; }

kbuild=$(kernel_build "$flavour")
image=$kbuild/arch/x86/boot/bzImage
[[ -f $image ]] || die "no $flavour kernel at $kbuild; run scripts/setup.sh"

if [[ -z $out ]]; then
	out=$VPV_ROOT/build/vm/$flavour-$(date +%Y%m%d-%H%M%S)-$$
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/status" "$out/dmesg"

# The command line is passed as a file so that no quoting survives two shells.
printf '%q ' "$@" >"$out/cmd"
# virtme-ng's init does not reap the orphans it inherits: a QEMU that libvirt
# started (daemonized) stays a zombie when it exits, and libvirt, which sees
# its pid alive, waits 15 s for it to die and then fails to stop the domain.
# COMMAND runs under this reaper (PR_SET_CHILD_SUBREAPER: orphans of COMMAND
# are reparented to it), which waits for any child until COMMAND ends.
# syscall 157 is prctl on x86_64 (the only guest here), 36 PR_SET_CHILD_SUBREAPER.
cat >"$out/reaper.pl" <<'EOF'
syscall(157, 36, 1, 0, 0, 0) == 0 or die "prctl(PR_SET_CHILD_SUBREAPER): $!\n";
defined(my $pid = fork) or die "fork: $!\n";
if (!$pid) { exec @ARGV or die "exec @ARGV: $!\n" }
while ((my $w = waitpid(-1, 0)) > 0) {
	next if $w != $pid;
	exit($? & 127 ? 128 + ($? & 127) : $? >> 8);
}
die "waitpid: $!\n";
EOF
cat >"$out/guest.sh" <<EOF
#!/bin/bash
export VPV_OUT='$out'
cd '$VPV_ROOT'
set +e
perl '$out/reaper.pl' bash '$out/cmd' > '$out/output' 2>&1
echo \$? > '$out/status'
dmesg > '$out/dmesg'
EOF

# vng returns 255 for any VM that ends before the command, and drops QEMU's
# own exit status: a wrapper keeps it (qemu-status), so that a guest that
# reset (QEMU exits 0 with -no-reboot) and a QEMU that crashed (128 + the
# signal) can be told apart.
qemu_bin=$(command -v qemu-system-x86_64) || die "no qemu-system-x86_64 (scripts/setup.sh installs it)"
cat >"$out/qemu.sh" <<EOF
#!/bin/bash
[[ \$1 != --version ]] || exec '$qemu_bin' "\$@"
'$qemu_bin' "\$@"
rc=\$?
echo \$rc > '$out/qemu-status'
exit \$rc
EOF
chmod +x "$out/qemu.sh"

QEMU_DEVICES="-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,x-scalable-mode=on,x-pasid-mode=on -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1 -device pcie-root-port,id=rp2,chassis=2,slot=2 -device igb,bus=rp2 -device pci-testdev -device pcie-root-port,id=rp3,chassis=3,slot=3 -device nvme-subsys,id=vpvsubsys0,nqn=vpv-nvme-subsys -device nvme,serial=vpvnvme0,subsys=vpvsubsys0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,max_ioqpairs=6,msix_qsize=4,bus=rp3"

# panic=10: a panic waits 10 s before the reboot that ends the VM, so that
# its trace reaches the console file.
# nohz=off: a periodic tick on every vCPU.  Under TCG on a loaded host a vCPU
# can miss a one-shot timer; with NOHZ idle it then never wakes, and anything
# waiting for an RCU grace period (module unload, device removal) hangs.
mem=2G
[[ $flavour == debug ]] && mem=4G

# no5lvl: 4-level paging.  TCG's CPU has LA57, and on 7.3 a KASAN kernel with
# 5-level paging reports a false "wild-memory-access" when an interrupt lands
# while identify_cpu() re-detects boot_cpu_data: it zeroes x86_capability, so
# until alternatives are patched pgtable_l5_enabled() reads LA57 as clear and
# KASAN_SHADOW_START (built on __VIRTUAL_MASK_SHIFT) excludes the 5-level
# direct map (seen once, at 0.006 s of a debug boot, in handle_edge_irq()).
boot() {
	log "booting the $flavour kernel ($(basename "$(readlink -f "$kbuild")")), output in $out"
	set +e
	rm -f "$out/qemu-status"
	timeout --foreground "${timeout_min}m" vng --run "$image" --qemu "$out/qemu.sh" $accel --disable-microvm \
		--cpus 2 --memory "$mem" \
		--rwdir "$out" --verbose \
		--append="intel_iommu=on,sm_on iommu.strict=1 panic_on_warn=0 loglevel=6 nohz=off panic=10 no5lvl" \
		--qemu-opts="$QEMU_DEVICES -monitor unix:$out/monitor.sock,server=on,wait=off" \
		--exec "bash $out/guest.sh" >"$out/console" 2>&1
	vng_rc=$?
	set -e
	# timeout ends vng, not the QEMU it started: end that QEMU too.
	local qemu
	qemu=$(pgrep -f -- "$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"path=$out,")" || true)
	if [[ -n $qemu ]]; then
		# A stall that the guest kernel did not report: what each vCPU is
		# doing (registers, symbolized RIP, local APIC) before it goes.
		if [[ $vng_rc -eq 124 && -S $out/monitor.sock ]]; then
			timeout 120 "$VPV_ROOT/scripts/vm-stall-dump.py" "$out/monitor.sock" \
				"$kbuild/System.map" >"$out/stall.txt" 2>&1 || true
			log "the VM timed out: each vCPU's registers and local APIC in $out/stall.txt"
		fi
		log "vng exit $vng_rc with its QEMU (pid $qemu) still running: killing it"
		kill -KILL $qemu 2>/dev/null || true
	fi
	rm -f "$out/monitor.sock"
	vm_end="vng exit $vng_rc"
	[[ $vng_rc -ne 124 ]] || vm_end="timed out after $timeout_min min"
	if [[ -f $out/qemu-status ]]; then
		local q
		q=$(<"$out/qemu-status")
		if [[ $q -gt 128 ]]; then
			vm_end+=", QEMU killed by signal $((q - 128))"
		else
			vm_end+=", QEMU exit $q"
		fi
	fi
}

# The host QEMU's own abort under TCG, the cause of every VM death seen so
# far (3, each in the emulation suite's nvme pass, right after the nvme PF's
# driver was unbound with SR-IOV left enabled): Debian's 10.0.2 fails
# "iotlb_to_section: Assertion `section_index < d->map.sections_nb'" and
# aborts.  QEMU issue 1921 (gitlab.com/qemu-project/qemu/-/issues/1921)
# reports the same assertion under TCG with -smp > 1, from io_writex(): a
# vCPU's softmmu TLB entry names a memory section of an address-space
# dispatch that another thread has replaced.  Evidence and tally: README,
# "Known QEMU limits".
known_qemu_abort() {
	[[ -f $out/qemu-status && $(<"$out/qemu-status") -eq 134 ]] &&
		grep -q "iotlb_to_section: Assertion .section_index < d->map.sections_nb' failed" "$out/console"
}

rm -f "$out/retried"
boot
if [[ ! -f $out/status ]] && known_qemu_abort; then
	mv "$out/console" "$out/console.1"
	echo "QEMU issue 1921: $vm_end; iotlb_to_section assertion (console.1)" >"$out/retried"
	log "WARNING: the host QEMU aborted (known TCG bug, QEMU issue 1921: $vm_end; console.1 kept); retrying once"
	rm -f "$out/output"
	boot
fi
if [[ ! -f $out/status ]]; then
	tail -n 40 "$out/console" >&2
	die "the VM did not finish the command ($vm_end); console: $out/console"
fi
status=$(cat "$out/status")
cat "$out/output"

# Any of these in dmesg fails the run, whatever the tests said.
splat='WARNING:|BUG:|Oops|KASAN:|UBSAN:|kernel BUG|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|unreferenced object|suspected memory leak|sleeping function called from invalid context|Call Trace:'
if grep -Eq "$splat" "$out/dmesg"; then
	log "dmesg shows kernel reports (full log: $out/dmesg):"
	grep -E -m 20 "$splat" "$out/dmesg" >&2
	exit 1
fi
exit "$status"
