// SPDX-License-Identifier: GPL-2.0
/*
 * Config space accesses racing VFIO_DEVICE_RESET, an FLR initiated through
 * config space, VFIO_DEVICE_FEATURE_PASID_VF and the close of the device, on a
 * VF bound to vfio-pasid-vf that presents emulated PASID and PRI capabilities
 * (vpv_pf fixture loaded); and, given a second VF of the same PF, another
 * process that opens, uses and closes that VF all the while.
 *
 * Meant for the debug kernel (KASAN, lockdep, kmemleak): the VM runner fails
 * the run on any splat, so this program's job is to drive the paths hard.
 * What it checks itself: every access fails only with an errno it may fail
 * with, the emulated registers only ever read values their register model
 * allows, and after the race and a final reset they read their reset values.
 *
 *   vpv_race_test [harness options] VF [VF_B]   (or VFIO_SELFTESTS_BDF=VF)
 * with the VFs bound to vfio-pasid-vf; the PF comes from sysfs (physfn).
 * VF_B's process checks, at each of its opens, that its emulated registers
 * read their reset values, and that its own writes read back: nothing done
 * to VF (whose racers never write the values VF_B's process writes) shows
 * in VF_B, and VF's register model catches the reverse.
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
#include <signal.h>
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
#include <sys/prctl.h>
#include <sys/wait.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

/* The uAPI under test, as vpv_feature_test.c includes it. */
#include "../../../../include/uapi/linux/vfio_pasid_vf.h"

#define CFG_SIZE	PCI_CFG_SPACE_EXP_SIZE
#define NR_ACCESSORS	3
#define NR_RACERS	(NR_ACCESSORS + 4)	/* and a resetter, an FLR, PF events, the feature */
#define PRI_EVENT	"/sys/kernel/debug/vpv_pf/pri_event"

static const char *vf_bdf;
static const char *vf_b_bdf;	/* NULL: no second VF */
static unsigned int race_seconds = 10;

/* Every byte the writers put into PRI Allocation is one of these. */
static const uint8_t alloc_bytes[] = { 0x00, 0x3c, 0xc3 };

/* What the racers know of the VF, found before the race. */
struct vf_map {
	struct vpv_emul_expect x;	/* the layout, and what the emulated registers read */
	/*
	 * The fixture's pri_event and the PF's sysfs config, opened before the
	 * race: a racer that opened a file while the device is being closed
	 * could get the closed descriptor's number, and the accessors' writes.
	 */
	int pri_event_fd, pf_cfg_fd;
	uint8_t orig[CFG_SIZE];		/* config image through VFIO, before the race */
	struct vpv_byte_model m[CFG_SIZE];
};

