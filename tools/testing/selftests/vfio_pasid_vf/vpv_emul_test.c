// SPDX-License-Identifier: GPL-2.0
/*
 * Emulated PASID and PRI extended capabilities of a VF bound to
 * vfio-pasid-vf, read and written through VFIO exactly as a VMM does.
 *
 * Needs the vpv_pf fixture on the VF's PF, as run.sh --suite emulation loads
 * it: PRI enabled on the PF, VF capabilities that vfio-pci hides, and hidden
 * registers, one of them with reset value 0.  The expected values
 * come from the PF's own config space (sysfs), the IOMMU's ECAP register, the
 * fixture's debugfs and the PCIe spec, never from the driver.  Every write a
 * test makes (config space, sysfs, debugfs) has its result checked.
 *
 *   vpv_emul_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 *
 * The VF's PF, its index among the PF's VFs and the fixture's full VF come
 * from sysfs.  Every test runs once per IOMMU mode of libvfio, opening the VF
 * through that mode's path (legacy group and container, or iommufd cdev).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

static const char *vf_bdf;
static char pf_bdf[32];	/* the VF's PF (physfn) */
static int vf_index;	/* the VF's index among the PF's VFs: its fixture write log and faults */

#define PRI_EVENT_BITS	(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI)

/* --- config space through VFIO, at any size and offset --- */

static uint64_t cfg_read(struct vfio_pci_device *d, unsigned int off, size_t len)
{
	uint64_t v = 0;

	if (pread(d->fd, &v, len, d->config_space.offset + off) != (ssize_t)len)
		return ~0ull;
	return v;
}

/* What pwrite() returned: @len if the write went through. */
static ssize_t cfg_write(struct vfio_pci_device *d, unsigned int off, size_t len, uint64_t v)
{
	return pwrite(d->fd, &v, len, d->config_space.offset + off);
}

/*
 * A config write through VFIO that must transfer its @len bytes.  @off is
 * written as the register's name (PRI(self, PCI_PRI_CTRL)), which the
 * message repeats.
 */
#define CFG_WRITE(dev, off, len, val) do {						\
	unsigned int __off = (off);							\
	size_t __len = (len);								\
	uint64_t __val = (val);								\
											\
	ASSERT_EQ((ssize_t)__len, cfg_write(dev, __off, __len, __val))			\
		TH_LOG("%zu-byte write of %#llx to %s (%#x) through VFIO: %s",		\
		       __len, (unsigned long long)__val, #off, __off, strerror(errno));	\
} while (0)

/* Registers of the emulated capabilities, by their linux/pci_regs.h names. */
#define PASID(s, reg)	((s)->pasid + (reg))
#define PRI(s, reg)	((s)->pri + (reg))

/* --- the PF, the IOMMU and the fixture, outside VFIO --- */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walks the extended capability chain through VFIO; returns the offset of @id. */
static unsigned int vfio_find_ext_cap(struct vfio_pci_device *d, unsigned int id)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];

	if (pread(d->fd, cfg, sizeof(cfg), d->config_space.offset) != sizeof(cfg))
		return 0;
	return vpv_ecap_find(cfg, id);
}

static int fixture_write(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), VPV_FIXTURE_DEBUGFS "/%s", file);
	return vpv_file_write(path, val);
}

/* The VF's write log in the fixture: "vfN". */
static const char *vf_log(void)
{
	static char name[16];

	snprintf(name, sizeof(name), "vf%d", vf_index);
	return name;
}

/* The fixture's layout file, NUL-terminated. */
static int fixture_layout(char *buf, size_t len)
{
	return vpv_file_read(VPV_FIXTURE_DEBUGFS "/layout", buf, len);
}

/*
 * The highest VF hidden register in @layout whose reset value is 0 (run.sh
 * plants one): a register that reads 0 after an FLR, whatever it held.  0 if
 * there is none.
 */
static unsigned int layout_zero_hidden(const char *layout)
{
	unsigned int o, v, off = 0;
	const char *line;

	for (line = layout; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (sscanf(line, "vf_hidden %x %x", &o, &v) == 2 && !v && o > off)
			off = o;
	return off;
}

/* The PF's Page Request Status register, through sysfs. */
static int pf_pri_status(unsigned int pf_pri, uint16_t *status)
{
	return vpv_cfg_read(pf_bdf, pf_pri + PCI_PRI_STATUS, status, sizeof(*status));
}

/* Clears Response Failure and Unexpected PRG Index in the PF's Page Request Status (RW1C). */
static int pf_clear_pri_flags(unsigned int pf_pri)
{
	uint16_t bits = PRI_EVENT_BITS;

	return vpv_cfg_write(pf_bdf, pf_pri + PCI_PRI_STATUS, &bits, sizeof(bits));
}

/* The VF's vendor:device, "8086:10ca", the key of a vendor:device administrator entry. */
static int vf_vendor_device(char *buf, size_t len)
{
	unsigned int vendor, device;
	char path[128], val[32];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", vf_bdf);
	if (vpv_file_read(path, val, sizeof(val)) <= 0 || sscanf(val, "%x", &vendor) != 1)
		return -EIO;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", vf_bdf);
	if (vpv_file_read(path, val, sizeof(val)) <= 0 || sscanf(val, "%x", &device) != 1)
		return -EIO;
	snprintf(buf, len, "%04x:%04x", vendor, device);
	return 0;
}

/* Whether @text has the line @line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* Whether @text has a line that starts with "@key,". */
static bool has_entry_for(const char *text, const char *key)
{
	size_t n = strlen(key);
	const char *p;

	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, n) && p[n] == ',')
			return true;
	return false;
}

/* A range of config space, [start, end). */
struct range {
	unsigned int start, end;
};

static bool overlaps(unsigned int start, unsigned int end, const struct range *r)
{
	return start < r->end && end > r->start;
}

/*
 * The highest dword-aligned offset in extended config space at which @len
 * bytes of @raw read 0, end at or below @top and overlap none of @avoid[@n];
 * 0 if there is none.  What a top-down search for free room finds.
 */
static unsigned int highest_free(const uint8_t *raw, unsigned int len, unsigned int top,
				 const struct range *avoid, int n)
{
	unsigned int off, i;
	int a;

	for (off = (top - len) & ~3u; off >= PCI_CFG_SPACE_SIZE; off -= 4) {
		for (i = 0; i < len && !raw[off + i]; i++)
			;
		for (a = 0; i == len && a < n; a++)
			if (overlaps(off, off + len, &avoid[a]))
				i = 0;
		if (i == len)
			return off;
	}
	return 0;
}

/* --- the fixture of most tests: the VF open in an IOMMU mode --- */

FIXTURE(emul) {
	struct iommu *iommu;
	struct vfio_pci_device *dev;
	uint8_t pf_cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pf_pasid, pf_pri;	/* the PF's capabilities */
	unsigned int pasid, pri;	/* the VF's emulated ones, through VFIO */
	char undo_fault[32];		/* a fault hook to run at teardown, if the test did not */
	char admin_keys[2][32];		/* administrator entries to delete at teardown */
};

FIXTURE_VARIANT(emul) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(emul);

static void open_vf(FIXTURE_DATA(emul) *self)
{
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	self->pasid = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PASID);
	self->pri = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PRI);
}

static void close_vf(FIXTURE_DATA(emul) *self)
{
	vfio_pci_device_cleanup(self->dev);
	self->dev = NULL;
}

static void reopen(FIXTURE_DATA(emul) *self)
{
	close_vf(self);
	open_vf(self);
}

FIXTURE_SETUP(emul)
{
	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, self->pf_cfg, sizeof(self->pf_cfg)));
	self->pf_pasid = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PASID);
	self->pf_pri = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PRI);
	if (!self->pf_pasid || !self->pf_pri)
		SKIP(return, "PF %s has no PASID or no PRI capability: load the vpv_pf fixture",
		     pf_bdf);

	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(variant->iommu_mode);
	open_vf(self);
	ASSERT_NE(0, self->pasid) TH_LOG("no PASID capability in the VF's chain through VFIO");
	ASSERT_NE(0, self->pri) TH_LOG("no PRI capability in the VF's chain through VFIO");
}

