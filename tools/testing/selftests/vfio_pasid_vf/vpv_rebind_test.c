// SPDX-License-Identifier: GPL-2.0
/*
 * Reliability: binding, opening and unbinding a VF over and over.  Each cycle
 * unbinds the VF, binds it to vfio-pasid-vf again, opens it through VFIO and
 * finds the emulated PASID and PRI capabilities in its extended capability
 * chain (the vpv_pf fixture is loaded on its PF), then closes it.  The opens
 * take every IOMMU mode of libvfio in turn, so that each path (legacy
 * container, iommufd's compat container, iommufd cdev) is cycled.  What the
 * cycles leak, run.sh's reliability suite finds with kmemleak after its
 * programs (debug kernel).
 *
 *   [VPV_REBIND_CYCLES=N] vpv_rebind_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 * VPV_REBIND_CYCLES, the number of cycles (1..2000, default 100): a choice of
 * the harness, which weighs it against the run's time (the long mode of
 * scripts/reliability.sh runs 1000).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

#define DEFAULT_CYCLES	100
#define MAX_CYCLES	2000

static const char *vf_bdf;
static unsigned int cycles = DEFAULT_CYCLES;

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

/*
 * About 0.4 s per cycle on the debug kernel under TCG: MAX_CYCLES take about
 * 800 s, far beyond the 30 s default.
 */
TEST_F_TIMEOUT(rebind, each_rebind_presents_pasid_and_pri_again, 1800)
{
	static uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	int i;

	ksft_print_msg("%u cycles\n", cycles);
	for (i = 0; i < (int)cycles; i++) {
		const char *mode = iommu_modes[i % ARRAY_SIZE(iommu_modes)];

		ASSERT_EQ(0, vpv_unbind(vf_bdf)) TH_LOG("cycle %d: unbind", i);
		ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER)) TH_LOG("cycle %d: bind", i);
		ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, mode, cfg, sizeof(cfg)))
			TH_LOG("cycle %d: open (%s), read config, close", i, mode);
		ASSERT_NE(0, vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID))
			TH_LOG("cycle %d (%s): no PASID capability in the chain", i, mode);
		ASSERT_NE(0, vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PRI))
			TH_LOG("cycle %d (%s): no PRI capability in the chain", i, mode);
	}
}

int main(int argc, char *argv[])
{
	const char *env = getenv("VPV_REBIND_CYCLES");

	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);

		if (*end || v < 1 || v > MAX_CYCLES)
			ksft_exit_fail_msg("VPV_REBIND_CYCLES=%s: want 1..%d\n", env, MAX_CYCLES);
		cycles = v;
	}
	return test_harness_run(argc, argv);
}
