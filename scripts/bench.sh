#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark: what a VMM does to a VF through VFIO under vfio-pasid-vf, as a
# ratio to vfio-pci on the same VF in the same VM run.
set -euo pipefail

usage() {
	cat <<EOF
Usage: $(basename "$0") [--iterations N] [--rounds N] [--baseline KO]
       $(basename "$0") --report DATA [--baseline]
       $(basename "$0") --help

Boots the lean test VM, dresses the igb PF up with the vpv_pf fixture (PASID
and PRI), creates all its VFs, and times, on the same VFs, under
vfio-pasid-vf and under vfio-pci (tools/testing/selftests/vfio_pasid_vf/
vpv_bench.c; every access figure is the fastest of 5 runs of N accesses,
default 20000, per thread):
  1. reads of the emulated PASID and PRI registers (1, 2, 4 bytes) against
     vfio-pci's floor, a read of the same size that it serves from its own
     virtual config (the Vendor ID dword), and against a hardware-backed read
     of the same size (PCI_EXP_DEVCAP);
  2. reads and writes outside the emulated capabilities, against the same
     access under vfio-pci;
  3. writes of emulated registers against vfio-pci's write of a register it
     virtualizes (the PCI_INTERRUPT_LINE dword), same size;
  4. the same with 2 threads on one VF, and one thread on each of two VFs;
  5. binding all the VFs (driver_override + bind), their first VFIO open, and
     the slab memory a bound VF costs.
A warm-up round of each driver (the first runs in a fresh TCG VM are slow),
then N rounds (default 7) that alternate the drivers (A B, B A, ...) on each
group of cases, rebinding the VF between them, so that what a ratio compares
is measured seconds apart.  Prints one table: per figure the median over the
rounds of each driver's value, the median of the per-round ratios and their
spread (min..max), the ratio of each driver's fastest round, and a target
with PASS or MISS (on the median).  A benchmark, not a test: nothing is
asserted, the exit status is 0 on MISS.  Under TCG on a host that runs other
work, a run can take twice as long as the same run a second later: read the
spread before a ratio.  The per-round figures are kept in the VM's output
directory (bench.data); --report DATA prints the table again from such a
file (--baseline if it has a baseline).

With --baseline KO (another build of vfio_pasid_vf.ko, say the one before a
change), each round also times KO on the same VFs (swapped in and out around
its runs), and the table gains its median ratio and this build's ratio to it
(this/base, with its spread): a before/after comparison in one VM run.
EOF
}

# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# The figures of the table, one per line: section|kind|unit|label|numerator|
# denominator|target.  A numerator or denominator is DRIVER:CASE, DRIVER one
# of vpv (this build), vfio (vfio-pci), base (--baseline), CASE a line of
# vpv_bench's output or one of the guest's own figures (bind_ns, slab_*,
# sunr_*).  kind ratio: per round numerator / denominator; diff: numerator -
# denominator.  target: the ratio's median must be at most this ("-": none).
# The registers and why they were chosen: vpv_bench.c.
table_spec() {
	local r c s label t
	row() { echo "$1|$2|$3|$7|$5|$6|$4"; } # SECTION KIND UNIT TARGET NUM DEN LABEL
	# 1. Emulated reads against vfio-pci's floor and its hardware read.
	for r in "read1_pasid_ctrl 1 PASID Control" "read2_pasid_ctrl 2 PASID Control" \
		"read4_pasid_cap_ctrl 4 PASID Capability+Control" "read1_pri_ctrl 1 PRI Control" \
		"read2_pri_ctrl 2 PRI Control" "read4_pri_ctrl_status 4 PRI Control+Status" \
		"read4_pri_alloc_req 4 PRI Allocation"; do
		read -r c s label <<<"$r"
		row 1 ratio ns 1.05 "vpv:$c" "vfio:read${s}_vendor_id" "$label, $s B / floor"
		row 1 ratio ns 0.5 "vpv:$c" "vfio:read${s}_exp_devcap" "$label, $s B / hardware"
	done
	# 2. Outside the emulated capabilities: the same access under both drivers.
	for r in "read?_vendor_id virtual read Vendor ID" "read?_exp_devcap hardware read DEVCAP" \
		"write?_intr_line virtual write INTERRUPT_LINE"; do
		read -r c t label <<<"$r"
		for s in 1 2 4; do
			row 2 ratio ns 1.02 "vpv:${c/\?/$s}" "vfio:${c/\?/$s}" "$label, $s B ($t)"
		done
	done
	c=write1_cache_line_size
	row 2 ratio ns 1.02 "vpv:$c" "vfio:$c" "write CACHE_LINE_SIZE, 1 B (hardware)"
	c=read4096_whole_config
	row 2 ratio ns - "vpv:$c" "vfio:$c" "read all 4 KiB (crosses the emulated ones)"
	# 3. Emulated writes against vfio-pci's write of a virtualized register.
	for r in "write2_pasid_ctrl 2 PASID Control" "write2_pri_ctrl 2 PRI Control" \
		"write4_pri_alloc_req 4 PRI Allocation"; do
		read -r c s label <<<"$r"
		row 3 ratio ns 1.05 "vpv:$c" "vfio:write${s}_intr_line" \
			"$label, $s B / INTERRUPT_LINE"
	done
	# 4. Two threads: the targets of 1-3 for the same comparisons.
	for r in "1vf 2 threads, 1 VF" "2vf 2 threads, 2 VFs"; do
		read -r s label <<<"$r"
		c=t2_${s}
		row 4 ratio ns 1.02 "vpv:${c}_read4_vendor_id" "vfio:${c}_read4_vendor_id" \
			"$label: read4 Vendor ID"
		row 4 ratio ns 1.02 "vpv:${c}_write2_intr_line" "vfio:${c}_write2_intr_line" \
			"$label: write2 INTERRUPT_LINE"
		row 4 ratio ns 1.05 "vpv:${c}_read4_pasid_cap_ctrl" "vfio:${c}_read4_vendor_id" \
			"$label: read4 PASID Cap+Ctrl / floor"
		row 4 ratio ns 1.05 "vpv:${c}_write2_pasid_ctrl" "vfio:${c}_write2_intr_line" \
			"$label: write2 PASID Control / INTERRUPT_LINE"
	done
	# 5. Probe, first open, memory: no target.
	row 5 ratio us - vpv:bind_ns vfio:bind_ns "bind, per VF"
	row 5 ratio us - vpv:open_first vfio:open_first "first VFIO open, per VF"
	row 5 diff KiB - vpv:sunr_bound vfio:sunr_bound "SUnreclaim per bound VF"
	row 5 diff KiB - vpv:slab_bound vfio:slab_bound "Slab per bound VF"
	row 5 diff KiB - vpv:sunr_idle vfio:sunr_idle "noise: SUnreclaim, 1 s idle, per VF"
	row 5 diff KiB - vpv:slab_idle vfio:slab_idle "noise: Slab, 1 s idle, per VF"
}

