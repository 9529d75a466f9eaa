// SPDX-License-Identifier: GPL-2.0
/*
 * The VF and its PF: a VF bound to vfio-pasid-vf is a consumer of its PF in a
 * managed device link, so the PF's driver cannot unbind while the VF is bound.
 * Unbinding it releases the VF first, through vfio's request path: the VF's
 * user is asked (VFIO_PCI_REQ_IRQ_INDEX eventfd) and the PF's unbind waits
 * for the close.  An open VF that presents PASID is a PASID user of its PF
 * until the close (the driver's pasid_users, the VF's pf_pasid).  When the
 * PF's PASID goes off anyway (the fixture's pasid_disable), the emulated PASID
 * Control reads 0, the user's error eventfd fires and dmesg says it once.
 *
 *   [VPV_PF_CYCLES=N] vpv_pf_test [harness options] VF
 * with the vpv_pf fixture loaded on the VF's PF (its unbind_pf and bind_pf
 * fault hooks drive the PF's driver).  The VF is the last one of the run.sh
 * emulation programs of its PF type: the test unbinds the PF's driver, which
 * for igb also removes the VFs; it restores the PF's driver, its VFs and the
 * VF's binding afterwards.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

static const char *vf_bdf;
static char pf_bdf[32];
static int vf_index;

/* /sys/class/devlink/pci:PF--pci:VF/FILE into @buf, newline stripped; -errno. */
static int devlink_read(const char *file, char *buf, size_t len)
{
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "/sys/class/devlink/pci:%s--pci:%s/%s", pf_bdf, vf_bdf, file);
	ret = vpv_file_read(path, buf, len);
	if (ret < 0)
		return ret;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Whether /sys/bus/pci/devices/BDF exists. */
static bool pci_exists(const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	return access(path, F_OK) == 0;
}

/* Wait up to @ms for @fd to be readable: 1, 0 on timeout, -errno. */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret = poll(&p, 1, ms);

	return ret < 0 ? -errno : ret;
}

/* The fixture's fault file, newline stripped. */
static int fault_status(char *buf, size_t len)
{
	int ret = vpv_file_read(VPV_FIXTURE_DEBUGFS "/fault", buf, len);

	if (ret < 0)
		return ret;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* A new eventfd as the trigger of the VF's IRQ @index (VFIO_PCI_REQ/ERR_IRQ_INDEX); -errno. */
static int irq_eventfd(struct vfio_pci_device *dev, unsigned int index)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	*set = (struct vfio_irq_set) {
		.argsz = sizeof(buf),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index,
		.start = 0,
		.count = 1,
	};
	memcpy(set->data, &fd, sizeof(int));
	if (ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

FIXTURE(pf) {
	struct iommu *iommu;
	struct vfio_pci_device *dev;
	int req_fd;		/* the VF's VFIO_PCI_REQ_IRQ_INDEX eventfd */
	int num_vfs;		/* the PF's sriov_numvfs before the test */
	bool pf_unbound;	/* teardown must rebind the PF's driver */
};

FIXTURE_SETUP(pf)
{
	self->req_fd = -1;
	self->num_vfs = vpv_sysfs_hex(pf_bdf, "sriov_numvfs");
	ASSERT_LT(0, self->num_vfs) TH_LOG("PF %s: sriov_numvfs", pf_bdf);
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(MODE_IOMMUFD);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);

	self->req_fd = irq_eventfd(self->dev, VFIO_PCI_REQ_IRQ_INDEX);
	ASSERT_LE(0, self->req_fd) TH_LOG("VFIO_DEVICE_SET_IRQS VFIO_PCI_REQ_IRQ_INDEX: %s",
					  strerror(-self->req_fd));
}

FIXTURE_TEARDOWN(pf)
{
	char path[128], val[16];
	int i;

	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	if (self->iommu)
		iommu_cleanup(self->iommu);
	if (self->req_fd >= 0)
		close(self->req_fd);
	if (!self->pf_unbound)
		return;
	/* The PF's driver back, its VFs back (igb removes them on unbind), the VF bound. */
	EXPECT_EQ(0, vpv_fixture_fault("bind_pf"));
	if (!pci_exists(vf_bdf)) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_drivers_autoprobe",
			 pf_bdf);
		EXPECT_EQ(0, vpv_file_write(path, "0"));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs", pf_bdf);
		snprintf(val, sizeof(val), "%d", self->num_vfs);
		EXPECT_EQ(0, vpv_file_write(path, val));
	}
	for (i = 0; i < 100 && !pci_exists(vf_bdf); i++)
		usleep(10000);
	EXPECT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
}

