// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_DEVICE_FEATURE_PASID_VF (include/uapi/linux/vfio_pasid_vf.h) on a VF
 * bound to vfio-pasid-vf, issued on the VFIO device fd exactly as a VMM does:
 * PROBE, GET (the PF's raw PASID/PRI registers, where the open presents the
 * emulated capabilities, the PF PASID user state) and SET (place the
 * emulated capabilities at chosen offsets, or hide them).
 *
 *   vpv_feature_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 *
 * with the vpv_pf fixture loaded on the VF's PF (run.sh --suite emulation:
 * PASID and PRI on the PF, PRI enabled, VF capabilities that vfio-pci hides,
 * hidden registers).  Expected values come from the PF's config space
 * (sysfs), the fixture's parameters and debugfs, the VF's config space
 * through VFIO and sysfs, vfio-pci's view of the same VF, and the header;
 * never from the driver's own reasoning.  Free room for SET is chosen at
 * runtime from the VF's raw capability chain (sysfs), the lengths the PCIe
 * spec gives its capabilities, and the fixture's layout.
 *
 * The feature does not depend on the IOMMU mode: the tests run on the
 * iommufd cdev (variant iommufd), and one GET test runs on the device fd of
 * a legacy VFIO group (variant vfio_type1v2_iommu).  run.sh's -V options
 * leave out whichever mode it is not asked for.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

/*
 * The uAPI under test, from the repository (include/uapi/linux), or from a
 * kernel tree that carries it at the same place when this directory is copied
 * to its tools/testing/selftests/vfio_pasid_vf.
 */
#include "../../../../include/uapi/linux/vfio_pasid_vf.h"

/* The payloads of the first version of the feature: GET, SET. */
#define INFO_SIZE	sizeof(struct vfio_device_feature_pasid_vf)
#define SET_SIZE	sizeof(struct vfio_device_feature_pasid_vf_set)
_Static_assert(INFO_SIZE == 32, "GET payload, first version");
_Static_assert(SET_SIZE == 12, "SET payload, first version");

#define FEAT		VFIO_DEVICE_FEATURE_PASID_VF
#define GET		(VFIO_DEVICE_FEATURE_GET | FEAT)
#define SET		(VFIO_DEVICE_FEATURE_SET | FEAT)
#define PROBE		(VFIO_DEVICE_FEATURE_PROBE | FEAT)

/* The bits the PCIe spec defines in the PASID Capability and the Page Request Status registers. */
#define PASID_CAP_DEFINED	(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV | PCI_PASID_CAP_WIDTH)
#define PRI_STATUS_DEFINED	(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI | \
				 PCI_PRI_STATUS_STOPPED | PCI_PRI_STATUS_PASID)

/* PF-wide Page Request events (RW1C) that GET does not show. */
#define PRI_EVENTS		(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI)

/* The largest SET payload the kernel looks at (the header: -E2BIG beyond). */
#define SET_MAX		4096

#define CFG_SIZE	PCI_CFG_SPACE_EXP_SIZE
#define EXT_START	0x100

static const char *vf_bdf;
static char pf_bdf[32];
static int vf_index;

/* --- the ioctl --- */

static int get(int fd, struct vfio_device_feature_pasid_vf *info)
{
	memset(info, 0, sizeof(*info));
	return vpv_feature(fd, GET, info, sizeof(*info));
}

static int set(int fd, uint32_t flags, uint16_t pasid, uint16_t pri)
{
	struct vfio_device_feature_pasid_vf_set s = {
		.flags = flags, .pasid_offset = pasid, .pri_offset = pri,
	};

	return vpv_feature(fd, SET, &s, sizeof(s));
}

static int set_offsets(int fd, uint16_t pasid, uint16_t pri)
{
	return set(fd, VFIO_PASID_VF_SET_OFFSETS, pasid, pri);
}

/* --- config space --- */

/* The VF's 4K config space through VFIO: 0 or -errno. */
static int vfio_cfg(struct vfio_pci_device *dev, uint8_t *cfg)
{
	return vpv_vfio_cfg_rw(dev, false, 0, cfg, CFG_SIZE);
}

/* Offset of capability @id in @caps[@n] (vpv_ecap_chain()), 0 if it is not there. */
static unsigned int find(const struct vpv_ecap *caps, int n, unsigned int id)
{
	const struct vpv_ecap *cap = vpv_ecap_entry(caps, n, id);

	return cap ? cap->off : 0;
}

/* --- the PF and the fixture, outside VFIO --- */

/* The PF's PASID and PRI registers, from its config space through sysfs. */
struct pf_regs {
	unsigned int pasid, pri;	/* offsets of the capabilities */
	uint8_t pasid_ver, pri_ver;
	uint16_t pasid_cap, pasid_ctrl, pri_status;
	uint32_t pri_capacity;
};

static int pf_read(struct pf_regs *r)
{
	static uint8_t cfg[CFG_SIZE];
	int ret = vpv_cfg_read(pf_bdf, 0, cfg, sizeof(cfg));

	if (ret)
		return ret;
	memset(r, 0, sizeof(*r));
	r->pasid = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID);
	r->pri = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PRI);
	if (r->pasid) {
		r->pasid_ver = PCI_EXT_CAP_VER(vpv_le32(cfg + r->pasid));
		r->pasid_cap = vpv_le16(cfg + r->pasid + PCI_PASID_CAP);
		r->pasid_ctrl = vpv_le16(cfg + r->pasid + PCI_PASID_CTRL);
	}
	if (r->pri) {
		r->pri_ver = PCI_EXT_CAP_VER(vpv_le32(cfg + r->pri));
		r->pri_status = vpv_le16(cfg + r->pri + PCI_PRI_STATUS);
		r->pri_capacity = vpv_le32(cfg + r->pri + PCI_PRI_MAX_REQ);
	}
	return 0;
}

/* A vpv_pf module parameter as a number (bools: Y 1, N 0); -1 if it cannot be read. */
static long fixture_param(const char *name)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), "/sys/module/vpv_pf/parameters/%s", name);
	if (vpv_file_read(path, val, sizeof(val)) <= 0)
		return -1;
	if (val[0] == 'Y' || val[0] == 'N')
		return val[0] == 'Y';
	return strtol(val, NULL, 0);
}

/* "KEY N" in the fixture's pf_state: N, or -1. */
static int pf_state(const char *key)
{
	char state[2048], want[64], *p;

	if (vpv_file_read(VPV_FIXTURE_DEBUGFS "/pf_state", state, sizeof(state)) < 0)
		return -1;
	snprintf(want, sizeof(want), "\n%s ", key);
	p = strstr(state, want);
	return p ? (int)strtol(p + strlen(want), NULL, 0) : -1;
}

/* The fixture's layout file. */
static int fixture_layout(char *buf, size_t len)
{
	return vpv_file_read(VPV_FIXTURE_DEBUGFS "/layout", buf, len);
}

/* --- the fixture: the VF open --- */

FIXTURE(feature) {
	struct iommu *iommu;
	struct vfio_pci_device *dev;
	struct pf_regs pf;
	struct vfio_device_feature_pasid_vf info;	/* GET right after the open */
	unsigned int pasid, pri;	/* the emulated capabilities, by a chain walk through VFIO */
	bool pf_pasid_off;		/* teardown runs the fixture's pasid_enable */
	bool admin_entry;		/* teardown deletes the VF's administrator entry */
	bool rebind;			/* teardown binds the VF to vfio-pasid-vf again */
	bool pri_events;		/* teardown clears RF and UPRGI in the PF's PRI Status */
};

FIXTURE_VARIANT(feature) {
	const char *iommu_mode;
};

/* The feature does not depend on the IOMMU mode: the cdev (iommufd) alone. */
FIXTURE_VARIANT_ADD_IOMMU_MODE(iommufd, feature);

static void open_vf(struct __test_metadata *_metadata, FIXTURE_DATA(feature) *self)
{
	static uint8_t cfg[CFG_SIZE];
	struct vpv_ecap caps[64];
	int n;

	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	n = vpv_ecap_chain(cfg, caps, 64);
	ASSERT_LE(0, n) TH_LOG("the VF's chain through VFIO loops");
	self->pasid = find(caps, n, PCI_EXT_CAP_ID_PASID);
	self->pri = find(caps, n, PCI_EXT_CAP_ID_PRI);
}

static void close_vf(FIXTURE_DATA(feature) *self)
{
	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	self->dev = NULL;
}

static void reopen(struct __test_metadata *_metadata, FIXTURE_DATA(feature) *self)
{
	close_vf(self);
	open_vf(_metadata, self);
}

