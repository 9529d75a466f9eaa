#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (scripts/vm.sh): prepares the devices, loads
# vfio_pasid_vf.ko, runs the kselftests and prints one TAP stream.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") --module KO --tests DIR [--suite functional|reliability]

Inside the test VM: finds the igb PFs and the pci-testdev, creates 2 VFs on
the first PF (without autoprobing a VF driver), loads KO, binds VF 0 to
vfio-pasid-vf through driver_override and runs the suite's kselftests from DIR:
  functional   vpv_bind_test vpv_config_test  (default)
  reliability  vpv_rebind_test
then unbinds and unloads the module, which must leave nothing behind.
Prints TAP; exits non-zero if any test failed.
EOF
}

module= tests= suite=functional
while [[ $# -gt 0 ]]; do
	case $1 in
	--module) module=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ -n $module && -n $tests ]] || { usage >&2; exit 2; }

case $suite in
functional) progs=(vpv_bind_test vpv_config_test) ;;
reliability) progs=(vpv_rebind_test) ;;
*) usage >&2; exit 2 ;;
esac

sysfs=/sys/bus/pci/devices
find_fn() { # vendor device -> BDFs in bus order
	local d
	for d in "$sysfs"/*; do
		[[ $(<"$d/vendor") == "$1" && $(<"$d/device") == "$2" ]] && basename "$d"
	done
	return 0
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

mapfile -t pfs < <(find_fn 0x8086 0x10c9)
nonvf=$(find_fn 0x1b36 0x0005 | head -n 1)
[[ ${#pfs[@]} -ge 1 ]] || { echo "Bail out! no igb PF in the VM"; exit 1; }
pf=${pfs[0]}
pf2=${pfs[1]:-}

echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe"
echo 2 >"$sysfs/$pf/sriov_numvfs"
vf=$(basename "$(readlink "$sysfs/$pf/virtfn0")")

insmod "$module"
echo vfio-pasid-vf >"$sysfs/$vf/driver_override"
echo "$vf" >/sys/bus/pci/drivers/vfio-pasid-vf/bind

export VFIO_SELFTESTS_BDF=$vf VPV_PF=$pf VPV_PF2=$pf2 VPV_NONVF=$nonvf
echo "TAP version 13"
echo "# PF $pf, VF $vf, spare PF ${pf2:-none}, non-VF ${nonvf:-none}"
echo "1..$((${#progs[@]} + 1))"

n=0 failed=0
for prog in "${progs[@]}"; do
	n=$((n + 1))
	set +e
	"$tests/$prog" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	set -e
	case $rc in
	0) echo "ok $n selftests: vfio_pasid_vf: $prog" ;;
	4) echo "ok $n selftests: vfio_pasid_vf: $prog # SKIP" ;;
	*) echo "not ok $n selftests: vfio_pasid_vf: $prog # exit=$rc"; failed=1 ;;
	esac
done

# Clean remove and unload: unbind the VF, rmmod, and the driver is gone.
n=$((n + 1))
if echo "$vf" >"$sysfs/$vf/driver/unbind" && rmmod vfio_pasid_vf &&
	[[ ! -e /sys/bus/pci/drivers/vfio-pasid-vf && ! -e /sys/module/vfio_pasid_vf ]]; then
	echo "ok $n selftests: vfio_pasid_vf: module_unbind_and_unload"
else
	echo "not ok $n selftests: vfio_pasid_vf: module_unbind_and_unload"
	failed=1
fi
exit $failed
