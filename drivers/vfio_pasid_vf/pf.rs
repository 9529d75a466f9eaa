// SPDX-License-Identifier: GPL-2.0

//! The PF side: the open VFs of each PF, its PASID users among them, and the PF drivers
//! that take part as providers (`include/linux/vfio_pasid_vf.h`, exported by
//! [`crate::provider`]).
//!
//! A VF can use PASIDs only while its PF has PASID enabled (`pci_enable_pasid()` on a VF
//! writes nothing and only checks the PF), and the PCI core counts no PASID users of a PF.
//! This registry does, for the VFs bound to this driver.
//!
//! A VF is registered with its PF from an open that may present the PF's PASID or PRI to
//! the last close ([`Registration`]). It is a PASID user while the open presents PASID. Not
//! from bind: a bound VF that nobody opened uses nothing, and a VF is bound for as long as
//! the administrator leaves it so. Not from the guest's write of PASID Enable: that write
//! cannot fail, so the PF must be held before the guest can see the capability, which is
//! decided at open. A provider is asked (`pasid_get`) before the capability is placed, and
//! told (`pasid_put`) at the last close.
//!
//! Entries hold references on their PF and VFs; a PF's entry goes when it has neither open
//! VFs nor a provider. It outlives no PF: a PF goes away only after its VFs (SR-IOV is
//! disabled first) and its driver (which unregisters its provider in `remove()`), and a VF
//! after its last close (vfio's request path). It outlives no module: an open VF pins this
//! module, and so does a provider (it links against the exports, or holds them with
//! `symbol_get()`).
//!
//! Lock order: the registry, then the emulation of an open VF
//! ([`crate::config::OpenShared`]). Provider callbacks run with the registry locked.

use core::fmt::Write;

use kernel::{
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
};

use crate::bindings;
use crate::config::OpenShared;
use crate::emu::{
    PCI_EXT_CAP_ID_PASID,
    PCI_EXT_CAP_ID_PRI, //
};
use crate::pci_ext::{
    self,
    FunctionExt, //
};
use crate::sysfs::SysfsBuf;

/// A registered provider's callbacks (the members of its `struct vpv_pf_provider_ops`
/// that its version has).
///
/// # Invariants
///
/// The callbacks are valid for as long as the provider is registered, which the API's
/// contract requires; they are called only with the registry locked, which unregistering
/// takes.
#[derive(Clone, Copy)]
pub(crate) struct Provider(bindings::vpv_pf_provider_ops);

// A new version appends members: `Provider::from_raw` must then copy only those of the
// version a provider gives, since an older provider's struct is shorter.
const _: () = assert!(bindings::VPV_PF_PROVIDER_VERSION == 1);

impl Provider {
    /// The provider of `ops`, as its version defines them; [`EINVAL`] for a version this
    /// module does not know (0, or newer than [`bindings::VPV_PF_PROVIDER_VERSION`]).
    ///
    /// # Safety
    ///
    /// `ops` must point to a valid `struct vpv_pf_provider_ops` of the version it names
    /// (which has at least its `version` member).
    pub(crate) unsafe fn from_raw(ops: *const bindings::vpv_pf_provider_ops) -> Result<Self> {
        // SAFETY: `version` comes first in every version, so it is there to read, per the
        // function's requirements; nothing else is read before it is known.
        let version = unsafe { core::ptr::read(&raw const (*ops).version) };
        match version {
            // SAFETY: A version 1 struct has every member of the struct this module knows
            // (checked above), so it is all there to read.
            1 => Ok(Self(unsafe { core::ptr::read(ops) })),
            _ => Err(EINVAL),
        }
    }
}

/// An open VF of a PF.
struct User {
    vf: ARef<pci::Device>,
    open: Arc<OpenShared>,
    /// The open presents the PF's PASID: a PASID user.
    pasid: bool,
    /// The provider accepted the VF as a PASID user and gets a `pasid_put`.
    announced: bool,
}

/// Tells `provider` that `user`, an open VF of `pf`, is no longer its PASID user, if it was
/// announced; called with the registry locked.
fn pasid_put(provider: Option<Provider>, pf: &pci::Device, user: &mut User) {
    if !core::mem::replace(&mut user.announced, false) {
        return;
    }
    if let Some(put) = provider.and_then(|p| p.0.pasid_put) {
        // SAFETY: The caller holds the registry lock, so the provider is registered and
        // `put` valid (type invariant of `Provider`); both devices are valid, held by the
        // registry.
        unsafe { put(pci_ext::as_raw(pf), pci_ext::as_raw(&user.vf)) };
    }
}

