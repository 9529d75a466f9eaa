/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio-pasid-vf: the PF-provider API.
 *
 * vfio-pasid-vf presents its PF's PASID and PRI capabilities to the user of
 * an SR-IOV VF (a VMM).  A VF can use PASIDs only while its PF has PASID
 * enabled, and the PCI core counts no PASID users of a PF.  A PF driver that
 * implements this API takes part: it is told which VFs use its PASID, it may
 * refuse one, advise where the VF's emulated capabilities go, say which PASID
 * features it really delivers to VFs, attribute Page Request events to a VF,
 * and say when it changed its PASID state anyway.
 *
 * A PF driver that does not implement it still gets the rest: the VF is a
 * consumer of the PF in a device link (the PF's driver cannot unbind before
 * the VF's user released it), and a PF whose PASID went off is found at the
 * VF's next emulated access.
 *
 * The contract (locking, what a PF driver must not do while users exist):
 * Documentation/vfio-pasid-vf.rst, "The PF-provider API".
 *
 * Versioning: a provider fills in .version with the VPV_PF_PROVIDER_VERSION it
 * was built against.  A later version only appends members to struct
 * vpv_pf_provider_ops and functions to this header; vfio-pasid-vf reads only
 * the members of the version a provider gives, and refuses a version it does
 * not know (-EINVAL): a provider newer than the module.
 */
#ifndef _LINUX_VFIO_PASID_VF_H
#define _LINUX_VFIO_PASID_VF_H

#include <linux/pci.h>
#include <linux/types.h>

/* The version of this API. */
#define VPV_PF_PROVIDER_VERSION		1

/*
 * What ->features() returns: the PASID features the PF delivers to a VF.  The
 * PASID bits are those of the PASID Capability register (PCI_PASID_CAP_EXEC,
 * PCI_PASID_CAP_PRIV); a bit the PF's capability has but the provider does
 * not return is presented as 0.  VPV_PF_FEAT_PRI: the PF delivers Page
 * Requests of the VF (without it, PRI is not presented).  Unknown bits are
 * ignored.
 */
#define VPV_PF_FEAT_PASID_EXEC		0x00000002	/* PCI_PASID_CAP_EXEC */
#define VPV_PF_FEAT_PASID_PRIV		0x00000004	/* PCI_PASID_CAP_PRIV */
#define VPV_PF_FEAT_PRI			0x00010000
#define VPV_PF_FEAT_ALL			(VPV_PF_FEAT_PASID_EXEC | \
					 VPV_PF_FEAT_PASID_PRIV | \
					 VPV_PF_FEAT_PRI)

/**
 * struct vpv_pf_provider_ops - what a PF driver provides to its VFs' users
 * @version: VPV_PF_PROVIDER_VERSION, as built against
 * @pasid_get: @vf is about to present @pf's PASID to its user (at the first
 *	open of the VF).  Return 0 to accept; an error withholds PASID from
 *	that open: the VF is still opened, without the capability, and its
 *	user cannot attach PASIDs (-EPERM).  Optional: without it every VF is
 *	accepted.
 * @pasid_put: @vf stopped using @pf's PASID: its last close (after vfio-pci
 *	disabled it; PASIDs its user attached through iommufd may still be
 *	attached, with bus mastering off), the open found no room for the
 *	capability after all, or vpv_pf_provider_unregister().  Called once for
 *	each accepted ->pasid_get().  Optional.
 * @advise_offset: the config-space offset (0x100..0xffc, dword aligned) where
 *	the VF's emulated capability @cap_id (PCI_EXT_CAP_ID_PASID or
 *	PCI_EXT_CAP_ID_PRI) should go, for example a range the VF's hardware
 *	leaves unused by design; 0 (or a negative errno) for no advice.  An offset that overlaps
 *	anything in use is not followed (the VF's sysfs placement says why).
 *	The administrator's offsets come first.  Optional.
 * @features: the VPV_PF_FEAT_* that @pf delivers to @vf.  Optional: without
 *	it, VPV_PF_FEAT_ALL.
 *
 * Every callback is called in process context, may sleep, and is called with
 * vfio-pasid-vf's registry lock held: it must not call any function of this
 * header, nor wait for anything that waits for a VF's user (a lock held
 * around pci_disable_sriov() or a driver unbind).  No callback is called
 * after vpv_pf_provider_unregister() returns.
 */
struct vpv_pf_provider_ops {
	unsigned int version;
	int (*pasid_get)(struct pci_dev *pf, struct pci_dev *vf);
	void (*pasid_put)(struct pci_dev *pf, struct pci_dev *vf);
	int (*advise_offset)(struct pci_dev *pf, struct pci_dev *vf, u16 cap_id);
	u32 (*features)(struct pci_dev *pf, struct pci_dev *vf);
};

/*
 * Registers @ops as the provider of the SR-IOV PF @pf; @ops must stay valid
 * until vpv_pf_provider_unregister(pf).  Call it before enabling SR-IOV: VFs
 * already open are not announced to ->pasid_get().  Returns 0, -EINVAL (@pf
 * is not an SR-IOV PF, or an unknown @ops->version), -EEXIST (@pf already
 * has a provider) or -ENOMEM.  Process context.
 */
int vpv_pf_provider_register(struct pci_dev *pf, const struct vpv_pf_provider_ops *ops);

/*
 * Unregisters @pf's provider: calls ->pasid_put() for each VF it accepted
 * that is still open, and returns when no callback runs any more.  Those VFs
 * stay open and keep presenting PASID while the PF has it enabled.  Call it
 * before the provider's module or @ops go away, at the latest in the PF
 * driver's remove().  Process context.
 */
void vpv_pf_provider_unregister(struct pci_dev *pf);

/*
 * Tells vfio-pasid-vf that @pf's PASID was disabled or enabled (a PF driver
 * must not disable it while VFs use it; if it does, it says so here).  Each
 * open VF of @pf that presents PASID then sees the change at once rather than
 * at its user's next access: on disable, the VF's user gets its error eventfd
 * signalled.  Process context, no lock of the provider's callbacks held.
 * Needs no registered provider.
 */
void vpv_pf_pasid_changed(struct pci_dev *pf);

/*
 * Attributes Page Request events to @vf: @status may hold PCI_PRI_STATUS_RF
 * (Response Failure) and PCI_PRI_STATUS_UPRGI (Unexpected Page Request Group
 * Index), latched in @vf's emulated PRI Status until its user writes 1 to
 * them.  Returns 0, -EINVAL (other bits in @status), or -ENODEV (@vf is not a
 * VF of @pf that is open with PRI presented).  Process context; needs no
 * registered provider.  @vf is only compared, never dereferenced.
 */
int vpv_pf_pri_event(struct pci_dev *pf, struct pci_dev *vf, u16 status);

#endif /* _LINUX_VFIO_PASID_VF_H */