FIXTURE_SETUP(feature)
{
	ASSERT_EQ(0, pf_read(&self->pf));
	if (!self->pf.pasid || !self->pf.pri)
		SKIP(return, "PF %s has no PASID or no PRI capability: load the vpv_pf fixture",
		     pf_bdf);
	ASSERT_EQ(1, pf_state("pasid_enabled")) TH_LOG("the PF's PASID is not enabled");
	ASSERT_EQ(1, pf_state("pri_enabled")) TH_LOG("the PF's PRI is not enabled");

	ASSERT_EQ(0, vpv_ensure_bound(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(variant->iommu_mode);
	open_vf(_metadata, self);
	ASSERT_NE(0, self->pasid) TH_LOG("no PASID capability in the VF's chain through VFIO");
	ASSERT_NE(0, self->pri) TH_LOG("no PRI capability in the VF's chain through VFIO");
	ASSERT_EQ(0, get(self->dev->fd, &self->info));
}

FIXTURE_TEARDOWN(feature)
{
	uint16_t events = PRI_EVENTS;
	char key[64];

	if (self->pf_pasid_off)
		EXPECT_EQ(0, vpv_fixture_fault("pasid_enable"));
	if (self->pri_events)
		EXPECT_EQ(0, vpv_cfg_write(pf_bdf, self->pf.pri + PCI_PRI_STATUS, &events,
					   sizeof(events)));
	if (self->admin_entry) {
		snprintf(key, sizeof(key), "%s", vf_bdf);
		EXPECT_EQ(0, vpv_file_write(VPV_OFFSETS, key));
	}
	close_vf(self);
	if (self->rebind)
		EXPECT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	if (self->iommu)
		iommu_cleanup(self->iommu);
}

/* The VF's administrator entry "VF,@offsets"; teardown deletes it. */
static int admin_set(FIXTURE_DATA(feature) *self, const char *offsets)
{
	char entry[96];
	int ret;

	snprintf(entry, sizeof(entry), "%s,%s", vf_bdf, offsets);
	ret = vpv_file_write(VPV_OFFSETS, entry);
	if (!ret)
		self->admin_entry = true;
	return ret;
}

/*
 * GET's fields about the PF are the PF's registers now (sysfs) and what the
 * fixture was loaded with.
 */
static void check_pf_fields(struct __test_metadata *_metadata,
			    const struct vfio_device_feature_pasid_vf *info)
{
	long width = fixture_param("pasid_width"), exec = fixture_param("pasid_exec");
	long priv = fixture_param("pasid_priv"), rsvd = fixture_param("pasid_cap_rsvd");
	long reqs = fixture_param("pri_reqs"), pasid_req = fixture_param("pri_pasid_required");
	long pasid_ver = fixture_param("pasid_ver"), pri_ver = fixture_param("pri_ver");
	struct pf_regs pf;

	ASSERT_EQ(0, pf_read(&pf));
	ASSERT_NE(0, pf.pasid);
	ASSERT_NE(0, pf.pri);
	EXPECT_EQ(sizeof(*info), info->size);
	EXPECT_EQ(VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI,
		  info->flags & (VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI));
	EXPECT_EQ(pf.pasid_ver, info->pasid_version);
	EXPECT_EQ(pf.pasid_cap, info->pasid_cap);
	EXPECT_EQ(pf.pasid_ctrl, info->pasid_ctrl);
	EXPECT_EQ(pf.pri_ver, info->pri_version);
	/* Raw, but for the PF-wide events Response Failure and Unexpected PRG Index. */
	EXPECT_EQ(pf.pri_status & ~PRI_EVENTS, info->pri_status);
	EXPECT_EQ(pf.pri_capacity, info->pri_capacity);
	EXPECT_EQ(PASID_CAP_DEFINED, info->pasid_cap_known);
	EXPECT_EQ(PRI_STATUS_DEFINED, info->pri_status_known);

	/* The same, from what the fixture was told. */
	ASSERT_LE(0, width);
	ASSERT_LE(0, exec);
	ASSERT_LE(0, priv);
	ASSERT_LE(0, rsvd);
	ASSERT_LE(0, reqs);
	ASSERT_LE(0, pasid_req);
	ASSERT_LE(0, pasid_ver);
	ASSERT_LE(0, pri_ver);
	EXPECT_EQ(width, (info->pasid_cap & PCI_PASID_CAP_WIDTH) >> 8);
	EXPECT_EQ(exec, !!(info->pasid_cap & PCI_PASID_CAP_EXEC));
	EXPECT_EQ(priv, !!(info->pasid_cap & PCI_PASID_CAP_PRIV));
	EXPECT_EQ(rsvd & ~PASID_CAP_DEFINED, info->pasid_cap & ~PASID_CAP_DEFINED);
	EXPECT_EQ(pasid_ver, info->pasid_version);
	EXPECT_EQ(reqs, info->pri_capacity);
	EXPECT_EQ(pasid_req, !!(info->pri_status & PCI_PRI_STATUS_PASID));
	EXPECT_EQ(pri_ver, info->pri_version);
	/* PASID is enabled on the PF (by intel-iommu; setup checks the fixture's pf_state). */
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, info->pasid_ctrl & PCI_PASID_CTRL_ENABLE);
}

/*
 * GET's fields about the open are what the VF's config space through VFIO
 * shows: the chain finds the emulated capabilities at pasid_offset and
 * pri_offset, and pasid_cap_presented is what their Capability register reads.
 */
static void check_vf_fields(struct __test_metadata *_metadata, struct vfio_pci_device *dev,
			    const struct vfio_device_feature_pasid_vf *info)
{
	static uint8_t cfg[CFG_SIZE];
	struct vpv_ecap caps[64];
	int n;

	ASSERT_EQ(0, vfio_cfg(dev, cfg));
	n = vpv_ecap_chain(cfg, caps, 64);
	ASSERT_LE(0, n) TH_LOG("the VF's chain through VFIO loops");
	EXPECT_EQ(find(caps, n, PCI_EXT_CAP_ID_PASID), info->pasid_offset);
	EXPECT_EQ(find(caps, n, PCI_EXT_CAP_ID_PRI), info->pri_offset);
	ASSERT_NE(0, info->pasid_offset);
	EXPECT_EQ(vpv_le16(cfg + info->pasid_offset + PCI_PASID_CAP), info->pasid_cap_presented);
	/* A bit the driver does not understand (a future PF's) is never presented. */
	EXPECT_EQ(0, info->pasid_cap_presented & ~info->pasid_cap_known)
		TH_LOG("presented %#x, known %#x", info->pasid_cap_presented, info->pasid_cap_known);
	/* What is presented of the PF's capability is no more than the PF has. */
	EXPECT_EQ(0, info->pasid_cap_presented & ~info->pasid_cap & ~PCI_PASID_CAP_WIDTH);
	EXPECT_LE(info->pasid_cap_presented & PCI_PASID_CAP_WIDTH,
		  info->pasid_cap & PCI_PASID_CAP_WIDTH);
}

/* Probe */

/* PROBE with GET, SET, both or neither: 0, and the payload is left alone. */
TEST_F(feature, probe_with_get_set_or_both_returns_0_and_touches_no_payload)
{
	uint32_t flags[] = { PROBE, PROBE | VFIO_DEVICE_FEATURE_GET,
			     PROBE | VFIO_DEVICE_FEATURE_SET,
			     PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET };
	uint8_t buf[INFO_SIZE], want[INFO_SIZE];
	unsigned int i;

	memset(want, 0xa5, sizeof(want));
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		EXPECT_EQ(0, vpv_feature(self->dev->fd, flags[i], NULL, 0)) TH_LOG("flags %#x", flags[i]);
		memcpy(buf, want, sizeof(buf));
		EXPECT_EQ(0, vpv_feature(self->dev->fd, flags[i], buf, sizeof(buf)))
			TH_LOG("flags %#x, 32-byte payload", flags[i]);
		EXPECT_EQ(0, memcmp(buf, want, sizeof(buf))) TH_LOG("flags %#x wrote", flags[i]);
	}
}

/* The VFIO core */

/* Flags outside index, GET, SET and PROBE: -EINVAL, whatever else is set. */
TEST_F(feature, unknown_flag_bits_are_einval)
{
	uint32_t bits[] = { 1u << 19, 1u << 24, 1u << 31 };
	uint8_t buf[INFO_SIZE];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, PROBE | bits[i], NULL, 0))
			TH_LOG("PROBE | %#x", bits[i]);
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, GET | bits[i], buf, sizeof(buf)))
			TH_LOG("GET | %#x", bits[i]);
	}
}

