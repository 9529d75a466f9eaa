#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything vfio-pasid-vf needs to build and test, idempotently.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") [--no-kernel | --only-lean] [--help]

Installs, once, what building and testing vfio-pasid-vf needs:
  - Debian packages from bookworm (clang/lld/llvm 19, kernel build deps),
    QEMU from bookworm-backports, and libvirt's daemon (its QEMU driver) and
    virsh from bookworm-backports (libvirt >= 10.0: variant-driver
    selection), their other dependencies from bookworm; libc6 is never
    upgraded, nor systemd taken from backports (checked before anything is
    installed); libvirt's nodedev driver of the same version is unpacked
    into the cache, not installed (its package would bring udev);
  - Debian's linux-source-7.3 and the rust-src that matches 'rustc --version',
    both 'Architecture: all' packages from trixie-backports, downloaded and
    unpacked into the cache (nothing of trixie is installed system-wide);
  - bindgen-cli $VPV_BINDGEN_VERSION from crates.io and virtme-ng from PyPI
    (in a venv), both in the cache;
  - then builds the test kernels (lean and debug flavours) with
    scripts/build-kernel.sh; --only-lean builds only the lean one (enough
    for the demo), --no-kernel neither.

Cache: \$VPV_CACHE (now $VPV_CACHE).  A second run only checks and says so.
Set KSRC=/path/to/linux to use your own kernel source instead of Debian's.
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

flavours=(lean debug)
for arg in "$@"; do
	case $arg in
	--no-kernel) flavours=() ;;
	--only-lean) flavours=(lean) ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

start=$(date +%s)
did_work=0
mkdir -p "$VPV_CACHE"

SUDO=
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || die "run as root or install sudo"
	SUDO=sudo
fi

# --- Debian packages ---------------------------------------------------------

DEB_PKGS=(build-essential bc bison flex cpio kmod rsync xz-utils zstd
	libelf-dev libssl-dev uuid-dev python3-venv pciutils
	clang-19 lld-19 llvm-19 libclang-19-dev)
DEB_BPO_PKGS=(qemu-system-x86)
# libvirt for the clients suite (vpv_libvirt_test.sh): libvirtd (Debian's
# 11.3 has the monolithic daemon only), its QEMU driver, and virsh.
# Variant-driver selection (<driver model=...>) needs libvirt >= 10.0,
# bookworm has 9.0: these come from bookworm-backports, each selected as
# PKG/bookworm-backports (the libvirt packages they pin to their own version
# follow), so that their other dependencies come from bookworm: with
# -t bookworm-backports, systemd-container would bring systemd 254.  The
# nodedev driver is unpacked into the cache instead (below).
LIBVIRT_PKGS=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)
LIBVIRT_MIN_VERSION=10.0
BPO_SOURCES=/etc/apt/sources.list.d/vfio-pasid-vf-bookworm-backports.sources

apt_missing() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	printf '%s\n' "${missing[@]}"
}

# The packages that are not installed at version MIN or newer.
apt_missing_min() { # MIN PKG...
	local min=$1 p st missing=()
	shift
	for p in "$@"; do
		st=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null) || st=
		if [[ $st != "install ok installed "* ]] || ! dpkg --compare-versions "${st##* }" ge "$min"; then
			missing+=("$p")
		fi
	done
	printf '%s\n' "${missing[@]}"
}

# Refuse any transaction that would touch libc6 (see ENVIRONMENT: pulling a
# newer libc6 from a newer suite breaks the machine).
apt_install_guarded() {
	local sim
	sim=$($SUDO apt-get -s -y --no-install-recommends install "$@")
	if grep -Eq '^Inst (libc6|libc-bin)[ :]' <<<"$sim"; then
		die "installing '$*' would upgrade libc6; refusing"
	fi
	# Nor systemd to another release (-t bookworm-backports would take 254
	# for libvirt's systemd-container); bookworm's point releases are fine.
	if grep -Eq '^Inst (systemd|libsystemd0|libudev1)(:amd64)? .*[Bb]ackports' <<<"$sim"; then
		die "installing '$*' would take systemd from backports; refusing"
	fi
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get -y -qq --no-install-recommends install "$@" >/dev/null
}

