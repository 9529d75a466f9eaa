// SPDX-License-Identifier: GPL-2.0
/*
 * The vpv_pf fixture (tools/testing/fixtures/vpv_pf): an emulated SR-IOV PF
 * that looks and behaves like PASID/PRI/ATS-capable hardware.
 *
 * Run by run.sh --suite fixture, with the fixture loaded on one PF and VFs
 * created; the PF is the one the fixture says it dresses up (its pf
 * parameter in sysfs).  Environment, what sysfs cannot tell:
 *   VPV_FIXTURE_KO      the fixture module, for the reload tests (a path)
 *   VPV_FIXTURE_PARAMS  the parameters the suite loaded it with (sysfs shows
 *                       the current values, which the tests change)
 * The tests run in order (the plain TESTs, then each FIXTURE's, in the order
 * of the FIXTURE()s); the fault-hook, "apply" and reload tests come last and
 * put things back as they found them (fixture loaded with the same
 * parameters, same number of VFs, no VF offline), in their teardown when
 * they have one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/syscall.h>

#include <linux/pci_regs.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#define FX_DEBUGFS	"/sys/kernel/debug/vpv_pf"
#define FX_PARAMS	"/sys/module/vpv_pf/parameters"
#define FX_MODULE	"vpv_pf"
#define FX_PATTERN(off)	(0x5a5a0000u | (off))	/* unspecified emulated dwords */
#define FX_VSEC_ID	0x5650

enum { PASID, PRI, ATS, NCAPS };
static const char * const cap_name[NCAPS] = { "pasid", "pri", "ats" };
static const char * const cap_ver[NCAPS] = { "pasid_ver", "pri_ver", "ats_ver" };
static const uint16_t cap_id[NCAPS] = {
	PCI_EXT_CAP_ID_PASID, PCI_EXT_CAP_ID_PRI, PCI_EXT_CAP_ID_ATS
};

/* debugfs "layout": what the fixture built. */
struct layout {
	bool active;
	struct {
		bool on;
		unsigned int off, len, ver;
	} cap[NCAPS];
	unsigned int sriov, vf_device, vf_head_id;
	int nvfs;
	struct {
		char bdf[16];
		bool full, offline;
		char status[16];
	} vf[8];
	int nextcaps;
	struct {
		unsigned int id, off, len, ver;
	} extcap[4];
	int nhidden;
	struct {
		unsigned int off;
		uint32_t val;
	} hidden[8];
};

static char pf_bdf[32];		/* the fixture's PF */
static struct layout lay;	/* as found when the program started */
static int numvfs;		/* likewise */

static int read_layout(struct layout *l)
{
	char buf[4096], *line, *save;
	int n, i;

	memset(l, 0, sizeof(*l));
	n = vpv_file_read(FX_DEBUGFS "/layout", buf, sizeof(buf));
	if (n < 0)
		return n;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char word[16], bdf[16], mode[16], st[16];
		unsigned int a, b, c, d;

		if (!strcmp(line, "state active"))
			l->active = true;
		for (i = 0; i < NCAPS; i++)
			if (sscanf(line, "%15s %x %x %u", word, &a, &b, &c) == 4 &&
			    !strcmp(word, cap_name[i]))
				l->cap[i] = (typeof(l->cap[0])){ true, a, b, c };
		b = 0;
		if (sscanf(line, "sriov %x total %*u offset %*u stride %*u vf_device %x",
			   &a, &b) >= 1) {
			l->sriov = a;
			l->vf_device = b;
		}
		if (sscanf(line, "vf %u %15s %15s %15s", &a, bdf, mode, st) == 4 && a < 8) {
			snprintf(l->vf[a].bdf, sizeof(l->vf[a].bdf), "%s", bdf);
			snprintf(l->vf[a].status, sizeof(l->vf[a].status), "%s", st);
			l->vf[a].full = !strcmp(mode, "full");
			l->vf[a].offline = !!strstr(line, " offline");
			l->nvfs = a + 1;
		}
		if (sscanf(line, "vf_head_id %x", &a) == 1)
			l->vf_head_id = a;
		if (sscanf(line, "vf_extcap %x %x %x %u", &a, &b, &c, &d) == 4 && l->nextcaps < 4)
			l->extcap[l->nextcaps++] = (typeof(l->extcap[0])){ a, b, c, d };
		if (sscanf(line, "vf_hidden %x %x", &a, &b) == 2 && l->nhidden < 8)
			l->hidden[l->nhidden++] = (typeof(l->hidden[0])){ a, b };
	}
	return 0;
}

/* A module parameter as a number (Y/N for bools). */
static long param(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), FX_PARAMS "/%s", name);
	if (vpv_file_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	if (buf[0] == 'Y' || buf[0] == 'N')
		return buf[0] == 'Y';
	return strtol(buf, NULL, 0);
}

/* "key value" from debugfs pf_state; -1 if absent. */
static long pf_state(const char *key)
{
	char buf[1024], *p;
	size_t len = strlen(key);

	if (vpv_file_read(FX_DEBUGFS "/pf_state", buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, len) && p[len] == ' ')
			return strtol(p + len + 1, NULL, 0);
	return -1;
}

static uint32_t rd32(const uint8_t *cfg, unsigned int off)
{
	uint32_t v;

	memcpy(&v, cfg + off, sizeof(v));
	return v;
}

static uint16_t cfg16(const char *bdf, unsigned int off)
{
	uint16_t v = 0xffff;

	vpv_cfg_read(bdf, off, &v, sizeof(v));
	return v;
}

static uint32_t cfg32(const char *bdf, unsigned int off)
{
	uint32_t v = ~0u;

	vpv_cfg_read(bdf, off, &v, sizeof(v));
	return v;
}

static int put16(const char *bdf, unsigned int off, uint16_t v)
{
	return vpv_cfg_write(bdf, off, &v, sizeof(v));
}

static int put32(const char *bdf, unsigned int off, uint32_t v)
{
	return vpv_cfg_write(bdf, off, &v, sizeof(v));
}

/* Whether the write log of @who ("pf", "vf0", ...) has "OFF SIZE VAL". */
static bool logged(const char *who, unsigned int off, unsigned int size, uint32_t val)
{
	char path[256], buf[32768], want[64], *p;

	snprintf(path, sizeof(path), FX_DEBUGFS "/writes/%s", who);
	if (vpv_file_read(path, buf, sizeof(buf)) < 0)
		return false;
	snprintf(want, sizeof(want), "0x%03x %u 0x%0*x\n", off, size, size * 2, val);
	for (p = buf; (p = strstr(p, want)); p++)
		if (p == buf || p[-1] == '\n')
			return true;
	return false;
}

static int clear_log(const char *who)
{
	char path[256];

	snprintf(path, sizeof(path), FX_DEBUGFS "/writes/%s", who);
	return vpv_file_write(path, "0");
}

/* Wait for the fault hook @cmd to finish: its result, or -ETIMEDOUT. */
static int fault_wait(const char *cmd, int timeout_s)
{
	char buf[128], want[64];
	int rc, i;

	snprintf(want, sizeof(want), "done %s %%d", cmd);
	for (i = 0; i < timeout_s * 20; i++) {
		if (vpv_file_read(FX_DEBUGFS "/fault", buf, sizeof(buf)) > 0 &&
		    sscanf(buf, want, &rc) == 1)
			return rc;
		usleep(50000);
	}
	return -ETIMEDOUT;
}

/* Run a fault hook and wait for it. */
static int fault(const char *cmd, int timeout_s)
{
	if (vpv_file_write(FX_DEBUGFS "/fault", cmd))
		return -EIO;
	return fault_wait(cmd, timeout_s);
}

