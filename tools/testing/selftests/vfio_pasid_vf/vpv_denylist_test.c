// SPDX-License-Identifier: GPL-2.0
/*
 * The device denylist: vfio-pci refuses the functions on its denylist
 * (vfio_pci_is_denylisted() in drivers/vfio/pci/vfio_pci.c) unless it is
 * loaded with disable_denylist=1.  vfio-pasid-vf applies the same list and
 * the same opt-out; vfio-pci is the reference.
 *
 *   vpv_denylist_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 * with VF an unbound VF with a denylisted ID (the vpv_pf fixture loaded with
 * vf_device=0x37c9 gives its VFs 8086:37c9), and in the environment
 *   VPV_MODULE_KO      vfio_pasid_vf.ko (a path, which sysfs cannot tell),
 *                      loaded without parameters now
 * The module is reloaded by the last test; its teardown (in the parent of
 * the test process, so even if the test crashes) unbinds the VF, loads the
 * module again without parameters and clears the VF's driver_override.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/syscall.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#define MODULE_NAME	VPV_MODULE_NAME
#define MODULE_SYSFS	"/sys/module/" MODULE_NAME
#define DENIED		"exists in vfio-pci device denylist, driver probing disallowed"
#define ALLOWED		"device denylist disabled - allowing device"

static const char *vf_bdf, *module_ko;

/* vfio-pci's denylist (vfio_pci_dev_in_denylist()): Intel QAT and friends. */
static const unsigned int denylist[] = {
	0x19e2, 0x19e3, 0x37c8, 0x37c9, 0x0435, 0x0443, 0x0b25, 0x0cfe,
};

/* Number of kernel log records since vpv_kmsg_open() that contain @needle. */
static int kmsg_count(int fd, const char *needle)
{
	char rec[4096];
	ssize_t n;
	int count = 0;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		if (strstr(rec, needle))
			count++;
	}
	return count;
}

static char module_param(const char *p)
{
	char path[PATH_MAX], buf[8];

	snprintf(path, sizeof(path), MODULE_SYSFS "/parameters/%s", p);
	return vpv_file_read(path, buf, sizeof(buf)) > 0 ? buf[0] : 0;
}

FIXTURE(denylist) {
};

FIXTURE_SETUP(denylist)
{
	unsigned int vendor, device, i;
	char drv[64];

	if (!module_ko)
		SKIP(return, "VPV_MODULE_KO is not set");
	ASSERT_EQ(0, access(module_ko, R_OK)) TH_LOG("VPV_MODULE_KO=%s: %s", module_ko, strerror(errno));
	ASSERT_EQ(0, access(MODULE_SYSFS, F_OK)) TH_LOG(MODULE_NAME " is not loaded");
	ASSERT_EQ('N', module_param("disable_denylist"))
		TH_LOG(MODULE_NAME " must be loaded without disable_denylist");
	vendor = vpv_sysfs_hex(vf_bdf, "vendor");
	device = vpv_sysfs_hex(vf_bdf, "device");
	for (i = 0; i < ARRAY_SIZE(denylist) && denylist[i] != device; i++)
		;
	ASSERT_TRUE(vendor == 0x8086 && i < ARRAY_SIZE(denylist))
		TH_LOG("%s is %04x:%04x, not on vfio-pci's denylist: load vpv_pf with vf_device=0x37c9",
		       vf_bdf, vendor, device);
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	ASSERT_STREQ("", drv) TH_LOG("%s is bound to %s; it must start unbound", vf_bdf, drv);
}

/* Runs only after a complete setup. */
FIXTURE_TEARDOWN_PARENT(denylist)
{
	EXPECT_EQ(0, vpv_unbind(vf_bdf)) TH_LOG("unbinding %s and clearing its driver_override", vf_bdf);
	if (access(MODULE_SYSFS, F_OK) == 0 && module_param("disable_denylist") != 'N') {
		EXPECT_EQ(0, vpv_module_unload()) TH_LOG("rmmod " MODULE_NAME);
	}
	if (access(MODULE_SYSFS, F_OK)) {
		EXPECT_EQ(0, vpv_module_load(module_ko, "")) TH_LOG("insmod %s", module_ko);
	}
	EXPECT_EQ('N', module_param("disable_denylist"));
}

/* Binding @driver fails with -EINVAL, with one denylist line, and leaves the VF unbound. */
static void refused(struct __test_metadata *_metadata, const char *driver)
{
	int kmsg = vpv_kmsg_open();
	char drv[64];

	ASSERT_GE(kmsg, 0);
	EXPECT_EQ(-EINVAL, vpv_bind(vf_bdf, driver)) TH_LOG("binding %s to %s", vf_bdf, driver);
	EXPECT_EQ(1, kmsg_count(kmsg, DENIED)) TH_LOG("dmesg lines with '%s'", DENIED);
	close(kmsg);
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	EXPECT_STREQ("", drv) TH_LOG("%s is bound to %s", vf_bdf, drv);
}

TEST_F(denylist, vfio_pasid_vf_refuses_a_denylisted_vf_with_einval_and_one_line)
{
	refused(_metadata, VPV_DRIVER);
}

/* The reference. */
TEST_F(denylist, vfio_pci_refuses_a_denylisted_vf_with_einval_and_one_line)
{
	refused(_metadata, VFIO_PCI_DRIVER);
}

TEST_F(denylist, with_disable_denylist_the_vf_binds_and_opens_through_vfio)
{
	struct vfio_pci_device *dev;
	struct iommu *iommu;
	char drv[64];
	int kmsg;

	ASSERT_EQ(0, vpv_module_unload()) TH_LOG("rmmod " MODULE_NAME);
	ASSERT_EQ(0, vpv_module_load(module_ko, "disable_denylist=1")) TH_LOG("insmod %s disable_denylist=1", module_ko);
	ASSERT_EQ('Y', module_param("disable_denylist"));

	kmsg = vpv_kmsg_open();
	ASSERT_GE(kmsg, 0);
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER)) TH_LOG("binding %s to " VPV_DRIVER, vf_bdf);
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	EXPECT_STREQ(VPV_DRIVER, drv);
	EXPECT_EQ(1, kmsg_count(kmsg, ALLOWED)) TH_LOG("dmesg lines with '%s'", ALLOWED);
	close(kmsg);

	iommu = iommu_init(MODE_IOMMUFD);
	dev = vfio_pci_device_init(vf_bdf, iommu);
	EXPECT_EQ(vpv_sysfs_hex(vf_bdf, "vendor"), vfio_pci_config_readw(dev, PCI_VENDOR_ID));
	EXPECT_EQ(vpv_sysfs_hex(vf_bdf, "device"), vfio_pci_config_readw(dev, PCI_DEVICE_ID));
	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
}

int main(int argc, char *argv[])
{
	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	module_ko = vpv_env("VPV_MODULE_KO");
	return test_harness_run(argc, argv);
}