/* GET and SET together without PROBE: -EINVAL; neither of them nor PROBE: -EINVAL. */
TEST_F(feature, get_with_set_or_neither_without_probe_is_einval)
{
	uint8_t buf[INFO_SIZE] = { 0 };

	EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, GET | SET, buf, sizeof(buf)));
	EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, FEAT, buf, sizeof(buf)));
	EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, FEAT, NULL, 0));
}

/* An argsz shorter than struct vfio_device_feature: -EINVAL. */
TEST_F(feature, argsz_shorter_than_struct_vfio_device_feature_is_einval)
{
	struct vfio_device_feature f;
	uint32_t argsz;

	for (argsz = 0; argsz < sizeof(f); argsz++) {
		f = (struct vfio_device_feature){ .argsz = argsz, .flags = PROBE };
		EXPECT_EQ(-EINVAL, ioctl(self->dev->fd, VFIO_DEVICE_FEATURE, &f) ? -errno : 0)
			TH_LOG("argsz %u", argsz);
	}
}

/* The argument and the payload where the kernel cannot reach them. */

TEST_F(feature, a_null_argument_is_efault)
{
	EXPECT_EQ(-EFAULT, ioctl(self->dev->fd, VFIO_DEVICE_FEATURE, NULL) ? -errno : 0);
}

/*
 * A header on the last bytes of a page: its payload starts at @payload bytes
 * past it and runs into the next page, which is not mapped.  Returns the
 * header, or NULL; *map is what to munmap() (one page).
 */
static struct vfio_device_feature *header_before_a_hole(size_t payload, void **map)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	if (munmap(m + page, page)) {
		munmap(m, 2 * page);
		return NULL;
	}
	*map = m;
	return (void *)(m + page - sizeof(struct vfio_device_feature) - payload);
}

/* A payload in unmapped memory: -EFAULT for GET and for SET, and the open is unchanged. */
TEST_F(feature, get_and_set_with_an_unmapped_payload_are_efault)
{
	struct vfio_device_feature_pasid_vf info;
	struct vfio_device_feature *f;
	void *map;

	f = header_before_a_hole(0, &map);
	ASSERT_NE(NULL, f);
	*f = (struct vfio_device_feature){ .argsz = sizeof(*f) + INFO_SIZE, .flags = GET };
	EXPECT_EQ(-EFAULT, ioctl(self->dev->fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0) TH_LOG("GET");
	*f = (struct vfio_device_feature){ .argsz = sizeof(*f) + SET_SIZE, .flags = SET };
	EXPECT_EQ(-EFAULT, ioctl(self->dev->fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0) TH_LOG("SET");
	ASSERT_EQ(0, munmap(map, sysconf(_SC_PAGESIZE)));
	ASSERT_EQ(0, vpv_feature(self->dev->fd, GET, &info, sizeof(info)));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info))) TH_LOG("GET after the faults");
}

/*
 * argsz up to 4 GiB over a 32-byte payload followed by unmapped memory: GET
 * writes its 32 bytes and nothing past them (it would fault); SET is -E2BIG.
 */
TEST_F(feature, a_huge_argsz_gets_32_bytes_and_sets_nothing)
{
	struct vfio_device_feature_pasid_vf_set s = { .flags = VFIO_PASID_VF_SET_HIDE };
	struct vfio_device_feature_pasid_vf info;
	struct vfio_device_feature *f;
	void *map;

	f = header_before_a_hole(INFO_SIZE, &map);
	ASSERT_NE(NULL, f);
	*f = (struct vfio_device_feature){ .argsz = UINT32_MAX, .flags = GET };
	EXPECT_EQ(0, ioctl(self->dev->fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0) TH_LOG("GET");
	memcpy(&info, f->data, sizeof(info));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info))) TH_LOG("GET with argsz 4 GiB");
	*f = (struct vfio_device_feature){ .argsz = UINT32_MAX, .flags = SET };
	memcpy(f->data, &s, sizeof(s));
	EXPECT_EQ(-E2BIG, ioctl(self->dev->fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0) TH_LOG("SET");
	ASSERT_EQ(0, munmap(map, sysconf(_SC_PAGESIZE)));
	ASSERT_EQ(0, vpv_feature(self->dev->fd, GET, &info, sizeof(info)));
	EXPECT_EQ(0, info.flags & VFIO_PASID_VF_HIDDEN) TH_LOG("the refused SET hid the capabilities");
}

/*
 * The whole matrix: every combination of PROBE, GET and SET, for this feature
 * and for one nobody serves (0xf051), with no, one low and one high unknown
 * flag bit, for argsz around every limit (the header, each payload's first
 * version, SET's 4096-byte limit, 4 GiB), with the payload in memory and
 * running into an unmapped page.  The answer each must get, from the rules of
 * the VFIO core (vfio_ioctl_device_feature(), vfio_check_feature()) and of
 * <linux/vfio_pasid_vf.h>, in the order they apply:
 *   argsz below the 8-byte header, an unknown flag, GET with SET without
 *   PROBE: -EINVAL (the core); another feature: -ENOTTY (vfio-pci);
 *   PROBE: 0, payload untouched; neither GET nor SET: -EINVAL;
 *   a payload shorter than the operation's first version (GET 32, SET 12
 *   bytes): -EINVAL;
 *   SET over 4096 bytes: -E2BIG (the unmapped payload: -E2BIG or -EFAULT,
 *   whichever the driver checks first);
 *   a payload the kernel cannot reach: -EFAULT;
 *   GET: 0, its 32 bytes written, not a byte more; SET of the offsets the
 *   capabilities are at: 0.
 * No call may change what GET reports or write a byte where it must not.
 */
enum payload_kind { PAYLOAD_MAPPED, PAYLOAD_UNMAPPED };

static int matrix_expect(uint32_t flags, uint32_t argsz, enum payload_kind kind, int *alt)
{
	const uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET |
			       VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;
	bool probe = flags & VFIO_DEVICE_FEATURE_PROBE, get = flags & VFIO_DEVICE_FEATURE_GET;
	bool set = flags & VFIO_DEVICE_FEATURE_SET;
	size_t len = argsz - sizeof(struct vfio_device_feature);

	*alt = 1;	/* no second answer */
	if (argsz < sizeof(struct vfio_device_feature) || (flags & ~known) ||
	    (!probe && get && set))
		return -EINVAL;
	if ((flags & VFIO_DEVICE_FEATURE_MASK) != FEAT)
		return -ENOTTY;
	if (probe)
		return 0;
	if (!get && !set)
		return -EINVAL;
	if (len < (set ? SET_SIZE : INFO_SIZE))
		return -EINVAL;
	if (set && len > SET_MAX) {
		if (kind == PAYLOAD_UNMAPPED)
			*alt = -EFAULT;
		return -E2BIG;
	}
	return kind == PAYLOAD_UNMAPPED ? -EFAULT : 0;
}