/* A synchronous fault hook ("vf_offline N", "vf_online N"): the write's result. */
static int fault_now(const char *fmt, int vf)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), fmt, vf);
	return vpv_file_write(FX_DEBUGFS "/fault", cmd);
}

/* Lines in the write log of @who; -1 if it cannot be read. */
static int log_lines(const char *who)
{
	char path[256], buf[32768], *p;
	int n = 0;

	snprintf(path, sizeof(path), FX_DEBUGFS "/writes/%s", who);
	if (vpv_file_read(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

static int sysfs_pf_write(const char *attr, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", pf_bdf, attr);
	return vpv_file_write(path, val);
}

/* A number in a sysfs attribute of @bdf, in @base; -1 if unreadable. */
static long sysfs_num(const char *bdf, const char *attr, int base)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	if (vpv_file_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, base);
}

static int sysfs_pf_int(const char *attr)
{
	return sysfs_num(pf_bdf, attr, 0);
}

/* Create @n VFs without a VF driver, as run.sh does. */
static int set_numvfs(int n)
{
	char val[16];

	if (sysfs_pf_int("sriov_numvfs") == n)
		return 0;
	if (n && sysfs_pf_int("sriov_numvfs"))
		sysfs_pf_write("sriov_numvfs", "0");
	sysfs_pf_write("sriov_drivers_autoprobe", "0");
	snprintf(val, sizeof(val), "%d", n);
	return sysfs_pf_write("sriov_numvfs", val);
}

static int first_normal_vf(void)
{
	int i;

	for (i = 0; i < numvfs && i < lay.nvfs; i++)
		if (!lay.vf[i].full)
			return i;
	return -1;
}

static int full_vf(void)
{
	int i;

	for (i = 0; i < numvfs && i < lay.nvfs; i++)
		if (lay.vf[i].full)
			return i;
	return -1;
}

/* The length of a real or emulated extended capability, as its ID says. */
static unsigned int ecap_len(const uint8_t *cfg, unsigned int pos)
{
	switch (rd32(cfg, pos) & 0xffff) {
	case PCI_EXT_CAP_ID_ERR:	return 0x48;	/* with the TLP Prefix Log */
	case PCI_EXT_CAP_ID_ARI:	return PCI_EXT_CAP_ARI_SIZEOF;
	case PCI_EXT_CAP_ID_ATS:	return PCI_EXT_CAP_ATS_SIZEOF;
	case PCI_EXT_CAP_ID_SRIOV:	return PCI_EXT_CAP_SRIOV_SIZEOF;
	case PCI_EXT_CAP_ID_PRI:	return PCI_EXT_CAP_PRI_SIZEOF;
	case PCI_EXT_CAP_ID_PASID:	return PCI_EXT_CAP_PASID_SIZEOF;
	case PCI_EXT_CAP_ID_VNDR:	return rd32(cfg, pos + PCI_VNDR_HEADER) >> 20;
	}
	return 4;
}

/* The extended capabilities of a 4K image in chain order; -1 on a loop. */
static int walk(const uint8_t *cfg, unsigned int *pos, int max)
{
	unsigned int p = 0x100;
	int n = 0;

	while (p >= 0x100 && p < PCI_CFG_SPACE_EXP_SIZE) {
		if (!rd32(cfg, p) || rd32(cfg, p) == ~0u)
			break;
		if (n == max)
			return -1;
		pos[n++] = p;
		p = (rd32(cfg, p) >> 20) & 0xffc;
	}
	return n;
}

/* ---- The PF as the PCI core and the IOMMU driver see it --------------- */

TEST(pf_config_decodes_as_configured)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off, i;
	uint32_t hdr, dw;

	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, cfg, sizeof(cfg)));
	for (i = 0; i < NCAPS; i++) {
		off = vpv_ecap_find(cfg, cap_id[i]);
		if (!param(cap_name[i])) {
			EXPECT_EQ(0, off) TH_LOG("%s is off but the chain has it at 0x%x",
						 cap_name[i], off);
			continue;
		}
		ASSERT_EQ(lay.cap[i].off, off)
			TH_LOG("%s: not in the PF's ext cap chain at 0x%x", cap_name[i],
			       lay.cap[i].off);
		hdr = rd32(cfg, off);
		EXPECT_EQ(param(cap_ver[i]), (hdr >> 16) & 0xf)
			TH_LOG("%s: capability version", cap_name[i]);
	}

	if (lay.cap[PASID].on) {
		off = lay.cap[PASID].off;
		dw = rd32(cfg, off + PCI_PASID_CAP);
		EXPECT_EQ(param("pasid_width"), (dw & PCI_PASID_CAP_WIDTH) >> 8)
			TH_LOG("PASID Capability 0x%04x: Max PASID Width", dw & 0xffff);
		EXPECT_EQ(param("pasid_exec"), !!(dw & PCI_PASID_CAP_EXEC));
		EXPECT_EQ(param("pasid_priv"), !!(dw & PCI_PASID_CAP_PRIV));
		EXPECT_EQ(param("pasid_cap_rsvd"), dw & 0xffff & ~0x1f06)
			TH_LOG("PASID Capability 0x%04x: reserved bits", dw & 0xffff);
		EXPECT_EQ(param("pasid_ctrl_rsvd"), (dw >> 16) & ~0x7)
			TH_LOG("PASID Control 0x%04x: reserved bits", dw >> 16);
		for (i = PCI_EXT_CAP_PASID_SIZEOF; i < lay.cap[PASID].len; i += 4)
			EXPECT_EQ(FX_PATTERN(off + i), rd32(cfg, off + i))
				TH_LOG("PASID dword 0x%x of a longer (future) capability", off + i);
	}
	if (lay.cap[PRI].on) {
		off = lay.cap[PRI].off;
		dw = rd32(cfg, off + PCI_PRI_CTRL);
		EXPECT_EQ(param("pri_reqs"), rd32(cfg, off + PCI_PRI_MAX_REQ))
			TH_LOG("PRI Outstanding Page Request Capacity");
		EXPECT_EQ(param("pri_pasid_required"), !!(dw >> 16 & PCI_PRI_STATUS_PASID))
			TH_LOG("PRI Status 0x%04x: PRG Response PASID Required", dw >> 16);
		EXPECT_EQ(!(dw & PCI_PRI_CTRL_ENABLE), !!(dw >> 16 & PCI_PRI_STATUS_STOPPED))
			TH_LOG("PRI Control 0x%04x, Status 0x%04x: Stopped is !Enable",
			       dw & 0xffff, dw >> 16);
	}
	if (lay.cap[ATS].on) {
		dw = rd32(cfg, lay.cap[ATS].off + PCI_ATS_CAP);
		EXPECT_EQ(param("ats_qdep"), dw & 0x1f) TH_LOG("ATS Invalidate Queue Depth");
		EXPECT_EQ(param("ats_page_aligned"), !!(dw & PCI_ATS_CAP_PAGE_ALIGNED));
	}
}

TEST(pci_core_found_the_capabilities)
{
	EXPECT_EQ(lay.cap[PASID].on ? lay.cap[PASID].off : 0, pf_state("pasid_cap"))
		TH_LOG("pci_pasid_init() did not find PASID where the fixture put it");
	EXPECT_EQ(lay.cap[PRI].on ? lay.cap[PRI].off : 0, pf_state("pri_cap"))
		TH_LOG("pci_pri_init() did not find PRI where the fixture put it");
	EXPECT_EQ(lay.cap[ATS].on ? lay.cap[ATS].off : 0, pf_state("ats_cap"));
	EXPECT_EQ(lay.cap[PRI].on && param("pri_pasid_required"), pf_state("pasid_required"));
	EXPECT_LT(0, pf_state("eetlp_prefix_max")) TH_LOG("pci_enable_pasid() needs it");
}

