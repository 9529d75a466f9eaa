// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs attributes of a VF bound to vfio-pasid-vf.  The driver core adds
 * them after probe and removes them before remove, so while a callback runs
 * the device is bound and its drvdata is the vfio-pasid-vf device.
 */
#include "sysfs.h"

#define VPV_ATTR_SHOW(_name, _id)						\
static ssize_t _name##_show(struct device *dev, struct device_attribute *attr,	\
			    char *buf)						\
{										\
	return vpv_attr_show(dev, _id, buf);					\
}

#define VPV_ATTR_STORE(_name, _id)						\
static ssize_t _name##_store(struct device *dev, struct device_attribute *attr,	\
			     const char *buf, size_t count)			\
{										\
	return vpv_attr_store(dev, _id, buf, count);				\
}

VPV_ATTR_SHOW(pasid_offset, VPV_ATTR_PASID_OFFSET)
VPV_ATTR_STORE(pasid_offset, VPV_ATTR_PASID_OFFSET)
static DEVICE_ATTR_RW(pasid_offset);

VPV_ATTR_SHOW(pri_offset, VPV_ATTR_PRI_OFFSET)
VPV_ATTR_STORE(pri_offset, VPV_ATTR_PRI_OFFSET)
static DEVICE_ATTR_RW(pri_offset);

VPV_ATTR_SHOW(placement, VPV_ATTR_PLACEMENT)
static DEVICE_ATTR_RO(placement);

static struct attribute *vpv_attrs[] = {
	&dev_attr_pasid_offset.attr,
	&dev_attr_pri_offset.attr,
	&dev_attr_placement.attr,
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
