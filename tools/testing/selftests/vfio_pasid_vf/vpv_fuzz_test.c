// SPDX-License-Identifier: GPL-2.0
/*
 * Config space fuzz through VFIO, as a hostile VFIO user: random reads and
 * writes of the config region of a VF bound to vfio-pasid-vf that presents
 * emulated PASID and PRI capabilities (vpv_pf fixture loaded, as run.sh
 * --suite emulation loads it), at every size, biased toward the emulated
 * capabilities and their edges, plus accesses that must fail.
 *
 *   vpv_fuzz_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 * with the VF bound to vfio-pasid-vf; its PF comes from sysfs (physfn).
 * Environment: VPV_FUZZ_OPS, the number of operations (default 100000,
 * at least 10000; the long mode runs 1000000); VPV_FUZZ_SEED, the seed
 * (default: from the time and pid).  The seed and the count are printed
 * first: VPV_FUZZ_SEED=S VPV_FUZZ_OPS=N replays the same operations on
 * the same VM setup, since nothing the fuzz reads steers what it does next.
 *
 * The fuzz runs once, in the first test, through the iommufd cdev (one
 * IOMMU mode is enough: the config region does not depend on it; a fixture
 * variant named after it, so that run.sh's -V leaves it out with the mode);
 * each test then checks one invariant of what it saw (shared memory).
 *
 * Operations, and what VFIO does with them (drivers/vfio/pci/vfio_pci_core.c,
 * vfio_pci_rw(); vfio_pci_config.c, vfio_pci_config_rw(); fs/read_write.c;
 * vfio-pasid-vf hands every access that does not fit in config space to
 * vfio-pci unchanged, drivers/vfio_pasid_vf/emu/access.rs, classify()):
 * - reads and writes of 1, 2, 4, 8 bytes and of 3, 5, 6, 7, 16, 32, 64,
 *   256, 4096, 4097 and 65536 bytes, at offsets inside, across the edges
 *   of and around the emulated capabilities, at the Next Capability Offset
 *   that links them into the chain, in the standard header, anywhere in
 *   extended config space and at and past 0x1000.  Any count that fits in
 *   the 4K config space is valid: vfio_pci_config_rw() splits it into
 *   aligned pieces of 1, 2 or 4 bytes, so 3, 5..7, 16, 256 bytes, and 4096
 *   at 0, transfer in full - a short count is never valid.  An access that
 *   ends past the end of config space (0x1000) fails with EFAULT and
 *   transfers nothing: vfio_pci_config_rw_single() checks the whole range
 *   before the first piece;
 * - 0 bytes anywhere: 0, nothing done (vfio_pci_core_read()/_write()
 *   return 0 before they look at the position; a zero-length transfer is
 *   no error in POSIX either);
 * - a negative file position: EINVAL (ksys_pread64(), ksys_pwrite64(),
 *   before the driver); a position whose end overflows loff_t: EINVAL
 *   (rw_verify_area());
 * - positions in other regions (vfio-pci's region index is the position
 *   >> 40, VFIO_PCI_OFFSET_SHIFT; checked against the config region's
 *   offset at the start): at or past the size of a BAR or of the ROM, which
 *   is 0 for those the VF does not have, EINVAL (vfio_pci_bar_rw(), which a
 *   write to the ROM also gets); VGA on a function without VGA, EINVAL
 *   (vfio_pci_vga_rw()); an index past the device's regions, EINVAL
 *   (vfio_pci_rw()); the ROM's last bytes with a count that reaches into
 *   the config region, EINVAL (the position decides the region).  Inside a
 *   BAR is a device register access, not config space, and is left out:
 *   MMIO of the VF (read-to-clear registers, the mailbox to the PF's
 *   driver), where a short count at the BAR's end is vfio-pci's design;
 * - 1 to 8 bytes at valid positions with a buffer the kernel cannot access
 *   (an inaccessible page, a kernel address): EFAULT, nothing transferred.
 *   One exception, vfio-pci's: a write of real bytes only that vfio-pci
 *   drops as a whole, because every piece of it is in a register it keeps
 *   read-only to the user (a capability header, ARI, MSI-X...), returns its
 *   count without reading the buffer (vfio_pci_config_rw_single(): no
 *   writefn, "return ret" before copy_from_user()); nothing is written, the
 *   next check reads the same.  A write with an emulated byte always fails:
 *   vfio-pasid-vf reads the emulated bytes from the buffer first;
 * - every 4000 operations (N/4 if fewer), an FLR through PCI Express Device
 *   Control (PCI_EXP_DEVCTL_BCR_FLR) after PCI_PASID_CTRL, PCI_PRI_CTRL and
 *   PCI_PRI_ALLOC_REQ were given non-reset values: the emulated registers
 *   read their reset values after it.
 * The values written are random, except (the exclusions):
 * - PCI_EXP_DEVCTL_BCR_FLR is cleared in the random writes: vfio-pci turns
 *   it into pci_try_reset_function(), at least 100 ms each (pcie_flr()),
 *   which at the rate random bytes set it would be most of the run; FLRs
 *   come at the rate above instead, and the register model resets with them;
 * - PCI_PM_CTRL PowerState is written D0: vfio-pci would put the VF in
 *   D1..D3hot, where its BARs no longer answer (igb's VF has no PM
 *   capability; this holds for a VF that does);
 * - PCI_AF_CTRL_FLR is cleared, as Initiate FLR is (igb's VF has no AF
 *   capability either); a VF with a VPD capability is refused: vfio-pci
 *   turns VPD writes into writes of the device's VPD storage;
 * - a valid write is at most 256 bytes: the fixture's write log keeps 512
 *   entries, and is read and cleared before the writes since the last check
 *   could have pushed one out.
 * Nothing else needs excluding: vfio-pci keeps the BARs and the ROM BAR
 * virtual for a VF (its hardware BARs are read-only 0), Memory Space Enable
 * and INTx Disable virtual too; Bus Master Enable reaches the VF, which has
 * no DMA set up; MSI-X Message Control (Enable, Function Mask) is read-only
 * to the user (vfio-pci gives the MSI-X capability no write function: MSI-X
 * is enabled by VFIO_DEVICE_SET_IRQS) and so are the capability headers;
 * what vfio-pci passes raw (unassigned bytes: the fixture's hidden
 * registers and hidden capability) is the VF's own and reset by the FLR
 * at close.
 *
 * The invariants, a test each:
 * 1. no write reaches the VF inside the emulated capabilities, nor the PF
 *    inside its PASID or PRI capability (the fixture's write logs);
 * 2. the read-only and reserved bits of the emulated registers, and the
 *    other read-only registers the fuzz knows (PCI_VENDOR_ID,
 *    PCI_DEVICE_ID, the header that links the emulated capabilities), read
 *    what they read at the start (a byte model, lib/vpv.h);
 * 3. the RW bits read what was last written to them (an exact model of
 *    PCI_PASID_CTRL, PCI_PRI_CTRL, PCI_PRI_STATUS_STOPPED and
 *    PCI_PRI_ALLOC_REQ, reset by the FLRs);
 * 4. the extended capability chain, walked every 64 operations and at the
 *    end, is the one of the start: no loop, every Next dword aligned and at
 *    least 0x100, ending with Next 0, PASID and PRI where the driver says
 *    it placed them;
 * 5. every access gets its result above: the errno of an invalid one, the
 *    full count of a valid one;
 * 6. after each access that must fail (and each empty one), a 4-byte read
 *    of a known register returns its expected value;
 * 7. every class of operation ran (at least N/1000 times each, the FLRs
 *    as scheduled), so that none of the above passes vacuously;
 * 8. the VF is left as found: vfio-pci passes the bytes of extended config
 *    space that no capability claims raw to the VF, and the fixture keeps
 *    what was written there across FLRs, so the fuzz writes back the real
 *    bytes it changed there (through VFIO) and the VF's config space (sysfs)
 *    then reads as at the start.  Otherwise the programs after it find
 *    free room in use (a nonzero dword is in use for placement).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
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
#define REGION_SHIFT	40	/* vfio-pci's VFIO_PCI_OFFSET_SHIFT */
#define DEFAULT_OPS	100000
#define MIN_OPS		10000
#define FLR_EVERY	4000
#define WALK_EVERY	64
#define MAX_VALID_WRITE	256
/*
 * The fixture logs 512 writes per function.  A write of n bytes makes at
 * most n + 2 entries (one per piece, and Device Control once more when
 * vfio-pci sets the Max Read Request Size, pcie_set_readrq()); an FLR (with
 * the writes before it) fewer than FLR_LOG + WRITE_LOG(8), its config save
 * and restore.  The log is drained once the operations since the last drain
 * may have made more than LOG_DRAIN_AT entries, so that the next operation,
 * the largest write, cannot overflow it.
 */