TEST(pf_pasid_is_enabled_by_the_iommu_driver)
{
	unsigned int ctrl_off = lay.cap[PASID].off + PCI_PASID_CTRL;
	uint16_t features, ctrl;

	if (!lay.cap[PASID].on)
		SKIP(return, "no PASID capability configured");
	features = (param("pasid_exec") ? PCI_PASID_CTRL_EXEC : 0) |
		   (param("pasid_priv") ? PCI_PASID_CTRL_PRIV : 0);
	ctrl = cfg16(pf_bdf, ctrl_off);
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE | features, ctrl & 0x7)
		TH_LOG("PASID Control 0x%04x at 0x%x", ctrl, ctrl_off);
	EXPECT_EQ(1, pf_state("pasid_enabled"));
	EXPECT_EQ(features, pf_state("pasid_features"));
	/*
	 * The fixture never writes config space itself: this write came from
	 * pci_enable_pasid(), called by intel_iommu_probe_finalize() when the
	 * rescanned PF was added.
	 */
	EXPECT_TRUE(logged("pf", ctrl_off, 2, PCI_PASID_CTRL_ENABLE | features))
		TH_LOG("writes/pf has no 'enable' write to PASID Control at 0x%x", ctrl_off);
}

/* ---- The VFs ----------------------------------------------------------- */

TEST(vfs_are_created)
{
	char path[256], target[256];
	uint16_t vf_did;
	ssize_t n;
	int i;

	ASSERT_LT(0, numvfs) TH_LOG("run.sh creates VFs before the tests");
	vf_did = cfg16(pf_bdf, lay.sriov + PCI_SRIOV_VF_DID);
	for (i = 0; i < numvfs && i < lay.nvfs; i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/virtfn%d", pf_bdf, i);
		n = readlink(path, target, sizeof(target) - 1);
		ASSERT_LT(0, n) TH_LOG("no %s", path);
		target[n] = '\0';
		EXPECT_STREQ(lay.vf[i].bdf, strrchr(target, '/') + 1);
		/* VF config reads 0xffff for the IDs (PCIe r6.0, 9.3.4.1.1). */
		EXPECT_EQ(0xffff, cfg16(lay.vf[i].bdf, PCI_VENDOR_ID));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", lay.vf[i].bdf);
		ASSERT_LT(0, vpv_file_read(path, target, sizeof(target)));
		EXPECT_EQ(vf_did, strtol(target, NULL, 0));
	}
	ASSERT_EQ(0, read_layout(&lay));
	for (i = 0; i < numvfs && i < lay.nvfs; i++)
		EXPECT_STREQ("ok", lay.vf[i].status) TH_LOG("VF %d overlay", i);
}

TEST(vf_hidden_registers_read_back)
{
	int vf = first_normal_vf(), i;

	if (vf < 0 || !lay.nhidden)
		SKIP(return, "no VF with hidden registers");
	for (i = 0; i < lay.nhidden; i++)
		EXPECT_EQ(lay.hidden[i].val, cfg32(lay.vf[vf].bdf, lay.hidden[i].off))
			TH_LOG("VF %s hidden register 0x%03x", lay.vf[vf].bdf, lay.hidden[i].off);
}

TEST(vf_extra_caps_follow_the_real_ones)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	int vf = first_normal_vf(), n, i, first;
	unsigned int pos[64], off;

	if (vf < 0 || !lay.nextcaps)
		SKIP(return, "no VF with extra capabilities");
	ASSERT_EQ(0, vpv_cfg_read(lay.vf[vf].bdf, 0, cfg, sizeof(cfg)));
	n = walk(cfg, pos, 64);
	ASSERT_LE(lay.nextcaps + 1, n) TH_LOG("VF %s: %d ext caps", lay.vf[vf].bdf, n);
	first = n - lay.nextcaps;
	for (i = 0; i < lay.nextcaps; i++) {
		off = lay.extcap[i].off;
		ASSERT_EQ(off, pos[first + i]) TH_LOG("extra cap %d", i);
		EXPECT_EQ(lay.extcap[i].id, rd32(cfg, off) & 0xffff);
		EXPECT_EQ(lay.extcap[i].ver, rd32(cfg, off) >> 16 & 0xf);
		EXPECT_EQ(lay.extcap[i].id == PCI_EXT_CAP_ID_VNDR ?
			  lay.extcap[i].len << 20 | FX_VSEC_ID : FX_PATTERN(off + 4),
			  rd32(cfg, off + 4));
	}
}

TEST(vf_full_has_no_free_room)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pos[256], end = 0x100, free = 0, i, j, t;
	int vf = full_vf(), n;

	if (vf < 0)
		SKIP(return, "no full VF configured (vf_full) or not created");
	ASSERT_EQ(0, vpv_cfg_read(lay.vf[vf].bdf, 0, cfg, sizeof(cfg)));
	n = walk(cfg, pos, 256);
	ASSERT_LT(0, n) TH_LOG("VF %s: broken chain", lay.vf[vf].bdf);
	for (i = 0; i < (unsigned int)n; i++)		/* sort by offset */
		for (j = i + 1; j < (unsigned int)n; j++)
			if (pos[j] < pos[i]) {
				t = pos[i];
				pos[i] = pos[j];
				pos[j] = t;
			}
	for (i = 0; i < (unsigned int)n; i++) {
		if (pos[i] > end && pos[i] - end >= 8)
			free += pos[i] - end;
		if (pos[i] + ecap_len(cfg, pos[i]) > end)
			end = pos[i] + ecap_len(cfg, pos[i]);
	}
	if (end < PCI_CFG_SPACE_EXP_SIZE && PCI_CFG_SPACE_EXP_SIZE - end >= 8)
		free += PCI_CFG_SPACE_EXP_SIZE - end;
	EXPECT_EQ(0, free) TH_LOG("VF %s: %u bytes of room for a capability", lay.vf[vf].bdf, free);
	EXPECT_EQ(PCI_CFG_SPACE_EXP_SIZE, end);
}

TEST(vf_writes_are_recorded_and_stored)
{
	int vf = first_normal_vf();
	unsigned int off;
	char who[8];

	if (vf < 0 || !lay.nhidden)
		SKIP(return, "no VF with hidden registers");
	off = lay.hidden[0].off;
	snprintf(who, sizeof(who), "vf%d", vf);
	ASSERT_EQ(0, clear_log(who));
	ASSERT_EQ(0, put32(lay.vf[vf].bdf, off, 0x11223344));
	ASSERT_EQ(0, put16(lay.vf[vf].bdf, off + 2, 0xabcd));
	EXPECT_EQ(0xabcd3344, cfg32(lay.vf[vf].bdf, off)) TH_LOG("hidden registers are RW");
	EXPECT_TRUE(logged(who, off, 4, 0x11223344));
	EXPECT_TRUE(logged(who, off + 2, 2, 0xabcd));
	ASSERT_EQ(0, put32(lay.vf[vf].bdf, off, lay.hidden[0].val));

	if (lay.nextcaps && lay.extcap[0].id == PCI_EXT_CAP_ID_VNDR) {
		off = lay.extcap[0].off + PCI_VNDR_HEADER;	/* read-only */
		ASSERT_EQ(0, put32(lay.vf[vf].bdf, off, 0));
		EXPECT_EQ(lay.extcap[0].len << 20 | FX_VSEC_ID, cfg32(lay.vf[vf].bdf, off));
		EXPECT_TRUE(logged(who, off, 4, 0));
	}
}

