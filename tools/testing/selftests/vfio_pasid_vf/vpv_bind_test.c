// SPDX-License-Identifier: GPL-2.0
/*
 * Binding: vfio-pasid-vf takes SR-IOV VFs through driver_override only, and
 * a bound VF opens in every IOMMU mode of libvfio (legacy group/container,
 * iommufd cdev).
 *
 *   vpv_bind_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 *
 * The functions that must be refused are the harness's choice, from the
 * environment: VPV_PF2, an SR-IOV PF other than the VF's, and VPV_NONVF, a
 * function that is not a VF.  The tests unbind them from their drivers, so
 * they cannot be any function sysfs lists (a root port, the VF's own PF,
 * whose unbinding removes the VF): run.sh picks a spare igb PF and a
 * pci-testdev.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#include "../../../../include/uapi/linux/vfio_pasid_vf.h"

static const char *vf_bdf;

static void assert_bound_to(struct __test_metadata *_metadata, const char *bdf,
			    const char *driver)
{
	char cur[64];

	ASSERT_EQ(0, vpv_driver_of(bdf, cur, sizeof(cur)));
	ASSERT_STREQ(driver, cur) TH_LOG("%s is bound to '%s', expected '%s'", bdf, cur, driver);
}

TEST(vf_binds_through_driver_override)
{
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	assert_bound_to(_metadata, vf_bdf, VPV_DRIVER);
}

TEST(vf_does_not_bind_without_driver_override)
{
	char path[256];
	int fd;

	ASSERT_EQ(0, vpv_unbind(vf_bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", VPV_DRIVER);
	fd = open(path, O_WRONLY);
	ASSERT_GE(fd, 0);
	/* The ID table is override-only: a plain bind finds no match. */
	ASSERT_EQ(-1, write(fd, vf_bdf, strlen(vf_bdf)));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	assert_bound_to(_metadata, vf_bdf, "");
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
}

static void expect_refused(struct __test_metadata *_metadata, const char *bdf,
			   const char *why)
{
	char prev[64];
	int kmsg;

	ASSERT_EQ(0, vpv_driver_of(bdf, prev, sizeof(prev)));
	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);

	EXPECT_EQ(-ENODEV, vpv_bind(bdf, VPV_DRIVER));
	assert_bound_to(_metadata, bdf, "");
	EXPECT_TRUE(vpv_kmsg_find(kmsg, why)) TH_LOG("no dmesg line with '%s'", why);
	close(kmsg);

	if (prev[0])
		ASSERT_EQ(0, vpv_bind(bdf, prev));
}

TEST(sriov_pf_is_refused_with_enodev)
{
	const char *pf = vpv_env("VPV_PF2");

	if (!pf)
		SKIP(return, "VPV_PF2 (a spare SR-IOV PF) is not set");
	expect_refused(_metadata, pf, "refusing an SR-IOV PF: ");
}

TEST(non_vf_function_is_refused_with_enodev)
{
	const char *bdf = vpv_env("VPV_NONVF");

	if (!bdf)
		SKIP(return, "VPV_NONVF (a function that is not a VF) is not set");
	expect_refused(_metadata, bdf,
		       "refusing a function that is not an SR-IOV VF: ");
}

/* Opening the VF works the same way through every VFIO IOMMU backend. */
FIXTURE(vf_open) {
	struct iommu *iommu;
	struct vfio_pci_device *device;
};

FIXTURE_VARIANT(vf_open) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(vf_open);

FIXTURE_SETUP(vf_open)
{
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(variant->iommu_mode);
	self->device = vfio_pci_device_init(vf_bdf, self->iommu);
}

FIXTURE_TEARDOWN(vf_open)
{
	vfio_pci_device_cleanup(self->device);
	iommu_cleanup(self->iommu);
}

TEST_F(vf_open, vendor_and_device_id_match_sysfs)
{
	unsigned int vendor, device;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", vf_bdf);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%x", &vendor));
	fclose(f);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", vf_bdf);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%x", &device));
	fclose(f);

	/* A VF's Vendor and Device ID registers read 0xffff (PCIe r6.0, 9.3.4.1.1);
	 * vfio-pci virtualises them from the PF's SR-IOV capability. */
	EXPECT_EQ(vendor, vfio_pci_config_readw(self->device, PCI_VENDOR_ID));
	EXPECT_EQ(device, vfio_pci_config_readw(self->device, PCI_DEVICE_ID));
}

TEST_F(vf_open, device_reset_works)
{
	ASSERT_EQ(0, __vfio_pci_device_reset(self->device));
}

/*
 * VFIO_DEVICE_FEATURE_PASID_VF on a VF whose PF has neither a PASID nor a PRI
 * capability (the functional suite's plain igb PF): nothing to report or
 * place, -ENODEV for PROBE, GET and SET; a malformed request is -EINVAL first.
 */
TEST_F(vf_open, feature_pasid_vf_is_enodev_when_the_pf_has_no_pasid_and_no_pri)
{
	const uint32_t ops[] = { VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET,
				 VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_SET };
	struct {
		struct vfio_device_feature hdr;
		uint8_t data[sizeof(struct vfio_device_feature_pasid_vf)];
	} f;
	uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int i;
	char pf[32];

	ASSERT_EQ(0, vpv_pf_of(vf_bdf, pf, sizeof(pf)));
	ASSERT_EQ(0, vpv_cfg_read(pf, 0, cfg, sizeof(cfg)));
	if (vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID) || vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PRI))
		SKIP(return, "PF %s has PASID or PRI (vpv_pf fixture loaded): vpv_feature_test's case", pf);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		memset(&f, 0, sizeof(f));
		f.hdr.argsz = sizeof(f);
		f.hdr.flags = ops[i] | VFIO_DEVICE_FEATURE_PASID_VF;
		EXPECT_EQ(-ENODEV, ioctl(self->device->fd, VFIO_DEVICE_FEATURE, &f) ? -errno : 0)
			TH_LOG("flags %#x", f.hdr.flags);
	}
	f.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PASID_VF;
	EXPECT_EQ(-EINVAL, ioctl(self->device->fd, VFIO_DEVICE_FEATURE, &f) ? -errno : 0);
}

int main(int argc, char *argv[])
{
	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	return test_harness_run(argc, argv);
}
