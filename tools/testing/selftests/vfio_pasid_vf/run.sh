#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (scripts/vm.sh): prepares the devices, loads
# vfio_pasid_vf.ko, runs the kselftests and prints one TAP stream.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") --module KO --tests DIR [--suite functional|reliability]
       $(basename "$0") --suite fixture --fixture KO --tests DIR [--module KO]
       $(basename "$0") --suite emulation --fixture KO --module KO --tests DIR

Inside the test VM: finds the igb PFs and the pci-testdev, creates 2 VFs on
the first PF (without autoprobing a VF driver), loads KO, binds VF 0 to
vfio-pasid-vf through driver_override and runs the suite's kselftests from DIR:
  functional   vpv_bind_test vpv_config_test  (default)
  reliability  vpv_rebind_test
then unbinds and unloads the module, which must leave nothing behind.

The emulation suite (needs --module and --fixture) runs vpv_emul_test per PF
type with the fixture loaded: VF 0 bound to vfio-pasid-vf, VF 1 with a full
extended config space; then reloads the module with emulate=0 and checks
that VF 0 is byte for byte what vfio-pci shows (vpv_config_test).

The fixture suite runs vpv_fixture_test once per PF type (the first igb PF,
then the nvme SR-IOV PF): it loads the vpv_pf fixture KO on the PF (which
gives it PASID/PRI/ATS and its VFs extra capabilities, hidden registers and
one full extended config space), creates 2 VFs, runs the tests, unloads the
fixture.  --module, if given, is loaded for the whole suite (no VF is bound).
VPV_FIXTURE_TYPES (default "igb nvme") picks the PF types.
Prints TAP; exits non-zero if any test failed.
EOF
}

module= tests= suite=functional fixture=
while [[ $# -gt 0 ]]; do
	case $1 in
	--module) module=$2; shift 2 ;;
	--fixture) fixture=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [[ $suite == fixture ]]; then
	[[ -n $fixture && -n $tests ]] || { usage >&2; exit 2; }
elif [[ $suite == emulation ]]; then
	[[ -n $fixture && -n $module && -n $tests ]] || { usage >&2; exit 2; }
else
	[[ -n $module && -n $tests ]] || { usage >&2; exit 2; }
fi

case $suite in
functional) progs=(vpv_bind_test vpv_config_test) ;;
reliability) progs=(vpv_rebind_test) ;;
fixture) progs=(vpv_fixture_test) ;;
emulation) progs=(vpv_emul_test) ;;
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

# run_prog N LABEL COMMAND...: runs a kselftest program, its TAP as comments,
# then TAP line N for it; fails if the program failed (exit 4 is a skip).
run_prog() {
	local n=$1 label=$2 rc
	shift 2
	set +e
	"$@" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	set -e
	case $rc in
	0) echo "ok $n selftests: vfio_pasid_vf: $label" ;;
	4) echo "ok $n selftests: vfio_pasid_vf: $label # SKIP" ;;
	*) echo "not ok $n selftests: vfio_pasid_vf: $label # exit=$rc"; return 1 ;;
	esac
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

# vpv_pf parameters per PF type: PASID/PRI/ATS fields that differ between the
# two, VF 0 with extra capabilities and hidden registers, VF 1 full.
fixture_params() { # type pf
	if [[ $suite == emulation ]]; then
		# Defaults (PASID width 20, Exec, Priv, PRI) but: on igb, a hidden
		# register inside the PF's PASID offset (0x1a0) so that placement must
		# skip it; on nvme, no Exec; VF 1 full on both.
		case $1 in
		igb) echo "pf=$2 vf_hidden=0x1a4=0x12345678 vf_full=1" ;;
		nvme) echo "pf=$2 pasid_exec=0 vf_full=1" ;;
		esac
		return
	fi
	case $1 in
	igb) echo "pf=$2 pasid_width=16 pri_reqs=0x100 ats_qdep=8" \
		"vf_extcaps=0x0b@0x200+0x18,0x3f@0x240+0x10" \
		"vf_hidden=0x400=0xdeadbeef,0xffc=0x0badf00d vf_full=1" ;;
	nvme) echo "pf=$2 pasid_width=20 pasid_exec=0 pri_reqs=0x40 pri_pasid_required=0" \
		"ats_page_aligned=0 vf_extcaps=0x0b@0x180+0x20 vf_hidden=0x300=0x5eed1e55" \
		"vf_full=1" ;;
	esac
}

