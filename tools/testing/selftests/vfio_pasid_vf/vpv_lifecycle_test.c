// SPDX-License-Identifier: GPL-2.0
/*
 * Reliability: lifecycle faults while a VF bound to vfio-pasid-vf is open
 * through VFIO and under traffic.  The traffic is three threads of the VF's
 * user: two make config reads and writes inside the emulated PASID and PRI
 * capabilities, across their edges and outside them (Vendor and Device ID,
 * Command, PCI Express Device Control, Interrupt Line), one issues
 * VFIO_DEVICE_FEATURE GET of VFIO_DEVICE_FEATURE_PASID_VF in a loop.  Each
 * read is checked against what may not change under it (the IDs, the
 * capability headers, PCI_PASID_CAP, PCI_PRI_MAX_REQ, the reserved half of
 * PCI_PASID_CTRL) and each GET against the open's placement and the PF's
 * PASID state; each access may fail only with the errno this test allows.
 * The faults, each while the VF is open (Documentation/vfio-pasid-vf.rst):
 *
 *   sriov_disable   "echo 0 > sriov_numvfs" on the PF.  The kernel asks the
 *                   VF's user (VFIO_PCI_REQ_IRQ_INDEX eventfd) and the write
 *                   waits for the close; the traffic runs on meanwhile and
 *                   ends with EBADF once the user closes the VF under it.
 *   pf_unbind       The PF's driver unbound (the vpv_pf fixture's unbind_pf):
 *                   the device link unbinds the VF first, through the same
 *                   request; as above.
 *   pasid_off       The PF's PASID turned off (the fixture's pasid_disable):
 *                   PCI_PASID_CTRL reads 0 for every read made while it is
 *                   off, GET says VFIO_PASID_VF_PF_PASID_LOST, the error
 *                   eventfd (VFIO_PCI_ERR_IRQ_INDEX) fires once, one line is
 *                   logged, a PASID attach fails with ENXIO; after
 *                   pasid_enable, GET says HELD again, the user's writes of
 *                   PCI_PASID_CTRL_ENABLE take again, and the error eventfd
 *                   stays quiet.  No access fails.
 *   module_unload   delete_module("vfio_pasid_vf") while the VF is open:
 *                   EWOULDBLOCK (vfio pins the driver's module from the
 *                   first open to the last close), the refcount and the
 *                   binding unchanged, no access fails; after the close it
 *                   succeeds, and the module is loaded again with the
 *                   parameters and administrator's offsets it had.
 *
 * After each fault the test puts the system back as it found it (the PF's
 * driver, its VFs, their drivers, the module, the PF's PASID) and checks it:
 * the VFs exist with their drivers, and the VF opens through VFIO with PASID
 * and PRI presented and its PF's PASID held.  If the test process dies, its
 * parent (FIXTURE_TEARDOWN_PARENT) does the same restore, so that later
 * programs of the run find the setup they expect.  The kernel log must show
 * no backtrace ("Call Trace:") during a test; run.sh's reliability suite
 * checks kmemleak (debug kernel) after all its programs.
 *
 *   VPV_MODULE_KO=KO vpv_lifecycle_test [harness options] VF
 * with the vpv_pf fixture loaded on the VF's PF with PRI enabled (run.sh's
 * emulation setup), the VF bound to vfio-pasid-vf, no provider registered,
 * and VPV_MODULE_KO the vfio_pasid_vf.ko that is loaded (a path, which sysfs
 * cannot tell; module_unload loads it again, without it that test skips).
 * The VF is opened on the iommufd cdev: the faults are about the PF and the
 * module, not about the IOMMU mode.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

/* The uAPI, from the repository (see vpv_feature_test.c). */
#include "../../../../include/uapi/linux/vfio_pasid_vf.h"

#define CFG_SIZE	PCI_CFG_SPACE_EXP_SIZE
#define MAX_VFS		16
#define MODULE_SYSFS	"/sys/module/" VPV_MODULE_NAME
#define DRIVER_SYSFS	"/sys/bus/pci/drivers/" VPV_DRIVER
#define PASID_USERS	DRIVER_SYSFS "/pasid_users"
#define FAULT		VPV_FIXTURE_DEBUGFS "/fault"
#define PASID_OFF_LINE	"the PF's PASID went off"

/* VFIO_DEVICE_FEATURE GET of the feature under test. */
#define GET		(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PASID_VF)

/*
 * Each fault takes a few seconds on the lean kernel; on the debug kernel
 * under TCG a VF's removal, the PF's driver probe and the VFs' creation take
 * up to a minute.
 */
#define LIFECYCLE_TIMEOUT	300

/* How long the kernel has to ask the user, finish a fault, make progress (ms). */
#define REQ_WAIT_MS		30000
#define DONE_WAIT_MS		60000
#define PROGRESS_WAIT_MS	30000

/* Operations of each kind the traffic makes between two checks. */
#define PROGRESS_OPS		50

static const char *vf_bdf, *module_ko;
static char pf_bdf[32];
static int vf_index;

/* --- small helpers --- */

/* Whether /sys/bus/pci/devices/BDF exists. */
static bool pci_exists(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	return access(path, F_OK) == 0;
}

/* /sys/bus/pci/devices/@bdf/@file into @buf, newline stripped: 0 or -errno. */
static int dev_attr(const char *bdf, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, file);
	ret = vpv_file_read(path, buf, len);
	if (ret < 0)
		return ret;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int dev_attr_write(const char *bdf, const char *file, const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, file);
	return vpv_file_write(path, val);
}

/* Wait up to @ms for @fd to be readable: 1, 0 on timeout, -errno. */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret = poll(&p, 1, ms);

	return ret < 0 ? -errno : ret;
}

/* The fixture's fault status ("idle", "running CMD", "done CMD RC"), newline stripped. */
static int fault_status(char *buf, size_t len)
{
	int ret = vpv_file_read(FAULT, buf, len);

	if (ret < 0)
		return ret;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Wait up to @ms for the fixture's asynchronous fault hook to end; its status in @buf. */
static int fault_wait_idle(char *buf, size_t len, int ms)
{
	int ret;

	for (;;) {
		ret = fault_status(buf, len);
		if (ret || strncmp(buf, "running", 7))
			return ret;
		if (ms <= 0)
			return -ETIMEDOUT;
		usleep(10000);
		ms -= 10;
	}
}

/* Whether the driver's pasid_users lists @vf under the PF. */
static bool pasid_user(const char *vf)
{
	char buf[4096], want[40], *line, *save = NULL;

	if (vpv_file_read(PASID_USERS, buf, sizeof(buf)) < 0)
		return false;
	snprintf(want, sizeof(want), "%s:", pf_bdf);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, want, strlen(want)) && strstr(line + strlen(want), vf))
			return true;
	return false;
}