# The table, from DATA (lines "ROUND DRIVER CASE VALUE"; round 0, the warm-up,
# is left out) and the spec on stdin; BASELINE non-empty adds its columns.
report() { # DATA BASELINE
	awk -v with_base="$2" -F'|' '
	function sort(a, n,    i, j, t) {
		for (i = 2; i <= n; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--)
				a[j + 1] = a[j]
			a[j + 1] = t
		}
	}
	function median(a, n) {
		sort(a, n)
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	# The per-round figures of kind of D1:C1 against D2:C2 in fig[1..n]; n.
	function per_round(kind, d1, c1, d2, c2,    r, n, k1, k2) {
		n = 0
		for (r = 1; r <= last; r++) {
			k1 = r SUBSEP d1 SUBSEP c1
			k2 = r SUBSEP d2 SUBSEP c2
			if (!(k1 in val) || !(k2 in val))
				continue
			if (kind == "diff")
				fig[++n] = val[k1] - val[k2]
			else if (val[k2] > 0)
				fig[++n] = val[k1] / val[k2]
		}
		return n
	}
	# The median over the rounds of D:C, scaled to the unit; "n/a" without any.
	function value(d, c, unit,    r, n, k) {
		n = 0
		for (r = 1; r <= last; r++) {
			k = r SUBSEP d SUBSEP c
			if (k in val)
				one[++n] = val[k]
		}
		return n ? fmt(median(one, n), unit) : "n/a"
	}
	# The smallest value over the rounds of D:C; -1 without any.
	function least(d, c,    r, k, m) {
		m = -1
		for (r = 1; r <= last; r++) {
			k = r SUBSEP d SUBSEP c
			if ((k in val) && (m < 0 || val[k] + 0 < m))
				m = val[k] + 0
		}
		return m
	}
	function fmt(x, unit) {
		if (unit == "us")
			return sprintf("%.0f us", x / 1000)
		if (unit == "KiB")
			return sprintf("%.1f KiB", x / 1024)
		return sprintf("%.0f ns", x)
	}
	function sfmt(x, kind, unit) {
		return kind == "diff" ? sprintf("%+.1f", x / 1024) : sprintf("%.3f", x)
	}
	# "median|min..max" of the per-round figures; "n/a|" without any.
	function summary(kind, unit, n,    m) {
		if (!n)
			return "n/a|"
		m = median(fig, n)
		return sfmt(m, kind, unit) (kind == "diff" ? " KiB" : "x") "|" \
			sfmt(fig[1], kind, unit) ".." sfmt(fig[n], kind, unit)
	}
	FILENAME != "-" {
		split($0, f, " ")
		val[f[1], f[2], f[3]] = f[4]
		if (f[1] + 0 > last)
			last = f[1] + 0
		next
	}
	FNR == 1 {
		h = "| # | figure | this build | vfio-pci | ratio (median) | spread (min..max) |" \
			" fastest / fastest | target | result |"
		s = "|---|---|---|---|---|---|---|---|---|"
		if (with_base != "") {
			h = h " baseline | baseline ratio | this / baseline (spread) |"
			s = s "---|---|---|"
		}
		print h
		print s
	}
	{
		split($5, num, ":")
		split($6, den, ":")
		n = per_round($2, num[1], num[2], den[1], den[2])
		sum = summary($2, $3, n)
		split(sum, parts, "|")
		result = "-"
		if ($7 != "-" && n)
			result = median(fig, n) <= $7 + 0 ? "PASS" : "MISS"
		target = $7 == "-" ? "-" : "<= " $7 "x"
		a = least(num[1], num[2])
		b = least(den[1], den[2])
		best = $2 == "ratio" && a >= 0 && b > 0 ? sprintf("%.3fx", a / b) : "-"
		line = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", $1, $4,
			value(num[1], num[2], $3), value(den[1], den[2], $3), parts[1], parts[2],
			best, target, result)
		if (with_base != "") {
			n = per_round($2, "base", num[2], den[1], den[2])
			split(summary($2, $3, n), bparts, "|")
			n = per_round($2, num[1], num[2], "base", num[2])
			split(summary($2, $3, n), tparts, "|")
			line = line sprintf(" %s | %s | %s (%s) |", value("base", num[2], $3),
				bparts[1], tparts[1], tparts[2])
		}
		print line
	}' "$1" -
}

