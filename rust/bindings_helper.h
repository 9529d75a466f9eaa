/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bindgen input for vfio-pasid-vf: the C API the driver calls, read from the
 * headers of the kernel tree it is built against (struct layouts depend on
 * that tree's config, so the bindings are generated at build time).
 */
#include <linux/pci.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pasid_vf.h>
#include <uapi/linux/vfio_pasid_vf.h>

#include "helpers.h"
#include "../drivers/vfio_pasid_vf/params.h"
#include "../drivers/vfio_pasid_vf/sysfs.h"