run_fixture_suite() {
	local types type pf params prog rc n=0 failed=0 skip
	local -A pf_of=()
	local d

	read -r -a types <<<"${VPV_FIXTURE_TYPES:-igb nvme}"
	pf_of[igb]=$(find_fn 0x8086 0x10c9 | head -n 1)
	for d in $(find_fn 0x1b36 0x0010); do
		[[ -e $sysfs/$d/sriov_totalvfs ]] && { pf_of[nvme]=$d; break; }
	done

	# Per type: load, the programs, (emulation: emulate=N), unload.
	local per_type=$((${#progs[@]} + 2))
	[[ $suite == emulation ]] && per_type=$((per_type + 1))
	local vf0 vf1
	echo "TAP version 13"
	echo "1..$((${#types[@]} * per_type))"
	[[ -z $module ]] || insmod "$module"
	for type in "${types[@]}"; do
		pf=${pf_of[$type]:-}
		params=$(fixture_params "$type" "$pf")
		skip=
		n=$((n + 1))
		if [[ -z $pf ]]; then
			skip="no $type SR-IOV PF in the VM"
			echo "ok $n selftests: vfio_pasid_vf: fixture_load_$type # SKIP $skip"
		# shellcheck disable=SC2086 # one word per parameter
		elif insmod "$fixture" $params; then
			echo "ok $n selftests: vfio_pasid_vf: fixture_load_$type"
			echo "# $type PF $pf: vpv_pf $params"
		else
			skip="the fixture did not load"
			echo "not ok $n selftests: vfio_pasid_vf: fixture_load_$type"
			failed=1
		fi
		if [[ -z $skip ]]; then
			echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe"
			echo 2 >"$sysfs/$pf/sriov_numvfs" || echo "# $type: could not create VFs"
		fi
		vf0= vf1=
		if [[ -z $skip && $suite == emulation ]]; then
			vf0=$(basename "$(readlink "$sysfs/$pf/virtfn0")")
			vf1=$(basename "$(readlink "$sysfs/$pf/virtfn1")")
			echo vfio-pasid-vf >"$sysfs/$vf0/driver_override"
			echo "$vf0" >/sys/bus/pci/drivers/vfio-pasid-vf/bind
			echo "# VF $vf0 bound to vfio-pasid-vf; full VF $vf1"
		fi
		for prog in "${progs[@]}"; do
			n=$((n + 1))
			if [[ -n $skip ]]; then
				echo "ok $n selftests: vfio_pasid_vf: $prog ($type) # SKIP $skip"
				continue
			fi
			run_prog "$n" "$prog ($type)" env VPV_FIXTURE_PF="$pf" VPV_FIXTURE_KO="$fixture" \
				VPV_FIXTURE_PARAMS="$params" VFIO_SELFTESTS_BDF="$vf0" VPV_PF="$pf" \
				VPV_VF_INDEX=0 VPV_FULL_VF="$vf1" "$tests/$prog" || failed=1
		done
		# emulate=N: the same VF is byte for byte what vfio-pci shows, PASID PF or not.
		if [[ $suite == emulation ]]; then
			n=$((n + 1))
			if [[ -n $skip ]]; then
				echo "ok $n selftests: vfio_pasid_vf: emulate_off_matches_vfio_pci ($type) # SKIP $skip"
			else
				set +e
				echo "$vf0" >"$sysfs/$vf0/driver/unbind"
				rmmod vfio_pasid_vf && insmod "$module" emulate=0 &&
					VFIO_SELFTESTS_BDF=$vf0 "$tests/vpv_config_test" 2>&1 | sed 's/^/# /'
				rc=${PIPESTATUS[0]}
				echo "$vf0" >"$sysfs/$vf0/driver/unbind"
				rmmod vfio_pasid_vf && insmod "$module"
				set -e
				if [[ $rc -eq 0 ]]; then
					echo "ok $n selftests: vfio_pasid_vf: emulate_off_matches_vfio_pci ($type)"
				else
					echo "not ok $n selftests: vfio_pasid_vf: emulate_off_matches_vfio_pci ($type)"
					failed=1
				fi
			fi
		fi
		# Unloading restores the PF: its driver is back, without the overlay.
		n=$((n + 1))
		if [[ -n $skip ]]; then
			echo "ok $n selftests: vfio_pasid_vf: fixture_unload_$type # SKIP $skip"
		elif rmmod vpv_pf && [[ ! -e /sys/module/vpv_pf && -e $sysfs/$pf/driver ]]; then
			echo "ok $n selftests: vfio_pasid_vf: fixture_unload_$type"
		else
			echo "not ok $n selftests: vfio_pasid_vf: fixture_unload_$type"
			failed=1
		fi
	done
	[[ -z $module ]] || rmmod vfio_pasid_vf
	exit $failed
}
[[ $suite != fixture && $suite != emulation ]] || run_fixture_suite

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
	run_prog "$n" "$prog" "$tests/$prog" || failed=1
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