if [[ ${1:-} == --report ]]; then
	[[ $# -ge 2 && -f $2 ]] || { usage >&2; exit 2; }
	table_spec | report "$2" "${3:-}"
	exit 0
fi

if [[ ${1:-} == --guest ]]; then
	shift
	ko=$1 fixture=$2 bench=$3 iters=$4 rounds=$5 baseline=${6:-}
	sysfs=/sys/bus/pci/devices
	data=/tmp/vpv-bench.data
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	pf=$(find_pci_fn 0x8086 0x10c9)
	[[ -n $pf ]] || die "no igb PF in the VM"
	insmod "$fixture" pf="$pf" pri_enable=1 # PRI enabled on the PF, as an IOMMU driver would
	echo 0 >"$sysfs/$pf/sriov_drivers_autoprobe"
	nvfs=$(<"$sysfs/$pf/sriov_totalvfs")
	echo "$nvfs" >"$sysfs/$pf/sriov_numvfs"
	vfs=()
	for ((i = 0; i < nvfs; i++)); do
		vfs+=("$(basename "$(readlink "$sysfs/$pf/virtfn$i")")")
	done
	[[ $nvfs -ge 2 ]] || die "the igb PF has $nvfs VFs, the threads need 2"
	insmod "$ko"
	loaded=$ko
	unbind() { # VF...
		local vf
		for vf in "$@"; do
			if [[ -e $sysfs/$vf/driver ]]; then
				echo "$vf" >"$sysfs/$vf/driver/unbind"
			fi
			echo >"$sysfs/$vf/driver_override"
		done
	}
	bind() { # DRIVER VF...: driver_override + bind
		local drv=$1 vf
		shift
		for vf in "$@"; do
			echo "$drv" >"$sysfs/$vf/driver_override"
			echo "$vf" >"/sys/bus/pci/drivers/$drv/bind"
		done
	}
	# Binds VF... to what DRIVER (vpv, vfio or base) names, unbinding them
	# first (and all VFs, to swap vfio_pasid_vf's build for base or back).
	use() { # DRIVER VF...
		local d=$1 ko_d=$ko drv=vfio-pasid-vf
		shift
		case $d in
		vfio) drv=vfio-pci ko_d=$loaded ;;
		base) ko_d=$baseline ;;
		esac
		if [[ $loaded != "$ko_d" ]]; then
			unbind "${vfs[@]}"
			rmmod vfio_pasid_vf
			insmod "$ko_d"
			loaded=$ko_d
		fi
		unbind "$@"
		[[ $# -eq 0 ]] || bind "$drv" "$@"
	}
	# Slab memory in bytes, from /proc/meminfo: all slab pages, and the
	# unreclaimable ones (the lean kernel has no /proc/slabinfo: no
	# CONFIG_SLUB_DEBUG).  Whole pages: a slab page serves many objects.
	slab_bytes() { awk '$1 == "Slab:" { printf "%d\n", $2 * 1024 }' /proc/meminfo; }
	sunr_bytes() { awk '$1 == "SUnreclaim:" { printf "%d\n", $2 * 1024 }' /proc/meminfo; }
	usecs() { local t=${1//[.,]/}; echo $((10#$t)); } # an $EPOCHREALTIME in µs
	emit() { echo "$round $d $1 $2" >>"$data"; }
	# Probe, first open and memory of all VFs under driver $d.
	lifecycle() {
		local s0 s1 s2 u0 u1 u2 t0 t1 drv=vfio-pasid-vf
		[[ $d != vfio ]] || drv=vfio-pci
		use "$d" # nothing bound
		# Memory a bound VF costs: the slab before and after binding them all,
		# and, for the noise, the same over 1 s of nothing just before.
		s0=$(slab_bytes) u0=$(sunr_bytes)
		sleep 1
		s1=$(slab_bytes) u1=$(sunr_bytes)
		t0=$EPOCHREALTIME
		bind "$drv" "${vfs[@]}"
		t1=$EPOCHREALTIME
		s2=$(slab_bytes) u2=$(sunr_bytes)
		emit bind_ns $((($(usecs "$t1") - $(usecs "$t0")) * 1000 / nvfs))
		emit slab_idle $(((s1 - s0) / nvfs))
		emit sunr_idle $(((u1 - u0) / nvfs))
		emit slab_bound $(((s2 - s1) / nvfs))
		emit sunr_bound $(((u2 - u1) / nvfs))
		"$bench" open "${vfs[@]}" | sed "s/^/$round $d /" >>"$data"
		unbind "${vfs[@]}"
	}
	# The access cases in groups (vpv_bench's case patterns), each timed under
	# one driver right after the other, so that the figures a ratio compares
	# are a second or two apart, not a whole round: a shared TCG host's load
	# changes over seconds.  Each group holds what its ratios compare.
	groups=("config read1_*" "config read2_*" "config read4_*" "config write*"
		"config read4096_*" "threads read4_*" "threads write2_*")
	drivers=(vpv vfio)
	[[ -z $baseline ]] || drivers+=(base)
	start=$SECONDS
	: >"$data"
	for ((round = 0; round <= rounds; round++)); do
		# A B, then B A, ...; the warm-up round (0) is left out of the table.
		order=("${drivers[@]}")
		if ((round % 2 == 0 && round > 0)); then
			order=()
			for ((i = ${#drivers[@]} - 1; i >= 0; i--)); do
				order+=("${drivers[i]}")
			done
		fi
		for g in "${groups[@]}"; do
			read -r mode pat <<<"$g"
			for d in "${order[@]}"; do
				on=("${vfs[0]}")
				[[ $mode == config ]] || on+=("${vfs[1]}")
				use "$d" "${on[@]}"
				"$bench" "$mode" "$iters" "${on[@]}" "$pat" |
					sed "s/^/$round $d /" >>"$data"
				if [[ $d == vpv && -z ${placement:-} ]]; then
					placement=$(<"$sysfs/${vfs[0]}/vfio_pasid_vf/placement")
				fi
			done
		done
		unbind "${vfs[@]}"
		for d in "${order[@]}"; do lifecycle; done
		echo "# round $round (${order[*]}) done at $((SECONDS - start)) s" >&2
	done
	[[ -z ${VPV_OUT:-} ]] || cp "$data" "$VPV_OUT/bench.data"
	cat <<EOF
# vfio-pasid-vf (this build${baseline:+; baseline $baseline}) against vfio-pci, on the $nvfs VFs
# of the igb PF $pf (vpv_pf fixture: PASID, PRI), one VM run.
# VF ${vfs[0]} (2 VFs: and ${vfs[1]}): $placement
# A warm-up round, then $rounds rounds alternating the drivers (per group of cases); each
# access figure is the fastest of 5 runs of $iters accesses (per thread).  Per figure: each
# driver's median over the rounds, the median of the per-round ratios and their min..max,
# and the ratio of each driver's fastest round (the load of a shared host only ever slows
# a run down); targets are informational (MISS: the median ratio is above the target).
# 1 emulated reads / vfio-pci's floor (the Vendor ID dword, from its virtual config) and
#   its hardware-backed read (PCI_EXP_DEVCAP), same size
# 2 outside the emulated capabilities: the same access under both drivers
# 3 emulated writes / vfio-pci's write of a register it virtualizes (the
#   PCI_INTERRUPT_LINE dword), same size
# 4 two threads on one VF's fd, or one on each of two VFs: ns per access = wall time /
#   both threads' accesses
# 5 all $nvfs VFs: bind (driver_override + bind), first VFIO open (iommufd cdev open +
#   VFIO_DEVICE_BIND_IOMMUFD), /proc/meminfo's SUnreclaim and Slab (after the bind -
#   before, per VF; noise: the same over 1 s of nothing just before)
EOF
	table_spec | report "$data" "$baseline"
	echo "# VM time in the benchmark: $((SECONDS - start)) s"
	exit 0
fi

iters=20000 rounds=7 baseline=
while [[ $# -gt 0 ]]; do
	case $1 in
	--iterations) iters=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--baseline) baseline=$(readlink -f "$2"); shift 2
		[[ -f $baseline ]] || die "--baseline: no such module: $2" ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ $iters =~ ^[1-9][0-9]*$ ]] || die "--iterations: a positive number, not $iters"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds: a positive number, not $rounds"

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
	"$out/vpv_pf.ko" "$out/vpv_bench" "$iters" "$rounds" ${baseline:+"$baseline"}
