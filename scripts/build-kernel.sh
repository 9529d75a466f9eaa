#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test kernel of one flavour, cached by kernel version + config.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") lean|debug [--help]

Builds a lean kernel for the vfio-pasid-vf tests from 'make tinyconfig' and
the fragments in configs/:
  lean:  base.config + vfio-pasid-vf.config
  debug: the same + debug.config (KASAN, PROVE_LOCKING, DEBUG_KMEMLEAK,
         DEBUG_ATOMIC_SLEEP) for the reliability suite.
Every option a fragment asks for is checked in the final .config.

The build lives in \$VPV_CACHE/kbuild/<version>-<flavour>-<hash>, where the
hash covers the fragments and the toolchain; \$VPV_CACHE/kbuild/current-<flavour>
points at it.  When that build is complete, this says so and does nothing.
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

case ${1:-} in
lean) fragments=(base vfio-pasid-vf) ;;
debug) fragments=(base vfio-pasid-vf debug) ;;
-h | --help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac
flavour=$1

ksrc=$(kernel_src)
[[ -n $ksrc && -f $ksrc/Makefile ]] || die "no kernel source; run scripts/setup.sh first (or set KSRC)"
kver=$(make -s -C "$ksrc" kernelversion)

frag_files=()
for f in "${fragments[@]}"; do frag_files+=("$VPV_ROOT/configs/$f.config"); done

hash=$( {
	echo "$kver"
	cat "${frag_files[@]}"
	rustc --version
	"clang$VPV_LLVM" --version | head -n 1
	bindgen --version
} | sha256sum | cut -c1-12)
out=$VPV_CACHE/kbuild/$kver-$flavour-$hash
link=$(kernel_build "$flavour")

if [[ -f $out/.vpv-built ]]; then
	ln -sfn "$out" "$link"
	log "kernel $flavour: up to date ($out), nothing to do"
	exit 0
fi

start=$(date +%s)
mkdir -p "$out"
kmake=(make -C "$ksrc" O="$out" $(kmake_args))

log "kernel $flavour $kver: configuring ($(IFS=+; echo "${fragments[*]}"))"
"${kmake[@]}" -s tinyconfig >/dev/null
"$ksrc/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frag_files[@]}" >/dev/null
"${kmake[@]}" -s olddefconfig >/dev/null

# merge_config.sh only warns when Kconfig drops a request; a dropped option
# (an unmet dependency) must stop the build instead of surfacing in a test.
declare -A want=()
while IFS= read -r line; do
	[[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] && want[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done < <(cat "${frag_files[@]}") # later fragments override earlier ones
bad=0
for opt in "${!want[@]}"; do
	if [[ ${want[$opt]} == n ]]; then
		grep -q "^$opt=" "$out/.config" && { log "config: $opt is set, wanted n"; bad=1; }
	else
		grep -qx "$opt=${want[$opt]}" "$out/.config" ||
			{ log "config: wanted $opt=${want[$opt]}, got '$(grep "^$opt=" "$out/.config" || echo unset)'"; bad=1; }
	fi
done
[[ $bad -eq 0 ]] || die "kernel $flavour: the config fragments do not apply cleanly"

log "kernel $flavour: building in $out with -j$VPV_JOBS (log: $out/build.log)"
if ! "${kmake[@]}" -j"$VPV_JOBS" bzImage modules headers_install 2>&1 |
	tee "$out/build.log" |
	awk -v f="$flavour" '/^  [A-Z]/ { n++; if (n % 500 == 0) { printf "[vpv] kernel %s: %d build steps done\n", f, n > "/dev/stderr" } }'; then
	tail -n 40 "$out/build.log" >&2
	die "kernel $flavour: build failed"
fi

touch "$out/.vpv-built"
ln -sfn "$out" "$link"
secs=$(($(date +%s) - start))
echo "$secs" >"$out/.vpv-build-seconds"
log "kernel $flavour: built in $((secs / 60)) min $((secs % 60)) s"
