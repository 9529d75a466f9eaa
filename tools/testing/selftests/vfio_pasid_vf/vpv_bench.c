// SPDX-License-Identifier: GPL-2.0
/*
 * vpv_bench: time what a VMM does to a VF through VFIO, the same way whatever
 * VFIO driver the VF is bound to.  Not a test: scripts/bench.sh runs it on the
 * same VFs under vfio-pasid-vf and under vfio-pci in one VM run and turns the
 * figures into ratios.
 *
 *   vpv_bench config ITERATIONS VF [CASE...]
 *	config-space accesses through VF's device fd, one thread;
 *   vpv_bench threads ITERATIONS VF VF2 [CASE...]
 *	the same with two threads: both on VF's device fd, then one on VF's and
 *	one on VF2's (a VMM's vCPU threads; what they share is locks);
 *   vpv_bench open VF...
 *	the first VFIO open of each VF, bound and never opened since: open() of
 *	its iommufd cdev and VFIO_DEVICE_BIND_IOMMUFD (where the vfio core calls
 *	the driver's open_device), then its close.
 *
 * Each prints lines "<case> <value>": for config and threads, ns per access
 * in the fastest of RUNS runs of ITERATIONS accesses (per thread; the whole
 * config space, ~1000 accesses at once, ITERATIONS / 256 + 1 times): what else
 * runs on a shared machine only ever slows a run down; for open, ns per VF.
 * CASE (shell patterns, fnmatch()) picks cases by name (threads: by the name
 * after "t2_1vf_" or "t2_2vf_"); all by default.  The cases at the emulated
 * PASID and PRI capabilities are timed only on a VF bound to vfio-pasid-vf
 * (where they are comes from its placement file, once open); under vfio-pci
 * those offsets are unassigned config space, which vfio-pci reads from the
 * device: not the comparison scripts/bench.sh makes (see its table).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <libvfio.h>

#include "lib/vpv.h"

#define RUNS 5

/* What a case's offset is relative to. */
enum base {
	CFG,	/* config space */
	EXP,	/* the PCI Express Capability (PCI_CAP_ID_EXP) */
	PASID,	/* the emulated PASID capability (vfio-pasid-vf only) */
	PRI,	/* the emulated PRI capability (vfio-pasid-vf only) */
};

struct bench_case {
	const char *name;
	enum base base;
	unsigned int off;
	size_t len;
	bool write;
};

/*
 * The registers, and why (drivers/vfio/pci/vfio_pci_config.c):
 *
 * - PCI_VENDOR_ID, the dword at 0: init_pci_cap_basic_perm() makes Vendor ID
 *   and Device ID all virtual (a VF reads 0xffff there), so
 *   vfio_default_config_read() copies them from vfio-pci's vconfig and never
 *   reads the device.  vfio-pci's cheapest read, the floor for a register
 *   that vfio-pasid-vf serves from its own model.
 * - PCI_EXP_DEVCAP in the PCI Express Capability: init_pci_cap_exp_perm()
 *   virtualizes nothing of it (only the Next pointer and some DEVCTL bits), so
 *   a read of any size takes the same path as the floor plus
 *   pci_user_read_config_*() on the device (pci_lock, an ECAM access): a
 *   hardware-backed read.
 * - PCI_INTERRUPT_LINE, the dword at 0x3c: Interrupt Line is virtual and
 *   writable, Interrupt Pin virtual and read-only, Min_Gnt and Max_Lat
 *   neither: vfio_default_config_write() (through vfio_basic_config_write(),
 *   which does nothing more for this offset) updates vconfig and has no
 *   writable non-virtual bit to send to the device, at sizes 1, 2 and 4.  A
 *   write that vfio-pci emulates without touching hardware, and without side
 *   effects (a BAR write would make the next BAR read re-size the BAR).
 * - PCI_CACHE_LINE_SIZE: not virtual, writable: vfio_default_config_write()
 *   reads and writes the device's byte.  A hardware-backed write.
 *
 * Every write writes the value read before the first, so the register keeps
 * it (an emulated PASID or PRI Control write of 0 to a register that reads 0).
 */
