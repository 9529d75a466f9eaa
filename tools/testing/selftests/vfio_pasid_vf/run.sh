#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (scripts/vm.sh): prepares the devices, loads
# vfio_pasid_vf.ko, runs the kselftests and prints one TAP stream.
set -euo pipefail

# libvfio's IOMMU modes, the fixture variants of the tests that open a VF
# (FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES, tools/testing/selftests/vfio/lib/
# include/libvfio/iommu.h).
all_modes="vfio_type1_iommu vfio_type1v2_iommu iommufd_compat_type1 iommufd_compat_type1v2 iommufd"

usage() {
	cat <<EOF
Usage: $(basename "$0") --module KO --tests DIR [--suite functional] [--iommu-modes MODES]
       $(basename "$0") --suite fixture --fixture KO --tests DIR [--module KO]
       $(basename "$0") --suite emulation|reliability|emulation+reliability --fixture KO
                  --module KO --tests DIR [--iommu-modes MODES] [--feature-cli PATH]
       $(basename "$0") --suite clients --fixture KO --module KO --tests DIR

Inside the test VM: finds the igb PFs and the pci-testdev, creates 2 VFs on
the first PF (without autoprobing a VF driver), loads KO, binds VF 0 to
vfio-pasid-vf through driver_override and runs the suite's kselftests from DIR:
  functional   vpv_bind_test vpv_config_test vpv_params_test  (default)
then unbinds and unloads the module, which must leave nothing behind.

The reliability suite (needs --module and --fixture) is the hostile VFIO
user, for the debug kernel (KASAN, lockdep, kmemleak): on the igb PF dressed
up as the emulation suite does it (3 VFs, VF 0 and VF 2 bound), vpv_fuzz_test
on VF 0 (random config accesses of every size and offset, VPV_FUZZ_OPS of
them, default 100000), vpv_race_test on VF 0 with VF 2 opened and closed by
another process (VPV_RACE_SECONDS, default 10), vpv_lifecycle_test on VF 0
(PF SR-IOV disable, PF unbind, the PF's PASID going off and module unload,
each under traffic) and vpv_rebind_test on VF 0 (VPV_REBIND_CYCLES bind/
unbind cycles, default 100); last a kmemleak scan of the whole suite.
emulation+reliability runs both suites in one boot (a debug boot costs about
100 s under TCG), the reliability programs in the igb pass.
scripts/reliability.sh runs the reliability suite alone, and its long mode.

The emulation suite (needs --module and --fixture) loads the vpv_pf fixture
per PF type, with PRI enabled on the PF, VF capabilities that vfio-pci hides
and hidden registers; creates the VFs (igb: 3, nvme: 2; VF 1 with a full
extended config space), binds VF 0 (on igb also VF 2) to vfio-pasid-vf and
runs vpv_emul_test and vpv_feature_test on VF 0
(vpv_feature_test: VFIO_DEVICE_FEATURE_PASID_VF, which does not depend on
the IOMMU mode: its tests run in mode iommufd, one also in
vfio_type1v2_iommu, each only if --iommu-modes keeps it), on igb
vpv_tenant_test on VF 0 and VF 2, vpv_attach_test on VF 0 (PASID attach,
which exists only on the iommufd cdev: run in mode iommufd alone, and left
out, not counted, if --iommu-modes leaves iommufd out), and last
vpv_pf_test on VF 0 (it unbinds the PF's driver while VF 0 is open, and
restores the PF, its VFs and VF 0's binding); then reloads the module with
emulate=0 and checks that VF 0 is byte for byte what vfio-pci shows
(vpv_config_test).  With --feature-cli PATH (tools/vpv-feature's release
binary, the Rust consumer of VFIO_DEVICE_FEATURE_PASID_VF), vpv_cli_test
runs per PF type on VF 0, after vpv_pf_test, with VPV_FEATURE_CLI=PATH: it
runs the CLI (get, probe, set-offsets, hide; JSON and text; cdev and group)
and compares what it prints with its own GET, its walk of the VF's config
space through VFIO and the VF's placement in sysfs; without --feature-cli,
that step is left out.  Last, it loads the fixture on the igb PF with a VF
Device ID on vfio-pci's denylist (vf_device=0x37c9), creates 1 VF and runs
vpv_denylist_test on it (which reloads the module with disable_denylist=1
and back).

The clients suite (needs --module and --fixture) loads the fixture on the igb
PF as the emulation suite does, creates 2 VFs, binds VF 0 to vfio-pasid-vf
and runs the clients nobody here wrote on it: vpv_qemu_test (the stock
qemu-system-x86_64 of the host, over qtest: the guest's view of the VF
under vfio-pasid-vf, vfio-pci and emulate=0; VPV_QEMU overrides the binary)
and vpv_libvirt_test.sh (libvirtd, virsh nodedev-detach/reattach, a
domain with <driver model='vfio-pasid-vf'/> started paused; libvirt's
nodedev driver from VPV_LIBVIRT_NODEDEV if its package is not installed).

The fixture suite runs vpv_fixture_test once per PF type (the first igb PF,
then the nvme SR-IOV PF): it loads the vpv_pf fixture KO on the PF (which
gives it PASID/PRI/ATS and its VFs extra capabilities, hidden registers and
one full extended config space), creates 2 VFs, runs the tests, unloads the
fixture.  --module, if given, is loaded for the whole suite (no VF is bound).
VPV_FIXTURE_TYPES (default "igb nvme") picks the PF types of the fixture and
emulation suites.

Each program gets the VF it tests on its command line (vpv_tenant_test: two
VFs), as tools/testing/selftests/vfio does; what follows from a VF (its PF,
its index among the PF's VFs, the fixture's full VF) the tests take from
sysfs.  The environment carries only what sysfs cannot tell: the .ko paths,
the fixture's load parameters, the race's duration, vpv_pf_test's number of
open/close cycles (VPV_PF_CYCLES, passed through from run.sh's environment)
and the spare functions vpv_bind_test may unbind (VPV_PF2, VPV_NONVF).

The tests that open a VF through VFIO (vpv_bind_test, vpv_config_test,
vpv_emul_test, vpv_race_test, vpv_tenant_test) run once per IOMMU mode of
libvfio: $all_modes
(legacy container, iommufd's compat container, iommufd cdev).  --iommu-modes
"MODE..." runs only those: the others are left out with the harness's -V
(not run, so not counted, not skips).  To keep its run under 25 min,
scripts/test.sh runs every mode in the lean functional suite, two,
vfio_type1v2_iommu and iommufd (the driver opened without and with
bind_iommufd), in the lean emulation and debug functional suites, and
iommufd alone in the debug emulation suite, where each mode costs about
1 min 50 s.
vpv_rebind_test takes the modes in turn, whatever --iommu-modes says.

Prints TAP: a line per program and per step of its own, each program's TAP
as "# " comments, and last
  # summary: pass=P fail=F skip=S unexpected_skip=U
counting test cases: each case of a program (kselftest_harness), each step,
and each program that reports no case of its own.  A skip is expected only
if its reason is on this script's list of skips the standard VM (scripts/
vm.sh) has, each with its justification; any other skip is unexpected.
Exits non-zero if a test failed or a skip was unexpected.
EOF
}

module= tests= suite=functional fixture= iommu_modes=$all_modes feature_cli=
while [[ $# -gt 0 ]]; do
	case $1 in
	--module) module=$2; shift 2 ;;
	--iommu-modes) iommu_modes=$2; shift 2 ;;
	--fixture) fixture=$2; shift 2 ;;
	--feature-cli) feature_cli=$(readlink -f "$2"); shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [[ $suite == fixture ]]; then
	[[ -n $fixture && -n $tests ]] || { usage >&2; exit 2; }