mapfile -t missing < <(apt_missing "${DEB_PKGS[@]}")
mapfile -t missing_bpo < <(apt_missing "${DEB_BPO_PKGS[@]}")
mapfile -t missing_libvirt < <(apt_missing_min "$LIBVIRT_MIN_VERSION" "${LIBVIRT_PKGS[@]}")
if [[ -n ${missing[0]:-} || -n ${missing_bpo[0]:-} || -n ${missing_libvirt[0]:-} ]]; then
	did_work=1
	if [[ ! -f $BPO_SOURCES ]]; then
		log "adding bookworm-backports (apt keeps it at priority 100: used only when asked)"
		$SUDO tee "$BPO_SOURCES" >/dev/null <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	fi
	log "apt-get update"
	$SUDO apt-get -q update >/dev/null
	if [[ -n ${missing[0]:-} ]]; then
		log "installing from bookworm: ${missing[*]}"
		apt_install_guarded "${missing[@]}"
	fi
	if [[ -n ${missing_bpo[0]:-} ]]; then
		log "installing from bookworm-backports: ${missing_bpo[*]}"
		apt_install_guarded -t bookworm-backports "${missing_bpo[@]}"
	fi
	if [[ -n ${missing_libvirt[0]:-} ]]; then
		log "installing libvirt >= $LIBVIRT_MIN_VERSION from bookworm-backports: ${missing_libvirt[*]}"
		apt_install_guarded "${missing_libvirt[@]/%//bookworm-backports}"
	fi
else
	log "Debian packages: all present"
fi

# --- libvirt's nodedev driver, unpacked into the cache -----------------------

# libvirt-daemon-driver-nodedev depends on mdevctl, which depends on udev.
# With udev installed, virtme-ng starts udevd in every test VM and waits for
# it to settle (3.7 min more per boot of the debug kernel, measured), and
# udev then loads drivers for the devices the tests create.  So the driver,
# the same version as libvirt-daemon, is unpacked here and
# vpv_libvirt_test.sh has libvirtd load it (VPV_LIBVIRT_NODEDEV).
nodedev_dir=$VPV_CACHE/libvirt-nodedev
nodedev_ver=$(dpkg-query -W -f='${Version}' libvirt-daemon)
if [[ -f $nodedev_dir/VERSION && $(<"$nodedev_dir/VERSION") == "$nodedev_ver" ]]; then
	log "libvirt nodedev driver $nodedev_ver: present"