/// The open VF `vf` among `users`.
fn find_user<'a>(users: &'a mut KVec<User>, vf: &pci::Device) -> Option<&'a mut User> {
    users.iter_mut().find(|u| core::ptr::eq(&*u.vf, vf))
}

/// A PF with open VFs or a provider.
struct PfEntry {
    pf: ARef<pci::Device>,
    provider: Option<Provider>,
    /// The open VFs, in the order they were opened.
    users: KVec<User>,
}

impl PfEntry {
    /// Asks the provider to accept `vf` as a PASID user: `Ok(true)` if it did, `Ok(false)`
    /// without a provider or a `pasid_get`.
    fn pasid_get(&self, vf: &pci::Device) -> Result<bool> {
        let Some(get) = self.provider.and_then(|p| p.0.pasid_get) else {
            return Ok(false);
        };
        // SAFETY: The registry is locked (`&self` is borrowed from it), so the provider is
        // registered and `get` valid (type invariant of `Provider`); both devices are valid,
        // held by `self` and the caller.
        let ret = unsafe { get(pci_ext::as_raw(&self.pf), pci_ext::as_raw(vf)) };
        kernel::error::to_result(ret).map(|()| true)
    }

    /// The provider's advice for the emulated capability `cap_id` of `vf`.
    fn advise_offset(&self, vf: &pci::Device, cap_id: u16) -> Option<u16> {
        let advise = self.provider.and_then(|p| p.0.advise_offset)?;
        // SAFETY: As in `pasid_get`.
        let ret = unsafe { advise(pci_ext::as_raw(&self.pf), pci_ext::as_raw(vf), cap_id) };
        // 0 and errors: no advice. Placement checks the rest (range, alignment, overlaps).
        u16::try_from(ret).ok().filter(|&offset| offset != 0)
    }

    /// The `VPV_PF_FEAT_*` the PF delivers to `vf`.
    fn features(&self, vf: &pci::Device) -> u32 {
        let Some(features) = self.provider.and_then(|p| p.0.features) else {
            return bindings::VPV_PF_FEAT_ALL;
        };
        // SAFETY: As in `pasid_get`.
        unsafe { features(pci_ext::as_raw(&self.pf), pci_ext::as_raw(vf)) }
    }

    /// Whether the entry can go: no open VF, no provider.
    fn is_unused(&self) -> bool {
        self.users.is_empty() && self.provider.is_none()
    }
}

/// The PFs with open VFs or a provider, in the order they got their first.
pub(crate) struct Registry {
    pfs: KVec<PfEntry>,
}

impl Registry {
    /// An empty registry.
    pub(crate) const fn new() -> Self {
        Self { pfs: KVec::new() }
    }

    /// The index of `pf`'s entry, if it has one.
    fn position(&self, pf: &pci::Device) -> Option<usize> {
        self.pfs.iter().position(|e| core::ptr::eq(&*e.pf, pf))
    }

    /// `pf`'s entry, if it has one.
    fn entry(&mut self, pf: &pci::Device) -> Option<&mut PfEntry> {
        let index = self.position(pf)?;
        self.pfs.get_mut(index)
    }

    /// The index of `pf`'s entry, made if it has none.
    fn position_or_insert(&mut self, pf: &pci::Device) -> Result<usize> {
        if let Some(index) = self.position(pf) {
            return Ok(index);
        }
        self.pfs.push(
            PfEntry {
                pf: pf.into(),
                provider: None,
                users: KVec::new(),
            },
            GFP_KERNEL,
        )?;
        Ok(self.pfs.len() - 1)
    }