TEST(vf_flr_resets_the_emulated_registers)
{
	int vf = first_normal_vf();
	char path[256];

	if (vf < 0 || !lay.nhidden)
		SKIP(return, "no VF with hidden registers");
	ASSERT_EQ(0, put32(lay.vf[vf].bdf, lay.hidden[0].off, ~lay.hidden[0].val));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", lay.vf[vf].bdf);
	ASSERT_EQ(0, vpv_file_write(path, "1"));
	EXPECT_EQ(lay.hidden[0].val, cfg32(lay.vf[vf].bdf, lay.hidden[0].off));
}

/* ---- PF registers behave like hardware -------------------------------- */

TEST(pf_registers_are_ro_rw_rw1c)
{
	unsigned int off;
	uint16_t v, sts;

	if (lay.cap[PASID].on) {
		off = lay.cap[PASID].off;
		v = cfg16(pf_bdf, off + PCI_PASID_CAP);
		ASSERT_EQ(0, put16(pf_bdf, off + PCI_PASID_CAP, ~v));
		EXPECT_EQ(v, cfg16(pf_bdf, off + PCI_PASID_CAP)) TH_LOG("PASID Capability is RO");
		v = cfg16(pf_bdf, off + PCI_PASID_CTRL);
		ASSERT_EQ(0, put16(pf_bdf, off + PCI_PASID_CTRL, v | 0xfff8));
		EXPECT_EQ(v, cfg16(pf_bdf, off + PCI_PASID_CTRL))
			TH_LOG("PASID Control: only Enable/Exec/Priv store");
	}
	if (lay.cap[PRI].on && pf_state("pri_enabled") == 0) {
		off = lay.cap[PRI].off;
		ASSERT_EQ(0, put32(pf_bdf, off + PCI_PRI_ALLOC_REQ, 0x20));
		EXPECT_EQ(0x20, cfg32(pf_bdf, off + PCI_PRI_ALLOC_REQ)) TH_LOG("PRI Allocation is RW");
		ASSERT_EQ(0, put32(pf_bdf, off + PCI_PRI_ALLOC_REQ, 0));
		EXPECT_EQ(0, put32(pf_bdf, off + PCI_PRI_MAX_REQ, 0));
		EXPECT_EQ(param("pri_reqs"), cfg32(pf_bdf, off + PCI_PRI_MAX_REQ));

		ASSERT_EQ(0, put16(pf_bdf, off + PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE));
		EXPECT_FALSE(cfg16(pf_bdf, off + PCI_PRI_STATUS) & PCI_PRI_STATUS_STOPPED);
		ASSERT_EQ(0, put16(pf_bdf, off + PCI_PRI_CTRL, 0));
		EXPECT_TRUE(cfg16(pf_bdf, off + PCI_PRI_STATUS) & PCI_PRI_STATUS_STOPPED);

		/* A device event sets the RW1C bits; a written 1 clears each. */
		ASSERT_EQ(0, vpv_file_write(FX_DEBUGFS "/pri_event", "rf uprgi"));
		sts = cfg16(pf_bdf, off + PCI_PRI_STATUS);
		EXPECT_EQ(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI,
			  sts & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
		ASSERT_EQ(0, put16(pf_bdf, off + PCI_PRI_STATUS, PCI_PRI_STATUS_RF));
		sts = cfg16(pf_bdf, off + PCI_PRI_STATUS);
		EXPECT_EQ(PCI_PRI_STATUS_UPRGI, sts & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
		ASSERT_EQ(0, put16(pf_bdf, off + PCI_PRI_STATUS, PCI_PRI_STATUS_UPRGI));
		EXPECT_EQ(0, cfg16(pf_bdf, off + PCI_PRI_STATUS) &
			  (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
	}
	if (lay.cap[ATS].on && pf_state("ats_enabled") == 0) {
		off = lay.cap[ATS].off;
		ASSERT_EQ(0, put16(pf_bdf, off + PCI_ATS_CTRL, 0x7fe5));
		EXPECT_EQ(0x0005, cfg16(pf_bdf, off + PCI_ATS_CTRL)) TH_LOG("ATS Control: STU stores");
		ASSERT_EQ(0, put16(pf_bdf, off + PCI_ATS_CTRL, 0));
	}
}

/* ---- What vfio-pci (upstream) makes of a VF's extras ------------------- */

TEST(vfio_pci_passes_vf_extras_through_raw)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	struct vfio_pci_device *dev;
	struct iommu *iommu;
	int vf = first_normal_vf(), i;
	unsigned int off, seen;
	char who[8];

	if (vf < 0 || (!lay.nhidden && !lay.nextcaps))
		SKIP(return, "no VF with extras");
	ASSERT_EQ(0, vpv_bind(lay.vf[vf].bdf, VFIO_PCI_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(lay.vf[vf].bdf, MODE_IOMMUFD, cfg, sizeof(cfg)));

	/* Bytes outside any capability vfio-pci knows are read from the device. */
	for (i = 0; i < lay.nhidden; i++)
		EXPECT_EQ(lay.hidden[i].val, rd32(cfg, lay.hidden[i].off))
			TH_LOG("vfio-pci view of hidden register 0x%03x", lay.hidden[i].off);
	/* Known-length caps stay in vfio-pci's chain, unknown IDs are skipped. */
	for (i = 0; i < lay.nextcaps; i++) {
		seen = vpv_ecap_find(cfg, lay.extcap[i].id);
		if (lay.extcap[i].id == PCI_EXT_CAP_ID_VNDR) {
			EXPECT_EQ(lay.extcap[i].off, seen) TH_LOG("VSEC in vfio-pci's chain");
		} else if (lay.extcap[i].id > PCI_EXT_CAP_ID_MAX) {
			EXPECT_EQ(0, seen) TH_LOG("unknown ID 0x%x hidden from the chain",
						  lay.extcap[i].id);
		}
		EXPECT_EQ(lay.extcap[i].id == PCI_EXT_CAP_ID_VNDR ?
			  lay.extcap[i].len << 20 | FX_VSEC_ID : FX_PATTERN(lay.extcap[i].off + 4),
			  rd32(cfg, lay.extcap[i].off + 4))
			TH_LOG("the body of extra cap 0x%x is readable", lay.extcap[i].id);
	}

	/* ... and writes to a hidden register reach the device. */
	if (lay.nhidden) {
		snprintf(who, sizeof(who), "vf%d", vf);
		off = lay.hidden[0].off;
		iommu = iommu_init(MODE_IOMMUFD);
		dev = vfio_pci_device_init(lay.vf[vf].bdf, iommu);
		ASSERT_EQ(0, clear_log(who));
		vfio_pci_config_writel(dev, off, 0xfeedf00d);
		EXPECT_TRUE(logged(who, off, 4, 0xfeedf00d))
			TH_LOG("a VFIO write to hidden register 0x%03x did not reach the VF", off);
		EXPECT_EQ(0xfeedf00d, vfio_pci_config_readl(dev, off));
		vfio_pci_config_writel(dev, off, lay.hidden[0].val);
		vfio_pci_device_cleanup(dev);
		iommu_cleanup(iommu);
	}
	ASSERT_EQ(0, vpv_unbind(lay.vf[vf].bdf));
}

/* ---- Fault hooks ------------------------------------------------------- */

TEST(fault_pf_pasid_disable_and_enable)
{
	unsigned int ctrl_off = lay.cap[PASID].off + PCI_PASID_CTRL;

	if (!lay.cap[PASID].on)
		SKIP(return, "no PASID capability configured");
	ASSERT_EQ(0, fault("pasid_disable", 10));
	EXPECT_EQ(0, cfg16(pf_bdf, ctrl_off) & PCI_PASID_CTRL_ENABLE);
	EXPECT_EQ(0, pf_state("pasid_enabled"));
	EXPECT_EQ(-EALREADY, fault("pasid_disable", 10));
	ASSERT_EQ(0, fault("pasid_enable", 10));
	EXPECT_EQ(PCI_PASID_CTRL_ENABLE, cfg16(pf_bdf, ctrl_off) & PCI_PASID_CTRL_ENABLE);
	EXPECT_EQ(1, pf_state("pasid_enabled"));
}

TEST(fault_sriov_disable_while_a_vf_is_open)
{
	struct vfio_pci_device *dev;
	struct iommu *iommu;
	char buf[128];
	int vf = first_normal_vf();

	if (vf < 0)
		SKIP(return, "no VF");
	ASSERT_EQ(0, vpv_bind(lay.vf[vf].bdf, VFIO_PCI_DRIVER));
	iommu = iommu_init(MODE_IOMMUFD);
	dev = vfio_pci_device_init(lay.vf[vf].bdf, iommu);

	ASSERT_EQ(0, vpv_file_write(FX_DEBUGFS "/fault", "sriov_disable"));
	sleep(2);
	vpv_file_read(FX_DEBUGFS "/fault", buf, sizeof(buf));
	EXPECT_STREQ("running sriov_disable\n", buf)
		TH_LOG("removing an open VF must wait for its user");

	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	EXPECT_EQ(0, fault_wait("sriov_disable", 20));
	EXPECT_EQ(0, sysfs_pf_int("sriov_numvfs"));
	ASSERT_EQ(0, set_numvfs(numvfs));
}

TEST(fault_unbind_and_rebind_the_pf_driver)
{
	char drv[64], was[64];

	ASSERT_EQ(0, vpv_driver_of(pf_bdf, was, sizeof(was)));
	ASSERT_STRNE("", was);
	ASSERT_EQ(0, fault("unbind_pf", 20));
	ASSERT_EQ(0, vpv_driver_of(pf_bdf, drv, sizeof(drv)));
	EXPECT_STREQ("", drv);
	ASSERT_EQ(0, fault("bind_pf", 20));
	ASSERT_EQ(0, vpv_driver_of(pf_bdf, drv, sizeof(drv)));
	EXPECT_STREQ(was, drv);
	EXPECT_EQ(1, pf_state("pasid_enabled")) TH_LOG("a driver rebind keeps the PF's PASID");
	ASSERT_EQ(0, set_numvfs(numvfs));
}

/* ---- VFs that go offline ------------------------------------------------ */

FIXTURE(offline) {
	int vf;
	struct iommu *iommu;
	struct vfio_pci_device *dev;
};

FIXTURE_SETUP(offline)
{
	self->vf = first_normal_vf();
	if (self->vf < 0 || !lay.nhidden)
		SKIP(return, "no VF with hidden registers");
}

/* Online again, closed, unbound: as the test found it. */
FIXTURE_TEARDOWN(offline)
{
	if (self->vf < 0 || !lay.nhidden)
		return;
	fault_now("vf_online %d", self->vf);	/* -EALREADY when it is */
	if (self->dev) {
		vfio_pci_device_cleanup(self->dev);
		iommu_cleanup(self->iommu);
		vpv_unbind(lay.vf[self->vf].bdf);
	}
}

TEST_F(offline, vf_offline_reads_all_ones_and_drops_writes_until_online)
{
	static uint8_t before[PCI_CFG_SPACE_EXP_SIZE], cfg[PCI_CFG_SPACE_EXP_SIZE];
	const char *bdf = lay.vf[self->vf].bdf;
	unsigned int off = lay.hidden[0].off, i, bad = 0;
	char who[8], reset[256], cmd[32];
	struct layout now;
	uint8_t b = 0;

	snprintf(who, sizeof(who), "vf%d", self->vf);
	snprintf(reset, sizeof(reset), "/sys/bus/pci/devices/%s/reset", bdf);
	ASSERT_EQ(0, vpv_cfg_read(bdf, 0, before, sizeof(before)));
	ASSERT_NE(~0u, rd32(before, PCI_COMMAND)) TH_LOG("VF %s is online at first", bdf);

	/* Synchronous: done when the write returns, and "fault" says so. */
	ASSERT_EQ(0, fault_now("vf_offline %d", self->vf));
	snprintf(cmd, sizeof(cmd), "vf_offline %d", self->vf);
	EXPECT_EQ(0, fault_wait(cmd, 1));
	EXPECT_EQ(-EALREADY, fault_now("vf_offline %d", self->vf));
	ASSERT_EQ(0, read_layout(&now));
	EXPECT_TRUE(now.vf[self->vf].offline) TH_LOG("layout reports it");

	/* Reads of every size are all ones. */
	ASSERT_EQ(0, vpv_cfg_read(bdf, 0, cfg, sizeof(cfg)));
	for (i = 0; i < sizeof(cfg); i++)
		bad += cfg[i] != 0xff;
	EXPECT_EQ(0, bad) TH_LOG("VF %s: %u bytes of its config space do not read 0xff", bdf, bad);
	EXPECT_EQ(0xffff, cfg16(bdf, PCI_COMMAND));
	ASSERT_EQ(0, vpv_cfg_read(bdf, PCI_CLASS_PROG, &b, 1));
	EXPECT_EQ(0xff, b);
	EXPECT_EQ(~0u, cfg32(bdf, off));

	/* Writes are dropped without a trace; a reset finds it inaccessible. */
	ASSERT_EQ(0, clear_log(who));
	ASSERT_EQ(0, put32(bdf, off, ~rd32(before, off)));
	ASSERT_EQ(0, put16(bdf, PCI_COMMAND, rd32(before, PCI_COMMAND) & 0xffff));
	EXPECT_EQ(-ENOTTY, vpv_file_write(reset, "1"))
		TH_LOG("pcie_flr() sees the config space inaccessible");
	EXPECT_EQ(0, log_lines(who)) TH_LOG("writes to an offline VF are not logged");

	ASSERT_EQ(0, fault_now("vf_online %d", self->vf));
	EXPECT_EQ(-EALREADY, fault_now("vf_online %d", self->vf));
	ASSERT_EQ(0, vpv_cfg_read(bdf, 0, cfg, sizeof(cfg)));
	for (i = 0; i < sizeof(cfg) && cfg[i] == before[i]; i++)
		;
	EXPECT_EQ(sizeof(cfg), i)
		TH_LOG("VF %s byte 0x%03x reads 0x%02x, 0x%02x before it went offline", bdf, i,
		       cfg[i], before[i]);
	EXPECT_EQ(0, log_lines(who));
	EXPECT_EQ(0, vpv_file_write(reset, "1")) TH_LOG("online, it resets again");

	/* Arguments: a VF index the fixture covers; the other hooks take none. */
	EXPECT_EQ(-EINVAL, fault_now("vf_offline %d", lay.nvfs));
	EXPECT_EQ(-EINVAL, vpv_file_write(FX_DEBUGFS "/fault", "vf_offline"));
	EXPECT_EQ(-EINVAL, vpv_file_write(FX_DEBUGFS "/fault", "pasid_disable 0"));
}

TEST_F(offline, vf_offline_works_while_the_vf_is_open_in_vfio)
{
	const char *bdf = lay.vf[self->vf].bdf;
	unsigned int off = lay.hidden[0].off;
	uint32_t val = cfg32(bdf, off);
	int i, ret;

	ASSERT_EQ(0, vpv_bind(bdf, VFIO_PCI_DRIVER));
	self->iommu = iommu_init(MODE_IOMMUFD);
	self->dev = vfio_pci_device_init(bdf, self->iommu);
	EXPECT_EQ(val, vfio_pci_config_readl(self->dev, off));

	/* The user holds the VF: the hook does not wait for it. */
	ASSERT_EQ(0, fault_now("vf_offline %d", self->vf));
	EXPECT_EQ(~0u, vfio_pci_config_readl(self->dev, off));
	for (i = 0; (ret = __vfio_pci_device_reset(self->dev)) == -EAGAIN && i < 20; i++)
		usleep(10000);
	EXPECT_EQ(-ENOTTY, ret) TH_LOG("VFIO_DEVICE_RESET of an offline VF");

	ASSERT_EQ(0, fault_now("vf_online %d", self->vf));
	EXPECT_EQ(val, vfio_pci_config_readl(self->dev, off));
	for (i = 0; (ret = __vfio_pci_device_reset(self->dev)) == -EAGAIN && i < 20; i++)
		usleep(10000);
	EXPECT_EQ(0, ret) TH_LOG("VFIO_DEVICE_RESET once it is back");
}

/* ---- Parameters that change the VFs and the PF's PRI, through "apply" --- */

FIXTURE(params) {
	long vf_device, vf_head_id, pri_enable;
};

static int set_param(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), FX_PARAMS "/%s", name);
	return vpv_file_write(path, val);
}

/* Set a parameter, rebuild ("apply") and create the VFs again: 0 or -errno. */
static int apply_param(const char *name, const char *val)
{
	int ret = set_param(name, val);

	if (!ret)
		ret = vpv_file_write(FX_DEBUGFS "/apply", "1");
	if (!ret)
		ret = set_numvfs(numvfs);
	return ret;
}

FIXTURE_SETUP(params)
{
	self->vf_device = param("vf_device");
	self->vf_head_id = param("vf_head_id");
	self->pri_enable = param("pri_enable");
	ASSERT_LE(0, self->vf_device);
	ASSERT_LE(0, self->vf_head_id);
	ASSERT_LE(0, self->pri_enable);
	ASSERT_LT(0, numvfs) TH_LOG("run.sh creates VFs before the tests");
}

/* The parameters as the suite loaded them, applied, and the VFs. */
FIXTURE_TEARDOWN(params)
{
	char v[16];
	bool changed = param("vf_device") != self->vf_device ||
		       param("vf_head_id") != self->vf_head_id ||
		       param("pri_enable") != self->pri_enable;

	if (changed) {
		snprintf(v, sizeof(v), "%ld", self->vf_device);
		EXPECT_EQ(0, set_param("vf_device", v));
		snprintf(v, sizeof(v), "%ld", self->vf_head_id);
		EXPECT_EQ(0, set_param("vf_head_id", v));
		EXPECT_EQ(0, set_param("pri_enable", self->pri_enable ? "Y" : "N"));
		EXPECT_EQ(0, vpv_file_write(FX_DEBUGFS "/apply", "1"));
	}
	EXPECT_EQ(0, set_numvfs(numvfs));
}

TEST_F_TIMEOUT(params, vf_device_id_comes_from_the_sriov_capability, 120)
{
	unsigned int did_off = lay.sriov + PCI_SRIOV_VF_DID;
	uint16_t own = cfg16(pf_bdf, did_off), did;
	struct layout now;
	char v[16];
	int i;

	/* A QAT C62x VF: one that vfio-pci's denylist has. */
	did = own == 0x37c9 ? 0x37c8 : 0x37c9;
	snprintf(v, sizeof(v), "0x%x", did);
	ASSERT_EQ(0, apply_param("vf_device", v));
	EXPECT_EQ(did, cfg16(pf_bdf, did_off)) TH_LOG("the PF's VF Device ID register");
	ASSERT_EQ(0, read_layout(&now));
	EXPECT_EQ(did, now.vf_device);
	EXPECT_EQ(cfg16(pf_bdf, did_off), sysfs_num(pf_bdf, "sriov_vf_device", 16))
		TH_LOG("sriov_init() read the register when the PF was scanned");
	ASSERT_EQ(0, put16(pf_bdf, did_off, ~did));
	EXPECT_EQ(did, cfg16(pf_bdf, did_off)) TH_LOG("VF Device ID is read-only");
	EXPECT_TRUE(logged("pf", did_off, 2, (uint16_t)~did));
	for (i = 0; i < numvfs && i < lay.nvfs; i++)
		EXPECT_EQ(cfg16(pf_bdf, did_off), sysfs_num(lay.vf[i].bdf, "device", 0))
			TH_LOG("VF %s: its Device ID is the SR-IOV capability's", lay.vf[i].bdf);

	snprintf(v, sizeof(v), "%ld", self->vf_device);
	ASSERT_EQ(0, apply_param("vf_device", v));
	EXPECT_EQ(own, cfg16(pf_bdf, did_off));
	for (i = 0; i < numvfs && i < lay.nvfs; i++)
		EXPECT_EQ(own, sysfs_num(lay.vf[i].bdf, "device", 0));
}

TEST_F_TIMEOUT(params, vf_head_id_replaces_the_first_capability_id, 120)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	int vf = first_normal_vf(), full = full_vf(), n, m, i;
	unsigned int pos[64], pos_now[64];
	uint32_t own, full_own = 0, hdr;
	struct layout now;
	const char *bdf;
	char who[8], v[16];

	if (vf < 0)
		SKIP(return, "no VF");
	bdf = lay.vf[vf].bdf;
	snprintf(who, sizeof(who), "vf%d", vf);
	ASSERT_EQ(0, vpv_cfg_read(bdf, 0, cfg, sizeof(cfg)));
	own = rd32(cfg, PCI_CFG_SPACE_SIZE);
	n = walk(cfg, pos, 64);
	ASSERT_LT(0, n) TH_LOG("VF %s has no extended capability", bdf);
	if (full >= 0)
		full_own = cfg32(lay.vf[full].bdf, PCI_CFG_SPACE_SIZE);

	/* 0x3f: above PCI_EXT_CAP_ID_MAX, an ID that vfio-pci hides. */
	ASSERT_EQ(0, apply_param("vf_head_id", "0x3f"));
	ASSERT_EQ(0, read_layout(&now));
	EXPECT_EQ(0x3f, now.vf_head_id);
	ASSERT_EQ(0, vpv_cfg_read(bdf, 0, cfg, sizeof(cfg)));
	hdr = rd32(cfg, PCI_CFG_SPACE_SIZE);
	EXPECT_EQ((own & ~0xffffu) | 0x3f, hdr)
		TH_LOG("VF %s header 0x%08x at 0x100, 0x%08x before: Version and Next kept",
		       bdf, hdr, own);
	m = walk(cfg, pos_now, 64);
	ASSERT_EQ(n, m) TH_LOG("the rest of the chain is the same");
	for (i = 0; i < n; i++)
		EXPECT_EQ(pos[i], pos_now[i]);
	if (full >= 0)
		EXPECT_EQ(full_own, cfg32(lay.vf[full].bdf, PCI_CFG_SPACE_SIZE))
			TH_LOG("the full VF keeps its own");

	ASSERT_EQ(0, clear_log(who));
	ASSERT_EQ(0, put32(bdf, PCI_CFG_SPACE_SIZE, ~hdr));
	EXPECT_EQ(hdr, cfg32(bdf, PCI_CFG_SPACE_SIZE)) TH_LOG("the header is read-only");
	EXPECT_TRUE(logged(who, PCI_CFG_SPACE_SIZE, 4, ~hdr));

	/* vfio-pci hides it: a placeholder (ID 0, version 0) anchors the chain. */
	ASSERT_EQ(0, vpv_bind(bdf, VFIO_PCI_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(bdf, MODE_IOMMUFD, cfg, sizeof(cfg)));
	EXPECT_EQ(0, vpv_ecap_find(cfg, 0x3f));
	EXPECT_EQ(0, rd32(cfg, PCI_CFG_SPACE_SIZE) & 0xfffff);
	if (rd32(cfg, PCI_CFG_SPACE_SIZE))
		EXPECT_EQ(hdr & 0xffc00000, rd32(cfg, PCI_CFG_SPACE_SIZE));
	ASSERT_EQ(0, vpv_unbind(bdf));

	snprintf(v, sizeof(v), "%ld", self->vf_head_id);
	ASSERT_EQ(0, apply_param("vf_head_id", v));
	EXPECT_EQ(own, cfg32(bdf, PCI_CFG_SPACE_SIZE));
}

/* PRI on the PF as pf_state and its PRI capability show it. */
static void expect_pri(struct __test_metadata *_metadata, bool on)
{
	unsigned int off = lay.cap[PRI].off;
	uint32_t alloc = cfg32(pf_bdf, off + PCI_PRI_ALLOC_REQ);
	uint32_t max = cfg32(pf_bdf, off + PCI_PRI_MAX_REQ);
	uint32_t reqs = param("pri_reqs");
	uint16_t ctrl = cfg16(pf_bdf, off + PCI_PRI_CTRL);
	uint16_t sts = cfg16(pf_bdf, off + PCI_PRI_STATUS);

	EXPECT_EQ(on, pf_state("pri_enabled"));
	EXPECT_EQ(on, !!(ctrl & PCI_PRI_CTRL_ENABLE)) TH_LOG("PRI Control 0x%04x", ctrl);
	EXPECT_EQ(!on, !!(sts & PCI_PRI_STATUS_STOPPED)) TH_LOG("PRI Status 0x%04x", sts);
	if (on) {
		EXPECT_EQ(reqs < max ? reqs : max, alloc)
			TH_LOG("Outstanding Page Request Allocation, capacity %u", max);
		EXPECT_TRUE(logged("pf", off + PCI_PRI_ALLOC_REQ, 4, alloc));
		EXPECT_TRUE(logged("pf", off + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE));
	}
}

TEST_F_TIMEOUT(params, pri_enable_enables_pri_on_the_pf_and_the_hooks_toggle_it, 120)
{
	int kmsg;

	if (!lay.cap[PRI].on)
		SKIP(return, "no PRI capability configured");
	if (pf_state("pri_enabled") != 0)
		SKIP(return, "PRI is already enabled on the PF (by the IOMMU driver)");

	/* The hooks, on a PF whose PRI nobody enabled. */
	ASSERT_EQ(0, clear_log("pf"));
	ASSERT_EQ(0, fault("pri_enable", 10));
	expect_pri(_metadata, true);
	EXPECT_EQ(-EALREADY, fault("pri_enable", 10));
	ASSERT_EQ(0, fault("pri_disable", 10));
	expect_pri(_metadata, false);
	EXPECT_EQ(-EALREADY, fault("pri_disable", 10));

	/* The parameter: enabled after setup, disabled before teardown. */
	ASSERT_EQ(0, apply_param("pri_enable", "Y"));
	expect_pri(_metadata, true);
	ASSERT_EQ(0, fault("pri_disable", 10));
	expect_pri(_metadata, false);
	ASSERT_EQ(0, fault("pri_enable", 10));
	expect_pri(_metadata, true);
	kmsg = vpv_kmsg_open();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, apply_param("pri_enable", self->pri_enable ? "Y" : "N"));
	EXPECT_TRUE(vpv_kmsg_find(kmsg, "disabling the PRI that the fixture enabled"));
	close(kmsg);
	expect_pri(_metadata, self->pri_enable);
}

/* ---- Unload, bad parameters, reload ------------------------------------ */

static int load(const char *params)
{
	const char *ko = vpv_env("VPV_FIXTURE_KO");
	int fd, ret;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(void)
{
	return syscall(SYS_delete_module, FX_MODULE, O_NONBLOCK) ? -errno : 0;
}

/*
 * A fixture only to order them: the harness runs the plain TESTs first, then
 * each FIXTURE's tests in the order of the FIXTURE()s.
 */
FIXTURE(reload) {
};

FIXTURE_SETUP(reload)
{
}

FIXTURE_TEARDOWN(reload)
{
}

TEST_F(reload, unload_restores_the_pf)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	char drv[64];
	int i, vf = first_normal_vf();

	if (!vpv_env("VPV_FIXTURE_KO"))
		SKIP(return, "VPV_FIXTURE_KO is not set");
	ASSERT_EQ(0, unload());
	EXPECT_NE(0, access("/sys/module/" FX_MODULE, F_OK));
	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, cfg, sizeof(cfg)));
	for (i = 0; i < NCAPS; i++)
		EXPECT_EQ(0, vpv_ecap_find(cfg, cap_id[i]))
			TH_LOG("ext cap 0x%x is still there", cap_id[i]);
	ASSERT_EQ(0, vpv_driver_of(pf_bdf, drv, sizeof(drv)));
	EXPECT_STRNE("", drv) TH_LOG("the PF driver did not come back");

	/* The bus works: VFs come and go, and they are plain again. */
	ASSERT_EQ(0, set_numvfs(numvfs));
	if (vf >= 0 && lay.nhidden)
		EXPECT_EQ(0, cfg32(lay.vf[vf].bdf, lay.hidden[0].off));
	ASSERT_EQ(0, set_numvfs(0));
}

