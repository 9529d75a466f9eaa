/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for what Rust cannot call directly: static inline functions and
 * macros of the vfio and PCI headers.  Each is a one-line forwarder.
 */
#ifndef VPV_HELPERS_H
#define VPV_HELPERS_H

#include <linux/pci.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

void vpv_dev_set_drvdata(struct device *dev, void *data);
void *vpv_dev_get_drvdata(const struct device *dev);
void vpv_vfio_put_device(struct vfio_device *vdev);
u32 vpv_dev_max_pasids(const struct device *dev);
const struct vfio_pci_device_ops *vpv_vfio_pci_dev_ops(void);
void vpv_vfio_pci_signal_err(struct vfio_pci_core_device *vdev);

#endif /* VPV_HELPERS_H */
