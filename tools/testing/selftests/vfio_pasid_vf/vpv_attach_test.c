// SPDX-License-Identifier: GPL-2.0
/*
 * PASID attach through the iommufd cdev of a VF bound to vfio-pasid-vf:
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT and VFIO_DEVICE_DETACH_IOMMUFD_PT with
 * VFIO_DEVICE_ATTACH_PASID / VFIO_DEVICE_DETACH_PASID, which the driver wires
 * to vfio_iommufd_physical_pasid_attach_ioas() and _detach_ioas().
 *
 *   vpv_attach_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 *
 * with the vpv_pf fixture loaded on the VF's PF (run.sh --suite emulation):
 * the PF has PASID, which intel-iommu (scalable mode, x-pasid-mode=on)
 * enables, and the open of the VF presents a PASID capability.  PASID attach
 * exists only on the cdev, so the tests open the VF there and nowhere else.
 *
 * As QEMU does, each test attaches the VF's RID and its PASIDs to hardware
 * page tables allocated with IOMMU_HWPT_ALLOC_PASID in one IOAS: iommufd
 * attaches a PASID only to such a HWPT, and only while the RID is not
 * attached to one without that flag (iommufd_hwpt_pasid_compat()), so the
 * IOAS's automatic domain, which libvfio's open attaches the RID to, would do
 * for neither.
 *
 * The fixture's pasid_disable turns the PF's PASID off under the open VF (as
 * the AMD IOMMU driver does on a domain switch of the PF).  While it is off,
 * the tests never call IOMMU_GET_HW_INFO on the VF: in 7.3,
 * iommufd_get_hw_info() reads the PF's PASID Control for a VF
 * (pci_pasid_status()) and hits a WARN_ON_ONCE() when its Enable is clear.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

static const char *vf_bdf;
static char pf_bdf[32];
static int vf_index;

#define offsetofend(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/* --- the ioctls, each returning 0 or -errno --- */

static int ioctl_err(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* VFIO_DEVICE_ATTACH_IOMMUFD_PT of PASID @pasid to @pt_id, the whole struct. */
static int pasid_attach(int fd, uint32_t pasid, uint32_t pt_id)
{
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.flags = VFIO_DEVICE_ATTACH_PASID,
		.pt_id = pt_id,
		.pasid = pasid,
	};

	return ioctl_err(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
}

static int pasid_detach(int fd, uint32_t pasid)
{
	struct vfio_device_detach_iommufd_pt de = {
		.argsz = sizeof(de),
		.flags = VFIO_DEVICE_DETACH_PASID,
		.pasid = pasid,
	};

	return ioctl_err(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de);
}

/* A paging HWPT in @iommu's IOAS for device @dev_id (@flags: IOMMU_HWPT_ALLOC_*), its id to @id. */
static int hwpt_alloc(struct iommu *iommu, uint32_t dev_id, uint32_t flags, uint32_t *id)
{
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = iommu->ioas_id,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	int ret = ioctl_err(iommu->iommufd, IOMMU_HWPT_ALLOC, &a);

	if (!ret)
		*id = a.out_hwpt_id;
	return ret;
}

/* IOMMU_DESTROY: -EBUSY while something (an attached PASID) still uses the object. */
static int destroy(struct iommu *iommu, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return ioctl_err(iommu->iommufd, IOMMU_DESTROY, &d);
}

/* "pasid_enabled N" in the fixture's pf_state: N, or -1. */
static int pf_pasid_enabled(void)
{
	char state[2048], *p;

	if (vpv_file_read(VPV_FIXTURE_DEBUGFS "/pf_state", state, sizeof(state)) < 0)
		return -1;
	p = strstr(state, "pasid_enabled ");
	return p ? atoi(p + strlen("pasid_enabled ")) : -1;
}

/* The VF's pf_pasid attribute: 1 "held", 0 "not held", -1 anything else. */
static int pf_pasid_held(void)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/pf_pasid", vf_bdf);
	if (vpv_file_read(path, buf, sizeof(buf)) < 0)
		return -1;
	return !strcmp(buf, "held\n") ? 1 : !strcmp(buf, "not held\n") ? 0 : -1;
}