static unsigned long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000UL + t.tv_nsec / 1000000;
}

/* --- the traffic --- */

#define NR_CFG_THREADS	2
#define NR_THREADS	(NR_CFG_THREADS + 1)	/* and one for GET */

/*
 * The PF's PASID as the main thread knows it: on, off, or being changed (a
 * fault hook is running).  Reads are checked against it only when the phase
 * was the same before and after them: a sequence number in the upper bits
 * tells two phases of the same state apart.
 */
enum pf_pasid_state { PASID_ON, PASID_OFF, PASID_CHANGING };

struct traffic {
	/* Set before the threads start. */
	int fd;
	off_t cfg;			/* the config region's offset in fd */
	unsigned int pasid, pri;	/* the emulated capabilities, through VFIO */
	unsigned int exp;		/* the PCI Express capability */
	uint8_t orig[CFG_SIZE];		/* the config space through VFIO at the start */
	pthread_t tid[NR_THREADS];
	int started;

	atomic_uint phase;		/* sequence << 2 | enum pf_pasid_state */
	atomic_int closing;		/* fd is being closed: EBADF from now on ends a thread */
	atomic_int stop;		/* stop without a close */

	/* What the threads did (__atomic builtins). */
	unsigned long reads, writes, gets;
	unsigned long ctrl_enabled;	/* PCI_PASID_CTRL read with Enable set, the PASID on */
	unsigned long ctrl_off;		/* PCI_PASID_CTRL read, the PASID off throughout */
	unsigned long held, lost;	/* GETs saying HELD (PASID on) / LOST (PASID off) */
	unsigned long ebadf_ends;	/* threads that ended on EBADF after the close */
	unsigned long bad_errno, bad_value;
	char errno_log[VPV_LOG_LINES][VPV_LOG_LEN];
	char value_log[VPV_LOG_LINES][VPV_LOG_LEN];
};

static struct traffic tr;

