// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters: vfio-pci copies nointxmask and disable_idle_d3 (and
 * disable_vga) into each device in vfio_pci_init_dev(), so a device keeps
 * the values the parameters had when it was bound.  vfio-pasid-vf has
 * parameters of the same names and must behave the same.  The per-device
 * values are visible in vfio-pci-core's debugfs (CONFIG_VFIO_DEBUGFS):
 * /sys/kernel/debug/vfio/<BDF>/pci/{nointxmask,disable_idle_d3}.
 *
 * vfio-pci (built in, its parameters writable) is the reference: every
 * behaviour is checked under both drivers, and the two must agree.
 *
 *   vpv_params_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 * with VF bound to vfio-pasid-vf.  Every parameter and the VF's binding are
 * put back in each test's teardown, which runs in the parent of the test
 * process, even if the test crashes.  No test opens the VF through VFIO:
 * there are no IOMMU modes to vary.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#define VPV_PARAMS	"/sys/module/vfio_pasid_vf/parameters"
#define VFIO_PCI_PARAMS	"/sys/module/vfio_pci/parameters"
#define VFIO_DEBUGFS	"/sys/kernel/debug/vfio"

static const char *vf_bdf;

/* The latched per-device flags, and where each driver takes them from. */
static const char *const flags[] = { "nointxmask", "disable_idle_d3" };
#define NFLAGS 2

static const char *const drivers[] = { VPV_DRIVER, VFIO_PCI_DRIVER };
static const char *const param_dirs[] = { VPV_PARAMS, VFIO_PCI_PARAMS };
#define NDRIVERS 2

static int param_path(char *buf, size_t len, const char *dir, const char *p)
{
	return snprintf(buf, len, "%s/%s", dir, p) >= (int)len ? -ENAMETOOLONG : 0;
}

/* A bool parameter's value: 'Y', 'N', or 0 if it cannot be read. */
static char param_get(const char *dir, const char *p)
{
	char path[PATH_MAX], buf[8];

	if (param_path(path, sizeof(path), dir, p) || vpv_file_read(path, buf, sizeof(buf)) < 1)
		return 0;
	return buf[0];
}

static int param_set(const char *dir, const char *p, char v)
{
	char path[PATH_MAX], val[2] = { v, '\0' };
	int ret = param_path(path, sizeof(path), dir, p);

	return ret ? ret : vpv_file_write(path, val);
}

/* The VF's per-device flag in vfio-pci-core's debugfs: 'Y', 'N', or 0. */
static char device_flag(const char *flag)
{
	char path[PATH_MAX], buf[8];

	snprintf(path, sizeof(path), VFIO_DEBUGFS "/%s/pci/%s", vf_bdf, flag);
	if (vpv_file_read(path, buf, sizeof(buf)) != 2 || buf[1] != '\n')
		return 0;
	return buf[0];
}

static char other(char v)
{
	return v == 'Y' ? 'N' : 'Y';
}

/* --- every test: the parameters and the binding as found, put back after --- */

struct saved {
	char param[NDRIVERS][NFLAGS];
	char driver[64];
};

static void save(struct __test_metadata *_metadata, struct saved *s)
{
	int d, f;

	if (access(VFIO_DEBUGFS, F_OK))
		SKIP(return, "no %s: kernel without CONFIG_VFIO_DEBUGFS, or debugfs not mounted",
		     VFIO_DEBUGFS);
	ASSERT_EQ(0, vpv_driver_of(vf_bdf, s->driver, sizeof(s->driver)));
	ASSERT_STREQ(VPV_DRIVER, s->driver) TH_LOG("%s is bound to '%s'", vf_bdf, s->driver);
	for (d = 0; d < NDRIVERS; d++)
		for (f = 0; f < NFLAGS; f++) {
			s->param[d][f] = param_get(param_dirs[d], flags[f]);
			ASSERT_TRUE(s->param[d][f] == 'Y' || s->param[d][f] == 'N')
				TH_LOG("%s/%s reads '%c'", param_dirs[d], flags[f], s->param[d][f]);
		}
}