/*
 * Kernel log records since vpv_kmsg_open() that start a WARN, BUG or Oops
 * report (one pass: a read of @kmsg consumes the records).
 */
static int kmsg_splats(int kmsg)
{
	static const char *const starts[] = { "WARNING:", "BUG:", "kernel BUG at", "Oops" };
	char rec[4096];
	unsigned int i;
	ssize_t len;
	int n = 0;

	/* One record per read; EAGAIN at the end, EPIPE if records were lost. */
	while ((len = read(kmsg, rec, sizeof(rec) - 1)) > 0 || (len < 0 && errno == EPIPE)) {
		if (len <= 0)
			continue;
		rec[len] = '\0';
		for (i = 0; i < ARRAY_SIZE(starts); i++)
			if (strstr(rec, starts[i])) {
				n++;
				break;
			}
	}
	return n;
}

/*
 * The VF open through its iommufd cdev, bound to libvfio's iommufd and IOAS,
 * its RID attached to a PASID-capable HWPT of the IOAS (rid_hwpt), and a
 * second PASID-capable HWPT of the IOAS for the PASIDs (hwpt).
 */
FIXTURE(cdev) {
	struct iommu *iommu;
	int fd;			/* the VF's cdev */
	uint32_t dev_id;	/* its iommufd device */
	uint32_t rid_hwpt;
	uint32_t hwpt;
	unsigned int width;	/* Max PASID Width of the presented PASID capability */
	bool pf_pasid_off;	/* teardown must run the fixture's pasid_enable */
};

