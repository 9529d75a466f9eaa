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
 * With the fixture registered as the PF's provider (the PF-provider API,
 * include/linux/vfio_pasid_vf.h; the fixture's debugfs "provider"), the
 * provider sees each PASID user come and go, may refuse one, advises offsets,
 * withholds features, reports page request events, and a change of the PF's
 * PASID reaches the VF's user at once.
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
#include <stdarg.h>
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

	self->req_fd = vpv_irq_eventfd(self->dev->fd, VFIO_PCI_REQ_IRQ_INDEX);
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

	self->err_fd = vpv_irq_eventfd(self->dev->fd, VFIO_PCI_ERR_IRQ_INDEX);
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

/* --- the PF-provider API, with the fixture as the PF's provider --- */

#define PROVIDER VPV_FIXTURE_DEBUGFS "/provider"

/* The fixture's provider file, parsed. */
struct prov {
	int registered, gets, puts, refuse, refusals, stray;
	unsigned int advise_pasid, advise_pri, features;
};

static int prov_read(struct prov *p)
{
	char buf[256];
	int ret = vpv_file_read(PROVIDER, buf, sizeof(buf));

	if (ret < 0)
		return ret;
	ret = sscanf(buf, "registered %d gets %d puts %d advise %x %x features %x refuse %d refusals %d stray %d",
		     &p->registered, &p->gets, &p->puts, &p->advise_pasid, &p->advise_pri,
		     &p->features, &p->refuse, &p->refusals, &p->stray);
	return ret == 9 ? 0 : -EPROTO;
}