FIXTURE_TEARDOWN(emul)
{
	unsigned int i;

	/* First: closing a VF that is offline would wait for its reset to time out. */
	if (self->undo_fault[0])
		EXPECT_EQ(0, vpv_fixture_fault(self->undo_fault))
			TH_LOG("fixture fault %s (undoing the test's)", self->undo_fault);
	for (i = 0; i < 2; i++)
		if (self->admin_keys[i][0])
			EXPECT_EQ(0, vpv_file_write(VPV_OFFSETS, self->admin_keys[i]))
				TH_LOG("deleting the administrator entry %s", self->admin_keys[i]);
	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	if (self->iommu)
		iommu_cleanup(self->iommu);
}

/* Runs fault hook @cmd; teardown runs @undo (NULL: nothing) unless a later fault() replaces it. */
static int fault(FIXTURE_DATA(emul) *self, const char *cmd, const char *undo)
{
	int ret = vpv_fixture_fault(cmd);

	if (!ret)
		snprintf(self->undo_fault, sizeof(self->undo_fault), "%s", undo ?: "");
	return ret;
}

/* Writes the administrator entry "@key,@fmt..."; teardown deletes it unless admin_del() does. */
static __attribute__((format(printf, 3, 4)))
int admin_set(FIXTURE_DATA(emul) *self, const char *key, const char *fmt, ...)
{
	char entry[96];
	va_list ap;
	int n, ret, i, free_slot = -1;

	n = snprintf(entry, sizeof(entry), "%s,", key);
	va_start(ap, fmt);
	vsnprintf(entry + n, sizeof(entry) - n, fmt, ap);
	va_end(ap);
	ret = vpv_file_write(VPV_OFFSETS, entry);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		if (!strcmp(self->admin_keys[i], key))
			return 0;
		if (!self->admin_keys[i][0] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0)
		snprintf(self->admin_keys[free_slot], sizeof(self->admin_keys[0]), "%s", key);
	return 0;
}

/* Deletes the administrator entry of @key (writes the key alone). */
static int admin_del(FIXTURE_DATA(emul) *self, const char *key)
{
	int ret = vpv_file_write(VPV_OFFSETS, key), i;

	for (i = 0; !ret && i < 2; i++)
		if (!strcmp(self->admin_keys[i], key))
			self->admin_keys[i][0] = '\0';
	return ret;
}

/* The VF's current config space as the PCI core reads it (sysfs): the hardware's bytes. */
static int vf_raw(uint8_t *raw)
{
	return vpv_cfg_read(vf_bdf, 0, raw, PCI_CFG_SPACE_EXP_SIZE);
}

/* The ranges the emulated capabilities of @self cover now. */
static int emulated_ranges(FIXTURE_DATA(emul) *self, struct range *r)
{
	int n = 0;

	if (self->pasid)
		r[n++] = (struct range){ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF };
	if (self->pri)
		r[n++] = (struct range){ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF };
	return n;
}

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

/* vfio-pci hides a capability whose ID is above PCI_EXT_CAP_ID_MAX; so must the chain. */
TEST_F(emul, chain_never_lists_a_capability_that_vfio_pci_hides)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off = PCI_CFG_SPACE_SIZE, n = 0, hidden = 0;
	uint32_t hdr;

	/* The VF's own chain (sysfs) has one, or there is nothing to check. */
	ASSERT_EQ(0, vf_raw(raw));
	for (; off >= PCI_CFG_SPACE_SIZE && off < PCI_CFG_SPACE_EXP_SIZE && n++ < 64;
	     off = PCI_EXT_CAP_NEXT(hdr)) {
		hdr = le32(raw + off);
		if (PCI_EXT_CAP_ID(hdr) > PCI_EXT_CAP_ID_MAX)
			hidden++;
	}
	if (!hidden)
		SKIP(return, "the VF has no capability above PCI_EXT_CAP_ID_MAX (run.sh gives it one)");

	for (off = PCI_CFG_SPACE_SIZE, n = 0; off; off = PCI_EXT_CAP_NEXT(hdr)) {
		ASSERT_LT(n++, 64) TH_LOG("the chain does not end");
		hdr = cfg_read(self->dev, off, 4);
		EXPECT_LE(PCI_EXT_CAP_ID(hdr), PCI_EXT_CAP_ID_MAX)
			TH_LOG("capability %#x at %#x, which vfio-pci hides, is in the chain",
			       PCI_EXT_CAP_ID(hdr), off);
	}
}

TEST_F(emul, pasid_and_pri_headers_are_version_1_and_read_only)
{
	uint32_t pasid = cfg_read(self->dev, self->pasid, 4);
	uint32_t pri = cfg_read(self->dev, self->pri, 4);

	EXPECT_EQ(1, PCI_EXT_CAP_VER(pasid));
	EXPECT_EQ(1, PCI_EXT_CAP_VER(pri));
	CFG_WRITE(self->dev, PASID(self, 0), 4, 0);
	CFG_WRITE(self->dev, PRI(self, 0), 4, 0);
	EXPECT_EQ(pasid, cfg_read(self->dev, self->pasid, 4)) TH_LOG("PASID header");
	EXPECT_EQ(pri, cfg_read(self->dev, self->pri, 4)) TH_LOG("PRI header");
}

/* PASID Capability register */

TEST_F(emul, pasid_cap_exec_priv_and_width_come_from_pf_and_iommu)
{
	uint16_t pf_cap = le32(self->pf_cfg + self->pf_pasid + PCI_PASID_CAP) & 0xffff;
	uint16_t pf_ctrl = le32(self->pf_cfg + self->pf_pasid + PCI_PASID_CAP) >> 16;
	int pf_width = (pf_cap >> 8) & 0x1f, iommu_width = vpv_iommu_pasid_width(vf_bdf);
	uint16_t want = 0;

	ASSERT_GT(iommu_width, 0) TH_LOG("no intel-iommu ecap in sysfs for %s", vf_bdf);
	/* Supported only if the PF supports it and the host enabled it on the PF. */
	if ((pf_cap & PCI_PASID_CAP_EXEC) && (pf_ctrl & PCI_PASID_CTRL_EXEC))
		want |= PCI_PASID_CAP_EXEC;
	if ((pf_cap & PCI_PASID_CAP_PRIV) && (pf_ctrl & PCI_PASID_CTRL_PRIV))
		want |= PCI_PASID_CAP_PRIV;
	want |= (pf_width < iommu_width ? pf_width : iommu_width) << 8;

	EXPECT_EQ(want, cfg_read(self->dev, PASID(self, PCI_PASID_CAP), 2))
		TH_LOG("PCI_PASID_CAP: PF cap %#x ctrl %#x, IOMMU width %d", pf_cap, pf_ctrl,
		       iommu_width);
}

TEST_F(emul, pasid_cap_is_read_only)
{
	uint16_t cap = cfg_read(self->dev, PASID(self, PCI_PASID_CAP), 2);

	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CAP), 2, 0xffff);
	EXPECT_EQ(cap, cfg_read(self->dev, PASID(self, PCI_PASID_CAP), 2)) TH_LOG("PCI_PASID_CAP");
	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CAP), 2, 0);
	EXPECT_EQ(cap, cfg_read(self->dev, PASID(self, PCI_PASID_CAP), 2)) TH_LOG("PCI_PASID_CAP");
}

/* PASID Control register */

