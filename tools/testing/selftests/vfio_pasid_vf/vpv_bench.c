// SPDX-License-Identifier: GPL-2.0
/*
 * vpv_bench: time config-space accesses through a VFIO device fd, the way a
 * VMM makes them.  Not a test: scripts/bench.sh runs it on the same VF under
 * vfio-pci and under vfio-pasid-vf in one VM run and reports the ratios.
 *
 *   vpv_bench <BDF> <ITERATIONS> <EMULATED-OFFSET>
 *
 * EMULATED-OFFSET is where vfio-pasid-vf presents its PASID capability on
 * this VF (the same offset is timed under vfio-pci, where it is a gap).
 * Prints one line per case: "<case> <ns per access>", the median of 5 runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvfio.h>

#define RUNS 5

struct bench_case {
	const char *name;
	unsigned int off;	/* offset from EMULATED-OFFSET if 'emulated', else absolute */
	bool emulated;
	size_t len;
	bool write;
};

static const struct bench_case cases[] = {
	{ "read4_real_vendor_id",        0x000, false, 4, false },
	{ "read4_real_ext_cap_0x100",    0x100, false, 4, false },
	{ "read4_emulated_pasid_header", 0x000, true,  4, false },
	{ "read2_emulated_pasid_ctrl",   0x006, true,  2, false },
	{ "write2_emulated_pasid_ctrl",  0x006, true,  2, true },
	{ "read8_emulated_pasid",        0x000, true,  8, false },
	{ "read4096_whole_config",       0x000, false, 4096, false },
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char *argv[])
{
	static uint8_t buf[4096];
	struct vfio_pci_device *dev;
	unsigned long iters, emu_off;
	struct iommu *iommu;
	size_t c;

	if (argc != 4) {
		fprintf(stderr, "Usage: %s <BDF> <ITERATIONS> <EMULATED-OFFSET>\n", argv[0]);
		return 2;
	}
	iters = strtoul(argv[2], NULL, 0);
	emu_off = strtoul(argv[3], NULL, 0);

	iommu = iommu_init(MODE_IOMMUFD);
	dev = vfio_pci_device_init(argv[1], iommu);

	/* Warm up: fault in the process and let TCG translate both drivers' paths. */
	for (c = 0; c < 20000; c++)
		if (pread(dev->fd, buf, 4, dev->config_space.offset) != 4)
			return 1;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct bench_case *bc = &cases[c];
		off_t pos = dev->config_space.offset + bc->off + (bc->emulated ? emu_off : 0);
		/* The whole config space is ~1000 accesses at once: fewer rounds. */
		unsigned long n = bc->len > 8 ? iters / 256 + 1 : iters;
		uint64_t ns[RUNS];
		unsigned long i;
		int r;

		for (r = 0; r < RUNS; r++) {
			uint64_t t0;

			memset(buf, 0, sizeof(buf));
			t0 = now_ns();

			for (i = 0; i < n; i++) {
				ssize_t n = bc->write ? pwrite(dev->fd, buf, bc->len, pos)
						      : pread(dev->fd, buf, bc->len, pos);

				if (n != (ssize_t)bc->len) {
					fprintf(stderr, "%s: access failed\n", bc->name);
					return 1;
				}
			}
			ns[r] = (now_ns() - t0) / n;
		}
		qsort(ns, RUNS, sizeof(ns[0]), cmp_u64);
		printf("%s %llu\n", bc->name, (unsigned long long)ns[RUNS / 2]);
	}

	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	return 0;
}