#define WRITE_LOG(n)	((n) + 8)
#define FLR_LOG		128
#define LOG_DRAIN_AT	(512 - WRITE_LOG(MAX_VALID_WRITE))
#define LOG_LINES	8
#define LOG_LEN		256
#define BIG_SIZE	65536

static const char *vf_bdf;
static char pf_bdf[32];
static int vf_index;
static unsigned long n_ops = DEFAULT_OPS;
static uint64_t seed;

/* --- what the run saw, in shared memory: each test runs in its own process --- */

enum op_class {
	C_READ_EMULATED,	/* valid, every byte emulated */
	C_READ_STRADDLE,	/* valid, emulated and real bytes */
	C_READ_LINK,		/* valid, the linking Next Capability Offset, no emulated byte */
	C_READ_REAL,		/* valid, real bytes only */
	C_WRITE_EMULATED,
	C_WRITE_STRADDLE,
	C_WRITE_LINK,
	C_WRITE_REAL,
	C_ODD_SIZE,		/* valid, a count other than 1, 2, 4, 8 (also counted above) */
	C_FULL_READ,		/* 4096 bytes at 0 */
	C_EMPTY,		/* 0 bytes */
	C_PAST_END,		/* ends past 0x1000 in the config region: EFAULT */
	C_NEGATIVE,		/* a negative position: EINVAL */
	C_OTHER_REGION,		/* not the config region: EINVAL */
	C_BAD_BUFFER,		/* an inaccessible buffer: EFAULT */
	C_FLR,			/* PCI_EXP_DEVCTL_BCR_FLR */
	NR_CLASSES
};

static const char *const class_name[NR_CLASSES] = {
	"reads of emulated bytes", "reads straddling an emulated edge",
	"reads of the linking Next Capability Offset", "reads of real bytes",
	"writes of emulated bytes", "writes straddling an emulated edge",
	"writes of the linking Next Capability Offset", "writes of real bytes",
	"valid accesses of 3, 5..7, 16..256 bytes", "reads of the whole config space",
	"accesses of 0 bytes", "accesses past 0x1000", "accesses at a negative position",
	"accesses in other regions", "accesses with an inaccessible buffer",
	"FLRs through PCI_EXP_DEVCTL",
};

enum invariant {
	INV_HW,			/* 1 */
	INV_RO,			/* 2 */
	INV_RW,			/* 3 */
	INV_CHAIN,		/* 4 */
	INV_ERRNO,		/* 5 */
	INV_AFTER,		/* 6 */
	INV_LEFT,		/* 8 */
	NR_INV
};

struct inv_log {
	unsigned long fails;
	char line[LOG_LINES][LOG_LEN];
};

/* Sizes the fuzz uses, for the histogram. */
static const size_t sizes[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 256, 4096, 4097, BIG_SIZE };
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

struct fuzz_result {
	char iommu_mode[32];
	int state;		/* 0: not run, 1: started, 2: finished */
	uint64_t seed;
	unsigned long ops;
	double seconds;
	unsigned long cls[NR_CLASSES];
	unsigned long by_size[NR_SIZES];
	unsigned long flr_min;		/* FLRs scheduled */
	unsigned long checked_bytes;	/* modelled bytes compared */
	unsigned long walks, drains, vf_logged, pf_drains;
	unsigned long dropped_unread;	/* writes with an inaccessible buffer that succeeded */
	struct inv_log inv[NR_INV];
};

static struct fuzz_result *res;