static unsigned long get_count(unsigned long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void count(unsigned long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void set_phase(enum pf_pasid_state state)
{
	unsigned int seq = atomic_load(&tr.phase) >> 2;

	atomic_store(&tr.phase, (seq + 1) << 2 | state);
}

/* The state the PF's PASID was in throughout [@before, @after]. */
static enum pf_pasid_state state_of(unsigned int before, unsigned int after)
{
	return before == after ? (enum pf_pasid_state)(before & 3) : PASID_CHANGING;
}

/*
 * A failed operation: the errnos a thread may see are EBADF once the main
 * thread closes the device under it (then the thread ends), and none else.
 * Returns true if the thread must end.
 */
static bool failed(int err, const char *what, unsigned int off, size_t size)
{
	if (err == EBADF && atomic_load(&tr.closing)) {
		count(&tr.ebadf_ends);
		return true;
	}
	vpv_log_line(tr.errno_log, &tr.bad_errno, "%s %zu bytes at %#x: %s (errno %d)%s", what, size,
		 off, strerror(err), err, err == EBADF ? ", the device was not closed" : "");
	return false;
}

static bool in(unsigned int off, unsigned int start, unsigned int len)
{
	return off >= start && off < start + len;
}

/* Checks the bytes a read returned against what may not change, with the PF's PASID @state. */
static void check_read(unsigned int off, size_t size, const uint8_t *v, enum pf_pasid_state state)
{
	unsigned int ctrl = tr.pasid + PCI_PASID_CTRL, o;
	const char *reg;
	size_t i;

	for (i = 0; i < size; i++) {
		o = off + i;
		reg = NULL;
		if (o < PCI_COMMAND)
			reg = "PCI_VENDOR_ID/PCI_DEVICE_ID";
		else if (in(o, tr.pasid, PCI_PASID_CTRL))
			reg = "the PASID header or PCI_PASID_CAP";
		else if (in(o, tr.pri, PCI_PRI_CTRL))
			reg = "the PRI header";
		else if (in(o, tr.pri + PCI_PRI_MAX_REQ, 4))
			reg = "PCI_PRI_MAX_REQ";
		if (reg && v[i] != tr.orig[o])
			vpv_log_line(tr.value_log, &tr.bad_value,
				 "%zu-byte read at %#x: byte %#x of %s reads %#04x, %#04x at the open",
				 size, off, o, reg, v[i], tr.orig[o]);
		/* PCI_PASID_CTRL: bits 15:3 RsvdP, and all of it 0 while the PF's PASID is off. */
		if (o == ctrl + 1 && v[i])
			vpv_log_line(tr.value_log, &tr.bad_value,
				 "%zu-byte read at %#x: the reserved byte %#x of PCI_PASID_CTRL reads %#04x",
				 size, off, o, v[i]);
		if (o != ctrl)
			continue;
		if (state == PASID_OFF) {
			count(&tr.ctrl_off);
			if (v[i])
				vpv_log_line(tr.value_log, &tr.bad_value,
					 "%zu-byte read at %#x: PCI_PASID_CTRL reads %#04x with the PF's PASID off",
					 size, off, v[i]);
		} else if (state == PASID_ON && (v[i] & PCI_PASID_CTRL_ENABLE)) {
			count(&tr.ctrl_enabled);
		}
	}
}

/*
 * What a writer puts in a byte: in PCI_PASID_CTRL, PCI_PRI_CTRL, PCI_PRI_STATUS
 * and PCI_PRI_ALLOC_REQ a few values that exercise their RW, RW1C, Reset and
 * reserved bits; in their read-only registers 0x00 or 0xff (ignored); in the
 * real bytes what they read at the open (the writes are about the paths, not
 * about changing the device).
 */
static uint8_t write_byte(unsigned int off, uint64_t *s)
{
	static const uint8_t pasid_ctrl[] = { 0x00, PCI_PASID_CTRL_ENABLE, 0x07, 0xff };
	static const uint8_t pri_ctrl[] = { 0x00, PCI_PRI_CTRL_ENABLE, PCI_PRI_CTRL_RESET, 0x03 };
	static const uint8_t pri_status[] = { 0x00, PCI_PRI_STATUS_RF, PCI_PRI_STATUS_UPRGI, 0xff };
	static const uint8_t other[] = { 0x00, 0x3c, 0xff };
	const uint8_t *pal = other;
	size_t n = sizeof(other);

	if (off == tr.pasid + PCI_PASID_CTRL) {
		pal = pasid_ctrl;
		n = sizeof(pasid_ctrl);
	} else if (off == tr.pri + PCI_PRI_CTRL) {
		pal = pri_ctrl;
		n = sizeof(pri_ctrl);
	} else if (off == tr.pri + PCI_PRI_STATUS) {
		pal = pri_status;
		n = sizeof(pri_status);
	} else if (!in(off, tr.pasid, PCI_EXT_CAP_PASID_SIZEOF) &&
		   !in(off, tr.pri, PCI_EXT_CAP_PRI_SIZEOF)) {
		return tr.orig[off];
	}
	return pal[vpv_rnd(s) % n];
}

struct range {
	unsigned int start, end;
};

static void *cfg_thread(void *arg)
{
	static const size_t sizes[] = { 1, 2, 4, 8 };
	uint64_t seed = (uintptr_t)arg;
	/* In the emulated capabilities and the dword before each (straddling), and outside. */
	const struct range rd[] = {
		{ tr.pasid - 4, tr.pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ tr.pri - 4, tr.pri + PCI_EXT_CAP_PRI_SIZEOF },
		{ PCI_VENDOR_ID, PCI_STATUS + 2 },
		{ tr.exp + PCI_EXP_DEVCTL, tr.exp + PCI_EXP_DEVSTA + 2 },
	};
	const struct range wr[] = {
		{ tr.pasid - 4, tr.pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ tr.pri - 4, tr.pri + PCI_EXT_CAP_PRI_SIZEOF },
		{ PCI_INTERRUPT_LINE, PCI_INTERRUPT_LINE + 1 },
	};

	while (!atomic_load(&tr.stop)) {
		bool write = vpv_rnd(&seed) % 5 < 2;
		const struct range *g = write ? &wr[vpv_rnd(&seed) % ARRAY_SIZE(wr)] :
						&rd[vpv_rnd(&seed) % ARRAY_SIZE(rd)];
		size_t size = sizes[vpv_rnd(&seed) % ARRAY_SIZE(sizes)], i;
		unsigned int off = g->start + vpv_rnd(&seed) % (g->end - g->start), before, after;
		uint8_t v[8] = {};
		ssize_t n;

		/* The writes stay out of the standard header (but for Interrupt Line). */
		if (write && off < PCI_CFG_SPACE_SIZE && g->start != PCI_INTERRUPT_LINE)
			off = PCI_CFG_SPACE_SIZE;
		if (write && g->start == PCI_INTERRUPT_LINE)
			size = 1;
		if (off + size > CFG_SIZE)
			off = CFG_SIZE - size;
		for (i = 0; write && i < size; i++)
			v[i] = write_byte(off + i, &seed);
		before = atomic_load(&tr.phase);
		n = write ? pwrite(tr.fd, v, size, tr.cfg + off) :
			    pread(tr.fd, v, size, tr.cfg + off);
		after = atomic_load(&tr.phase);
		if (n < 0) {
			if (failed(errno, write ? "pwrite" : "pread", off, size))
				break;
			continue;
		}
		count(write ? &tr.writes : &tr.reads);
		if ((size_t)n != size) {
			vpv_log_line(tr.errno_log, &tr.bad_errno, "%s %zu bytes at %#x: returned %zd",
				 write ? "pwrite" : "pread", size, off, n);
			continue;
		}
		if (!write)
			check_read(off, size, v, state_of(before, after));
	}
	return NULL;
}

/* GET, checked against the open's placement and the PF's PASID @state. */
static void check_get(const struct vfio_device_feature_pasid_vf *info, enum pf_pasid_state state)
{
	uint16_t cap = vpv_le16(tr.orig + tr.pasid + PCI_PASID_CAP);
	uint32_t both = VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI;

	if (info->size != sizeof(*info) || (info->flags & both) != both ||
	    info->pasid_offset != tr.pasid || info->pri_offset != tr.pri ||
	    info->pasid_cap_presented != cap)
		vpv_log_line(tr.value_log, &tr.bad_value,
			 "GET: size %u flags %#x PASID at %#x (cap %#06x) PRI at %#x; at the open PASID at %#x (cap %#06x), PRI at %#x",
			 info->size, info->flags, info->pasid_offset, info->pasid_cap_presented,
			 info->pri_offset, tr.pasid, cap, tr.pri);
	if (state == PASID_ON) {
		count(&tr.held);
		if (info->pf_pasid != VFIO_PASID_VF_PF_PASID_HELD ||
		    !(info->pasid_ctrl & PCI_PASID_CTRL_ENABLE))
			vpv_log_line(tr.value_log, &tr.bad_value,
				 "GET with the PF's PASID on: pf_pasid %u, the PF's PCI_PASID_CTRL %#06x",
				 info->pf_pasid, info->pasid_ctrl);
	} else if (state == PASID_OFF) {
		count(&tr.lost);
		if (info->pf_pasid != VFIO_PASID_VF_PF_PASID_LOST ||
		    (info->pasid_ctrl & PCI_PASID_CTRL_ENABLE))
			vpv_log_line(tr.value_log, &tr.bad_value,
				 "GET with the PF's PASID off: pf_pasid %u, the PF's PCI_PASID_CTRL %#06x",
				 info->pf_pasid, info->pasid_ctrl);
	}
}

static void *get_thread(void *arg)
{
	struct vfio_device_feature_pasid_vf info;
	unsigned int before, after;
	int ret;

	while (!atomic_load(&tr.stop)) {
		memset(&info, 0, sizeof(info));
		before = atomic_load(&tr.phase);
		ret = vpv_feature(tr.fd, GET, &info, sizeof(info));
		after = atomic_load(&tr.phase);
		if (ret) {
			if (failed(-ret, "VFIO_DEVICE_FEATURE GET", 0, sizeof(info)))
				break;
			continue;
		}
		count(&tr.gets);
		check_get(&info, state_of(before, after));
	}
	return NULL;
}

/* Starts the traffic on the open @dev, whose config space is @cfg (with PASID, PRI, PCIe). */
static int traffic_start(struct vfio_pci_device *dev, const uint8_t *cfg, unsigned int pasid,
			 unsigned int pri, unsigned int exp)
{
	uint64_t seed = (uint64_t)time(NULL) << 16 | getpid();
	int i, ret;

	memset(&tr, 0, sizeof(tr));
	tr.fd = dev->fd;
	tr.cfg = dev->config_space.offset;
	tr.pasid = pasid;
	tr.pri = pri;
	tr.exp = exp;
	memcpy(tr.orig, cfg, CFG_SIZE);
	atomic_store(&tr.phase, PASID_ON);
	ksft_print_msg("traffic seed %#llx\n", (unsigned long long)seed);
	for (i = 0; i < NR_THREADS; i++) {
		ret = pthread_create(&tr.tid[i], NULL, i < NR_CFG_THREADS ? cfg_thread : get_thread,
				     (void *)(uintptr_t)(vpv_rnd(&seed) | 1));
		if (ret)
			return -ret;
		tr.started++;
	}
	return 0;
}

static void traffic_join(void)
{
	for (; tr.started; tr.started--)
		pthread_join(tr.tid[tr.started - 1], NULL);
}

static void traffic_stop(void)
{
	atomic_store(&tr.stop, 1);
	traffic_join();
}

static void print_log(const char *what, char log[VPV_LOG_LINES][VPV_LOG_LEN], unsigned long n)
{
	if (n)
		ksft_print_msg("%lu %s:\n", n, what);
	vpv_print_log(log, n);
}

static void traffic_report(const char *when)
{
	ksft_print_msg("traffic %s: %lu reads, %lu writes, %lu GETs (%lu HELD, %lu LOST); PCI_PASID_CTRL read %lu times with Enable set, %lu times with the PF's PASID off; %lu threads ended on EBADF\n",
		       when, get_count(&tr.reads), get_count(&tr.writes), get_count(&tr.gets),
		       get_count(&tr.held), get_count(&tr.lost), get_count(&tr.ctrl_enabled),
		       get_count(&tr.ctrl_off), get_count(&tr.ebadf_ends));
	print_log("failed operations", tr.errno_log, get_count(&tr.bad_errno));
	print_log("unexpected values", tr.value_log, get_count(&tr.bad_value));
}

/* What the traffic has done so far. */
struct progress {
	unsigned long cfg, gets, ctrl_enabled, ctrl_off, held, lost;
};

static struct progress progress_now(void)
{
	return (struct progress) {
		.cfg = get_count(&tr.reads) + get_count(&tr.writes),
		.gets = get_count(&tr.gets),
		.ctrl_enabled = get_count(&tr.ctrl_enabled),
		.ctrl_off = get_count(&tr.ctrl_off),
		.held = get_count(&tr.held),
		.lost = get_count(&tr.lost),
	};
}

/*
 * Whether, within PROGRESS_WAIT_MS from @p0, the traffic made PROGRESS_OPS
 * more config accesses and GETs, and as many more of what @want names that are
 * not 0 (e.g. .lost = 1: GETs that said LOST; .ctrl_off = 1: reads of
 * PCI_PASID_CTRL with the PASID off).
 */
static bool progressed(const struct progress *p0, const struct progress *want)
{
	unsigned long n = PROGRESS_OPS, t0 = now_ms();
	struct progress p;

	do {
		p = progress_now();
		if (p.cfg >= p0->cfg + n && p.gets >= p0->gets + n &&
		    (!want->ctrl_enabled ||
		     p.ctrl_enabled >= p0->ctrl_enabled + want->ctrl_enabled) &&
		    (!want->ctrl_off || p.ctrl_off >= p0->ctrl_off + n) &&
		    (!want->held || p.held >= p0->held + n) &&
		    (!want->lost || p.lost >= p0->lost + n))
			return true;
		usleep(10000);
	} while (now_ms() - t0 < PROGRESS_WAIT_MS);
	return false;
}

/* --- the system before a test, and putting it back --- */

struct saved {
	int num_vfs;			/* the PF's sriov_numvfs */
	char autoprobe[8];		/* its sriov_drivers_autoprobe */
	char vf_drv[MAX_VFS][64];	/* each VF's driver, "" for none */
	char params[1200];		/* vfio_pasid_vf's parameters, as its load takes them */
	char offsets[4096];		/* its administrator's offsets, a line per entry */
	bool pasid_off;			/* the fixture's pasid_disable is in effect */
};

/* vfio_pasid_vf's parameters as read from sysfs, as insmod takes them. */
static int module_params(char *buf, size_t len)
{
	static const char *const bools[] = {
		"emulate", "disable_denylist", "nointxmask", "disable_idle_d3", "disable_vga",
	};
	char path[PATH_MAX], val[1100];
	size_t at = 0, i;
	int ret;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(bools); i++) {
		snprintf(path, sizeof(path), MODULE_SYSFS "/parameters/%s", bools[i]);
		ret = vpv_file_read(path, val, sizeof(val));
		if (ret == -ENOENT && !strcmp(bools[i], "disable_vga"))
			continue;	/* without CONFIG_VFIO_PCI_VGA */
		if (ret <= 0)
			return ret ?: -EPROTO;
		at += snprintf(buf + at, len - at, "%s%s=%c", at ? " " : "", bools[i], val[0]);
		if (at >= len)
			return -ENAMETOOLONG;
	}
	ret = vpv_file_read(MODULE_SYSFS "/parameters/offsets", val, sizeof(val));
	if (ret < 0)
		return ret;
	val[strcspn(val, "\n")] = 0;
	if (val[0])
		at += snprintf(buf + at, len - at, " offsets=\"%s\"", val);
	return at < len ? 0 : -ENAMETOOLONG;
}

static int numvfs(int *n)
{
	char buf[16] = "";
	int ret = dev_attr(pf_bdf, "sriov_numvfs", buf, sizeof(buf));

	*n = atoi(buf);
	return ret;
}

static int save(struct saved *s)
{
	char vf[32];
	int i, ret;

	memset(s, 0, sizeof(*s));
	ret = numvfs(&s->num_vfs);
	if (ret)
		return ret;
	if (s->num_vfs <= 0 || s->num_vfs > MAX_VFS)
		return -ERANGE;
	ret = dev_attr(pf_bdf, "sriov_drivers_autoprobe", s->autoprobe, sizeof(s->autoprobe));
	for (i = 0; !ret && i < s->num_vfs; i++) {
		ret = vpv_virtfn(pf_bdf, i, vf, sizeof(vf));
		if (!ret)
			ret = vpv_driver_of(vf, s->vf_drv[i], sizeof(s->vf_drv[i]));
	}
	if (!ret)
		ret = module_params(s->params, sizeof(s->params));
	if (!ret)
		ret = vpv_file_read(DRIVER_SYSFS "/offsets", s->offsets, sizeof(s->offsets));
	return ret < 0 ? ret : 0;
}

#define WHY(fmt, ...) snprintf(why, len, fmt, ##__VA_ARGS__)

/*
 * Puts back what a fault changed, as @s says it was: the PF's PASID, the
 * module (with its parameters and offsets), the PF's driver, its VFs and
 * their drivers.  Only what differs is touched.  0, or the first -errno with
 * what failed in @why.  With the VF closed (a VF's removal waits for its user).
 */
static int restore(struct saved *s, char *why, size_t len)
{
	char status[128], drv[64], vf[32], val[16], *line, *save_ptr = NULL;
	int ret, i, n;

	why[0] = 0;
	ret = fault_wait_idle(status, sizeof(status), DONE_WAIT_MS);
	if (ret)
		return WHY("the fixture's fault hook still runs: %.64s", status), ret;
	if (s->pasid_off) {
		ret = vpv_fixture_fault("pasid_enable");
		if (ret)
			return WHY("the fixture's pasid_enable"), ret;
		s->pasid_off = false;
	}
	if (access(MODULE_SYSFS, F_OK)) {
		if (!module_ko)
			return WHY(VPV_MODULE_NAME " unloaded, VPV_MODULE_KO not set"), -ENOENT;
		ret = vpv_module_load(module_ko, s->params);
		if (ret)
			return WHY("insmod %s %.128s", module_ko, s->params), ret;
		for (line = strtok_r(s->offsets, "\n", &save_ptr); line;
		     line = strtok_r(NULL, "\n", &save_ptr)) {
			ret = vpv_file_write(DRIVER_SYSFS "/offsets", line);
			if (ret)
				return WHY("offsets entry '%.128s'", line), ret;
		}
		/* strtok_r() cut it into lines: read it back whole. */
		ret = vpv_file_read(DRIVER_SYSFS "/offsets", s->offsets, sizeof(s->offsets));
		if (ret < 0)
			return WHY("reading the offsets back"), ret;
	}
	ret = vpv_driver_of(pf_bdf, drv, sizeof(drv));
	if (!ret && !drv[0])
		ret = vpv_fixture_fault("bind_pf");
	if (ret)
		return WHY("the PF's driver back (the fixture's bind_pf)"), ret;
	ret = numvfs(&n);
	if (!ret && n != s->num_vfs) {
		snprintf(val, sizeof(val), "%d", s->num_vfs);
		if (n)
			ret = dev_attr_write(pf_bdf, "sriov_numvfs", "0");
		if (!ret)
			ret = dev_attr_write(pf_bdf, "sriov_drivers_autoprobe", s->autoprobe);
		if (!ret)
			ret = dev_attr_write(pf_bdf, "sriov_numvfs", val);
	}
	if (ret)
		return WHY("%d VFs back (sriov_numvfs)", s->num_vfs), ret;
	for (i = 0; i < s->num_vfs; i++) {
		ret = vpv_virtfn(pf_bdf, i, vf, sizeof(vf));
		if (ret)
			return WHY("VF %d: no virtfn%d", i, i), ret;
		if (s->vf_drv[i][0])
			ret = vpv_ensure_bound(vf, s->vf_drv[i]);
		else if (!vpv_driver_of(vf, drv, sizeof(drv)) && drv[0])
			ret = vpv_unbind(vf);
		if (ret)
			return WHY("VF %d %s back to '%s'", i, vf, s->vf_drv[i]), ret;
	}
	return 0;
}

/* --- the fixture --- */

FIXTURE(lifecycle) {
	struct saved saved;		/* shared with the parent, which restores from it */
	struct iommu *iommu;
	struct vfio_pci_device *dev;	/* the open VF */
	int req_fd, err_fd;		/* its VFIO_PCI_REQ/ERR_IRQ_INDEX eventfds */
	int kmsg;			/* the kernel log since the setup: backtraces */
	uint8_t cfg[CFG_SIZE];		/* the VF's config space through VFIO at the open */
	unsigned int pasid, pri, exp;
};

FIXTURE_SETUP(lifecycle)
{
	char drv[64], prov[256];
	int ret;

	self->req_fd = self->err_fd = -1;
	self->kmsg = -1;
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	ASSERT_STREQ(VPV_DRIVER, drv) TH_LOG("%s is bound to '%s'", vf_bdf, drv);
	ASSERT_EQ(0, access(VPV_FIXTURE_DEBUGFS, F_OK))
		TH_LOG("no %s: load the vpv_pf fixture on %s", VPV_FIXTURE_DEBUGFS, pf_bdf);
	/* A registered provider pins the module, and its callbacks would see every fault. */
	ASSERT_LT(0, vpv_file_read(VPV_FIXTURE_DEBUGFS "/provider", prov, sizeof(prov)));
	ASSERT_EQ(0, strncmp(prov, "registered 0 ", 13)) TH_LOG("the fixture's provider: %s", prov);
	ret = save(&self->saved);
	ASSERT_EQ(0, ret) TH_LOG("recording the PF %s, its VFs and the module: %s", pf_bdf,
				 strerror(-ret));
	self->kmsg = vpv_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

/*
 * In the parent, after the test process has ended (so the VF is closed), even
 * if it died: the system back as the setup found it, for the programs after
 * this one.
 */
FIXTURE_TEARDOWN_PARENT(lifecycle)
{
	char why[256];
	int ret;

	ret = restore(&self->saved, why, sizeof(why));
	/*
	 * Not TH_LOG(): after a failed ASSERT in the test process, the shared
	 * _metadata still has the trigger set that makes it print.
	 */
	if (ret)
		ksft_print_msg("restoring after the test: %s: %s\n", why, strerror(-ret));
	EXPECT_EQ(0, ret);
}

/* Opens the VF on the iommufd cdev, with its request and error eventfds. */
static void open_vf(struct __test_metadata *_metadata, FIXTURE_DATA(lifecycle) *self)
{
	unsigned int off;
	int n;

	self->iommu = iommu_init(MODE_IOMMUFD);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, 0, self->cfg, sizeof(self->cfg)));
	self->pasid = vpv_ecap_find(self->cfg, PCI_EXT_CAP_ID_PASID);
	self->pri = vpv_ecap_find(self->cfg, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, self->pasid) TH_LOG("no PASID capability in the VF's chain through VFIO");
	ASSERT_NE(0, self->pri) TH_LOG("no PRI capability in the VF's chain through VFIO");
	for (off = self->cfg[PCI_CAPABILITY_LIST] & ~3, n = 0; off && n < 48; n++) {
		if (self->cfg[off] == PCI_CAP_ID_EXP) {
			self->exp = off;
			break;
		}
		off = self->cfg[off + PCI_CAP_LIST_NEXT] & ~3;
	}
	ASSERT_NE(0, self->exp) TH_LOG("no PCI Express capability");
	ASSERT_TRUE(pasid_user(vf_bdf))
		TH_LOG("%s not under %s in %s", vf_bdf, pf_bdf, PASID_USERS);

	self->req_fd = vpv_irq_eventfd(self->dev->fd, VFIO_PCI_REQ_IRQ_INDEX);
	ASSERT_LE(0, self->req_fd) TH_LOG("VFIO_DEVICE_SET_IRQS VFIO_PCI_REQ_IRQ_INDEX: %s",
					  strerror(-self->req_fd));
	self->err_fd = vpv_irq_eventfd(self->dev->fd, VFIO_PCI_ERR_IRQ_INDEX);
	ASSERT_LE(0, self->err_fd) TH_LOG("VFIO_DEVICE_SET_IRQS VFIO_PCI_ERR_IRQ_INDEX: %s",
					  strerror(-self->err_fd));
}