TEST_F(feature, every_flags_and_argsz_combination_gets_the_documented_answer)
{
	static const uint32_t ops[] = {
		0, VFIO_DEVICE_FEATURE_PROBE, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_SET,
		VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET,
		VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET,
		VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET,
		VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET,
	};
	static const uint32_t features[] = { FEAT, 0xf051 };
	static const uint32_t unknown[] = { 0, 1u << 19, 1u << 31 };
	const uint32_t hdr = sizeof(struct vfio_device_feature);
	const uint32_t argszs[] = {
		0, 1, hdr - 1, hdr, hdr + 1, hdr + SET_SIZE - 1, hdr + SET_SIZE, hdr + SET_SIZE + 1,
		hdr + INFO_SIZE - 1, hdr + INFO_SIZE, hdr + INFO_SIZE + 1, hdr + SET_MAX,
		hdr + SET_MAX + 1, 1u << 20, UINT32_MAX,
	};
	/* Room for the longest payload SET reads: SET_MAX bytes, then a marker. */
	const size_t room = hdr + SET_MAX + 64;
	struct vfio_device_feature_pasid_vf_set cur = {
		.flags = VFIO_PASID_VF_SET_OFFSETS, .pasid_offset = self->pasid,
		.pri_offset = self->pri,
	};
	struct vfio_device_feature_pasid_vf info;
	unsigned int calls = 0, wrong = 0, i, j, k, l, kind;
	uint8_t *buf = malloc(room), *want = malloc(room);
	long page = sysconf(_SC_PAGESIZE);

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, want);
	for (i = 0; i < ARRAY_SIZE(ops); i++)
	for (j = 0; j < ARRAY_SIZE(features); j++)
	for (k = 0; k < ARRAY_SIZE(unknown); k++)
	for (l = 0; l < ARRAY_SIZE(argszs); l++)
	for (kind = PAYLOAD_MAPPED; kind <= PAYLOAD_UNMAPPED; kind++) {
		uint32_t flags = ops[i] | features[j] | unknown[k], argsz = argszs[l];
		struct vfio_device_feature *f;
		int want_ret, alt, ret;
		void *map = NULL;

		if (kind == PAYLOAD_MAPPED) {
			/* The current offsets, then a pattern that no answer writes. */
			f = (void *)buf;
			memset(buf, 0xa5, room);
			memcpy(f->data, &cur, sizeof(cur));
			memset(f->data + sizeof(cur), 0, SET_MAX - sizeof(cur));
		} else {
			/* The header on a page's last 8 bytes, the payload unmapped. */
			f = header_before_a_hole(0, &map);
			ASSERT_NE(NULL, f);
		}
		f->argsz = argsz;
		f->flags = flags;
		if (kind == PAYLOAD_MAPPED)
			memcpy(want, buf, room);
		want_ret = matrix_expect(flags, argsz, kind, &alt);
		ret = ioctl(self->dev->fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0;
		calls++;
		if (ret != want_ret && ret != alt) {
			if (wrong++ < 10)
				TH_LOG("flags %#x argsz %#x, payload %s: %d, want %d",
				       flags, argsz, kind == PAYLOAD_MAPPED ? "mapped" : "unmapped",
				       ret, want_ret);
		} else if (kind == PAYLOAD_MAPPED) {
			/* GET wrote exactly its 32 bytes; nothing else wrote a byte. */
			bool got = !ret && (flags & VFIO_DEVICE_FEATURE_GET) &&
				   !(flags & VFIO_DEVICE_FEATURE_PROBE);
			size_t from = got ? hdr + INFO_SIZE : 0;

			if (got && memcmp(f->data, &self->info, INFO_SIZE)) {
				if (wrong++ < 10)
					TH_LOG("flags %#x argsz %#x: GET's payload differs from the first GET",
					       flags, argsz);
			} else if (memcmp(buf + from, want + from, room - from)) {
				if (wrong++ < 10)
					TH_LOG("flags %#x argsz %#x (%d): the kernel wrote the argument past byte %zu",
					       flags, argsz, ret, from);
			}
		}
		if (map)
			ASSERT_EQ(0, munmap(map, page));
	}
	free(buf);
	free(want);
	EXPECT_EQ(0, wrong) TH_LOG("%u of %u combinations got another answer", wrong, calls);
	EXPECT_EQ(ARRAY_SIZE(ops) * ARRAY_SIZE(features) * ARRAY_SIZE(unknown) *
		  ARRAY_SIZE(argszs) * 2, calls);
	/* Nothing moved, nothing was hidden. */
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info))) TH_LOG("GET after the matrix");
}

/* GET */

TEST_F(feature, get_reports_the_pfs_pasid_and_pri_registers)
{
	check_pf_fields(_metadata, &self->info);
	EXPECT_EQ(0, self->info.flags & VFIO_PASID_VF_HIDDEN);
}

/*
 * pasid_offset and pri_offset are where a chain walk through VFIO finds the
 * capabilities and where the placement attribute says they are;
 * pasid_cap_presented is their Capability register through VFIO.
 */
TEST_F(feature, get_reports_where_the_vf_shows_the_emulated_capabilities)
{
	char placement[512], want[64];

	check_vf_fields(_metadata, self->dev, &self->info);
	EXPECT_EQ(self->pasid, self->info.pasid_offset);
	EXPECT_EQ(self->pri, self->info.pri_offset);
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	snprintf(want, sizeof(want), "PASID at %#05x (", self->info.pasid_offset);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("placement: %s", placement);
	snprintf(want, sizeof(want), "PRI at %#05x (", self->info.pri_offset);
	EXPECT_NE(NULL, strstr(placement, want)) TH_LOG("placement: %s", placement);
}

/*
 * Response Failure and Unexpected PRG Index set in the PF's Page Request
 * Status (the fixture's pri_event: a device event, which another VF's user
 * may have caused) read 0 in pri_status; the rest is the PF's.
 */
TEST_F(feature, get_shows_no_pri_event_of_the_pf)
{
	uint16_t clear = PRI_EVENTS;
	struct pf_regs pf;
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(0, vpv_file_write(VPV_FIXTURE_DEBUGFS "/pri_event", "rf uprgi"));
	self->pri_events = true;
	ASSERT_EQ(0, pf_read(&pf));
	ASSERT_EQ(PRI_EVENTS, pf.pri_status & PRI_EVENTS)
		TH_LOG("the PF's Page Request Status after the event: %#x", pf.pri_status);
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, info.pri_status & PRI_EVENTS) TH_LOG("pri_status %#x", info.pri_status);
	EXPECT_EQ(pf.pri_status & ~PRI_EVENTS, info.pri_status);

	/* Cleared on the PF (RW1C): the rest reads the same. */
	ASSERT_EQ(0, vpv_cfg_write(pf_bdf, pf.pri + PCI_PRI_STATUS, &clear, sizeof(clear)));
	self->pri_events = false;
	ASSERT_EQ(0, pf_read(&pf));
	ASSERT_EQ(0, pf.pri_status & PRI_EVENTS);
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(pf.pri_status, info.pri_status);
}

/* The open presents PASID and the PF's PASID is on: the open holds it. */
TEST_F(feature, get_reports_the_pfs_pasid_held_while_pasid_is_presented)
{
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_HELD, self->info.pf_pasid);
}

/* A payload shorter than the first version of the struct: -EINVAL, nothing written. */
TEST_F(feature, get_with_a_payload_shorter_than_32_bytes_is_einval)
{
	size_t lens[] = { 0, 1, 4, 16, INFO_SIZE - 1 };
	uint8_t buf[INFO_SIZE], want[INFO_SIZE];
	unsigned int i;

	memset(want, 0xa5, sizeof(want));
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		memcpy(buf, want, sizeof(buf));
		EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, GET, buf, lens[i]))
			TH_LOG("%zu-byte payload", lens[i]);
		EXPECT_EQ(0, memcmp(buf, want, sizeof(buf))) TH_LOG("%zu-byte payload", lens[i]);
	}
}

/*
 * A longer payload (a later version's): the kernel writes its 32 bytes, says
 * so in size, and leaves the rest of the user's buffer alone.
 */
TEST_F(feature, get_with_a_longer_payload_writes_32_bytes_and_says_so)
{
	size_t lens[] = { INFO_SIZE + 1, 64, 4096 };
	static uint8_t buf[4096];
	struct vfio_device_feature_pasid_vf info;
	unsigned int i;
	size_t b, stray;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		memset(buf, 0xa5, sizeof(buf));
		ASSERT_EQ(0, vpv_feature(self->dev->fd, GET, buf, lens[i])) TH_LOG("%zu bytes", lens[i]);
		memcpy(&info, buf, sizeof(info));
		EXPECT_EQ(INFO_SIZE, info.size);
		EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info)))
			TH_LOG("%zu bytes: not what a 32-byte GET returns", lens[i]);
		for (b = sizeof(info), stray = 0; b < sizeof(buf); b++)
			stray += buf[b] != 0xa5;
		EXPECT_EQ(0, stray) TH_LOG("%zu bytes: %zu bytes written past 32", lens[i], stray);
	}
}

/* SET: the payload */

TEST_F(feature, set_with_a_payload_shorter_than_12_bytes_is_einval)
{
	struct vfio_device_feature_pasid_vf_set s = { .flags = VFIO_PASID_VF_SET_HIDE };
	size_t len;

	for (len = 0; len < sizeof(s); len++)
		EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, SET, &s, len)) TH_LOG("%zu bytes", len);
	/* Nothing was hidden. */
	ASSERT_EQ(0, get(self->dev->fd, &self->info));
	EXPECT_EQ(0, self->info.flags & VFIO_PASID_VF_HIDDEN);
	EXPECT_EQ(self->pasid, self->info.pasid_offset);
}

