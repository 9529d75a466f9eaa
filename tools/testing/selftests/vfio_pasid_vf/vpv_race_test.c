// SPDX-License-Identifier: GPL-2.0
/*
 * Config space accesses racing VFIO_DEVICE_RESET, an FLR initiated through
 * config space and the close of the device, on a VF bound to vfio-pasid-vf
 * that presents emulated PASID and PRI capabilities (vpv_pf fixture loaded).
 *
 * Meant for the debug kernel (KASAN, lockdep, kmemleak): the VM runner fails
 * the run on any splat, so this program's job is to drive the paths hard.
 * What it checks itself: every access fails only with an errno it may fail
 * with, the emulated registers only ever read values their register model
 * allows, and after the race and a final reset they read their reset values.
 *
 *   vpv_race_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 * with the VF bound to vfio-pasid-vf; its PF comes from sysfs (physfn).
 * Environment: VPV_RACE_SECONDS, how long each race runs (default 10): a
 * choice of the harness, which weighs it against the run's time.
 *
 * The race runs once per IOMMU mode (a fixture variant; the device is opened
 * and closed through that mode's path), in the first test of the variant;
 * each test then checks one property of what it saw.  Rounds: the main thread opens the
 * device, starts the racers, lets them run for a random while, closes the
 * device under them (they stop on EBADF) and joins them.  The device is
 * reopened only after every racer has stopped, so a closed descriptor number
 * is never reused while a racer may still use it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#define CFG_SIZE	PCI_CFG_SPACE_EXP_SIZE
#define NR_ACCESSORS	3
#define NR_RACERS	(NR_ACCESSORS + 3)	/* and a resetter, an FLR, PF events */
#define PRI_EVENT	"/sys/kernel/debug/vpv_pf/pri_event"
#define LOG_LINES	8
#define LOG_LEN		192

static const char *vf_bdf;
static unsigned int race_seconds = 10;

/* --- the register model: what each byte may read --- */

enum byte_kind {
	UNCHECKED,	/* a real byte: the device's business */
	BITS,		/* (byte & ~var) == fixed */
	ALLOC,		/* PRI Allocation: only bytes the writers write */
};

/* Every byte the writers put into PRI Allocation is one of these. */
static const uint8_t alloc_bytes[] = { 0x00, 0x3c, 0xc3 };

struct byte_model {
	uint8_t kind, var, fixed;
	const char *reg;	/* pci_regs.h name, for the messages */
};

/* What the racers know of the VF, found before the race. */
struct vf_map {
	char pf[32];
	unsigned int pf_pri;		/* the PF's PRI capability (sysfs view) */
	/*
	 * The fixture's pri_event and the PF's sysfs config, opened before the
	 * race: a racer that opened a file while the device is being closed
	 * could get the closed descriptor's number, and the accessors' writes.
	 */
	int pri_event_fd, pf_cfg_fd;
	unsigned int pasid, pri;	/* emulated capabilities (VFIO view) */
	unsigned int link;		/* real capability whose Next is patched; 0: none */
	unsigned int exp;		/* PCI Express capability */
	uint32_t pasid_hdr, pri_hdr, link_hdr;
	uint16_t pasid_cap;		/* expected, from the PF and the IOMMU */
	uint16_t pri_status_ro;		/* PRG Response PASID Required, the PF's */
	uint32_t pri_capacity;		/* the PF's */
	uint8_t orig[CFG_SIZE];		/* config image through VFIO, before the race */
	struct byte_model m[CFG_SIZE];
};

/* What the race saw; in shared memory, as each test runs in its own process. */
struct race_result {
	char iommu_mode[32];	/* the variant whose race this is */
	int state;		/* 0: not run, 1: started, 2: finished */
	unsigned long accesses, resets, resets_eagain, flrs, pf_events, closes;
	unsigned long bad_errno, bad_value;
	char errno_log[LOG_LINES][LOG_LEN];
	char value_log[LOG_LINES][LOG_LEN];
	/* After the racers stopped: dirty, VFIO_DEVICE_RESET, read back. */
	int dirty_ok;
	int final_reset;	/* 0 or -errno */
	uint32_t pasid_hdr, pri_hdr, link_hdr;
	uint16_t pasid_cap, pasid_ctrl, pri_ctrl, pri_status;
	uint32_t pri_capacity, pri_alloc;
	uint32_t want_pasid_hdr, want_pri_hdr, want_link_hdr, want_pri_capacity;
	uint16_t want_pasid_cap, want_pri_status;
};