/* While the VF is bound, it consumes its PF in a managed device link, active. */
TEST_F(pf, vf_is_a_consumer_of_its_pf_in_a_device_link)
{
	char status[64];

	ASSERT_EQ(0, devlink_read("status", status, sizeof(status)))
		TH_LOG("no device link pci:%s--pci:%s", pf_bdf, vf_bdf);
	ASSERT_STREQ("active", status);
	ASSERT_EQ(0, devlink_read("auto_remove_on", status, sizeof(status)));
	ASSERT_STREQ("consumer unbind", status);
}

/*
 * Unbinding the PF's driver while the VF is open: the VF's user gets the
 * request eventfd while the PF's unbind waits (the link says "supplier
 * unbinding"), and the unbind completes only after the close.
 */
TEST_F(pf, pf_unbind_asks_the_vf_user_first_and_waits_for_the_close)
{
	char status[128], drv[64];
	uint64_t n;
	int i;

	ASSERT_EQ(0, vpv_file_write(VPV_FIXTURE_DEBUGFS "/fault", "unbind_pf"));
	self->pf_unbound = true;
	ASSERT_EQ(1, wait_readable(self->req_fd, 30000))
		TH_LOG("no VFIO_PCI_REQ_IRQ_INDEX eventfd within 30 s of unbinding the PF's driver");
	ASSERT_EQ(sizeof(n), read(self->req_fd, &n, sizeof(n)));

	/* The PF's unbind is waiting for this user. */
	ASSERT_EQ(0, devlink_read("status", status, sizeof(status)));
	ASSERT_STREQ("supplier unbinding", status);
	ASSERT_EQ(0, fault_status(status, sizeof(status)));
	ASSERT_STREQ("running unbind_pf", status);
	usleep(200000);
	ASSERT_EQ(0, fault_status(status, sizeof(status)));
	ASSERT_STREQ("running unbind_pf", status) TH_LOG("the PF's unbind did not wait for the close");

	vfio_pci_device_cleanup(self->dev);
	self->dev = NULL;
	for (i = 0; i < 3000; i++) {
		ASSERT_EQ(0, fault_status(status, sizeof(status)));
		if (strncmp(status, "running", 7))
			break;
		usleep(10000);
	}
	ASSERT_STREQ("done unbind_pf 0", status) TH_LOG("the PF's unbind after the close");

	/* The VF let go of vfio-pasid-vf (igb's unbind also removed it). */
	if (pci_exists(vf_bdf)) {
		ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
		ASSERT_STREQ("", drv);
	}
}

/*
 * A VF whose PF has no driver: binding it is deferred (-EAGAIN from the bind
 * file), and a VF probed through drivers_probe binds when the PF's driver does.  Only PF drivers that keep their VFs when they unbind can
 * leave such a VF (nvme does; igb disables SR-IOV in its remove, so run.sh
 * leaves this fixture out on igb with -F nodriver).
 */
FIXTURE(nodriver) {
	bool pf_unbound;	/* teardown must rebind the PF's driver */
};

FIXTURE_SETUP(nodriver)
{
	ASSERT_EQ(0, vpv_unbind(vf_bdf));
	ASSERT_EQ(0, vpv_fixture_fault("unbind_pf"));
	self->pf_unbound = true;
	ASSERT_TRUE(pci_exists(vf_bdf)) TH_LOG("the PF's unbind removed the VF: its driver disables SR-IOV");
}

FIXTURE_TEARDOWN(nodriver)
{
	char drv[64];

	if (self->pf_unbound) {
		EXPECT_EQ(0, vpv_fixture_fault("bind_pf"));
	}
	if (vpv_driver_of(vf_bdf, drv, sizeof(drv)) || strcmp(drv, VPV_DRIVER)) {
		EXPECT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	}
}

