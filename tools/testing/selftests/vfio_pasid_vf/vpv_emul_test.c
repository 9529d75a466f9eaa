// SPDX-License-Identifier: GPL-2.0
/*
 * Emulated PASID and PRI extended capabilities of a VF bound to
 * vfio-pasid-vf, read and written through VFIO exactly as a VMM does.
 *
 * Needs the vpv_pf fixture on the VF's PF (run.sh --suite emulation).  The
 * expected values come from the PF's own config space (sysfs), the IOMMU's
 * ECAP register and the PCIe spec, never from the driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#define FIXTURE_DEBUGFS "/sys/kernel/debug/vpv_pf"

static const char *vf_bdf, *pf_bdf;
static int vf_index;	/* VPV_VF_INDEX: the VF's index in the fixture's write logs */

/* --- config space through VFIO, at any size and offset --- */

static int cfg_rw(struct vfio_pci_device *d, bool write, unsigned int off, void *buf, size_t len)
{
	ssize_t n = write ? pwrite(d->fd, buf, len, d->config_space.offset + off)
			  : pread(d->fd, buf, len, d->config_space.offset + off);

	return n == (ssize_t)len ? 0 : -1;
}

static uint64_t cfg_read(struct vfio_pci_device *d, unsigned int off, size_t len)
{
	uint64_t v = 0;

	if (cfg_rw(d, false, off, &v, len))
		return ~0ull;
	return v;
}

static void cfg_write(struct vfio_pci_device *d, unsigned int off, size_t len, uint64_t v)
{
	cfg_rw(d, true, off, &v, len);
}

/* --- the PF, the IOMMU and the fixture, outside VFIO --- */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walks the extended capability chain through VFIO; returns the offset of @id. */
static unsigned int vfio_find_ext_cap(struct vfio_pci_device *d, unsigned int id)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];

	if (cfg_rw(d, false, 0, cfg, sizeof(cfg)))
		return 0;
	return vpv_ecap_find(cfg, id);
}

/* Max PASID Width the VF's IOMMU supports: Intel VT-d ECAP.PSS + 1. */
static int iommu_pasid_width(const char *bdf)
{
	unsigned long long ecap;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu/intel-iommu/ecap", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%llx", &ecap) != 1)
		ecap = 0;
	fclose(f);
	return ((ecap >> 35) & 0x1f) + 1;
}

static int fixture_write(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FIXTURE_DEBUGFS "/%s", file);
	return vpv_file_write(path, val);
}

/*
 * Clears Response Failure and Unexpected PRG Index in the PF's own Page Request
 * Status (RW1C), as the PF's driver would: a VF sees the next rising edge of a
 * flag as an event.
 */
static int pf_clear_pri_flags(unsigned int pf_pri)
{
	uint16_t bits = PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI;

	return vpv_cfg_write(pf_bdf, pf_pri + PCI_PRI_STATUS, &bits, sizeof(bits));
}


/* Clears the fixture's log of config writes that reached the VF. */
static int fixture_clear_vf_writes(void)
{
	char file[32];

	snprintf(file, sizeof(file), "writes/vf%d", vf_index);
	return fixture_write(file, "clear");
}

/* Number of logged config writes to the VF that touch [start, end). */
static int fixture_vf_writes_in(unsigned int start, unsigned int end)
{
	unsigned int off, size, val;
	char path[128], line[128];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), FIXTURE_DEBUGFS "/writes/vf%d", vf_index);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %u %x", &off, &size, &val) == 3 && off < end &&
		    off + size > start)
			n++;
	fclose(f);
	return n;
}

/* --- the fixture of every test: the VF open through iommufd --- */

FIXTURE(emul) {
	struct iommu *iommu;
	struct vfio_pci_device *dev;
	uint8_t pf_cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pf_pasid, pf_pri;	/* the PF's capabilities */
	unsigned int pasid, pri;	/* the VF's emulated ones, through VFIO */
};

FIXTURE_SETUP(emul)
{
	if (!pf_bdf)
		SKIP(return, "VPV_PF is not set");
	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, self->pf_cfg, sizeof(self->pf_cfg)));
	self->pf_pasid = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PASID);
	self->pf_pri = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PRI);
	if (!self->pf_pasid || !self->pf_pri)
		SKIP(return, "PF %s has no PASID or no PRI capability: load the vpv_pf fixture",
		     pf_bdf);

	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(MODE_IOMMUFD);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	self->pasid = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PASID);
	self->pri = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, self->pasid) TH_LOG("no PASID capability in the VF's chain through VFIO");
	ASSERT_NE(0, self->pri) TH_LOG("no PRI capability in the VF's chain through VFIO");
}

