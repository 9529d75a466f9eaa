// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for what Rust cannot call directly: static inline functions and
 * macros of the vfio and PCI headers.  Each is a one-line forwarder.
 */
#include <linux/eventfd.h>
#include <linux/iommu.h>
#include <linux/rcupdate.h>

#include "helpers.h"

void vpv_dev_set_drvdata(struct device *dev, void *data)
{
	dev_set_drvdata(dev, data);
}

void *vpv_dev_get_drvdata(const struct device *dev)
{
	return dev_get_drvdata(dev);
}

void vpv_vfio_put_device(struct vfio_device *vdev)
{
	vfio_put_device(vdev);
}

/* dev->iommu is the IOMMU core's; max_pasids is set when the device is probed. */
u32 vpv_dev_max_pasids(const struct device *dev)
{
	return dev->iommu ? dev->iommu->max_pasids : 0;
}

/*
 * The vfio_pci_device_ops that vfio-pci installs (vfio_pci.c):
 * vfio_pci_core_get_dmabuf_phys() is a static inline stub when
 * CONFIG_VFIO_PCI_DMABUF is off, so the table is built in C.
 */
static const struct vfio_pci_device_ops vpv_pci_dev_ops = {
	.get_dmabuf_phys = vfio_pci_core_get_dmabuf_phys,
};

const struct vfio_pci_device_ops *vpv_vfio_pci_dev_ops(void)
{
	return &vpv_pci_dev_ops;
}

/*
 * Signal the user's error eventfd (VFIO_PCI_ERR_IRQ_INDEX), as
 * vfio_pci_core_aer_err_detected() does: err_trigger is replaced only under
 * RCU (vfio_pci_eventfd_replace_locked()), so RCU is all a reader needs.
 */
void vpv_vfio_pci_signal_err(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_eventfd *eventfd;

	rcu_read_lock();
	eventfd = rcu_dereference(vdev->err_trigger);
	if (eventfd)
		eventfd_signal(eventfd->ctx);
	rcu_read_unlock();
}