else
	did_work=1
	log "unpacking libvirt-daemon-driver-nodedev $nodedev_ver into $nodedev_dir"
	rm -rf "$nodedev_dir.tmp" && mkdir -p "$nodedev_dir.tmp"
	nodedev_download() {
		(cd "$nodedev_dir.tmp" && apt-get -q -o APT::Sandbox::User=root \
			download "libvirt-daemon-driver-nodedev=$nodedev_ver" >/dev/null)
	}
	if ! nodedev_download; then
		log "apt-get update (apt's lists do not have it)"
		$SUDO apt-get -q update >/dev/null
		nodedev_download || die "apt-get download libvirt-daemon-driver-nodedev=$nodedev_ver failed"
	fi
	dpkg -x "$nodedev_dir.tmp"/libvirt-daemon-driver-nodedev_*.deb "$nodedev_dir.tmp"
	rm "$nodedev_dir.tmp"/*.deb
	echo "$nodedev_ver" >"$nodedev_dir.tmp/VERSION"
	rm -rf "$nodedev_dir" && mv "$nodedev_dir.tmp" "$nodedev_dir"
fi
if dpkg-query -W -f='${Status}' udev 2>/dev/null | grep -q 'install ok installed'; then
	log "warning: udev is installed: virtme-ng starts udevd in every test VM, which makes"
	log "  each boot slower (debug kernel: +3.7 min) and loads drivers behind the tests' back;"
	log "  nothing here needs it ('apt-get remove udev' if nothing else on this machine does)"
fi

# --- Architecture-all packages from trixie-backports, unpacked into the cache -

# A private apt state that knows trixie-backports; the system's apt never sees it.
TRIXIE_APT=$VPV_CACHE/apt-trixie
trixie_apt() {
	apt-get -o Dir::Etc::sourcelist="$TRIXIE_APT/sources.list" \
		-o Dir::Etc::sourceparts=- -o Dir::State::Lists="$TRIXIE_APT/lists" \
		-o Dir::Cache="$TRIXIE_APT/cache" -o Debug::NoLocking=1 \
		-o APT::Sandbox::User=root "$@"
}
trixie_ready=0
trixie_init() {
	[[ $trixie_ready -eq 1 ]] && return
	mkdir -p "$TRIXIE_APT/lists/partial" "$TRIXIE_APT/cache/archives/partial"
	echo "deb [arch=amd64] http://deb.debian.org/debian trixie-backports main" \
		>"$TRIXIE_APT/sources.list"
	log "fetching the trixie-backports index into the cache"
	trixie_apt -q update >/dev/null
	trixie_ready=1
}
# unpack_all_deb PACKAGE VERSION-PREFIX DEST: the newest version that starts
# with VERSION-PREFIX (any version if it is empty).
unpack_all_deb() {
	local pkg=$1 prefix=$2 dest=$3 ver deb
	trixie_init
	ver=$(trixie_madison "$pkg" | awk -v v="$prefix" 'v == "" || index($3, v) == 1 {print $3; exit}')
	[[ -n $ver ]] || die "no $pkg version ${prefix:-(any)} in trixie-backports"
	log "downloading $pkg=$ver"
	(cd "$TRIXIE_APT/cache/archives" && trixie_apt -q download "$pkg=$ver" >/dev/null)
	deb=$(ls "$TRIXIE_APT/cache/archives/${pkg}_"*"_all.deb" | head -n 1)
	rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
	dpkg -x "$deb" "$dest.tmp"
	mv "$dest.tmp" "$dest"
}
trixie_madison() {
	apt-cache -o Dir::Etc::sourcelist="$TRIXIE_APT/sources.list" \
		-o Dir::Etc::sourceparts=- -o Dir::State::Lists="$TRIXIE_APT/lists" \
		-o Dir::Cache="$TRIXIE_APT/cache" madison "$1"
}

rustc_ver=$(rustc --version | awk '{print $2}')
rust_src_dest=$VPV_CACHE/rust-src-$rustc_ver
if [[ -d $(rust_lib_src) ]]; then
	log "rust-src $rustc_ver: present"
else
	did_work=1
	unpack_all_deb rust-src "$rustc_ver+" "$rust_src_dest"
	[[ -d $(rust_lib_src) ]] || die "rust-src package has no $(rust_lib_src)"
fi

if [[ -n ${KSRC:-} ]]; then
	log "kernel source: $KSRC (from KSRC)"
elif [[ -n $(kernel_src) ]]; then
	log "kernel source: $(kernel_src)"
else
	did_work=1
	pkgdir=$VPV_CACHE/debs/$VPV_KERNEL_PKG
	[[ -d $pkgdir ]] || unpack_all_deb "$VPV_KERNEL_PKG" "" "$pkgdir"
	tarball=$(ls "$pkgdir"/usr/src/linux-source-*.tar.* | head -n 1)
	log "unpacking $(basename "$tarball") (1.8 GB)"
	mkdir -p "$VPV_CACHE/src"
	tmp=$VPV_CACHE/src/.unpack
	rm -rf "$tmp" && mkdir -p "$tmp"
	tar -C "$tmp" -xf "$tarball"
	name=$(ls "$tmp")
	mv "$tmp/$name" "$VPV_CACHE/src/$name"
	rmdir "$tmp"
	rm -rf "$pkgdir"
fi

# --- crates.io and PyPI -------------------------------------------------------

if bindgen --version 2>/dev/null | grep -q " $VPV_BINDGEN_VERSION\$"; then
	log "bindgen $VPV_BINDGEN_VERSION: present"
else
	did_work=1
	log "cargo install bindgen-cli $VPV_BINDGEN_VERSION (about a minute)"
	cargo install --quiet --locked --root "$VPV_TOOLS" bindgen-cli --version "$VPV_BINDGEN_VERSION"
fi

if [[ -x $VPV_VENV/bin/vng ]]; then
	log "virtme-ng: present ($("$VPV_VENV/bin/vng" --version 2>/dev/null | head -n 1))"
else
	did_work=1
	log "installing virtme-ng into $VPV_VENV"
	python3 -m venv "$VPV_VENV"
	"$VPV_VENV/bin/pip" install --quiet --disable-pip-version-check virtme-ng
fi

# --- Check --------------------------------------------------------------------

ksrc=$(kernel_src)
make -s -C "$ksrc" LLVM="$VPV_LLVM" RUST_LIB_SRC="$(rust_lib_src)" rustavailable >/dev/null ||
	die "the kernel does not accept this Rust toolchain (make rustavailable failed)"

if [[ $did_work -eq 0 ]]; then
	log "toolchain: nothing to do, everything is in place"
else
	log "toolchain: ready in $(($(date +%s) - start)) s"
	echo "$(($(date +%s) - start))" >"$VPV_CACHE/setup-seconds"
fi

for flavour in "${flavours[@]}"; do
	"$VPV_ROOT/scripts/build-kernel.sh" "$flavour"
done