elif [[ $suite == functional ]]; then
	[[ -n $module && -n $tests ]] || { usage >&2; exit 2; }
else
	[[ -n $fixture && -n $module && -n $tests ]] || { usage >&2; exit 2; }
fi
# vpv_denylist_test loads the module itself: give it an absolute path.
[[ -z $module ]] || module=$(readlink -f "$module")

# The harness options that leave out the IOMMU modes not asked for.
mode_filter=()
for m in $iommu_modes; do
	[[ " $all_modes " == *" $m "* ]] || { echo "unknown IOMMU mode '$m' (modes: $all_modes)" >&2; exit 2; }
done
for m in $all_modes; do
	[[ " $iommu_modes " == *" $m "* ]] || mode_filter+=(-V "$m")
done

# emulation, reliability: whether the suite has the emulation suite's and
# the reliability suite's programs (and steps).
emulation=0 reliability=0
reliability_progs=(vpv_fuzz_test vpv_race_test vpv_lifecycle_test vpv_rebind_test)
case $suite in
functional) progs=(vpv_bind_test vpv_config_test vpv_params_test) ;;
fixture) progs=(vpv_fixture_test) ;;
emulation) progs=(vpv_emul_test vpv_feature_test) emulation=1 ;;	# + vpv_tenant_test on igb, vpv_attach_test, vpv_pf_test
reliability) progs=() reliability=1 ;;					# on igb: reliability_progs
emulation+reliability) progs=(vpv_emul_test vpv_feature_test) emulation=1 reliability=1 ;;
clients) progs=(vpv_qemu_test vpv_libvirt_test) ;;
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