TEST_F(feature, set_with_a_payload_over_4096_bytes_is_e2big)
{
	static uint8_t buf[SET_MAX + 64];
	struct vfio_device_feature_pasid_vf_set s = { .flags = VFIO_PASID_VF_SET_HIDE };

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &s, sizeof(s));
	EXPECT_EQ(-E2BIG, vpv_feature(self->dev->fd, SET, buf, SET_MAX + 1));
	EXPECT_EQ(-E2BIG, vpv_feature(self->dev->fd, SET, buf, sizeof(buf)));
	ASSERT_EQ(0, get(self->dev->fd, &self->info));
	EXPECT_EQ(0, self->info.flags & VFIO_PASID_VF_HIDDEN);
}

/*
 * A longer payload (a later version's) with a non-zero byte past the 12 this
 * version knows: -E2BIG, nothing done; with zeros there: accepted.
 */
TEST_F(feature, set_with_a_longer_payload_takes_zero_extra_bytes_and_refuses_others)
{
	static uint8_t buf[SET_MAX];
	struct vfio_device_feature_pasid_vf_set s = { .flags = VFIO_PASID_VF_SET_HIDE };
	size_t bad[] = { sizeof(s), sizeof(s) + 3, 64, SET_MAX - 1 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &s, sizeof(s));
		buf[bad[i]] = 1;
		EXPECT_EQ(-E2BIG, vpv_feature(self->dev->fd, SET, buf, bad[i] + 1))
			TH_LOG("byte %zu of %zu non-zero", bad[i], bad[i] + 1);
		EXPECT_EQ(-E2BIG, vpv_feature(self->dev->fd, SET, buf, SET_MAX))
			TH_LOG("byte %zu of %d non-zero", bad[i], SET_MAX);
	}
	ASSERT_EQ(0, get(self->dev->fd, &self->info));
	EXPECT_EQ(0, self->info.flags & VFIO_PASID_VF_HIDDEN) TH_LOG("a refused SET hid");

	/* Zeros past the 12 bytes, up to 4096: accepted, and it hid. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &s, sizeof(s));
	ASSERT_EQ(0, vpv_feature(self->dev->fd, SET, buf, SET_MAX));
	ASSERT_EQ(0, get(self->dev->fd, &self->info));
	EXPECT_EQ(VFIO_PASID_VF_HIDDEN, self->info.flags & VFIO_PASID_VF_HIDDEN);
	ASSERT_EQ(0, vpv_feature(self->dev->fd, SET, buf, sizeof(s) + 4));
}

TEST_F(feature, set_with_nonzero_reserved_is_einval)
{
	struct vfio_device_feature_pasid_vf_set s = { .flags = VFIO_PASID_VF_SET_HIDE };
	uint32_t reserved[] = { 1, 0x100, 1u << 31 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		s.reserved = reserved[i];
		s.flags = VFIO_PASID_VF_SET_HIDE;
		EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, SET, &s, sizeof(s)))
			TH_LOG("HIDE, reserved %#x", reserved[i]);
		s.flags = VFIO_PASID_VF_SET_OFFSETS;
		EXPECT_EQ(-EINVAL, vpv_feature(self->dev->fd, SET, &s, sizeof(s)))
			TH_LOG("OFFSETS, reserved %#x", reserved[i]);
	}
	ASSERT_EQ(0, get(self->dev->fd, &self->info));
	EXPECT_EQ(0, self->info.flags & VFIO_PASID_VF_HIDDEN);
}

/*
 * flags must be exactly SET_OFFSETS or exactly SET_HIDE, and HIDE takes no
 * offset: anything else is -EINVAL, and nothing changes.
 */
TEST_F(feature, set_flags_other_than_exactly_offsets_or_hide_are_einval)
{
	static uint8_t before[CFG_SIZE], after[CFG_SIZE];
	uint32_t flags[] = { 0, VFIO_PASID_VF_SET_OFFSETS | VFIO_PASID_VF_SET_HIDE, 1u << 2,
			     VFIO_PASID_VF_SET_OFFSETS | 1u << 2, VFIO_PASID_VF_SET_HIDE | 1u << 31 };
	struct vfio_device_feature_pasid_vf info;
	unsigned int i;

	ASSERT_EQ(0, vfio_cfg(self->dev, before));
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		uint32_t f = flags[i];

		EXPECT_EQ(-EINVAL, set(self->dev->fd, f, 0, 0)) TH_LOG("flags %#x", f);
	}
	EXPECT_EQ(-EINVAL, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, self->pasid, 0));
	EXPECT_EQ(-EINVAL, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, self->pri));
	EXPECT_EQ(-EINVAL, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, self->pasid, self->pri));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info))) TH_LOG("GET changed");
	ASSERT_EQ(0, vfio_cfg(self->dev, after));
	EXPECT_EQ(0, memcmp(before, after, CFG_SIZE)) TH_LOG("config space changed");
}

/* SET_OFFSETS: refused offsets */

/* Below 0x100, past 0xffc or not dword aligned: -EINVAL, for either capability. */
TEST_F(feature, set_offsets_outside_0x100_0xffc_or_unaligned_are_einval)
{
	static uint8_t before[CFG_SIZE], after[CFG_SIZE];
	uint16_t bad[] = { 0x4, 0xfc, 0x1000, 0x1004, 0xfffc, 0x101, 0x102, 0x103, 0xffd, 0xffe };
	struct vfio_device_feature_pasid_vf info;
	unsigned int i;

	ASSERT_EQ(0, vfio_cfg(self->dev, before));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, bad[i], 0)) TH_LOG("PASID %#x", bad[i]);
		EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, 0, bad[i])) TH_LOG("PRI %#x", bad[i]);
	}
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info))) TH_LOG("GET changed");
	ASSERT_EQ(0, vfio_cfg(self->dev, after));
	EXPECT_EQ(0, memcmp(before, after, CFG_SIZE)) TH_LOG("config space changed");
}

/*
 * An -ENOSPC: the SET at @pasid, @pri is refused and changes nothing: GET
 * and the config space through VFIO are what they were.
 */
static void expect_enospc(struct __test_metadata *_metadata, FIXTURE_DATA(feature) *self,
			  uint16_t pasid, uint16_t pri, const char *why)
{
	static uint8_t before[CFG_SIZE], after[CFG_SIZE];
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(0, vfio_cfg(self->dev, before));
	EXPECT_EQ(-ENOSPC, set_offsets(self->dev->fd, pasid, pri))
		TH_LOG("PASID at %#x, PRI at %#x: %s", pasid, pri, why);
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info)))
		TH_LOG("GET changed after PASID at %#x, PRI at %#x (%s): offsets %#x %#x",
		       pasid, pri, why, info.pasid_offset, info.pri_offset);
	ASSERT_EQ(0, vfio_cfg(self->dev, after));
	EXPECT_EQ(0, memcmp(before, after, CFG_SIZE))
		TH_LOG("config space changed after PASID at %#x, PRI at %#x (%s)", pasid, pri, why);
}

/* Over a capability of the VF that vfio-pci shows: its header, or inside it. */
TEST_F(feature, set_offsets_over_a_vf_capability_are_enospc)
{
	static uint8_t cfg[CFG_SIZE];
	struct vpv_ecap caps[64];
	unsigned int cap = 0;
	int n, i;

	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	n = vpv_ecap_chain(cfg, caps, 64);
	ASSERT_LE(0, n);
	for (i = 0; i < n && !cap; i++)
		if (caps[i].id && caps[i].id != PCI_EXT_CAP_ID_PASID &&
		    caps[i].id != PCI_EXT_CAP_ID_PRI)
			cap = caps[i].off;
	ASSERT_NE(0, cap) TH_LOG("the VF shows no extended capability of its own");
	ksft_print_msg("VF capability %#x at %#x\n", PCI_EXT_CAP_ID(vpv_le32(cfg + cap)), cap);
	expect_enospc(_metadata, self, cap, 0, "PASID over the VF capability's header");
	expect_enospc(_metadata, self, 0, cap, "PRI over the VF capability's header");
	expect_enospc(_metadata, self, cap + 4, 0, "PASID inside the VF capability");
	expect_enospc(_metadata, self, cap - 4 >= EXT_START ? cap - 4 : cap, 0,
		      "PASID ending inside the VF capability");
}

/*
 * Over a capability that vfio-pci hides (the fixture's: an ID above
 * PCI_EXT_CAP_ID_MAX, or vf_head_id at 0x100): still the VF's.
 */
