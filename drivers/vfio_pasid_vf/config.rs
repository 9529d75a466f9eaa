// SPDX-License-Identifier: GPL-2.0

//! The config-space accesses of userspace to an open VF.
//!
//! An access that overlaps the emulated capabilities is split: the emulated bytes come from
//! and go to the VF's register model ([`crate::emu::Emulation`]), the others to vfio-pci.
//! Nothing written to an emulated byte reaches the VF. Every other access goes straight to
//! vfio-pci ([`OpenVf::in_span`] is the fast path).

use core::fmt::Write as _;
use core::sync::atomic::{
    AtomicBool,
    AtomicU32,
    Ordering, //
};

use kernel::{
    device,
    io::Io,
    new_mutex, pci,
    prelude::*,
    sync::{
        Arc,
        Mutex,
        MutexGuard, //
    },
};

use crate::emu::{
    Access,
    EmulatedCap,
    Emulation,
    WriteEffects,
    PCI_PASID_CAP,
    PCI_PASID_CTRL,
    PCI_PRI_ALLOC_REQ,
    PCI_PRI_CTRL,
    PCI_PRI_MAX_REQ,
    PCI_PRI_STATUS, //
};
use crate::pci_ext::FunctionExt;
use crate::pf::Registration;
use crate::sysfs::SysfsBuf;
use crate::vf::{
    PasidVf,
    PlaceInputs, //
};
use crate::vfio::{
    pci::{
        Device,
        ErrorEventfd,
        Read,
        Write, //
    },
    UserBuf,
};

/// `PCI_COMMAND`: the Command register, with Status in the upper half of its dword.
const PCI_COMMAND: usize = 0x04;

/// Accesses that touch emulated bytes are handled in parts of at most this many bytes,
/// aligned to it: the largest access VFIO users make (a qword) is one part.
const CHUNK: usize = 8;

/// An open VF, from the first open to the last close: its registration with its PF, and
/// its emulation if anything is emulated.
pub(crate) struct OpenVf {
    /// The VF's registration with its PF, if the open may present the PF's PASID or PRI.
    /// Declared first, so dropped first: the registry stops reaching `shared` before it goes.
    reg: Option<Registration>,
    /// The config space range that holds every emulated byte, `start << 16 | end`; empty
    /// when nothing is emulated. Read without a lock on every access; changed only by a
    /// VMM's SET before it wrote any emulated byte ([`OpenVf::replace_emulation`]).
    span: AtomicU32,
    /// A VMM's SET hid the emulated capabilities.
    hidden: AtomicBool,
    /// What the registry reaches too.
    shared: Arc<OpenShared>,
    /// The PF has a PASID capability that the open does not present.
    pasid_withheld: bool,
}

/// What an open presents in the VF's config space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Exposed {
    /// The offset of the emulated PASID capability.
    pub(crate) pasid_offset: Option<u16>,
    /// Its Capability register.
    pub(crate) pasid_cap: Option<u16>,
    /// The offset of the emulated PRI capability.
    pub(crate) pri_offset: Option<u16>,
}

/// The part of an open VF that its PF's registry reaches: the emulation and the user's
/// error eventfd.
#[pin_data]
pub(crate) struct OpenShared {
    /// The emulation; `None` when nothing is emulated (or not yet, during the open).
    ///
    /// Never held across a call into vfio-pci: vfio-pci resets the function with its own
    /// locks held, and the reset ends in [`reset_done`], which takes this lock.
    #[pin]
    emu: Mutex<Option<VfEmulation>>,
    /// The user's error eventfd.
    error: ErrorEventfd,
}

/// The emulation of an open VF, with what has been said about it in dmesg.
struct VfEmulation {
    emu: Emulation,
    /// What placed it, for a VMM's SET.
    inputs: PlaceInputs,
    /// The user wrote an emulated byte since the open: the emulated state is in use.
    written: bool,
    /// A write to read-only or reserved bits has been logged since the device was opened.
    logged_ignored_bits: bool,
    /// A PRI Reset written while Enable stays set has been logged since the device was
    /// opened.
    logged_pri_reset: bool,
    /// A reset after which the function did not answer has been logged since the device
    /// was opened.
    logged_unreachable: bool,
    /// The PF's PASID going off has been logged since the device was opened.
    logged_pf_pasid_off: bool,
}

