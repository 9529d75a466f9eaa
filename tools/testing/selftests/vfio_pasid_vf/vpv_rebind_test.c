// SPDX-License-Identifier: GPL-2.0
/*
 * Reliability: binding, opening and unbinding a VF over and over leaks
 * nothing (kmemleak; run it on the debug kernel flavour).  The opens take
 * every IOMMU mode of libvfio in turn, so that each path (legacy container,
 * iommufd's compat container, iommufd cdev) is checked for leaks.
 *
 *   vpv_rebind_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#define CYCLES 100

static const char *vf_bdf;

/* libvfio's IOMMU modes (the order of FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES()). */
static const char *const iommu_modes[] = {
	MODE_VFIO_TYPE1_IOMMU, MODE_VFIO_TYPE1V2_IOMMU, MODE_IOMMUFD_COMPAT_TYPE1,
	MODE_IOMMUFD_COMPAT_TYPE1V2, MODE_IOMMUFD,
};

FIXTURE(rebind) {
};

FIXTURE_SETUP(rebind)
{
}

FIXTURE_TEARDOWN(rebind)
{
}

/* About 0.4 s per cycle on the debug kernel under TCG: far beyond the 30 s default. */
TEST_F_TIMEOUT(rebind, unbind_rebind_100_cycles_leak_nothing, 300)
{
	static uint8_t cfg[256];
	int i;

	if (access(VPV_KMEMLEAK, F_OK))
		SKIP(return, "no %s: kernel without CONFIG_DEBUG_KMEMLEAK (use the debug flavour)",
		     VPV_KMEMLEAK);

	/* Forget what leaked before this test. */
	ASSERT_EQ(0, vpv_file_write(VPV_KMEMLEAK, "clear"));

	for (i = 0; i < CYCLES; i++) {
		ASSERT_EQ(0, vpv_unbind(vf_bdf)) TH_LOG("cycle %d: unbind", i);
		ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER)) TH_LOG("cycle %d: bind", i);
		ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, iommu_modes[i % ARRAY_SIZE(iommu_modes)],
						      cfg, sizeof(cfg)))
			TH_LOG("cycle %d: open (%s), read config, close", i,
			       iommu_modes[i % ARRAY_SIZE(iommu_modes)]);
	}

	/* kmemleak reports only objects older than 5 s, found in a scan. */
	sleep(6);
	ASSERT_EQ(0, vpv_file_write(VPV_KMEMLEAK, "scan"));
	EXPECT_EQ(0, vpv_kmemleak_reports());
}

int main(int argc, char *argv[])
{
	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	return test_harness_run(argc, argv);
}