TEST_F(nodriver, bind_is_deferred_until_the_pf_has_a_driver)
{
	char path[128], status[64], drv[64];
	int kmsg, i;

	kmsg = vpv_kmsg_open();
	ASSERT_LE(0, kmsg);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", vf_bdf);
	ASSERT_EQ(0, vpv_file_write(path, VPV_DRIVER));
	ASSERT_EQ(-EAGAIN, vpv_file_write("/sys/bus/pci/drivers/" VPV_DRIVER "/bind", vf_bdf))
		TH_LOG("bind with the PF's driver unbound");
	ASSERT_EQ(1, vpv_kmsg_count(kmsg, "the PF has no driver: probe deferred until it has one"));
	close(kmsg);
	/*
	 * A probe through drivers_probe, as libvirt binds: it succeeds, and the
	 * driver core keeps the deferred VF on its list (a write to the driver's
	 * bind file does not).
	 */
	ASSERT_EQ(0, vpv_file_write("/sys/bus/pci/drivers_probe", vf_bdf));
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	ASSERT_STREQ("", drv);
	ASSERT_NE(0, devlink_read("status", status, sizeof(status)))
		TH_LOG("a device link was left behind by the deferred probe");

	/* The PF's driver binds: the driver core retries the VF's probe. */
	ASSERT_EQ(0, vpv_fixture_fault("bind_pf"));
	self->pf_unbound = false;
	/* Bound: the driver link, and the device link active once the probe has returned. */
	for (i = 0; i < 500; i++) {
		ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
		if (!strcmp(drv, VPV_DRIVER) && !devlink_read("status", status, sizeof(status)) &&
		    !strcmp(status, "active"))
			break;
		usleep(10000);
	}
	ASSERT_STREQ(VPV_DRIVER, drv) TH_LOG("the VF was not bound once the PF's driver was");
	ASSERT_STREQ("active", status);
}

/* --- PASID users: /sys/bus/pci/drivers/vfio-pasid-vf/pasid_users, <VF>/vfio_pasid_vf/pf_pasid --- */

#define PASID_USERS "/sys/bus/pci/drivers/" VPV_DRIVER "/pasid_users"

/* Whether the driver's pasid_users lists @vf under @pf. */
static bool listed(const char *pf, const char *vf)
{
	char buf[4096], want[40], *line;

	if (vpv_file_read(PASID_USERS, buf, sizeof(buf)) < 0)
		return false;
	snprintf(want, sizeof(want), "%s:", pf);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, want, strlen(want)) && strstr(line + strlen(want), vf))
			return true;
	return false;
}

/* The VF's pf_pasid attribute: 1 "held", 0 "not held", -1 anything else. */
static int pf_pasid(const char *vf)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/pf_pasid", vf);
	if (vpv_file_read(path, buf, sizeof(buf)) < 0)
		return -1;
	return !strcmp(buf, "held\n") ? 1 : !strcmp(buf, "not held\n") ? 0 : -1;
}

/* Whether the last open of @vf presented PASID (its placement attribute). */
static bool presents_pasid(const char *vf)
{
	char buf[512];

	return vpv_placement(vf, buf, sizeof(buf)) >= 0 && strstr(buf, "PASID at 0x");
}

FIXTURE(users) {
	char sibling[32];		/* a second VF of the PF */
	char sibling_drv[64];		/* its driver before the test */
	struct iommu *iommu;
};

FIXTURE_SETUP(users)
{
	char vf[32], val[16];
	int i, full = -1;

	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	/* Another VF, not the fixture's full one (no room: nothing presented) if there is one. */
	if (vpv_file_read("/sys/module/vpv_pf/parameters/vf_full", val, sizeof(val)) > 0)
		full = atoi(val);
	for (i = 0; !vpv_virtfn(pf_bdf, i, vf, sizeof(vf)); i++) {
		if (i == vf_index)
			continue;
		if (!self->sibling[0] || i != full)
			snprintf(self->sibling, sizeof(self->sibling), "%s", vf);
		if (i != full)
			break;
	}
	ASSERT_NE(0, self->sibling[0]) TH_LOG("PF %s: no second VF", pf_bdf);
	ASSERT_EQ(0, vpv_driver_of(self->sibling, self->sibling_drv, sizeof(self->sibling_drv)));
	ASSERT_EQ(0, vpv_bind(self->sibling, VPV_DRIVER));
	self->iommu = iommu_init(MODE_IOMMUFD);
}

FIXTURE_TEARDOWN(users)
{
	if (self->iommu)
		iommu_cleanup(self->iommu);
	if (!self->sibling[0])
		return;
	if (self->sibling_drv[0]) {
		EXPECT_EQ(0, vpv_bind(self->sibling, self->sibling_drv));
	} else {
		EXPECT_EQ(0, vpv_unbind(self->sibling));
	}
}