static const struct bench_case cases[] = {
	{ "read1_vendor_id",		CFG,	PCI_VENDOR_ID,		1, false },
	{ "read2_vendor_id",		CFG,	PCI_VENDOR_ID,		2, false },
	{ "read4_vendor_id",		CFG,	PCI_VENDOR_ID,		4, false },
	{ "read1_exp_devcap",		EXP,	PCI_EXP_DEVCAP,		1, false },
	{ "read2_exp_devcap",		EXP,	PCI_EXP_DEVCAP,		2, false },
	{ "read4_exp_devcap",		EXP,	PCI_EXP_DEVCAP,		4, false },
	{ "read4096_whole_config",	CFG,	0,			4096, false },
	{ "write1_intr_line",		CFG,	PCI_INTERRUPT_LINE,	1, true },
	{ "write2_intr_line",		CFG,	PCI_INTERRUPT_LINE,	2, true },
	{ "write4_intr_line",		CFG,	PCI_INTERRUPT_LINE,	4, true },
	{ "write1_cache_line_size",	CFG,	PCI_CACHE_LINE_SIZE,	1, true },
	{ "read1_pasid_ctrl",		PASID,	PCI_PASID_CTRL,		1, false },
	{ "read2_pasid_ctrl",		PASID,	PCI_PASID_CTRL,		2, false },
	{ "read4_pasid_cap_ctrl",	PASID,	PCI_PASID_CAP,		4, false },
	{ "read1_pri_ctrl",		PRI,	PCI_PRI_CTRL,		1, false },
	{ "read2_pri_ctrl",		PRI,	PCI_PRI_CTRL,		2, false },
	{ "read4_pri_ctrl_status",	PRI,	PCI_PRI_CTRL,		4, false },
	{ "read4_pri_alloc_req",	PRI,	PCI_PRI_ALLOC_REQ,	4, false },
	{ "write2_pasid_ctrl",		PASID,	PCI_PASID_CTRL,		2, true },
	{ "write2_pri_ctrl",		PRI,	PCI_PRI_CTRL,		2, true },
	{ "write4_pri_alloc_req",	PRI,	PCI_PRI_ALLOC_REQ,	4, true },
};

/* The cases that the threads mode times, by name (each with 2 threads). */
static const char *const thread_cases[] = {
	"read4_vendor_id", "write2_intr_line", "read4_pasid_cap_ctrl", "write2_pasid_ctrl",
};

/* An open VF and where its capabilities are; pasid and pri are 0 under vfio-pci. */
struct vf {
	struct vfio_pci_device *dev;
	unsigned int exp, pasid, pri;
};

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "vpv_bench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The fastest of RUNS runs. */
static uint64_t fastest(uint64_t *v)
{
	qsort(v, RUNS, sizeof(v[0]), cmp_u64);
	return v[0];
}

/* Whether case @name is one of @pat[@n] (shell patterns); all are without any. */
static bool picked(const char *name, char *pat[], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!fnmatch(pat[i], name, 0))
			return true;
	return !n;
}

/* The offset of the standard capability @id in the VFIO view of @dev; 0 if absent. */
static unsigned int std_cap(struct vfio_pci_device *dev, uint8_t id)
{
	uint8_t pos, hdr[2];
	int hops;

	if (vpv_vfio_cfg_rw(dev, false, PCI_CAPABILITY_LIST, &pos, 1))
		return 0;
	for (hops = 0; pos >= PCI_STD_HEADER_SIZEOF && hops < 48; hops++) {
		pos &= ~3;
		if (vpv_vfio_cfg_rw(dev, false, pos, hdr, sizeof(hdr)))
			return 0;
		if (hdr[PCI_CAP_LIST_ID] == id)
			return pos;
		pos = hdr[PCI_CAP_LIST_NEXT];
	}
	return 0;
}

static void vf_open(struct vf *vf, const char *bdf, struct iommu *iommu)
{
	char driver[64], placement[512];

	vf->dev = vfio_pci_device_init(bdf, iommu);
	vf->exp = std_cap(vf->dev, PCI_CAP_ID_EXP);
	if (!vf->exp)
		die("%s: no PCI Express Capability", bdf);
	vf->pasid = vf->pri = 0;
	if (vpv_driver_of(bdf, driver, sizeof(driver)))
		die("%s: no driver link", bdf);
	if (strcmp(driver, VPV_DRIVER))
		return;
	/* Placed by the open above. */
	if (vpv_placement(bdf, placement, sizeof(placement)) < 0)
		die("%s: no placement file", bdf);
	vf->pasid = vpv_placed_at(placement, "PASID");
	vf->pri = vpv_placed_at(placement, "PRI");
	if (!vf->pasid || !vf->pri)
		die("PASID and PRI are not both placed: %s", placement);
}