impl VfEmulation {
    /// Tells the registers whether the PF's PASID is `off`. When it goes off: logs it once
    /// per open and signals `error`, the user's error eventfd (an `eventfd_signal()`, which
    /// the emulation's lock may be held across).
    fn pf_pasid(&mut self, vf: &pci::Device, off: bool, error: &ErrorEventfd) {
        if !self.emu.set_pf_pasid_off(off) || !off {
            return;
        }
        if !self.logged_pf_pasid_off {
            self.logged_pf_pasid_off = true;
            dev_warn!(
                vf,
                "the PF's PASID went off: emulated PASID Control reads 0 until it is back and written again; error eventfd signalled (logged once per open)\n"
            );
        }
        error.signal();
    }
}

/// The span of the bytes that `emu` emulates, as [`OpenVf`] keeps it.
fn span_of(emu: Option<&Emulation>) -> u32 {
    emu.and_then(Emulation::span)
        .map_or(0, |span| u32::from(span.start) << 16 | u32::from(span.end))
}

impl OpenShared {
    /// The shared part of an open whose user's error eventfd is `error`, with nothing
    /// emulated yet.
    pub(crate) fn new(error: ErrorEventfd) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                emu <- new_mutex!(None),
                error,
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Sets the emulation, once the open has placed the capabilities with `inputs`.
    pub(crate) fn set_emulation(&self, emu: Emulation, inputs: PlaceInputs) {
        *self.emu.lock() = Some(VfEmulation {
            emu,
            inputs,
            written: false,
            logged_ignored_bits: false,
            logged_pri_reset: false,
            logged_unreachable: false,
            logged_pf_pasid_off: false,
        });
    }

    /// Tells the emulation whether the PF's PASID is `off` (PASID Control reads 0 while it
    /// is). When it goes off: logs it once per open and signals the user's error eventfd.
    pub(crate) fn pf_pasid(&self, vf: &pci::Device, off: bool) {
        if let Some(emu) = Option::as_mut(&mut self.emu.lock()) {
            emu.pf_pasid(vf, off, &self.error);
        }
    }

    /// Latches PRI Status events (`PCI_PRI_STATUS_RF`, `PCI_PRI_STATUS_UPRGI`) that the PF's
    /// provider attributes to this VF: [`ENODEV`] if the open presents no PRI.
    pub(crate) fn pri_event(&self, status: u16) -> Result {
        let mut guard = self.emu.lock();
        let emu = Option::as_mut(&mut guard).ok_or(ENODEV)?;
        if emu.emu.offset(EmulatedCap::Pri).is_none() {
            return Err(ENODEV);
        }
        emu.emu.set_pri_status_events(status);
        Ok(())
    }

    /// Writes the emulated registers as the open's user reads them now (the VF's sysfs
    /// `emulated`): a line per emulated capability, named after the kernel's register
    /// macros, e.g.
    ///
    /// ```text
    /// PASID 0x1a0 PCI_PASID_CAP 0x0106 PCI_PASID_CTRL 0x0001
    /// PRI 0x1a8 PCI_PRI_CTRL 0x0001 PCI_PRI_STATUS 0x8000 PCI_PRI_MAX_REQ 0x00000100 PCI_PRI_ALLOC_REQ 0x00000010
    /// ```
    ///
    /// `none` if nothing is emulated. A VMM's `VFIO_PASID_VF_SET_HIDE` does not change it:
    /// the registers stay, unseen.
    pub(crate) fn show_emulated(&self, out: &mut SysfsBuf<'_>) -> Result {
        let guard = self.emu.lock();
        let emu = guard.as_ref().map(|vf| &vf.emu);
        let reg = |cap, offset| {
            emu.and_then(|e| e.regs(cap))
                .and_then(|r| r.reg(offset))
                .unwrap_or(0)
        };
        let mut none = true;
        if let Some(at) = emu.and_then(|e| e.offset(EmulatedCap::Pasid)) {
            none = false;
            writeln!(
                out,
                "PASID {at:#05x} PCI_PASID_CAP {:#06x} PCI_PASID_CTRL {:#06x}",
                reg(EmulatedCap::Pasid, PCI_PASID_CAP),
                reg(EmulatedCap::Pasid, PCI_PASID_CTRL),
            )
            .map_err(|_| EOVERFLOW)?;
        }
        if let Some(at) = emu.and_then(|e| e.offset(EmulatedCap::Pri)) {
            none = false;
            writeln!(
                out,
                "PRI {at:#05x} PCI_PRI_CTRL {:#06x} PCI_PRI_STATUS {:#06x} \
                 PCI_PRI_MAX_REQ {:#010x} PCI_PRI_ALLOC_REQ {:#010x}",
                reg(EmulatedCap::Pri, PCI_PRI_CTRL),
                reg(EmulatedCap::Pri, PCI_PRI_STATUS),
                reg(EmulatedCap::Pri, PCI_PRI_MAX_REQ),
                reg(EmulatedCap::Pri, PCI_PRI_ALLOC_REQ),
            )
            .map_err(|_| EOVERFLOW)?;
        }
        if none {
            writeln!(out, "none").map_err(|_| EOVERFLOW)?;
        }
        Ok(())
    }
}