static void restore(struct __test_metadata *_metadata, const struct saved *s)
{
	char drv[64];
	int d, f;

	if (!s->driver[0])
		return;		/* setup did not get as far as saving */
	for (d = 0; d < NDRIVERS; d++)
		for (f = 0; f < NFLAGS; f++) {
			EXPECT_EQ(0, param_set(param_dirs[d], flags[f], s->param[d][f]))
				TH_LOG("restoring %s/%s", param_dirs[d], flags[f]);
		}
	if (vpv_driver_of(vf_bdf, drv, sizeof(drv)) || strcmp(drv, s->driver)) {
		EXPECT_EQ(0, vpv_bind(vf_bdf, s->driver)) TH_LOG("rebinding %s to %s", vf_bdf, s->driver);
	}
}

/* Sets both flags' parameters of driver @d, then rebinds the VF to it. */
static int set_and_bind(int d, char nointxmask, char disable_idle_d3)
{
	int ret = param_set(param_dirs[d], flags[0], nointxmask);

	if (!ret)
		ret = param_set(param_dirs[d], flags[1], disable_idle_d3);
	if (!ret)
		ret = vpv_bind(vf_bdf, drivers[d]);
	return ret;
}

FIXTURE(params) {
	struct saved saved;
};

FIXTURE_VARIANT(params) {
	int driver;	/* index in drivers[] */
};

FIXTURE_VARIANT_ADD(params, vfio_pasid_vf) {
	.driver = 0,
};

/* The reference. */
FIXTURE_VARIANT_ADD(params, vfio_pci) {
	.driver = 1,
};

FIXTURE_SETUP(params)
{
	save(_metadata, &self->saved);
}

FIXTURE_TEARDOWN_PARENT(params)
{
	restore(_metadata, &self->saved);
}

/*
 * Binding with @flag's parameter at each value - the other flag's parameter
 * at the opposite one, so that crossed wires show - gives the device the
 * parameter's value.
 */
static void follows_at_bind(struct __test_metadata *_metadata, int d, int f)
{
	const char *vals = "YN";
	int i;

	for (i = 0; vals[i]; i++) {
		char v = vals[i], want[NFLAGS];

		want[f] = v;
		want[!f] = other(v);
		ASSERT_EQ(0, set_and_bind(d, want[0], want[1]))
			TH_LOG("%s=%c %s=%c, bind to %s", flags[0], want[0], flags[1], want[1], drivers[d]);
		ASSERT_EQ(want[0], param_get(param_dirs[d], flags[0]));
		ASSERT_EQ(want[1], param_get(param_dirs[d], flags[1]));
		EXPECT_EQ(want[f], device_flag(flags[f]))
			TH_LOG("%s: bound with %s/%s=%c, debugfs %s says '%c'", drivers[d], param_dirs[d],
			       flags[f], want[f], flags[f], device_flag(flags[f]));
		EXPECT_EQ(want[!f], device_flag(flags[!f]))
			TH_LOG("%s: bound with %s/%s=%c, debugfs %s says '%c'", drivers[d], param_dirs[d],
			       flags[!f], want[!f], flags[!f], device_flag(flags[!f]));
	}
}

/* Changing the parameters after the bind leaves the device's values alone. */
static void latched_at_bind(struct __test_metadata *_metadata, int d, int f)
{
	const char *vals = "YN";
	int i;

	for (i = 0; vals[i]; i++) {
		char v = vals[i];

		ASSERT_EQ(0, set_and_bind(d, f ? other(v) : v, f ? v : other(v)));
		ASSERT_EQ(v, device_flag(flags[f]))
			TH_LOG("%s: bound with %s=%c, debugfs says '%c'", drivers[d], flags[f], v,
			       device_flag(flags[f]));
		ASSERT_EQ(0, param_set(param_dirs[d], flags[f], other(v)));
		ASSERT_EQ(0, param_set(param_dirs[d], flags[!f], v));
		ASSERT_EQ(other(v), param_get(param_dirs[d], flags[f]));
		EXPECT_EQ(v, device_flag(flags[f]))
			TH_LOG("%s: %s changed to %c after the bind, and the device's followed", drivers[d],
			       flags[f], other(v));
		EXPECT_EQ(other(v), device_flag(flags[!f]))
			TH_LOG("%s: %s changed to %c after the bind, and the device's followed", drivers[d],
			       flags[!f], v);
	}
}