FIXTURE_TEARDOWN(emul)
{
	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	if (self->iommu)
		iommu_cleanup(self->iommu);
}

#define PASID_CAP(s)	((s)->pasid + PCI_PASID_CAP)
#define PASID_CTRL(s)	((s)->pasid + PCI_PASID_CTRL)
#define PRI_CTRL(s)	((s)->pri + PCI_PRI_CTRL)
#define PRI_STATUS(s)	((s)->pri + PCI_PRI_STATUS)
#define PRI_MAX_REQ(s)	((s)->pri + PCI_PRI_MAX_REQ)
#define PRI_ALLOC(s)	((s)->pri + PCI_PRI_ALLOC_REQ)

/* Chain */

TEST_F(emul, chain_lists_pasid_and_pri_after_the_vf_capabilities_and_ends)
{
	unsigned int off = PCI_CFG_SPACE_SIZE, n = 0, seen_pasid = 0, seen_pri = 0;
	uint32_t hdr;

	while (off) {
		ASSERT_LT(n++, 64) TH_LOG("the chain does not end");
		ASSERT_EQ(0, off % 4);
		ASSERT_GE(off, PCI_CFG_SPACE_SIZE);
		hdr = cfg_read(self->dev, off, 4);
		if (PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_PASID)
			seen_pasid++;
		else if (PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_PRI)
			seen_pri++;
		else
			EXPECT_EQ(0, seen_pasid + seen_pri)
				TH_LOG("VF capability %#x at %#x after an emulated one",
				       PCI_EXT_CAP_ID(hdr), off);
		off = PCI_EXT_CAP_NEXT(hdr);
	}
	EXPECT_EQ(1, seen_pasid);
	EXPECT_EQ(1, seen_pri);
}

TEST_F(emul, pasid_and_pri_headers_are_version_1_and_read_only)
{
	uint32_t pasid = cfg_read(self->dev, self->pasid, 4);
	uint32_t pri = cfg_read(self->dev, self->pri, 4);

	EXPECT_EQ(1, PCI_EXT_CAP_VER(pasid));
	EXPECT_EQ(1, PCI_EXT_CAP_VER(pri));
	cfg_write(self->dev, self->pasid, 4, 0);
	cfg_write(self->dev, self->pri, 4, 0);
	EXPECT_EQ(pasid, cfg_read(self->dev, self->pasid, 4));
	EXPECT_EQ(pri, cfg_read(self->dev, self->pri, 4));
}

/* PASID Capability register */

TEST_F(emul, pasid_cap_exec_priv_and_width_come_from_pf_and_iommu)
{
	uint16_t pf_cap = le32(self->pf_cfg + self->pf_pasid + PCI_PASID_CAP) & 0xffff;
	uint16_t pf_ctrl = le32(self->pf_cfg + self->pf_pasid + PCI_PASID_CAP) >> 16;
	int pf_width = (pf_cap >> 8) & 0x1f, iommu_width = iommu_pasid_width(vf_bdf);
	uint16_t want = 0;

	ASSERT_GT(iommu_width, 0) TH_LOG("no intel-iommu ecap in sysfs for %s", vf_bdf);
	/* Supported only if the PF supports it and the host enabled it on the PF. */
	if ((pf_cap & PCI_PASID_CAP_EXEC) && (pf_ctrl & PCI_PASID_CTRL_EXEC))
		want |= PCI_PASID_CAP_EXEC;
	if ((pf_cap & PCI_PASID_CAP_PRIV) && (pf_ctrl & PCI_PASID_CTRL_PRIV))
		want |= PCI_PASID_CAP_PRIV;
	want |= (pf_width < iommu_width ? pf_width : iommu_width) << 8;

	EXPECT_EQ(want, cfg_read(self->dev, PASID_CAP(self), 2))
		TH_LOG("PF cap %#x ctrl %#x, IOMMU width %d", pf_cap, pf_ctrl, iommu_width);
}