# --- results: counted per test case; every skip checked against a list ---

n_pass=0 n_fail=0 n_skip=0 n_unexpected=0

# The skips that the standard VM (scripts/vm.sh) has, by reason, each with
# why it is fine there: prints the justification.  Fails for any other skip.
expected_skip() { # reason
	case $1 in
	"no /sys/kernel/debug/kmemleak"*)
		# Only where kmemleak really is absent: the debug kernel must run it.
		[[ ! -e /sys/kernel/debug/kmemleak ]] || return 1
		echo "the lean kernel has no CONFIG_DEBUG_KMEMLEAK; scripts/test.sh runs the reliability and emulation suites' leak checks on the debug kernel, the fixture suite's when run there by hand"
		;;
	*) return 1 ;;
	esac
}

# count pass|fail|skip NAME [REASON]: the result of one test case.
count() {
	local why
	case $1 in
	pass) n_pass=$((n_pass + 1)) ;;
	fail) n_fail=$((n_fail + 1)) ;;
	skip)
		n_skip=$((n_skip + 1))
		if why=$(expected_skip "${3:-}"); then
			echo "# expected skip: $2: ${3:-} ($why)"
		else
			n_unexpected=$((n_unexpected + 1))
			echo "# UNEXPECTED skip: $2: ${3:-(no reason given)}"
		fi
		;;
	esac
}

# step N LABEL ok|fail|skip [REASON]: TAP line N for a step of this script, one case.
step() {
	local n=$1 label=$2 result=$3 reason=${4:-}
	case $result in
	ok) echo "ok $n selftests: vfio_pasid_vf: $label" ;;
	fail) echo "not ok $n selftests: vfio_pasid_vf: $label${reason:+ # $reason}" ;;
	skip) echo "ok $n selftests: vfio_pasid_vf: $label # SKIP $reason" ;;
	esac
	case $result in
	ok) count pass "$label" ;;
	*) count "$result" "$label" "$reason" ;;
	esac
}

# run_prog N LABEL COMMAND...: runs a kselftest program, its TAP as comments,
# then its wall time as a comment and TAP line N for it.  Counts the cases it
# reports ("ok N name # SKIP reason" is a skip), or the program itself if it
# reports none (exit 4: a skip).  Fails if the program failed.
run_prog() {
	local n=$1 label=$2 rc out line rest name reason plan_skip= last= cases=0 failed=0
	local t0=$SECONDS
	shift 2
	out=$(mktemp)
	set +e
	"$@" 2>&1 | tee "$out" | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	set -e
	echo "# $label: $((SECONDS - t0)) s"
	while IFS= read -r line; do
		[[ -z $line ]] || last=$line
		case $line in
		"not ok "[0-9]*)
			cases=$((cases + 1)) failed=$((failed + 1))
			count fail "$label"
			;;
		"ok "[0-9]*" # SKIP"*)
			cases=$((cases + 1))
			rest=${line#ok }
			rest=${rest#* }
			name=${rest%% # SKIP*}
			[[ $rest != "# SKIP"* ]] || name=
			reason=${line#* # SKIP}
			count skip "$label${name:+: $name}" "${reason# }"
			;;
		"ok "[0-9]*)
			cases=$((cases + 1))
			count pass "$label"
			;;
		"1..0 # SKIP"*)
			plan_skip=${line#1..0 # SKIP}
			plan_skip=${plan_skip# }
			;;
		esac
	done <"$out"
	rm -f "$out"
	case $rc in
	0)
		echo "ok $n selftests: vfio_pasid_vf: $label"
		[[ $cases -gt 0 ]] || count pass "$label"
		;;
	4)
		echo "ok $n selftests: vfio_pasid_vf: $label # SKIP${plan_skip:+ $plan_skip}"
		[[ $cases -gt 0 ]] || count skip "$label" "${plan_skip:-exit 4 after: $last}"
		;;
	*)
		echo "not ok $n selftests: vfio_pasid_vf: $label # exit=$rc"
		[[ $failed -gt 0 ]] || count fail "$label"
		return 1
		;;
	esac
}