/* A bound VF holds nothing; an open that presents PASID holds the PF until the close. */
TEST_F(users, an_open_that_presents_pasid_holds_the_pf_until_the_close)
{
	struct vfio_pci_device *dev;

	ASSERT_EQ(0, pf_pasid(vf_bdf));
	ASSERT_FALSE(listed(pf_bdf, vf_bdf));
	dev = vfio_pci_device_init(vf_bdf, self->iommu);
	ASSERT_TRUE(presents_pasid(vf_bdf)) TH_LOG("the VF's open did not present PASID");
	EXPECT_EQ(1, pf_pasid(vf_bdf));
	EXPECT_TRUE(listed(pf_bdf, vf_bdf)) TH_LOG("%s not under %s in %s", vf_bdf, pf_bdf, PASID_USERS);
	vfio_pci_device_cleanup(dev);
	ASSERT_EQ(0, pf_pasid(vf_bdf));
	ASSERT_FALSE(listed(pf_bdf, vf_bdf));
}

/*
 * Interleaved open/close cycles of two VFs of the PF (VPV_PF_CYCLES, default
 * 100): each is listed exactly while open (if its open presents PASID), and
 * the PF has no user left at the end.  Each open and close resets the VF (an
 * FLR waits 100 ms): 100 cycles take 45 s on the lean kernel under TCG.
 */
TEST_F_TIMEOUT(users, users_return_to_zero_after_open_close_cycles_across_two_vfs, 900)
{
	const char *env = getenv("VPV_PF_CYCLES");
	int i, cycles = env ? atoi(env) : 100;
	struct vfio_pci_device *a, *b;
	bool b_presents;

	ASSERT_LT(0, cycles) TH_LOG("VPV_PF_CYCLES=%s", env);
	ksft_print_msg("%d cycles of %s and %s\n", cycles, vf_bdf, self->sibling);
	for (i = 0; i < cycles; i++) {
		a = vfio_pci_device_init(vf_bdf, self->iommu);
		b = vfio_pci_device_init(self->sibling, self->iommu);
		b_presents = presents_pasid(self->sibling);
		ASSERT_TRUE(listed(pf_bdf, vf_bdf)) TH_LOG("cycle %d", i);
		ASSERT_EQ(b_presents, listed(pf_bdf, self->sibling)) TH_LOG("cycle %d", i);
		vfio_pci_device_cleanup(a);
		ASSERT_FALSE(listed(pf_bdf, vf_bdf)) TH_LOG("cycle %d", i);
		ASSERT_EQ(b_presents, listed(pf_bdf, self->sibling)) TH_LOG("cycle %d", i);
		vfio_pci_device_cleanup(b);
		ASSERT_FALSE(listed(pf_bdf, self->sibling)) TH_LOG("cycle %d", i);
	}
	ASSERT_EQ(0, pf_pasid(vf_bdf));
	ASSERT_EQ(0, pf_pasid(self->sibling));
	ASSERT_FALSE(listed(pf_bdf, "")) TH_LOG("PF %s still has users in %s", pf_bdf, PASID_USERS);
}

/*
 * Module unload while a VF holds its PF's PASID: refused.  vfio pins the
 * driver's module from a device's first open to its last close, so rmmod
 * (delete_module with O_NONBLOCK) fails with EWOULDBLOCK and nothing changes.
 */
TEST_F(users, module_unload_is_refused_while_a_vf_is_open)
{
	struct vfio_pci_device *dev;
	char drv[64];
	int ret;

	dev = vfio_pci_device_init(vf_bdf, self->iommu);
	ASSERT_EQ(1, pf_pasid(vf_bdf));
	ret = syscall(__NR_delete_module, "vfio_pasid_vf", O_NONBLOCK);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EWOULDBLOCK, errno) TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_EQ(0, access("/sys/module/vfio_pasid_vf", F_OK));
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, drv, sizeof(drv)));
	ASSERT_STREQ(VPV_DRIVER, drv);
	ASSERT_EQ(1, pf_pasid(vf_bdf));
	vfio_pci_device_cleanup(dev);
	ASSERT_EQ(0, pf_pasid(vf_bdf));
}

/* --- the PF's PASID going off under an open VF: the fixture's pasid_disable --- */