TEST_F(emul, pasid_cap_is_read_only)
{
	uint16_t cap = cfg_read(self->dev, PASID_CAP(self), 2);

	cfg_write(self->dev, PASID_CAP(self), 2, 0xffff);
	EXPECT_EQ(cap, cfg_read(self->dev, PASID_CAP(self), 2));
	cfg_write(self->dev, PASID_CAP(self), 2, 0);
	EXPECT_EQ(cap, cfg_read(self->dev, PASID_CAP(self), 2));
}

/* PASID Control register */

TEST_F(emul, pasid_ctrl_pasid_enable_is_rw)
{
	EXPECT_EQ(0, cfg_read(self->dev, PASID_CTRL(self), 2) & PCI_PASID_CTRL_ENABLE);
	cfg_write(self->dev, PASID_CTRL(self), 2, PCI_PASID_CTRL_ENABLE);
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, cfg_read(self->dev, PASID_CTRL(self), 2));
	cfg_write(self->dev, PASID_CTRL(self), 2, 0);
	EXPECT_EQ(0, cfg_read(self->dev, PASID_CTRL(self), 2));
}

TEST_F(emul, pasid_ctrl_exec_and_priv_enable_are_rw_only_when_supported)
{
	uint16_t cap = cfg_read(self->dev, PASID_CAP(self), 2);
	uint16_t want = 0;

	if (cap & PCI_PASID_CAP_EXEC)
		want |= PCI_PASID_CTRL_EXEC;
	if (cap & PCI_PASID_CAP_PRIV)
		want |= PCI_PASID_CTRL_PRIV;
	cfg_write(self->dev, PASID_CTRL(self), 2, PCI_PASID_CTRL_EXEC | PCI_PASID_CTRL_PRIV);
	EXPECT_EQ(want, cfg_read(self->dev, PASID_CTRL(self), 2)) TH_LOG("PASID cap %#x", cap);
}

TEST_F(emul, pasid_ctrl_reserved_bits_are_rsvdp_and_read_0)
{
	cfg_write(self->dev, PASID_CTRL(self), 2, 0xfff8 | PCI_PASID_CTRL_ENABLE);
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, cfg_read(self->dev, PASID_CTRL(self), 2));
}

/* Page Request Control and Status registers */

TEST_F(emul, pri_ctrl_enable_is_rw)
{
	cfg_write(self->dev, PRI_CTRL(self), 2, PCI_PRI_CTRL_ENABLE);
	EXPECT_EQ(PCI_PRI_CTRL_ENABLE, cfg_read(self->dev, PRI_CTRL(self), 2));
	cfg_write(self->dev, PRI_CTRL(self), 2, 0);
	EXPECT_EQ(0, cfg_read(self->dev, PRI_CTRL(self), 2));
}

TEST_F(emul, pri_ctrl_reset_reads_0)
{
	cfg_write(self->dev, PRI_CTRL(self), 2, PCI_PRI_CTRL_RESET);
	EXPECT_EQ(0, cfg_read(self->dev, PRI_CTRL(self), 2) & PCI_PRI_CTRL_RESET);
}

TEST_F(emul, pri_status_stopped_is_1_while_disabled_and_0_while_enabled)
{
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, cfg_read(self->dev, PRI_STATUS(self), 2) & PCI_PRI_STATUS_STOPPED);
	cfg_write(self->dev, PRI_CTRL(self), 2, PCI_PRI_CTRL_ENABLE);
	EXPECT_EQ(0, cfg_read(self->dev, PRI_STATUS(self), 2) & PCI_PRI_STATUS_STOPPED);
	cfg_write(self->dev, PRI_CTRL(self), 2, 0);
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, cfg_read(self->dev, PRI_STATUS(self), 2) & PCI_PRI_STATUS_STOPPED);
}

TEST_F(emul, pri_status_stopped_and_pasid_required_are_read_only)
{
	uint16_t pf_status = le32(self->pf_cfg + self->pf_pri + PCI_PRI_CTRL) >> 16;
	uint16_t want = PCI_PRI_STATUS_STOPPED | (pf_status & PCI_PRI_STATUS_PASID);

	EXPECT_EQ(want, cfg_read(self->dev, PRI_STATUS(self), 2));
	cfg_write(self->dev, PRI_STATUS(self), 2, (uint16_t)~want & ~3);
	cfg_write(self->dev, PRI_STATUS(self), 2, 0);
	EXPECT_EQ(want, cfg_read(self->dev, PRI_STATUS(self), 2));
}