TEST_F(emul, pasid_ctrl_pasid_enable_is_rw)
{
	EXPECT_EQ(0, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2) & PCI_PASID_CTRL_ENABLE)
		TH_LOG("PCI_PASID_CTRL_ENABLE at open");
	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CTRL), 2, PCI_PASID_CTRL_ENABLE);
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2))
		TH_LOG("PCI_PASID_CTRL");
	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CTRL), 2, 0);
	EXPECT_EQ(0, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2)) TH_LOG("PCI_PASID_CTRL");
}

TEST_F(emul, pasid_ctrl_exec_and_priv_enable_are_rw_only_when_supported)
{
	uint16_t cap = cfg_read(self->dev, PASID(self, PCI_PASID_CAP), 2);
	uint16_t want = 0;

	if (cap & PCI_PASID_CAP_EXEC)
		want |= PCI_PASID_CTRL_EXEC;
	if (cap & PCI_PASID_CAP_PRIV)
		want |= PCI_PASID_CTRL_PRIV;
	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CTRL), 2,
		  PCI_PASID_CTRL_EXEC | PCI_PASID_CTRL_PRIV);
	EXPECT_EQ(want, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2))
		TH_LOG("PCI_PASID_CTRL with PCI_PASID_CAP %#x", cap);
}

TEST_F(emul, pasid_ctrl_reserved_bits_are_rsvdp_and_read_0)
{
	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CTRL), 2, 0xfff8 | PCI_PASID_CTRL_ENABLE);
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2))
		TH_LOG("PCI_PASID_CTRL");
}

/* Page Request Control and Status registers */

TEST_F(emul, pri_ctrl_enable_is_rw)
{
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	EXPECT_EQ(PCI_PRI_CTRL_ENABLE, cfg_read(self->dev, PRI(self, PCI_PRI_CTRL), 2))
		TH_LOG("PCI_PRI_CTRL");
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, 0);
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_CTRL), 2)) TH_LOG("PCI_PRI_CTRL");
}

TEST_F(emul, pri_ctrl_reset_reads_0)
{
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_RESET);
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_CTRL), 2) & PCI_PRI_CTRL_RESET)
		TH_LOG("PCI_PRI_CTRL_RESET");
}

/* A guest that keeps writing Reset with Enable set must not flood the host's log. */
TEST_F_TIMEOUT(emul, pri_reset_written_while_enabled_is_logged_once_per_open, 300)
{
	int kmsg, i, n;

	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);
	for (i = 0; i < 10000; i++)
		CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2,
			  PCI_PRI_CTRL_ENABLE | PCI_PRI_CTRL_RESET);
	n = vpv_kmsg_count(kmsg, "Reset written while Enable stays set");
	close(kmsg);
	EXPECT_EQ(1, n) TH_LOG("10000 writes of PCI_PRI_CTRL_RESET with PCI_PRI_CTRL_ENABLE: %d log lines", n);
	EXPECT_EQ(PCI_PRI_CTRL_ENABLE, cfg_read(self->dev, PRI(self, PCI_PRI_CTRL), 2))
		TH_LOG("PCI_PRI_CTRL after the writes");
}

TEST_F(emul, pri_status_stopped_is_1_while_disabled_and_0_while_enabled)
{
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED,
		  cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED while disabled");
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED while enabled");
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, 0);
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED,
		  cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED while disabled again");
}

TEST_F(emul, pri_status_stopped_and_pasid_required_are_read_only)
{
	uint16_t pf_status = le32(self->pf_cfg + self->pf_pri + PCI_PRI_CTRL) >> 16;
	uint16_t want = PCI_PRI_STATUS_STOPPED | (pf_status & PCI_PRI_STATUS_PASID);

	EXPECT_EQ(want, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2))
		TH_LOG("PCI_PRI_STATUS; the PF's is %#x", pf_status);
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_STATUS), 2, (uint16_t)~want & ~PRI_EVENT_BITS);
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_STATUS), 2, 0);
	EXPECT_EQ(want, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2)) TH_LOG("PCI_PRI_STATUS");
}

/*
 * A device event on the PF's Page Request Interface (@what: "rf", "uprgi" or
 * both), after clearing the PF's flags and reading the VF once: a driver that
 * followed the PF's flags would see a rising edge.
 */
static int pf_pri_event(FIXTURE_DATA(emul) *self, const char *what)
{
	int ret = pf_clear_pri_flags(self->pf_pri);

	if (ret)
		return ret;
	cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2);
	return fixture_write("pri_event", what);
}

/*
 * The PF's Response Failure and Unexpected PRG Index are PF-wide: another
 * tenant's VF may have caused them.  A VF shows none of them.
 */
TEST_F(emul, pri_status_shows_no_event_of_the_pf)
{
	uint16_t pf_status;

	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	ASSERT_EQ(0, pf_pri_event(self, "rf uprgi")) TH_LOG("fixture pri_event rf uprgi");
	ASSERT_EQ(0, pf_pri_status(self->pf_pri, &pf_status));
	ASSERT_EQ(PRI_EVENT_BITS, pf_status & PRI_EVENT_BITS)
		TH_LOG("the PF's PCI_PRI_STATUS after the event: %#x", pf_status);
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("the PF's PCI_PRI_STATUS_RF/PCI_PRI_STATUS_UPRGI in the VF's, PRI enabled");
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, 0);
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("the PF's PCI_PRI_STATUS_RF/PCI_PRI_STATUS_UPRGI in the VF's, PRI disabled");
	ASSERT_EQ(0, pf_clear_pri_flags(self->pf_pri));
}

TEST_F(emul, pri_status_rf_and_uprgi_ignore_writes_of_1_which_reach_neither_vf_nor_pf)
{
	uint16_t pf_status;

	/* The PF has both flags set, as after another tenant's failures. */
	ASSERT_EQ(0, pf_pri_event(self, "rf uprgi")) TH_LOG("fixture pri_event rf uprgi");
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF/PCI_PRI_STATUS_UPRGI before the write");
	ASSERT_EQ(0, vpv_fixture_clear_writes(vf_log()));
	ASSERT_EQ(0, vpv_fixture_clear_writes("pf"));
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_STATUS), 2, PRI_EVENT_BITS);
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF/PCI_PRI_STATUS_UPRGI after writing 1 to them");
	EXPECT_EQ(0, vpv_fixture_writes_in(vf_log(), self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF))
		TH_LOG("the write to PCI_PRI_STATUS reached the VF");
	EXPECT_EQ(0, vpv_fixture_writes_in("pf", self->pf_pri, self->pf_pri + PCI_EXT_CAP_PRI_SIZEOF))
		TH_LOG("the write to PCI_PRI_STATUS reached the PF's PRI capability");
	ASSERT_EQ(0, pf_pri_status(self->pf_pri, &pf_status));
	EXPECT_EQ(PRI_EVENT_BITS, pf_status & PRI_EVENT_BITS)
		TH_LOG("the VF's write changed the PF's PCI_PRI_STATUS: %#x", pf_status);
	ASSERT_EQ(0, pf_clear_pri_flags(self->pf_pri));
}

/* Without a PASID capability, a guest must not be told that responses carry a PASID. */
TEST_F(emul, pri_status_pasid_required_reads_0_without_a_pasid_capability)
{
	uint16_t pf_status = le32(self->pf_cfg + self->pf_pri + PCI_PRI_CTRL) >> 16;

	ASSERT_EQ(PCI_PRI_STATUS_PASID, pf_status & PCI_PRI_STATUS_PASID)
		TH_LOG("the PF's PCI_PRI_STATUS_PASID is 0 (%#x): nothing to check", pf_status);
	/* 0x100 holds a VF capability: PASID cannot go there and is not presented. */
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pasid=0x100"));
	reopen(self);
	ASSERT_EQ(0, self->pasid) TH_LOG("PASID presented at %#x", self->pasid);
	ASSERT_NE(0, self->pri) TH_LOG("PRI not presented");
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_PASID)
		TH_LOG("PCI_PRI_STATUS_PASID without a PASID capability");
	ASSERT_EQ(0, admin_del(self, vf_bdf));
}