# finish FAILED: the summary line, then exit non-zero on a failure or an unexpected skip.
finish() {
	echo "# summary: pass=$n_pass fail=$n_fail skip=$n_skip unexpected_skip=$n_unexpected"
	[[ $1 -eq 0 && $n_fail -eq 0 && $n_unexpected -eq 0 ]] || exit 1
	exit 0
}

# Binds BDF to vfio-pasid-vf through driver_override, unless it already is.
bind_vpv() { # bdf
	local drv=
	[[ ! -e $sysfs/$1/driver ]] || drv=$(basename "$(readlink "$sysfs/$1/driver")")
	[[ $drv != vfio-pasid-vf ]] || return 0
	if [[ -n $drv ]]; then
		echo "$1" >"$sysfs/$1/driver/unbind" || return 1
	fi
	echo vfio-pasid-vf >"$sysfs/$1/driver_override" || return 1
	echo "$1" >/sys/bus/pci/drivers/vfio-pasid-vf/bind || return 1
}

# VF number I of PF.
virtfn() { # pf i
	basename "$(readlink "$sysfs/$1/virtfn$2")"
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

# vpv_pf parameters per PF type.
fixture_params() { # type pf
	if [[ $suite != fixture ]]; then
		# Defaults (PASID width 20, Exec, Priv, PRI, PRG Response PASID
		# Required), PRI enabled on the PF, VF 1 full, and per type:
		# igb: a hidden register inside the PF's PASID offset (0x1a0), so
		#   that PASID goes to the highest free offset; a hidden LAST
		#   capability (ID 0x3f > PCI_EXT_CAP_ID_MAX: vfio-pci skips it),
		#   at the top: the driver cannot know the length of an unknown
		#   capability and takes it to extend to 0x1000, so anywhere lower it
		#   would leave no room above it for the top-down placement;
		# nvme: a "future" PF: PASID and PRI capability version 2 and
		#   PASID Capability bits the spec does not define yet (GET passes
		#   them through raw, the emulated capability shows none); no Exec;
		#   a hidden FIRST capability (the header at 0x100
		#   reads ID 0x3f: vfio-pci leaves a placeholder) followed by a VSEC
		#   (the driver takes it to extend up to the VSEC, over the PF's PASID
		#   and PRI offsets: both go to the highest free offset); a non-zero
		#   hidden register;
		# both: a hidden register with reset value 0 (RW) where the top-down
		#   placement goes, which vpv_emul_test makes non-zero before a bind.
		case $1 in
		igb) echo "pf=$2 pri_enable=1 vf_extcaps=0x3f@0xff0+0x10" \
			"vf_hidden=0x1a4=0x12345678,0xfe8=0 vf_full=1" ;;
		nvme) echo "pf=$2 pasid_exec=0 pri_enable=1 vf_head_id=0x3f" \
			"pasid_ver=2 pasid_cap_rsvd=0xe0f9 pri_ver=2" \
			"vf_extcaps=0x0b@0x180+0x20 vf_hidden=0x300=0x5eed1e55,0xff8=0 vf_full=1" ;;
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

# The programs of a PF type, and the number of VFs they need.
type_progs() { # type
	local attach=
	# PASID attach: iommufd cdev only, so only if that mode is asked for.
	[[ " $iommu_modes " != *" iommufd "* ]] || attach=vpv_attach_test
	local rel=
	# The reliability programs on igb: vpv_race_test needs a second VF.
	[[ $reliability -eq 0 || $1 != igb ]] || rel=${reliability_progs[*]}
	if [[ $emulation -eq 1 && $1 == igb ]]; then
		echo "${progs[*]} vpv_tenant_test $attach vpv_pf_test $rel"
	elif [[ $emulation -eq 1 ]]; then
		echo "${progs[*]} $attach vpv_pf_test"
	else
		echo "${progs[*]} $rel"
	fi
}
type_numvfs() { # type
	if [[ $emulation -eq 1 || $reliability -eq 1 ]] && [[ $1 == igb ]]; then echo 3; else echo 2; fi
}