TEST_F(reload, bad_parameters_are_refused)
{
	char params[256], sriov_off[64];
	const struct {
		const char *params;	/* after pf=PF unless it sets pf= itself */
		int err;
		const char *msg;
	} bad[] = {
		{ "pf=", EINVAL, "pf= is required" },
		{ "pf=0000:7f:1f.7", EINVAL, "pf=0000:7f:1f.7: no such PCI device" },
		{ "pf=01:00", EINVAL, "not a PCI address" },
		{ "pasid_width=21", EINVAL, "pasid_width=21" },
		{ "pasid_ver=0", EINVAL, "pasid_ver=0" },
		{ "pasid_cap_rsvd=0x0002", EINVAL, "overlaps the defined fields" },
		{ sriov_off, EINVAL, "clashes with the PF's ext cap 0x0010" },
		{ "pri_off=0x202", EINVAL, "must be dword-aligned" },
		{ "ats_qdep=32", EINVAL, "ats_qdep=32" },
		{ "vf_full=8", EINVAL, "vf_full=8" },
		{ "vf_extcaps=0x0b@0x200", EINVAL, "is not ID[.VER]@OFFSET+LEN" },
		{ "vf_extcaps=0x0b@0x200+0x18,0x0b@0x210+0x8", EINVAL, "overlaps another one" },
		{ "vf_hidden=0x0ff=1", EINVAL, "vf_hidden: offset 0xff" },
		{ "vf_device=0xffff", EINVAL, "vf_device=0xffff" },
		{ "pri=0 pri_enable=1", EINVAL, "pri_enable=Y: needs pri=Y" },
	};
	unsigned int i;
	int kmsg;

	if (!vpv_env("VPV_FIXTURE_KO"))
		SKIP(return, "VPV_FIXTURE_KO is not set");
	ASSERT_NE(0, access("/sys/module/" FX_MODULE, F_OK)) TH_LOG("runs after the unload test");
	snprintf(sriov_off, sizeof(sriov_off), "pasid_off=0x%x", lay.sriov);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (!strncmp(bad[i].params, "pf=", 3))
			snprintf(params, sizeof(params), "%s", bad[i].params);
		else
			snprintf(params, sizeof(params), "pf=%s %s", pf_bdf, bad[i].params);
		kmsg = vpv_kmsg_open();
		ASSERT_LE(0, kmsg);
		EXPECT_EQ(-bad[i].err, load(params)) TH_LOG("insmod vpv_pf.ko %s", params);
		EXPECT_TRUE(vpv_kmsg_find(kmsg, bad[i].msg))
			TH_LOG("no dmesg line with '%s' for '%s'", bad[i].msg, params);
		close(kmsg);
	}
	EXPECT_NE(0, access("/sys/module/" FX_MODULE, F_OK));
	EXPECT_EQ(0, cfg32(pf_bdf, lay.cap[PASID].off)) TH_LOG("nothing was left behind");
}