FIXTURE_SETUP(cdev)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_region_info cfg_info = {
		.argsz = sizeof(cfg_info),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	const char *path;
	unsigned int pasid;
	uint16_t cap;

	self->fd = -1;
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	ASSERT_EQ(1, pf_pasid_enabled())
		TH_LOG("PF %s: PASID not enabled (fixture pf_state)", pf_bdf);

	self->iommu = iommu_init(MODE_IOMMUFD);
	path = vfio_pci_get_cdev_path(vf_bdf);
	self->fd = open(path, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", path, strerror(errno));
	free((void *)path);
	bind.iommufd = self->iommu->iommufd;
	ASSERT_EQ(0, ioctl_err(self->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	self->dev_id = bind.out_devid;

	/* The open presents PASID, so it holds the PF's. */
	ASSERT_EQ(0, ioctl_err(self->fd, VFIO_DEVICE_GET_REGION_INFO, &cfg_info));
	ASSERT_EQ(sizeof(cfg), pread(self->fd, cfg, sizeof(cfg), cfg_info.offset));
	pasid = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID);
	ASSERT_NE(0, pasid) TH_LOG("no PASID capability in the VF's chain through VFIO");
	ASSERT_EQ(1, pf_pasid_held()) TH_LOG("%s: pf_pasid does not read held", vf_bdf);
	memcpy(&cap, cfg + pasid + PCI_PASID_CAP, sizeof(cap));
	self->width = (cap & PCI_PASID_CAP_WIDTH) >> 8;
	ASSERT_LE(1, self->width) TH_LOG("presented Max PASID Width %u", self->width);

	ASSERT_EQ(0, hwpt_alloc(self->iommu, self->dev_id, IOMMU_HWPT_ALLOC_PASID,
				&self->rid_hwpt));
	at.pt_id = self->rid_hwpt;
	ASSERT_EQ(0, ioctl_err(self->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at));
	ASSERT_EQ(self->rid_hwpt, at.pt_id);
	ASSERT_EQ(0, hwpt_alloc(self->iommu, self->dev_id, IOMMU_HWPT_ALLOC_PASID, &self->hwpt));
}

FIXTURE_TEARDOWN(cdev)
{
	if (self->pf_pasid_off) {
		EXPECT_EQ(0, vpv_fixture_fault("pasid_enable"));
	}
	/* The close detaches whatever a test left attached. */
	if (self->fd >= 0) {
		EXPECT_EQ(0, close(self->fd));
	}
	if (self->iommu)
		iommu_cleanup(self->iommu);
}

/* --- with the PF's PASID held --- */

/*
 * The PASIDs from 1 up (the first 4, or as many as the presented Max PASID
 * Width allows: PASID 1 alone in the standard VM, whose QEMU 10.0
 * intel-iommu has ECAP.PSS 0, 2 PASIDs) attach to a PASID-capable HWPT (the
 * ioctl hands its id back), the IOAS maps and unmaps memory while they are
 * attached (the HWPT's domain is filled), and they detach.
 */
TEST_F(cdev, pasids_attach_to_a_hwpt_and_its_ioas_maps_dma)
{
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.flags = VFIO_DEVICE_ATTACH_PASID,
	};
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = self->iommu->ioas_id,
		.iova = 1ull << 30,
		.length = 2 * getpagesize(),
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = self->iommu->ioas_id,
		.iova = map.iova,
		.length = map.length,
	};
	uint32_t pasid, last = (1u << self->width) - 1;
	void *buf;

	if (last > 4)
		last = 4;
	ksft_print_msg("PASIDs 1..%u of Max PASID Width %u\n", last, self->width);
	for (pasid = 1; pasid <= last; pasid++) {
		at.pasid = pasid;
		at.pt_id = self->hwpt;
		ASSERT_EQ(0, ioctl_err(self->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at))
			TH_LOG("PASID %u", pasid);
		ASSERT_EQ(self->hwpt, at.pt_id);
	}

	buf = mmap(NULL, map.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x5a, map.length);
	map.user_va = (uintptr_t)buf;
	ASSERT_EQ(0, ioctl_err(self->iommu->iommufd, IOMMU_IOAS_MAP, &map));
	ASSERT_EQ(0, ioctl_err(self->iommu->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	ASSERT_EQ(map.length, unmap.length);
	ASSERT_EQ(0, munmap(buf, map.length));

	ASSERT_EQ(-EBUSY, destroy(self->iommu, self->hwpt));
	for (pasid = 1; pasid <= last; pasid++)
		ASSERT_EQ(0, pasid_detach(self->fd, pasid)) TH_LOG("PASID %u", pasid);
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt))
		TH_LOG("HWPT still in use after the detaches");
}

/*
 * An attached PASID attached again to another HWPT moves there (iommufd's
 * replace): the first HWPT is let go, the second is in use until the detach.
 */
TEST_F(cdev, an_attached_pasid_attached_again_moves_to_the_new_hwpt)
{
	uint32_t other;

	ASSERT_EQ(0, hwpt_alloc(self->iommu, self->dev_id, IOMMU_HWPT_ALLOC_PASID, &other));
	ASSERT_EQ(0, pasid_attach(self->fd, 1, self->hwpt));
	ASSERT_EQ(0, pasid_attach(self->fd, 1, other));
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt)) TH_LOG("the first HWPT still in use");
	ASSERT_EQ(-EBUSY, destroy(self->iommu, other));
	ASSERT_EQ(0, pasid_detach(self->fd, 1));
	ASSERT_EQ(0, destroy(self->iommu, other));
}

/*
 * Detach lets go of the HWPT: IOMMU_DESTROY is refused while the PASID is
 * attached and succeeds after the detach; the PASID then attaches again, to
 * a new HWPT.
 */
TEST_F(cdev, a_detached_pasid_releases_its_hwpt_and_attaches_again)
{
	uint32_t again;

	ASSERT_EQ(0, pasid_attach(self->fd, 1, self->hwpt));
	ASSERT_EQ(-EBUSY, destroy(self->iommu, self->hwpt));
	ASSERT_EQ(0, pasid_detach(self->fd, 1));
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt));
	ASSERT_EQ(0, hwpt_alloc(self->iommu, self->dev_id, IOMMU_HWPT_ALLOC_PASID, &again));
	ASSERT_EQ(0, pasid_attach(self->fd, 1, again));
	ASSERT_EQ(-EBUSY, destroy(self->iommu, again));
	ASSERT_EQ(0, pasid_detach(self->fd, 1));
	ASSERT_EQ(0, destroy(self->iommu, again));
}