impl OpenVf {
    /// The state of an open: `shared`, with the emulation it was given if any, its
    /// registration with the PF, and whether the PF has a PASID capability that the open
    /// does not present.
    pub(crate) fn new(
        shared: Arc<OpenShared>,
        reg: Option<Registration>,
        pasid_withheld: bool,
    ) -> Self {
        let span = AtomicU32::new(span_of(shared.emu.lock().as_ref().map(|vf| &vf.emu)));
        Self {
            reg,
            span,
            hidden: AtomicBool::new(false),
            shared,
            pasid_withheld,
        }
    }

    /// The registration, if the open is a PASID user of its PF.
    fn pasid_user(&self) -> Option<&Registration> {
        self.reg.as_ref().filter(|reg| reg.holds_pasid())
    }

    /// Whether the PF has a PASID capability that the open does not present.
    pub(crate) fn pasid_withheld(&self) -> bool {
        self.pasid_withheld
    }

    /// Whether the open holds its PF's PASID: `None` if it is no PASID user, else whether
    /// the PF's PASID is enabled now.
    pub(crate) fn pf_pasid_held(&self) -> Option<bool> {
        let reg = self.pasid_user()?;
        Some(reg.pf().pasid_enabled())
    }

    /// Where the open presents the emulated capabilities, and the PASID Capability register
    /// it presents.
    pub(crate) fn exposed(&self) -> Exposed {
        let guard = self.shared.emu.lock();
        let Some(vf) = guard.as_ref() else {
            return Exposed::default();
        };
        Exposed {
            pasid_offset: vf.emu.offset(EmulatedCap::Pasid),
            pasid_cap: vf.emu.pasid_cap_presented(),
            pri_offset: vf.emu.offset(EmulatedCap::Pri),
        }
    }

    /// Whether `[pos, pos + len)` overlaps the span of the emulated bytes.
    pub(crate) fn in_span(&self, pos: u64, len: usize) -> bool {
        let Some(end) = u64::try_from(len).ok().and_then(|len| pos.checked_add(len)) else {
            return true; // Let `classify` reject it.
        };
        // Acquire: pairs with the release in `replace_emulation`, after the emulation that
        // the new span describes is in place.
        let span = self.span.load(Ordering::Acquire);
        pos < u64::from(span & 0xffff) && end > u64::from(span >> 16)
    }

    /// Whether a VMM's SET hid the emulated capabilities.
    pub(crate) fn hidden(&self) -> bool {
        self.hidden.load(Ordering::Relaxed)
    }

    /// Replaces the emulation with what `place` makes of the current one (its inputs),
    /// `hide` says if that hides it: for a VMM's SET. [`EBUSY`] once the user wrote an
    /// emulated byte (the emulated state is in use); `place`'s error leaves everything
    /// unchanged. With nothing emulated, `place` is not called, and only hiding succeeds.
    pub(crate) fn replace_emulation(
        &self,
        hide: bool,
        place: impl FnOnce(&Emulation, &PlaceInputs) -> Result<Emulation>,
    ) -> Result {
        let mut guard = self.shared.emu.lock();
        let Some(vf) = Option::as_mut(&mut guard) else {
            // Nothing to place; a refused SET changes nothing.
            if !hide {
                return Err(EINVAL);
            }
            self.hidden.store(true, Ordering::Relaxed);
            return Ok(());
        };
        if vf.written {
            return Err(EBUSY);
        }
        vf.emu = place(&vf.emu, &vf.inputs)?;
        // The new registers know what the old ones knew about the PF's PASID; the user was
        // told already, if it went off.
        if let Some(reg) = self.pasid_user() {
            vf.emu.set_pf_pasid_off(!reg.pf().pasid_enabled());
        }
        self.hidden.store(hide, Ordering::Relaxed);
        // Release: the new emulation is in place before an access sees the new span.
        self.span.store(span_of(Some(&vf.emu)), Ordering::Release);
        Ok(())
    }