# Emulation suite, last: a VF whose Device ID is on vfio-pci's denylist
# (QAT 8086:37c9), made by the fixture on the igb PF.  3 TAP lines from N+1.
run_denylist() { # n pf -> sets failed
	local n=$1 pf=$2 vf params="pf=$2 vf_device=0x37c9"

	n=$((n + 1))
	if [[ -z $pf ]]; then
		step "$n" fixture_load_denylisted_vf skip "no igb SR-IOV PF in the VM"
		step $((n + 1)) vpv_denylist_test skip "no igb SR-IOV PF in the VM"
		step $((n + 2)) fixture_unload_denylisted_vf skip "no igb SR-IOV PF in the VM"
		return
	fi
	# shellcheck disable=SC2086 # one word per parameter
	if insmod "$fixture" $params && echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe" &&
		echo 1 >"$sysfs/$pf/sriov_numvfs"; then
		vf=$(virtfn "$pf" 0)
		step "$n" fixture_load_denylisted_vf ok
		echo "# igb PF $pf: vpv_pf $params; VF $vf is $(<"$sysfs/$vf/vendor"):$(<"$sysfs/$vf/device")"
		n=$((n + 1))
		run_prog "$n" vpv_denylist_test env VPV_MODULE_KO="$module" \
			"$tests/vpv_denylist_test" "$vf" || failed=1
	else
		step "$n" fixture_load_denylisted_vf fail
		step $((n + 1)) vpv_denylist_test fail "no denylisted VF"
		failed=1
		n=$((n + 1))
	fi
	n=$((n + 1))
	if rmmod vpv_pf && [[ ! -e /sys/module/vpv_pf && -e $sysfs/$pf/driver ]]; then
		step "$n" fixture_unload_denylisted_vf ok
	else
		step "$n" fixture_unload_denylisted_vf fail
		failed=1
	fi
}