/* Whether @vf has what @bc accesses (the emulated capabilities only under vfio-pasid-vf). */
static bool vf_has(const struct vf *vf, const struct bench_case *bc)
{
	return (bc->base != PASID || vf->pasid) && (bc->base != PRI || vf->pri);
}

/* The device file position of @bc on @vf. */
static off_t vf_pos(const struct vf *vf, const struct bench_case *bc)
{
	unsigned int base[] = { [CFG] = 0, [EXP] = vf->exp, [PASID] = vf->pasid, [PRI] = vf->pri };

	return vf->dev->config_space.offset + base[bc->base] + bc->off;
}

/* One thread's part of a run: @n accesses of @bc at @pos of @fd. */
struct worker {
	const struct bench_case *bc;
	int fd;
	off_t pos;
	unsigned long n;
	pthread_barrier_t *start;
	uint8_t val[8];	/* what a write writes: the register's value before */
	uint8_t buf[PCI_CFG_SPACE_EXP_SIZE];	/* what a read reads */
	int err;
};

/* Reads what a write case writes; 0 or -errno. */
static int worker_prepare(struct worker *w)
{
	if (!w->bc->write)
		return 0;
	return pread(w->fd, w->val, w->bc->len, w->pos) == (ssize_t)w->bc->len ? 0 : -EIO;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned long i;

	if (w->start)
		pthread_barrier_wait(w->start);
	for (i = 0; i < w->n; i++) {
		ssize_t n = w->bc->write ? pwrite(w->fd, w->val, w->bc->len, w->pos)
					 : pread(w->fd, w->buf, w->bc->len, w->pos);

		if (n != (ssize_t)w->bc->len) {
			w->err = n < 0 ? errno : EIO;
			break;
		}
	}
	return NULL;
}

static unsigned long case_iters(const struct bench_case *bc, unsigned long iters)
{
	return bc->len > 8 ? iters / 256 + 1 : iters;
}

static void bench_config(const char *bdf, unsigned long iters, char *pat[], int npat)
{
	struct iommu *iommu = iommu_init(MODE_IOMMUFD);
	uint8_t buf[4];
	struct vf vf;
	unsigned long i;
	size_t c;

	vf_open(&vf, bdf, iommu);
	/* Warm up: fault in the process and let TCG translate the paths. */
	for (i = 0; i < iters; i++)
		if (vpv_vfio_cfg_rw(vf.dev, false, PCI_VENDOR_ID, buf, 4))
			die("%s: warm-up read failed", bdf);

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct worker w = {
			.bc = &cases[c],
			.fd = vf.dev->fd,
			.pos = vf_pos(&vf, &cases[c]),
			.n = case_iters(&cases[c], iters),
		};
		uint64_t ns[RUNS];
		int r;

		if (!vf_has(&vf, w.bc) || !picked(w.bc->name, pat, npat))
			continue;
		if (worker_prepare(&w))
			die("%s: the read before the writes failed", w.bc->name);
		for (r = 0; r < RUNS; r++) {
			uint64_t t0 = now_ns();

			worker_run(&w);
			if (w.err)
				die("%s: access failed", w.bc->name);
			ns[r] = (now_ns() - t0) / w.n;
		}
		printf("%s %llu\n", w.bc->name, (unsigned long long)fastest(ns));
	}
	vfio_pci_device_cleanup(vf.dev);
	iommu_cleanup(iommu);
}

/*
 * Two threads, both on @a ("t2_1vf_" cases) or one on @a and one on @b
 * ("t2_2vf_"): ns per access is the wall time of a run over the accesses of
 * both threads, the inverse of their throughput.
 */
