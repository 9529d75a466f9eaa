// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters of vfio-pasid-vf.
 *
 * In C because the Rust module! macro of 7.3 registers parameters with
 * permission 0 (not in sysfs, load time only) and has no string type, while
 * vfio-pci's nointxmask and disable_idle_d3, which these mirror, are writable
 * at runtime.  As in vfio-pci (vfio_pci_init_dev()), their values are latched
 * into each device when it is bound; vfio-pci-core's debugfs shows the
 * latched values (/sys/kernel/debug/vfio/<BDF>/pci/).
 */
#include <linux/compiler.h>
#include <linux/moduleparam.h>

#include "params.h"

static bool emulate = true;
module_param(emulate, bool, 0444);
MODULE_PARM_DESC(emulate,
		 "Present emulated PASID and PRI capabilities to VFs (default: Y). N: behave exactly like vfio-pci, e.g. for VMMs that synthesize their own");

static bool disable_denylist;
module_param(disable_denylist, bool, 0444);
MODULE_PARM_DESC(disable_denylist,
		 "Disable use of vfio-pci's device denylist, as vfio_pci.disable_denylist does. Disabling the denylist allows binding to devices with known errata that may lead to exploitable stability or security issues when accessed by untrusted users.");

static bool nointxmask;
module_param(nointxmask, bool, 0644);
MODULE_PARM_DESC(nointxmask,
		 "Disable support for PCI 2.3 style INTx masking, as vfio_pci.nointxmask does (latched when a VF is bound)");

static bool disable_idle_d3;
module_param(disable_idle_d3, bool, 0644);
MODULE_PARM_DESC(disable_idle_d3,
		 "Disable using the PCI D3 low power state for idle, unused devices, as vfio_pci.disable_idle_d3 does (latched when a VF is bound)");

#ifdef CONFIG_VFIO_PCI_VGA
static bool disable_vga;
module_param(disable_vga, bool, 0444);
MODULE_PARM_DESC(disable_vga, "Disable VGA resource access, as vfio_pci.disable_vga does");
#endif

static char offsets[1024];
module_param_string(offsets, offsets, sizeof(offsets), 0444);
MODULE_PARM_DESC(offsets,
		 "Administrator offsets of the emulated capabilities at load, ';'-separated entries as written to /sys/bus/pci/drivers/vfio-pasid-vf/offsets: KEY[,pasid=OFF|auto][,pri=OFF|auto], KEY a VF's DDDD:BB:DD.F or a VVVV:DDDD vendor:device");

bool vpv_param_emulate(void)
{
	return READ_ONCE(emulate);
}

bool vpv_param_disable_denylist(void)
{
	return READ_ONCE(disable_denylist);
}

bool vpv_param_nointxmask(void)
{
	return READ_ONCE(nointxmask);
}

bool vpv_param_disable_idle_d3(void)
{
	return READ_ONCE(disable_idle_d3);
}

bool vpv_param_disable_vga(void)
{
#ifdef CONFIG_VFIO_PCI_VGA
	return READ_ONCE(disable_vga);
#else
	return false;
#endif
}

const char *vpv_param_offsets(void)
{
	return offsets;
}