run_fixture_suite() {
	local types type pf params prog rc n=0 failed=0 skip total=0 tprogs numvfs
	local -A pf_of=()
	local d vf0 vf1 vf2

	# The clients see the driver's side, the same for every PF type: igb;
	# the reliability programs run on it alone.
	if [[ $suite == clients || $suite == reliability ]]; then
		read -r -a types <<<"${VPV_FIXTURE_TYPES:-igb}"
	else
		read -r -a types <<<"${VPV_FIXTURE_TYPES:-igb nvme}"
	fi
	pf_of[igb]=$(find_fn 0x8086 0x10c9 | head -n 1)
	for d in $(find_fn 0x1b36 0x0010); do
		[[ -e $sysfs/$d/sriov_totalvfs ]] && { pf_of[nvme]=$d; break; }
	done

	# Per type: load, the programs, (emulation: emulate=N), unload.
	for type in "${types[@]}"; do
		read -r -a tprogs <<<"$(type_progs "$type")"
		total=$((total + ${#tprogs[@]} + 2))
		[[ $emulation -eq 0 ]] || total=$((total + 1))
		[[ $emulation -eq 0 || -z $feature_cli ]] || total=$((total + 1))
	done
	# Emulation: the denylisted VF (load, program, unload).
	[[ $emulation -eq 0 ]] || total=$((total + 3))
	# Reliability: the kmemleak scan of the whole suite.
	[[ $reliability -eq 0 ]] || total=$((total + 1))
	echo "TAP version 13"
	echo "1..$total"
	# Reliability: what kmemleak finds at the end is the suite's, not the boot's.
	[[ $reliability -eq 0 || ! -e /sys/kernel/debug/kmemleak ]] ||
		echo clear >/sys/kernel/debug/kmemleak
	[[ -z $module ]] || insmod "$module"
	for type in "${types[@]}"; do
		read -r -a tprogs <<<"$(type_progs "$type")"
		numvfs=$(type_numvfs "$type")
		pf=${pf_of[$type]:-}
		params=$(fixture_params "$type" "$pf")
		skip=
		n=$((n + 1))
		if [[ -z $pf ]]; then
			skip="no $type SR-IOV PF in the VM"
			step "$n" "fixture_load_$type" skip "$skip"
		# shellcheck disable=SC2086 # one word per parameter
		elif insmod "$fixture" $params; then
			step "$n" "fixture_load_$type" ok
			echo "# $type PF $pf: vpv_pf $params"
		else
			skip="the fixture did not load"
			step "$n" "fixture_load_$type" fail
			failed=1
		fi
		if [[ -z $skip ]]; then
			echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe"
			echo "$numvfs" >"$sysfs/$pf/sriov_numvfs" || echo "# $type: could not create $numvfs VFs"
		fi
		vf0= vf1= vf2=
		if [[ -z $skip && $suite != fixture ]]; then
			vf0=$(virtfn "$pf" 0)
			vf1=$(virtfn "$pf" 1)
			[[ $numvfs -lt 3 ]] || vf2=$(virtfn "$pf" 2)
			echo "# VF 0 $vf0 (bound to vfio-pasid-vf), full VF 1 $vf1${vf2:+, VF 2 $vf2 (bound to vfio-pasid-vf)}"
		fi
		for prog in "${tprogs[@]}"; do
			n=$((n + 1))
			if [[ -n $skip ]]; then
				step "$n" "$prog ($type)" skip "$skip"
				continue
			fi
			# Each program finds its VFs bound, whatever the one before left.
			if [[ $suite != fixture ]] &&
				! { bind_vpv "$vf0" && { [[ -z $vf2 ]] || bind_vpv "$vf2"; }; }; then
				step "$n" "$prog ($type)" fail "could not bind the VFs to vfio-pasid-vf"
				failed=1
				continue
			fi
			# The VFs on the command line; the rest comes from sysfs.
			case $prog in
			vpv_fixture_test)
				run_prog "$n" "$prog ($type)" env VPV_FIXTURE_KO="$fixture" \
					VPV_FIXTURE_PARAMS="$params" "$tests/$prog" || failed=1
				;;
			vpv_race_test) # VF 2 is opened and closed meanwhile
				run_prog "$n" "$prog ($type)" env VPV_RACE_SECONDS="${VPV_RACE_SECONDS:-10}" \
					"$tests/$prog" "${mode_filter[@]}" "$vf0" "$vf2" || failed=1
				;;
			vpv_tenant_test)
				run_prog "$n" "$prog ($type)" \
					"$tests/$prog" "${mode_filter[@]}" "$vf0" "$vf2" || failed=1
				;;
			vpv_lifecycle_test) # it unloads the module under an open VF, and reloads it
				run_prog "$n" "$prog ($type)" env VPV_MODULE_KO="$module" \
					"$tests/$prog" "${mode_filter[@]}" "$vf0" || failed=1
				;;
			vpv_qemu_test) # it reloads the module with emulate=0 and back
				run_prog "$n" "$prog ($type)" env VPV_MODULE_KO="$module" \
					"$tests/$prog" "$vf0" || failed=1
				;;
			vpv_libvirt_test) # a script: from this directory
				run_prog "$n" "$prog ($type)" \
					bash "$(dirname "$(readlink -f "$0")")/$prog.sh" "$vf0" || failed=1
				;;
			vpv_attach_test) # iommufd cdev only, by itself: no variants
				run_prog "$n" "$prog ($type)" "$tests/$prog" "$vf0" || failed=1
				;;
			vpv_pf_test) # one IOMMU mode: it is about the PF's driver
				# igb disables SR-IOV when its driver unbinds: no VF can
				# outlive its PF's driver there (-F: not run, not a skip).
				run_prog "$n" "$prog ($type)" "$tests/$prog" \
					$([[ $type != igb ]] || echo -F nodriver) "$vf0" || failed=1
				;;
			*)
				run_prog "$n" "$prog ($type)" \
					"$tests/$prog" "${mode_filter[@]}" "$vf0" || failed=1
				;;
			esac
		done
		# The Rust consumer of the feature, on VF 0: vpv_cli_test runs it and
		# compares what it prints with its own view of the VF.
		if [[ $emulation -eq 1 && -n $feature_cli ]]; then
			n=$((n + 1))
			if [[ -n $skip ]]; then
				step "$n" "vpv_cli_test ($type)" skip "$skip"
			elif ! bind_vpv "$vf0"; then
				step "$n" "vpv_cli_test ($type)" fail "could not bind VF 0 to vfio-pasid-vf"
				failed=1
			else
				run_prog "$n" "vpv_cli_test ($type)" env VPV_FEATURE_CLI="$feature_cli" \
					"$tests/vpv_cli_test" "$vf0" || failed=1
			fi
		fi
		# emulate=N: the same VF is byte for byte what vfio-pci shows, PASID PF or not.
		if [[ $emulation -eq 1 ]]; then
			n=$((n + 1))
			if [[ -n $skip ]]; then
				step "$n" "emulate_off_matches_vfio_pci ($type)" skip "$skip"
			else
				set +e
				bind_vpv "$vf0"
				echo "$vf0" >"$sysfs/$vf0/driver/unbind"
				rmmod vfio_pasid_vf && insmod "$module" emulate=0 &&
					"$tests/vpv_config_test" "${mode_filter[@]}" "$vf0" 2>&1 | sed 's/^/# /'
				rc=${PIPESTATUS[0]}
				echo "$vf0" >"$sysfs/$vf0/driver/unbind"
				rmmod vfio_pasid_vf && insmod "$module"
				set -e
				if [[ $rc -eq 0 ]]; then
					step "$n" "emulate_off_matches_vfio_pci ($type)" ok
				else
					step "$n" "emulate_off_matches_vfio_pci ($type)" fail
					failed=1
				fi
			fi
		fi
		# Unloading restores the PF: its driver is back, without the overlay.
		n=$((n + 1))
		if [[ -n $skip ]]; then
			step "$n" "fixture_unload_$type" skip "$skip"
		elif rmmod vpv_pf && [[ ! -e /sys/module/vpv_pf && -e $sysfs/$pf/driver ]]; then
			step "$n" "fixture_unload_$type" ok
		else
			step "$n" "fixture_unload_$type" fail
			failed=1
		fi
	done
	if [[ $emulation -eq 1 ]]; then
		run_denylist "$n" "${pf_of[igb]:-}"
		n=$((n + 3))
	fi
	[[ -z $module ]] || rmmod vfio_pasid_vf
	[[ $reliability -eq 0 ]] || kmemleak_scan $((n + 1))
	finish $failed
}