TEST_F(reload, reload_with_future_versions_then_apply_at_runtime)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	char params[256];
	unsigned int off;
	uint32_t dw;

	if (!vpv_env("VPV_FIXTURE_KO"))
		SKIP(return, "VPV_FIXTURE_KO is not set");
	snprintf(params, sizeof(params),
		 "pf=%s pasid_ver=2 pasid_len=0x10 pasid_width=5 pasid_exec=0 pasid_cap_rsvd=0xe0f9 pasid_ctrl_rsvd=0xfff8 pri=0 ats_ver=3",
		 pf_bdf);
	ASSERT_EQ(0, load(params)) TH_LOG("insmod vpv_pf.ko %s", params);

	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, cfg, sizeof(cfg)));
	off = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID);
	ASSERT_NE(0, off);
	EXPECT_EQ(2, rd32(cfg, off) >> 16 & 0xf);
	dw = rd32(cfg, off + PCI_PASID_CAP);
	EXPECT_EQ(0xe0f9 | 5 << 8 | PCI_PASID_CAP_PRIV, dw & 0xffff);
	/* The IOMMU driver enables what is supported; the RO bits stay. */
	EXPECT_EQ(0xfff8 | PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_PRIV, dw >> 16);
	EXPECT_EQ(FX_PATTERN(off + 8), rd32(cfg, off + 8));
	EXPECT_EQ(FX_PATTERN(off + 12), rd32(cfg, off + 12));
	EXPECT_EQ(0, vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PRI));
	EXPECT_EQ(3, rd32(cfg, vpv_ecap_find(cfg, PCI_EXT_CAP_ID_ATS)) >> 16 & 0xf);
	EXPECT_EQ(1, pf_state("pasid_enabled"));
	EXPECT_EQ(0, pf_state("pri_cap"));

	/* Parameters change at runtime and take effect on "apply". */
	ASSERT_EQ(0, vpv_file_write(FX_PARAMS "/pri", "Y"));
	ASSERT_EQ(0, vpv_file_write(FX_PARAMS "/pri_ver", "2"));
	ASSERT_EQ(0, vpv_file_write(FX_PARAMS "/pasid_width", "21"));
	EXPECT_EQ(-EINVAL, vpv_file_write(FX_DEBUGFS "/apply", "1"))
		TH_LOG("a bad value is refused and the fixture left as it was");
	EXPECT_EQ(5, (cfg16(pf_bdf, off + PCI_PASID_CAP) & PCI_PASID_CAP_WIDTH) >> 8);
	ASSERT_EQ(0, vpv_file_write(FX_PARAMS "/pasid_width", "16"));
	ASSERT_EQ(0, vpv_file_write(FX_DEBUGFS "/apply", "1"));
	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, cfg, sizeof(cfg)));
	off = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PRI);
	ASSERT_NE(0, off);
	EXPECT_EQ(2, rd32(cfg, off) >> 16 & 0xf);
	EXPECT_EQ(off, pf_state("pri_cap"));
	EXPECT_EQ(16, (cfg16(pf_bdf, vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID) + PCI_PASID_CAP) &
		       PCI_PASID_CAP_WIDTH) >> 8);
	EXPECT_EQ(1, pf_state("pasid_enabled"));
	ASSERT_EQ(0, unload());
}