/* Write "CMD ARGS" to the provider file: 0 or the write's -errno. */
static int prov_cmd(const char *fmt, ...)
{
	char cmd[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return vpv_file_write(PROVIDER, cmd);
}

/* The VF's pf_pasid attribute, newline stripped. */
static int pf_pasid_str(char *buf, size_t len)
{
	char path[128];
	int ret;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/pf_pasid", vf_bdf);
	ret = vpv_file_read(path, buf, len);
	if (ret < 0)
		return ret;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

#define VPV_FEAT_EXEC	0x00000002	/* VPV_PF_FEAT_PASID_EXEC = PCI_PASID_CAP_EXEC */
#define VPV_FEAT_PRIV	0x00000004	/* VPV_PF_FEAT_PASID_PRIV = PCI_PASID_CAP_PRIV */
#define VPV_FEAT_PRI	0x00010000	/* VPV_PF_FEAT_PRI */
#define VPV_FEAT_ALL	(VPV_FEAT_EXEC | VPV_FEAT_PRIV | VPV_FEAT_PRI)

/* The VF under test, opened in an IOMMU mode, and what its open presented. */
struct vf_view {
	struct iommu *iommu;
	struct vfio_pci_device *dev;	/* while open */
	uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];	/* its config space through VFIO at the open */
	char placement[512];		/* its placement line after the open */
	unsigned int pasid, pri;	/* the emulated capabilities in cfg (0: absent) */
};

/* Open the VF; its config space, placement and emulated capabilities into @v. */
static void vf_open(struct __test_metadata *_metadata, struct vf_view *v)
{
	v->dev = vfio_pci_device_init(vf_bdf, v->iommu);
	ASSERT_EQ(0, vpv_vfio_cfg_rw(v->dev, false, 0, v->cfg, sizeof(v->cfg)));
	ASSERT_LT(0, vpv_placement(vf_bdf, v->placement, sizeof(v->placement)));
	v->pasid = vpv_ecap_find(v->cfg, PCI_EXT_CAP_ID_PASID);
	v->pri = vpv_ecap_find(v->cfg, PCI_EXT_CAP_ID_PRI);
}

static void vf_close(struct vf_view *v)
{
	if (v->dev)
		vfio_pci_device_cleanup(v->dev);
	v->dev = NULL;
}

/*
 * Open the VF, set PASID Control Enable through VFIO and arm its error
 * eventfd (VFIO_PCI_ERR_IRQ_INDEX): the eventfd.
 */
static int vf_open_pasid_enabled(struct __test_metadata *_metadata, struct vf_view *v)
{
	uint16_t ctrl = PCI_PASID_CTRL_ENABLE;
	int fd;

	vf_open(_metadata, v);
	ASSERT_NE(0, v->pasid) TH_LOG("placement: %s", v->placement);
	ASSERT_EQ(0, vpv_vfio_cfg_rw(v->dev, true, v->pasid + PCI_PASID_CTRL, &ctrl, sizeof(ctrl)));
	ASSERT_EQ(0, vpv_vfio_cfg_rw(v->dev, false, v->pasid + PCI_PASID_CTRL, &ctrl, sizeof(ctrl)));
	ASSERT_EQ(PCI_PASID_CTRL_ENABLE, ctrl);
	fd = vpv_irq_eventfd(v->dev->fd, VFIO_PCI_ERR_IRQ_INDEX);
	ASSERT_LE(0, fd) TH_LOG("VFIO_DEVICE_SET_IRQS VFIO_PCI_ERR_IRQ_INDEX: %s", strerror(-fd));
	return fd;
}

FIXTURE(provider) {
	struct vf_view vf;
	int err_fd;			/* the VF's VFIO_PCI_ERR_IRQ_INDEX eventfd */
	bool pf_pasid_off;		/* teardown must run the fixture's pasid_enable */
};

FIXTURE_SETUP(provider)
{
	int ret;

	self->err_fd = -1;
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	ret = prov_cmd("register");
	ASSERT_EQ(0, ret) TH_LOG("register the fixture as the provider of %s: %s", pf_bdf,
				 strerror(-ret));
	self->vf.iommu = iommu_init(MODE_IOMMUFD);
}

FIXTURE_TEARDOWN(provider)
{
	struct prov p = { .stray = 0 };
	int ret;

	if (self->pf_pasid_off) {
		EXPECT_EQ(0, vpv_fixture_fault("pasid_enable"));
	}
	vf_close(&self->vf);
	if (self->vf.iommu)
		iommu_cleanup(self->vf.iommu);
	if (self->err_fd >= 0)
		close(self->err_fd);
	ret = prov_cmd("unregister");
	if (ret != -EALREADY) {
		EXPECT_EQ(0, ret);
	}
	/* Every callback was for the PF and one of its VFs, while registered. */
	EXPECT_EQ(0, prov_read(&p));
	EXPECT_EQ(0, p.stray) TH_LOG("the fixture counted stray callbacks (dmesg: 'provider: stray')");
	EXPECT_EQ(0, prov_cmd("advise 0 0"));
	EXPECT_EQ(0, prov_cmd("features 0x%x", VPV_FEAT_ALL));
	EXPECT_EQ(0, prov_cmd("refuse 0"));
}

/* Registering twice, or unregistering twice: -EALREADY. */
TEST_F(provider, register_twice_and_unregister_twice_are_ealready)
{
	struct prov p;

	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(1, p.registered);
	ASSERT_EQ(-EALREADY, prov_cmd("register"));
	ASSERT_EQ(0, prov_cmd("unregister"));
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(0, p.registered);
	ASSERT_EQ(-EALREADY, prov_cmd("unregister"));
}

/* ->pasid_get() at the open that presents PASID, ->pasid_put() at its close. */
TEST_F(provider, pasid_get_at_the_open_and_pasid_put_at_the_close)
{
	struct prov p;

	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(0, p.gets);
	ASSERT_EQ(0, p.puts);
	vf_open(_metadata, &self->vf);
	ASSERT_NE(0, self->vf.pasid) TH_LOG("PASID not presented: %s", self->vf.placement);
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(1, p.gets);
	ASSERT_EQ(0, p.puts);
	vf_close(&self->vf);
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(1, p.gets);
	ASSERT_EQ(1, p.puts);
	ASSERT_EQ(0, p.refusals);
}

/* N open/close cycles: N gets and N puts, never more than one user at a time. */
TEST_F(provider, gets_and_puts_balance_over_open_close_cycles)
{
	const int cycles = 5;
	struct prov p;
	int i;

	for (i = 0; i < cycles; i++) {
		vf_open(_metadata, &self->vf);
		ASSERT_EQ(0, prov_read(&p));
		ASSERT_EQ(i + 1, p.gets) TH_LOG("cycle %d, open", i);
		ASSERT_EQ(i, p.puts) TH_LOG("cycle %d, open", i);
		vf_close(&self->vf);
		ASSERT_EQ(0, prov_read(&p));
		ASSERT_EQ(i + 1, p.puts) TH_LOG("cycle %d, closed", i);
	}
	ASSERT_EQ(cycles, p.gets);
	ASSERT_EQ(cycles, p.puts);
}

/*
 * ->pasid_get() refusing: the open goes on without PASID (placement says
 * why), the VF is not a PASID user, PRI is still presented, and no
 * ->pasid_put() follows at the close.
 */
TEST_F(provider, a_refused_pasid_get_opens_the_vf_without_pasid)
{
	char state[32];
	struct prov p;

	ASSERT_EQ(0, prov_cmd("refuse -16"));
	vf_open(_metadata, &self->vf);
	ASSERT_NE(NULL, strstr(self->vf.placement, "PASID not presented: the PF's driver refused it"))
		TH_LOG("placement: %s", self->vf.placement);
	ASSERT_EQ(0, self->vf.pasid) TH_LOG("a PASID capability at 0x%x through VFIO", self->vf.pasid);
	ASSERT_NE(0, self->vf.pri) TH_LOG("PRI not presented: %s", self->vf.placement);
	ASSERT_NE(0, vpv_placed_at(self->vf.placement, "PRI"));
	ASSERT_EQ(0, pf_pasid_str(state, sizeof(state)));
	ASSERT_STREQ("not held", state);
	ASSERT_FALSE(listed(pf_bdf, vf_bdf));
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(1, p.refusals);
	ASSERT_EQ(0, p.gets);
	vf_close(&self->vf);
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(0, p.puts) TH_LOG("->pasid_put() for a refused ->pasid_get()");
}

/*
 * A VF whose ->pasid_get() was refused is no PASID user, so its PASIDs are
 * not attached: VFIO_DEVICE_ATTACH_IOMMUFD_PT with VFIO_DEVICE_ATTACH_PASID
 * gets EPERM from the driver, before iommufd looks at the target (an IOAS,
 * which iommufd itself would refuse with EINVAL).
 */
TEST_F(provider, a_refused_vf_cannot_attach_pasids)
{
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.flags = VFIO_DEVICE_ATTACH_PASID,
		.pasid = 1,
	};

	ASSERT_EQ(0, prov_cmd("refuse -16"));
	vf_open(_metadata, &self->vf);
	ASSERT_EQ(0, self->vf.pasid) TH_LOG("placement: %s", self->vf.placement);
	at.pt_id = self->vf.iommu->ioas_id;
	ASSERT_EQ(-1, ioctl(self->vf.dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at));
	ASSERT_EQ(EPERM, errno) TH_LOG("PASID attach: %s", strerror(errno));
}