/*
 * An argsz too short for the fields the flags use, or an unknown flag:
 * -EINVAL, for attach and detach, and nothing is attached.
 */
TEST_F(cdev, attach_and_detach_with_bad_argsz_or_flags_are_einval)
{
	const uint32_t attach_min = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	const uint32_t detach_min = offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	struct vfio_device_attach_iommufd_pt at;
	struct vfio_device_detach_iommufd_pt de;
	struct {
		uint32_t argsz, flags;
	} bad[] = {
		{ 0, VFIO_DEVICE_ATTACH_PASID },
		{ attach_min - 1, VFIO_DEVICE_ATTACH_PASID },	/* short of pt_id */
		{ attach_min, VFIO_DEVICE_ATTACH_PASID },	/* short of pasid */
		{ sizeof(at), VFIO_DEVICE_ATTACH_PASID | (1u << 1) },
		{ sizeof(at), 1u << 31 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		at = (struct vfio_device_attach_iommufd_pt) {
			.argsz = bad[i].argsz, .flags = bad[i].flags,
			.pt_id = self->hwpt, .pasid = 1,
		};
		EXPECT_EQ(-EINVAL, ioctl_err(self->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at))
			TH_LOG("attach argsz %u flags %#x", bad[i].argsz, bad[i].flags);
	}
	/* Nothing was attached: the HWPT has no user. */
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt));

	/* Detach, with PASID 1 attached: it stays attached (its HWPT in use). */
	ASSERT_EQ(0, hwpt_alloc(self->iommu, self->dev_id, IOMMU_HWPT_ALLOC_PASID, &self->hwpt));
	ASSERT_EQ(0, pasid_attach(self->fd, 1, self->hwpt));
	bad[1].argsz = detach_min - 1;			/* short of flags */
	bad[2].argsz = detach_min;			/* short of pasid */
	bad[3].argsz = sizeof(de);
	bad[4].argsz = sizeof(de);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		de = (struct vfio_device_detach_iommufd_pt) {
			.argsz = bad[i].argsz, .flags = bad[i].flags, .pasid = 1,
		};
		EXPECT_EQ(-EINVAL, ioctl_err(self->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de))
			TH_LOG("detach argsz %u flags %#x", bad[i].argsz, bad[i].flags);
	}
	ASSERT_EQ(-EBUSY, destroy(self->iommu, self->hwpt)) TH_LOG("a refused detach detached");
	ASSERT_EQ(0, pasid_detach(self->fd, 1));
}

/*
 * The limit is the presented Max PASID Width, which is what iommufd reports
 * (IOMMU_GET_HW_INFO out_max_pasid_log2): the last PASID below 2^width
 * attaches, 2^width is refused by the IOMMU core with -EINVAL
 * (iommu_attach_device_pasid(): pasid >= dev->iommu->max_pasids).
 */
TEST_F(cdev, pasid_beyond_max_pasid_width_is_einval_the_last_one_attaches)
{
	struct iommu_hw_info info = { .size = sizeof(info), .dev_id = self->dev_id };
	uint32_t max = 1u << self->width;

	/* The PF's PASID is on here (setup): no WARN from iommufd_get_hw_info(). */
	ASSERT_EQ(0, ioctl_err(self->iommu->iommufd, IOMMU_GET_HW_INFO, &info));
	ASSERT_EQ(self->width, info.out_max_pasid_log2);

	ASSERT_EQ(-EINVAL, pasid_attach(self->fd, max, self->hwpt)) TH_LOG("PASID %#x", max);
	ASSERT_EQ(-EINVAL, pasid_attach(self->fd, max << 1, self->hwpt))
		TH_LOG("PASID %#x", max << 1);
	ASSERT_EQ(0, pasid_attach(self->fd, max - 1, self->hwpt)) TH_LOG("PASID %#x", max - 1);
	ASSERT_EQ(0, pasid_detach(self->fd, max - 1));
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt));
}