/* Outstanding Page Request Capacity and Allocation registers */

TEST_F(emul, pri_capacity_is_read_only_and_the_pfs)
{
	uint32_t pf = le32(self->pf_cfg + self->pf_pri + PCI_PRI_MAX_REQ);

	EXPECT_EQ(pf, cfg_read(self->dev, PRI(self, PCI_PRI_MAX_REQ), 4)) TH_LOG("PCI_PRI_MAX_REQ");
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_MAX_REQ), 4, pf + 1);
	EXPECT_EQ(pf, cfg_read(self->dev, PRI(self, PCI_PRI_MAX_REQ), 4)) TH_LOG("PCI_PRI_MAX_REQ");
}

TEST_F(emul, pri_allocation_is_rw)
{
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4)) TH_LOG("PCI_PRI_ALLOC_REQ");
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4, 0x12345678);
	EXPECT_EQ(0x12345678, cfg_read(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4))
		TH_LOG("PCI_PRI_ALLOC_REQ");
}

/* Accesses */

TEST_F(emul, reads_of_every_size_and_offset_agree_byte_for_byte)
{
	unsigned int start = PCI_CFG_SPACE_SIZE, end = self->pri + PCI_EXT_CAP_PRI_SIZEOF;
	static uint8_t ref[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off, size;

	if (self->pasid + PCI_EXT_CAP_PASID_SIZEOF > end)
		end = self->pasid + PCI_EXT_CAP_PASID_SIZEOF;
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4, 0xa1b2c3d4);
	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CTRL), 2, PCI_PASID_CTRL_ENABLE);
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

	ASSERT_EQ(0, vpv_fixture_clear_writes(vf_log()));
	for (i = 0; i < 2; i++)
		for (size = 1; size <= 8; size *= 2)
			for (off = caps[i]; off + size <= caps[i] + lens[i]; off++)
				CFG_WRITE(self->dev, off, size, 0);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, vpv_fixture_writes_in(vf_log(), caps[i], caps[i] + lens[i]))
			TH_LOG("a write to the emulated capability at %#x reached the VF", caps[i]);
	}
}

/*
 * Whether the dword at @off is the VF's own and free: in extended config
 * space, outside both emulated capabilities, reading 0 in @raw.
 */
static bool free_real_dword(FIXTURE_DATA(emul) *self, const uint8_t *raw, unsigned int off)
{
	struct range emu[2];
	int n = emulated_ranges(self, emu), i;

	if (off < PCI_CFG_SPACE_SIZE || off + 4 > PCI_CFG_SPACE_EXP_SIZE || le32(raw + off))
		return false;
	for (i = 0; i < n; i++)
		if (overlaps(off, off + 4, &emu[i]))
			return false;
	return true;
}

/*
 * An 8-byte write, half to an emulated capability and half to a free real
 * dword next to it: the real half reaches the VF, the emulated one does not.
 */
TEST_F(emul, a_write_straddling_emulated_and_real_bytes_splits)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int real;
	struct range emu;

	ASSERT_EQ(0, vf_raw(raw));
	ASSERT_EQ(0, vpv_fixture_clear_writes(vf_log()));
	if (free_real_dword(self, raw, self->pri + PCI_EXT_CAP_PRI_SIZEOF)) {
		/* PCI_PRI_ALLOC_REQ, then the dword after PRI. */
		real = self->pri + PCI_EXT_CAP_PRI_SIZEOF;
		emu = (struct range){ self->pri, real };
		CFG_WRITE(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 8, 0x0000000087654321ull);
		EXPECT_EQ(0x87654321, cfg_read(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4))
			TH_LOG("PCI_PRI_ALLOC_REQ");
	} else if (free_real_dword(self, raw, self->pasid + PCI_EXT_CAP_PASID_SIZEOF)) {
		/* PCI_PASID_CAP and PCI_PASID_CTRL, then the dword after PASID. */
		uint64_t val = cfg_read(self->dev, PASID(self, PCI_PASID_CAP), 2) |
			       PCI_PASID_CTRL_ENABLE << 16;

		real = self->pasid + PCI_EXT_CAP_PASID_SIZEOF;
		emu = (struct range){ self->pasid, real };
		CFG_WRITE(self->dev, PASID(self, PCI_PASID_CAP), 8, val);
		EXPECT_EQ(PCI_PASID_CTRL_ENABLE, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2))
			TH_LOG("PCI_PASID_CTRL");
	} else if (free_real_dword(self, raw, self->pri - 4)) {
		/* The dword before PRI, then the PRI header (read-only: its own value). */
		uint32_t hdr = cfg_read(self->dev, self->pri, 4);

		real = self->pri - 4;
		emu = (struct range){ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF };
		CFG_WRITE(self->dev, PRI(self, 0) - 4, 8, (uint64_t)hdr << 32);
		EXPECT_EQ(hdr, cfg_read(self->dev, self->pri, 4)) TH_LOG("PRI header");
	} else if (free_real_dword(self, raw, self->pasid - 4)) {
		/* The dword before PASID, then the PASID header (read-only: its own value). */
		uint32_t hdr = cfg_read(self->dev, self->pasid, 4);

		real = self->pasid - 4;
		emu = (struct range){ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF };
		CFG_WRITE(self->dev, PASID(self, 0) - 4, 8, (uint64_t)hdr << 32);
		EXPECT_EQ(hdr, cfg_read(self->dev, self->pasid, 4)) TH_LOG("PASID header");
	} else {
		SKIP(return, "no free real dword next to PRI at %#x or PASID at %#x",
		     self->pri, self->pasid);
	}
	EXPECT_EQ(0, vpv_fixture_writes_in(vf_log(), emu.start, emu.end))
		TH_LOG("the emulated half at %#x..%#x reached the VF", emu.start, emu.end);
	EXPECT_EQ(1, vpv_fixture_writes_in(vf_log(), real, real + 4))
		TH_LOG("the real half at %#x did not reach the VF", real);
}

/* Reset */

static void dirty(struct __test_metadata *_metadata, FIXTURE_DATA(emul) *self)
{
	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CTRL), 2, PCI_PASID_CTRL_ENABLE);
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4, 0x55);
}

static void expect_reset_values(struct __test_metadata *_metadata, FIXTURE_DATA(emul) *self)
{
	EXPECT_EQ(0, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2)) TH_LOG("PCI_PASID_CTRL");
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_CTRL), 2)) TH_LOG("PCI_PRI_CTRL");
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) &
					  (PCI_PRI_STATUS_STOPPED | PRI_EVENT_BITS))
		TH_LOG("PCI_PRI_STATUS");
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4)) TH_LOG("PCI_PRI_ALLOC_REQ");
}

TEST_F(emul, vfio_device_reset_restores_reset_values)
{
	dirty(_metadata, self);
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
	dirty(_metadata, self);
	CFG_WRITE(self->dev, exp + PCI_EXP_DEVCTL, 2,
		  cfg_read(self->dev, exp + PCI_EXP_DEVCTL, 2) | PCI_EXP_DEVCTL_BCR_FLR);
	expect_reset_values(_metadata, self);
}

TEST_F(emul, close_and_reopen_restores_reset_values)
{
	dirty(_metadata, self);
	reopen(self);
	expect_reset_values(_metadata, self);
}

/*
 * A reset that fails because the function does not answer must not reset
 * the emulated registers: the function itself kept its state.  (The PCI core
 * gives up at once on a function whose Command/Status reads all ones.)
 */
