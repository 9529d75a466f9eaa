#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every vfio-pasid-vf test: the README's test command, and what CI runs.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") [--help]

Runs, in order, and stops at the first failure:
  1. scripts/setup.sh: toolchain and both test kernels (a no-op when cached);
  2. static checks: rustfmt, and a CLIPPY=1 build that must print no warning;
     host tests of the emulation core (cargo test: unit and property tests)
     and cargo clippy; tools/vpv-feature, the userspace consumer of
     VFIO_DEVICE_FEATURE_PASID_VF: its tests (with its Rust layout checked
     against the C uAPI headers, compiled with cc), clippy, and its release
     binary, tools/vpv-feature/target/release/vpv-feature;
  3. the module and the kselftests, built against each kernel flavour;
  4. the functional, fixture, emulation and clients suites in a VM on the lean
     kernel (clients: stock QEMU over qtest and libvirt with a VF bound to
     vfio-pasid-vf);
  5. the functional suite, and the emulation and reliability suites (in one
     VM: a debug boot costs about 100 s under TCG), on the debug kernel
     (KASAN, lockdep, kmemleak, atomic-sleep checks).  The reliability suite
     is the hostile VFIO user: config-space fuzz, races, lifecycle faults
     under traffic, bind/unbind cycles, then kmemleak (run.sh --help);
     scripts/reliability.sh runs it alone, and its long mode.
