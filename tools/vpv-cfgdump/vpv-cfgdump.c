// SPDX-License-Identifier: GPL-2.0
/*
 * vpv-cfgdump: print a device's PCI Express extended capability chain as
 * VFIO shows it to userspace (what a VMM such as QEMU reads), through the
 * iommufd cdev.  The device must be bound to a VFIO driver.
 *
 *   vpv-cfgdump <BDF>
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/vpv.h"

static const char *ext_cap_name(unsigned int id)
{
	switch (id) {
	case 0x0001: return "Advanced Error Reporting";
	case 0x0003: return "Device Serial Number";
	case 0x000d: return "Access Control Services";
	case 0x000e: return "Alternative Routing-ID Interpretation";
	case 0x000f: return "Address Translation Services";
	case 0x0010: return "Single Root I/O Virtualization";
	case 0x0013: return "Page Request Interface";
	case 0x0017: return "TPH Requester";
	case 0x0018: return "Latency Tolerance Reporting";
	case 0x001b: return "Process Address Space ID";
	case 0x001e: return "L1 PM Substates";
	default: return "?";
	}
}

static uint32_t dword(const uint8_t *cfg, unsigned int off)
{
	return cfg[off] | cfg[off + 1] << 8 | cfg[off + 2] << 16 | (uint32_t)cfg[off + 3] << 24;
}

int main(int argc, char *argv[])
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off = 0x100, steps = 0;
	int ret;

	if (argc != 2 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "Usage: %s <BDF>\n"
			"Prints the extended capability chain of a VFIO-bound device as VFIO shows it.\n",
			argv[0]);
		return argc == 2 ? 0 : 2;
	}
	ret = vpv_vfio_config_snapshot(argv[1], cfg, sizeof(cfg));
	if (ret) {
		fprintf(stderr, "%s: cannot read config space through VFIO: %s\n", argv[1],
			strerror(-ret));
		return 1;
	}
	printf("%s: vendor %04x device %04x, extended capabilities through VFIO:\n", argv[1],
	       cfg[0] | cfg[1] << 8, cfg[2] | cfg[3] << 8);
	while (off >= 0x100 && off < PCI_CFG_SPACE_EXP_SIZE && steps++ < 1024) {
		uint32_t hdr = dword(cfg, off);

		if (!hdr)
			break;
		printf("  [%03x] %04x v%u %-40s", off, hdr & 0xffff, (hdr >> 16) & 0xf,
		       ext_cap_name(hdr & 0xffff));
		if ((hdr & 0xffff) == 0x001b)
			printf(" cap %04x ctrl %04x", dword(cfg, off + 4) & 0xffff,
			       dword(cfg, off + 4) >> 16);
		if ((hdr & 0xffff) == 0x0013)
			printf(" ctrl %04x status %04x capacity %u alloc %u",
			       dword(cfg, off + 4) & 0xffff, dword(cfg, off + 4) >> 16,
			       dword(cfg, off + 8), dword(cfg, off + 12));
		printf("\n");
		off = hdr >> 20;
		if (!off)
			break;
	}
	return 0;
}