    /// Drops the entry at `index` if it is unused.
    fn remove_if_unused(&mut self, index: usize) {
        if self.pfs.get(index).is_some_and(PfEntry::is_unused) {
            // Its references on the PF: never the last, the caller has one.
            let _entry = self.pfs.remove(index);
        }
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

/// Frees the registry's memory, from the module's exit: statics are not dropped. Nothing
/// is registered then: an open VF and a provider both pin the module.
pub(crate) fn exit() {
    *REGISTRY.lock() = Registry::new();
}

/// What the PF's provider said about an open, before placement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Advice {
    /// Where the emulated PASID capability should go.
    pub(crate) pasid_offset: Option<u16>,
    /// Where the emulated PRI capability should go.
    pub(crate) pri_offset: Option<u16>,
    /// The provider refused the VF as a PASID user, with this errno.
    pub(crate) refused: Option<i32>,
    /// The `VPV_PF_FEAT_*` the PF delivers to the VF.
    pub(crate) features: u32,
}

impl Advice {
    /// Whether the PF delivers all of `features` (`VPV_PF_FEAT_*`).
    pub(crate) fn delivers(&self, features: u32) -> bool {
        self.features & features == features
    }
}

/// An open VF's registration with its PF, from the open to the last close.
pub(crate) struct Registration {
    pf: ARef<pci::Device>,
    vf: ARef<pci::Device>,
    /// The VF is a PASID user of the PF; fixed once the open has placed the capabilities.
    pasid: bool,
}

impl Registration {
    /// Registers the VF `vf` of `pf`, opened with `open`, and asks the PF's provider, if it
    /// has one, for its advice and, if `pasid`, to accept the VF as a PASID user.
    pub(crate) fn new(
        pf: &pci::Device,
        vf: &pci::Device,
        open: Arc<OpenShared>,
        pasid: bool,
    ) -> Result<(Self, Advice)> {
        let mut registry = REGISTRY.lock();
        let index = registry.position_or_insert(pf)?;
        let Some(entry) = registry.pfs.get_mut(index) else {
            return Err(EINVAL);
        };
        let user = User {
            vf: vf.into(),
            open,
            pasid: false,
            announced: false,
        };
        if let Err(e) = entry.users.push(user, GFP_KERNEL) {
            registry.remove_if_unused(index);
            return Err(e.into());
        }
        let mut advice = Advice {
            pasid_offset: entry.advise_offset(vf, PCI_EXT_CAP_ID_PASID),
            pri_offset: entry.advise_offset(vf, PCI_EXT_CAP_ID_PRI),
            refused: None,
            features: entry.features(vf),
        };
        let mut held = false;
        if pasid {
            match entry.pasid_get(vf) {
                Ok(announced) => {
                    // The user pushed above.
                    if let Some(user) = entry.users.last_mut() {
                        user.pasid = true;
                        user.announced = announced;
                    }
                    held = true;
                }
                Err(e) => advice.refused = Some(e.to_errno()),
            }
        }
        Ok((
            Self {
                pf: pf.into(),
                vf: vf.into(),
                pasid: held,
            },
            advice,
        ))
    }

    /// The PF.
    pub(crate) fn pf(&self) -> &pci::Device {
        &self.pf
    }

    /// The VF.
    pub(crate) fn vf(&self) -> &pci::Device {
        &self.vf
    }

    /// Whether the VF is a PASID user of the PF.
    pub(crate) fn holds_pasid(&self) -> bool {
        self.pasid
    }