    /// Locks the emulation for an access to `[pos, pos + len)`: the guard, and how the access
    /// relates to the emulated bytes. For an access that touches them, first brings the
    /// emulation up to date with the PF's PASID, since nothing tells the driver when it goes
    /// off unless the PF's driver is a provider ([`crate::pf::pasid_changed`]).
    fn lock_for(&self, pos: u64, len: usize) -> (MutexGuard<'_, Option<VfEmulation>>, Access) {
        let mut guard = self.shared.emu.lock();
        let access = guard
            .as_ref()
            .map_or(Access::Real, |vf| vf.emu.classify(pos, len));
        if access != Access::Real {
            if let (Some(reg), Some(vf)) = (self.pasid_user(), Option::as_mut(&mut guard)) {
                vf.pf_pasid(reg.vf(), !reg.pf().pasid_enabled(), &self.shared.error);
            }
        }
        (guard, access)
    }

    /// Checks the PF's PASID if the open presents it, as [`OpenVf::lock_for`] does. Returns
    /// whether it is off.
    pub(crate) fn check_pf_pasid(&self) -> bool {
        let Some(reg) = self.pasid_user() else {
            return false;
        };
        let off = !reg.pf().pasid_enabled();
        self.shared.pf_pasid(reg.vf(), off);
        off
    }
}

/// A reset of the function (FLR, `VFIO_DEVICE_RESET`, bus reset) resets the emulated
/// registers too, as it would those of a real capability, if it happened.
///
/// The PCI core calls this after every attempt, whether or not it reset the function
/// (`pci_dev_restore()` is not told the result). A function that does not answer config
/// reads afterwards (its Command and Status dword reads all ones, the test
/// `pci_dev_config_accessible()` makes before an FLR) was not reset by this attempt, or did
/// not come back from it: its emulated registers keep their values, as its own registers do
/// for its user. An attempt that fails with the function still answering (the IOMMU could
/// not be quiesced, `pci_dev_reset_iommu_prepare()`) cannot be told apart and resets them.
pub(crate) fn reset_done(pdev: &pci::Device<device::Bound>, open: &OpenVf) {
    let mut guard = open.shared.emu.lock();
    let Some(vf) = Option::as_mut(&mut guard) else {
        return;
    };
    let answers = pdev
        .config_space()
        .try_read32(PCI_COMMAND)
        .is_ok_and(|dword| dword != u32::MAX);
    if answers {
        vf.emu.reset();
    } else if !vf.logged_unreachable {
        vf.logged_unreachable = true;
        dev_warn!(
            pdev,
            "the function does not answer after a reset: emulated PASID/PRI registers keep their values (logged once per open)\n"
        );
    }
}

/// Reads `buf.len()` bytes of config space at `pos`: the real bytes through vfio-pci, then
/// the emulated bytes patched in.
pub(crate) fn read(
    dev: &Device<PasidVf, Read>,
    open: &OpenVf,
    buf: &UserBuf,
    pos: u64,
) -> Result<usize> {
    let (guard, access) = open.lock_for(pos, buf.len());
    // The common case, a register of an emulated capability: from memory, under this one
    // lock, with one copy to userspace.
    if access == Access::Emulated && buf.len() <= CHUNK {
        let mut bytes = [0u8; CHUNK];
        let data = bytes.get_mut(..buf.len()).ok_or(EINVAL)?;
        if let Some(vf) = guard.as_ref() {
            vf.emu.read(config_pos(pos)?, data);
        }
        drop(guard);
        buf.write_all(data)?;
        return Ok(buf.len());
    }
    drop(guard);
    // The real bytes of the whole range in one call, as vfio-pci alone would read them.
    if access != Access::Emulated {
        dev.core_read_config(buf, pos)?;
        if access == Access::Real {
            return Ok(buf.len());
        }
    }
    // Then the parts that hold emulated bytes are patched.
    buf.for_each_aligned(pos, CHUNK, |pos, part| {
        if !open.in_span(pos, part.len()) {
            return Ok(());
        }
        let mut bytes = [0u8; CHUNK];
        let data = bytes.get_mut(..part.len()).ok_or(EINVAL)?;
        if access == Access::Mixed {
            part.read_all(data)?;
        }
        if let Some(vf) = open.shared.emu.lock().as_ref() {
            vf.emu.read(config_pos(pos)?, data);
        }
        part.write_all(data)
    })?;
    Ok(buf.len())
}