TEST_F(feature, set_offsets_over_a_capability_that_vfio_pci_hides_are_enospc)
{
	unsigned int id, off, len, hidden[8], n = 0, i;
	char layout[8192], *line;

	ASSERT_LT(0, fixture_layout(layout, sizeof(layout)));
	for (line = strtok(layout, "\n"); line && n < 8; line = strtok(NULL, "\n")) {
		if (sscanf(line, "vf_extcap %x %x %x", &id, &off, &len) == 3 &&
		    id > PCI_EXT_CAP_ID_MAX)
			hidden[n++] = off;
		if (sscanf(line, "vf_head_id %x", &id) == 1 && id > PCI_EXT_CAP_ID_MAX)
			hidden[n++] = EXT_START;
	}
	ASSERT_LT(0, n) TH_LOG("the VF has no capability that vfio-pci hides (run.sh gives it one)");
	for (i = 0; i < n; i++) {
		ksft_print_msg("hidden capability at %#x\n", hidden[i]);
		expect_enospc(_metadata, self, hidden[i], 0, "PASID over the hidden header");
		expect_enospc(_metadata, self, 0, hidden[i], "PRI over the hidden header");
		expect_enospc(_metadata, self, hidden[i] + 4, 0, "PASID inside the hidden capability");
	}
}

/*
 * Over a hidden register that reads non-zero (in no capability: the rest of
 * the capability's room is free).
 */
TEST_F(feature, set_offsets_over_a_nonzero_hidden_register_are_enospc)
{
	struct vpv_range emu[2] = {
		{ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF },
	};
	static bool busy[CFG_SIZE / 4];
	unsigned int off, val, at = 0, reg = 0;
	char layout[8192], *line;
	uint32_t now;

	ASSERT_EQ(0, vpv_vf_busy(vf_bdf, busy));
	ASSERT_LT(0, fixture_layout(layout, sizeof(layout)));
	/* A non-zero one with a free dword on one side, clear of the emulated capabilities. */
	for (line = strtok(layout, "\n"); line && !at; line = strtok(NULL, "\n")) {
		if (sscanf(line, "vf_hidden %x %x", &off, &val) != 2 || !val)
			continue;
		reg = off;
		if (off >= EXT_START + 4 && !busy[off / 4 - 1] &&
		    !vpv_overlaps(off - 4, off + 4, &emu[0]) &&
		    !vpv_overlaps(off - 4, off + 4, &emu[1]))
			at = off - 4;
		else if (off + 8 <= CFG_SIZE && !busy[off / 4 + 1] &&
			 !vpv_overlaps(off, off + 8, &emu[0]) &&
			 !vpv_overlaps(off, off + 8, &emu[1]))
			at = off;
	}
	ASSERT_NE(0, at) TH_LOG("no non-zero hidden register with free room beside it");
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, reg, &now, sizeof(now)));
	ASSERT_NE(0, now) TH_LOG("the hidden register at %#x reads 0", reg);
	ksft_print_msg("hidden register %#x = %#x; PASID at %#x\n", reg, now, at);
	expect_enospc(_metadata, self, at, 0, "PASID over a non-zero hidden register");
}

/* Both pinned where they overlap each other: -ENOSPC (PASID would win, PRI is refused). */
TEST_F(feature, set_offsets_overlapping_each_other_are_enospc)
{
	struct vpv_range emu[2] = {
		{ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF },
	};
	static bool busy[CFG_SIZE / 4];
	unsigned int at;

	ASSERT_EQ(0, vpv_vf_busy(vf_bdf, busy));
	at = vpv_lowest_free(busy, PCI_EXT_CAP_PRI_SIZEOF, emu, 2);
	ASSERT_NE(0, at) TH_LOG("no free room for PRI");
	expect_enospc(_metadata, self, at, at, "at the same offset");
	expect_enospc(_metadata, self, at + 4, at, "PASID inside PRI");
	expect_enospc(_metadata, self, at + 8, at, "PASID at the end of PRI");
}

/* Past the end of config space for the capability's length. */
TEST_F(feature, set_offsets_whose_capability_would_pass_0x1000_are_enospc)
{
	expect_enospc(_metadata, self, 0xffc, 0, "PASID at 0xffc");
	expect_enospc(_metadata, self, 0, 0xff4, "PRI at 0xff4");
	expect_enospc(_metadata, self, 0, 0xffc, "PRI at 0xffc");
}

/* SET_OFFSETS: moves */

/* The emulated capabilities of @cfg at @pasid and @pri as the chain shows them. */
static void expect_caps_at(struct __test_metadata *_metadata, const uint8_t *cfg,
			   unsigned int pasid, unsigned int pri)
{
	struct vpv_ecap caps[64];
	int n = vpv_ecap_chain(cfg, caps, 64);

	ASSERT_LE(0, n) TH_LOG("the chain through VFIO loops");
	EXPECT_EQ(pasid, find(caps, n, PCI_EXT_CAP_ID_PASID));
	EXPECT_EQ(pri, find(caps, n, PCI_EXT_CAP_ID_PRI));
}

/* The capabilities of the VF's own (not PASID, not PRI) that @cfg's chain lists. */
static int vf_caps(const uint8_t *cfg, struct vpv_ecap *out, int max)
{
	struct vpv_ecap caps[64];
	int n = vpv_ecap_chain(cfg, caps, 64), i, m = 0;

	for (i = 0; i < n && m < max; i++)
		if (caps[i].id != PCI_EXT_CAP_ID_PASID && caps[i].id != PCI_EXT_CAP_ID_PRI)
			out[m++] = caps[i];
	return n < 0 ? -1 : m;
}

/*
 * Both capabilities to free room clear of where they are: GET says so, the
 * chain shows them there with the registers the open started with (reset
 * values: nothing was written) and the VF's own capabilities as before, and
 * the old offsets read what the VF has there (0: free room).
 */
TEST_F(feature, set_offsets_moves_both_capabilities)
{
	static uint8_t before[CFG_SIZE], after[CFG_SIZE], raw[CFG_SIZE];
	struct vpv_range avoid[2] = {
		{ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF },
	};
	struct vpv_ecap caps_before[64], caps_after[64];
	unsigned int pasid, pri;
	int nb, na, ret;
	struct vfio_device_feature_pasid_vf info;

	ret = vpv_free_room(vf_bdf, avoid, 2, &pasid, &pri);
	ASSERT_EQ(0, ret) TH_LOG("no free room for PASID and PRI (PASID at %#x): %s", pasid,
				 strerror(-ret));
	ksft_print_msg("PASID %#x -> %#x, PRI %#x -> %#x\n", self->pasid, pasid, self->pri, pri);

	ASSERT_EQ(0, vfio_cfg(self->dev, before));
	ASSERT_EQ(0, set_offsets(self->dev->fd, pasid, pri));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(pasid, info.pasid_offset);
	EXPECT_EQ(pri, info.pri_offset);
	EXPECT_EQ(0, info.flags & VFIO_PASID_VF_HIDDEN);
	EXPECT_EQ(self->info.pasid_cap_presented, info.pasid_cap_presented);
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_HELD, info.pf_pasid);

	ASSERT_EQ(0, vfio_cfg(self->dev, after));
	expect_caps_at(_metadata, after, pasid, pri);
	/* Same ID and version, same registers (reset values) as at the old offsets. */
	EXPECT_EQ(vpv_le32(before + self->pasid) & 0xfffff, vpv_le32(after + pasid) & 0xfffff);
	EXPECT_EQ(0, memcmp(before + self->pasid + 4, after + pasid + 4,
			    PCI_EXT_CAP_PASID_SIZEOF - 4));
	EXPECT_EQ(vpv_le32(before + self->pri) & 0xfffff, vpv_le32(after + pri) & 0xfffff);
	EXPECT_EQ(0, memcmp(before + self->pri + 4, after + pri + 4, PCI_EXT_CAP_PRI_SIZEOF - 4));
	EXPECT_EQ(0, vpv_le16(after + pasid + PCI_PASID_CTRL));
	EXPECT_EQ(0, vpv_le16(after + pri + PCI_PRI_CTRL));
	EXPECT_EQ(info.pasid_cap_presented, vpv_le16(after + pasid + PCI_PASID_CAP));
	EXPECT_EQ(info.pri_capacity, vpv_le32(after + pri + PCI_PRI_MAX_REQ));

	/* The VF's own capabilities, in the same order. */
	nb = vf_caps(before, caps_before, 64);
	na = vf_caps(after, caps_after, 64);
	ASSERT_LE(0, nb);
	ASSERT_EQ(nb, na);
	EXPECT_EQ(0, memcmp(caps_before, caps_after, nb * sizeof(caps_before[0])));

	/* Nothing at the old offsets: the VF's bytes, free room. */
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, 0, raw, sizeof(raw)));
	EXPECT_EQ(0, memcmp(raw + self->pasid, after + self->pasid, PCI_EXT_CAP_PASID_SIZEOF))
		TH_LOG("old PASID offset %#x: %#010x %#010x through VFIO", self->pasid,
		       vpv_le32(after + self->pasid), vpv_le32(after + self->pasid + 4));
	EXPECT_EQ(0, memcmp(raw + self->pri, after + self->pri, PCI_EXT_CAP_PRI_SIZEOF))
		TH_LOG("old PRI offset %#x: %#010x through VFIO", self->pri,
		       vpv_le32(after + self->pri));
	EXPECT_EQ(0, vpv_le32(after + self->pasid));
	EXPECT_EQ(0, vpv_le32(after + self->pri));
}

