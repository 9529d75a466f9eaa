// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs attributes of vfio-pasid-vf.
 *
 * The driver's "offsets" exists while the module is loaded, whether or not a
 * VF is bound, so that an administrator can pin where a VF's emulated
 * capabilities go before libvirt or a VMM binds and opens it.
 *
 * A bound VF's "placement": the driver core adds it after probe and removes
 * it before remove, so while a callback runs the device is bound and its
 * drvdata is the vfio-pasid-vf device.
 */
#include "sysfs.h"

static ssize_t offsets_show(struct device_driver *drv, char *buf)
{
	return vpv_offsets_show(buf);
}

static ssize_t offsets_store(struct device_driver *drv, const char *buf, size_t count)
{
	return vpv_offsets_store(buf, count);
}
static DRIVER_ATTR_RW(offsets);

static ssize_t pasid_users_show(struct device_driver *drv, char *buf)
{
	return vpv_pasid_users_show(buf);
}
static DRIVER_ATTR_RO(pasid_users);

static struct attribute *vpv_drv_attrs[] = {
	&driver_attr_offsets.attr,
	&driver_attr_pasid_users.attr,
	NULL,
};

static const struct attribute_group vpv_drv_group = {
	.attrs = vpv_drv_attrs,
};

const struct attribute_group *vpv_drv_groups[] = {
	&vpv_drv_group,
	NULL,
};

static ssize_t placement_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return vpv_placement_show(dev, buf);
}
static DEVICE_ATTR_RO(placement);

static ssize_t pf_pasid_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return vpv_pf_pasid_show(dev, buf);
}
static DEVICE_ATTR_RO(pf_pasid);

/* Root only: what a VF's user wrote, which its other users have no business seeing. */
static ssize_t emulated_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return vpv_emulated_show(dev, buf);
}
static DEVICE_ATTR_ADMIN_RO(emulated);

static struct attribute *vpv_attrs[] = {
	&dev_attr_placement.attr,
	&dev_attr_pf_pasid.attr,
	&dev_attr_emulated.attr,
	NULL,
};

static const struct attribute_group vpv_group = {
	.name = "vfio_pasid_vf",
	.attrs = vpv_attrs,
};

const struct attribute_group *vpv_dev_groups[] = {
	&vpv_group,
	NULL,
};
