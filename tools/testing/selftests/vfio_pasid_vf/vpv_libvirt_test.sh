#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vfio-pasid-vf under libvirt, as an administrator uses it: nodedev-detach
# and nodedev-reattach, and a domain whose <hostdev> names the driver with
# <driver model='vfio-pasid-vf'/> (libvirt's variant-driver selection, since
# 10.0), started paused and destroyed; and what libvirt does without model.
# shellcheck disable=SC2317 # the tests and cleanup run indirectly (t, trap)
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") VF
       $(basename "$0") --help

Runs libvirt's daemon (libvirtd, the monolithic daemon of Debian's libvirt
11.3) and virsh against VF, an SR-IOV VF bound to vfio-pasid-vf and not
open, whose PF presents PASID and PRI and has sriov_drivers_autoprobe 0
(run.sh's setup in the test VM: the vpv_pf fixture with pri_enable=1 on the
igb PF).  Prints TAP, as kselftests do, one line per test:

  nodedev_detach_binds_vfio_pasid_vf
      from no driver and no driver_override, 'virsh nodedev-detach
      pci_DDDD_BB_SS_F --driver vfio-pasid-vf' binds VF to vfio-pasid-vf;
  nodedev_reattach_gives_the_vf_back
      'virsh nodedev-reattach' clears driver_override and unbinds VF; the
      probe that follows binds nothing, because the PF's
      sriov_drivers_autoprobe is 0, so VF is back where it was before the
      detach, with no driver;
  domain_starts_paused_with_the_vf_bound_and_open
      from no driver, a domain with <hostdev managed='yes'> and
      <driver model='vfio-pasid-vf'/> starts paused (virsh start --paused),
      VF is bound to vfio-pasid-vf, QEMU holds its VFIO group open, the
      open holds the PF's PASID (pf_pasid 'held') and presents PASID and PRI;
  guest_sees_the_emulated_pasid_and_pri_capabilities
      in the paused guest (HMP through virsh qemu-monitor-command: the root
      port's bus numbers and the ECAM window written through ports 0xcf8/
      0xcfc, then physical reads of the ECAM), VF's extended capability
      chain has PASID and PRI where the driver placed them, with the
      PASID Capability the driver presents and the PF's Outstanding Page
      Request Capacity;
  domain_destroy_releases_the_vf
      'virsh destroy' ends QEMU, and libvirt, which bound VF at the start,
      unbinds it (the unbind waits for the last close) and clears
      driver_override: no driver, as before the start;
  a_vf_bound_before_start_stays_bound_after_destroy
      a VF that is already on vfio-pasid-vf when the domain starts is left
      there by 'virsh destroy' (libvirt gives back only what it bound),
      closed: pf_pasid 'not held', emulated 'none';
  driver_name_vfio_pasid_vf_is_rejected
      <driver name='vfio-pasid-vf'/> is not how libvirt selects a variant
      driver: 'name' is the backend (vfio, kvm, xen), and virsh define
      refuses the domain;
  without_model_libvirt_binds_vfio_pci
      without <driver model=...>, libvirt picks the driver from the
      'alias vfio_pci:...' lines of /lib/modules/\$(uname -r)/modules.alias
      (vfio_pasid_vf.ko has none), falls back to vfio-pci, and moves a VF
      from vfio-pasid-vf to vfio-pci: QEMU gets the VF without PASID/PRI;
      when the domain stops, libvirt leaves the VF with no driver.

libvirt's state lives in a temporary directory: libvirtd runs in its own
mount namespace in which that directory's subdirectories are mounted on
/etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and
/var/log/libvirt, so neither the host's libvirt configuration nor its
state is touched; virsh reaches the daemon through the socket in that
directory.  qemu.conf there runs QEMU as root without a security driver,
cgroups, namespaces, seccomp or virtlogd (the test VM has no systemd, udev
or dbus); the domain is type 'qemu' (TCG: there is no /dev/kvm).  A failed
test prints libvirtd's errors as comments, and libvirtd's and QEMU's logs
are then copied to \$VPV_OUT/libvirt (if VPV_OUT is set).

