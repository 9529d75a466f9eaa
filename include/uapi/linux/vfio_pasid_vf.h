/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio-pasid-vf: the VFIO device feature of an SR-IOV VF bound to the
 * vfio-pasid-vf variant driver.
 *
 * A VF has no PASID or PRI capability of its own (PCIe: they are the PF's).
 * vfio-pasid-vf presents emulated copies in the VF's config space as VFIO
 * shows it.  This feature tells a VMM what is behind them: the PF's raw PASID
 * and PRI registers and their capability versions, which of their bits the
 * driver understands, where (and whether) it placed the emulated capabilities,
 * and whether the VF holds its PF's PASID.  A VMM that defines the guest's
 * layout itself can also choose the offsets, or turn the emulated
 * capabilities off and synthesize its own.
 *
 * Out of tree: VFIO_DEVICE_FEATURE_PASID_VF is not an upstream feature number.
 * Upstream allocates them from 0 upwards (0..13 in Linux 7.3); this one is
 * near the top of the 16-bit space (VFIO_DEVICE_FEATURE_MASK) so that it will
 * not collide.  Documentation/vfio-pasid-vf.rst, "VFIO_DEVICE_FEATURE".
 *
 * Use it with struct vfio_device_feature (<linux/vfio.h>) and
 * VFIO_DEVICE_FEATURE_PASID_VF in its flags:
 *   PROBE   0 (GET and SET are supported); -ENOTTY from any other driver.
 *   GET     fills struct vfio_device_feature_pasid_vf.
 *   SET     takes struct vfio_device_feature_pasid_vf_set.
 * The VFIO core refuses unknown flags and GET together with SET (-EINVAL);
 * this driver refuses a payload smaller than the first version of its struct
 * (-EINVAL).
 */
#ifndef _UAPI_LINUX_VFIO_PASID_VF_H
#define _UAPI_LINUX_VFIO_PASID_VF_H

#include <linux/types.h>

#define VFIO_DEVICE_FEATURE_PASID_VF		0xf050

/* struct vfio_device_feature_pasid_vf.flags: which fields are valid. */
#define VFIO_PASID_VF_PASID			(1U << 0)	/* the PF has a PASID capability: pasid_* */
#define VFIO_PASID_VF_PRI			(1U << 1)	/* the PF has a PRI capability: pri_* */
#define VFIO_PASID_VF_HIDDEN			(1U << 2)	/* SET hid the emulated capabilities */

/* struct vfio_device_feature_pasid_vf.pf_pasid: the VF and its PF's PASID. */
#define VFIO_PASID_VF_PF_PASID_NOT_HELD		0	/* this open is no PASID user of the PF */
#define VFIO_PASID_VF_PF_PASID_HELD		1	/* it is, and the PF's PASID is enabled */
#define VFIO_PASID_VF_PF_PASID_LOST		2	/* it is, but the PF's PASID went off */

/*
 * GET.  The kernel writes min(its size, the payload's size) bytes, and @size
 * says how many that is: a later version only appends fields, and a field
 * beyond @size is not there.  Registers are as the PCIe spec lays them out
 * (PASID: PCI_PASID_CAP, PCI_PASID_CTRL; PRI: PCI_PRI_STATUS,
 * PCI_PRI_MAX_REQ), read from the PF at the GET, in host byte order.  Except
 * in pri_status: Response Failure and Unexpected PRG Index read 0, since they
 * are PF-wide events that another VF's user may have caused.
 */
struct vfio_device_feature_pasid_vf {
	__u32	size;			/* bytes of this struct the kernel wrote */
	__u32	flags;			/* VFIO_PASID_VF_* */
	__u8	pasid_version;		/* PF's PASID capability version (header bits 19:16) */
	__u8	pri_version;		/* PF's PRI capability version */
	__u16	pf_pasid;		/* VFIO_PASID_VF_PF_PASID_* */
	__u16	pasid_cap;		/* PF's PASID Capability register, raw */
	__u16	pasid_cap_known;	/* bits of pasid_cap this driver understands */
	__u16	pasid_ctrl;		/* PF's PASID Control register, raw */
	__u16	pasid_offset;		/* emulated PASID capability in the VF; 0: not presented */
	__u16	pasid_cap_presented;	/* its Capability register, as the VF's user reads it */
	__u16	pri_status;		/* PF's Page Request Status register, raw but RF, UPRGI */
	__u16	pri_status_known;	/* bits of pri_status this driver understands */
	__u16	pri_offset;		/* emulated PRI capability in the VF; 0: not presented */
	__u32	pri_capacity;		/* PF's Outstanding Page Request Capacity */
};

/* struct vfio_device_feature_pasid_vf_set.flags */
#define VFIO_PASID_VF_SET_OFFSETS		(1U << 0)	/* place at pasid_offset, pri_offset */
#define VFIO_PASID_VF_SET_HIDE			(1U << 1)	/* present no emulated capability */

/*
 * SET, for this open, before the user has written any emulated byte (else
 * -EBUSY): exactly one of
 * - VFIO_PASID_VF_SET_OFFSETS: place the emulated PASID and PRI capabilities
 *   at @pasid_offset and @pri_offset (0: where the driver chooses), as a VMM
 *   that defines the guest's layout does (the destination of a migration sets
 *   the source's offsets).  An offset for a capability the open does not
 *   present, or not dword aligned in 0x100..0xffc: -EINVAL.  An offset that
 *   cannot hold the capability (it overlaps a capability of the VF or the
 *   other emulated one, or the VF's bytes there do not read 0): -ENOSPC, and
 *   nothing changes.
 *   With nothing presented (GET: both offsets 0, VFIO_PASID_VF_HIDDEN clear):
 *   -EINVAL.  After VFIO_PASID_VF_SET_HIDE, it presents them again.
 * - VFIO_PASID_VF_SET_HIDE (both offsets 0): the VF's config space becomes
 *   what vfio-pci shows, for a VMM that synthesizes its own capabilities.  The
 *   open stays a PASID user of its PF (attaching PASIDs still works); GET
 *   reports VFIO_PASID_VF_HIDDEN with both offsets 0.
 * Other flags, both flags, a non-zero @reserved, a payload smaller than this
 * struct: -EINVAL.  A larger payload (a later version) is accepted if its
 * extra bytes are 0, else -E2BIG.
 */
struct vfio_device_feature_pasid_vf_set {
	__u32	flags;			/* VFIO_PASID_VF_SET_* */
	__u16	pasid_offset;
	__u16	pri_offset;
	__u32	reserved;		/* 0 */
};

#endif /* _UAPI_LINUX_VFIO_PASID_VF_H */