The fixture suite checks the test-only PASID/PRI PF (tools/testing/fixtures/
vpv_pf) on both PF types, igb and nvme; the lean emulation suite checks the
emulated PASID and PRI capabilities through VFIO on both, the debug one on
igb (the driver's paths do not depend on the PF type; the nvme layouts are
placement inputs, checked on lean and by the host tests).
The tests that open a VF through VFIO run in every IOMMU mode of libvfio
(legacy container type1/type1v2, iommufd compat type1/type1v2, iommufd cdev)
in the lean functional suite; the lean emulation suite in the legacy
container (vfio_type1v2_iommu) and the iommufd cdev, the two opens of the
driver (without and with bind_iommufd; the compat and type1 (v1) modes differ
from them only in the VFIO/iommufd core); the debug functional suite in the
same two, and the debug emulation suite in the iommufd cdev alone.  With
every mode everywhere the run took 27 min, over the 25 min budget.
The fixture suite runs on the lean kernel only (11 min on the debug one):
the debug emulation suite loads, reloads and drives the fixture under the
debug checks.  Run it there by hand with scripts/vm.sh --flavour debug when
the fixture changes.
VPV_FIXTURE_TYPES="igb nvme" in the environment sets the PF types of every
fixture, emulation and clients suite.
A VM run fails on any failed test, on any skip that the standard VM should
never have (run.sh keeps the list of expected skips, with their reasons), and
on any kernel report in dmesg.  Prints the totals of passed, failed and
skipped tests with every skip's reason, the cold setup time (when this run did the setup) and the test time.
Logs and TAP output: build/test/.
EOF
}
[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
[[ $# -eq 0 ]] || { usage >&2; exit 2; }

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$VPV_ROOT"

t0=$(date +%s)
rm -f "$VPV_CACHE/setup-seconds"
scripts/setup.sh
t_setup=$(($(date +%s) - t0))
cold=0
for f in "$VPV_CACHE/setup-seconds" "$(kernel_build lean)/.vpv-build-seconds" "$(kernel_build debug)/.vpv-build-seconds"; do
	# Build stamps older than this run belong to an earlier, cached setup.
	[[ -f $f && $(stat -c %Y "$f") -ge $t0 ]] && cold=1
done

t1=$(date +%s)
results=$VPV_ROOT/build/test
rm -rf "$results" && mkdir -p "$results"
ksrc=$(kernel_src)

build_flavour() { # flavour -> build/test/<flavour>/vfio_pasid_vf.ko
	local kdir
	kdir=$(kernel_build "$1")
	log "building vfio_pasid_vf.ko for the $1 kernel (CLIPPY=1)"
	mkdir -p "$results/$1"
	make -s KDIR="$kdir" CLIPPY=1 modules 2>&1 | tee "$results/$1/build.log"
	if grep -Eq '^(warning|error)' "$results/$1/build.log"; then
		die "the $1 build printed warnings (see $results/$1/build.log)"
	fi
	cp vfio_pasid_vf.ko "$results/$1/"
	log "building the vpv_pf test fixture for the $1 kernel"
	make -s -C tools/testing/fixtures/vpv_pf KDIR="$kdir" 2>&1 | tee "$results/$1/fixture-build.log"
	if grep -Eq 'warning|error' "$results/$1/fixture-build.log"; then
		die "the $1 fixture build printed warnings (see $results/$1/fixture-build.log)"
	fi
	cp tools/testing/fixtures/vpv_pf/vpv_pf.ko "$results/$1/"
}

log "rustfmt check"
make -s KDIR="$(kernel_build lean)" rustfmtcheck
cargo fmt --manifest-path tools/vpv-feature/Cargo.toml --check

log "host: cargo test and clippy of the emulation core"
if ! cargo test --locked >"$results/host-tests.log" 2>&1; then
	tail -n 40 "$results/host-tests.log" >&2
	die "host tests failed (see $results/host-tests.log)"
fi
grep -E '^test result' "$results/host-tests.log"
cargo clippy --locked --quiet --all-targets -- -D warnings

# tools/vpv-feature: its own crate (not a member of the root one), its own
# Cargo.lock and target/.  Not --offline: its rust-vmm dependencies
# (vfio-ioctls, vfio-bindings, iommufd-ioctls, ...) are in no other lock file
# here, so a fresh machine fetches them from crates.io, at the versions its
# Cargo.lock pins (--locked).  Its layout test compiles the C uAPI headers
# with cc against the lean kernel's installed headers, and fails (never
# skips) without a C compiler.
log "host: tools/vpv-feature: cargo test, clippy and the release binary"
vpv_feature=(--manifest-path tools/vpv-feature/Cargo.toml --locked)
if ! cargo test "${vpv_feature[@]}" >"$results/vpv-feature-tests.log" 2>&1; then
	tail -n 40 "$results/vpv-feature-tests.log" >&2
	die "tools/vpv-feature tests failed (see $results/vpv-feature-tests.log)"
fi
grep -E '^test result' "$results/vpv-feature-tests.log"
cargo clippy "${vpv_feature[@]}" --quiet --all-targets -- -D warnings
cargo build "${vpv_feature[@]}" --quiet --release
[[ -x tools/vpv-feature/target/release/vpv-feature ]] ||
	die "cargo build --release left no tools/vpv-feature/target/release/vpv-feature"
log "built tools/vpv-feature/target/release/vpv-feature"

build_flavour lean
log "building the kselftests"
make -s -C tools/testing/selftests/vfio_pasid_vf KSRC="$ksrc" \
	KHDR="$(kernel_build lean)/usr/include" OUTPUT="$results/selftests" >/dev/null

# IOMMU modes (see --help).  The debug emulation suite runs the iommufd cdev
# alone; the debug functional suite runs it and the legacy container
# (vfio_type1v2_iommu), so both opens of the driver (without and with
# bind_iommufd) get the debug checks.  The lean emulation suite runs the same
# two: the type1 (v1) and iommufd compat modes differ from them only in the
# VFIO and iommufd core, never in this driver's paths (the lean functional
# suite keeps all five).  Measured warm: every mode on lean, two on the debug
# emulation suite: 27 min (session 4); these: see README.
debug_emulation_modes="iommufd"
debug_functional_modes="vfio_type1v2_iommu iommufd"
lean_emulation_modes="vfio_type1v2_iommu iommufd"
# The debug emulation suite on the igb PF alone: the driver's code paths (and
# so what KASAN, lockdep and kmemleak watch) are the same for both PF types;
# the nvme PF's layouts (a hidden first capability, a VSEC over the PF's
# offsets) are placement inputs, which the lean suite and the host tests of
# the emulation core check.  Both types cost 11.5 min of a 23 min run.
debug_fixture_types="igb"
# vpv_pf_test's open/close cycles across two VFs: 100 on the lean kernel
# (45 s per PF type), 20 on the debug one, where each cycle costs about 3 times
# as much, for the lockdep, KASAN and kmemleak checks of the same paths.
debug_pf_cycles=20

# Totals over every suite run, from the "# summary:" line that run.sh prints
# last (it fails the run itself on a failed test or an unexpected skip).
total_pass=0 total_fail=0 total_skip=0
run_suites() { # flavour suite...
	local flavour=$1 suite tap summary modes cycles
	shift
	for suite in "$@"; do
		log "VM ($flavour kernel): $suite suite"
		tap=$results/$flavour-$suite.tap
		modes=() cycles=100 cli=() types=${VPV_FIXTURE_TYPES:-}
		if [[ $flavour == debug && $suite == emulation* ]]; then
			modes=(--iommu-modes "$debug_emulation_modes")
			cycles=$debug_pf_cycles
			types=${VPV_FIXTURE_TYPES:-$debug_fixture_types}
		elif [[ $flavour == debug && $suite == functional ]]; then
			modes=(--iommu-modes "$debug_functional_modes")
		elif [[ $flavour == lean && $suite == emulation ]]; then
			modes=(--iommu-modes "$lean_emulation_modes")
		fi
		[[ $suite != emulation* ]] || cli=(--feature-cli tools/vpv-feature/target/release/vpv-feature)
		if scripts/vm.sh --flavour "$flavour" --out "$results/$flavour-$suite" -- \
			env VPV_PF_CYCLES="$cycles" ${types:+VPV_FIXTURE_TYPES="$types"} \
			VPV_LIBVIRT_NODEDEV="$VPV_CACHE/libvirt-nodedev" \
			tools/testing/selftests/vfio_pasid_vf/run.sh --suite "$suite" \
			--module "$results/$flavour/vfio_pasid_vf.ko" --tests "$results/selftests" \
			--fixture "$results/$flavour/vpv_pf.ko" "${modes[@]}" "${cli[@]}" \
			>"$tap"; then
			grep -E '^(not )?ok ' "$tap"
		else
			cat "$tap"
			die "$suite suite on the $flavour kernel failed: $results/$flavour-$suite/"
		fi
		summary=$(grep -E '^# summary: ' "$tap" | tail -n 1)
		[[ $summary =~ pass=([0-9]+)\ fail=([0-9]+)\ skip=([0-9]+) ]] ||
			die "$suite suite on the $flavour kernel printed no '# summary:' line ($tap)"
		total_pass=$((total_pass + BASH_REMATCH[1]))
		total_fail=$((total_fail + BASH_REMATCH[2]))
		total_skip=$((total_skip + BASH_REMATCH[3]))
		# Every skip, with its reason, so that the summary shows what did not run.
		grep -E '^#? *ok [0-9]+ .*# SKIP' "$tap" | sed "s/^/[$flavour $suite] /" >>"$results/skips.txt" || true
		# A VM booted twice for the host QEMU's known abort (scripts/vm.sh).
		if [[ -f $results/$flavour-$suite/retried ]]; then
			echo "[$flavour $suite] $(<"$results/$flavour-$suite/retried")" >>"$results/retries.txt"
		fi
	done
}

run_suites lean functional fixture emulation clients
build_flavour debug
run_suites debug functional emulation+reliability

t_test=$(($(date +%s) - t1))
echo
echo "All tests passed: $total_pass passed, $total_fail failed, $total_skip skipped (each an expected skip, listed in $results/skips.txt):"
[[ ! -s $results/skips.txt ]] || sed 's/^/  /' "$results/skips.txt"
if [[ -s $results/retries.txt ]]; then
	echo "VMs booted a second time after the host QEMU's known TCG abort (scripts/vm.sh --help): $(wc -l <"$results/retries.txt")"
	sed 's/^/  /' "$results/retries.txt"
else
	echo "VMs booted a second time: none"
fi
if [[ $cold -eq 1 ]]; then
	echo "Cold setup (toolchain + kernels): $((t_setup / 60)) min $((t_setup % 60)) s"
else
	echo "Setup: cached ($t_setup s to check)"
fi
echo "Tests (build + VM suites): $((t_test / 60)) min $((t_test % 60)) s"
