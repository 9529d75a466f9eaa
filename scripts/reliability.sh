#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The reliability suite alone: the hostile VFIO user, on the debug kernel.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") [--long] [--flavour debug|lean] [--help]

Builds the module, the vpv_pf fixture and the kselftests, boots the test VM
on the debug kernel (KASAN, lockdep, kmemleak, atomic-sleep checks) and runs
run.sh's reliability suite on the igb PF dressed up with PASID and PRI
(tools/testing/selftests/vfio_pasid_vf/run.sh --help):
  vpv_fuzz_test       random config-space reads and writes through VFIO, of
                      every size (valid and not) and offset (in, across and
                      out of the emulated capabilities, past 4 KiB, negative)
  vpv_race_test       accesses racing VFIO_DEVICE_RESET, FLR, the feature and
                      close, while another process opens and closes VF 2
  vpv_lifecycle_test  PF SR-IOV disable, PF driver unbind, the PF's PASID
                      going off and module unload, each under traffic
  vpv_rebind_test     bind/unbind cycles, nothing leaked
then a kmemleak scan.  The VM fails the run on any KASAN, lockdep, WARN or
BUG report in dmesg.  scripts/test.sh (CI) runs the same suite in its debug
emulation VM.

           CI (default)     --long
fuzz ops   100000           1000000   (VPV_FUZZ_OPS)
rebinds    100              1000      (VPV_REBIND_CYCLES)
race       10 s per mode    120 s     (VPV_RACE_SECONDS)
Each of these, set in the environment, overrides the mode's value.  The long
mode takes about an hour on 2 cores under TCG (the VM's limit: 150 min).
--flavour lean runs the suite on the lean kernel (faster, fewer checks).
Output: build/reliability/ (TAP in reliability.tap, the VM's files in vm/).
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

long=0 flavour=debug
while [[ $# -gt 0 ]]; do
	case $1 in
	--long) long=1; shift ;;
	--flavour) flavour=$2; shift 2
		[[ $flavour == debug || $flavour == lean ]] || die "--flavour: debug or lean" ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

if [[ $long -eq 1 ]]; then
	fuzz_ops=${VPV_FUZZ_OPS:-1000000} rebinds=${VPV_REBIND_CYCLES:-1000}
	race=${VPV_RACE_SECONDS:-120} vm_minutes=150
else
	fuzz_ops=${VPV_FUZZ_OPS:-100000} rebinds=${VPV_REBIND_CYCLES:-100}
	race=${VPV_RACE_SECONDS:-10} vm_minutes=20
fi

cd "$VPV_ROOT"
if [[ $flavour == debug ]]; then scripts/setup.sh; else scripts/setup.sh --only-lean; fi
kdir=$(kernel_build "$flavour")
out=$VPV_ROOT/build/reliability
rm -rf "$out" && mkdir -p "$out"
log "building the module, the fixture and the kselftests for the $flavour kernel"
make -s KDIR="$kdir" modules
cp vfio_pasid_vf.ko "$out/"
make -s -C tools/testing/fixtures/vpv_pf KDIR="$kdir" >/dev/null
cp tools/testing/fixtures/vpv_pf/vpv_pf.ko "$out/"
make -s -C tools/testing/selftests/vfio_pasid_vf KSRC="$(kernel_src)" \
	KHDR="$(kernel_build lean)/usr/include" OUTPUT="$out/selftests" >/dev/null

log "reliability suite on the $flavour kernel: $fuzz_ops fuzz ops, $rebinds rebinds, ${race} s races"
t0=$(date +%s)
# The debug kernel's modes as scripts/test.sh runs them: the iommufd cdev.
if scripts/vm.sh --flavour "$flavour" --timeout "$vm_minutes" --out "$out/vm" -- \
	env VPV_FUZZ_OPS="$fuzz_ops" VPV_REBIND_CYCLES="$rebinds" VPV_RACE_SECONDS="$race" \
	tools/testing/selftests/vfio_pasid_vf/run.sh --suite reliability \
	--module "$out/vfio_pasid_vf.ko" --fixture "$out/vpv_pf.ko" --tests "$out/selftests" \
	--iommu-modes iommufd >"$out/reliability.tap"; then
	grep -E '^(not )?ok |^# summary' "$out/reliability.tap"
	log "reliability suite passed in $(($(date +%s) - t0)) s (TAP: $out/reliability.tap)"
else
	cat "$out/reliability.tap"
	die "reliability suite failed (TAP: $out/reliability.tap, VM: $out/vm/)"
fi