/*
 * A device event on the PF's Page Request Interface (@what: "rf", "uprgi" or
 * both).  The driver samples the PF's flags when the VF's capability is read,
 * so the VF is read once between clearing the PF's flags and the event.
 */
static int pf_pri_event(FIXTURE_DATA(emul) *self, const char *what)
{
	int ret = pf_clear_pri_flags(self->pf_pri);

	if (ret)
		return ret;
	cfg_read(self->dev, PRI_STATUS(self), 2);
	return fixture_write("pri_event", what);
}

static void expect_rw1c(struct __test_metadata *_metadata, FIXTURE_DATA(emul) *self,
			const char *event, uint16_t bit)
{
	ASSERT_EQ(0, cfg_read(self->dev, PRI_STATUS(self), 2) & bit);
	ASSERT_EQ(0, pf_pri_event(self, event)) TH_LOG("fixture pri_event %s", event);
	EXPECT_EQ(bit, cfg_read(self->dev, PRI_STATUS(self), 2) & bit) TH_LOG("event not latched");
	cfg_write(self->dev, PRI_STATUS(self), 2, (uint16_t)~bit & 3);	/* 0 to it: kept */
	EXPECT_EQ(bit, cfg_read(self->dev, PRI_STATUS(self), 2) & bit);
	cfg_write(self->dev, PRI_STATUS(self), 2, bit);			/* 1 to it: cleared */
	EXPECT_EQ(0, cfg_read(self->dev, PRI_STATUS(self), 2) & bit);
	/* The PF's own flag is the PF's: the VF's clear did not reach it. */
	EXPECT_EQ(0, fixture_vf_writes_in(self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF));
}

TEST_F(emul, pri_status_response_failure_is_rw1c)
{
	expect_rw1c(_metadata, self, "rf", PCI_PRI_STATUS_RF);
}

TEST_F(emul, pri_status_unexpected_prg_index_is_rw1c)
{
	expect_rw1c(_metadata, self, "uprgi", PCI_PRI_STATUS_UPRGI);
}

TEST_F(emul, pri_enable_0_to_1_clears_the_status_flags)
{
	ASSERT_EQ(0, pf_pri_event(self, "rf uprgi"));
	ASSERT_EQ(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI,
		  cfg_read(self->dev, PRI_STATUS(self), 2) & 3);
	cfg_write(self->dev, PRI_CTRL(self), 2, PCI_PRI_CTRL_ENABLE);
	EXPECT_EQ(0, cfg_read(self->dev, PRI_STATUS(self), 2) & 3);
}

TEST_F(emul, pri_reset_while_disabled_clears_the_status_flags)
{
	ASSERT_EQ(0, pf_pri_event(self, "rf uprgi"));
	ASSERT_EQ(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI,
		  cfg_read(self->dev, PRI_STATUS(self), 2) & 3);
	cfg_write(self->dev, PRI_CTRL(self), 2, PCI_PRI_CTRL_RESET);
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, cfg_read(self->dev, PRI_STATUS(self), 2) & 0x0103);
}

/* Outstanding Page Request Capacity and Allocation registers */

TEST_F(emul, pri_capacity_is_read_only_and_the_pfs)
{
	uint32_t pf = le32(self->pf_cfg + self->pf_pri + PCI_PRI_MAX_REQ);

	EXPECT_EQ(pf, cfg_read(self->dev, PRI_MAX_REQ(self), 4));
	cfg_write(self->dev, PRI_MAX_REQ(self), 4, pf + 1);
	EXPECT_EQ(pf, cfg_read(self->dev, PRI_MAX_REQ(self), 4));
}

TEST_F(emul, pri_allocation_is_rw)
{
	EXPECT_EQ(0, cfg_read(self->dev, PRI_ALLOC(self), 4));
	cfg_write(self->dev, PRI_ALLOC(self), 4, 0x12345678);
	EXPECT_EQ(0x12345678, cfg_read(self->dev, PRI_ALLOC(self), 4));
}

/* Accesses */