/* Opens the VF and starts the traffic; returns once it has made progress. */
static void open_under_traffic(struct __test_metadata *_metadata, FIXTURE_DATA(lifecycle) *self)
{
	struct progress p0, want = { .held = 1, .ctrl_enabled = 1 };
	int ret;

	open_vf(_metadata, self);
	p0 = progress_now();
	ret = traffic_start(self->dev, self->cfg, self->pasid, self->pri, self->exp);
	ASSERT_EQ(0, ret) TH_LOG("pthread_create: %s", strerror(-ret));
	/* It runs, and writes of PCI_PASID_CTRL_ENABLE take: reads see Enable set. */
	ASSERT_TRUE(progressed(&p0, &want)) TH_LOG("the traffic made no progress in %d ms",
						   PROGRESS_WAIT_MS);
}

/* Closes the VF, after the traffic stopped (or ended on EBADF), and its eventfds. */
static void close_vf(FIXTURE_DATA(lifecycle) *self)
{
	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	self->dev = NULL;
	if (self->iommu)
		iommu_cleanup(self->iommu);
	self->iommu = NULL;
	if (self->req_fd >= 0)
		close(self->req_fd);
	if (self->err_fd >= 0)
		close(self->err_fd);
	self->req_fd = self->err_fd = -1;
}