FIXTURE(pasid_off) {
	struct iommu *iommu;
	struct vfio_pci_device *dev;
	int err_fd;		/* the VF's VFIO_PCI_ERR_IRQ_INDEX eventfd */
	unsigned int pasid;	/* the emulated PASID capability */
	bool pf_pasid_off;	/* teardown must run the fixture's pasid_enable */
};

FIXTURE_SETUP(pasid_off)
{
	uint8_t cfg[4096];

	self->err_fd = -1;
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	self->iommu = iommu_init(MODE_IOMMUFD);
	self->dev = vfio_pci_device_init(vf_bdf, self->iommu);
	ASSERT_EQ(sizeof(cfg), pread(self->dev->fd, cfg, sizeof(cfg), self->dev->config_space.offset));
	self->pasid = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID);
	ASSERT_NE(0, self->pasid) TH_LOG("no PASID capability in the VF's chain through VFIO");

	self->err_fd = irq_eventfd(self->dev, VFIO_PCI_ERR_IRQ_INDEX);
	ASSERT_LE(0, self->err_fd) TH_LOG("VFIO_DEVICE_SET_IRQS VFIO_PCI_ERR_IRQ_INDEX: %s",
					  strerror(-self->err_fd));
}

FIXTURE_TEARDOWN(pasid_off)
{
	if (self->pf_pasid_off) {
		EXPECT_EQ(0, vpv_fixture_fault("pasid_enable"));
	}
	if (self->dev)
		vfio_pci_device_cleanup(self->dev);
	if (self->iommu)
		iommu_cleanup(self->iommu);
	if (self->err_fd >= 0)
		close(self->err_fd);
}

/*
 * PASID Control Enable set by the user, then the PF's PASID goes off: the
 * next access to the emulated capability finds it, PASID Control reads 0 and
 * ignores writes, the error eventfd fires, and dmesg says so once.  When the
 * PF's PASID is back, Enable stays 0 until the user writes it again.
 */
TEST_F(pasid_off, pasid_ctrl_reads_0_the_error_eventfd_fires_and_one_line_is_logged)
{
	const char *line = "the PF's PASID went off";
	unsigned int ctrl = self->pasid + PCI_PASID_CTRL;
	uint16_t v = PCI_PASID_CTRL_ENABLE;
	uint64_t n;
	int kmsg, i;

	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, ctrl, &v, sizeof(v)));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, ctrl, &v, sizeof(v)));
	ASSERT_EQ(PCI_PASID_CTRL_ENABLE, v);
	kmsg = vpv_kmsg_open();
	ASSERT_LE(0, kmsg);

	ASSERT_EQ(0, vpv_fixture_fault("pasid_disable"));
	self->pf_pasid_off = true;
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, ctrl, &v, sizeof(v)));
	ASSERT_EQ(0, v) TH_LOG("PASID Control with the PF's PASID off");
	ASSERT_EQ(1, wait_readable(self->err_fd, 1000)) TH_LOG("no VFIO_PCI_ERR_IRQ_INDEX eventfd");
	ASSERT_EQ(sizeof(n), read(self->err_fd, &n, sizeof(n)));
	for (i = 0; i < 10; i++) {
		v = PCI_PASID_CTRL_ENABLE;
		ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, ctrl, &v, sizeof(v)));
		ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, ctrl, &v, sizeof(v)));
		ASSERT_EQ(0, v) TH_LOG("PASID Control Enable written with the PF's PASID off");
	}
	ASSERT_EQ(0, wait_readable(self->err_fd, 0)) TH_LOG("the error eventfd fired again");
	ASSERT_EQ(1, vpv_kmsg_count(kmsg, line));

	ASSERT_EQ(0, vpv_fixture_fault("pasid_enable"));
	self->pf_pasid_off = false;
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, ctrl, &v, sizeof(v)));
	ASSERT_EQ(0, v) TH_LOG("PASID Control Enable once the PF's PASID is back, before a write");
	v = PCI_PASID_CTRL_ENABLE;
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, true, ctrl, &v, sizeof(v)));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->dev, false, ctrl, &v, sizeof(v)));
	ASSERT_EQ(PCI_PASID_CTRL_ENABLE, v);
	ASSERT_EQ(0, vpv_kmsg_count(kmsg, line));
	close(kmsg);
}

int main(int argc, char *argv[])
{
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	return test_harness_run(argc, argv);
}