TEST_F(emul, reads_of_every_size_and_offset_agree_byte_for_byte)
{
	unsigned int start = PCI_CFG_SPACE_SIZE, end = self->pri + PCI_EXT_CAP_PRI_SIZEOF;
	static uint8_t ref[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off, size;

	cfg_write(self->dev, PRI_ALLOC(self), 4, 0xa1b2c3d4);
	cfg_write(self->dev, PASID_CTRL(self), 2, PCI_PASID_CTRL_ENABLE);
	for (off = start; off < end; off++)
		ref[off] = cfg_read(self->dev, off, 1);
	for (size = 2; size <= 8; size *= 2)
		for (off = start; off + size <= end; off++) {
			uint64_t v = cfg_read(self->dev, off, size);

			ASSERT_EQ(0, memcmp(&v, ref + off, size)) {
				TH_LOG("%u-byte read at %#x differs from its bytes", size, off);
			}
		}
}

TEST_F(emul, writes_inside_emulated_ranges_never_reach_the_vf)
{
	unsigned int caps[2] = { self->pasid, self->pri };
	unsigned int lens[2] = { PCI_EXT_CAP_PASID_SIZEOF, PCI_EXT_CAP_PRI_SIZEOF };
	unsigned int i, off, size;

	ASSERT_EQ(0, fixture_clear_vf_writes());
	for (i = 0; i < 2; i++)
		for (size = 1; size <= 8; size *= 2)
			for (off = caps[i]; off + size <= caps[i] + lens[i]; off++)
				cfg_write(self->dev, off, size, 0);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, fixture_vf_writes_in(caps[i], caps[i] + lens[i]))
			TH_LOG("a write to the emulated capability at %#x reached the VF", caps[i]);
	}
}

TEST_F(emul, a_write_straddling_emulated_and_real_bytes_splits)
{
	unsigned int end = self->pri + PCI_EXT_CAP_PRI_SIZEOF;

	if (end == self->pasid || end + 4 > PCI_CFG_SPACE_EXP_SIZE)
		SKIP(return, "no real dword right after the PRI capability at %#x", self->pri);
	ASSERT_EQ(0, fixture_clear_vf_writes());
	/* Allocation (emulated) and the dword after PRI (real, in a gap). */
	cfg_write(self->dev, PRI_ALLOC(self), 8, 0x0000000087654321ull);
	EXPECT_EQ(0x87654321, cfg_read(self->dev, PRI_ALLOC(self), 4));
	EXPECT_EQ(0, fixture_vf_writes_in(self->pri, end));
	EXPECT_EQ(1, fixture_vf_writes_in(end, end + 4)) TH_LOG("the real half did not reach the VF");
}

/* Reset */

static void dirty(FIXTURE_DATA(emul) *self)
{
	cfg_write(self->dev, PASID_CTRL(self), 2, PCI_PASID_CTRL_ENABLE);
	cfg_write(self->dev, PRI_CTRL(self), 2, PCI_PRI_CTRL_ENABLE);
	cfg_write(self->dev, PRI_ALLOC(self), 4, 0x55);
}

static void expect_reset_values(struct __test_metadata *_metadata, FIXTURE_DATA(emul) *self)
{
	EXPECT_EQ(0, cfg_read(self->dev, PASID_CTRL(self), 2));
	EXPECT_EQ(0, cfg_read(self->dev, PRI_CTRL(self), 2));
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, cfg_read(self->dev, PRI_STATUS(self), 2) & 0x0103);
	EXPECT_EQ(0, cfg_read(self->dev, PRI_ALLOC(self), 4));
}

TEST_F(emul, vfio_device_reset_restores_reset_values)
{
	dirty(self);
	ASSERT_EQ(0, ioctl(self->dev->fd, VFIO_DEVICE_RESET));
	expect_reset_values(_metadata, self);
}

TEST_F(emul, flr_through_config_space_restores_reset_values)
{
	unsigned int exp = 0, off = PCI_CAPABILITY_LIST, n;

	for (n = 0; n < 48 && (off = cfg_read(self->dev, off, 1) & ~3); n++) {
		if (cfg_read(self->dev, off, 1) == PCI_CAP_ID_EXP) {
			exp = off;
			break;
		}
		off += 1;
	}
	ASSERT_NE(0, exp) TH_LOG("no PCI Express capability");
	dirty(self);
	cfg_write(self->dev, exp + PCI_EXP_DEVCTL, 2,
		  cfg_read(self->dev, exp + PCI_EXP_DEVCTL, 2) | PCI_EXP_DEVCTL_BCR_FLR);
	expect_reset_values(_metadata, self);
}