/*
 * iommufd attaches a PASID only to a HWPT allocated with
 * IOMMU_HWPT_ALLOC_PASID: an IOAS (its automatic domain has no such flag)
 * or a HWPT without it is refused with -EINVAL.
 */
TEST_F(cdev, pasid_attach_needs_a_pasid_capable_hwpt)
{
	uint32_t plain;

	ASSERT_EQ(0, hwpt_alloc(self->iommu, self->dev_id, 0, &plain));
	EXPECT_EQ(-EINVAL, pasid_attach(self->fd, 1, plain));
	EXPECT_EQ(-EINVAL, pasid_attach(self->fd, 1, self->iommu->ioas_id));
	ASSERT_EQ(0, destroy(self->iommu, plain));
	ASSERT_EQ(0, pasid_attach(self->fd, 1, self->hwpt));
}

/* --- after the PF's PASID is lost (fixture pasid_disable) --- */

/*
 * A new PASID attach while the open presents PASID and the PF's PASID is
 * off is refused with -ENXIO, and nothing is attached.
 */
TEST_F(cdev, new_pasid_attach_is_enxio_while_the_pfs_pasid_is_off)
{
	int kmsg = vpv_kmsg_open();

	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, vpv_fixture_fault("pasid_disable"));
	self->pf_pasid_off = true;
	ASSERT_EQ(0, pf_pasid_enabled());

	EXPECT_EQ(-ENXIO, pasid_attach(self->fd, 1, self->hwpt));
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt))
		TH_LOG("a refused attach left the HWPT in use");
	ASSERT_EQ(0, kmsg_splats(kmsg));
	close(kmsg);
}

/*
 * A PASID attached before the PF's PASID went off stays attached (a replace
 * is refused with -ENXIO) and detaches: the detach succeeds and lets go of
 * the HWPT, with no WARN or BUG.
 */
TEST_F(cdev, a_pasid_attached_before_the_loss_detaches_and_releases_its_hwpt)
{
	int kmsg = vpv_kmsg_open();

	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, pasid_attach(self->fd, 1, self->hwpt));
	ASSERT_EQ(0, vpv_fixture_fault("pasid_disable"));
	self->pf_pasid_off = true;
	ASSERT_EQ(0, pf_pasid_enabled());

	ASSERT_EQ(-EBUSY, destroy(self->iommu, self->hwpt));
	/* A replace is an attach: refused too, and the attachment stays. */
	EXPECT_EQ(-ENXIO, pasid_attach(self->fd, 1, self->hwpt));
	ASSERT_EQ(-EBUSY, destroy(self->iommu, self->hwpt));
	ASSERT_EQ(0, pasid_detach(self->fd, 1));
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt)) TH_LOG("the detach left the HWPT in use");
	ASSERT_EQ(0, kmsg_splats(kmsg));
	close(kmsg);
}

/*
 * A PASID attached before the PF's PASID went off and never detached: the
 * close of the VF detaches it (the HWPT can go), with no WARN or BUG.
 */
TEST_F(cdev, a_pasid_attached_before_the_loss_is_released_at_close)
{
	int kmsg = vpv_kmsg_open();

	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, pasid_attach(self->fd, 1, self->hwpt));
	ASSERT_EQ(0, vpv_fixture_fault("pasid_disable"));
	self->pf_pasid_off = true;
	ASSERT_EQ(0, pf_pasid_enabled());

	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, pf_pasid_held());
	ASSERT_EQ(0, destroy(self->iommu, self->hwpt)) TH_LOG("the close left the HWPT in use");
	ASSERT_EQ(0, kmsg_splats(kmsg));
	close(kmsg);
}

int main(int argc, char *argv[])
{
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	return test_harness_run(argc, argv);
}