    /// Stops the VF being a PASID user (the open does not present PASID after all).
    pub(crate) fn release_pasid(&mut self) {
        if !core::mem::replace(&mut self.pasid, false) {
            return;
        }
        let mut registry = REGISTRY.lock();
        let Some(entry) = registry.entry(&self.pf) else {
            return;
        };
        if let Some(user) = find_user(&mut entry.users, &self.vf) {
            user.pasid = false;
            pasid_put(entry.provider, &entry.pf, user);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = REGISTRY.lock();
        let Some(index) = registry.position(&self.pf) else {
            return;
        };
        let Some(entry) = registry.pfs.get_mut(index) else {
            return;
        };
        if let Some(at) = entry
            .users
            .iter()
            .position(|u| core::ptr::eq(&*u.vf, &*self.vf))
        {
            if let Ok(mut user) = entry.users.remove(at) {
                pasid_put(entry.provider, &entry.pf, &mut user);
            }
        }
        registry.remove_if_unused(index);
    }
}

/// Registers `provider` for `pf`: [`EEXIST`] if it has one.
pub(crate) fn register_provider(pf: &pci::Device, provider: Provider) -> Result {
    let mut registry = REGISTRY.lock();
    let index = registry.position_or_insert(pf)?;
    let Some(entry) = registry.pfs.get_mut(index) else {
        return Err(EINVAL);
    };
    if entry.provider.is_some() {
        return Err(EEXIST);
    }
    entry.provider = Some(provider);
    Ok(())
}

/// Unregisters `pf`'s provider, after a `pasid_put` for each VF it accepted.
pub(crate) fn unregister_provider(pf: &pci::Device) {
    let mut registry = REGISTRY.lock();
    let Some(index) = registry.position(pf) else {
        return;
    };
    let Some(entry) = registry.pfs.get_mut(index) else {
        return;
    };
    // They stay PASID users, no longer announced.
    for user in entry.users.iter_mut() {
        pasid_put(entry.provider, &entry.pf, user);
    }
    entry.provider = None;
    registry.remove_if_unused(index);
}

/// Tells each open VF of `pf` that presents its PASID whether it is on now.
pub(crate) fn pasid_changed(pf: &pci::Device) {
    let mut registry = REGISTRY.lock();
    let Some(entry) = registry.entry(pf) else {
        return;
    };
    let off = !pf.pasid_enabled();
    for user in entry.users.iter().filter(|u| u.pasid) {
        user.open.pf_pasid(&user.vf, off);
    }
}

/// Latches `status` (PRI Status RF and UPRGI) in the emulated PRI of `vf`, an open VF of
/// `pf`; `vf` is compared, never dereferenced, so any pointer is safe. [`ENODEV`] if `vf`
/// is not open with PRI presented.
pub(crate) fn pri_event(pf: &pci::Device, vf: *const bindings::pci_dev, status: u16) -> Result {
    let mut registry = REGISTRY.lock();
    let entry = registry.entry(pf).ok_or(ENODEV)?;
    let user = entry
        .users
        .iter()
        .find(|u| core::ptr::eq(pci_ext::as_raw(&u.vf).cast_const(), vf))
        .ok_or(ENODEV)?;
    user.open.pri_event(status)
}

/// The PCI address of `pdev`, its device name.
fn name(pdev: &pci::Device) -> &str {
    pdev.as_ref().name().to_str().unwrap_or("?")
}

/// Writes whether `vf` holds its PF's PASID now (the VF's `pf_pasid`): `held`, `lost` (held
/// while the PF's PASID is off) or `not held`.
pub(crate) fn show_held(vf: &pci::Device, out: &mut SysfsBuf<'_>) -> Result {
    let registry = REGISTRY.lock();
    let state = registry
        .pfs
        .iter()
        .find_map(|e| {
            e.users
                .iter()
                .any(|u| u.pasid && core::ptr::eq(&*u.vf, vf))
                .then(|| e.pf.pasid_enabled())
        })
        .map_or("not held", |on| if on { "held" } else { "lost" });
    writeln!(out, "{state}").map_err(|_| EOVERFLOW)
}

/// Writes the emulated registers of the open of `vf` (the VF's `emulated`), or `none` if
/// it is not open or its open presents nothing.
pub(crate) fn show_emulated(vf: &pci::Device, out: &mut SysfsBuf<'_>) -> Result {
    let registry = REGISTRY.lock();
    let open = registry
        .pfs
        .iter()
        .find_map(|e| e.users.iter().find(|u| core::ptr::eq(&*u.vf, vf)));
    match open {
        Some(user) => user.open.show_emulated(out),
        None => writeln!(out, "none").map_err(|_| EOVERFLOW),
    }
}

/// Writes the PASID users, a line per PF that has any: `PF: VF...` (the driver's
/// `pasid_users`).
pub(crate) fn show(out: &mut SysfsBuf<'_>) -> Result {
    let registry = REGISTRY.lock();
    for entry in registry.pfs.iter() {
        let mut users = entry.users.iter().filter(|u| u.pasid).peekable();
        if users.peek().is_none() {
            continue;
        }
        write!(out, "{}:", name(&entry.pf)).map_err(|_| EOVERFLOW)?;
        for user in users {
            write!(out, " {}", name(&user.vf)).map_err(|_| EOVERFLOW)?;
        }
        writeln!(out).map_err(|_| EOVERFLOW)?;
    }
    Ok(())
}
