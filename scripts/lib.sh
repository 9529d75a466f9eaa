# SPDX-License-Identifier: GPL-2.0
# Shared settings for the vfio-pasid-vf scripts.  Sourced, never executed.
#
# Everything that is downloaded or built lives in $VPV_CACHE, outside the
# repository, so that a fresh clone reuses it and `git clean` never loses it.

VPV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VPV_CACHE=${VPV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-pasid-vf}
VPV_LLVM=${VPV_LLVM:--19}
VPV_KERNEL_PKG=${VPV_KERNEL_PKG:-linux-source-7.3}
VPV_BINDGEN_VERSION=0.72.1
VPV_VENV=$VPV_CACHE/venv
VPV_TOOLS=$VPV_CACHE/tools
VPV_JOBS=${VPV_JOBS:-$(($(nproc) + 1))}

export PATH="$VPV_TOOLS/bin:$VPV_VENV/bin:$PATH"
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${VPV_LLVM}/lib}

log() { printf '[vpv] %s\n' "$*" >&2; }
die() { printf '[vpv] error: %s\n' "$*" >&2; exit 1; }

# The Rust standard library sources that match the active rustc exactly.
rust_lib_src() {
	local v
	v=$(rustc --version | awk '{print $2}')
	printf '%s\n' "$VPV_CACHE/rust-src-$v/usr/lib/rustlib/src/rust/library"
}

# The kernel source tree unpacked by setup.sh (or $KSRC if the user gave one).
kernel_src() {
	if [[ -n ${KSRC:-} ]]; then
		printf '%s\n' "$KSRC"
	else
		# The newest unpacked tree; setup.sh unpacks exactly one per version.
		find "$VPV_CACHE/src" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' 2>/dev/null |
			sort -V | tail -n 1
	fi
}

# The kernel build directory of a flavour: a stable symlink that
# build-kernel.sh points at the cache entry keyed by version and config hash.
kernel_build() {
	printf '%s\n' "$VPV_CACHE/kbuild/current-$1"
}

# make arguments for anything built against the kernel.
kmake_args() {
	printf '%s\n' "LLVM=$VPV_LLVM" "RUST_LIB_SRC=$(rust_lib_src)" "BINDGEN=bindgen"
}

# The first PCI function with this vendor and device ID (e.g. 0x8086 0x10c9),
# as a BDF; empty if there is none.  For scripts that run inside the test VM.
find_pci_fn() {
	local d
	for d in /sys/bus/pci/devices/*; do
		if [[ $(<"$d/vendor") == "$1" && $(<"$d/device") == "$2" ]]; then
			basename "$d"
			return 0
		fi
	done
	return 0
}