TEST_F(params, nointxmask_follows_the_parameter_at_bind)
{
	follows_at_bind(_metadata, variant->driver, 0);
}

TEST_F(params, nointxmask_is_latched_at_bind)
{
	latched_at_bind(_metadata, variant->driver, 0);
}

TEST_F(params, disable_idle_d3_follows_the_parameter_at_bind)
{
	follows_at_bind(_metadata, variant->driver, 1);
}

TEST_F(params, disable_idle_d3_is_latched_at_bind)
{
	latched_at_bind(_metadata, variant->driver, 1);
}

/* Both drivers, the same parameters: the same per-device values. */
FIXTURE(agree) {
	struct saved saved;
};

FIXTURE_SETUP(agree)
{
	save(_metadata, &self->saved);
}

FIXTURE_TEARDOWN_PARENT(agree)
{
	restore(_metadata, &self->saved);
}

TEST_F(agree, vfio_pasid_vf_and_vfio_pci_give_the_device_the_same_flags)
{
	static const char combos[4][NFLAGS] = { { 'N', 'N' }, { 'Y', 'N' }, { 'N', 'Y' }, { 'Y', 'Y' } };
	char got[NDRIVERS][NFLAGS];
	int c, d, f;

	for (c = 0; c < 4; c++) {
		for (d = 0; d < NDRIVERS; d++) {
			ASSERT_EQ(0, set_and_bind(d, combos[c][0], combos[c][1]))
				TH_LOG("bind to %s", drivers[d]);
			for (f = 0; f < NFLAGS; f++)
				got[d][f] = device_flag(flags[f]);
		}
		for (f = 0; f < NFLAGS; f++) {
			EXPECT_EQ(got[1][f], got[0][f])
				TH_LOG("%s=%c %s=%c: %s under vfio-pci '%c', under vfio-pasid-vf '%c'",
				       flags[0], combos[c][0], flags[1], combos[c][1], flags[f],
				       got[1][f], got[0][f]);
			EXPECT_EQ(combos[c][f], got[1][f]) TH_LOG("the reference, vfio-pci, %s", flags[f]);
		}
	}
}

/* The driver's parameters, with the modes the spec gives them. */
TEST(driver_parameter_files_exist_with_their_modes)
{
	static const struct {
		const char *name;
		mode_t mode;
	} p[] = {
		{ "emulate", 0444 },
		{ "disable_denylist", 0444 },
		{ "nointxmask", 0644 },
		{ "disable_idle_d3", 0644 },
		{ "offsets", 0444 },
	};
	char path[PATH_MAX];
	struct stat st;
	unsigned int i;
	bool vga;

	for (i = 0; i < ARRAY_SIZE(p); i++) {
		snprintf(path, sizeof(path), VPV_PARAMS "/%s", p[i].name);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path, strerror(errno));
		EXPECT_EQ(p[i].mode, st.st_mode & 07777) TH_LOG("%s mode %#o", path, st.st_mode & 07777);
	}
	/* disable_vga exists only with CONFIG_VFIO_PCI_VGA: as vfio-pci's does. */
	vga = !access(VFIO_PCI_PARAMS "/disable_vga", F_OK);
	EXPECT_EQ(vga, !access(VPV_PARAMS "/disable_vga", F_OK))
		TH_LOG("vfio_pci has disable_vga: %s", vga ? "yes" : "no");
	if (!stat(VPV_PARAMS "/disable_vga", &st)) {
		EXPECT_EQ(0444, st.st_mode & 07777) TH_LOG("disable_vga mode %#o", st.st_mode & 07777);
	}
}

int main(int argc, char *argv[])
{
	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	return test_harness_run(argc, argv);
}