/* A capability given no offset (0) goes where the driver's rules put it. */
TEST_F(feature, set_offsets_of_0_places_by_the_drivers_rules)
{
	static uint8_t cfg[CFG_SIZE];
	struct vpv_range avoid[2] = {
		{ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF },
	};
	static bool busy[CFG_SIZE / 4];
	unsigned int pasid;
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(0, vpv_vf_busy(vf_bdf, busy));
	pasid = vpv_lowest_free(busy, PCI_EXT_CAP_PASID_SIZEOF, avoid, 2);
	ASSERT_NE(0, pasid);

	/* PASID moved, PRI placed by the rules: wherever that is, the chain agrees. */
	ASSERT_EQ(0, set_offsets(self->dev->fd, pasid, 0));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(pasid, info.pasid_offset);
	ASSERT_NE(0, info.pri_offset);
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	expect_caps_at(_metadata, cfg, pasid, info.pri_offset);

	/* Both by the rules: back where the open put them. */
	ASSERT_EQ(0, set_offsets(self->dev->fd, 0, 0));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info)))
		TH_LOG("PASID at %#x, PRI at %#x; the open: %#x, %#x", info.pasid_offset,
		       info.pri_offset, self->info.pasid_offset, self->info.pri_offset);
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	expect_caps_at(_metadata, cfg, self->pasid, self->pri);
}

/*
 * The room the open's capabilities take is free for the new placement: PASID
 * where PRI is, PRI elsewhere.
 */
TEST_F(feature, set_offsets_may_use_the_room_of_the_current_capabilities)
{
	static uint8_t cfg[CFG_SIZE];
	struct vpv_range avoid[2] = {
		{ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF },
	};
	static bool busy[CFG_SIZE / 4];
	unsigned int pri;
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(0, vpv_vf_busy(vf_bdf, busy));
	pri = vpv_lowest_free(busy, PCI_EXT_CAP_PRI_SIZEOF, avoid, 2);
	ASSERT_NE(0, pri);
	ASSERT_EQ(0, set_offsets(self->dev->fd, self->pri, pri));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(self->pri, info.pasid_offset);
	EXPECT_EQ(pri, info.pri_offset);
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	expect_caps_at(_metadata, cfg, self->pri, pri);
}

/* The emulation works at the new offsets: PASID Control takes a write there. */
TEST_F(feature, moved_capabilities_are_emulated_at_their_new_offsets)
{
	struct vpv_range avoid[2] = {
		{ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF },
	};
	static bool busy[CFG_SIZE / 4];
	uint16_t ctrl = PCI_PASID_CTRL_ENABLE, back = 0;
	unsigned int pasid;

	ASSERT_EQ(0, vpv_vf_busy(vf_bdf, busy));
	pasid = vpv_lowest_free(busy, PCI_EXT_CAP_PASID_SIZEOF, avoid, 2);
	ASSERT_NE(0, pasid);
	ASSERT_EQ(0, set_offsets(self->dev->fd, pasid, self->pri));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, pasid + PCI_PASID_CTRL, &ctrl, sizeof(ctrl)));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, pasid + PCI_PASID_CTRL, &back, sizeof(back)));
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, back);
	/* The VF's own bytes there are still free room: the write did not reach it. */
	ASSERT_EQ(0, vpv_cfg_read(vf_bdf, pasid + PCI_PASID_CTRL, &back, sizeof(back)));
	EXPECT_EQ(0, back);
}

/* SET: busy */

/*
 * A write of an emulated byte (PASID Control, PRI Control) since the open
 * makes SET -EBUSY, for OFFSETS and HIDE, until the next open.  GET still
 * works and nothing changed.
 */
TEST_F(feature, set_after_a_write_of_an_emulated_register_is_ebusy_until_reopen)
{
	uint16_t zero = 0;
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, self->pasid + PCI_PASID_CTRL, &zero,
				     sizeof(zero)));
	EXPECT_EQ(-EBUSY, set_offsets(self->dev->fd, 0, 0));
	EXPECT_EQ(-EBUSY, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, 0));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info)));

	reopen(_metadata, self);
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, self->pri + PCI_PRI_CTRL, &zero,
				     sizeof(zero)));
	EXPECT_EQ(-EBUSY, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, 0));

	/* A new open starts afresh. */
	reopen(_metadata, self);
	EXPECT_EQ(0, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, 0));
}

/*
 * Reads of the emulated bytes, and a write outside them (the Command
 * register, with its value), leave SET possible.
 */
TEST_F(feature, set_after_reads_and_writes_outside_the_emulated_bytes_succeeds)
{
	static uint8_t cfg[CFG_SIZE];
	uint16_t cmd;
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, PCI_COMMAND, &cmd, sizeof(cmd)));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, PCI_COMMAND, &cmd, sizeof(cmd)));
	ASSERT_EQ(0, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, 0));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(VFIO_PASID_VF_HIDDEN, info.flags & VFIO_PASID_VF_HIDDEN);
}

/* SET_HIDE */

/*
 * HIDE: the config space through VFIO is byte for byte what vfio-pci shows
 * for the VF; GET says HIDDEN with both offsets 0, and the open still holds
 * the PF's PASID.  SET_OFFSETS then presents them again.
 */
TEST_F(feature, set_hide_shows_what_vfio_pci_shows_and_set_offsets_presents_again)
{
	static uint8_t vfio_pci[CFG_SIZE], hidden[CFG_SIZE];
	unsigned int off, diffs = 0, first = 0;
	struct vfio_device_feature_pasid_vf info;

	/* vfio-pci's view of the VF. */
	close_vf(self);
	self->rebind = true;
	ASSERT_EQ(0, vpv_bind(vf_bdf, VFIO_PCI_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, variant->iommu_mode, vfio_pci,
					      sizeof(vfio_pci)));
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->rebind = false;
	open_vf(_metadata, self);
	ASSERT_NE(0, self->pasid);
	ASSERT_EQ(0, get(self->dev->fd, &self->info));

	ASSERT_EQ(0, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, 0));
	ASSERT_EQ(0, vfio_cfg(self->dev, hidden));
	for (off = 0; off < CFG_SIZE; off++)
		if (hidden[off] != vfio_pci[off] && !diffs++)
			first = off;
	EXPECT_EQ(0, diffs) TH_LOG("%u bytes differ, first at %#x: vfio-pci %#x, hidden %#x",
				   diffs, first, vfio_pci[first], hidden[first]);
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(VFIO_PASID_VF_HIDDEN | VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI, info.flags);
	EXPECT_EQ(0, info.pasid_offset);
	EXPECT_EQ(0, info.pri_offset);
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_HELD, info.pf_pasid);
	check_pf_fields(_metadata, &info);

	/* Presented again, where the driver places them. */
	ASSERT_EQ(0, set_offsets(self->dev->fd, 0, 0));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, info.flags & VFIO_PASID_VF_HIDDEN);
	EXPECT_EQ(self->pasid, info.pasid_offset);
	EXPECT_EQ(self->pri, info.pri_offset);
	check_vf_fields(_metadata, self->dev, &info);
}

/* After HIDE, SET_OFFSETS with offsets presents them at those offsets. */
TEST_F(feature, set_offsets_after_hide_presents_at_the_given_offsets)
{
	static uint8_t cfg[CFG_SIZE];
	struct vpv_range avoid[2] = {
		{ self->pasid, self->pasid + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF },
	};
	unsigned int pasid, pri;
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(0, vpv_free_room(vf_bdf, avoid, 2, &pasid, &pri));

	ASSERT_EQ(0, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, 0));
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	expect_caps_at(_metadata, cfg, 0, 0);
	ASSERT_EQ(0, set_offsets(self->dev->fd, pasid, pri));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, info.flags & VFIO_PASID_VF_HIDDEN);
	EXPECT_EQ(pasid, info.pasid_offset);
	EXPECT_EQ(pri, info.pri_offset);
	check_vf_fields(_metadata, self->dev, &info);
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	expect_caps_at(_metadata, cfg, pasid, pri);
}