TEST_F_TIMEOUT(emul, a_failed_reset_of_an_unreachable_vf_keeps_the_emulated_registers, 120)
{
	char offline[32], online[32];
	uint32_t cmd_status;

	snprintf(offline, sizeof(offline), "vf_offline %d", vf_index);
	snprintf(online, sizeof(online), "vf_online %d", vf_index);
	dirty(_metadata, self);
	ASSERT_EQ(0, fault(self, offline, online)) TH_LOG("fixture fault %s", offline);
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, PCI_COMMAND, &cmd_status, sizeof(cmd_status)));
	ASSERT_EQ(~0u, cmd_status) TH_LOG("PCI_COMMAND/PCI_STATUS of the offline VF");
	ASSERT_NE(0, ioctl(self->dev->fd, VFIO_DEVICE_RESET))
		TH_LOG("VFIO_DEVICE_RESET of an unreachable VF succeeded");
	ASSERT_EQ(0, fault(self, online, NULL)) TH_LOG("fixture fault %s", online);
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, cfg_read(self->dev, PASID(self, PCI_PASID_CTRL), 2))
		TH_LOG("PCI_PASID_CTRL after the failed reset");
	EXPECT_EQ(PCI_PRI_CTRL_ENABLE, cfg_read(self->dev, PRI(self, PCI_PRI_CTRL), 2))
		TH_LOG("PCI_PRI_CTRL after the failed reset");
	EXPECT_EQ(0, cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED after the failed reset");
	EXPECT_EQ(0x55, cfg_read(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4))
		TH_LOG("PCI_PRI_ALLOC_REQ after the failed reset");
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
	ASSERT_EQ(0, vf_raw(raw));
	for (i = 0; i < 2; i++)
		for (off = caps[i]; off < caps[i] + lens[i]; off++) {
			ASSERT_EQ(0, raw[off]) {
				TH_LOG("emulated capability at %#x covers VF byte %#x = %#x",
				       caps[i], off, raw[off]);
			}
		}
}

/*
 * A capability that vfio-pci hides (ID above PCI_EXT_CAP_ID_MAX) is still the
 * device's: its bytes are not free, whatever vfio-pci shows there.
 */
TEST_F(emul, emulated_capabilities_overlap_no_capability_that_vfio_pci_hides)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	struct range hidden[8], emu[2];
	unsigned int id, off, len, i;
	char layout[8192], *line;
	int n = 0, ne = emulated_ranges(self, emu), e;

	ASSERT_EQ(0, vf_raw(raw));
	/* A hidden first capability: its header, which vfio-pci turns into a placeholder. */
	if (PCI_EXT_CAP_ID(le32(raw + PCI_CFG_SPACE_SIZE)) > PCI_EXT_CAP_ID_MAX)
		hidden[n++] = (struct range){ PCI_CFG_SPACE_SIZE, PCI_CFG_SPACE_SIZE + 4 };
	/* The fixture's extra VF capabilities with such an ID, whole. */
	ASSERT_LT(0, fixture_layout(layout, sizeof(layout)));
	for (line = strtok(layout, "\n"); line && n < 8; line = strtok(NULL, "\n"))
		if (sscanf(line, "vf_extcap %x %x %x", &id, &off, &len) == 3 &&
		    id > PCI_EXT_CAP_ID_MAX)
			hidden[n++] = (struct range){ off, off + len };
	if (!n)
		SKIP(return, "the VF has no capability that vfio-pci hides (run.sh gives it one)");
	for (i = 0; i < (unsigned int)n; i++)
		for (e = 0; e < ne; e++)
			EXPECT_FALSE(overlaps(emu[e].start, emu[e].end, &hidden[i]))
				TH_LOG("emulated capability %#x..%#x overlaps the hidden capability %#x..%#x",
				       emu[e].start, emu[e].end, hidden[i].start, hidden[i].end);
}

/*
 * A hidden register that reads non-zero is the device's.  (One that reads 0,
 * at bind and after the FLR at open, is free room by definition: an emulated
 * capability may cover it.)
 */
TEST_F(emul, hidden_registers_stay_visible_through_vfio)
{
	unsigned int off, val, n = 0;
	char layout[8192], *line;

	ASSERT_LT(0, fixture_layout(layout, sizeof(layout)));
	for (line = strtok(layout, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "vf_hidden %x %x", &off, &val) != 2 || !val)
			continue;
		n++;
		EXPECT_EQ(val, cfg_read(self->dev, off, 4)) TH_LOG("hidden register at %#x", off);
	}
	if (!n)
		SKIP(return, "the fixture planted no non-zero hidden register in the VFs");
}

TEST_F(emul, placement_attribute_names_where_each_capability_is)
{
	char placement[512], want[64];

	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	snprintf(want, sizeof(want), "PASID at %#05x (", self->pasid);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("placement: %s", placement);
	snprintf(want, sizeof(want), "PRI at %#05x (", self->pri);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("placement: %s", placement);
}

/* The driver's own view: what the VF's user wrote, as it reads it. */
TEST_F(emul, emulated_attribute_shows_the_registers_as_the_user_reads_them)
{
	struct vpv_emulated e;

	CFG_WRITE(self->dev, PASID(self, PCI_PASID_CTRL), 2, PCI_PASID_CTRL_ENABLE);
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	CFG_WRITE(self->dev, PRI(self, PCI_PRI_ALLOC_REQ), 4, 0x10);
	ASSERT_EQ(0, vpv_emulated(vf_bdf, &e));
	EXPECT_EQ(self->pasid, e.pasid_off);
	EXPECT_EQ(cfg_read(self->dev, PASID(self, PCI_PASID_CAP), 2), e.pasid_cap) TH_LOG("PCI_PASID_CAP");
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, e.pasid_ctrl) TH_LOG("PCI_PASID_CTRL");
	EXPECT_EQ(self->pri, e.pri_off);
	EXPECT_EQ(PCI_PRI_CTRL_ENABLE, e.pri_ctrl) TH_LOG("PCI_PRI_CTRL");
	EXPECT_EQ(cfg_read(self->dev, PRI(self, PCI_PRI_STATUS), 2), e.pri_status)
		TH_LOG("PCI_PRI_STATUS");
	EXPECT_EQ(cfg_read(self->dev, PRI(self, PCI_PRI_MAX_REQ), 4), e.pri_max_req)
		TH_LOG("PCI_PRI_MAX_REQ");
	EXPECT_EQ(0x10, e.pri_alloc_req) TH_LOG("PCI_PRI_ALLOC_REQ");
}

TEST_F(emul, emulated_attribute_reads_none_while_the_vf_is_closed)
{
	struct vpv_emulated e;
	char path[PATH_MAX], buf[64];

	close_vf(self);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/emulated", vf_bdf);
	ASSERT_LT(0, vpv_file_read(path, buf, sizeof(buf)));
	EXPECT_STREQ("none\n", buf);
	open_vf(self);
	ASSERT_EQ(0, vpv_emulated(vf_bdf, &e));
	EXPECT_EQ(self->pasid, e.pasid_off);
}

/* What one tenant wrote is the host's business only. */
TEST_F(emul, emulated_attribute_is_readable_by_root_only)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/emulated", vf_bdf);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0400, st.st_mode & 0777);
}

/*
 * The rules, in order: administrator's offset, head of the chain, advised
 * offset, PF's offset, highest free offset.  A capability that none of the
 * first four placed is at the highest free room, searching down from 0x1000.
 */