/*
 * The user's answer to the request: it closes the VF under the traffic, whose
 * threads then end, each on EBADF.  Nothing else may be opened until they
 * have: a new file could take the closed descriptor's number.
 */
static void close_under_traffic(FIXTURE_DATA(lifecycle) *self)
{
	atomic_store(&tr.closing, 1);
	vfio_pci_device_cleanup(self->dev);	/* unmaps the BARs, closes the fd */
	self->dev = NULL;
	traffic_join();
	close_vf(self);
}

/* What the traffic saw: nothing but the errnos allowed, no value out of place. */
static void assert_clean_traffic(struct __test_metadata *_metadata, const char *when)
{
	traffic_report(when);
	EXPECT_EQ(0, get_count(&tr.bad_errno)) TH_LOG("operations failed unexpectedly (above)");
	EXPECT_EQ(0, get_count(&tr.bad_value))
		TH_LOG("reads or GETs returned what they may not (above)");
}

/* No backtrace (WARN, BUG, KASAN, lockdep, hung task) in the kernel log since the setup. */
static void assert_no_splat(struct __test_metadata *_metadata, FIXTURE_DATA(lifecycle) *self)
{
	EXPECT_EQ(0, vpv_kmsg_count(self->kmsg, "Call Trace:"))
		TH_LOG("the kernel logged a backtrace during the test: see dmesg");
}