static void bench_threads(const char *bdf_a, const char *bdf_b, unsigned long iters,
			  char *pat[], int npat)
{
	struct iommu *iommu = iommu_init(MODE_IOMMUFD);
	struct vf vf[2];
	int two;

	vf_open(&vf[0], bdf_a, iommu);
	vf_open(&vf[1], bdf_b, iommu);
	for (two = 0; two < 2; two++) {
		size_t t, c;

		for (t = 0; t < sizeof(thread_cases) / sizeof(thread_cases[0]); t++) {
			const struct bench_case *bc = NULL;
			struct worker w[2];
			pthread_barrier_t start;
			pthread_t tid[2];
			uint64_t ns[RUNS];
			int r, i;

			for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
				if (!strcmp(cases[c].name, thread_cases[t]))
					bc = &cases[c];
			if (!bc)
				die("no case %s", thread_cases[t]);
			if (!vf_has(&vf[0], bc) || !vf_has(&vf[1], bc) ||
			    !picked(bc->name, pat, npat))
				continue;
			for (i = 0; i < 2; i++) {
				const struct vf *on = &vf[two ? i : 0];

				w[i] = (struct worker){
					.bc = bc,
					.fd = on->dev->fd,
					.pos = vf_pos(on, bc),
					.n = case_iters(bc, iters),
					.start = &start,
				};
				if (worker_prepare(&w[i]))
					die("%s: the read before the writes failed", bc->name);
			}
			for (r = 0; r < RUNS; r++) {
				uint64_t t0;

				pthread_barrier_init(&start, NULL, 3);
				for (i = 0; i < 2; i++)
					if (pthread_create(&tid[i], NULL, worker_run, &w[i]))
						die("%s: pthread_create failed", bc->name);
				pthread_barrier_wait(&start);
				t0 = now_ns();
				for (i = 0; i < 2; i++)
					pthread_join(tid[i], NULL);
				ns[r] = (now_ns() - t0) / (2 * w[0].n);
				pthread_barrier_destroy(&start);
				if (w[0].err || w[1].err)
					die("%s: access failed", bc->name);
			}
			printf("t2_%dvf_%s %llu\n", two + 1, bc->name,
			       (unsigned long long)fastest(ns));
		}
	}
	vfio_pci_device_cleanup(vf[1].dev);
	vfio_pci_device_cleanup(vf[0].dev);
	iommu_cleanup(iommu);
}

/* The first open of each VF in @bdf[@n], then its close: ns per VF of each. */
static void bench_open(char *bdf[], int n)
{
	struct iommu *iommu = iommu_init(MODE_IOMMUFD);
	uint64_t open_ns = 0, close_ns = 0;
	int i;

	for (i = 0; i < n; i++) {
		const char *path = vfio_pci_get_cdev_path(bdf[i]);
		uint64_t t0 = now_ns(), t1;
		int fd = open(path, O_RDWR), ret;

		if (fd < 0)
			die("%s: cannot open the VFIO cdev", bdf[i]);
		ret = __vfio_device_bind_iommufd(fd, iommu->iommufd, NULL);
		t1 = now_ns();
		if (ret)
			die("%s: VFIO_DEVICE_BIND_IOMMUFD failed", bdf[i]);
		close(fd);
		close_ns += now_ns() - t1;
		open_ns += t1 - t0;
		free((void *)path);
	}
	printf("open_first %llu\n", (unsigned long long)(open_ns / n));
	printf("close %llu\n", (unsigned long long)(close_ns / n));
	iommu_cleanup(iommu);
}

static void usage(const char *prog)
{
	fprintf(stderr, "Usage: %s config ITERATIONS VF [CASE...]\n"
		"       %s threads ITERATIONS VF VF2 [CASE...]\n"
		"       %s open VF...\n", prog, prog, prog);
	exit(2);
}

int main(int argc, char *argv[])
{
	if (argc >= 3 && strcmp(argv[1], "open") && strtoul(argv[2], NULL, 0) == 0)
		usage(argv[0]);
	if (argc >= 3 && !strcmp(argv[1], "open"))
		bench_open(argv + 2, argc - 2);
	else if (argc >= 4 && !strcmp(argv[1], "config"))
		bench_config(argv[3], strtoul(argv[2], NULL, 0), argv + 4, argc - 4);
	else if (argc >= 5 && !strcmp(argv[1], "threads"))
		bench_threads(argv[3], argv[4], strtoul(argv[2], NULL, 0), argv + 5, argc - 5);
	else
		usage(argv[0]);
	return 0;
}