TEST_F(emul, close_and_reopen_restores_reset_values)
{
	dirty(self);
	vfio_pci_device_cleanup(self->dev);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	expect_reset_values(_metadata, self);
}

/* Placement */

/* Every byte under an emulated capability is 0 in the VF itself. */
TEST_F(emul, emulated_capabilities_cover_no_vf_capability_or_hidden_register)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int caps[2] = { self->pasid, self->pri };
	unsigned int lens[2] = { PCI_EXT_CAP_PASID_SIZEOF, PCI_EXT_CAP_PRI_SIZEOF };
	unsigned int i, off;

	/* The PCI core's view of the VF: what the hardware (here, the fixture) holds. */
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, 0, raw, sizeof(raw)));
	for (i = 0; i < 2; i++)
		for (off = caps[i]; off < caps[i] + lens[i]; off++) {
			ASSERT_EQ(0, raw[off]) {
				TH_LOG("emulated capability at %#x covers VF byte %#x = %#x",
				       caps[i], off, raw[off]);
			}
		}
}

TEST_F(emul, hidden_registers_stay_visible_through_vfio)
{
	unsigned int off, val, n = 0;
	char layout[4096], *line;

	ASSERT_LT(0, vpv_file_read(FIXTURE_DEBUGFS "/layout", layout, sizeof(layout)));
	for (line = strtok(layout, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "vf_hidden %x %x", &off, &val) != 2)
			continue;
		n++;
		EXPECT_EQ(val, cfg_read(self->dev, off, 4)) TH_LOG("hidden register at %#x", off);
	}
	if (!n)
		SKIP(return, "the fixture planted no hidden register in the VFs");
}

static int vf_attr_write(const char *attr, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/%s", vf_bdf, attr);
	return vpv_file_write(path, val);
}

static int vf_placement(char *buf, size_t len)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/placement", vf_bdf);
	return vpv_file_read(path, buf, len);
}

TEST_F(emul, placement_attribute_names_where_each_capability_is)
{
	char placement[512], want[64];

	ASSERT_LT(0, vf_placement(placement, sizeof(placement)));
	snprintf(want, sizeof(want), "PASID at %#05x (", self->pasid);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("placement: %s", placement);
	snprintf(want, sizeof(want), "PRI at %#05x (", self->pri);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("placement: %s", placement);
}

static void reopen(FIXTURE_DATA(emul) *self)
{
	vfio_pci_device_cleanup(self->dev);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	self->pasid = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PASID);
	self->pri = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PRI);
}

TEST_F(emul, administrators_pasid_offset_places_the_capability_there)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off, i;
	char placement[512], val[16];

	/* The highest 8 free bytes that are not the PRI capability. */
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, 0, raw, sizeof(raw)));
	for (off = PCI_CFG_SPACE_EXP_SIZE - 8; off > self->pri + 16; off -= 4) {
		for (i = 0; i < 8 && !raw[off + i]; i++)
			;
		if (i == 8)
			break;
	}
	ASSERT_GT(off, self->pri + 16) TH_LOG("no free room above PRI");

	snprintf(val, sizeof(val), "%#x", off);
	ASSERT_EQ(0, vf_attr_write("pasid_offset", val));
	reopen(self);
	EXPECT_EQ(off, self->pasid);
	ASSERT_LT(0, vf_placement(placement, sizeof(placement)));
	EXPECT_NE(NULL, strstr(placement, "(administrator's offset)")) TH_LOG("%s", placement);
	ASSERT_EQ(0, vf_attr_write("pasid_offset", "auto"));
}

TEST_F(emul, administrators_offset_over_a_vf_capability_is_refused_without_fallback)
{
	char placement[512];
	int kmsg = vpv_kmsg_open();

	ASSERT_GE(kmsg, 0);
	/* Every VF here has an extended capability at 0x100. */
	ASSERT_EQ(0, vf_attr_write("pasid_offset", "0x100"));
	reopen(self);
	EXPECT_EQ(0, self->pasid) TH_LOG("PASID presented at %#x", self->pasid);
	EXPECT_NE(0, self->pri);
	ASSERT_LT(0, vf_placement(placement, sizeof(placement)));
	EXPECT_NE(NULL, strstr(placement, "PASID not presented: administrator's offset 0x100 is unusable"))
		TH_LOG("%s", placement);
	EXPECT_TRUE(vpv_kmsg_find(kmsg, "PASID not presented: administrator's offset 0x100"));
	close(kmsg);
	ASSERT_EQ(0, vf_attr_write("pasid_offset", "auto"));
}

