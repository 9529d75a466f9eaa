/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sysfs attributes of a VF bound to vfio-pasid-vf, in
 * /sys/bus/pci/devices/<VF>/vfio_pasid_vf/.  Declared in C (sysfs.c: the
 * DEVICE_ATTR macros), shown and stored in Rust (vf.rs).
 */
#ifndef VPV_SYSFS_H
#define VPV_SYSFS_H

#include <linux/device.h>

enum vpv_attr {
	VPV_ATTR_PASID_OFFSET,
	VPV_ATTR_PRI_OFFSET,
	VPV_ATTR_PLACEMENT,
};

/* The attribute groups of the driver, for struct device_driver.dev_groups. */
extern const struct attribute_group *vpv_dev_groups[];

/* Implemented in Rust. */
ssize_t vpv_attr_show(struct device *dev, unsigned int attr, char *buf);
ssize_t vpv_attr_store(struct device *dev, unsigned int attr, const char *buf,
		       size_t count);

#endif /* VPV_SYSFS_H */
