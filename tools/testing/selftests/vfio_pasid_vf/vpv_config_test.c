// SPDX-License-Identifier: GPL-2.0
/*
 * Config space: with nothing to emulate, vfio-pasid-vf shows exactly the
 * bytes that vfio-pci shows for the same VF, in every IOMMU mode.
 *
 *   vpv_config_test [harness options] VF     (or VFIO_SELFTESTS_BDF=VF)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

static const char *vf_bdf;

FIXTURE(config) {
};

FIXTURE_VARIANT(config) {
	const char *iommu_mode;
};

FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(config);

FIXTURE_SETUP(config)
{
}

FIXTURE_TEARDOWN(config)
{
}

TEST_F(config, config_space_4k_is_byte_identical_to_vfio_pci)
{
	static uint8_t under_vfio_pci[PCI_CFG_SPACE_EXP_SIZE];
	static uint8_t under_vpv[PCI_CFG_SPACE_EXP_SIZE];
	int off, diffs = 0, first = -1;

	ASSERT_EQ(0, vpv_bind(vf_bdf, VFIO_PCI_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, variant->iommu_mode, under_vfio_pci,
					      sizeof(under_vfio_pci)));
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER));
	ASSERT_EQ(0, vpv_vfio_config_snapshot(vf_bdf, variant->iommu_mode, under_vpv,
					      sizeof(under_vpv)));

	for (off = 0; off < PCI_CFG_SPACE_EXP_SIZE; off++) {
		if (under_vfio_pci[off] == under_vpv[off])
			continue;
		if (first < 0)
			first = off;
		diffs++;
	}
	EXPECT_EQ(0, diffs)
		TH_LOG("%d config bytes differ; first at 0x%03x: vfio-pci 0x%02x, vfio-pasid-vf 0x%02x",
		       diffs, first, under_vfio_pci[first], under_vpv[first]);
}

int main(int argc, char *argv[])
{
	vf_bdf = vfio_selftests_get_bdf(&argc, argv);
	return test_harness_run(argc, argv);
}