/* What the race saw; in shared memory, as each test runs in its own process. */
struct race_result {
	char iommu_mode[32];	/* the variant whose race this is */
	int state;		/* 0: not run, 1: started, 2: finished */
	unsigned long accesses, resets, resets_eagain, flrs, pf_events, closes;
	unsigned long features, feature_sets, feature_sets_busy;
	unsigned long bad_errno, bad_value, bad_feature;
	char errno_log[VPV_LOG_LINES][VPV_LOG_LEN];
	char value_log[VPV_LOG_LINES][VPV_LOG_LEN];
	char feature_log[VPV_LOG_LINES][VPV_LOG_LEN];
	/* VF_B's process: opens (each checked), accesses, and what went wrong. */
	unsigned long b_opens, b_accesses, bad_b;
	int b_exit;		/* its exit status; -1: not run */
	char b_log[VPV_LOG_LINES][VPV_LOG_LEN];
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
	vpv_log_line(result->errno_log, &result->bad_errno, "%s %zu bytes at %#x: %s (errno %d)%s",
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
	unsigned int pri_ctl = map->x.pri + PCI_PRI_CTRL;
	size_t i;

	for (i = 0; i < size; i++) {
		const struct vpv_byte_model *m = &map->m[off + i];

		if (!vpv_model_allows(m, v[i]))
			vpv_log_line(result->value_log, &result->bad_value,
				 "%zu-byte read at %#x: byte %#x of %s reads %#04x, the model allows %#04x with bits %#04x variable",
				 size, off, off + (unsigned int)i, m->reg, v[i], m->fixed, m->var);
	}
	/* A dword is one access: PRI Stopped reads as the inverse of PRI Enable. */
	if (!(off % 4) && off <= pri_ctl && off + size >= pri_ctl + 4) {
		uint16_t ctrl = v[pri_ctl - off] | v[pri_ctl - off + 1] << 8;
		uint16_t status = v[pri_ctl - off + 2] | v[pri_ctl - off + 3] << 8;

		if (!(ctrl & PCI_PRI_CTRL_ENABLE) != !!(status & PCI_PRI_STATUS_STOPPED))
			vpv_log_line(result->value_log, &result->bad_value,
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
	if (map->x.link)
		rg[n++] = (struct range){ map->x.link, map->x.link + 8 };	/* header and after */
	/* Each emulated capability, with the 4 bytes before it: straddling accesses. */
	rg[n++] = (struct range){ map->x.pasid - 4, map->x.pasid + PCI_EXT_CAP_PASID_SIZEOF };
	rg[n++] = (struct range){ map->x.pri - 4, map->x.pri + PCI_EXT_CAP_PRI_SIZEOF };
	if (!for_writes)
		rg[n++] = (struct range){ map->x.exp + PCI_EXP_DEVCTL, map->x.exp + PCI_EXP_DEVSTA + 2 };
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
	if (off >= map->x.pasid && off < map->x.pasid + PCI_EXT_CAP_PASID_SIZEOF) {
		if (off == map->x.pasid + PCI_PASID_CTRL)
			PICK(pasid_ctrl);
	} else if (off >= map->x.pri && off < map->x.pri + PCI_EXT_CAP_PRI_SIZEOF) {
		if (off == map->x.pri + PCI_PRI_CTRL)
			PICK(pri_ctrl);
		else if (off == map->x.pri + PCI_PRI_STATUS)
			PICK(pri_status);
		else if (off >= map->x.pri + PCI_PRI_ALLOC_REQ)
			PICK(alloc_bytes);
	} else if (map->x.link && off >= map->x.link + 2 && off < map->x.link + 4) {
		/* The patched Next pointer (and the Version beside it). */
	} else {
		return map->orig[off];
	}
#undef PICK
	return pal[vpv_rnd(s) % n];
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
		bool write = vpv_rnd(&rc->seed) % 5 < 2;
		struct range *g = write ? &wr[vpv_rnd(&rc->seed) % nwr] : &rd[vpv_rnd(&rc->seed) % nrd];
		size_t size = sizes[vpv_rnd(&rc->seed) % 4];
		unsigned int off = g->start + vpv_rnd(&rc->seed) % (g->end - g->start);
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
			vpv_log_line(result->errno_log, &result->bad_errno, "%s %zu bytes at %#x: returned %zd",
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
		usleep(vpv_rnd(&rc->seed) % 20000);
	}
	return NULL;
}

/* Initiate Function Level Reset through the VFIO config region. */
static void *flr(void *arg)
{
	struct racer *rc = arg;
	struct round *r = rc->r;
	off_t devctl = r->cfg + r->map->x.exp + PCI_EXP_DEVCTL;

	while (!done(r)) {
		uint16_t ctl;

		if (pread(r->fd, &ctl, 2, devctl) != 2) {
			if (failed(r, errno, false, "pread PCI_EXP_DEVCTL", r->map->x.exp + PCI_EXP_DEVCTL, 2))
				break;
			continue;
		}
		ctl |= PCI_EXP_DEVCTL_BCR_FLR;
		if (pwrite(r->fd, &ctl, 2, devctl) != 2) {
			if (failed(r, errno, false, "pwrite PCI_EXP_DEVCTL_BCR_FLR",
				   r->map->x.exp + PCI_EXP_DEVCTL, 2))
				break;
			continue;
		}
		count(&result->flrs);
		usleep(vpv_rnd(&rc->seed) % 20000);
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
	unsigned int pf_status = r->map->x.pf_pri + PCI_PRI_STATUS;
	const char *e;

	while (!done(r) && !atomic_load(&r->closing)) {
		e = ev[vpv_rnd(&rc->seed) % 3];
		if (pwrite(r->map->pri_event_fd, e, strlen(e), 0) != (ssize_t)strlen(e))
			vpv_log_line(result->errno_log, &result->bad_errno, "writing '%s' to %s: %s", e,
				 PRI_EVENT, strerror(errno));
		else
			count(&result->pf_events);
		usleep(vpv_rnd(&rc->seed) % 2000);
		if (pwrite(r->map->pf_cfg_fd, &clear, sizeof(clear), pf_status) != sizeof(clear))
			vpv_log_line(result->errno_log, &result->bad_errno,
				 "clearing the PF's PCI_PRI_STATUS at %#x through sysfs: %s", pf_status,
				 strerror(errno));
		usleep(vpv_rnd(&rc->seed) % 5000);
	}
	return NULL;
}

/*
 * VFIO_DEVICE_FEATURE_PASID_VF on the raced descriptor: PROBE, GET (which
 * must report the placement and the PF's registers whatever the others do)
 * and SET of the current offsets (0, or EBUSY once an emulated byte was
 * written in this open) or of an unaligned one (EINVAL, and nothing moves).
 */
static void *feature_caller(void *arg)
{
	static const char *const op[] = {
		"VFIO_DEVICE_FEATURE PROBE", "VFIO_DEVICE_FEATURE GET",
		"VFIO_DEVICE_FEATURE SET", "VFIO_DEVICE_FEATURE SET (unaligned)",
	};
	struct racer *rc = arg;
	struct round *r = rc->r;
	struct vf_map *map = r->map;

	while (!done(r)) {
		struct vfio_device_feature_pasid_vf info = {};
		struct vfio_device_feature_pasid_vf_set set = {
			.flags = VFIO_PASID_VF_SET_OFFSETS,
			.pasid_offset = map->x.pasid, .pri_offset = map->x.pri,
		};
		unsigned int what = vpv_rnd(&rc->seed) % 4;
		int ret;

		if (what == 0) {
			ret = vpv_feature(r->fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_PASID_VF,
					  NULL, 0);
		} else if (what == 1) {
			ret = vpv_feature(r->fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PASID_VF,
					  &info, sizeof(info));
			if (!ret && (info.size != sizeof(info) ||
				     (info.flags & (VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI)) !=
				     (VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI) ||
				     info.pasid_offset != map->x.pasid || info.pri_offset != map->x.pri ||
				     info.pasid_cap != map->x.pf_pasid_cap_reg ||
				     info.pasid_ctrl != map->x.pf_pasid_ctrl_reg ||
				     info.pasid_cap_presented != map->x.pasid_cap ||
				     info.pri_capacity != map->x.pri_capacity))
				vpv_log_line(result->feature_log, &result->bad_feature,
					 "GET: size %u flags %#x PASID at %#x PRI at %#x, PCI_PASID_CAP %#x PCI_PASID_CTRL %#x presented %#x, PCI_PRI_MAX_REQ %#x",
					 info.size, info.flags, info.pasid_offset, info.pri_offset,
					 info.pasid_cap, info.pasid_ctrl, info.pasid_cap_presented,
					 info.pri_capacity);
		} else {
			if (what == 3)
				set.pasid_offset |= 1;
			ret = vpv_feature(r->fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PASID_VF,
					  &set, sizeof(set));
			if (what == 2 && !ret)
				count(&result->feature_sets);
			else if (what == 2 && ret == -EBUSY)
				count(&result->feature_sets_busy);
			else if (what == 3 && ret == -EINVAL)
				ret = 0;
			else if (!ret)
				vpv_log_line(result->feature_log, &result->bad_feature,
					 "SET of PASID at unaligned %#x succeeded", set.pasid_offset);
			if (ret == -EBUSY)
				ret = 0;
		}
		if (!ret)
			count(&result->features);
		else if (failed(r, -ret, false, op[what], 0, 0))
			break;
		usleep(vpv_rnd(&rc->seed) % 2000);
	}
	return NULL;
}

/* --- VF_B: another process opens, uses and closes a second VF --- */

/* Written to VF_B's PRI Allocation: never written to VF (alloc_bytes). */
#define B_ALLOC		0x5a5a5a5a

static uint32_t b_get(struct vfio_pci_device *dev, unsigned int off, size_t len, int *err)
{
	uint32_t v = 0;

	if (vpv_vfio_cfg_rw(dev, false, off, &v, len))
		(*err)++;
	count(&result->b_accesses);
	return v;
}

static void b_put(struct vfio_pci_device *dev, unsigned int off, uint32_t v, size_t len, int *err)
{
	if (vpv_vfio_cfg_rw(dev, true, off, &v, len))
		(*err)++;
	count(&result->b_accesses);
}

/*
 * One open of VF_B: its emulated registers read their reset values (nothing
 * of VF's race shows), its writes read back, a GET reports its placement.
 * VF_B's PRI Status has no RW bits a write could leave behind.
 */
static void b_round(struct vfio_pci_device *dev, const struct vf_map *a)
{
	struct vfio_device_feature_pasid_vf info = {};
	uint8_t cfg[CFG_SIZE];
	unsigned int pasid, pri;
	int err = 0;
	uint32_t v;

	if (vpv_vfio_cfg_rw(dev, false, 0, cfg, sizeof(cfg))) {
		vpv_log_line(result->b_log, &result->bad_b, "%s: reading its config space failed", vf_b_bdf);
		return;
	}
	pasid = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID);
	pri = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PRI);
	if (!pasid || !pri) {
		vpv_log_line(result->b_log, &result->bad_b, "%s: PASID at %#x, PRI at %#x at an open",
			 vf_b_bdf, pasid, pri);
		return;
	}
	if (vpv_le16(cfg + pasid + PCI_PASID_CTRL) || vpv_le16(cfg + pri + PCI_PRI_CTRL) ||
	    vpv_le16(cfg + pri + PCI_PRI_STATUS) != (PCI_PRI_STATUS_STOPPED | a->x.pri_status_ro) ||
	    vpv_le32(cfg + pri + PCI_PRI_ALLOC_REQ) ||
	    vpv_le16(cfg + pasid + PCI_PASID_CAP) != a->x.pasid_cap ||
	    vpv_le32(cfg + pri + PCI_PRI_MAX_REQ) != a->x.pri_capacity)
		vpv_log_line(result->b_log, &result->bad_b,
			 "%s at an open: PCI_PASID_CAP %#x PCI_PASID_CTRL %#x PCI_PRI_CTRL %#x PCI_PRI_STATUS %#x PCI_PRI_MAX_REQ %#x PCI_PRI_ALLOC_REQ %#x",
			 vf_b_bdf, vpv_le16(cfg + pasid + PCI_PASID_CAP),
			 vpv_le16(cfg + pasid + PCI_PASID_CTRL), vpv_le16(cfg + pri + PCI_PRI_CTRL),
			 vpv_le16(cfg + pri + PCI_PRI_STATUS), vpv_le32(cfg + pri + PCI_PRI_MAX_REQ),
			 vpv_le32(cfg + pri + PCI_PRI_ALLOC_REQ));
	b_put(dev, pri + PCI_PRI_ALLOC_REQ, B_ALLOC, 4, &err);
	b_put(dev, pasid + PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE, 2, &err);
	b_put(dev, pri + PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE, 2, &err);
	v = b_get(dev, pri + PCI_PRI_ALLOC_REQ, 4, &err);
	if (v != B_ALLOC)
		vpv_log_line(result->b_log, &result->bad_b, "%s: PCI_PRI_ALLOC_REQ reads %#x after writing %#x",
			 vf_b_bdf, v, B_ALLOC);
	v = b_get(dev, pasid + PCI_PASID_CTRL, 2, &err);
	if (v != PCI_PASID_CTRL_ENABLE)
		vpv_log_line(result->b_log, &result->bad_b, "%s: PCI_PASID_CTRL reads %#x after writing %#x",
			 vf_b_bdf, v, PCI_PASID_CTRL_ENABLE);
	v = b_get(dev, pri + PCI_PRI_CTRL, 4, &err);
	if (v != (PCI_PRI_CTRL_ENABLE | (uint32_t)a->x.pri_status_ro << 16))
		vpv_log_line(result->b_log, &result->bad_b,
			 "%s: PCI_PRI_CTRL/PCI_PRI_STATUS read %#x after enabling PRI", vf_b_bdf, v);
	if (vpv_feature(dev->fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PASID_VF, &info,
			sizeof(info)) || info.pasid_offset != pasid || info.pri_offset != pri)
		vpv_log_line(result->b_log, &result->bad_b, "%s: GET failed or reports PASID at %#x, PRI at %#x",
			 vf_b_bdf, info.pasid_offset, info.pri_offset);
	if (err)
		vpv_log_line(result->b_log, &result->bad_b, "%s: %d config accesses failed", vf_b_bdf, err);
}

/*
 * VF_B's process: open, b_round(), close, until *stop.  It closes what it
 * inherited first: VF's device fd (which would keep VF open when the main
 * thread closes it, and make its reopen through the cdev fail), the IOMMU's,
 * the fixture's; and it dies with the test process, so that it never holds
 * the harness's output pipe open alone.
 */
static void vf_b_loop(const char *iommu_mode, const struct vf_map *a, atomic_int *stop,
		      pid_t parent)
{
	struct iommu *iommu;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(3);
	if (close_range(3, ~0U, 0))
		_exit(4);
	iommu = iommu_init(iommu_mode);

	while (!atomic_load(stop)) {
		struct vfio_pci_device *dev = vfio_pci_device_init(vf_b_bdf, iommu);

		count(&result->b_opens);
		b_round(dev, a);
		vfio_pci_device_cleanup(dev);
	}
	iommu_cleanup(iommu);
}

/* --- finding the VF's layout, and the expected values --- */

static void map_vf(struct __test_metadata *_metadata, struct vfio_pci_device *dev,
		   struct vf_map *map)
{
	char path[PATH_MAX], why[256];
	int ret;

	memset(map, 0, sizeof(*map));
	ASSERT_EQ(CFG_SIZE, pread(dev->fd, map->orig, CFG_SIZE, dev->config_space.offset));
	ret = vpv_emul_expect(vf_bdf, map->orig, &map->x, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	ASSERT_EQ(map->x.pasid_cap, vpv_le32(map->orig + map->x.pasid + PCI_PASID_CAP) & 0xffff)
		TH_LOG("PCI_PASID_CAP before the race (PF cap %#x ctrl %#x, IOMMU width %d)",
		       map->x.pf_pasid_cap_reg, map->x.pf_pasid_ctrl_reg, map->x.iommu_width);
	/* The FLR racer initiates Function Level Resets through config space. */
	ASSERT_NE(0, vpv_le32(map->orig + map->x.exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR)
		TH_LOG("the VF does not support FLR (PCI_EXP_DEVCAP_FLR)");

	map->pri_event_fd = open(PRI_EVENT, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, map->pri_event_fd) TH_LOG("%s: %s", PRI_EVENT, strerror(errno));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", map->x.pf);
	map->pf_cfg_fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, map->pf_cfg_fd) TH_LOG("%s: %s", path, strerror(errno));

	vpv_emul_model(&map->x, map->m);
	/* The writers put only these bytes into PRI Allocation. */
	vpv_model_one_of(map->m, map->x.pri + PCI_PRI_ALLOC_REQ, 4, alloc_bytes,
			 sizeof(alloc_bytes), "PCI_PRI_ALLOC_REQ");
}

/* --- the race --- */

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

	if (vpv_vfio_cfg_rw(dev, true, map->x.pasid + PCI_PASID_CTRL, &pasid, 2) ||
	    vpv_vfio_cfg_rw(dev, true, map->x.pri + PCI_PRI_CTRL, &pri, 2) ||
	    vpv_vfio_cfg_rw(dev, true, map->x.pri + PCI_PRI_ALLOC_REQ, &alloc, 4))
		return -1;
	return cfg_get(dev, map->x.pasid + PCI_PASID_CTRL, 2) == pasid &&
	       cfg_get(dev, map->x.pri + PCI_PRI_CTRL, 2) == pri &&
	       cfg_get(dev, map->x.pri + PCI_PRI_ALLOC_REQ, 4) == alloc ? 0 : -1;
}

static void run_race(struct __test_metadata *_metadata, const char *iommu_mode)
{
	static struct vf_map map;
	void *(*const fn[NR_RACERS])(void *) = {
		[0 ... NR_ACCESSORS - 1] = accessor, resetter, flr, pf_events, feature_caller,
	};
	atomic_int *b_stop = NULL;
	pid_t b_pid = -1;
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

	result->b_exit = -1;
	if (vf_b_bdf) {
		pid_t parent = getpid();

		b_stop = mmap(NULL, sizeof(*b_stop), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, b_stop);
		atomic_store(b_stop, 0);
		/*
		 * VF_B's process must not hold VF open: a cdev opens a device
		 * once, and the race closes and reopens it.  It closes the
		 * descriptors it inherits, but a mapping of VF's BARs would
		 * hold VF's file too: VF is closed while it forks.
		 */
		vfio_pci_device_cleanup(dev);
		b_pid = fork();
		ASSERT_LE(0, b_pid);
		if (!b_pid) {
			vf_b_loop(iommu_mode, &map, b_stop, parent);
			_exit(0);
		}
		dev = vfio_pci_device_init(vf_bdf, iommu);
	}

	seed = (uint64_t)time(NULL) << 16 | getpid();
	TH_LOG("racing for %u s, seed %#llx; PASID at %#x, PRI at %#x, linked from %#x, PCIe at %#x%s%s",
	       race_seconds, (unsigned long long)seed, map.x.pasid, map.x.pri, map.x.link, map.x.exp,
	       vf_b_bdf ? "; opening and closing " : "", vf_b_bdf ?: "");
	t0 = vpv_now();
	for (;;) {
		bool last = vpv_since(t0) >= race_seconds;
		struct round r = { .map = &map, .fd = dev->fd, .cfg = dev->config_space.offset };

		for (i = 0; i < NR_RACERS; i++) {
			racers[i] = (struct racer){ .r = &r, .seed = vpv_rnd(&seed) | 1 };
			ASSERT_EQ(0, pthread_create(&tid[i], NULL, fn[i], &racers[i]));
		}
		usleep(20000 + vpv_rnd(&seed) % 300000);
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

	if (b_pid > 0) {
		int st;

		atomic_store(b_stop, 1);
		ASSERT_EQ(b_pid, waitpid(b_pid, &st, 0));
		result->b_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		munmap(b_stop, sizeof(*b_stop));
	}

	/* Everything stopped: dirty the registers, reset, read them back. */
	result->dirty_ok = dirty(dev, &map) == 0;
	result->final_reset = ioctl(dev->fd, VFIO_DEVICE_RESET) ? -errno : 0;
	result->pasid_hdr = cfg_get(dev, map.x.pasid, 4);
	result->pri_hdr = cfg_get(dev, map.x.pri, 4);
	result->link_hdr = map.x.link ? cfg_get(dev, map.x.link, 4) : 0;
	result->pasid_cap = cfg_get(dev, map.x.pasid + PCI_PASID_CAP, 2);
	result->pasid_ctrl = cfg_get(dev, map.x.pasid + PCI_PASID_CTRL, 2);
	result->pri_ctrl = cfg_get(dev, map.x.pri + PCI_PRI_CTRL, 2);
	result->pri_status = cfg_get(dev, map.x.pri + PCI_PRI_STATUS, 2);
	result->pri_capacity = cfg_get(dev, map.x.pri + PCI_PRI_MAX_REQ, 4);
	result->pri_alloc = cfg_get(dev, map.x.pri + PCI_PRI_ALLOC_REQ, 4);
	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	close(map.pri_event_fd);
	close(map.pf_cfg_fd);
	ASSERT_EQ(0, vpv_cfg_write(map.x.pf, map.x.pf_pri + PCI_PRI_STATUS, &pf_clear, sizeof(pf_clear)))
		TH_LOG("clearing the PF's PCI_PRI_STATUS flags");

	/* What the registers must read after it: from the PF, the IOMMU and the spec. */
	result->want_pasid_hdr = map.x.pasid_hdr;
	result->want_pri_hdr = map.x.pri_hdr;
	result->want_link_hdr = map.x.link_hdr;
	result->want_pasid_cap = map.x.pasid_cap;
	result->want_pri_status = PCI_PRI_STATUS_STOPPED | map.x.pri_status_ro;
	result->want_pri_capacity = map.x.pri_capacity;
	result->state = 2;
	ksft_print_msg("%lu accesses, %lu VFIO_DEVICE_RESET (and %lu EAGAIN), %lu FLR, %lu PF events, %lu VFIO_DEVICE_FEATURE (%lu SET, %lu SET EBUSY), %lu closes in %.1f s\n",
		       result->accesses, result->resets, result->resets_eagain, result->flrs,
		       result->pf_events, result->features, result->feature_sets,
		       result->feature_sets_busy, result->closes, vpv_since(t0));
	if (vf_b_bdf)
		ksft_print_msg("%s: %lu opens, %lu accesses by another process\n", vf_b_bdf,
			       result->b_opens, result->b_accesses);
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
	EXPECT_LT(0, result->features) TH_LOG("no VFIO_DEVICE_FEATURE call succeeded");
}

TEST_F_TIMEOUT(race, accesses_fail_only_with_ebadf_after_close_and_resets_with_eagain, RACE_TIMEOUT)
{
	vpv_print_log(result->errno_log, result->bad_errno);
	EXPECT_EQ(0, result->bad_errno) TH_LOG("%lu accesses failed unexpectedly", result->bad_errno);
}

TEST_F_TIMEOUT(race, emulated_registers_read_only_values_of_their_register_model, RACE_TIMEOUT)
{
	vpv_print_log(result->value_log, result->bad_value);
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

TEST_F_TIMEOUT(race, feature_get_reports_the_placement_and_the_pfs_registers_throughout, RACE_TIMEOUT)
{
	vpv_print_log(result->feature_log, result->bad_feature);
	EXPECT_EQ(0, result->bad_feature) TH_LOG("%lu VFIO_DEVICE_FEATURE answers were wrong",
						 result->bad_feature);
}

TEST_F_TIMEOUT(race, a_second_vf_opened_meanwhile_reads_reset_values_and_its_own_writes, RACE_TIMEOUT)
{
	if (!vf_b_bdf)
		SKIP(return, "no second VF on the command line");
	vpv_print_log(result->b_log, result->bad_b);
	EXPECT_EQ(0, result->b_exit) TH_LOG("%s's process exited with %d", vf_b_bdf, result->b_exit);
	EXPECT_LT(1, result->b_opens) TH_LOG("%s was opened %lu times", vf_b_bdf, result->b_opens);
	EXPECT_EQ(0, result->bad_b) TH_LOG("%lu checks of %s failed", result->bad_b, vf_b_bdf);
}

int main(int argc, char *argv[])
{
	const char *secs = getenv("VPV_RACE_SECONDS");

	char pf_a[32], pf_b[32];
	char **bdfs;
	int nr;

	bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr);
	vf_bdf = bdfs[0];
	vf_b_bdf = nr > 1 ? bdfs[1] : NULL;
	if (vf_b_bdf && (vpv_pf_of(vf_bdf, pf_a, sizeof(pf_a)) ||
			 vpv_pf_of(vf_b_bdf, pf_b, sizeof(pf_b)) || strcmp(pf_a, pf_b)))
		ksft_exit_fail_msg("%s and %s are not VFs of one PF\n", vf_bdf, vf_b_bdf);
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
	return test_harness_run(argc, argv);
}