/*
 * The system back as the setup found it (restore()), and working: the PF's
 * VFs with their drivers, and the VF opens through VFIO presenting PASID and
 * PRI, holding its PF's PASID, which its close gives back.
 */
static void assert_restored(struct __test_metadata *_metadata, FIXTURE_DATA(lifecycle) *self)
{
	struct vfio_device_feature_pasid_vf info = {};
	char why[256], drv[64], vf[32], params[1200], offsets[4096], pf_pasid[32];
	int i, n, ret;

	ret = restore(&self->saved, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("restoring: %s: %s", why, strerror(-ret));
	ASSERT_EQ(0, numvfs(&n));
	ASSERT_EQ(self->saved.num_vfs, n) TH_LOG("the PF's sriov_numvfs");
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, vpv_virtfn(pf_bdf, i, vf, sizeof(vf)));
		ASSERT_EQ(0, vpv_driver_of(vf, drv, sizeof(drv)));
		ASSERT_STREQ(self->saved.vf_drv[i], drv) TH_LOG("VF %d %s", i, vf);
	}
	ASSERT_EQ(vf_index, vpv_vf_index(vf_bdf, pf_bdf, sizeof(pf_bdf)));
	ASSERT_EQ(0, module_params(params, sizeof(params)));
	ASSERT_STREQ(self->saved.params, params) TH_LOG("the module's parameters");
	ASSERT_LE(0, vpv_file_read(DRIVER_SYSFS "/offsets", offsets, sizeof(offsets)));
	ASSERT_STREQ(self->saved.offsets, offsets) TH_LOG("the administrator's offsets");

	open_vf(_metadata, self);
	ASSERT_EQ(0, vpv_feature(self->dev->fd, GET, &info, sizeof(info)));
	ASSERT_EQ(VFIO_PASID_VF_PF_PASID_HELD, info.pf_pasid);
	ASSERT_EQ(self->pasid, info.pasid_offset);
	ASSERT_EQ(self->pri, info.pri_offset);
	ASSERT_EQ(0, dev_attr(vf_bdf, "vfio_pasid_vf/pf_pasid", pf_pasid, sizeof(pf_pasid)));
	ASSERT_STREQ("held", pf_pasid);
	close_vf(self);
	ASSERT_EQ(0, dev_attr(vf_bdf, "vfio_pasid_vf/pf_pasid", pf_pasid, sizeof(pf_pasid)));
	ASSERT_STREQ("not held", pf_pasid);
	ASSERT_FALSE(pasid_user(vf_bdf));
}

/*
 * A process that writes @val to @path when told to (writer_go()), so that
 * the main thread can go on while the write blocks.  Forked before the VF is
 * opened: it holds neither the VF's file nor a mapping of its BARs, which
 * would keep the VF open and the write blocked for ever.  If the test dies
 * first, its end of the pipe closes and the writer exits without writing.
 */
struct writer {
	pid_t pid;
	int go;
};

static int writer_fork(struct writer *w, const char *path, const char *val)
{
	int p[2];
	char c;

	if (pipe(p))
		return -errno;
	w->pid = fork();
	if (w->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!w->pid) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(255);
		_exit(-vpv_file_write(path, val));
	}
	close(p[0]);
	w->go = p[1];
	return 0;
}

static int writer_go(struct writer *w)
{
	int ret = write(w->go, "w", 1) == 1 ? 0 : -errno;

	close(w->go);
	return ret;
}

