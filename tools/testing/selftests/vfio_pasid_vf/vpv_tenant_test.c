// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation between tenants: two VFs of one PF, each bound to vfio-pasid-vf
 * and opened by a different user, a process with its own iommufd.  Nothing
 * one user does to its emulated PASID/PRI capabilities may be visible to the
 * other, and a Page Request event of the PF belongs to no VF.
 *
 *   vpv_tenant_test [harness options] VF_A VF_B
 * with two VFs of one PF (run.sh: with the vpv_pf fixture loaded with
 * pri_enable=1); the test binds them to vfio-pasid-vf.  Their PF (physfn)
 * and their indexes among its VFs (virtfnN: the fixture's write logs) come
 * from sysfs.
 *
 * User A is the test process, user B a child it forks; B executes what the
 * test asks it to through a pipe and answers through another.  Both open
 * their VF in the variant's IOMMU mode, each with its own container or
 * iommufd.  Expected values come from the PF (sysfs), the fixture and the
 * PCIe spec.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/wait.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"


static const char *bdf_a, *bdf_b;
static char pf_bdf[32];
static int index_a = -1, index_b = -1;

/* --- a user: this process, or a child that serves requests --- */

enum op { OP_READ, OP_WRITE, OP_RESET, OP_CLOSE, OP_OPEN, OP_FIND, OP_EXIT };

struct req {
	int op;
	unsigned int off, size;
	uint64_t val;
};

struct rsp {
	int err;	/* 0 or -errno */
	uint64_t val;
};

struct user {
	char name;		/* 'A' or 'B' */
	const char *bdf;
	int log;		/* fixture write-log index */
	pid_t pid;		/* the child serving this user; 0: this process */
	int to, from;		/* pipes to and from it */
	const char *iommu_mode;
	struct iommu *iommu;	/* this process's user only */
	struct vfio_pci_device *dev;
	unsigned int pasid, pri;	/* its emulated capabilities */
};

/* Executes a request on @u's device, in the process that owns it. */
static struct rsp execute(struct user *u, const struct req *q)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	struct rsp r = {};
	uint64_t v = q->val;

	if (!u->dev && q->op != OP_OPEN && q->op != OP_EXIT)
		return (struct rsp){ .err = -EBADF };
	switch (q->op) {
	case OP_READ:
	case OP_WRITE:
		r.err = vpv_vfio_cfg_rw(u->dev, q->op == OP_WRITE, q->off, &v, q->size);
		r.val = v;
		break;
	case OP_RESET:
		r.err = ioctl(u->dev->fd, VFIO_DEVICE_RESET) ? -errno : 0;
		break;
	case OP_CLOSE:
		vfio_pci_device_cleanup(u->dev);
		u->dev = NULL;
		break;
	case OP_OPEN:
		if (!u->dev)
			u->dev = vfio_pci_device_init(u->bdf, u->iommu);
		break;
	case OP_FIND:
		r.err = vpv_vfio_cfg_rw(u->dev, false, 0, cfg, sizeof(cfg));
		r.val = r.err ? 0 : vpv_ecap_find(cfg, q->val);
		break;
	case OP_EXIT:
		if (u->dev)
			vfio_pci_device_cleanup(u->dev);
		u->dev = NULL;
		iommu_cleanup(u->iommu);
		break;
	}
	return r;
}

/* The child's life: its own iommufd, its own open of its VF, requests until EOF. */
static void serve(struct user *u, int in, int out)
{
	struct req q;
	struct rsp r;

	u->iommu = iommu_init(u->iommu_mode);
	u->dev = vfio_pci_device_init(u->bdf, u->iommu);
	while (read(in, &q, sizeof(q)) == sizeof(q)) {
		r = execute(u, &q);
		if (write(out, &r, sizeof(r)) != sizeof(r) || q.op == OP_EXIT)
			break;
	}
	_exit(0);
}

