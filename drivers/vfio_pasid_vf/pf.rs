// SPDX-License-Identifier: GPL-2.0

//! The PASID users of each PF: the open VFs that present its PASID.
//!
//! A VF can use PASIDs only while its PF has PASID enabled (`pci_enable_pasid()` on a VF
//! writes nothing and only checks the PF), and the PCI core counts no PASID users of a PF.
//! This registry does, for the VFs bound to this driver.
//!
//! A VF becomes a user of its PF's PASID when an open presents the PASID capability, and
//! stops at the last close. Not at bind: a bound VF that nobody opened uses nothing, and a
//! VF is bound for as long as the administrator leaves it so. Not when the guest sets PASID
//! Enable: that write cannot fail, so the PF must be held before the guest can see the
//! capability, which is decided at open.
//!
//! A user holds references on its VF and its PF ([`PasidUser`]); the registry is empty
//! once every VF is closed. It outlives no PF: a PF goes away only after its VFs (SR-IOV is
//! disabled first), and a VF after its last close (vfio's request path). It outlives no
//! module either: an open VF pins the module.

use core::fmt::Write;

use kernel::{
    pci,
    prelude::*,
    sync::aref::ARef, //
};

use crate::sysfs::SysfsBuf;

/// The PASID users of one PF.
struct PfUsers {
    pf: ARef<pci::Device>,
    /// The VFs, in the order they became users.
    vfs: KVec<ARef<pci::Device>>,
}

/// The PFs with PASID users, in the order they got their first.
pub(crate) struct Registry {
    pfs: KVec<PfUsers>,
}

impl Registry {
    /// An empty registry.
    pub(crate) const fn new() -> Self {
        Self { pfs: KVec::new() }
    }

    /// The index of `pf`'s entry, if it has users.
    fn position(&self, pf: &pci::Device) -> Option<usize> {
        self.pfs
            .iter()
            .position(|users| core::ptr::eq(&*users.pf, pf))
    }
}

kernel::sync::global_lock! {
    // SAFETY: Initialised by `init()` in the module initializer, before the driver is
    // registered, so before any other use.
    unsafe(uninit) static REGISTRY: Mutex<Registry> = Registry::new();
}

/// Initialises the registry.
///
/// # Safety
///
/// Must be called exactly once, from the module initializer, before the driver is
/// registered.
pub(crate) unsafe fn init() {
    // SAFETY: Called once, before first use, per the function's requirements.
    unsafe { REGISTRY.init() };
}

/// A VF's use of its PF's PASID, from an open that presents it to the last close.
pub(crate) struct PasidUser {
    pf: ARef<pci::Device>,
    vf: ARef<pci::Device>,
}

impl PasidUser {
    /// Registers `vf` as a PASID user of its PF `pf`.
    pub(crate) fn new(pf: &pci::Device, vf: &pci::Device) -> Result<Self> {
        let (pf, vf): (ARef<pci::Device>, ARef<pci::Device>) = (pf.into(), vf.into());
        let mut registry = REGISTRY.lock();
        let index = match registry.position(&pf) {
            Some(index) => index,
            None => {
                registry.pfs.push(
                    PfUsers {
                        pf: pf.clone(),
                        vfs: KVec::new(),
                    },
                    GFP_KERNEL,
                )?;
                registry.pfs.len() - 1
            }
        };
        let users = registry.pfs.get_mut(index).ok_or(EINVAL)?;
        if let Err(e) = users.vfs.push(vf.clone(), GFP_KERNEL) {
            if users.vfs.is_empty() {
                registry.pfs.remove(index)?;
            }
            return Err(e.into());
        }
        Ok(Self { pf, vf })
    }
}

impl PasidUser {
    /// The PF whose PASID the VF uses.
    pub(crate) fn pf(&self) -> &pci::Device {
        &self.pf
    }
}

impl Drop for PasidUser {
    fn drop(&mut self) {
        let mut registry = REGISTRY.lock();
        let Some(index) = registry.position(&self.pf) else {
            return;
        };
        let Some(users) = registry.pfs.get_mut(index) else {
            return;
        };
        if let Some(at) = users
            .vfs
            .iter()
            .position(|vf| core::ptr::eq(&**vf, &*self.vf))
        {
            // The registry's references on the devices, never their last: `self` has its own.
            let _vf = users.vfs.remove(at);
        }
        if users.vfs.is_empty() {
            let _pf = registry.pfs.remove(index);
        }
    }
}

/// The PCI address of `pdev`, its device name.
fn name(pdev: &pci::Device) -> &str {
    pdev.as_ref().name().to_str().unwrap_or("?")
}

/// Writes whether `vf` holds its PF's PASID now (the VF's `pf_pasid`).
pub(crate) fn show_held(vf: &pci::Device, out: &mut SysfsBuf<'_>) -> Result {
    let held = REGISTRY
        .lock()
        .pfs
        .iter()
        .any(|users| users.vfs.iter().any(|user| core::ptr::eq(&**user, vf)));
    writeln!(out, "{}", if held { "held" } else { "not held" }).map_err(|_| EOVERFLOW)
}

/// Writes the registry, a line per PF: `PF: VF...` (the driver's `pasid_users`).
pub(crate) fn show(out: &mut SysfsBuf<'_>) -> Result {
    let registry = REGISTRY.lock();
    for users in registry.pfs.iter() {
        write!(out, "{}:", name(&users.pf)).map_err(|_| EOVERFLOW)?;
        for vf in users.vfs.iter() {
            write!(out, " {}", name(vf)).map_err(|_| EOVERFLOW)?;
        }
        writeln!(out).map_err(|_| EOVERFLOW)?;
    }
    Ok(())
}