/*
 * A usable advised offset is used: PASID advised where the open without
 * advice put PRI (free then, and not where PASID went) goes there, and VFIO
 * shows its header at that offset.
 */
TEST_F(provider, a_usable_advised_pasid_offset_is_used)
{
	unsigned int auto_pri;
	char want[64];
	uint32_t hdr;

	vf_open(_metadata, &self->vf);
	auto_pri = vpv_placed_at(self->vf.placement, "PRI");
	vf_close(&self->vf);
	ASSERT_NE(0, auto_pri) TH_LOG("placement without advice: %s", self->vf.placement);

	ASSERT_EQ(0, prov_cmd("advise 0x%x 0", auto_pri));
	vf_open(_metadata, &self->vf);
	snprintf(want, sizeof(want), "PASID at 0x%03x (offset advised by the PF)", auto_pri);
	ASSERT_NE(NULL, strstr(self->vf.placement, want)) TH_LOG("placement: %s", self->vf.placement);
	memcpy(&hdr, self->vf.cfg + auto_pri, sizeof(hdr));
	ASSERT_EQ(PCI_EXT_CAP_ID_PASID, hdr & 0xffff) TH_LOG("header 0x%08x at 0x%x", hdr, auto_pri);
	ASSERT_EQ(auto_pri, self->vf.pasid) TH_LOG("the chain through VFIO finds PASID at 0x%x",
						self->vf.pasid);
}