static int start_child(struct user *u)
{
	int to[2], from[2];

	if (pipe(to) || pipe(from))
		return -errno;
	u->pid = fork();
	if (u->pid < 0)
		return -errno;
	if (!u->pid) {
		close(to[1]);
		close(from[0]);
		serve(u, to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	u->to = to[1];
	u->from = from[0];
	return 0;
}

static struct rsp request(struct user *u, int op, unsigned int off, unsigned int size, uint64_t val)
{
	struct req q = { .op = op, .off = off, .size = size, .val = val };
	struct rsp r;

	if (!u->pid)
		return execute(u, &q);
	if (write(u->to, &q, sizeof(q)) != sizeof(q) || read(u->from, &r, sizeof(r)) != sizeof(r))
		return (struct rsp){ .err = -EPIPE };	/* the child died */
	return r;
}

static int u_write(struct user *u, unsigned int off, unsigned int size, uint64_t val)
{
	return request(u, OP_WRITE, off, size, val).err;
}

/* Reads @size bytes; ~0 if the read failed (no register here reads all ones). */
static uint64_t u_read(struct user *u, unsigned int off, unsigned int size)
{
	struct rsp r = request(u, OP_READ, off, size, 0);

	return r.err ? ~0ull : r.val;
}

/* --- the PF and the fixture --- */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Number of writes in a fixture write log; the first one in @first. */
static int fixture_log_count(const char *who, char *first, size_t len)
{
	unsigned long dropped;
	struct vpv_write w;
	int n = vpv_fixture_writes(who, &w, 1, &dropped);

	first[0] = '\0';
	if (n > 0)
		snprintf(first, len, "%x %u %x", w.off, w.size, w.val);
	return n;
}

/* --- the fixture of every test: A open here, B open in a child --- */

struct regs {
	uint32_t pasid_hdr, pasid_cap_ctrl;
	uint32_t pri_hdr, pri_ctrl_status, pri_capacity, pri_alloc;
};

FIXTURE(tenants) {
	struct user a, b;
	uint8_t pf_cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pf_pri;
	char log_a[8], log_b[8];
	uint16_t pri_status_reset;	/* Stopped, and the PF's PASID Required */
	uint32_t pri_capacity;		/* the PF's */
};

FIXTURE_VARIANT(tenants) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(tenants);

static void find_caps(struct __test_metadata *_metadata, struct user *u)
{
	struct rsp pasid = request(u, OP_FIND, 0, 0, PCI_EXT_CAP_ID_PASID);
	struct rsp pri = request(u, OP_FIND, 0, 0, PCI_EXT_CAP_ID_PRI);

	ASSERT_EQ(0, pasid.err) TH_LOG("user %c: config space through VFIO", u->name);
	ASSERT_EQ(0, pri.err) TH_LOG("user %c: config space through VFIO", u->name);
	u->pasid = pasid.val;
	u->pri = pri.val;
	ASSERT_NE(0, u->pasid) TH_LOG("VF %c (%s) presents no PASID capability", u->name, u->bdf);
	ASSERT_NE(0, u->pri) TH_LOG("VF %c (%s) presents no PRI capability", u->name, u->bdf);
}

static void ensure_bound(struct __test_metadata *_metadata, const char *bdf)
{
	char drv[64];

	ASSERT_EQ(0, vpv_driver_of(bdf, drv, sizeof(drv)));
	if (strcmp(drv, VPV_DRIVER)) {
		ASSERT_EQ(0, vpv_bind(bdf, VPV_DRIVER)) TH_LOG("binding %s to " VPV_DRIVER, bdf);
	}
}

FIXTURE_SETUP(tenants)
{
	unsigned int pf_pasid;

	if (!bdf_b)
		SKIP(return, "needs two VFs of one PF: vpv_tenant_test VF_A VF_B");
	ASSERT_STRNE(bdf_a, bdf_b) TH_LOG("VF A and VF B are the same VF");
	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, self->pf_cfg, sizeof(self->pf_cfg)));
	pf_pasid = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PASID);
	self->pf_pri = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, pf_pasid) TH_LOG("PF %s has no PASID capability: load the vpv_pf fixture", pf_bdf);
	ASSERT_NE(0, self->pf_pri) TH_LOG("PF %s has no PRI capability: load the vpv_pf fixture", pf_bdf);
	ASSERT_NE(0, le32(self->pf_cfg + self->pf_pri + PCI_PRI_CTRL) & PCI_PRI_CTRL_ENABLE)
		TH_LOG("PRI is not enabled on the PF (PCI_PRI_CTRL): load the fixture with pri_enable=1");
	self->pri_status_reset = PCI_PRI_STATUS_STOPPED |
		((le32(self->pf_cfg + self->pf_pri + PCI_PRI_CTRL) >> 16) & PCI_PRI_STATUS_PASID);
	self->pri_capacity = le32(self->pf_cfg + self->pf_pri + PCI_PRI_MAX_REQ);
	snprintf(self->log_a, sizeof(self->log_a), "vf%d", index_a);
	snprintf(self->log_b, sizeof(self->log_b), "vf%d", index_b);

	ensure_bound(_metadata, bdf_a);
	ensure_bound(_metadata, bdf_b);
	self->a = (struct user){
		.name = 'A', .bdf = bdf_a, .log = index_a, .iommu_mode = variant->iommu_mode,
	};
	self->b = (struct user){
		.name = 'B', .bdf = bdf_b, .log = index_b, .iommu_mode = variant->iommu_mode,
	};
	/* B first, so that it inherits nothing of A's. */
	ASSERT_EQ(0, start_child(&self->b));
	self->a.iommu = iommu_init(variant->iommu_mode);
	self->a.dev = vfio_pci_device_init(bdf_a, self->a.iommu);
	find_caps(_metadata, &self->a);
	find_caps(_metadata, &self->b);
}