/* The write's result within @ms: 0 or -errno; 1 if it still runs. */
static int writer_result(struct writer *w, int ms)
{
	unsigned long t0 = now_ms();
	int status;
	pid_t ret;

	for (;;) {
		ret = waitpid(w->pid, &status, WNOHANG);
		if (ret == w->pid)
			return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
		if (ret < 0)
			return -errno;
		if (now_ms() - t0 >= (unsigned long)ms)
			return 1;
		usleep(10000);
	}
}

/*
 * The kernel asked the VF's user to release it (the request eventfd), and
 * waits: the VF is still there, still open and a PASID user of its PF, and
 * the traffic goes on undisturbed.
 */
static void assert_asked_and_waiting(struct __test_metadata *_metadata,
				     FIXTURE_DATA(lifecycle) *self)
{
	struct progress p0 = progress_now(), want = { .held = 1 };
	uint64_t n;

	ASSERT_EQ(1, wait_readable(self->req_fd, REQ_WAIT_MS))
		TH_LOG("no VFIO_PCI_REQ_IRQ_INDEX eventfd within %d ms", REQ_WAIT_MS);
	ASSERT_EQ(sizeof(n), read(self->req_fd, &n, sizeof(n)));
	ASSERT_TRUE(pci_exists(vf_bdf));
	ASSERT_TRUE(pasid_user(vf_bdf)) TH_LOG("the VF left %s before its close", PASID_USERS);
	ASSERT_TRUE(progressed(&p0, &want))
		TH_LOG("the traffic stalled while the kernel waited for the close");
	/* Nothing went wrong with the PF's PASID. */
	EXPECT_EQ(0, wait_readable(self->err_fd, 0)) TH_LOG("the error eventfd fired");
}

/* The traffic ran until the close and every thread of it ended on EBADF, none before. */
static void assert_ended_on_ebadf(struct __test_metadata *_metadata)
{
	assert_clean_traffic(_metadata, "until the close");
	EXPECT_EQ(NR_THREADS, get_count(&tr.ebadf_ends));
}

/*
 * sriov_numvfs written 0 on the PF while the VF is open: the write waits for
 * the user, who is asked through the request eventfd; the traffic runs until
 * the user closes the VF; then the write succeeds and the VFs are gone.
 */
TEST_F_TIMEOUT(lifecycle, sriov_disable_asks_the_user_and_waits_for_the_close, LIFECYCLE_TIMEOUT)
{
	char path[PATH_MAX];
	struct writer w = { .pid = -1, .go = -1 };
	int ret, n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs", pf_bdf);
	ret = writer_fork(&w, path, "0");
	ASSERT_EQ(0, ret) TH_LOG("fork: %s", strerror(-ret));
	open_under_traffic(_metadata, self);

	ASSERT_EQ(0, writer_go(&w));
	assert_asked_and_waiting(_metadata, self);
	/*
	 * The write still waits (the PF's device lock is held meanwhile: nothing
	 * here reads sriov_numvfs, whose show takes it).
	 */
	ASSERT_EQ(1, writer_result(&w, 200)) TH_LOG("sriov_numvfs 0 returned before the close");

	close_under_traffic(self);
	ret = writer_result(&w, DONE_WAIT_MS);
	ASSERT_EQ(0, ret) TH_LOG("echo 0 > sriov_numvfs after the close: %s",
				 ret > 0 ? "still blocked" : strerror(-ret));
	assert_ended_on_ebadf(_metadata);
	ASSERT_EQ(0, numvfs(&n));
	EXPECT_EQ(0, n);
	EXPECT_FALSE(pci_exists(vf_bdf)) TH_LOG("the VF outlived SR-IOV");
	EXPECT_FALSE(pasid_user(vf_bdf));
	assert_no_splat(_metadata, self);
	assert_restored(_metadata, self);
}

/*
 * The PF's driver unbinds while the VF is open: the device link unbinds the
 * VF first, which asks its user and waits for the close (the link says
 * "supplier unbinding" meanwhile); the traffic runs until the close.
 */
TEST_F_TIMEOUT(lifecycle, pf_unbind_asks_the_user_and_waits_for_the_close, LIFECYCLE_TIMEOUT)
{
	char status[128], path[PATH_MAX], drv[64];

	open_under_traffic(_metadata, self);

	ASSERT_EQ(0, vpv_file_write(FAULT, "unbind_pf"));
	assert_asked_and_waiting(_metadata, self);
	ASSERT_EQ(0, fault_status(status, sizeof(status)));
	ASSERT_STREQ("running unbind_pf", status)
		TH_LOG("the PF's unbind did not wait for the close");
	snprintf(path, sizeof(path), "/sys/class/devlink/pci:%s--pci:%s/status", pf_bdf, vf_bdf);
	ASSERT_LT(0, vpv_file_read(path, status, sizeof(status)));
	ASSERT_STREQ("supplier unbinding\n", status);

	close_under_traffic(self);
	ASSERT_EQ(0, fault_wait_idle(status, sizeof(status), DONE_WAIT_MS))
		TH_LOG("the PF's unbind still runs %d ms after the close", DONE_WAIT_MS);
	EXPECT_STREQ("done unbind_pf 0", status);
	assert_ended_on_ebadf(_metadata);
	ASSERT_EQ(0, vpv_driver_of(pf_bdf, drv, sizeof(drv)));
	EXPECT_STREQ("", drv);
	/* igb disables SR-IOV in its remove; a PF driver that keeps its VFs leaves it unbound. */
	if (pci_exists(vf_bdf)) {
		ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
		EXPECT_STREQ("", drv);
	}
	EXPECT_FALSE(pasid_user(vf_bdf));
	assert_no_splat(_metadata, self);
	assert_restored(_metadata, self);
}

/*
 * The PF's PASID goes off while the VF is open (the fixture's pasid_disable,
 * without a provider: the driver finds it at the user's next access to the
 * emulated registers): every read of PCI_PASID_CTRL made while it is off
 * reads 0, although the writers keep writing Enable; GET says LOST; the error
 * eventfd fires once; one line is logged; a PASID attach fails with ENXIO.
 * Back on (pasid_enable): GET says HELD, Enable written takes again, the
 * error eventfd stays quiet.
 */