/* What the open does not present */

/*
 * An open that presents PRI but not PASID (the administrator's PASID offset
 * is over a VF capability): GET says PASID is the PF's but not presented and
 * not held; a PASID offset is -EINVAL, PRI still moves.
 */
TEST_F(feature, set_offset_for_a_capability_the_open_does_not_present_is_einval)
{
	static uint8_t cfg[CFG_SIZE];
	struct vpv_range avoid;
	unsigned int pasid, pri;
	struct vfio_device_feature_pasid_vf info;

	/* Every VF here has an extended capability at 0x100. */
	ASSERT_EQ(0, admin_set(self, "pasid=0x100"));
	reopen(_metadata, self);
	ASSERT_EQ(0, self->pasid) TH_LOG("PASID presented at %#x", self->pasid);
	ASSERT_NE(0, self->pri);
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI, info.flags);
	EXPECT_EQ(0, info.pasid_offset);
	EXPECT_EQ(self->pri, info.pri_offset);
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_NOT_HELD, info.pf_pasid);

	avoid = (struct vpv_range){ self->pri, self->pri + PCI_EXT_CAP_PRI_SIZEOF };
	ASSERT_EQ(0, vpv_free_room(vf_bdf, &avoid, 1, &pasid, &pri));
	EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, pasid, 0));
	EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, pasid, pri));
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	expect_caps_at(_metadata, cfg, 0, self->pri);

	ASSERT_EQ(0, set_offsets(self->dev->fd, 0, pri));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(0, info.pasid_offset);
	EXPECT_EQ(pri, info.pri_offset);
	ASSERT_EQ(0, vfio_cfg(self->dev, cfg));
	expect_caps_at(_metadata, cfg, 0, pri);
}

/*
 * An open that presents nothing (both administrator's offsets unusable):
 * GET says so (offsets 0, not HIDDEN, not held), and SET_OFFSETS is -EINVAL,
 * with or without offsets, and changes nothing (a SET_HIDE stays).
 */
TEST_F(feature, set_offsets_with_nothing_presented_is_einval)
{
	static uint8_t before[CFG_SIZE], after[CFG_SIZE];
	struct vfio_device_feature_pasid_vf info, again;

	ASSERT_EQ(0, admin_set(self, "pasid=0x100,pri=0x100"));
	reopen(_metadata, self);
	ASSERT_EQ(0, self->pasid);
	ASSERT_EQ(0, self->pri);
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI, info.flags);
	EXPECT_EQ(0, info.pasid_offset);
	EXPECT_EQ(0, info.pri_offset);
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_NOT_HELD, info.pf_pasid);
	check_pf_fields(_metadata, &info);

	ASSERT_EQ(0, vfio_cfg(self->dev, before));
	EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, 0, 0));
	EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, self->info.pasid_offset, 0));
	EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, 0, self->info.pri_offset));
	ASSERT_EQ(0, get(self->dev->fd, &again));
	EXPECT_EQ(0, memcmp(&info, &again, sizeof(info)));
	ASSERT_EQ(0, vfio_cfg(self->dev, after));
	EXPECT_EQ(0, memcmp(before, after, CFG_SIZE));

	/* Hidden, a refused SET_OFFSETS leaves it hidden. */
	ASSERT_EQ(0, set(self->dev->fd, VFIO_PASID_VF_SET_HIDE, 0, 0));
	EXPECT_EQ(-EINVAL, set_offsets(self->dev->fd, 0, 0));
	ASSERT_EQ(0, get(self->dev->fd, &again));
	EXPECT_EQ(VFIO_PASID_VF_HIDDEN, again.flags & VFIO_PASID_VF_HIDDEN)
		TH_LOG("a refused SET_OFFSETS un-hid");
}

/* The PF's PASID */

/*
 * The PF's PASID turned off under the open (the fixture's pasid_disable):
 * GET says LOST, and its pasid_ctrl is the PF's (Enable clear); turned on
 * again: HELD.
 */
TEST_F(feature, get_reports_the_pfs_pasid_lost_after_it_went_off_and_held_again)
{
	struct pf_regs pf;
	struct vfio_device_feature_pasid_vf info;

	ASSERT_EQ(VFIO_PASID_VF_PF_PASID_HELD, self->info.pf_pasid);
	ASSERT_EQ(0, vpv_fixture_fault("pasid_disable"));
	self->pf_pasid_off = true;
	ASSERT_EQ(0, pf_state("pasid_enabled"));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_LOST, info.pf_pasid);
	EXPECT_EQ(0, info.pasid_ctrl & PCI_PASID_CTRL_ENABLE);
	ASSERT_EQ(0, pf_read(&pf));
	EXPECT_EQ(pf.pasid_ctrl, info.pasid_ctrl);
	EXPECT_EQ(pf.pasid_cap, info.pasid_cap);
	EXPECT_EQ(self->info.pasid_offset, info.pasid_offset);

	ASSERT_EQ(0, vpv_fixture_fault("pasid_enable"));
	self->pf_pasid_off = false;
	ASSERT_EQ(0, get(self->dev->fd, &info));
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_HELD, info.pf_pasid);
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, info.pasid_ctrl & PCI_PASID_CTRL_ENABLE);
}

/* Another driver */

/*
 * The same VF under vfio-pci: the feature number is nobody's there, -ENOTTY
 * for PROBE, GET and SET.
 */
TEST_F(feature, vfio_pci_knows_no_such_feature_enotty)
{
	struct vfio_pci_device *dev;
	struct vfio_device_feature_pasid_vf_set s = { .flags = VFIO_PASID_VF_SET_HIDE };
	struct vfio_device_feature_pasid_vf info;

	close_vf(self);
	self->rebind = true;
	ASSERT_EQ(0, vpv_bind(vf_bdf, VFIO_PCI_DRIVER));
	dev = vfio_pci_device_init(vf_bdf, self->iommu);
	EXPECT_EQ(-ENOTTY, vpv_feature(dev->fd, PROBE | VFIO_DEVICE_FEATURE_GET, NULL, 0));
	EXPECT_EQ(-ENOTTY, vpv_feature(dev->fd, PROBE | VFIO_DEVICE_FEATURE_SET, NULL, 0));
	EXPECT_EQ(-ENOTTY, get(dev->fd, &info));
	EXPECT_EQ(-ENOTTY, vpv_feature(dev->fd, SET, &s, sizeof(s)));
	vfio_pci_device_cleanup(dev);
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->rebind = false;

	/* And back under vfio-pasid-vf, the feature is there again. */
	open_vf(_metadata, self);
	EXPECT_EQ(0, vpv_feature(self->dev->fd, PROBE | VFIO_DEVICE_FEATURE_GET, NULL, 0));
}

/* --- the legacy VFIO group path: GET on its device fd --- */

FIXTURE(group) {
	struct iommu *iommu;
	struct vfio_pci_device *dev;
};

FIXTURE_VARIANT(group) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_IOMMU_MODE(vfio_type1v2_iommu, group);

FIXTURE_SETUP(group)
{
	struct pf_regs pf;

	ASSERT_EQ(0, pf_read(&pf));
	if (!pf.pasid || !pf.pri)
		SKIP(return, "PF %s has no PASID or no PRI capability: load the vpv_pf fixture",
		     pf_bdf);
	ASSERT_EQ(0, vpv_ensure_bound(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(variant->iommu_mode);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
}

FIXTURE_TEARDOWN(group)
{
	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	if (self->iommu)
		iommu_cleanup(self->iommu);
}

TEST_F(group, probe_and_get_work_on_a_group_device_fd)
{
	struct vfio_device_feature_pasid_vf info;

	ASSERT_NE(0, self->dev->group_fd) TH_LOG("not opened through a VFIO group");
	EXPECT_EQ(0, vpv_feature(self->dev->fd, PROBE | VFIO_DEVICE_FEATURE_GET, NULL, 0));
	ASSERT_EQ(0, get(self->dev->fd, &info));
	check_pf_fields(_metadata, &info);
	check_vf_fields(_metadata, self->dev, &info);
	EXPECT_EQ(0, info.flags & VFIO_PASID_VF_HIDDEN);
	EXPECT_EQ(VFIO_PASID_VF_PF_PASID_HELD, info.pf_pasid);
}

int main(int argc, char *argv[])
{
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	return test_harness_run(argc, argv);
}