FIXTURE_TEARDOWN(tenants)
{
	int status;

	if (self->b.pid > 0) {
		EXPECT_EQ(0, request(&self->b, OP_EXIT, 0, 0, 0).err) TH_LOG("user B did not exit cleanly");
		close(self->b.to);
		close(self->b.from);
		EXPECT_EQ(self->b.pid, waitpid(self->b.pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) TH_LOG("user B's status %#x", status);
	}
	if (self->a.iommu)
		execute(&self->a, &(struct req){ .op = OP_EXIT });
}

static struct regs read_regs(struct user *u)
{
	return (struct regs){
		.pasid_hdr = u_read(u, u->pasid, 4),
		.pasid_cap_ctrl = u_read(u, u->pasid + PCI_PASID_CAP, 4),
		.pri_hdr = u_read(u, u->pri, 4),
		.pri_ctrl_status = u_read(u, u->pri + PCI_PRI_CTRL, 4),
		.pri_capacity = u_read(u, u->pri + PCI_PRI_MAX_REQ, 4),
		.pri_alloc = u_read(u, u->pri + PCI_PRI_ALLOC_REQ, 4),
	};
}

/* @u's RW registers at their reset values, the RO ones at the PF's and the spec's. */
static void expect_reset_values(struct __test_metadata *_metadata, FIXTURE_DATA(tenants) *self,
				struct user *u, const char *after)
{
	struct regs r = read_regs(u);

	EXPECT_EQ(PCI_EXT_CAP_ID_PASID, PCI_EXT_CAP_ID(r.pasid_hdr))
		TH_LOG("user %c's PASID header %#x, after %s", u->name, r.pasid_hdr, after);
	EXPECT_EQ(0, r.pasid_cap_ctrl >> 16)
		TH_LOG("user %c's PCI_PASID_CTRL, after %s", u->name, after);
	EXPECT_EQ(PCI_EXT_CAP_ID_PRI, PCI_EXT_CAP_ID(r.pri_hdr))
		TH_LOG("user %c's PRI header %#x, after %s", u->name, r.pri_hdr, after);
	EXPECT_EQ(0, r.pri_ctrl_status & 0xffff)
		TH_LOG("user %c's PCI_PRI_CTRL, after %s", u->name, after);
	EXPECT_EQ(self->pri_status_reset, r.pri_ctrl_status >> 16)
		TH_LOG("user %c's PCI_PRI_STATUS, after %s", u->name, after);
	EXPECT_EQ(self->pri_capacity, r.pri_capacity)
		TH_LOG("user %c's PCI_PRI_MAX_REQ, after %s", u->name, after);
	EXPECT_EQ(0, r.pri_alloc)
		TH_LOG("user %c's PCI_PRI_ALLOC_REQ, after %s", u->name, after);
}

static void expect_unchanged(struct __test_metadata *_metadata, struct user *u,
			     const struct regs *before, const char *after)
{
	struct regs r = read_regs(u);

	EXPECT_EQ(before->pasid_hdr, r.pasid_hdr) TH_LOG("user %c's PASID header, after %s", u->name, after);
	EXPECT_EQ(before->pasid_cap_ctrl, r.pasid_cap_ctrl)
		TH_LOG("user %c's PCI_PASID_CAP/PCI_PASID_CTRL, after %s", u->name, after);
	EXPECT_EQ(before->pri_hdr, r.pri_hdr) TH_LOG("user %c's PRI header, after %s", u->name, after);
	EXPECT_EQ(before->pri_ctrl_status, r.pri_ctrl_status)
		TH_LOG("user %c's PCI_PRI_CTRL/PCI_PRI_STATUS, after %s", u->name, after);
	EXPECT_EQ(before->pri_capacity, r.pri_capacity)
		TH_LOG("user %c's PCI_PRI_MAX_REQ, after %s", u->name, after);
	EXPECT_EQ(before->pri_alloc, r.pri_alloc)
		TH_LOG("user %c's PCI_PRI_ALLOC_REQ, after %s", u->name, after);
}

/* PRI Status RW1C flags: nothing is attributed to a VF, so they read 0. */
static void expect_no_pri_flags(struct __test_metadata *_metadata, struct user *u, const char *after)
{
	uint64_t status = u_read(u, u->pri + PCI_PRI_STATUS, 2);

	ASSERT_NE(~0ull, status) TH_LOG("user %c: reading PCI_PRI_STATUS", u->name);
	EXPECT_EQ(0, status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI))
		TH_LOG("user %c's PCI_PRI_STATUS %#llx (RF/UPRGI) after %s", u->name,
		       (unsigned long long)status, after);
}