TEST_F(emul, automatic_placement_takes_the_highest_free_offset)
{
	static const char *const earlier[] = {
		"(administrator's offset)", "(head of the extended capability chain)",
		"(offset advised by the PF)", "(PF's offset)",
	};
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	const char *names[2] = { "PASID", "PRI" };
	unsigned int caps[2] = { self->pasid, self->pri };
	unsigned int lens[2] = { PCI_EXT_CAP_PASID_SIZEOF, PCI_EXT_CAP_PRI_SIZEOF };
	char placement[512], at[32], rule[64], *p;
	unsigned int r;
	int i, n = 0;

	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	ASSERT_EQ(0, vf_raw(raw));
	for (i = 0; i < 2; i++) {
		/* The other capability, wherever it is, is not free room. */
		struct range other = { caps[!i], caps[!i] + lens[!i] };

		snprintf(at, sizeof(at), "%s at %#05x ", names[i], caps[i]);
		p = strstr(placement, at);
		ASSERT_NE(NULL, p) TH_LOG("no '%s' in: %s", at, placement);
		p += strlen(at);
		for (r = 0; r < sizeof(earlier) / sizeof(earlier[0]); r++)
			if (!strncmp(p, earlier[r], strlen(earlier[r])))
				break;
		if (r < sizeof(earlier) / sizeof(earlier[0]))
			continue;
		n++;
		snprintf(rule, sizeof(rule), "%s(highest free offset)", at);
		EXPECT_NE(NULL, strstr(placement, rule)) TH_LOG("want '%s' in: %s", rule, placement);
		EXPECT_EQ(highest_free(raw, lens[i], PCI_CFG_SPACE_EXP_SIZE, &other, 1), caps[i])
			TH_LOG("%s at %#x is not the highest free room for it", names[i], caps[i]);
	}
	if (!n)
		SKIP(return, "both capabilities placed by an earlier rule: %s", placement);
}

/* --- administrator's offsets: the driver attribute VPV_OFFSETS --- */

TEST_F(emul, administrators_offset_set_while_open_takes_effect_at_the_next_open)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	struct range emu[2];
	unsigned int off, before = self->pasid;
	char placement[512], want[96];
	int kmsg;

	ASSERT_EQ(0, vf_raw(raw));
	off = highest_free(raw, PCI_EXT_CAP_PASID_SIZEOF, PCI_CFG_SPACE_EXP_SIZE, emu,
			   emulated_ranges(self, emu));
	ASSERT_NE(0, off) TH_LOG("no free room for PASID beside the emulated capabilities");
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pasid=%#x", off));
	/* The open in progress keeps its layout. */
	EXPECT_EQ(before, vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PASID));
	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);
	reopen(self);
	EXPECT_EQ(off, self->pasid);
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	snprintf(want, sizeof(want), "PASID at %#05x (administrator's offset)", off);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("%s", placement);
	snprintf(want, sizeof(want), "administrator's offsets now in effect: PASID %#x, PRI auto", off);
	EXPECT_TRUE(vpv_kmsg_find(kmsg, want)) TH_LOG("no log line '%s'", want);
	close(kmsg);
	ASSERT_EQ(0, admin_del(self, vf_bdf));
}

TEST_F(emul, administrators_offset_set_before_bind_is_used_at_the_first_open)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	struct range emu[2];
	unsigned int off;
	char placement[512], want[96];

	ASSERT_EQ(0, vf_raw(raw));
	off = highest_free(raw, PCI_EXT_CAP_PASID_SIZEOF, PCI_CFG_SPACE_EXP_SIZE, emu,
			   emulated_ranges(self, emu));
	ASSERT_NE(0, off) TH_LOG("no free room for PASID beside the emulated capabilities");
	close_vf(self);
	ASSERT_EQ(0, vpv_unbind(vf_bdf));
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pasid=%#x", off));
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	open_vf(self);
	EXPECT_EQ(off, self->pasid);
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	snprintf(want, sizeof(want), "PASID at %#05x (administrator's offset)", off);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("%s", placement);
	ASSERT_EQ(0, admin_del(self, vf_bdf));
}

TEST_F(emul, administrators_offset_survives_unbind_and_rebind)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	struct range emu[2];
	unsigned int off;

	ASSERT_EQ(0, vf_raw(raw));
	off = highest_free(raw, PCI_EXT_CAP_PASID_SIZEOF, PCI_CFG_SPACE_EXP_SIZE, emu,
			   emulated_ranges(self, emu));
	ASSERT_NE(0, off) TH_LOG("no free room for PASID beside the emulated capabilities");
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pasid=%#x", off));
	close_vf(self);
	ASSERT_EQ(0, vpv_unbind(vf_bdf));
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	open_vf(self);
	EXPECT_EQ(off, self->pasid) TH_LOG("PASID after unbind and rebind");
	ASSERT_EQ(0, admin_del(self, vf_bdf));
}

TEST_F(emul, administrators_offset_for_a_vendor_device_applies_to_the_vf)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	struct range emu[2];
	unsigned int off;
	char key[16];

	ASSERT_EQ(0, vf_vendor_device(key, sizeof(key)));
	ASSERT_EQ(0, vf_raw(raw));
	off = highest_free(raw, PCI_EXT_CAP_PASID_SIZEOF, PCI_CFG_SPACE_EXP_SIZE, emu,
			   emulated_ranges(self, emu));
	ASSERT_NE(0, off) TH_LOG("no free room for PASID beside the emulated capabilities");
	ASSERT_EQ(0, admin_set(self, key, "pasid=%#x", off));
	reopen(self);
	EXPECT_EQ(off, self->pasid) TH_LOG("PASID with the entry for %s", key);
	ASSERT_EQ(0, admin_del(self, key));
}

TEST_F(emul, administrators_offset_for_the_bdf_wins_over_the_vendor_device)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	struct range emu[2];
	unsigned int by_id, by_bdf;
	char key[16];
	int n;

	ASSERT_EQ(0, vf_vendor_device(key, sizeof(key)));
	ASSERT_EQ(0, vf_raw(raw));
	n = emulated_ranges(self, emu);
	by_id = highest_free(raw, PCI_EXT_CAP_PASID_SIZEOF, PCI_CFG_SPACE_EXP_SIZE, emu, n);
	ASSERT_NE(0, by_id) TH_LOG("no free room for PASID beside the emulated capabilities");
	by_bdf = highest_free(raw, PCI_EXT_CAP_PASID_SIZEOF, by_id, emu, n);
	ASSERT_NE(0, by_bdf) TH_LOG("no second free room for PASID below %#x", by_id);
	ASSERT_EQ(0, admin_set(self, key, "pasid=%#x", by_id));
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pasid=%#x", by_bdf));
	reopen(self);
	EXPECT_EQ(by_bdf, self->pasid)
		TH_LOG("%s,pasid=%#x and %s,pasid=%#x", key, by_id, vf_bdf, by_bdf);
	ASSERT_EQ(0, admin_del(self, vf_bdf));
	ASSERT_EQ(0, admin_del(self, key));
}

TEST_F(emul, administrators_offsets_read_back_one_line_per_entry)
{
	char key[16], text[4096], line[96];

	ASSERT_EQ(0, vf_vendor_device(key, sizeof(key)));
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pasid=0x200"));
	ASSERT_EQ(0, admin_set(self, key, "pri=0x300"));
	ASSERT_LE(0, vpv_file_read(VPV_OFFSETS, text, sizeof(text)));
	snprintf(line, sizeof(line), "%s,pasid=0x200,pri=auto", vf_bdf);
	EXPECT_TRUE(has_line(text, line)) TH_LOG("no line '%s' in: %s", line, text);
	snprintf(line, sizeof(line), "%s,pasid=auto,pri=0x300", key);
	EXPECT_TRUE(has_line(text, line)) TH_LOG("no line '%s' in: %s", line, text);
	ASSERT_EQ(0, admin_del(self, vf_bdf));
	ASSERT_EQ(0, admin_del(self, key));
	ASSERT_LE(0, vpv_file_read(VPV_OFFSETS, text, sizeof(text)));
	EXPECT_FALSE(has_entry_for(text, vf_bdf)) TH_LOG("deleted, still: %s", text);
	EXPECT_FALSE(has_entry_for(text, key)) TH_LOG("deleted, still: %s", text);
}