/* The same for PRI: advised where it would go anyway, the rule is the advice. */
TEST_F(provider, a_usable_advised_pri_offset_is_used)
{
	unsigned int auto_pri;
	char want[64];
	uint32_t hdr;

	vf_open(_metadata, &self->vf);
	auto_pri = vpv_placed_at(self->vf.placement, "PRI");
	vf_close(&self->vf);
	ASSERT_NE(0, auto_pri) TH_LOG("placement without advice: %s", self->vf.placement);
	snprintf(want, sizeof(want), "PRI at 0x%03x (offset advised by the PF)", auto_pri);
	ASSERT_EQ(NULL, strstr(self->vf.placement, want)) TH_LOG("placement: %s", self->vf.placement);

	ASSERT_EQ(0, prov_cmd("advise 0 0x%x", auto_pri));
	vf_open(_metadata, &self->vf);
	ASSERT_NE(NULL, strstr(self->vf.placement, want)) TH_LOG("placement: %s", self->vf.placement);
	memcpy(&hdr, self->vf.cfg + auto_pri, sizeof(hdr));
	ASSERT_EQ(PCI_EXT_CAP_ID_PRI, hdr & 0xffff) TH_LOG("header 0x%08x at 0x%x", hdr, auto_pri);
	ASSERT_EQ(auto_pri, self->vf.pri);
}

/*
 * An unusable advised offset (0x100, the first capability of the VF) is not
 * followed: the placement says why, PASID goes where the next rule puts it.
 */
TEST_F(provider, an_unusable_advised_offset_is_not_followed)
{
	ASSERT_EQ(0, prov_cmd("advise 0x100 0"));
	vf_open(_metadata, &self->vf);
	ASSERT_NE(NULL, strstr(self->vf.placement, "advised offset 0x100 is unusable"))
		TH_LOG("placement: %s", self->vf.placement);
	ASSERT_NE(0, vpv_placed_at(self->vf.placement, "PASID")) TH_LOG("placement: %s", self->vf.placement);
	ASSERT_NE(0x100, vpv_placed_at(self->vf.placement, "PASID"));
	ASSERT_NE(0, self->vf.pasid);
	ASSERT_NE(0x100, self->vf.pasid);
	ASSERT_NE(PCI_EXT_CAP_ID_PASID, self->vf.cfg[0x100] | self->vf.cfg[0x101] << 8);
}

/* ->features() without VPV_PF_FEAT_PRI: PRI is not presented, PASID is. */
TEST_F(provider, features_without_pri_do_not_present_pri)
{
	ASSERT_EQ(0, prov_cmd("features 0x%x", VPV_FEAT_ALL & ~VPV_FEAT_PRI));
	vf_open(_metadata, &self->vf);
	ASSERT_NE(NULL, strstr(self->vf.placement, "PRI not presented: the PF's driver does not deliver it"))
		TH_LOG("placement: %s", self->vf.placement);
	ASSERT_EQ(0, self->vf.pri) TH_LOG("a PRI capability at 0x%x through VFIO", self->vf.pri);
	ASSERT_NE(0, self->vf.pasid) TH_LOG("placement: %s", self->vf.placement);
}

/*
 * ->features() without a PASID feature that the VF presents with all of them
 * (Execute Permission, Privileged Mode): that bit of the PASID Capability
 * reads 0, the rest is unchanged.  Each one presented is tested (with the
 * emulation suite's fixture, igb presents both, nvme only Privileged Mode).
 */