static int pf_pri_status(FIXTURE_DATA(tenants) *self, uint16_t *status)
{
	return vpv_cfg_read(pf_bdf, self->pf_pri + PCI_PRI_STATUS, status, sizeof(*status));
}

/* Clears the PF's RF and UPRGI (RW1C), as the PF's driver would. */
static int pf_clear_pri_flags(FIXTURE_DATA(tenants) *self)
{
	uint16_t bits = PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI;

	return vpv_cfg_write(pf_bdf, self->pf_pri + PCI_PRI_STATUS, &bits, sizeof(bits));
}

TEST_F(tenants, a_pf_page_request_event_shows_in_neither_vfs_pri_status)
{
	static const struct {
		const char *event;
		uint16_t bits;
	} ev[] = {
		{ "rf", PCI_PRI_STATUS_RF },
		{ "uprgi", PCI_PRI_STATUS_UPRGI },
		{ "rf uprgi", PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI },
	};
	uint16_t enable, pf_status;
	unsigned int i;
	char what[64];

	/* With the VFs' Page Request Interfaces disabled, then enabled. */
	for (enable = 0; enable <= PCI_PRI_CTRL_ENABLE; enable += PCI_PRI_CTRL_ENABLE) {
		ASSERT_EQ(0, u_write(&self->a, self->a.pri + PCI_PRI_CTRL, 2, enable));
		ASSERT_EQ(0, u_write(&self->b, self->b.pri + PCI_PRI_CTRL, 2, enable));
		for (i = 0; i < ARRAY_SIZE(ev); i++) {
			snprintf(what, sizeof(what), "PF event '%s' (VF PRI %s)", ev[i].event,
				 enable ? "enabled" : "disabled");
			ASSERT_EQ(0, pf_clear_pri_flags(self));
			ASSERT_EQ(0, pf_pri_status(self, &pf_status));
			ASSERT_EQ(0, pf_status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI))
				TH_LOG("the PF's PCI_PRI_STATUS flags did not clear: %#x", pf_status);
			/* Each VF is read before the event too: an edge would show. */
			expect_no_pri_flags(_metadata, &self->a, "clearing the PF's flags");
			expect_no_pri_flags(_metadata, &self->b, "clearing the PF's flags");
			ASSERT_EQ(0, vpv_file_write(VPV_FIXTURE_DEBUGFS "/pri_event", ev[i].event));
			ASSERT_EQ(0, pf_pri_status(self, &pf_status));
			ASSERT_EQ(ev[i].bits, pf_status & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI))
				TH_LOG("the event did not reach the PF's PCI_PRI_STATUS: %#x", pf_status);
			expect_no_pri_flags(_metadata, &self->a, what);
			expect_no_pri_flags(_metadata, &self->b, what);
		}
	}
	ASSERT_EQ(0, pf_clear_pri_flags(self));
}