TEST_F(reload, reload_with_the_suite_parameters)
{
	const char *params = vpv_env("VPV_FIXTURE_PARAMS");
	struct layout now;

	if (!vpv_env("VPV_FIXTURE_KO") || !params)
		SKIP(return, "VPV_FIXTURE_KO or VPV_FIXTURE_PARAMS is not set");
	ASSERT_EQ(0, load(params)) TH_LOG("insmod vpv_pf.ko %s", params);
	ASSERT_EQ(0, set_numvfs(numvfs));
	ASSERT_EQ(0, read_layout(&now));
	EXPECT_TRUE(now.active);
	EXPECT_EQ(lay.cap[PASID].off, now.cap[PASID].off);
	EXPECT_EQ(1, pf_state("pasid_enabled"));
	EXPECT_EQ(numvfs, pf_state("num_vfs"));
}

FIXTURE(cycles) {
};

FIXTURE_SETUP(cycles)
{
}

FIXTURE_TEARDOWN(cycles)
{
}

/* Each cycle removes and rescans the PF 5 times: seconds on the debug kernel. */
TEST_F_TIMEOUT(cycles, apply_unload_load_leak_nothing, 300)
{
	const char *params = vpv_env("VPV_FIXTURE_PARAMS");
	int i;

	if (access(VPV_KMEMLEAK, F_OK))
		SKIP(return, "no %s (the debug kernel has it)", VPV_KMEMLEAK);
	if (!vpv_env("VPV_FIXTURE_KO") || !params)
		SKIP(return, "VPV_FIXTURE_KO or VPV_FIXTURE_PARAMS is not set");
	/* Forget what is already there, reported or not. */
	ASSERT_EQ(0, vpv_file_write(VPV_KMEMLEAK, "scan"));
	ASSERT_EQ(0, vpv_file_write(VPV_KMEMLEAK, "clear"));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vpv_file_write(FX_DEBUGFS "/apply", "1")) TH_LOG("cycle %d", i);
		ASSERT_EQ(0, set_numvfs(numvfs));
		ASSERT_LT(0, vpv_file_read(FX_DEBUGFS "/writes/vf0", (char[4096]){}, 4096));
		ASSERT_EQ(0, unload()) TH_LOG("cycle %d", i);
		ASSERT_EQ(0, load(params)) TH_LOG("cycle %d", i);
	}
	ASSERT_EQ(0, set_numvfs(numvfs));
	/* kmemleak reports only objects older than 5 s, found in a scan. */
	sleep(6);
	ASSERT_EQ(0, vpv_file_write(VPV_KMEMLEAK, "scan"));
	EXPECT_EQ(0, vpv_kmemleak_reports());
}

int main(int argc, char *argv[])
{
	if (vpv_file_read(FX_PARAMS "/pf", pf_bdf, sizeof(pf_bdf)) <= 0 || read_layout(&lay) ||
	    !lay.active) {
		fprintf(stderr, "needs the vpv_pf fixture loaded on an SR-IOV PF\n");
		return KSFT_SKIP;
	}
	pf_bdf[strcspn(pf_bdf, "\n")] = '\0';
	numvfs = sysfs_pf_int("sriov_numvfs");
	return test_harness_run(argc, argv);
}
