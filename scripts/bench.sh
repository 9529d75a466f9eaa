#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark: config-space accesses through VFIO under vfio-pasid-vf, as a
# ratio to vfio-pci on the same VF in the same VM run.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") [--iterations N] [--baseline KO] [--help]

Boots the lean test VM, dresses the igb PF up with the vpv_pf fixture (PASID
and PRI), binds VF 0 to vfio-pasid-vf, and times config accesses through the
VFIO fd (tools/testing/selftests/vfio_pasid_vf/vpv_bench.c: the median of 5
runs of N accesses, default 20000), inside and outside the emulated
capabilities; then binds the same VF to vfio-pci and times the same accesses
at the same offsets.  Prints ns per access and the ratio vfio-pasid-vf /
vfio-pci per case.  With --baseline KO (another build of vfio_pasid_vf.ko,
say the one before a change), each round also times KO on the same VF, and
the table gains its ratio to vfio-pci and the ratio of this build to it: a
before/after comparison in one VM run.  A benchmark, not a test: nothing is
asserted; under TCG expect noise of several percent.
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ ${1:-} == --guest ]]; then
	shift
	ko=$1 fixture=$2 bench=$3 iters=$4 baseline=${5:-}
	sysfs=/sys/bus/pci/devices
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	pf=$(find_pci_fn 0x8086 0x10c9)
	[[ -n $pf ]] || die "no igb PF in the VM"
	insmod "$fixture" pf="$pf" pri_enable=1 # PRI enabled on the PF, as an IOMMU driver would
	echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe"
	echo 1 >"$sysfs/$pf/sriov_numvfs"
	vf=$(basename "$(readlink "$sysfs/$pf/virtfn0")")
	insmod "$ko"
	bind() {
		[[ -e $sysfs/$vf/driver ]] && echo "$vf" >"$sysfs/$vf/driver/unbind"
		echo "$1" >"$sysfs/$vf/driver_override"
		echo "$vf" >"/sys/bus/pci/drivers/$1/bind"
	}
	bind vfio-pasid-vf
	"$bench" "$vf" 1 0x100 >/dev/null # one open, so that placement is known
	placement=$(cat "$sysfs/$vf/vfio_pasid_vf/placement")
	off=$(sed -n 's/.*PASID at \(0x[0-9a-f]*\).*/\1/p' <<<"$placement")
	[[ -n $off ]] || die "PASID was not placed: $placement"
	echo "# VF $vf; $placement"
	# Alternate the drivers (A B A B, or A B C A B C with a baseline) and keep
	# the better of each: the first runs in a fresh TCG VM are slower whatever
	# the driver.  The baseline is another build of the same module: it is
	# swapped in and out around its runs.
	load() { # KO: vfio_pasid_vf built from KO, and nothing bound to it
		[[ ! -e /sys/module/vfio_pasid_vf ]] || { bind vfio-pci; rmmod vfio_pasid_vf; }
		insmod "$1"
	}
	cases=(vpv vfio)
	[[ -z $baseline ]] || cases+=(base)
	for round in 1 2; do
		[[ -z $baseline ]] || load "$ko"
		bind vfio-pasid-vf
		"$bench" "$vf" "$iters" "$off" >"/tmp/vpv-bench.vpv.$round"
		bind vfio-pci
		"$bench" "$vf" "$iters" "$off" >"/tmp/vpv-bench.vfio.$round"
		if [[ -n $baseline ]]; then
			load "$baseline"
			bind vfio-pasid-vf
			"$bench" "$vf" "$iters" "$off" >"/tmp/vpv-bench.base.$round"
		fi
	done
	best() { join "$1" "$2" | awk '{ print $1, ($2 < $3 ? $2 : $3) }'; }
	for c in "${cases[@]}"; do
		best "/tmp/vpv-bench.$c.1" "/tmp/vpv-bench.$c.2" >"/tmp/vpv-bench.$c"
		for round in 1 2; do echo "# /tmp/vpv-bench.$c.$round: $(tr '\n' ' ' <"/tmp/vpv-bench.$c.$round")"; done
	done
	if [[ -z $baseline ]]; then
		join /tmp/vpv-bench.vpv /tmp/vpv-bench.vfio | awk '
			BEGIN { printf "%-30s %14s %14s %7s\n", "case", "vfio-pasid-vf", "vfio-pci", "ratio" }
			{ printf "%-30s %11d ns %11d ns %7.3f\n", $1, $2, $3, $2 / $3 }'
	else
		join /tmp/vpv-bench.vpv /tmp/vpv-bench.vfio | join - /tmp/vpv-bench.base | awk '
			BEGIN { printf "%-30s %11s %11s %11s %9s %9s %9s\n", "case", "this (ns)", "vfio-pci", "baseline",
				"this/pci", "base/pci", "this/base" }
			{ printf "%-30s %11d %11d %11d %9.3f %9.3f %9.3f\n", $1, $2, $3, $4, $2 / $3, $4 / $3, $2 / $4 }'
	fi
	exit 0
fi

iters=20000 baseline=
while [[ $# -gt 0 ]]; do
	case $1 in
	--iterations) iters=$2; shift 2 ;;
	--baseline) baseline=$(readlink -f "$2"); shift 2
		[[ -f $baseline ]] || die "--baseline: no such module: $2" ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

cd "$VPV_ROOT"
scripts/setup.sh --only-lean
kdir=$(kernel_build lean)
out=$VPV_ROOT/build/bench
mkdir -p "$out"
log "building the module, the fixture and vpv_bench"
make -s KDIR="$kdir" modules
cp vfio_pasid_vf.ko "$out/"
make -s -C tools/testing/fixtures/vpv_pf KDIR="$kdir" modules >/dev/null
cp tools/testing/fixtures/vpv_pf/vpv_pf.ko "$out/"
make -s -C tools/testing/selftests/vfio_pasid_vf KSRC="$(kernel_src)" \
	KHDR="$kdir/usr/include" OUTPUT="$out" "$out/vpv_bench" >/dev/null
scripts/vm.sh --out "$out/vm" -- scripts/bench.sh --guest "$out/vfio_pasid_vf.ko" \
	"$out/vpv_pf.ko" "$out/vpv_bench" "$iters" ${baseline:+"$baseline"}