TEST_F(provider, a_pasid_feature_the_pf_does_not_deliver_reads_0)
{
	static const uint16_t bits[] = { PCI_PASID_CAP_EXEC, PCI_PASID_CAP_PRIV };
	uint16_t all, cap;
	int i, tested = 0;

	vf_open(_metadata, &self->vf);
	ASSERT_NE(0, self->vf.pasid) TH_LOG("placement: %s", self->vf.placement);
	memcpy(&all, self->vf.cfg + self->vf.pasid + PCI_PASID_CAP, sizeof(all));
	vf_close(&self->vf);
	for (i = 0; i < 2; i++) {
		if (!(all & bits[i]))
			continue;
		tested++;
		/* VPV_PF_FEAT_PASID_EXEC/PRIV are the PASID Capability's bits. */
		ASSERT_EQ(0, prov_cmd("features 0x%x", VPV_FEAT_ALL & ~bits[i]));
		vf_open(_metadata, &self->vf);
		ASSERT_NE(0, self->vf.pasid) TH_LOG("placement: %s", self->vf.placement);
		memcpy(&cap, self->vf.cfg + self->vf.pasid + PCI_PASID_CAP, sizeof(cap));
		vf_close(&self->vf);
		ASSERT_EQ(all & ~bits[i], cap)
			TH_LOG("PASID Capability 0x%04x without feature 0x%x; 0x%04x with all",
			       cap, bits[i], all);
	}
	ASSERT_LT(0, tested) TH_LOG("PASID Capability 0x%04x: neither Exec nor Priv presented", all);
}

/*
 * Unregistering while the VF is open: ->pasid_put() for it at once, none at
 * its close; the VF stays open and a PASID user of the PF.
 */
TEST_F(provider, unregister_puts_the_open_vf_which_stays_a_pasid_user)
{
	char state[32];
	struct prov p;

	vf_open(_metadata, &self->vf);
	ASSERT_NE(0, self->vf.pasid) TH_LOG("placement: %s", self->vf.placement);
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(1, p.gets);
	ASSERT_EQ(0, p.puts);
	ASSERT_EQ(0, prov_cmd("unregister"));
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(0, p.registered);
	ASSERT_EQ(1, p.puts) TH_LOG("no ->pasid_put() for the open VF at unregister");
	ASSERT_TRUE(listed(pf_bdf, vf_bdf)) TH_LOG("%s not under %s in %s", vf_bdf, pf_bdf,
						   PASID_USERS);
	ASSERT_EQ(0, pf_pasid_str(state, sizeof(state)));
	ASSERT_STREQ("held", state);
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, false, 0, self->vf.cfg, sizeof(self->vf.cfg)));
	ASSERT_EQ(self->vf.pasid, vpv_ecap_find(self->vf.cfg, PCI_EXT_CAP_ID_PASID));
	vf_close(&self->vf);
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(1, p.puts) TH_LOG("->pasid_put() after unregister");
	ASSERT_FALSE(listed(pf_bdf, vf_bdf));
}

/* A VF opened before the provider registered was never got: no ->pasid_put() at its close. */
TEST_F(provider, a_vf_open_before_register_is_not_put_at_its_close)
{
	struct prov p;

	ASSERT_EQ(0, prov_cmd("unregister"));
	vf_open(_metadata, &self->vf);
	ASSERT_NE(0, self->vf.pasid) TH_LOG("placement: %s", self->vf.placement);
	ASSERT_EQ(0, prov_cmd("register"));
	vf_close(&self->vf);
	ASSERT_EQ(0, prov_read(&p));
	ASSERT_EQ(0, p.gets);
	ASSERT_EQ(0, p.puts) TH_LOG("->pasid_put() for a VF the provider never got");
}

/*
 * vpv_pf_pri_event(): Response Failure and Unexpected PRG Index, each latched
 * in the open VF's emulated PRI Status until its user writes 1 to it.
 */
TEST_F(provider, pri_event_latches_rf_and_uprgi_until_the_user_writes_1)
{
	static const uint16_t bits[] = { PCI_PRI_STATUS_RF, PCI_PRI_STATUS_UPRGI };
	uint16_t status, w;
	unsigned int off;
	int i;

	vf_open(_metadata, &self->vf);
	ASSERT_NE(0, self->vf.pri) TH_LOG("placement: %s", self->vf.placement);
	off = self->vf.pri + PCI_PRI_STATUS;
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, false, off, &status, sizeof(status)));
	ASSERT_EQ(0, status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, prov_cmd("pri_event %d 0x%x", vf_index, bits[i]));
		ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, false, off, &status, sizeof(status)));
		ASSERT_EQ(bits[i], status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI))
			TH_LOG("PRI Status 0x%04x after event 0x%x", status, bits[i]);
		/* Still there at the next read. */
		ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, false, off, &status, sizeof(status)));
		ASSERT_EQ(bits[i], status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
		w = bits[i];
		ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, true, off, &w, sizeof(w)));
		ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, false, off, &status, sizeof(status)));
		ASSERT_EQ(0, status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI))
			TH_LOG("PRI Status 0x%04x after writing 0x%x", status, bits[i]);
	}
}