# Reliability, last: whatever the suite leaked since it cleared kmemleak at
# its start, kmemleak finds (it reports objects unreferenced for 5 s, in a
# scan), module unloaded.  Step N.
kmemleak_scan() { # n -> sets failed
	local kl=/sys/kernel/debug/kmemleak reports
	if [[ ! -e $kl ]]; then
		step "$1" kmemleak_finds_nothing_after_the_suite skip "no $kl: kernel without CONFIG_DEBUG_KMEMLEAK"
		return
	fi
	sleep 6
	echo scan >"$kl"
	reports=$(grep -c 'unreferenced object' "$kl" || true)
	if [[ $reports -eq 0 ]]; then
		step "$1" kmemleak_finds_nothing_after_the_suite ok
	else
		head -n 40 "$kl" | sed 's/^/# /'
		step "$1" kmemleak_finds_nothing_after_the_suite fail "$reports kmemleak reports"
		failed=1
	fi
}
[[ $suite == functional ]] || run_fixture_suite

mapfile -t pfs < <(find_fn 0x8086 0x10c9)
nonvf=$(find_fn 0x1b36 0x0005 | head -n 1)
[[ ${#pfs[@]} -ge 1 ]] || { echo "Bail out! no igb PF in the VM"; exit 1; }
pf=${pfs[0]}
pf2=${pfs[1]:-}

echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe"
echo 2 >"$sysfs/$pf/sriov_numvfs"
vf=$(virtfn "$pf" 0)

insmod "$module"
echo vfio-pasid-vf >"$sysfs/$vf/driver_override"
echo "$vf" >/sys/bus/pci/drivers/vfio-pasid-vf/bind

# Not derivable from the VF: functions vpv_bind_test may unbind, which only
# the harness knows to be spare (a second igb PF, the pci-testdev).
export VPV_PF2=$pf2 VPV_NONVF=$nonvf
echo "TAP version 13"
echo "# PF $pf, VF $vf, spare PF ${pf2:-none}, non-VF ${nonvf:-none}"
echo "1..$((${#progs[@]} + 1))"

n=0 failed=0
for prog in "${progs[@]}"; do
	n=$((n + 1))
	run_prog "$n" "$prog" "$tests/$prog" "${mode_filter[@]}" "$vf" || failed=1
done

# Clean remove and unload: unbind the VF, rmmod, and the driver is gone.
n=$((n + 1))
if echo "$vf" >"$sysfs/$vf/driver/unbind" && rmmod vfio_pasid_vf &&
	[[ ! -e /sys/bus/pci/drivers/vfio-pasid-vf && ! -e /sys/module/vfio_pasid_vf ]]; then
	step "$n" module_unbind_and_unload ok
else
	step "$n" module_unbind_and_unload fail
	failed=1
fi
finish $failed