TEST_F(emul, administrators_offset_must_be_auto_or_an_aligned_extended_offset)
{
	const char *bad[] = { "0x1a1", "0x80", "0x1000", "banana", "\n" };
	unsigned int i;
	int kmsg = vpv_kmsg_open();

	ASSERT_GE(kmsg, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, vf_attr_write("pri_offset", bad[i])) TH_LOG("'%s'", bad[i]);
	}
	EXPECT_TRUE(vpv_kmsg_find(kmsg, "pri_offset: want 'auto' or a dword-aligned offset"));
	close(kmsg);
	EXPECT_EQ(0, vf_attr_write("pri_offset", "auto"));
}

/* A VF with no free room: nothing presented, everything else unchanged. */
TEST(vf_without_room_presents_neither_capability_and_says_why)
{
	const char *full = vpv_env_bdf("VPV_FULL_VF");
	struct vfio_pci_device *dev;
	struct iommu *iommu;
	char path[160], placement[512];
	int kmsg;

	if (!full)
		SKIP(return, "VPV_FULL_VF (a VF whose extended config space is full) is not set");
	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);
	ASSERT_EQ(0, vpv_bind(full, VPV_DRIVER));
	iommu = iommu_init(MODE_IOMMUFD);
	dev = vfio_pci_device_init(full, iommu);
	EXPECT_EQ(0, vfio_find_ext_cap(dev, PCI_EXT_CAP_ID_PASID));
	EXPECT_EQ(0, vfio_find_ext_cap(dev, PCI_EXT_CAP_ID_PRI));
	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/placement", full);
	ASSERT_LT(0, vpv_file_read(path, placement, sizeof(placement)));
	EXPECT_NE(NULL, strstr(placement, "PASID not presented: no free space")) TH_LOG("%s", placement);
	EXPECT_NE(NULL, strstr(placement, "PRI not presented: no free space")) TH_LOG("%s", placement);
	EXPECT_TRUE(vpv_kmsg_find(kmsg, "PASID not presented: no free space"));
	close(kmsg);
	ASSERT_EQ(0, vpv_unbind(full));
}

/* Everything but the emulated bytes is what vfio-pci shows for the same VF. */
TEST(bytes_outside_the_emulated_capabilities_match_vfio_pci)
{
	static uint8_t vfio[PCI_CFG_SPACE_EXP_SIZE], vpv[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pasid, pri, link = 0, off, diffs = 0, first = 0;

	ASSERT_EQ(0, vpv_bind(vf_bdf, VFIO_PCI_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, vfio, sizeof(vfio)));
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, vpv, sizeof(vpv)));
	pasid = vpv_ecap_find(vpv, PCI_EXT_CAP_ID_PASID);
	pri = vpv_ecap_find(vpv, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, pasid);
	ASSERT_NE(0, pri);
	/* The capability whose Next was patched: the one vfio-pci's chain ends with. */
	for (off = PCI_CFG_SPACE_SIZE; off; off = PCI_EXT_CAP_NEXT(le32(vfio + off))) {
		link = off;
		if (!PCI_EXT_CAP_NEXT(le32(vfio + off)))
			break;
	}
	for (off = 0; off < PCI_CFG_SPACE_EXP_SIZE; off++) {
		if ((off >= pasid && off < pasid + PCI_EXT_CAP_PASID_SIZEOF) ||
		    (off >= pri && off < pri + PCI_EXT_CAP_PRI_SIZEOF))
			continue;
		if (off == link + 3)	/* Next[11:4] */
			continue;
		if (off == link + 2 ? (vfio[off] & 0x0f) == (vpv[off] & 0x0f) : vfio[off] == vpv[off])
			continue;
		if (!diffs++)
			first = off;
	}
	EXPECT_EQ(0, diffs) TH_LOG("%u bytes differ, first at %#x: vfio-pci %#x, vfio-pasid-vf %#x",
				   diffs, first, vfio[first], vpv[first]);
}

int main(int argc, char *argv[])
{
	const char *idx = getenv("VPV_VF_INDEX");

	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	pf_bdf = vpv_env_bdf("VPV_PF");
	vf_index = idx ? atoi(idx) : 0;
	return test_harness_run(argc, argv);
}