TEST_F(emul, administrators_offsets_reject_bad_input_and_say_why)
{
	const char *bad[] = { "pasid=0x1a1", "pasid=0x80", "pasid=0x1000", "pasid=banana",
			      "pri=0x1a1", "pri=banana" };
	const char *bad_keys[] = { "0000:01:10,pasid=0x200", "8086,pasid=0x200",
				   "banana,pasid=0x200" };
	char entry[96], text[4096];
	unsigned int i;
	int kmsg, ret, n;

	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]) + sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		if (i < sizeof(bad) / sizeof(bad[0])) {
			snprintf(entry, sizeof(entry), "%s,%s", vf_bdf, bad[i]);
			ret = vpv_file_write(VPV_OFFSETS, entry);
			/* Accepted after all: teardown deletes it. */
			if (!ret)
				snprintf(self->admin_keys[0], sizeof(self->admin_keys[0]), "%s", vf_bdf);
		} else {
			snprintf(entry, sizeof(entry), "%s", bad_keys[i - sizeof(bad) / sizeof(bad[0])]);
			ret = vpv_file_write(VPV_OFFSETS, entry);
		}
		EXPECT_EQ(-EINVAL, ret) TH_LOG("'%s'", entry);
		n = vpv_kmsg_count_starting(kmsg, "offsets:");
		EXPECT_EQ(1, n) TH_LOG("'%s': %d log lines starting 'offsets:'", entry, n);
	}
	close(kmsg);
	ASSERT_LE(0, vpv_file_read(VPV_OFFSETS, text, sizeof(text)));
	EXPECT_FALSE(has_entry_for(text, vf_bdf)) TH_LOG("bad input stored: %s", text);
}

TEST_F(emul, administrators_offset_over_a_vf_capability_is_refused_without_fallback)
{
	char placement[512];
	int kmsg = vpv_kmsg_open();

	ASSERT_GE(kmsg, 0);
	/* Every VF here has an extended capability at 0x100. */
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pasid=0x100"));
	reopen(self);
	EXPECT_EQ(0, self->pasid) TH_LOG("PASID presented at %#x", self->pasid);
	EXPECT_NE(0, self->pri);
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	EXPECT_NE(NULL, strstr(placement, "PASID not presented: administrator's offset 0x100 is unusable"))
		TH_LOG("%s", placement);
	EXPECT_TRUE(vpv_kmsg_find(kmsg, "PASID not presented: administrator's offset 0x100"));
	close(kmsg);
	ASSERT_EQ(0, admin_del(self, vf_bdf));
}

/*
 * Pinned capabilities are placed first, automatic ones avoid them: PRI pinned
 * over the offset where PASID lands by itself pushes PASID elsewhere.
 */
TEST_F(emul, administrators_pri_offset_is_placed_first_and_automatic_pasid_avoids_it)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int auto_pasid = self->pasid, pin = 0, i, b;
	/* PRI offsets whose 16 bytes cover some of PASID's 8, nearest first. */
	int deltas[] = { 0, -4, 4, -8, -12 };
	struct range pri;
	char placement[512], want[96];

	ASSERT_EQ(0, vf_raw(raw));
	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]) && !pin; i++) {
		unsigned int off = auto_pasid + deltas[i];

		if (off < PCI_CFG_SPACE_SIZE || off + PCI_EXT_CAP_PRI_SIZEOF > PCI_CFG_SPACE_EXP_SIZE)
			continue;
		for (b = 0; b < PCI_EXT_CAP_PRI_SIZEOF && !raw[off + b]; b++)
			;
		if (b == PCI_EXT_CAP_PRI_SIZEOF)
			pin = off;
	}
	ASSERT_NE(0, pin) TH_LOG("no 16 free bytes over PASID's automatic offset %#x", auto_pasid);
	ASSERT_EQ(0, admin_set(self, vf_bdf, "pri=%#x", pin));
	reopen(self);
	EXPECT_EQ(pin, self->pri) TH_LOG("PRI pinned at %#x over PASID's automatic offset %#x",
					 pin, auto_pasid);
	ASSERT_NE(0, self->pasid) TH_LOG("PASID not presented");
	pri = (struct range){ pin, pin + PCI_EXT_CAP_PRI_SIZEOF };
	EXPECT_FALSE(overlaps(self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF, &pri))
		TH_LOG("PASID at %#x overlaps PRI at %#x", self->pasid, pin);
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	snprintf(want, sizeof(want), "PRI at %#05x (administrator's offset)", pin);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("%s", placement);
	ASSERT_EQ(0, admin_del(self, vf_bdf));
}

/* --- gates: what the host enabled on the PF --- */

TEST_F(emul, pri_is_not_presented_while_the_host_has_not_enabled_pri_on_the_pf)
{
	char placement[512], state[2048];

	close_vf(self);
	ASSERT_EQ(0, fault(self, "pri_disable", "pri_enable")) TH_LOG("fixture fault pri_disable");
	ASSERT_LT(0, vpv_file_read(VPV_FIXTURE_DEBUGFS "/pf_state", state, sizeof(state)));
	ASSERT_NE(NULL, strstr(state, "pri_enabled 0")) TH_LOG("fixture pf_state: %s", state);
	open_vf(self);
	EXPECT_EQ(0, self->pri) TH_LOG("PRI presented at %#x", self->pri);
	EXPECT_NE(0, self->pasid) TH_LOG("PASID withdrawn with PRI");
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	EXPECT_NE(NULL, strstr(placement, "PRI not presented: the host has not enabled PRI on the PF"))
		TH_LOG("%s", placement);
	close_vf(self);
	ASSERT_EQ(0, fault(self, "pri_enable", NULL)) TH_LOG("fixture fault pri_enable");
	open_vf(self);
	EXPECT_NE(0, self->pri) TH_LOG("PRI not presented again after pri_enable");
}

/* A closed gate is said once, not at every open. */
TEST_F(emul, pasid_gate_is_logged_once_while_it_stays_closed)
{
	char state[2048];
	int kmsg, i, n;

	close_vf(self);
	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);
	ASSERT_EQ(0, fault(self, "pasid_disable", "pasid_enable")) TH_LOG("fixture fault pasid_disable");
	ASSERT_LT(0, vpv_file_read(VPV_FIXTURE_DEBUGFS "/pf_state", state, sizeof(state)));
	ASSERT_NE(NULL, strstr(state, "pasid_enabled 0")) TH_LOG("fixture pf_state: %s", state);
	for (i = 0; i < 5; i++) {
		open_vf(self);
		EXPECT_EQ(0, self->pasid) TH_LOG("open %d: PASID presented while the PF's is disabled", i);
		close_vf(self);
	}
	n = vpv_kmsg_count(kmsg, "the host has not enabled PASID on the PF");
	close(kmsg);
	EXPECT_EQ(1, n) TH_LOG("5 opens with the gate closed: %d log lines", n);
	ASSERT_EQ(0, fault(self, "pasid_enable", NULL)) TH_LOG("fixture fault pasid_enable");
	open_vf(self);
	EXPECT_NE(0, self->pasid) TH_LOG("PASID not presented again after pasid_enable");
}

/* --- bind-time sampling: a register that the FLR at open hides --- */

FIXTURE(bind_sample) {
	struct iommu *iommu;
	struct vfio_pci_device *dev;
	unsigned int reg;	/* the fixture's hidden register with reset value 0 */
	bool dirtied;		/* @reg written: teardown writes 0 back and rebinds */
};

FIXTURE_VARIANT(bind_sample) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(bind_sample);

FIXTURE_SETUP(bind_sample)
{
	char layout[8192];

	ASSERT_LT(0, fixture_layout(layout, sizeof(layout)));
	self->reg = layout_zero_hidden(layout);
	if (!self->reg)
		SKIP(return, "the fixture has no VF hidden register with reset value 0");
}

FIXTURE_TEARDOWN(bind_sample)
{
	uint32_t zero = 0;

	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	if (self->iommu)
		iommu_cleanup(self->iommu);
	if (!self->dirtied)
		return;
	EXPECT_EQ(0, vpv_unbind(vf_bdf));
	EXPECT_EQ(0, vpv_cfg_write(vf_bdf, self->reg, &zero, sizeof(zero)));
	EXPECT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
}