static __printf(2, 3) void fail(enum invariant i, const char *fmt, ...)
{
	struct inv_log *l = &res->inv[i];
	va_list ap;

	if (l->fails++ >= LOG_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(l->line[l->fails - 1], LOG_LEN, fmt, ap);
	va_end(ap);
}

static void count_size(size_t size)
{
	unsigned int i;

	for (i = 0; i < NR_SIZES; i++)
		if (sizes[i] == size)
			res->by_size[i]++;
}

/* --- the fuzz --- */

/* A region other than config space, and where its positions stop being valid. */
struct region {
	unsigned int index;
	uint64_t size;		/* 0: the device has no such region */
};

struct fuzz {
	struct vfio_pci_device *dev;
	int fd;
	uint64_t cfg;			/* the config region's position in the fd */
	struct vpv_emul_expect x;
	struct vpv_byte_model m[CFG_SIZE];	/* what each byte may read */
	/* The RW state, as last written: the exact model. */
	uint16_t pasid_ctrl, pri_ctrl;
	uint32_t pri_alloc;
	unsigned int pm, af;		/* PCI_CAP_ID_PM, PCI_CAP_ID_AF; 0: none */
	struct vpv_ecap chain[64];	/* the extended capability chain at the start */
	int nchain;
	char vf_log[8];			/* the fixture's log of the VF's config writes */
	unsigned int logged;		/* log entries the operations since the drain may have made */
	unsigned long drained_at;	/* the operation of the last drain */
	struct region other[8];		/* BARs, ROM, VGA */
	int nother;
	uint32_t num_regions;
	uint8_t *noaccess;		/* a PROT_NONE page */
	uint64_t s;			/* the operations' random sequence */
	unsigned long op;
	unsigned int known;		/* which known register the next check reads */
	uint8_t buf[BIG_SIZE + 8];
};

static bool in_pasid(const struct fuzz *f, unsigned int off)
{
	return off >= f->x.pasid && off < f->x.pasid + PCI_EXT_CAP_PASID_SIZEOF;
}

static bool in_pri(const struct fuzz *f, unsigned int off)
{
	return off >= f->x.pri && off < f->x.pri + PCI_EXT_CAP_PRI_SIZEOF;
}

static bool emulated(const struct fuzz *f, unsigned int off)
{
	return in_pasid(f, off) || in_pri(f, off);
}

/* The bytes of the linking header that hold the patched Next Capability Offset. */
static bool link_next(const struct fuzz *f, unsigned int off)
{
	return f->x.link && off >= f->x.link + 2 && off < f->x.link + 4;
}

static uint16_t pri_status(const struct fuzz *f)
{
	return f->x.pri_status_ro | (f->pri_ctrl & PCI_PRI_CTRL_ENABLE ? 0 : PCI_PRI_STATUS_STOPPED);
}

/* The byte at @off as the model says it reads now; @off is modelled. */
static uint8_t model_byte(const struct fuzz *f, unsigned int off)
{
	const struct vpv_emul_expect *x = &f->x;
	unsigned int rel;
	uint32_t v;

	if (in_pasid(f, off)) {
		rel = off - x->pasid;
		v = rel < 4 ? x->pasid_hdr : x->pasid_cap | (uint32_t)f->pasid_ctrl << 16;
	} else if (in_pri(f, off)) {
		rel = off - x->pri;
		switch (rel / 4) {
		case 0:
			v = x->pri_hdr;
			break;
		case 1:
			v = f->pri_ctrl | (uint32_t)pri_status(f) << 16;
			break;
		case 2:
			v = x->pri_capacity;
			break;
		default:
			v = f->pri_alloc;
			break;
		}
	} else {
		return f->m[off].fixed;	/* read-only: PCI_VENDOR_ID, the linking header... */
	}
	return v >> (8 * (rel % 4));
}

static uint32_t model_dword(const struct fuzz *f, unsigned int off)
{
	return model_byte(f, off) | model_byte(f, off + 1) << 8 | model_byte(f, off + 2) << 16 |
	       (uint32_t)model_byte(f, off + 3) << 24;
}

/* Byte @i of the 16-bit register @reg written @v: its RW bits @rw take the value. */
static void write16(uint16_t *reg, unsigned int i, uint8_t v, uint16_t rw)
{
	uint16_t mask = rw & (0xff << (8 * i));

	*reg = (*reg & ~mask) | ((v << (8 * i)) & mask);
}

/*
 * A byte written to an emulated register, after the PCIe spec: RW bits take
 * it, RO and reserved bits ignore it, PRI Reset acts on RF and UPRGI (which
 * read 0 here: nothing is attributed to a VF), RW1C bits written 1 clear
 * (they are those two).
 */
static void model_write(struct fuzz *f, unsigned int off, uint8_t v)
{
	const struct vpv_emul_expect *x = &f->x;
	unsigned int rel;

	if (in_pasid(f, off)) {
		rel = off - x->pasid;
		if (rel >= PCI_PASID_CTRL)
			write16(&f->pasid_ctrl, rel - PCI_PASID_CTRL, v, x->pasid_ctrl_rw);
	} else if (in_pri(f, off)) {
		rel = off - x->pri;
		if (rel >= PCI_PRI_CTRL && rel < PCI_PRI_STATUS)
			write16(&f->pri_ctrl, rel - PCI_PRI_CTRL, v, PCI_PRI_CTRL_ENABLE);
		else if (rel >= PCI_PRI_ALLOC_REQ)
			f->pri_alloc = (f->pri_alloc & ~(0xffu << (8 * (rel % 4)))) |
				       (uint32_t)v << (8 * (rel % 4));
	}
}

static void model_reset(struct fuzz *f)
{
	f->pasid_ctrl = f->pri_ctrl = 0;
	f->pri_alloc = 0;
}

static bool model_at_reset(const struct fuzz *f)
{
	return !f->pasid_ctrl && !f->pri_ctrl && !f->pri_alloc;
}

/* Compares the bytes a read returned with both models. */
static void check_read(struct fuzz *f, unsigned int pos, const uint8_t *v, size_t size,
		       const char *what)
{
	size_t i;

	for (i = 0; i < size && pos + i < CFG_SIZE; i++) {
		unsigned int off = pos + i;
		const struct vpv_byte_model *b = &f->m[off];
		uint8_t want;

		if (b->kind == VPV_BYTE_UNCHECKED)
			continue;
		res->checked_bytes++;
		if (!vpv_model_allows(b, v[i])) {
			fail(INV_RO, "op %lu, %s of %zu bytes at %#x: byte %#x of %s reads %#04x; "
			     "its RO and reserved bits must read %#04x (RW bits %#04x)",
			     f->op, what, size, pos, off, b->reg, v[i], b->fixed, b->var);
			continue;
		}
		want = model_byte(f, off);
		if (v[i] != want)
			fail(INV_RW, "op %lu, %s of %zu bytes at %#x: byte %#x of %s reads %#04x, "
			     "the model %#04x (PCI_PASID_CTRL %#06x PCI_PRI_CTRL %#06x "
			     "PCI_PRI_ALLOC_REQ %#010x)", f->op, what, size, pos, off, b->reg, v[i],
			     want, f->pasid_ctrl, f->pri_ctrl, f->pri_alloc);
	}
}

static ssize_t cfg_rw(struct fuzz *f, bool write, uint64_t pos, void *buf, size_t size)
{
	return write ? pwrite(f->fd, buf, size, f->cfg + pos) : pread(f->fd, buf, size, f->cfg + pos);
}

/* Reads the RW registers back into the model, after a valid write that failed. */
static void resync(struct fuzz *f)
{
	uint16_t v16;
	uint32_t v32;

	if (cfg_rw(f, false, f->x.pasid + PCI_PASID_CTRL, &v16, 2) == 2)
		f->pasid_ctrl = v16;
	if (cfg_rw(f, false, f->x.pri + PCI_PRI_CTRL, &v16, 2) == 2)
		f->pri_ctrl = v16;
	if (cfg_rw(f, false, f->x.pri + PCI_PRI_ALLOC_REQ, &v32, 4) == 4)
		f->pri_alloc = v32;
}

/* A random byte for real config space at @off, minus what the header's exclusions exclude. */
static uint8_t real_byte(const struct fuzz *f, unsigned int off, uint8_t v)
{
	if (off == f->x.exp + PCI_EXP_DEVCTL + 1)
		v &= ~(PCI_EXP_DEVCTL_BCR_FLR >> 8);
	if (f->pm && off == f->pm + PCI_PM_CTRL)
		v &= ~PCI_PM_CTRL_STATE_MASK;	/* D0 */
	if (f->af && off == f->af + PCI_AF_CTRL)
		v &= ~PCI_AF_CTRL_FLR;
	return v;
}

/*
 * Writes back, through VFIO, the real bytes of extended config space that
 * read otherwise than in @start (the VF's config space through sysfs, before
 * the fuzz); then each byte that still differs is a finding.
 */
static void leave_as_found(struct fuzz *f, const uint8_t *start)
{
	static uint8_t now[CFG_SIZE];
	unsigned int off;
	int ret, pass;

	for (pass = 0; pass < 2; pass++) {
		ret = vpv_cfg_read(vf_bdf, 0, now, CFG_SIZE);
		if (ret) {
			fail(INV_LEFT, "reading %s's config space through sysfs: %s", vf_bdf,
			     strerror(-ret));
			return;
		}
		for (off = PCI_CFG_SPACE_SIZE; off < CFG_SIZE; off++) {
			if (now[off] == start[off] || emulated(f, off) || link_next(f, off))
				continue;
			if (pass) {
				fail(INV_LEFT, "byte %#x reads %#04x, %#04x before the fuzz", off,
				     now[off], start[off]);
				continue;
			}
			if (cfg_rw(f, true, off, (void *)&start[off], 1) != 1)
				fail(INV_LEFT, "writing back byte %#x: %s", off, strerror(errno));
		}
	}
}

/* Reads the fixture's write logs and checks them; clears them. */
static void drain(struct fuzz *f, bool pf_too)
{
	static struct vpv_write w[600];
	unsigned long dropped;
	int n, i;

	res->drains++;
	n = vpv_fixture_writes(f->vf_log, w, 600, &dropped);
	if (n < 0) {
		fail(INV_HW, "ops %lu..%lu: reading the fixture's writes/%s: %s", f->drained_at, f->op,
		     f->vf_log, strerror(-n));
		return;
	}
	res->vf_logged += n;
	if (dropped)
		fail(INV_HW, "ops %lu..%lu: the fixture's writes/%s dropped %lu entries: not checked",
		     f->drained_at, f->op, f->vf_log, dropped);
	for (i = 0; i < n && i < 600; i++) {
		unsigned int off;

		for (off = w[i].off; off < w[i].off + w[i].size && off < CFG_SIZE; off++)
			if (emulated(f, off))
				break;
		if (off < w[i].off + w[i].size && off < CFG_SIZE)
			fail(INV_HW, "ops %lu..%lu: a %u-byte write of %#x at %#x reached the VF, inside %s",
			     f->drained_at, f->op, w[i].size, w[i].val, w[i].off, f->m[off].reg);
	}
	if (vpv_fixture_clear_writes(f->vf_log))
		fail(INV_HW, "clearing the fixture's writes/%s: %s", f->vf_log, strerror(errno));
	f->logged = 0;
	f->drained_at = f->op + 1;
	if (!pf_too)
		return;
	res->pf_drains++;
	n = vpv_fixture_writes("pf", w, 600, &dropped);
	if (n < 0) {
		fail(INV_HW, "reading the fixture's writes/pf: %s", strerror(-n));
		return;
	}
	if (dropped)
		fail(INV_HW, "up to op %lu: the fixture's writes/pf dropped %lu entries: not checked",
		     f->op, dropped);
	for (i = 0; i < n && i < 600; i++)
		if (vpv_overlaps(w[i].off, w[i].off + w[i].size,
				 &(struct vpv_range){ f->x.pf_pasid,
						      f->x.pf_pasid + PCI_EXT_CAP_PASID_SIZEOF }) ||
		    vpv_overlaps(w[i].off, w[i].off + w[i].size,
				 &(struct vpv_range){ f->x.pf_pri, f->x.pf_pri + PCI_EXT_CAP_PRI_SIZEOF }))
			fail(INV_HW, "up to op %lu: a %u-byte write of %#x at %#x reached the PF's %s capability",
			     f->op, w[i].size, w[i].val, w[i].off,
			     w[i].off < f->x.pf_pasid + PCI_EXT_CAP_PASID_SIZEOF &&
			     w[i].off + w[i].size > f->x.pf_pasid ? "PASID" : "PRI");
	if (vpv_fixture_clear_writes("pf"))
		fail(INV_HW, "clearing the fixture's writes/pf: %s", strerror(errno));
}

/* Walks the extended capability chain through VFIO, a header at a time. */
static void walk(struct fuzz *f)
{
	static bool seen[CFG_SIZE / 4];
	unsigned int off = PCI_CFG_SPACE_SIZE, next;
	bool pasid = false, pri = false;
	uint32_t hdr;
	int n = 0;

	res->walks++;
	memset(seen, 0, sizeof(seen));
	for (;;) {
		if (n == (int)ARRAY_SIZE(f->chain)) {
			fail(INV_CHAIN, "op %lu: the chain does not end after %d capabilities", f->op, n);
			return;
		}
		if (seen[off / 4]) {
			fail(INV_CHAIN, "op %lu: the chain loops back to %#x", f->op, off);
			return;
		}
		seen[off / 4] = true;
		if (cfg_rw(f, false, off, &hdr, 4) != 4) {
			fail(INV_CHAIN, "op %lu: reading the capability header at %#x: %s", f->op, off,
			     strerror(errno));
			return;
		}
		if (n >= f->nchain || f->chain[n].off != off ||
		    f->chain[n].id != PCI_EXT_CAP_ID(hdr) || f->chain[n].ver != PCI_EXT_CAP_VER(hdr)) {
			fail(INV_CHAIN, "op %lu: capability %d of the chain is %#x version %u at %#x; "
			     "at the start, %#x version %u at %#x", f->op, n, PCI_EXT_CAP_ID(hdr),
			     PCI_EXT_CAP_VER(hdr), off, n < f->nchain ? f->chain[n].id : 0,
			     n < f->nchain ? f->chain[n].ver : 0, n < f->nchain ? f->chain[n].off : 0);
			return;
		}
		pasid |= PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_PASID && off == f->x.pasid;
		pri |= PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_PRI && off == f->x.pri;
		n++;
		next = hdr >> 20;
		if (!next)
			break;
		if (next % 4 || next < PCI_CFG_SPACE_SIZE) {
			fail(INV_CHAIN, "op %lu: the header at %#x (%#010x) has Next %#x: not a dword at or above 0x100",
			     f->op, off, hdr, next);
			return;
		}
		off = next;
	}
	if (n != f->nchain)
		fail(INV_CHAIN, "op %lu: the chain ends after %d capabilities, at the start after %d",
		     f->op, n, f->nchain);
	if (!pasid || !pri)
		fail(INV_CHAIN, "op %lu: %s not in the chain at %#x", f->op, pasid ? "PRI" : "PASID",
		     pasid ? f->x.pri : f->x.pasid);
}

/* After an access that must fail (or did nothing): a known register reads as expected. */
static void check_known(struct fuzz *f, const char *after)
{
	static const char *const name[] = {
		"PCI_VENDOR_ID/PCI_DEVICE_ID", "the PASID header", "PCI_PRI_MAX_REQ",
		"PCI_PRI_CTRL/PCI_PRI_STATUS",
	};
	unsigned int k = f->known++ % 4;
	unsigned int off = k == 0 ? PCI_VENDOR_ID : k == 1 ? f->x.pasid :
			   k == 2 ? f->x.pri + PCI_PRI_MAX_REQ : f->x.pri + PCI_PRI_CTRL;
	uint32_t v = 0, want = model_dword(f, off);
	ssize_t n = cfg_rw(f, false, off, &v, 4);

	if (n != 4)
		fail(INV_AFTER, "op %lu, after %s: the 4-byte read of %s at %#x returned %zd (%s)",
		     f->op, after, name[k], off, n, n < 0 ? strerror(errno) : "short");
	else if (v != want)
		fail(INV_AFTER, "op %lu, after %s: %s at %#x reads %#010x, not %#010x", f->op, after,
		     name[k], off, v, want);
}

/*
 * An access that must fail with @err (0: must return 0) - or, if @or_count,
 * may return its full count - then the known-register check.
 */
static void expect_failure(struct fuzz *f, bool write, int64_t pos, const void *buf, size_t size,
			   int err, bool or_count, enum op_class c, const char *what)
{
	ssize_t n = write ? pwrite(f->fd, buf, size, pos) : pread(f->fd, (void *)buf, size, pos);
	const char *rw = write ? "pwrite" : "pread";

	res->cls[c]++;
	count_size(size);
	if (or_count && n == (ssize_t)size)
		res->dropped_unread++;
	else if (!err && n != 0)
		fail(INV_ERRNO, "op %lu: %s of 0 bytes at %#llx (%s) returned %zd (%s), not 0",
		     f->op, rw, (unsigned long long)pos, what, n, n < 0 ? strerror(errno) : "");
	else if (err && n >= 0)
		fail(INV_ERRNO, "op %lu: %s of %zu bytes at %#llx (%s) returned %zd, not -1 with %s",
		     f->op, rw, size, (unsigned long long)pos, what, n, strerror(err));
	else if (err && errno != err)
		fail(INV_ERRNO, "op %lu: %s of %zu bytes at %#llx (%s) failed with %s, not %s",
		     f->op, rw, size, (unsigned long long)pos, what, strerror(errno), strerror(err));
	if (write && n > 0 && !or_count)
		resync(f);	/* it wrote something: follow it, it is reported already */
	check_known(f, what);
}

/* Where an access that should be valid went: its class. */
static enum op_class classify(const struct fuzz *f, bool write, unsigned int pos, size_t size)
{
	unsigned int i, e = 0, l = 0;

	for (i = pos; i < pos + size; i++) {
		e += emulated(f, i);
		l += link_next(f, i);
	}
	if (e == size)
		return write ? C_WRITE_EMULATED : C_READ_EMULATED;
	if (e)
		return write ? C_WRITE_STRADDLE : C_READ_STRADDLE;
	if (l)
		return write ? C_WRITE_LINK : C_READ_LINK;
	return write ? C_WRITE_REAL : C_READ_REAL;
}

static void valid_access(struct fuzz *f, bool write, unsigned int pos, size_t size)
{
	const char *rw = write ? "pwrite" : "pread";
	ssize_t n;
	size_t i;

	res->cls[classify(f, write, pos, size)]++;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		res->cls[size == CFG_SIZE ? C_FULL_READ : C_ODD_SIZE]++;
	count_size(size);
	if (write)
		for (i = 0; i < size; i++) {
			uint8_t v = vpv_rnd(&f->s);

			f->buf[i] = emulated(f, pos + i) ? v : real_byte(f, pos + i, v);
		}
	n = cfg_rw(f, write, pos, f->buf, size);
	if (n != (ssize_t)size) {
		fail(INV_ERRNO, "op %lu: %s of %zu bytes at %#x in config space returned %zd (%s)",
		     f->op, rw, size, pos, n, n < 0 ? strerror(errno) : "a short count");
		if (write)
			resync(f);
		return;
	}
	if (!write) {
		check_read(f, pos, f->buf, size, rw);
		return;
	}
	for (i = 0; i < size; i++)
		model_write(f, pos + i, f->buf[i]);
	f->logged += WRITE_LOG(size);
}

/* A position in config space, biased toward the emulated capabilities and their edges. */
static uint64_t pick_pos(struct fuzz *f)
{
	unsigned int r = vpv_rnd(&f->s) % 100, cap, len;

	if (r < 45) {
		bool pasid = vpv_rnd(&f->s) & 1;

		cap = pasid ? f->x.pasid : f->x.pri;
		len = pasid ? PCI_EXT_CAP_PASID_SIZEOF : PCI_EXT_CAP_PRI_SIZEOF;
		if (vpv_rnd(&f->s) % 3)	/* 8 bytes either side */
			return cap - 8 + vpv_rnd(&f->s) % (len + 16);
		/* An edge: the first or last byte of a register, or just outside. */
		r = cap + 2 * (vpv_rnd(&f->s) % (len / 2 + 1));
		return r - 1 + vpv_rnd(&f->s) % 2;
	}
	if (r < 52 && f->x.link)
		return f->x.link - 2 + vpv_rnd(&f->s) % 12;
	if (r < 67)
		return vpv_rnd(&f->s) % PCI_CFG_SPACE_SIZE;
	if (r < 82)
		return PCI_CFG_SPACE_SIZE + vpv_rnd(&f->s) % (CFG_SIZE - PCI_CFG_SPACE_SIZE);
	if (r < 92)
		return CFG_SIZE - 16 + vpv_rnd(&f->s) % 32;
	/* Past 4 KiB, still in the config region (offsets up to 2^40). */
	switch (vpv_rnd(&f->s) % 3) {
	case 0:
		return CFG_SIZE + vpv_rnd(&f->s) % 0x1000;
	case 1:
		return (1ull << REGION_SHIFT) - 1 - vpv_rnd(&f->s) % 16;
	default:
		return CFG_SIZE + vpv_rnd(&f->s) % ((1ull << REGION_SHIFT) - CFG_SIZE);
	}
}

static size_t pick_size(struct fuzz *f)
{
	static const size_t common[] = { 1, 2, 4, 8 };
	static const size_t odd[] = { 3, 5, 6, 7, 16, 32, 64, 256, 4096, 4097, BIG_SIZE };

	if (vpv_rnd(&f->s) % 4)
		return common[vpv_rnd(&f->s) % ARRAY_SIZE(common)];
	return odd[vpv_rnd(&f->s) % ARRAY_SIZE(odd)];
}

/* A position outside the config region that must fail with EINVAL, and a size. */
static int64_t pick_other(struct fuzz *f, size_t *size, const char **what)
{
	unsigned int r = vpv_rnd(&f->s) % 5;
	const struct region *g;

	*size = 1 + vpv_rnd(&f->s) % 16;
	switch (r) {
	case 0:
	case 1: {
		uint64_t past;

		g = &f->other[vpv_rnd(&f->s) % f->nother];
		past = (1ull << REGION_SHIFT) - g->size;
		*what = g->index == VFIO_PCI_VGA_REGION_INDEX ? "the VGA region, which the VF lacks" :
			"a BAR or the ROM, at or past its size";
		return ((int64_t)g->index << REGION_SHIFT) + g->size +
		       (vpv_rnd(&f->s) & 1 ? vpv_rnd(&f->s) % 64 : vpv_rnd(&f->s) % past);
	}
	case 2:
		/* The ROM's last bytes, reaching into the config region. */
		*size = 2 + vpv_rnd(&f->s) % 15;
		*what = "the ROM's end, into the config region";
		return (int64_t)f->cfg - 1 - vpv_rnd(&f->s) % (*size - 1);
	case 3:
		*what = "an index past the device's regions";
		return ((int64_t)(f->num_regions + vpv_rnd(&f->s) % ((1u << 23) - f->num_regions))
			<< REGION_SHIFT) + vpv_rnd(&f->s) % 0x2000;
	default:
		/* An end past the largest position: EINVAL from rw_verify_area(). */
		*size = 8 + vpv_rnd(&f->s) % 8;
		*what = "an end that overflows loff_t";
		return INT64_MAX - vpv_rnd(&f->s) % 7;
	}
}

static void one_op(struct fuzz *f)
{
	unsigned int r = vpv_rnd(&f->s) % 1000;
	bool write = vpv_rnd(&f->s) % 5 < 2;
	const char *what;
	uint64_t pos;
	int64_t p;
	size_t size;

	if (r < 25) {
		size = vpv_rnd(&f->s) % 9;
		p = vpv_rnd(&f->s) & 1 ? -1 - (int64_t)(vpv_rnd(&f->s) % 4096) :
		    INT64_MIN + (int64_t)(f->cfg + vpv_rnd(&f->s) % CFG_SIZE);
		expect_failure(f, write, p, f->buf, size, EINVAL, false, C_NEGATIVE,
			       "a negative position");
	} else if (r < 65) {
		p = pick_other(f, &size, &what);
		expect_failure(f, write, p, f->buf, size, EINVAL, false, C_OTHER_REGION, what);
	} else if (r < 95) {
		const void *buf = vpv_rnd(&f->s) & 1 ? (void *)f->noaccess :
				  (void *)0xffff888000000000ull;	/* a kernel address */

		pos = vpv_rnd(&f->s) & 1 ? pick_pos(f) % CFG_SIZE :
		      f->x.pri - 4 + vpv_rnd(&f->s) % (PCI_EXT_CAP_PRI_SIZEOF + 8);
		size = 1 + vpv_rnd(&f->s) % 8;
		if (pos + size > CFG_SIZE)
			pos = CFG_SIZE - size;
		/* A write of real bytes only may be one that vfio-pci drops unread. */
		expect_failure(f, write, f->cfg + pos, buf, size, EFAULT,
			       write && classify(f, true, pos, size) != C_WRITE_EMULATED &&
			       classify(f, true, pos, size) != C_WRITE_STRADDLE,
			       C_BAD_BUFFER, "an inaccessible buffer");
	} else if (r < 110) {
		pos = pick_pos(f);
		expect_failure(f, write, f->cfg + pos, f->buf, 0, 0, false, C_EMPTY, "0 bytes");
	} else if (r < 113) {
		valid_access(f, false, 0, CFG_SIZE);
	} else {
		pos = pick_pos(f);
		size = pick_size(f);
		if (pos + size > CFG_SIZE) {
			expect_failure(f, write, f->cfg + pos, f->buf, size, EFAULT, false,
				       C_PAST_END, "an access past 0x1000");
			return;
		}
		if (write && size > MAX_VALID_WRITE)
			size = MAX_VALID_WRITE;
		valid_access(f, write, pos, size);
	}
}

/*
 * PCI_PASID_CTRL, PCI_PRI_CTRL and PCI_PRI_ALLOC_REQ given non-reset values,
 * an FLR through PCI_EXP_DEVCTL_BCR_FLR, and the emulated registers read back.
 */
static void flr(struct fuzz *f)
{
	unsigned int devctl = f->x.exp + PCI_EXP_DEVCTL, reg;
	uint16_t ctl, pasid = PCI_PASID_CTRL_ENABLE, pri = PCI_PRI_CTRL_ENABLE;
	uint32_t alloc = vpv_rnd(&f->s) | 1;
	uint8_t v[PCI_EXT_CAP_PRI_SIZEOF];

	res->cls[C_FLR]++;
	if (cfg_rw(f, true, f->x.pasid + PCI_PASID_CTRL, &pasid, 2) != 2 ||
	    cfg_rw(f, true, f->x.pri + PCI_PRI_CTRL, &pri, 2) != 2 ||
	    cfg_rw(f, true, f->x.pri + PCI_PRI_ALLOC_REQ, &alloc, 4) != 4) {
		fail(INV_ERRNO, "op %lu: writing PCI_PASID_CTRL, PCI_PRI_CTRL, PCI_PRI_ALLOC_REQ "
		     "before an FLR: %s", f->op, strerror(errno));
		resync(f);
	} else {
		f->pasid_ctrl = pasid;
		f->pri_ctrl = pri;
		f->pri_alloc = alloc;
	}
	f->logged += WRITE_LOG(8);
	if (model_at_reset(f))
		fail(INV_RW, "op %lu: the registers did not take non-reset values before the FLR",
		     f->op);
	if (cfg_rw(f, false, devctl, &ctl, 2) != 2) {
		fail(INV_ERRNO, "op %lu: reading PCI_EXP_DEVCTL at %#x: %s", f->op, devctl,
		     strerror(errno));
		return;
	}
	ctl |= PCI_EXP_DEVCTL_BCR_FLR;
	if (cfg_rw(f, true, devctl, &ctl, 2) != 2) {
		fail(INV_ERRNO, "op %lu: writing PCI_EXP_DEVCTL_BCR_FLR at %#x: %s", f->op, devctl,
		     strerror(errno));
		return;
	}
	model_reset(f);
	f->logged += FLR_LOG;
	for (reg = 0; reg < 2; reg++) {
		unsigned int off = reg ? f->x.pri : f->x.pasid;
		size_t len = reg ? PCI_EXT_CAP_PRI_SIZEOF : PCI_EXT_CAP_PASID_SIZEOF;

		if (cfg_rw(f, false, off, v, len) != (ssize_t)len)
			fail(INV_ERRNO, "op %lu: reading the %s capability after the FLR: %s", f->op,
			     reg ? "PRI" : "PASID", strerror(errno));
		else
			check_read(f, off, v, len, "pread after an FLR");
	}
}

/* The regions other than config space, and how far each one goes (0: absent). */
static void find_regions(struct __test_metadata *_metadata, struct fuzz *f)
{
	static const unsigned int extra[] = { VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_VGA_REGION_INDEX };
	struct vfio_region_info info;
	unsigned int i;

	f->num_regions = f->dev->info.num_regions;
	ASSERT_LE(VFIO_PCI_NUM_REGIONS, f->num_regions) TH_LOG("VFIO_DEVICE_GET_INFO num_regions");
	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		f->other[f->nother++] = (struct region){ i, f->dev->bars[i].info.size };
	for (i = 0; i < ARRAY_SIZE(extra); i++) {
		info = (struct vfio_region_info){ .argsz = sizeof(info), .index = extra[i] };
		if (ioctl(f->fd, VFIO_DEVICE_GET_REGION_INFO, &info))
			info.size = 0;	/* VGA: EINVAL without VGA */
		/* A ROM that is there reads up to its size: past it, EINVAL. */
		f->other[f->nother++] = (struct region){ extra[i], info.size };
	}
	for (i = 0; i < (unsigned int)f->nother; i++) {
		ASSERT_LT(f->other[i].size, 1ull << REGION_SHIFT);
		if (f->other[i].index == VFIO_PCI_VGA_REGION_INDEX)
			ASSERT_EQ(0, f->other[i].size)
				TH_LOG("the VF has a VGA region: not a VF this test knows");
	}
}

static void run_fuzz(struct __test_metadata *_metadata, const char *iommu_mode)
{
	static uint8_t img[CFG_SIZE], host[CFG_SIZE];
	static struct fuzz f;
	unsigned long flr_every = n_ops / 4 < FLR_EVERY ? n_ops / 4 : FLR_EVERY;
	char why[256], placement[512];
	struct iommu *iommu;
	struct timespec t0;
	int ret;

	if (strcmp(res->iommu_mode, iommu_mode)) {
		memset(res, 0, sizeof(*res));
		snprintf(res->iommu_mode, sizeof(res->iommu_mode), "%s", iommu_mode);
	}
	if (res->state == 2)
		return;
	ASSERT_EQ(0, res->state) TH_LOG("an earlier test's fuzz in %s did not finish", iommu_mode);

	memset(&f, 0, sizeof(f));
	iommu = iommu_init(iommu_mode);
	f.dev = vfio_pci_device_init(vf_bdf, iommu);
	f.fd = f.dev->fd;
	f.cfg = f.dev->config_space.offset;
	ASSERT_EQ((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << REGION_SHIFT, f.cfg)
		TH_LOG("the config region is not where vfio-pci's region index >> 40 puts it");
	ASSERT_EQ(CFG_SIZE, pread(f.fd, img, CFG_SIZE, f.cfg));
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, 0, host, CFG_SIZE));
	ret = vpv_emul_expect(vf_bdf, img, &f.x, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	ASSERT_EQ(f.x.pasid_cap, vpv_le16(img + f.x.pasid + PCI_PASID_CAP))
		TH_LOG("PCI_PASID_CAP at the start (PF cap %#x ctrl %#x, IOMMU width %d)",
		       f.x.pf_pasid_cap_reg, f.x.pf_pasid_ctrl_reg, f.x.iommu_width);
	ASSERT_NE(0, vpv_le32(img + f.x.exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR)
		TH_LOG("the VF does not support FLR (PCI_EXP_DEVCAP_FLR)");
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	ASSERT_EQ(f.x.pasid, vpv_placed_at(placement, "PASID")) TH_LOG("placement: %s", placement);
	ASSERT_EQ(f.x.pri, vpv_placed_at(placement, "PRI")) TH_LOG("placement: %s", placement);
	f.nchain = vpv_ecap_chain(img, f.chain, ARRAY_SIZE(f.chain));
	ASSERT_LT(0, f.nchain) TH_LOG("the extended capability chain at the start");
	f.pm = vpv_cap_find(img, PCI_CAP_ID_PM);
	f.af = vpv_cap_find(img, PCI_CAP_ID_AF);
	/* vfio-pci turns VPD writes into writes of the device's VPD storage. */
	ASSERT_EQ(0, vpv_cap_find(img, PCI_CAP_ID_VPD))
		TH_LOG("the VF has a VPD capability, whose writes this test does not exclude");
	vpv_emul_model(&f.x, f.m);
	model_reset(&f);
	find_regions(_metadata, &f);
	f.noaccess = mmap(NULL, getpagesize(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f.noaccess);
	snprintf(f.vf_log, sizeof(f.vf_log), "vf%d", vf_index);
	ASSERT_EQ(0, vpv_fixture_clear_writes(f.vf_log)) TH_LOG("the fixture's writes/%s", f.vf_log);
	ASSERT_EQ(0, vpv_fixture_clear_writes("pf")) TH_LOG("the fixture's writes/pf");

	/* At the start, every modelled byte reads its reset value. */
	check_read(&f, 0, img, CFG_SIZE, "the first pread");
	ASSERT_EQ(0, res->inv[INV_RO].fails + res->inv[INV_RW].fails)
		TH_LOG("at the start: %s", res->inv[INV_RO].fails ? res->inv[INV_RO].line[0] :
					   res->inv[INV_RW].line[0]);

	res->state = 1;
	res->seed = seed;
	res->flr_min = n_ops / flr_every;
	f.s = seed;
	ksft_print_msg("fuzzing %s with VPV_FUZZ_SEED=%#llx VPV_FUZZ_OPS=%lu: PASID at %#x, "
		       "PRI at %#x, linked from %#x, PCIe at %#x, PM at %#x\n", vf_bdf,
		       (unsigned long long)seed, n_ops, f.x.pasid, f.x.pri, f.x.link, f.x.exp, f.pm);
	fflush(stdout);
	t0 = vpv_now();
	for (f.op = 0; f.op < n_ops; f.op++) {
		if (f.op % flr_every == flr_every / 2)
			flr(&f);
		else
			one_op(&f);
		if (f.logged > LOG_DRAIN_AT)
			drain(&f, res->drains % 8 == 0);
		if (f.op % WALK_EVERY == 0)
			walk(&f);
	}
	res->ops = f.op;
	f.op--;
	drain(&f, true);
	walk(&f);
	valid_access(&f, false, 0, CFG_SIZE);	/* the whole config space, once more */
	res->seconds = vpv_since(t0);
	leave_as_found(&f, host);

	vfio_pci_device_cleanup(f.dev);
	iommu_cleanup(iommu);
	munmap(f.noaccess, getpagesize());
	res->state = 2;
	ksft_print_msg("%lu operations in %.1f s (%.0f/s); %lu modelled bytes compared, "
		       "%lu chain walks, %lu write-log checks (%lu of the PF), %lu VF writes "
		       "logged, %lu writes with an inaccessible buffer dropped unread by vfio-pci\n",
		       res->ops, res->seconds, res->ops / res->seconds, res->checked_bytes,
		       res->walks, res->drains, res->pf_drains, res->vf_logged, res->dropped_unread);
}

/* --- the tests: each checks one invariant of the run --- */

FIXTURE(fuzz) {
};

FIXTURE_VARIANT(fuzz) {
	const char *iommu_mode;
};

/* One IOMMU mode: the config region's paths do not depend on it. */
FIXTURE_VARIANT_ADD_IOMMU_MODE(iommufd, fuzz);

FIXTURE_SETUP(fuzz)
{
	char drv[64];

	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	ASSERT_STREQ(VPV_DRIVER, drv) TH_LOG("%s is bound to '%s'", vf_bdf, drv);
	run_fuzz(_metadata, variant->iommu_mode);
}

FIXTURE_TEARDOWN(fuzz)
{
}

/*
 * 10^5 operations take about a minute on the debug kernel under TCG, 10^6
 * (the long mode) ten times that: a run that stops making progress fails
 * here instead of holding up the suite.
 */
#define FUZZ_TIMEOUT 1800

static void print_log(enum invariant i)
{
	const struct inv_log *l = &res->inv[i];
	unsigned long k;

	for (k = 0; k < l->fails && k < LOG_LINES; k++)
		ksft_print_msg("  %s\n", l->line[k]);
	if (l->fails > LOG_LINES)
		ksft_print_msg("  ... and %lu more\n", l->fails - LOG_LINES);
	if (l->fails)
		ksft_print_msg("  reproduce: VPV_FUZZ_SEED=%#llx VPV_FUZZ_OPS=%lu\n",
			       (unsigned long long)res->seed, res->ops);
}

TEST_F_TIMEOUT(fuzz, writes_inside_pasid_and_pri_never_reach_the_vf_or_the_pf, FUZZ_TIMEOUT)
{
	print_log(INV_HW);
	EXPECT_EQ(0, res->inv[INV_HW].fails)
		TH_LOG("%lu write-log findings for the emulated capabilities", res->inv[INV_HW].fails);
	/* The log works: the writes to real registers are in it. */
	EXPECT_LT(0, res->vf_logged) TH_LOG("the fixture logged no write to the VF at all");
}

TEST_F_TIMEOUT(fuzz, read_only_and_reserved_bits_never_change, FUZZ_TIMEOUT)
{
	print_log(INV_RO);
	EXPECT_EQ(0, res->inv[INV_RO].fails)
		TH_LOG("%lu bytes read other read-only bits than at the start (headers, "
		       "PCI_PASID_CAP, PCI_PRI_STATUS_PASID, PCI_PRI_MAX_REQ, reserved bits)",
		       res->inv[INV_RO].fails);
}

TEST_F_TIMEOUT(fuzz, rw_bits_read_what_was_last_written_and_reset_values_after_flr, FUZZ_TIMEOUT)
{
	print_log(INV_RW);
	EXPECT_EQ(0, res->inv[INV_RW].fails)
		TH_LOG("%lu bytes of PCI_PASID_CTRL, PCI_PRI_CTRL, PCI_PRI_STATUS_STOPPED or "
		       "PCI_PRI_ALLOC_REQ disagreed with what was written", res->inv[INV_RW].fails);
}

TEST_F_TIMEOUT(fuzz, extended_capability_chain_stays_walkable_and_ends, FUZZ_TIMEOUT)
{
	print_log(INV_CHAIN);
	EXPECT_EQ(0, res->inv[INV_CHAIN].fails)
		TH_LOG("%lu of %lu walks of the chain failed", res->inv[INV_CHAIN].fails, res->walks);
}

TEST_F_TIMEOUT(fuzz, invalid_accesses_fail_with_their_errno_and_valid_ones_transfer_in_full,
	       FUZZ_TIMEOUT)
{
	print_log(INV_ERRNO);
	EXPECT_EQ(0, res->inv[INV_ERRNO].fails)
		TH_LOG("%lu accesses returned what they must not", res->inv[INV_ERRNO].fails);
}

TEST_F_TIMEOUT(fuzz, a_known_register_reads_its_value_after_each_invalid_access, FUZZ_TIMEOUT)
{
	print_log(INV_AFTER);
	EXPECT_EQ(0, res->inv[INV_AFTER].fails)
		TH_LOG("%lu reads after an invalid access failed or read a wrong value",
		       res->inv[INV_AFTER].fails);
}

TEST_F_TIMEOUT(fuzz, real_extended_config_reads_as_found_after_the_fuzz, FUZZ_TIMEOUT)
{
	print_log(INV_LEFT);
	EXPECT_EQ(0, res->inv[INV_LEFT].fails)
		TH_LOG("%lu bytes of the VF's extended config space not as before the fuzz",
		       res->inv[INV_LEFT].fails);
}

TEST_F_TIMEOUT(fuzz, every_class_of_access_ran, FUZZ_TIMEOUT)
{
	unsigned long min = res->ops / 1000;
	unsigned int c;

	EXPECT_EQ(n_ops, res->ops);
	for (c = 0; c < NR_CLASSES; c++)
		ksft_print_msg("  %8lu %s\n", res->cls[c], class_name[c]);
	for (c = 0; c < NR_SIZES; c++)
		ksft_print_msg("  %8lu of %zu bytes\n", res->by_size[c], sizes[c]);
	for (c = 0; c < NR_CLASSES; c++) {
		unsigned long want = c == C_FLR ? res->flr_min : min;

		EXPECT_LE(want, res->cls[c]) TH_LOG("%s: %lu, want at least %lu", class_name[c],
						    res->cls[c], want);
	}
	EXPECT_LT(0, res->checked_bytes);
	EXPECT_LT(0, res->drains);
	EXPECT_LT(0, res->walks);
}

int main(int argc, char *argv[])
{
	const char *ops = vpv_env("VPV_FUZZ_OPS"), *s = vpv_env("VPV_FUZZ_SEED");
	char *end;

	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	if (ops) {
		n_ops = strtoul(ops, &end, 0);
		if (*end || n_ops < MIN_OPS || n_ops > 100000000)
			ksft_exit_fail_msg("VPV_FUZZ_OPS=%s: want %d..100000000\n", ops, MIN_OPS);
	}
	if (s) {
		seed = strtoull(s, &end, 0);
		if (*end || !seed)
			ksft_exit_fail_msg("VPV_FUZZ_SEED=%s: want a non-zero number\n", s);
	} else {
		seed = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid() << 1 ^ 1;
	}
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return test_harness_run(argc, argv);
}