TEST_F_TIMEOUT(lifecycle, pasid_off_reads_0_signals_once_and_logs_once_under_traffic,
	       LIFECYCLE_TIMEOUT)
{
	struct progress p0, want_off = { .ctrl_off = 1, .lost = 1 };
	struct progress want_on = { .held = 1, .ctrl_enabled = 1 };
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.flags = VFIO_DEVICE_ATTACH_PASID,
		.pasid = 1,
	};
	unsigned int ctrl;
	char pf_pasid[32];
	uint16_t v;
	uint64_t n;
	int kmsg, ret;

	open_under_traffic(_metadata, self);
	kmsg = vpv_kmsg_open();
	ASSERT_LE(0, kmsg);

	set_phase(PASID_CHANGING);
	ret = vpv_fixture_fault("pasid_disable");
	ASSERT_EQ(0, ret) TH_LOG("the fixture's pasid_disable: %s", strerror(-ret));
	self->saved.pasid_off = true;
	set_phase(PASID_OFF);
	p0 = progress_now();
	ASSERT_TRUE(progressed(&p0, &want_off))
		TH_LOG("no traffic read PCI_PASID_CTRL or GET with the PF's PASID off");
	ASSERT_EQ(0, dev_attr(vf_bdf, "vfio_pasid_vf/pf_pasid", pf_pasid, sizeof(pf_pasid)));
	EXPECT_STREQ("lost", pf_pasid);
	ASSERT_EQ(1, wait_readable(self->err_fd, 1000)) TH_LOG("no VFIO_PCI_ERR_IRQ_INDEX eventfd");
	ASSERT_EQ(sizeof(n), read(self->err_fd, &n, sizeof(n)));
	EXPECT_EQ(1, n) TH_LOG("the error eventfd's count");
	/* A PASID attach fails with ENXIO, before iommufd looks at the target (an IOAS). */
	at.pt_id = self->iommu->ioas_id;
	EXPECT_EQ(-1, ioctl(self->dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at));
	EXPECT_EQ(ENXIO, errno) TH_LOG("PASID attach with the PF's PASID off: %s", strerror(errno));

	set_phase(PASID_CHANGING);
	ret = vpv_fixture_fault("pasid_enable");
	ASSERT_EQ(0, ret) TH_LOG("the fixture's pasid_enable: %s", strerror(-ret));
	self->saved.pasid_off = false;
	set_phase(PASID_ON);
	p0 = progress_now();
	ASSERT_TRUE(progressed(&p0, &want_on))
		TH_LOG("no GET said HELD, or no write of Enable took, with the PF's PASID back");
	ASSERT_EQ(0, dev_attr(vf_bdf, "vfio_pasid_vf/pf_pasid", pf_pasid, sizeof(pf_pasid)));
	EXPECT_STREQ("held", pf_pasid);
	EXPECT_EQ(0, wait_readable(self->err_fd, 0)) TH_LOG("the error eventfd fired again");

	traffic_stop();
	assert_clean_traffic(_metadata, "around the PF's PASID off and on");
	EXPECT_EQ(1, vpv_kmsg_count(kmsg, PASID_OFF_LINE))
		TH_LOG("lines with '%s'", PASID_OFF_LINE);
	close(kmsg);
	/* The traffic has stopped: the user's own write of Enable takes. */
	v = PCI_PASID_CTRL_ENABLE;
	ctrl = self->pasid + PCI_PASID_CTRL;
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, ctrl, &v, sizeof(v)));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, ctrl, &v, sizeof(v)));
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, v & PCI_PASID_CTRL_ENABLE);
	close_vf(self);
	assert_no_splat(_metadata, self);
	assert_restored(_metadata, self);
}

/* The module's reference count (/sys/module/vfio_pasid_vf/refcnt); -errno. */
static int module_refcnt(void)
{
	char buf[16];
	int ret = vpv_file_read(MODULE_SYSFS "/refcnt", buf, sizeof(buf));

	return ret < 0 ? ret : atoi(buf);
}

/*
 * Unloading the module while the VF is open is refused with EWOULDBLOCK
 * (vfio holds the driver's module from the first open to the last close;
 * delete_module() fails so, not with EBUSY, for a live module in use) and
 * changes nothing: the module, its refcount, the binding, the traffic.  After
 * the close it unloads, unbinding the VF; it is then loaded again.
 */
TEST_F_TIMEOUT(lifecycle, module_unload_is_refused_while_open_and_works_after_the_close,
	       LIFECYCLE_TIMEOUT)
{
	struct progress p0, want = { .held = 1, .ctrl_enabled = 1 };
	char drv[64], pf_pasid[32], link[PATH_MAX];
	int refcnt, i, ret;

	if (!module_ko)
		SKIP(return, "VPV_MODULE_KO is not set: the module could not be loaded back");
	ASSERT_EQ(0, access(module_ko, R_OK)) TH_LOG("VPV_MODULE_KO=%s: %s", module_ko,
						     strerror(errno));
	open_under_traffic(_metadata, self);
	refcnt = module_refcnt();
	ASSERT_LT(0, refcnt) TH_LOG("the module's refcnt with the VF open");

	for (i = 0; i < 5; i++) {
		ret = vpv_module_unload();
		ASSERT_EQ(-EWOULDBLOCK, ret)
			TH_LOG("delete_module(" VPV_MODULE_NAME "), attempt %d: %s", i,
			       strerror(-ret));
		usleep(100000);
	}
	p0 = progress_now();
	ASSERT_TRUE(progressed(&p0, &want)) TH_LOG("the traffic stalled after the refused unloads");
	EXPECT_EQ(refcnt, module_refcnt());
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	EXPECT_STREQ(VPV_DRIVER, drv);
	ASSERT_EQ(0, dev_attr(vf_bdf, "vfio_pasid_vf/pf_pasid", pf_pasid, sizeof(pf_pasid)));
	EXPECT_STREQ("held", pf_pasid);
	traffic_stop();
	assert_clean_traffic(_metadata, "around the refused unloads");
	EXPECT_EQ(0, wait_readable(self->err_fd, 0)) TH_LOG("the error eventfd fired");
	EXPECT_EQ(0, wait_readable(self->req_fd, 0)) TH_LOG("the request eventfd fired");
	close_vf(self);

	ret = vpv_module_unload();
	ASSERT_EQ(0, ret) TH_LOG("delete_module(" VPV_MODULE_NAME ") after the close: %s",
				 strerror(-ret));
	EXPECT_NE(0, access(MODULE_SYSFS, F_OK));
	EXPECT_NE(0, access(DRIVER_SYSFS, F_OK));
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	EXPECT_STREQ("", drv) TH_LOG("the unload left the VF bound");
	snprintf(link, sizeof(link), "/sys/class/devlink/pci:%s--pci:%s", pf_bdf, vf_bdf);
	EXPECT_NE(0, access(link, F_OK)) TH_LOG("the unload left the device link %s", link);
	assert_no_splat(_metadata, self);
	assert_restored(_metadata, self);
}

int main(int argc, char *argv[])
{
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	module_ko = vpv_env("VPV_MODULE_KO");
	return test_harness_run(argc, argv);
}