/// Writes `buf` to config space at `pos`: the emulated bytes to the register model, the
/// others through vfio-pci.
pub(crate) fn write(
    dev: &Device<PasidVf, Write>,
    open: &OpenVf,
    buf: &UserBuf,
    pos: u64,
) -> Result<usize> {
    // What the user wrote, copied once before the lock is taken (a fault in userspace memory
    // takes mmap_lock, which must not nest inside it), if it is small enough to be handled in
    // one part: every size a VMM uses. A copy that fails matters only if the access touches
    // emulated bytes: vfio-pci answers the others as it always does.
    let mut bytes = [0u8; CHUNK];
    let small = bytes
        .get_mut(..buf.len())
        .map(|data| buf.read_all(data).map(|()| data));
    let (mut guard, access) = open.lock_for(pos, buf.len());
    if access == Access::Real {
        drop(guard);
        return dev.core_write_config(buf, pos);
    }
    if let Some(data) = small {
        let data = data?;
        let effects = write_emulated(dev, &mut guard, pos, data)?;
        // The guard is dropped before vfio-pci is called.
        drop(guard);
        return forward_real(dev, buf, pos, effects);
    }
    drop(guard);
    buf.for_each_aligned(pos, CHUNK, |pos, part| {
        if !open.in_span(pos, part.len()) {
            return dev.core_write_config(part, pos).map(|_| ());
        }
        let mut bytes = [0u8; CHUNK];
        let data = bytes.get_mut(..part.len()).ok_or(EINVAL)?;
        part.read_all(data)?;
        let effects = write_emulated(dev, &mut open.shared.emu.lock(), pos, data)?;
        forward_real(dev, part, pos, effects).map(|_| ())
    })?;
    Ok(buf.len())
}

/// Writes `data`, at `pos`, to the emulated registers in `emu`: which parts go to vfio-pci.
fn write_emulated(
    dev: &Device<PasidVf, Write>,
    emu: &mut Option<VfEmulation>,
    pos: u64,
    data: &[u8],
) -> Result<Option<WriteEffects>> {
    let at = config_pos(pos)?;
    Ok(Option::as_mut(emu).map(|vf| {
        vf.written = true;
        let effects = vf.emu.write(at, data);
        log_write_effects(dev.pdev(), vf, pos, &effects);
        effects
    }))
}

/// Writes the parts of `buf` (at `pos`) that `effects` says are not emulated through
/// vfio-pci; all of it if nothing is emulated. Returns the size of `buf`.
fn forward_real(
    dev: &Device<PasidVf, Write>,
    buf: &UserBuf,
    pos: u64,
    effects: Option<WriteEffects>,
) -> Result<usize> {
    let Some(effects) = effects else {
        return dev.core_write_config(buf, pos);
    };
    for real in effects.real.iter() {
        let real_pos = pos + u64::try_from(real.start)?;
        dev.core_write_config(&buf.part(real)?, real_pos)?;
    }
    Ok(buf.len())
}

/// A config space position that the emulation classified as touching emulated bytes, so
/// it is inside config space.
fn config_pos(pos: u64) -> Result<u16> {
    u16::try_from(pos).map_err(|_| EINVAL)
}

/// Logs, once per open each, a write that the emulated registers ignored in part.
fn log_write_effects(
    pdev: &pci::Device<device::Bound>,
    vf: &mut VfEmulation,
    pos: u64,
    effects: &WriteEffects,
) {
    let fx = &effects.regs;
    if fx.pri_reset_ignored_while_enabled && !vf.logged_pri_reset {
        vf.logged_pri_reset = true;
        dev_info!(
            pdev,
            "emulated PRI: Reset written while Enable stays set (undefined by PCIe); ignored (logged once per open)\n"
        );
    }
    if (fx.wrote_ro_bits || fx.wrote_reserved_bits) && !vf.logged_ignored_bits {
        vf.logged_ignored_bits = true;
        dev_info!(
            pdev,
            "write at {:#05x} to read-only or reserved bits of an emulated capability ignored (logged once per open)\n",
            pos
        );
    }
}
