/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sysfs attributes of vfio-pasid-vf: the driver's own, in
 * /sys/bus/pci/drivers/vfio-pasid-vf/, and those of a VF bound to it, in
 * /sys/bus/pci/devices/<VF>/vfio_pasid_vf/.  Declared in C (sysfs.c: the
 * DRIVER_ATTR and DEVICE_ATTR macros), shown and stored in Rust (attrs.rs).
 */
#ifndef VPV_SYSFS_H
#define VPV_SYSFS_H

#include <linux/device.h>

/* The attribute groups of a bound VF, for struct device_driver.dev_groups. */
extern const struct attribute_group *vpv_dev_groups[];

/* The driver's attribute groups, for struct device_driver.groups. */
extern const struct attribute_group *vpv_drv_groups[];

/* Implemented in Rust (attrs.rs), one function per callback. */
ssize_t vpv_placement_show(struct device *dev, char *buf);
ssize_t vpv_pf_pasid_show(struct device *dev, char *buf);
ssize_t vpv_emulated_show(struct device *dev, char *buf);
ssize_t vpv_pasid_users_show(char *buf);
ssize_t vpv_offsets_show(char *buf);
ssize_t vpv_offsets_store(const char *buf, size_t count);

#endif /* VPV_SYSFS_H */
