#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo: a VF bound to vfio-pasid-vf in the default test VM, and what a
# VMM sees of it through VFIO.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") [--help]

Sets up what is missing (toolchain, lean test kernel; cached after the first
run), builds vfio_pasid_vf.ko, the vpv_pf test fixture and vpv-feature (the
Rust reference consumer, tools/vpv-feature, release build), then boots the
default test VM (q35, intel-iommu in scalable mode, igb SR-IOV PF) and in it:
  gives the PF PASID and PRI capabilities with the fixture (no emulated
  device has them), creates 2 VFs, loads the module, binds VF 0 through
  driver_override, and prints the PF's capabilities, the VF as a VMM sees
  it through VFIO (vpv-feature: its extended capabilities as lspci -vvv
  decodes them, and VFIO_DEVICE_FEATURE_PASID_VF; once more as JSON), the
  placement, the same after an administrator pins the PASID capability at
  0x400, and what the driver logged.
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# Inside the VM.
if [[ ${1:-} == --guest ]]; then
	cli=$2 ko=$3 fixture=$4
	sysfs=/sys/bus/pci/devices
	pf=$(find_pci_fn 0x8086 0x10c9)
	[[ -n $pf ]] || die "no igb PF in the VM"
	echo "== PF $pf: the vpv_pf fixture adds PASID and PRI (test only), and enables"
	echo "   PRI on the PF as an IOMMU driver that handles its page requests would"
	insmod "$fixture" pf="$pf" pri_enable=1
	echo "== PF $pf: creating 2 VFs (no VF driver autoprobe)"
	echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe"
	echo 2 >"$sysfs/$pf/sriov_numvfs"
	vf=$(basename "$(readlink "$sysfs/$pf/virtfn0")")
	echo "== insmod vfio_pasid_vf.ko; bind VF $vf through driver_override"
	insmod "$ko"
	echo vfio-pasid-vf >"$sysfs/$vf/driver_override"
	echo "$vf" >/sys/bus/pci/drivers/vfio-pasid-vf/bind
	echo "   $vf is bound to: $(basename "$(readlink "$sysfs/$vf/driver")")"
	echo "   VFIO cdev: /dev/vfio/devices/$(ls "$sysfs/$vf/vfio-dev")"
	echo "== PF $pf extended capabilities (host view, lspci):"
	lspci -vvv -s "$pf" | grep -E -A2 '^\s+Capabilities: \[[0-9a-f]{3}.*(PASID|Page Request)' || true
	echo "== VF $vf as a VMM sees it through VFIO (vpv-feature, which opens it with vfio-ioctls):"
	"$cli" "$vf" get
	echo "== the same as JSON (vpv-feature --json):"
	"$cli" --json "$vf" get
	echo "== placement: $(cat "$sysfs/$vf/vfio_pasid_vf/placement")"
	echo "== an administrator pins PASID at 0x400 for this VF (for migration), then a VMM opens it:"
	echo "$vf,pasid=0x400" >/sys/bus/pci/drivers/vfio-pasid-vf/offsets
	echo "   /sys/bus/pci/drivers/vfio-pasid-vf/offsets: $(cat /sys/bus/pci/drivers/vfio-pasid-vf/offsets)"
	"$cli" "$vf" get | grep -E 'Process Address Space|Page Request|pasid_offset|pri_offset' || true
	echo "== placement: $(cat "$sysfs/$vf/vfio_pasid_vf/placement")"
	echo "== dmesg from the driver:"
	dmesg | grep -E 'vfio-pasid-vf [0-9a-f]{4}:|vfio_pasid_vf: ' || true
	exit 0
fi

[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
[[ $# -eq 0 ]] || { usage >&2; exit 2; }

cd "$VPV_ROOT"
scripts/setup.sh --only-lean
kdir=$(kernel_build lean)
log "building vfio_pasid_vf.ko, the vpv_pf fixture and vpv-feature"
make -s KDIR="$kdir" modules
mkdir -p build/demo
cp vfio_pasid_vf.ko build/demo/
make -s -C tools/testing/fixtures/vpv_pf KDIR="$kdir" modules >/dev/null
cp tools/testing/fixtures/vpv_pf/vpv_pf.ko build/demo/
# The host's root is the guest's: the VM runs the binary where cargo left it.
cargo build --manifest-path tools/vpv-feature/Cargo.toml --locked --release
scripts/vm.sh --out build/demo/vm -- \
	scripts/demo.sh --guest "$VPV_ROOT/tools/vpv-feature/target/release/vpv-feature" \
	"$VPV_ROOT/build/demo/vfio_pasid_vf.ko" "$VPV_ROOT/build/demo/vpv_pf.ko"