/* vpv_pf_pri_event() with bits other than RF and UPRGI: -EINVAL, nothing latched. */
TEST_F(provider, pri_event_with_other_bits_is_einval)
{
	static const unsigned int bad[] = { 0x4, PCI_PRI_STATUS_STOPPED, PCI_PRI_STATUS_PASID,
					    PCI_PRI_STATUS_RF | 0x4 };
	uint16_t status;
	int i;

	vf_open(_metadata, &self->vf);
	ASSERT_NE(0, self->vf.pri) TH_LOG("placement: %s", self->vf.placement);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(-EINVAL, prov_cmd("pri_event %d 0x%x", vf_index, bad[i]))
			TH_LOG("pri_event 0x%x", bad[i]);
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, false, self->vf.pri + PCI_PRI_STATUS, &status,
				     sizeof(status)));
	ASSERT_EQ(0, status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
}

/* vpv_pf_pri_event() for a VF that is not open with PRI presented: -ENODEV. */
TEST_F(provider, pri_event_for_a_vf_not_open_with_pri_is_enodev)
{
	ASSERT_EQ(-ENODEV, prov_cmd("pri_event %d 0x%x", vf_index, PCI_PRI_STATUS_RF))
		TH_LOG("the VF is bound, not open");
	ASSERT_EQ(0, prov_cmd("features 0x%x", VPV_FEAT_ALL & ~VPV_FEAT_PRI));
	vf_open(_metadata, &self->vf);
	ASSERT_EQ(0, self->vf.pri) TH_LOG("placement: %s", self->vf.placement);
	ASSERT_EQ(-ENODEV, prov_cmd("pri_event %d 0x%x", vf_index, PCI_PRI_STATUS_RF))
		TH_LOG("the VF is open without PRI");
}

/*
 * The PF's PASID goes off with the provider registered (the fixture's
 * pasid_disable calls vpv_pf_pasid_changed()): the user's error eventfd fires
 * without any access of the user, and pf_pasid reads "lost".
 */
TEST_F(provider, pasid_changed_signals_the_user_without_an_access)
{
	char state[32];
	uint64_t n;

	self->err_fd = vf_open_pasid_enabled(_metadata, &self->vf);
	ASSERT_EQ(0, vpv_fixture_fault("pasid_disable"));
	self->pf_pasid_off = true;
	/* No config access from here on. */
	ASSERT_EQ(1, wait_readable(self->err_fd, 1000)) TH_LOG("no VFIO_PCI_ERR_IRQ_INDEX eventfd");
	ASSERT_EQ(sizeof(n), read(self->err_fd, &n, sizeof(n)));
	ASSERT_EQ(0, pf_pasid_str(state, sizeof(state)));
	ASSERT_STREQ("lost", state);
	ASSERT_EQ(0, vpv_fixture_fault("pasid_enable"));
	self->pf_pasid_off = false;
}

/* vpv_pf_pasid_changed() with the PF's PASID still on: nothing for the user. */
TEST_F(provider, pasid_changed_with_the_pasid_unchanged_signals_nothing)
{
	char state[32];
	uint16_t v;

	self->err_fd = vf_open_pasid_enabled(_metadata, &self->vf);
	ASSERT_EQ(0, prov_cmd("pasid_changed"));
	ASSERT_EQ(0, wait_readable(self->err_fd, 200)) TH_LOG("the error eventfd fired");
	ASSERT_EQ(0, pf_pasid_str(state, sizeof(state)));
	ASSERT_STREQ("held", state);
	ASSERT_EQ(0, vpv_vfio_cfg_rw(self->vf.dev, false, self->vf.pasid + PCI_PASID_CTRL, &v, sizeof(v)));
	ASSERT_EQ(PCI_PASID_CTRL_ENABLE, v);
}

int main(int argc, char *argv[])
{
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	return test_harness_run(argc, argv);
}