libvirt's nodedev driver (virsh nodedev-*) comes from the system if its
package is installed, otherwise from VPV_LIBVIRT_NODEDEV: the root of an
unpacked libvirt-daemon-driver-nodedev of the installed libvirt's version
(scripts/setup.sh keeps one in its cache, because the package depends on
udev through mdevctl, and virtme-ng starts udevd in every test VM when udev
is installed).  libvirtd loads it through LIBVIRT_DRIVER_DIR; without
mdevctl it logs that it cannot list mediated devices, which no test uses.

In the lean test VM the whole takes one to two minutes: libvirtd starts in
~4 s, probes QEMU's capabilities in ~12 s, and a domain starts in ~8 s.

Whatever happens, VF is left as it was given: bound to vfio-pasid-vf
(driver_override 'vfio-pasid-vf'), closed; the domain is destroyed and
undefined and libvirtd stopped.
Exit status: 0 if every test passed, 1 otherwise, 2 for bad usage.
EOF
}

case ${1:-} in
-h | --help) usage; exit 0 ;;
esac
[[ $# -eq 1 ]] || { usage >&2; exit 2; }
VF=$1

DRIVER=vfio-pasid-vf
DOM=vpv-libvirt-test
sysfs=/sys/bus/pci/devices
vdir=$sysfs/$VF/vfio_pasid_vf

# --- preconditions: what the standard VM has (no skip for any of them) -----

bail() { echo "Bail out! $*"; exit 1; }

echo "TAP version 13"
for cmd in libvirtd virsh virt-admin qemu-system-x86_64 unshare; do
	command -v "$cmd" >/dev/null || bail "$cmd is not installed (scripts/setup.sh installs it)"
done
# libvirt's drivers: QEMU's from the system, the nodedev driver from the
# system or from VPV_LIBVIRT_NODEDEV (see the usage).
drivers=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver
[[ -f $drivers/libvirt_driver_qemu.so ]] ||
	bail "libvirt's qemu driver is not installed (scripts/setup.sh installs it)"
nodedev_so=$drivers/libvirt_driver_nodedev.so
if [[ ! -f $nodedev_so ]]; then
	[[ -n ${VPV_LIBVIRT_NODEDEV:-} ]] ||
		bail "libvirt's nodedev driver is not installed and VPV_LIBVIRT_NODEDEV is not set"
	nodedev_so=$VPV_LIBVIRT_NODEDEV$drivers/libvirt_driver_nodedev.so
	[[ -f $nodedev_so ]] ||
		bail "no $nodedev_so (scripts/setup.sh unpacks it there)"
fi
[[ -e $sysfs/$VF/physfn ]] || bail "$VF is not an SR-IOV VF"
[[ $(basename "$(readlink "$sysfs/$VF/driver" 2>/dev/null)") == "$DRIVER" ]] ||
	bail "$VF is not bound to $DRIVER"
[[ $(<"$vdir/pf_pasid") == "not held" ]] || bail "$VF is open (pf_pasid: $(<"$vdir/pf_pasid"))"
PF=$(basename "$(readlink "$sysfs/$VF/physfn")")
[[ $(<"$sysfs/$PF/sriov_drivers_autoprobe") == 0 ]] ||
	bail "$PF's sriov_drivers_autoprobe is not 0: a VF given back would bind to its native driver"
group=$(basename "$(readlink "$sysfs/$VF/iommu_group")")
# libvirt's name for the VF: pci_0000_01_10_0.
nodedev=pci_${VF//[:.]/_}

echo "1..8"

# --- helpers -------------------------------------------------------------

now() { echo "${EPOCHREALTIME/[.,]/}"; }	# microseconds
secs() { # start-microseconds -> seconds since, to 0.1 s
	local d=$(($(now) - $1))
	printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000))
}

driver_of() { # bdf -> driver name, or "none"
	if [[ -e $sysfs/$1/driver ]]; then
		basename "$(readlink "$sysfs/$1/driver")"
	else
		echo none
	fi
}

# The state of the VF in one line, for the reasons of failures.
vf_state() {
	local s
	s="driver $(driver_of "$VF"), driver_override '$(<"$sysfs/$VF/driver_override")'"
	[[ ! -d $vdir ]] || s+=", pf_pasid '$(<"$vdir/pf_pasid")'"
	echo "$s"
}

# Unbinds the VF from any driver and clears driver_override: a VF that no
# one has claimed (the PF's sriov_drivers_autoprobe is 0).
release_vf() {
	if [[ -e $sysfs/$VF/driver ]]; then
		echo "$VF" >"$sysfs/$VF/driver/unbind" || return 1
	fi
	echo >"$sysfs/$VF/driver_override" || return 1
	[[ $(driver_of "$VF") == none && $(<"$sysfs/$VF/driver_override") == "(null)" ]]
}

# Binds the VF to vfio-pasid-vf through driver_override, as run.sh does.
bind_vpv() {
	[[ $(driver_of "$VF") != "$DRIVER" ]] || {
		[[ $(<"$sysfs/$VF/driver_override") == "$DRIVER" ]] ||
			echo "$DRIVER" >"$sysfs/$VF/driver_override" || return 1
		return 0
	}
	if [[ -e $sysfs/$VF/driver ]]; then
		echo "$VF" >"$sysfs/$VF/driver/unbind" || return 1
	fi
	echo "$DRIVER" >"$sysfs/$VF/driver_override" || return 1
	echo "$VF" >"/sys/bus/pci/drivers/$DRIVER/bind" || return 1
	[[ $(driver_of "$VF") == "$DRIVER" ]]
}

# A process that runs: it exists and is not a zombie (a zombie has released
# its files; whether the VM's PID 1 reaps orphans is not this test's concern).
alive() { # pid
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# The pid of the domain's QEMU, from libvirt's pid file; fails if none.
qemu_pid() {
	[[ -f $work/run/qemu/$DOM.pid ]] && cat "$work/run/qemu/$DOM.pid"
}

failed=0
keep_logs() {
	[[ -n ${VPV_OUT:-} ]] || return 0
	if mkdir -p "$VPV_OUT/libvirt" && cp -r "$work/log/." "$work/libvirtd.out" "$VPV_OUT/libvirt/"; then
		echo "# libvirt's logs: $VPV_OUT/libvirt"
	fi
}

# On every exit: no domain, no libvirtd, no QEMU, and the VF bound to
# vfio-pasid-vf and closed, as it was given; libvirt's logs kept on a failure.
cleanup() {
	local rc=$? pid
	set +e
	if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
		vsh destroy "$DOM" >/dev/null 2>&1
		vsh undefine "$DOM" >/dev/null 2>&1
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	pid=$(qemu_pid)
	if [[ -n $pid ]] && alive "$pid"; then
		echo "# cleanup: QEMU (pid $pid) outlived libvirtd: killing it"
		kill -9 "$pid"
		while alive "$pid"; do sleep 0.1; done
	fi
	if ! bind_vpv || [[ $(<"$vdir/pf_pasid") != "not held" ]]; then
		echo "# cleanup: could not give $VF back bound to $DRIVER and closed: $(vf_state)"
		rc=1
	fi
	[[ $failed -eq 0 && $rc -eq 0 ]] || keep_logs
	rm -rf "$work"
	exit "$rc"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vpv-libvirt.XXXXXX")
uri="qemu:///system?socket=$work/run/libvirt-sock"
# virsh, bounded: a domain starts in about 10 s here.  In a session of its
# own, without a controlling terminal, so that it starts no polkit agent
# (pkttyagent), whose complaint that polkit is not running would land in
# the output of the command.
vsh() { timeout 120 setsid -w virsh -q -c "$uri" "$@" </dev/null; }
daemon_pid=
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- libvirt's configuration and daemon -------------------------------------

mkdir -p "$work"/{etc/qemu,run,lib/qemu,cache/qemu,log/qemu,drivers}
# The drivers libvirtd loads (LIBVIRT_DRIVER_DIR): QEMU's and nodedev.
ln -s "$drivers/libvirt_driver_qemu.so" "$nodedev_so" "$work/drivers/"
# The daemon: no TCP, root's own socket without polkit (there is no dbus),
# warnings and errors in its log; once it is up, debug logs of PCI device
# handling too (util.pci, hypervisor: which driver libvirt picked, and why):
# from the start, they would log every device that the nodedev driver
# enumerates.
cat >"$work/libvirtd.conf" <<EOF
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
log_filters = "3:*"
EOF
# QEMU as root with no confinement the test VM could not give it (no
# SELinux/AppArmor, no cgroups, no seccomp in the lean kernel), /dev as is
# (namespaces: no private /dev to populate without udev), its stdio to a
# file (no virtlogd).
cat >"$work/etc/qemu.conf" <<EOF
user = "+0"
group = "+0"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
seccomp_sandbox = 0
stdio_handler = "file"
EOF

start_libvirtd() {
	local t0 i
	t0=$(now)
	# shellcheck disable=SC2016 # expanded by the namespace's shell
	unshare --mount --propagation private sh -c '
		set -e
		w=$1
		# (virtme-ng mounts empty tmpfs on /var/cache and /var/log)
		mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
		mount --bind "$w/etc" /etc/libvirt
		mount --bind "$w/run" /run/libvirt
		mount --bind "$w/lib" /var/lib/libvirt
		mount --bind "$w/cache" /var/cache/libvirt
		mount --bind "$w/log" /var/log/libvirt
		export LIBVIRT_DRIVER_DIR="$w/drivers"
		exec libvirtd --config "$w/libvirtd.conf" --pid-file "$w/libvirtd.pid"
	' sh "$work" >"$work/libvirtd.out" 2>&1 &
	daemon_pid=$!
	# The socket answers once the drivers are up (~1 s; libvirt probes
	# QEMU's capabilities later, at the first define).
	for ((i = 0; i < 300; i++)); do
		if [[ -S $work/run/libvirt-sock ]] && vsh uri >/dev/null 2>&1; then
			echo "# libvirtd $(libvirtd --version | awk '{print $NF}') (pid $daemon_pid) up in $(secs "$t0") s"
			return 0
		fi
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

start_libvirtd || {
	sed 's/^/# libvirtd: /' "$work/libvirtd.out" | tail -n 20
	bail "libvirtd did not come up"
}
out=$(setsid -w virt-admin -c "libvirtd:///system?socket=$work/run/libvirt-admin-sock" \
	daemon-log-filters "1:util.pci 1:hypervisor 3:*" 2>&1 </dev/null) || bail "virt-admin daemon-log-filters: $out"
# QEMU's capabilities: libvirt probes the binary once (a QEMU with -machine
# none and a QMP session), at the first call that needs them.
t0=$(now)
version=$(vsh version 2>&1) || bail "virsh version: $version"
echo "# $(grep -i 'hypervisor' <<<"$version" | tr -s ' '): capabilities probed in $(secs "$t0") s"

# --- test plumbing ------------------------------------------------------

n=0
why=
# t NAME: runs test_NAME; a test sets $why and returns 1 to fail.
t() {
	local t0 from
	t0=$(now)
	why=
	n=$((n + 1))
	from=$(log_lines)
	if "test_$1"; then
		echo "ok $n $1"
	else
		echo "not ok $n $1 # ${why:-failed}"
		failed=1
		# libvirt's errors in this test (but the probe of a /dev/kvm
		# that a TCG host does not have).
		tail -n +"$from" "$work/log/libvirtd.log" | grep ': error : ' | grep -v '/dev/kvm' |
			tail -n 5 | sed 's/^/# libvirtd.log: /' || true
	fi
	echo "# $1: $(secs "$t0") s"
}

# fail MESSAGE: sets the reason and fails (return 1 from the caller with ||).
fail() { why=$*; return 1; }

# The domain, with the hostdev's <driver> element given as $1 (may be empty).
domain_xml() {
	local b=${VF#*:} f=${VF##*.}
	local s=${b#*:}
	s=${s%.*}
	cat <<EOF
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <devices>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      $1
      <source>
        <address domain='0x${VF%%:*}' bus='0x${b%%:*}' slot='0x$s' function='0x$f'/>
      </source>
    </hostdev>
  </devices>
</domain>
EOF
}

# No domain: destroys one left running by a failed test, undefines it (a
# new domain each time: define keeps the UUID of the one it replaces only if
# the XML gives it).
forget_domain() {
	local state
	state=$(vsh domstate "$DOM" 2>/dev/null) || return 0
	if [[ $state != "shut off" ]]; then
		echo "# the domain is '$state' (left by an earlier test): destroying it"
		vsh destroy "$DOM" >/dev/null 2>&1 || true
	fi
	vsh undefine "$DOM" >/dev/null 2>&1 || true
}

define() { # driver-element
	local out
	forget_domain
	domain_xml "$1" >"$work/$DOM.xml"
	out=$(vsh define "$work/$DOM.xml" 2>&1) || fail "virsh define: $out"
}

# start: virsh start --paused; the domain is paused and QEMU runs.
start_paused() {
	local out state
	out=$(vsh start "$DOM" --paused 2>&1) || fail "virsh start --paused: $out" || return 1
	state=$(vsh domstate "$DOM" 2>&1) || fail "virsh domstate: $state" || return 1
	[[ $state == paused ]] || fail "the domain is '$state', not paused" || return 1
	[[ -n $(qemu_pid) ]] || fail "no QEMU pid file" || return 1
	alive "$(qemu_pid)" || fail "QEMU (pid $(qemu_pid)) is not running"
}

# destroy: virsh destroy; QEMU has exited.
destroy() {
	local out pid
	pid=$(qemu_pid) || fail "no QEMU pid file" || return 1
	out=$(vsh destroy "$DOM" 2>&1) || fail "virsh destroy: $out" || return 1
	! alive "$pid" || fail "QEMU (pid $pid) still runs after virsh destroy"
}

# QEMU holds the VF's VFIO group open.
qemu_holds_group() {
	local pid=$1 fd
	for fd in /proc/"$pid"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) != /dev/vfio/$group ]] || return 0
	done
	return 1
}

# The -device option that libvirt gave QEMU for the VF (from its log).
qemu_device_arg() {
	grep -o -- "-device '{\"driver\":\"vfio-pci\",\"host\":\"$VF\"[^}]*}'" "$work/log/qemu/$DOM.log" | tail -n 1
}

# libvirt's debug lines about the VF's driver in this step.
libvirt_pci_log() { # from-line
	tail -n +"$1" "$work/log/libvirtd.log" |
		grep -E "modalias|matching alias|already bound|is a vfio_pci driver|is NOT a vfio_pci|skip reset|Unbind from stub|Reattaching|Not reattaching|driver_override" |
		sed -E 's/^.* (debug|info|warning|error) : //; s/^/# libvirt: /' | head -n 12
}
log_lines() { wc -l <"$work/log/libvirtd.log"; }

# --- the tests ----------------------------------------------------------

test_nodedev_detach_binds_vfio_pasid_vf() {
	local out
	release_vf || fail "could not unbind $VF and clear its driver_override: $(vf_state)" || return 1
	out=$(vsh nodedev-detach "$nodedev" --driver "$DRIVER" 2>&1) ||
		fail "virsh nodedev-detach $nodedev --driver $DRIVER: $out" || return 1
	[[ $(driver_of "$VF") == "$DRIVER" ]] || fail "after nodedev-detach: $(vf_state)" || return 1
	[[ $(<"$sysfs/$VF/driver_override") == "$DRIVER" ]] || fail "driver_override is not $DRIVER: $(vf_state)"
}

test_nodedev_reattach_gives_the_vf_back() {
	local out
	bind_vpv || fail "could not bind $VF to $DRIVER: $(vf_state)" || return 1
	out=$(vsh nodedev-reattach "$nodedev" 2>&1) ||
		fail "virsh nodedev-reattach $nodedev: $out" || return 1
	echo "# after nodedev-reattach: $(vf_state)"
	[[ $(driver_of "$VF") == none ]] || fail "after nodedev-reattach: $(vf_state)" || return 1
	[[ $(<"$sysfs/$VF/driver_override") == "(null)" ]] ||
		fail "driver_override not cleared: $(vf_state)"
}

test_domain_starts_paused_with_the_vf_bound_and_open() {
	local pid emulated lines
	release_vf || fail "could not unbind $VF and clear its driver_override: $(vf_state)" || return 1
	define "<driver model='$DRIVER'/>" || return 1
	start_paused || return 1
	pid=$(qemu_pid)
	echo "# QEMU (pid $pid): $(qemu_device_arg)"
	[[ $(driver_of "$VF") == "$DRIVER" ]] || fail "with QEMU running: $(vf_state)" || return 1
	qemu_holds_group "$pid" || fail "QEMU (pid $pid) has no fd on /dev/vfio/$group" || return 1
	[[ $(<"$vdir/pf_pasid") == held ]] || fail "the open does not hold the PF's PASID: $(vf_state)" || return 1
	emulated=$(<"$vdir/emulated")
	echo "# placement: $(<"$vdir/placement")"
	mapfile -t lines <<<"$emulated"
	printf '# emulated: %s\n' "${lines[@]}"
	grep -q '^PASID 0x' <<<"$emulated" || fail "the open presents no PASID: $emulated" || return 1
	grep -q '^PRI 0x' <<<"$emulated" || fail "the open presents no PRI: $emulated"
}

# HMP commands, through one virsh (one connection): their output.
hmp() { # command...
	local c cmds=
	for c in "$@"; do
		cmds+="qemu-monitor-command $DOM --hmp '$c';"
	done
	vsh "$cmds"
}

# The guest's view of the config space of bus:dev.fn, 1024 dwords, into
# guest_cfg[], from one physical read of its ECAM window (0xb0000000, the
# q35 default, once mapped).  "xp /1024wx" prints 4 dwords a line:
#   00000000b0100000: 0x10ca8086 0x00100000 0x02000001 0x00000000
read_guest_cfg() { # bus dev fn
	local base out addr rest v i
	base=$((0xb0000000 + ($1 << 20) + ($2 << 15) + ($3 << 12)))
	out=$(hmp "xp /1024wx $(printf '%#x' "$base")") || return 1
	guest_cfg=()
	while read -r addr rest; do
		[[ $addr =~ ^[0-9a-f]+:$ ]] || continue
		i=$(((0x${addr%:} - base) / 4))
		for v in $rest; do
			guest_cfg[i]=$((v))
			i=$((i + 1))
		done
	done <<<"${out//$'\r'/}"
	[[ ${#guest_cfg[@]} -eq 1024 ]]
}

# A config dword of a host function, from sysfs.
host_cfg32() { # bdf off
	local v
	v=$(od -An -tu4 -j "$2" -N 4 "$sysfs/$1/config") || return 1
	echo $((v))
}

# The offset of extended capability id in a host function's config space.
host_ext_cap() { # bdf id
	local off=0x100 hdr i
	for ((i = 0; i < 128 && off != 0; i++)); do
		hdr=$(host_cfg32 "$1" $((off))) || return 1
		[[ $((hdr & 0xffff)) -ne $2 ]] || { echo $((off)); return 0; }
		off=$(((hdr >> 20) & 0xffc))
	done
	return 1
}

# An attribute address='...' of the first element of XML that xpath selects.
xml_attr() { # xpath attr
	local out re="[[:space:]]$2=[\"']([^\"']+)[\"']"
	out=$(vsh dumpxml "$DOM" --xpath "$1") || return 1
	[[ $out =~ $re ]] || return 1
	echo $((BASH_REMATCH[1]))
}

test_guest_sees_the_emulated_pasid_and_pri_capabilities() {
	local bus slot fn rbus rslot rfn off hdr i chain='' want_pasid want_pri want_cap pf_pri
	local guest_pasid='' guest_pri='' emulated
	local -a guest_cfg
	[[ -n $(qemu_pid) && $(vsh domstate "$DOM" 2>&1) == paused ]] ||
		fail "the domain is not running" || return 1
	emulated=$(<"$vdir/emulated")
	[[ $emulated =~ PASID\ (0x[0-9a-f]+)\ PCI_PASID_CAP\ (0x[0-9a-f]+) ]] ||
		fail "emulated shows no PASID: $emulated" || return 1
	want_pasid=$((BASH_REMATCH[1])) want_cap=$((BASH_REMATCH[2]))
	[[ $emulated =~ PRI\ (0x[0-9a-f]+) ]] || fail "emulated shows no PRI: $emulated" || return 1
	want_pri=$((BASH_REMATCH[1]))
	# Where libvirt put the VF (behind a pcie-root-port it added).
	bus=$(xml_attr "//devices/hostdev/address" bus) &&
		slot=$(xml_attr "//devices/hostdev/address" slot) &&
		fn=$(xml_attr "//devices/hostdev/address" function) ||
		fail "no guest address of the hostdev in virsh dumpxml" || return 1
	rbus=$(xml_attr "//devices/controller[@type='pci'][@index='$bus']/address" bus) &&
		rslot=$(xml_attr "//devices/controller[@type='pci'][@index='$bus']/address" slot) &&
		rfn=$(xml_attr "//devices/controller[@type='pci'][@index='$bus']/address" function) ||
		fail "no controller for guest bus $bus in virsh dumpxml" || return 1
	echo "# guest: VF at $(printf '%02x:%02x.%x' "$bus" "$slot" "$fn") behind the root port at $(printf '%02x:%02x.%x' "$rbus" "$rslot" "$rfn")"
	# No firmware ran (the vCPU never started): number the root port's
	# secondary bus as libvirt did, and map the ECAM (MCH PCIEXBAR, 0x60).
	hmp "o/w 0xcf8 $(printf '%#x' $((0x80000018 | rbus << 16 | rslot << 11 | rfn << 8)))" \
		"o/w 0xcfc $(printf '%#x' $((bus << 16 | bus << 8 | rbus)))" \
		"o/w 0xcf8 0x80000060" "o/w 0xcfc 0xb0000001" >/dev/null ||
		fail "HMP port writes failed" || return 1
	read_guest_cfg "$bus" "$slot" "$fn" || fail "HMP xp of the guest's config space failed" || return 1
	# (A VF's own Vendor and Device ID registers read 0xffff: QEMU shows
	# the IDs that sysfs gives.)
	[[ ${guest_cfg[0]} -eq $(($(<"$sysfs/$VF/device") << 16 | $(<"$sysfs/$VF/vendor"))) ]] ||
		fail "the guest's ID dword at $bus:$slot.$fn is $(printf '%08x' "${guest_cfg[0]}"), not the VF's" || return 1
	off=0x100
	for ((i = 0; i < 64 && off != 0; i++)); do
		hdr=${guest_cfg[off / 4]}
		chain+=" $(printf '%#x:%#x' "$off" $((hdr & 0xffff)))"
		case $((hdr & 0xffff)) in
		$((0x1b))) guest_pasid=$off ;;
		$((0x13))) guest_pri=$off ;;
		esac
		off=$(((hdr >> 20) & 0xffc))
	done
	echo "# guest extended capabilities (offset:ID):$chain"
	[[ $((guest_pasid)) -eq $want_pasid ]] ||
		fail "guest PASID at '${guest_pasid:-none}', the driver placed it at $(printf '%#x' "$want_pasid")" || return 1
	[[ $((guest_pri)) -eq $want_pri ]] ||
		fail "guest PRI at '${guest_pri:-none}', the driver placed it at $(printf '%#x' "$want_pri")" || return 1
	hdr=${guest_cfg[(want_pasid + 4) / 4]}
	[[ $((hdr & 0xffff)) -eq $want_cap ]] ||
		fail "guest PASID Capability $(printf '%#06x' $((hdr & 0xffff))), the driver presents $(printf '%#06x' "$want_cap")" || return 1
	off=$(host_ext_cap "$PF" $((0x13))) || fail "the PF $PF has no PRI capability" || return 1
	pf_pri=$(host_cfg32 "$PF" $((off + 8))) || fail "cannot read the PF's config space" || return 1
	hdr=${guest_cfg[(want_pri + 8) / 4]}
	[[ $hdr -eq $pf_pri ]] ||
		fail "guest PRI Outstanding Page Request Capacity $hdr, the PF's is $pf_pri"
}

test_domain_destroy_releases_the_vf() {
	[[ -n $(qemu_pid) ]] || fail "the domain is not running" || return 1
	destroy || return 1
	echo "# after destroy: $(vf_state)"
	[[ $(driver_of "$VF") == none ]] ||
		fail "libvirt bound the VF at start, but did not give it back: $(vf_state)" || return 1
	# (The unbind waited for the last close: the open has ended.)
	[[ $(<"$sysfs/$VF/driver_override") == "(null)" ]] || fail "driver_override not cleared: $(vf_state)"
}

test_a_vf_bound_before_start_stays_bound_after_destroy() {
	local from
	bind_vpv || fail "could not bind $VF to $DRIVER: $(vf_state)" || return 1
	define "<driver model='$DRIVER'/>" || return 1
	from=$(log_lines)
	start_paused || return 1
	[[ $(<"$vdir/pf_pasid") == held ]] || fail "with QEMU running: $(vf_state)" || return 1
	destroy || return 1
	libvirt_pci_log "$from"
	echo "# after destroy: $(vf_state)"
	[[ $(driver_of "$VF") == "$DRIVER" ]] || fail "after destroy: $(vf_state)" || return 1
	[[ $(<"$vdir/pf_pasid") == "not held" ]] || fail "after destroy: $(vf_state)" || return 1
	[[ $(<"$vdir/emulated") == none ]] || fail "emulated: $(<"$vdir/emulated")"
}

test_driver_name_vfio_pasid_vf_is_rejected() {
	local out
	bind_vpv || fail "could not bind $VF to $DRIVER: $(vf_state)" || return 1
	forget_domain
	domain_xml "<driver name='$DRIVER'/>" >"$work/$DOM.xml"
	if out=$(vsh define "$work/$DOM.xml" 2>&1); then
		fail "virsh define accepted <driver name='$DRIVER'/>" || return 1
	fi
	echo "# virsh define: $(tail -n 1 <<<"$out")"
	[[ $out == *"attribute 'name' in element 'driver'"* ]] ||
		fail "virsh define failed, but not on <driver name=...>: $out" || return 1
	[[ $(driver_of "$VF") == "$DRIVER" ]] || fail "the VF changed: $(vf_state)"
}

test_without_model_libvirt_binds_vfio_pci() {
	local from aliases
	aliases=/lib/modules/$(uname -r)/modules.alias
	bind_vpv || fail "could not bind $VF to $DRIVER: $(vf_state)" || return 1
	define "" || return 1
	if [[ -f $aliases ]]; then
		echo "# $aliases ($(readlink -f "$aliases")): $(grep -c '^alias vfio_pci:' "$aliases") 'alias vfio_pci:' lines, $(grep -c 'vfio_pasid_vf$' "$aliases") for vfio_pasid_vf"
	else
		echo "# $aliases: missing"
	fi
	from=$(log_lines)
	start_paused || return 1
	libvirt_pci_log "$from"
	echo "# with QEMU running: $(vf_state)"
	[[ $(driver_of "$VF") == vfio-pci ]] || fail "without model, with QEMU running: $(vf_state)" || return 1
	qemu_holds_group "$(qemu_pid)" || fail "QEMU has no fd on /dev/vfio/$group" || return 1
	destroy || return 1
	echo "# after destroy: $(vf_state)"
	[[ $(driver_of "$VF") == none ]] || fail "after destroy: $(vf_state)"
}

t nodedev_detach_binds_vfio_pasid_vf
t nodedev_reattach_gives_the_vf_back
t domain_starts_paused_with_the_vf_bound_and_open
t guest_sees_the_emulated_pasid_and_pri_capabilities
t domain_destroy_releases_the_vf
t a_vf_bound_before_start_stays_bound_after_destroy
t driver_name_vfio_pasid_vf_is_rejected
t without_model_libvirt_binds_vfio_pci

exit "$failed"