/*
 * A register that reads non-zero when the VF is bound but 0 after the FLR at
 * open (its reset value) is in use: no emulated capability covers it, and
 * the top-down search takes the highest free room below it.
 */
TEST_F(bind_sample, a_dword_that_read_non_zero_at_bind_stays_unused_after_the_flr)
{
	static uint8_t at_bind[PCI_CFG_SPACE_EXP_SIZE], zeroed[PCI_CFG_SPACE_EXP_SIZE];
	struct range reg = { self->reg, self->reg + 4 };
	uint32_t dirty = 0xa5a5a5a5, now, zero = 0;
	unsigned int pasid, pri, top, len, want;
	char placement[512], rule[96];

	ASSERT_EQ(0, vpv_unbind(vf_bdf));
	ASSERT_EQ(0, vpv_cfg_write(vf_bdf, self->reg, &dirty, sizeof(dirty)))
		TH_LOG("the VF's hidden register at %#x, through sysfs", self->reg);
	self->dirtied = true;
	ASSERT_EQ(0, vf_raw(at_bind));
	ASSERT_EQ(dirty, le32(at_bind + self->reg)) TH_LOG("hidden register at %#x", self->reg);
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(variant->iommu_mode);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, self->reg, &now, sizeof(now)));
	ASSERT_EQ(0, now) TH_LOG("hidden register at %#x after the FLR at open", self->reg);

	pasid = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PASID);
	pri = vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, pasid) TH_LOG("PASID not presented");
	ASSERT_NE(0, pri) TH_LOG("PRI not presented");
	EXPECT_FALSE(overlaps(pasid, pasid + PCI_EXT_CAP_PASID_SIZEOF, &reg))
		TH_LOG("PASID at %#x covers the register at %#x", pasid, self->reg);
	EXPECT_FALSE(overlaps(pri, pri + PCI_EXT_CAP_PRI_SIZEOF, &reg))
		TH_LOG("PRI at %#x covers the register at %#x", pri, self->reg);

	/* The higher one: where a top-down search that skips the register puts it. */
	top = pasid > pri ? pasid : pri;
	len = top == pasid ? PCI_EXT_CAP_PASID_SIZEOF : PCI_EXT_CAP_PRI_SIZEOF;
	/* Precondition: had the register read 0 at bind, the search would have taken it. */
	memcpy(zeroed, at_bind, sizeof(zeroed));
	memset(zeroed + self->reg, 0, 4);
	want = highest_free(zeroed, len, PCI_CFG_SPACE_EXP_SIZE, NULL, 0);
	ASSERT_TRUE(overlaps(want, want + len, &reg))
		TH_LOG("the register at %#x is not where the top-down search goes: nothing to check",
		       self->reg);
	want = highest_free(at_bind, len, PCI_CFG_SPACE_EXP_SIZE, NULL, 0);
	EXPECT_EQ(want, top) TH_LOG("%s at %#x", top == pasid ? "PASID" : "PRI", top);
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	snprintf(rule, sizeof(rule), "%s at %#05x (highest free offset)",
		 top == pasid ? "PASID" : "PRI", want);
	EXPECT_NE(NULL, strstr(placement, rule)) TH_LOG("want '%s' in: %s", rule, placement);

	vfio_pci_device_cleanup(self->dev);
	self->dev = NULL;
	ASSERT_EQ(0, vpv_unbind(vf_bdf));
	ASSERT_EQ(0, vpv_cfg_write(vf_bdf, self->reg, &zero, sizeof(zero)));
	self->dirtied = false;
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
}

/* --- the fixture's full VF: a sibling of the VF with no free room --- */

FIXTURE(full_vf) {
	char bdf[32];
	struct iommu *iommu;
	struct vfio_pci_device *dev;
};

FIXTURE_VARIANT(full_vf) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(full_vf);

/* The fixture's vf_full parameter: the index of the full VF among the PF's VFs. */
FIXTURE_SETUP(full_vf)
{
	char val[16];
	int n;

	ASSERT_LT(0, vpv_file_read("/sys/module/vpv_pf/parameters/vf_full", val, sizeof(val)))
		TH_LOG("the vpv_pf fixture is not loaded");
	n = atoi(val);
	if (n < 0)
		SKIP(return, "the fixture has no full VF (vf_full=%d; run.sh gives it one)", n);
	ASSERT_EQ(0, vpv_virtfn(pf_bdf, n, self->bdf, sizeof(self->bdf)))
		TH_LOG("no virtfn%d, the fixture's full VF, on PF %s", n, pf_bdf);
}

FIXTURE_TEARDOWN(full_vf)
{
	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	if (self->iommu)
		iommu_cleanup(self->iommu);
}

/* A VF with no free room: nothing presented, everything else unchanged. */
TEST_F(full_vf, vf_without_room_presents_neither_capability_and_says_why)
{
	char placement[512];
	int kmsg;

	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);
	ASSERT_EQ(0, vpv_bind(self->bdf, VPV_DRIVER));
	self->iommu = iommu_init(variant->iommu_mode);
	self->dev = vfio_pci_device_init(self->bdf, self->iommu);
	EXPECT_EQ(0, vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PASID));
	EXPECT_EQ(0, vfio_find_ext_cap(self->dev, PCI_EXT_CAP_ID_PRI));
	vfio_pci_device_cleanup(self->dev);
	self->dev = NULL;
	ASSERT_LT(0, vpv_placement(self->bdf, placement, sizeof(placement)));
	EXPECT_NE(NULL, strstr(placement, "PASID not presented: no free space")) TH_LOG("%s", placement);
	EXPECT_NE(NULL, strstr(placement, "PRI not presented: no free space")) TH_LOG("%s", placement);
	EXPECT_TRUE(vpv_kmsg_find(kmsg, "PASID not presented: no free space"));
	close(kmsg);
	ASSERT_EQ(0, vpv_unbind(self->bdf));
}

/*
 * Everything but the emulated bytes is what vfio-pci shows for the same VF,
 * with one exception: the Next Capability Offset of the header that ends
 * vfio-pci's chain now points at an emulated capability.  That header is the
 * last capability vfio-pci lists, or, when vfio-pci lists none (a hidden
 * first capability and nothing after it), the placeholder header at 0x100.
 */
FIXTURE(vfio_pci) {
};

FIXTURE_VARIANT(vfio_pci) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(vfio_pci);

FIXTURE_SETUP(vfio_pci)
{
}

FIXTURE_TEARDOWN(vfio_pci)
{
}

TEST_F(vfio_pci, bytes_outside_the_emulated_capabilities_match_vfio_pci)
{
	static uint8_t vfio[PCI_CFG_SPACE_EXP_SIZE], vpv[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pasid, pri, link = 0, off, diffs = 0, first = 0, n = 0, next;

	ASSERT_EQ(0, vpv_bind(vf_bdf, VFIO_PCI_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, variant->iommu_mode, vfio, sizeof(vfio)));
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, variant->iommu_mode, vpv, sizeof(vpv)));
	pasid = vpv_ecap_find(vpv, PCI_EXT_CAP_ID_PASID);
	pri = vpv_ecap_find(vpv, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, pasid);
	ASSERT_NE(0, pri);
	/* The header that ends vfio-pci's chain (0x100 if vfio-pci shows none). */
	for (off = PCI_CFG_SPACE_SIZE; off; off = PCI_EXT_CAP_NEXT(le32(vfio + off))) {
		ASSERT_LT(n++, 64) TH_LOG("vfio-pci's chain does not end");
		link = off;
	}
	next = PCI_EXT_CAP_NEXT(le32(vpv + link));
	EXPECT_TRUE(next == pasid || next == pri)
		TH_LOG("the header at %#x (%#010x; vfio-pci: %#010x) links to %#x, not to an emulated capability",
		       link, le32(vpv + link), le32(vfio + link), next);
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
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	return test_harness_run(argc, argv);
}