/*
 * Everything a user can write to its emulated capabilities; after each
 * write, the writer's register shows it (or the spec says it does not) and
 * the other user's registers are still at their reset values.
 */
static void writes_leave_the_other_at_reset_values(struct __test_metadata *_metadata,
						   FIXTURE_DATA(tenants) *self,
						   struct user *w, struct user *o)
{
	const struct {
		const char *what;
		unsigned int off, size;
		uint64_t val;
		unsigned int check, check_size;	/* the writer's register to read back */
		uint64_t mask, want;
	} wr[] = {
		{ "PCI_PASID_CTRL Enable|Exec|Priv", w->pasid + PCI_PASID_CTRL, 2,
		  PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC | PCI_PASID_CTRL_PRIV,
		  w->pasid + PCI_PASID_CTRL, 2, PCI_PASID_CTRL_ENABLE, PCI_PASID_CTRL_ENABLE },
		{ "PCI_PRI_CTRL Enable", w->pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE,
		  w->pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_STOPPED, 0 },
		{ "PCI_PRI_CTRL Enable|Reset", w->pri + PCI_PRI_CTRL, 2,
		  PCI_PRI_CTRL_ENABLE | PCI_PRI_CTRL_RESET,
		  w->pri + PCI_PRI_CTRL, 2, 0xffff, PCI_PRI_CTRL_ENABLE },
		{ "PCI_PRI_STATUS RF|UPRGI (RW1C)", w->pri + PCI_PRI_STATUS, 2,
		  PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI,
		  w->pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI, 0 },
		{ "PCI_PRI_STATUS all ones", w->pri + PCI_PRI_STATUS, 2, 0xffff,
		  w->pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI, 0 },
		{ "PCI_PRI_CTRL Reset (disabled)", w->pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_RESET,
		  w->pri + PCI_PRI_STATUS, 2, PCI_PRI_STATUS_STOPPED, PCI_PRI_STATUS_STOPPED },
		{ "PCI_PRI_ALLOC_REQ", w->pri + PCI_PRI_ALLOC_REQ, 4, 0x12345678,
		  w->pri + PCI_PRI_ALLOC_REQ, 4, 0xffffffff, 0x12345678 },
		{ "PCI_PRI_CTRL Enable with PCI_PRI_STATUS RF|UPRGI, one dword",
		  w->pri + PCI_PRI_CTRL, 4,
		  PCI_PRI_CTRL_ENABLE | (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI) << 16,
		  w->pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE, PCI_PRI_CTRL_ENABLE },
		{ "PCI_PRI_MAX_REQ and PCI_PRI_ALLOC_REQ, one qword", w->pri + PCI_PRI_MAX_REQ, 8,
		  0xa5a5a5a5ffffffffull, w->pri + PCI_PRI_ALLOC_REQ, 4, 0xffffffff, 0xa5a5a5a5 },
		{ "PCI_PASID_CAP and PCI_PASID_CTRL, one dword", w->pasid + PCI_PASID_CAP, 4,
		  0xffffffff, w->pasid + PCI_PASID_CTRL, 2, PCI_PASID_CTRL_ENABLE,
		  PCI_PASID_CTRL_ENABLE },
	};
	unsigned int i;
	char what[128];