static struct race_result *result;

/* One round: the racers share the descriptor until the main thread closes it. */
struct round {
	struct vf_map *map;
	int fd;
	off_t cfg;			/* the config region's offset in the fd */
	atomic_int closing;		/* set just before close(fd) */
	atomic_int stop;		/* set to end the last round without closing */
};

struct racer {
	struct round *r;
	uint64_t seed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static __printf(3, 4)
void log_line(char log[LOG_LINES][LOG_LEN], unsigned long *count, const char *fmt, ...)
{
	unsigned long n = __atomic_fetch_add(count, 1, __ATOMIC_RELAXED);
	va_list ap;

	if (n >= LOG_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(log[n], LOG_LEN, fmt, ap);
	va_end(ap);
}

static void count(unsigned long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/*
 * The errnos a racer may see, and why:
 *   EBADF   the main thread closed the descriptor (only once it said so);
 *   EAGAIN  VFIO_DEVICE_RESET only: pci_try_reset_function() gives up when
 *           it cannot take the device lock at once (libvfio's
 *           vfio_pci_device_reset() retries it for that reason).  Rare here:
 *           vfio-pci serialises its resets on its memory_lock first.
 * Anything else - including ENODEV, which a descriptor that is still open
 * has no reason to return - is recorded as unexpected.
 * Returns true if the racer must stop.
 */
static bool failed(struct round *r, int err, bool is_reset, const char *what,
		   unsigned int off, size_t size)
{
	if (err == EBADF && atomic_load(&r->closing))
		return true;
	if (err == EAGAIN && is_reset) {
		count(&result->resets_eagain);
		return false;
	}
	log_line(result->errno_log, &result->bad_errno, "%s %zu bytes at %#x: %s (errno %d)%s",
		 what, size, off, strerror(err), err,
		 err == EBADF ? " before the device was closed" : "");
	return false;
}

static bool done(struct round *r)
{
	return atomic_load(&r->stop);
}

/* Checks the bytes a read returned against the register model. */
static void check_read(struct vf_map *map, unsigned int off, size_t size, const uint8_t *v)
{
	unsigned int pri_ctl = map->pri + PCI_PRI_CTRL;
	size_t i;

	for (i = 0; i < size; i++) {
		const struct byte_model *m = &map->m[off + i];
		bool ok = true;

		switch (m->kind) {
		case BITS:
			ok = (v[i] & ~m->var) == m->fixed;
			break;
		case ALLOC:
			ok = memchr(alloc_bytes, v[i], sizeof(alloc_bytes)) != NULL;
			break;
		}
		if (!ok)
			log_line(result->value_log, &result->bad_value,
				 "%zu-byte read at %#x: byte %#x of %s reads %#04x, the model allows %#04x with bits %#04x variable",
				 size, off, off + (unsigned int)i, m->reg, v[i], m->fixed, m->var);
	}
	/* A dword is one access: PRI Stopped reads as the inverse of PRI Enable. */
	if (!(off % 4) && off <= pri_ctl && off + size >= pri_ctl + 4) {
		uint16_t ctrl = v[pri_ctl - off] | v[pri_ctl - off + 1] << 8;
		uint16_t status = v[pri_ctl - off + 2] | v[pri_ctl - off + 3] << 8;

		if (!(ctrl & PCI_PRI_CTRL_ENABLE) != !!(status & PCI_PRI_STATUS_STOPPED))
			log_line(result->value_log, &result->bad_value,
				 "%zu-byte read at %#x: PCI_PRI_CTRL %#06x with PCI_PRI_STATUS %#06x (Stopped must be !Enable)",
				 size, off, ctrl, status);
	}
}

/* Ranges the accessors read in: [start, end) */
struct range {
	unsigned int start, end;
};

static unsigned int ranges_of(struct vf_map *map, struct range *rg, bool for_writes)
{
	unsigned int n = 0, i;

	if (!for_writes)
		rg[n++] = (struct range){ 0, 4 };				/* Vendor/Device ID */
	if (map->link)
		rg[n++] = (struct range){ map->link, map->link + 8 };	/* header and after */
	/* Each emulated capability, with the 4 bytes before it: straddling accesses. */
	rg[n++] = (struct range){ map->pasid - 4, map->pasid + PCI_EXT_CAP_PASID_SIZEOF };
	rg[n++] = (struct range){ map->pri - 4, map->pri + PCI_EXT_CAP_PRI_SIZEOF };
	if (!for_writes)
		rg[n++] = (struct range){ map->exp + PCI_EXP_DEVCTL, map->exp + PCI_EXP_DEVSTA + 2 };
	/* Writes stay out of the standard header (an emulated capability may be at 0x100). */
	for (i = 0; for_writes && i < n; i++)
		if (rg[i].start < PCI_CFG_SPACE_SIZE)
			rg[i].start = PCI_CFG_SPACE_SIZE;
	return n;
}

/*
 * What a writer puts in a byte: in the emulated registers, one of a few
 * values that exercise the RW, RW1C, Reset and reserved bits; in real bytes,
 * what the byte read before the race (the writes are about the paths, not
 * about changing the device, and a free dword must stay 0 for placement).
 */
static uint8_t write_byte(struct vf_map *map, unsigned int off, uint64_t *s)
{
	static const uint8_t ro[] = { 0x00, 0xff };
	static const uint8_t pasid_ctrl[] = { 0x00, PCI_PASID_CTRL_ENABLE, 0x07, 0xff };
	static const uint8_t pri_ctrl[] = { 0x00, PCI_PRI_CTRL_ENABLE, PCI_PRI_CTRL_RESET, 0x03, 0xff };
	static const uint8_t pri_status[] = { 0x00, PCI_PRI_STATUS_RF, PCI_PRI_STATUS_UPRGI, 0x03, 0xff };
	const uint8_t *pal = ro;
	size_t n = sizeof(ro);

#define PICK(a) do { pal = (a); n = sizeof(a); } while (0)
	if (off >= map->pasid && off < map->pasid + PCI_EXT_CAP_PASID_SIZEOF) {
		if (off == map->pasid + PCI_PASID_CTRL)
			PICK(pasid_ctrl);
	} else if (off >= map->pri && off < map->pri + PCI_EXT_CAP_PRI_SIZEOF) {
		if (off == map->pri + PCI_PRI_CTRL)
			PICK(pri_ctrl);
		else if (off == map->pri + PCI_PRI_STATUS)
			PICK(pri_status);
		else if (off >= map->pri + PCI_PRI_ALLOC_REQ)
			PICK(alloc_bytes);
	} else if (map->link && off >= map->link + 2 && off < map->link + 4) {
		/* The patched Next pointer (and the Version beside it). */
	} else {
		return map->orig[off];
	}
#undef PICK
	return pal[rnd(s) % n];
}

static void *accessor(void *arg)
{
	struct racer *rc = arg;
	struct round *r = rc->r;
	struct vf_map *map = r->map;
	static const size_t sizes[] = { 1, 2, 4, 8 };
	struct range rd[8], wr[8];
	unsigned int nrd = ranges_of(map, rd, false), nwr = ranges_of(map, wr, true);

	while (!done(r)) {
		bool write = rnd(&rc->seed) % 5 < 2;
		struct range *g = write ? &wr[rnd(&rc->seed) % nwr] : &rd[rnd(&rc->seed) % nrd];
		size_t size = sizes[rnd(&rc->seed) % 4];
		unsigned int off = g->start + rnd(&rc->seed) % (g->end - g->start);
		uint8_t v[8] = {};
		ssize_t n;
		size_t i;

		if (off + size > CFG_SIZE)
			off = CFG_SIZE - size;
		if (write)
			for (i = 0; i < size; i++)
				v[i] = write_byte(map, off + i, &rc->seed);
		n = write ? pwrite(r->fd, v, size, r->cfg + off) : pread(r->fd, v, size, r->cfg + off);
		count(&result->accesses);
		if (n < 0) {
			if (failed(r, errno, false, write ? "pwrite" : "pread", off, size))
				break;
			continue;
		}
		if ((size_t)n != size) {
			log_line(result->errno_log, &result->bad_errno, "%s %zu bytes at %#x: returned %zd",
				 write ? "pwrite" : "pread", size, off, n);
			continue;
		}
		if (!write)
			check_read(map, off, size, v);
	}
	return NULL;
}

static void *resetter(void *arg)
{
	struct racer *rc = arg;
	struct round *r = rc->r;

	while (!done(r)) {
		if (ioctl(r->fd, VFIO_DEVICE_RESET) == 0)
			count(&result->resets);
		else if (failed(r, errno, true, "VFIO_DEVICE_RESET", 0, 0))
			break;
		usleep(rnd(&rc->seed) % 20000);
	}
	return NULL;
}

/* Initiate Function Level Reset through the VFIO config region. */
static void *flr(void *arg)
{
	struct racer *rc = arg;
	struct round *r = rc->r;
	off_t devctl = r->cfg + r->map->exp + PCI_EXP_DEVCTL;

	while (!done(r)) {
		uint16_t ctl;

		if (pread(r->fd, &ctl, 2, devctl) != 2) {
			if (failed(r, errno, false, "pread PCI_EXP_DEVCTL", r->map->exp + PCI_EXP_DEVCTL, 2))
				break;
			continue;
		}
		ctl |= PCI_EXP_DEVCTL_BCR_FLR;
		if (pwrite(r->fd, &ctl, 2, devctl) != 2) {
			if (failed(r, errno, false, "pwrite PCI_EXP_DEVCTL_BCR_FLR",
				   r->map->exp + PCI_EXP_DEVCTL, 2))
				break;
			continue;
		}
		count(&result->flrs);
		usleep(rnd(&rc->seed) % 20000);
	}
	return NULL;
}

/*
 * Page Request events on the PF (the fixture's pri_event), each cleared
 * again as the PF's driver would (RW1C): a VF must show none of them, while
 * the accessors read its PRI Status.
 */
static void *pf_events(void *arg)
{
	static const char *const ev[] = { "rf", "uprgi", "rf uprgi" };
	uint16_t clear = PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI;
	struct racer *rc = arg;
	struct round *r = rc->r;
	unsigned int pf_status = r->map->pf_pri + PCI_PRI_STATUS;
	const char *e;

	while (!done(r) && !atomic_load(&r->closing)) {
		e = ev[rnd(&rc->seed) % 3];
		if (pwrite(r->map->pri_event_fd, e, strlen(e), 0) != (ssize_t)strlen(e))
			log_line(result->errno_log, &result->bad_errno, "writing '%s' to %s: %s", e,
				 PRI_EVENT, strerror(errno));
		else
			count(&result->pf_events);
		usleep(rnd(&rc->seed) % 2000);
		if (pwrite(r->map->pf_cfg_fd, &clear, sizeof(clear), pf_status) != sizeof(clear))
			log_line(result->errno_log, &result->bad_errno,
				 "clearing the PF's PCI_PRI_STATUS at %#x through sysfs: %s", pf_status,
				 strerror(errno));
		usleep(rnd(&rc->seed) % 5000);
	}
	return NULL;
}

/* --- finding the VF's layout, and the expected values --- */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void model(struct vf_map *map, unsigned int off, unsigned int len, uint64_t fixed,
		  uint64_t var, enum byte_kind kind, const char *reg)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		map->m[off + i] = (struct byte_model){
			.kind = kind, .var = var >> (8 * i), .fixed = fixed >> (8 * i), .reg = reg,
		};
}

static void map_vf(struct __test_metadata *_metadata, struct vfio_pci_device *dev,
		   struct vf_map *map)
{
	static uint8_t pf_cfg[CFG_SIZE];
	unsigned int pf_pasid, pf_pri, off, n, first;
	uint16_t pf_cap, pf_ctrl, ctrl_var = PCI_PASID_CTRL_ENABLE;
	int pf_width, iommu_width;
	char *pf = map->pf, path[PATH_MAX];

	memset(map, 0, sizeof(*map));
	ASSERT_EQ(0, vpv_pf_of(vf_bdf, map->pf, sizeof(map->pf))) TH_LOG("%s has no physfn: not a VF", vf_bdf);
	ASSERT_EQ(0, vpv_cfg_read(pf, 0, pf_cfg, sizeof(pf_cfg)));
	pf_pasid = vpv_ecap_find(pf_cfg, PCI_EXT_CAP_ID_PASID);
	pf_pri = vpv_ecap_find(pf_cfg, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, pf_pasid) TH_LOG("PF %s has no PASID capability: load the vpv_pf fixture", pf);
	ASSERT_NE(0, pf_pri) TH_LOG("PF %s has no PRI capability: load the vpv_pf fixture", pf);
	map->pf_pri = pf_pri;
	map->pri_event_fd = open(PRI_EVENT, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, map->pri_event_fd) TH_LOG("%s: %s", PRI_EVENT, strerror(errno));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", pf);
	map->pf_cfg_fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, map->pf_cfg_fd) TH_LOG("%s: %s", path, strerror(errno));

	ASSERT_EQ(CFG_SIZE, pread(dev->fd, map->orig, CFG_SIZE, dev->config_space.offset));
	map->pasid = vpv_ecap_find(map->orig, PCI_EXT_CAP_ID_PASID);
	map->pri = vpv_ecap_find(map->orig, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, map->pasid) TH_LOG("no PASID capability in the VF's chain through VFIO");
	ASSERT_NE(0, map->pri) TH_LOG("no PRI capability in the VF's chain through VFIO");
	map->pasid_hdr = le32(map->orig + map->pasid);
	map->pri_hdr = le32(map->orig + map->pri);
	ASSERT_EQ(1, PCI_EXT_CAP_VER(map->pasid_hdr)) TH_LOG("PASID Capability Version");
	ASSERT_EQ(1, PCI_EXT_CAP_VER(map->pri_hdr)) TH_LOG("PRI Capability Version");

	/* The real capability that links to the first emulated one. */
	first = 0;
	for (off = PCI_CFG_SPACE_SIZE, n = 0; off && n < 64; n++) {
		uint32_t hdr = le32(map->orig + off);

		if (off == map->pasid || off == map->pri) {
			first = off;
			break;
		}
		map->link = off;
		off = PCI_EXT_CAP_NEXT(hdr);
	}
	ASSERT_NE(0, first) TH_LOG("the chain does not reach the emulated capabilities");
	if (first == PCI_CFG_SPACE_SIZE)
		map->link = 0;	/* the emulated capability heads the chain */
	if (map->link)
		map->link_hdr = le32(map->orig + map->link);

	/* The PCI Express capability, for Initiate Function Level Reset. */
	for (off = map->orig[PCI_CAPABILITY_LIST] & ~3, n = 0; off && n < 48; n++) {
		if (map->orig[off] == PCI_CAP_ID_EXP) {
			map->exp = off;
			break;
		}
		off = map->orig[off + 1] & ~3;
	}
	ASSERT_NE(0, map->exp) TH_LOG("no PCI Express capability");
	ASSERT_NE(0, le32(map->orig + map->exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR)
		TH_LOG("the VF does not support FLR (PCI_EXP_DEVCAP_FLR)");

	/* PASID Capability: Exec/Priv if the PF supports and has them, width min(PF, IOMMU). */
	pf_cap = le32(pf_cfg + pf_pasid + PCI_PASID_CAP) & 0xffff;
	pf_ctrl = le32(pf_cfg + pf_pasid + PCI_PASID_CAP) >> 16;
	pf_width = (pf_cap >> 8) & 0x1f;
	iommu_width = vpv_iommu_pasid_width(vf_bdf);
	ASSERT_GT(iommu_width, 0) TH_LOG("no intel-iommu ecap in sysfs for %s", vf_bdf);
	if ((pf_cap & PCI_PASID_CAP_EXEC) && (pf_ctrl & PCI_PASID_CTRL_EXEC))
		map->pasid_cap |= PCI_PASID_CAP_EXEC;
	if ((pf_cap & PCI_PASID_CAP_PRIV) && (pf_ctrl & PCI_PASID_CTRL_PRIV))
		map->pasid_cap |= PCI_PASID_CAP_PRIV;
	map->pasid_cap |= (pf_width < iommu_width ? pf_width : iommu_width) << 8;
	ASSERT_EQ(map->pasid_cap, le32(map->orig + map->pasid + PCI_PASID_CAP) & 0xffff)
		TH_LOG("PCI_PASID_CAP before the race (PF cap %#x ctrl %#x, IOMMU width %d)",
		       pf_cap, pf_ctrl, iommu_width);
	if (map->pasid_cap & PCI_PASID_CAP_EXEC)
		ctrl_var |= PCI_PASID_CTRL_EXEC;
	if (map->pasid_cap & PCI_PASID_CAP_PRIV)
		ctrl_var |= PCI_PASID_CTRL_PRIV;

	/* PRI: PASID Required is the PF's (PASID is presented), Capacity the PF's. */
	map->pri_status_ro = (le32(pf_cfg + pf_pri + PCI_PRI_CTRL) >> 16) & PCI_PRI_STATUS_PASID;
	map->pri_capacity = le32(pf_cfg + pf_pri + PCI_PRI_MAX_REQ);

	model(map, PCI_VENDOR_ID, 2, vpv_sysfs_hex(vf_bdf, "vendor"), 0, BITS, "PCI_VENDOR_ID");
	model(map, PCI_DEVICE_ID, 2, vpv_sysfs_hex(vf_bdf, "device"), 0, BITS, "PCI_DEVICE_ID");
	if (map->link)
		model(map, map->link, 4, map->link_hdr, 0, BITS, "the linking capability's header");
	model(map, map->pasid, 4, map->pasid_hdr, 0, BITS, "the PASID header");
	model(map, map->pasid + PCI_PASID_CAP, 2, map->pasid_cap, 0, BITS, "PCI_PASID_CAP");
	model(map, map->pasid + PCI_PASID_CTRL, 2, 0, ctrl_var, BITS, "PCI_PASID_CTRL");
	model(map, map->pri, 4, map->pri_hdr, 0, BITS, "the PRI header");
	model(map, map->pri + PCI_PRI_CTRL, 2, 0, PCI_PRI_CTRL_ENABLE, BITS, "PCI_PRI_CTRL");
	/* RF and UPRGI: nothing is attributed to a VF yet, they read 0. */
	model(map, map->pri + PCI_PRI_STATUS, 2, map->pri_status_ro, PCI_PRI_STATUS_STOPPED, BITS,
	      "PCI_PRI_STATUS");
	model(map, map->pri + PCI_PRI_MAX_REQ, 4, map->pri_capacity, 0, BITS, "PCI_PRI_MAX_REQ");
	model(map, map->pri + PCI_PRI_ALLOC_REQ, 4, 0, 0, ALLOC, "PCI_PRI_ALLOC_REQ");
}

/* --- the race --- */

static struct timespec now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

static double since(struct timespec t0)
{
	struct timespec t = now();

	return t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

static uint32_t cfg_get(struct vfio_pci_device *dev, unsigned int off, size_t len)
{
	uint32_t v = 0;

	return vpv_vfio_cfg_rw(dev, false, off, &v, len) ? ~0u : v;
}

/* Puts non-reset values in the RW registers and checks that they took. */
static int dirty(struct vfio_pci_device *dev, struct vf_map *map)
{
	uint16_t pasid = PCI_PASID_CTRL_ENABLE, pri = PCI_PRI_CTRL_ENABLE;
	uint32_t alloc = 0x3cc33cc3;

	if (vpv_vfio_cfg_rw(dev, true, map->pasid + PCI_PASID_CTRL, &pasid, 2) ||
	    vpv_vfio_cfg_rw(dev, true, map->pri + PCI_PRI_CTRL, &pri, 2) ||
	    vpv_vfio_cfg_rw(dev, true, map->pri + PCI_PRI_ALLOC_REQ, &alloc, 4))
		return -1;
	return cfg_get(dev, map->pasid + PCI_PASID_CTRL, 2) == pasid &&
	       cfg_get(dev, map->pri + PCI_PRI_CTRL, 2) == pri &&
	       cfg_get(dev, map->pri + PCI_PRI_ALLOC_REQ, 4) == alloc ? 0 : -1;
}

static void run_race(struct __test_metadata *_metadata, const char *iommu_mode)
{
	static struct vf_map map;
	void *(*const fn[NR_RACERS])(void *) = {
		[0 ... NR_ACCESSORS - 1] = accessor, resetter, flr, pf_events,
	};
	uint16_t pf_clear = PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI;
	struct racer racers[NR_RACERS];
	pthread_t tid[NR_RACERS];
	struct vfio_pci_device *dev;
	struct iommu *iommu;
	struct timespec t0;
	uint64_t seed;
	int i;

	/* The first test of a variant races; the others check what it saw. */
	if (strcmp(result->iommu_mode, iommu_mode)) {
		memset(result, 0, sizeof(*result));
		snprintf(result->iommu_mode, sizeof(result->iommu_mode), "%s", iommu_mode);
	}
	if (result->state == 2)
		return;
	ASSERT_EQ(0, result->state) TH_LOG("an earlier test's race in %s did not finish", iommu_mode);

	iommu = iommu_init(iommu_mode);
	dev = vfio_pci_device_init(vf_bdf, iommu);
	map_vf(_metadata, dev, &map);
	result->state = 1;

	seed = (uint64_t)time(NULL) << 16 | getpid();
	TH_LOG("racing for %u s, seed %#llx; PASID at %#x, PRI at %#x, linked from %#x, PCIe at %#x",
	       race_seconds, (unsigned long long)seed, map.pasid, map.pri, map.link, map.exp);
	t0 = now();
	for (;;) {
		bool last = since(t0) >= race_seconds;
		struct round r = { .map = &map, .fd = dev->fd, .cfg = dev->config_space.offset };

		for (i = 0; i < NR_RACERS; i++) {
			racers[i] = (struct racer){ .r = &r, .seed = rnd(&seed) | 1 };
			ASSERT_EQ(0, pthread_create(&tid[i], NULL, fn[i], &racers[i]));
		}
		usleep(20000 + rnd(&seed) % 300000);
		if (last) {
			/* The racers stop; the device stays open for the final reset. */
			atomic_store(&r.stop, 1);
		} else {
			atomic_store(&r.closing, 1);
			vfio_pci_device_cleanup(dev);	/* unmaps the BARs, closes the fd */
			result->closes++;
		}
		for (i = 0; i < NR_RACERS; i++) {
			ASSERT_EQ(0, pthread_join(tid[i], NULL));
		}
		if (last)
			break;
		dev = vfio_pci_device_init(vf_bdf, iommu);
	}

	/* Everything stopped: dirty the registers, reset, read them back. */
	result->dirty_ok = dirty(dev, &map) == 0;
	result->final_reset = ioctl(dev->fd, VFIO_DEVICE_RESET) ? -errno : 0;
	result->pasid_hdr = cfg_get(dev, map.pasid, 4);
	result->pri_hdr = cfg_get(dev, map.pri, 4);
	result->link_hdr = map.link ? cfg_get(dev, map.link, 4) : 0;
	result->pasid_cap = cfg_get(dev, map.pasid + PCI_PASID_CAP, 2);
	result->pasid_ctrl = cfg_get(dev, map.pasid + PCI_PASID_CTRL, 2);
	result->pri_ctrl = cfg_get(dev, map.pri + PCI_PRI_CTRL, 2);
	result->pri_status = cfg_get(dev, map.pri + PCI_PRI_STATUS, 2);
	result->pri_capacity = cfg_get(dev, map.pri + PCI_PRI_MAX_REQ, 4);
	result->pri_alloc = cfg_get(dev, map.pri + PCI_PRI_ALLOC_REQ, 4);
	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	close(map.pri_event_fd);
	close(map.pf_cfg_fd);
	ASSERT_EQ(0, vpv_cfg_write(map.pf, map.pf_pri + PCI_PRI_STATUS, &pf_clear, sizeof(pf_clear)))
		TH_LOG("clearing the PF's PCI_PRI_STATUS flags");

	/* What the registers must read after it: from the PF, the IOMMU and the spec. */
	result->want_pasid_hdr = map.pasid_hdr;
	result->want_pri_hdr = map.pri_hdr;
	result->want_link_hdr = map.link_hdr;
	result->want_pasid_cap = map.pasid_cap;
	result->want_pri_status = PCI_PRI_STATUS_STOPPED | map.pri_status_ro;
	result->want_pri_capacity = map.pri_capacity;
	result->state = 2;
	ksft_print_msg("%lu accesses, %lu VFIO_DEVICE_RESET (and %lu EAGAIN), %lu FLR, %lu PF events, %lu closes in %.1f s\n",
		       result->accesses, result->resets, result->resets_eagain, result->flrs,
		       result->pf_events, result->closes, since(t0));
}

/* --- the tests: each checks one property of the race --- */

FIXTURE(race) {
};

FIXTURE_VARIANT(race) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(race);

FIXTURE_SETUP(race)
{
	char drv[64];

	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	ASSERT_STREQ(VPV_DRIVER, drv) TH_LOG("%s is bound to '%s'", vf_bdf, drv);
	run_race(_metadata, variant->iommu_mode);
}

FIXTURE_TEARDOWN(race)
{
}

static void print_log(char log[LOG_LINES][LOG_LEN], unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n && i < LOG_LINES; i++)
		ksft_print_msg("  %s\n", log[i]);
	if (n > LOG_LINES)
		ksft_print_msg("  ... and %lu more\n", n - LOG_LINES);
}

/*
 * VPV_RACE_SECONDS is at most 120; the race, the closes and reopens and the
 * final checks take about 4x that on the debug kernel under TCG.  A racer
 * that never stops fails the test here instead of holding up the suite.
 */
#define RACE_TIMEOUT 600

TEST_F_TIMEOUT(race, every_racer_ran_and_the_device_was_closed_under_them, RACE_TIMEOUT)
{
	EXPECT_LT(0, result->accesses);
	EXPECT_LT(0, result->resets) TH_LOG("no VFIO_DEVICE_RESET succeeded");
	EXPECT_LT(0, result->flrs) TH_LOG("no FLR was initiated through PCI_EXP_DEVCTL");
	EXPECT_LT(0, result->pf_events) TH_LOG("no Page Request event on the PF");
	EXPECT_LT(0, result->closes) TH_LOG("the device was never closed under the racers");
}

TEST_F_TIMEOUT(race, accesses_fail_only_with_ebadf_after_close_and_resets_with_eagain, RACE_TIMEOUT)
{
	print_log(result->errno_log, result->bad_errno);
	EXPECT_EQ(0, result->bad_errno) TH_LOG("%lu accesses failed unexpectedly", result->bad_errno);
}

TEST_F_TIMEOUT(race, emulated_registers_read_only_values_of_their_register_model, RACE_TIMEOUT)
{
	print_log(result->value_log, result->bad_value);
	EXPECT_EQ(0, result->bad_value) TH_LOG("%lu reads broke the register model", result->bad_value);
}

TEST_F_TIMEOUT(race, registers_read_reset_values_after_the_race_and_a_final_reset, RACE_TIMEOUT)
{
	ASSERT_TRUE(result->dirty_ok)
		TH_LOG("PCI_PASID_CTRL, PCI_PRI_CTRL, PCI_PRI_ALLOC_REQ did not take non-reset values before the final reset");
	ASSERT_EQ(0, result->final_reset) TH_LOG("final VFIO_DEVICE_RESET");
	EXPECT_EQ(result->want_pasid_hdr, result->pasid_hdr) TH_LOG("PASID header");
	EXPECT_EQ(result->want_pasid_cap, result->pasid_cap) TH_LOG("PCI_PASID_CAP");
	EXPECT_EQ(0, result->pasid_ctrl) TH_LOG("PCI_PASID_CTRL");
	EXPECT_EQ(result->want_pri_hdr, result->pri_hdr) TH_LOG("PRI header");
	EXPECT_EQ(0, result->pri_ctrl) TH_LOG("PCI_PRI_CTRL");
	EXPECT_EQ(result->want_pri_status, result->pri_status) TH_LOG("PCI_PRI_STATUS");
	EXPECT_EQ(result->want_pri_capacity, result->pri_capacity) TH_LOG("PCI_PRI_MAX_REQ");
	EXPECT_EQ(0, result->pri_alloc) TH_LOG("PCI_PRI_ALLOC_REQ");
	EXPECT_EQ(result->want_link_hdr, result->link_hdr) TH_LOG("the linking capability's header");
}

/*
 * --- after the races of every variant (the harness runs the FIXTUREs in
 * order): kmemleak, cleared when the program started ---
 */

static int kmemleak_clear = -ENOENT;	/* writing "clear" in main(): 0 or -errno */

FIXTURE(leaks) {
};

FIXTURE_SETUP(leaks)
{
}

FIXTURE_TEARDOWN(leaks)
{
}

TEST_F_TIMEOUT(leaks, nothing_leaked_while_racing, RACE_TIMEOUT)
{
	if (access(VPV_KMEMLEAK, F_OK))
		SKIP(return, "no %s: kernel without CONFIG_DEBUG_KMEMLEAK (use the debug flavour)",
		     VPV_KMEMLEAK);
	ASSERT_EQ(0, kmemleak_clear) TH_LOG("writing 'clear' to %s before the races", VPV_KMEMLEAK);
	/* kmemleak reports only objects older than 5 s, found in a scan. */
	sleep(6);
	ASSERT_EQ(0, vpv_file_write(VPV_KMEMLEAK, "scan")) TH_LOG("writing 'scan' to %s", VPV_KMEMLEAK);
	EXPECT_EQ(0, vpv_kmemleak_reports()) TH_LOG("kmemleak reports after the races (first ones above)");
}

int main(int argc, char *argv[])
{
	const char *secs = getenv("VPV_RACE_SECONDS");

	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	if (secs && *secs) {
		char *end;
		unsigned long v = strtoul(secs, &end, 10);

		if (*end || v < 1 || v > 120)
			ksft_exit_fail_msg("VPV_RACE_SECONDS=%s: want 1..120\n", secs);
		race_seconds = v;
	}
	result = mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (result == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	/* Leaks found after the races are theirs: forget what earlier programs left. */
	if (!access(VPV_KMEMLEAK, F_OK))
		kmemleak_clear = vpv_file_write(VPV_KMEMLEAK, "clear");
	return test_harness_run(argc, argv);
}