	expect_reset_values(_metadata, self, o, "opening");
	for (i = 0; i < ARRAY_SIZE(wr); i++) {
		uint64_t got;

		ASSERT_EQ(0, u_write(w, wr[i].off, wr[i].size, wr[i].val))
			TH_LOG("user %c writing %s", w->name, wr[i].what);
		got = u_read(w, wr[i].check, wr[i].check_size);
		EXPECT_EQ(wr[i].want, got & wr[i].mask)
			TH_LOG("user %c's own register at %#x after writing %s: %#llx", w->name,
			       wr[i].check, wr[i].what, (unsigned long long)got);
		snprintf(what, sizeof(what), "user %c wrote %s", w->name, wr[i].what);
		expect_reset_values(_metadata, self, o, what);
	}
}

TEST_F(tenants, user_a_writes_leave_user_b_registers_at_reset_values)
{
	writes_leave_the_other_at_reset_values(_metadata, self, &self->a, &self->b);
}

TEST_F(tenants, user_b_writes_leave_user_a_registers_at_reset_values)
{
	writes_leave_the_other_at_reset_values(_metadata, self, &self->b, &self->a);
}

/* Non-reset values in @u's RW registers (and they took). */
static void dirty(struct __test_metadata *_metadata, struct user *u, uint32_t alloc)
{
	ASSERT_EQ(0, u_write(u, u->pasid + PCI_PASID_CTRL, 2, PCI_PASID_CTRL_ENABLE));
	ASSERT_EQ(0, u_write(u, u->pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE));
	ASSERT_EQ(0, u_write(u, u->pri + PCI_PRI_ALLOC_REQ, 4, alloc));
	ASSERT_EQ(PCI_PASID_CTRL_ENABLE, u_read(u, u->pasid + PCI_PASID_CTRL, 2))
		TH_LOG("user %c's PCI_PASID_CTRL", u->name);
	ASSERT_EQ(PCI_PRI_CTRL_ENABLE, u_read(u, u->pri + PCI_PRI_CTRL, 2))
		TH_LOG("user %c's PCI_PRI_CTRL", u->name);
	ASSERT_EQ(alloc, u_read(u, u->pri + PCI_PRI_ALLOC_REQ, 4))
		TH_LOG("user %c's PCI_PRI_ALLOC_REQ", u->name);
}

static void reset_and_close_leave_the_other_unchanged(struct __test_metadata *_metadata,
						      FIXTURE_DATA(tenants) *self,
						      struct user *x, struct user *o)
{
	struct regs before;
	char what[64];

	dirty(_metadata, o, 0x0b0b0b0b);
	dirty(_metadata, x, 0x0a0a0a0a);
	before = read_regs(o);

	snprintf(what, sizeof(what), "user %c's VFIO_DEVICE_RESET", x->name);
	ASSERT_EQ(0, request(x, OP_RESET, 0, 0, 0).err) TH_LOG("%s", what);
	expect_reset_values(_metadata, self, x, what);	/* the reset did happen */
	expect_unchanged(_metadata, o, &before, what);

	snprintf(what, sizeof(what), "user %c closed its VF", x->name);
	ASSERT_EQ(0, request(x, OP_CLOSE, 0, 0, 0).err);
	expect_unchanged(_metadata, o, &before, what);

	snprintf(what, sizeof(what), "user %c reopened its VF", x->name);
	ASSERT_EQ(0, request(x, OP_OPEN, 0, 0, 0).err);
	expect_unchanged(_metadata, o, &before, what);
	expect_reset_values(_metadata, self, x, what);
}

TEST_F(tenants, user_a_reset_close_and_reopen_leave_user_b_registers_unchanged)
{
	reset_and_close_leave_the_other_unchanged(_metadata, self, &self->a, &self->b);
}

TEST_F(tenants, user_b_reset_close_and_reopen_leave_user_a_registers_unchanged)
{
	reset_and_close_leave_the_other_unchanged(_metadata, self, &self->b, &self->a);
}

/* Every size at every offset inside @u's emulated capabilities, all ones then zeros. */
static void write_everything(struct __test_metadata *_metadata, struct user *u)
{
	const unsigned int caps[2] = { u->pasid, u->pri };
	const unsigned int lens[2] = { PCI_EXT_CAP_PASID_SIZEOF, PCI_EXT_CAP_PRI_SIZEOF };
	unsigned int i, off, size, pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < 2; i++)
			for (size = 1; size <= 8; size *= 2)
				for (off = caps[i]; off + size <= caps[i] + lens[i]; off++) {
					ASSERT_EQ(0, u_write(u, off, size, pass ? 0 : ~0ull))
						TH_LOG("user %c: %u-byte write at %#x", u->name, size, off);
				}
}

/*
 * Writes a byte of @bdf's config space back to what it holds (Cache Line
 * Size), through sysfs: proves that the fixture logs writes to @log.
 */
static void log_works(struct __test_metadata *_metadata, const char *bdf, const char *log)
{
	char first[128];
	uint8_t v;

	ASSERT_EQ(0, vpv_fixture_clear_writes(log));
	ASSERT_EQ(0, vpv_cfg_read(bdf, PCI_CACHE_LINE_SIZE, &v, 1));
	ASSERT_EQ(0, vpv_cfg_write(bdf, PCI_CACHE_LINE_SIZE, &v, 1));
	ASSERT_EQ(1, fixture_log_count(log, first, sizeof(first)))
		TH_LOG("a write to %s's PCI_CACHE_LINE_SIZE is not in writes/%s: is the index right?",
		       bdf, log);
	ASSERT_EQ(0, vpv_fixture_clear_writes(log));
}

TEST_F(tenants, nothing_written_to_emulated_capabilities_reaches_a_vf_or_the_pf)
{
	const char *logs[3] = { self->log_a, self->log_b, "pf" };
	char first[128];
	unsigned int i;

	log_works(_metadata, bdf_a, self->log_a);
	log_works(_metadata, bdf_b, self->log_b);
	log_works(_metadata, pf_bdf, "pf");
	write_everything(_metadata, &self->a);
	write_everything(_metadata, &self->b);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, fixture_log_count(logs[i], first, sizeof(first)))
			TH_LOG("writes/%s logged config writes; the first: %s", logs[i], first);
	}
}

int main(int argc, char *argv[])
{
	char pf_b[32];
	char **bdfs;
	int nr;

	bdfs = vfio_selftests_get_bdfs(&argc, argv, &nr);
	bdf_a = bdfs[0];
	bdf_b = nr > 1 ? bdfs[1] : NULL;
	index_a = vpv_vf_index(bdf_a, pf_bdf, sizeof(pf_bdf));
	if (index_a < 0)
		ksft_exit_fail_msg("VF A %s: not a VF of an SR-IOV PF in sysfs (physfn, virtfnN): %s\n",
				   bdf_a, strerror(-index_a));
	if (bdf_b) {
		index_b = vpv_vf_index(bdf_b, pf_b, sizeof(pf_b));
		if (index_b < 0 || strcmp(pf_b, pf_bdf))
			ksft_exit_fail_msg("VF B %s is not a VF of VF A's PF %s\n", bdf_b, pf_bdf);
	}
	/* A dead child must not kill us with SIGPIPE: its pipe says -EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	return test_harness_run(argc, argv);
}
