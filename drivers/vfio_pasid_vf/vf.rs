// SPDX-License-Identifier: GPL-2.0

//! Which functions the driver takes, and the emulation of their PASID and PRI capabilities.
//!
//! When the device is opened, the PF's PASID and Page Request capabilities are read and the
//! emulation core ([`crate::emu`]) places emulated copies in the VF's config space as VFIO
//! shows it. Config region accesses that touch them are split: emulated bytes come from the
//! per-VF register model, the others from vfio-pci. Nothing written to an emulated byte
//! reaches the VF.

use core::{
    cmp::min,
    fmt::Write, //
};

use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Mutex,
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::bindings;
use crate::emu::{
    place,
    Access,
    EmulatedCap,
    Emulation,
    HostLimits,
    PfPasid,
    PfPri,
    Placement,
    Request,
    WriteEffects,
    PCI_CFG_SPACE_EXP_SIZE,
    PCI_CFG_SPACE_SIZE,
    PCI_EXT_CAP_ID_PASID,
    PCI_EXT_CAP_ID_PRI,
    PRI_CTRL,
    PRI_STATUS,
    PRI_STATUS_RF,
    PRI_STATUS_UPRGI, //
};
use crate::vfio_pci_core::{
    sysfs_show,
    sysfs_store,
    Device,
    Driver,
    PciDev,
    SysfsBuf,
    VirtConfig, //
};

/// The variant driver for SR-IOV Virtual Functions.
pub(crate) struct PasidVf;

/// Per-VF state.
#[pin_data]
pub(crate) struct VfState {
    /// What the administrator set in sysfs, and what the last open did with it.
    #[pin]
    settings: Mutex<Settings>,

    /// [`Emulation::span`] of `emu` as `start << 16 | end`; 0 when nothing is emulated.
    /// Read without the lock on every config access: an access outside it goes straight to
    /// vfio-pci. Set under the `emu` lock, before the emulation exists and after it is gone.
    span: Atomic<u32>,
    /// The emulation of the open device; `None` while closed or when nothing is emulated.
    ///
    /// Never held across a call into vfio-pci: vfio-pci resets the function with its own
    /// locks held, and the reset ends in [`PasidVf::reset_done`], which takes this lock.
    #[pin]
    emu: Mutex<Option<VfEmulation>>,
}

/// The sysfs side of a VF (`/sys/bus/pci/devices/<VF>/vfio_pasid_vf/`).
#[derive(Default)]
struct Settings {
    /// `pasid_offset`: where the administrator wants the PASID capability; `None`: automatic.
    pasid_offset: Option<u16>,
    /// `pri_offset`: likewise for the PRI capability.
    pri_offset: Option<u16>,
    /// `placement`: where the last open put the capabilities, and why.
    placement: Option<Placement>,
}

/// The emulation of one open VF, with what has been said about it in dmesg.
struct VfEmulation {
    emu: Emulation,
    /// Offset of the PF's Page Request Control and Status dword, if the VF presents PRI.
    pf_pri_ctrl: Option<u16>,
    /// The PF's Response Failure and Unexpected PRG Index bits when last read.
    pf_pri_events: u16,
    /// A write to read-only or reserved bits has been logged since the device was opened.
    logged_ignored_bits: bool,
}

impl VfEmulation {
    /// Whether a read of `[pos, pos + len)` covers the VF's Page Request Status register.
    fn reads_pri_status(&self, pos: u16, len: usize) -> bool {
        let Some(status) = self
            .emu
            .offset(EmulatedCap::Pri)
            .map(|pri| pri + PRI_STATUS)
        else {
            return false;
        };
        let end = usize::from(pos).saturating_add(len);
        usize::from(pos) < usize::from(status) + 2 && end > usize::from(status)
    }

    /// Latches, in the VF's Page Request Status, the Response Failure and Unexpected PRG
    /// Index events that the PF's status shows since the last look.
    ///
    /// The Page Request Interface is the PF's, shared by its VFs (PCIe r6.0, 9.3.7.11): its
    /// status flags report failures of the shared interface. Each VF sees a rising edge of
    /// a flag as an event and latches it in its own RW1C bit, which its user clears without
    /// touching the PF.
    fn poll_pf_pri_events(&mut self, pdev: &PciDev) {
        let Some(flags) = self.pf_pri_flags(pdev) else {
            return;
        };
        let rising = flags & !self.pf_pri_events;
        self.pf_pri_events = flags;
        if rising != 0 {
            self.emu.set_pri_status_events(rising);
        }
    }

    /// The PF's Response Failure and Unexpected PRG Index bits, if the VF presents PRI.
    fn pf_pri_flags(&self, pdev: &PciDev) -> Option<u16> {
        let dword = pdev.physfn()?.read_config_dword(self.pf_pri_ctrl?).ok()?;
        // Page Request Status is the upper half of the dword at Page Request Control.
        Some((dword >> 16) as u16 & (PRI_STATUS_RF | PRI_STATUS_UPRGI))
    }
}

/// Accesses that touch emulated bytes are handled in chunks of at most this many bytes,
/// aligned to it: the largest access VFIO users make (a qword) is one chunk.
const CHUNK: usize = 8;

impl Driver for PasidVf {
    const NAME: &'static CStr = c"vfio-pasid-vf";

    type Data = VfState;

    /// Takes only SR-IOV VFs: the PASID and PRI capabilities it presents are the PF's.
    fn probe(pdev: &PciDev) -> Result {
        if pdev.is_physfn() {
            dev_err!(
                pdev,
                "refusing an SR-IOV PF (-ENODEV); bind one of its VFs, or vfio-pci for the PF\n"
            );
            return Err(ENODEV);
        }
        if !pdev.is_virtfn() {
            dev_err!(
                pdev,
                "refusing a function that is not an SR-IOV VF (-ENODEV); use vfio-pci\n"
            );
            return Err(ENODEV);
        }
        Ok(())
    }

    fn init_data(_pdev: &PciDev) -> impl PinInit<Self::Data, Error> {
        try_pin_init!(VfState {
            settings <- new_mutex!(Settings::default()),
            span: Atomic::new(0),
            emu <- new_mutex!(None),
        })
    }

    fn open_device(dev: &Device<Self>, vconfig: &VirtConfig<'_>) -> Result {
        let emu = build_emulation(dev, vconfig).map(|(emu, pf_pri)| {
            let mut vf = VfEmulation {
                pf_pri_ctrl: emu
                    .offset(EmulatedCap::Pri)
                    .and(pf_pri.map(|pri| pri.offset + PRI_CTRL)),
                emu,
                pf_pri_events: 0,
                logged_ignored_bits: false,
            };
            // Flags the PF shows at open are history, not events for this user.
            vf.pf_pri_events = vf.pf_pri_flags(dev.pdev()).unwrap_or(0);
            vf
        });
        let span = emu
            .as_ref()
            .and_then(|vf| vf.emu.span())
            .map_or(0, |span| u32::from(span.start) << 16 | u32::from(span.end));
        let mut guard = dev.data().emu.lock();
        *guard = emu;
        dev.data().span.store(span, Relaxed);
        Ok(())
    }

    fn close_device(dev: &Device<Self>) {
        let mut guard = dev.data().emu.lock();
        dev.data().span.store(0, Relaxed);
        *guard = None;
    }

    /// A reset of the function (FLR, `VFIO_DEVICE_RESET`, bus reset) resets the emulated
    /// registers too, as it would those of a real capability.
    fn reset_done(dev: &Device<Self>) {
        if let Some(vf) = Option::as_mut(&mut dev.data().emu.lock()) {
            vf.emu.reset();
        }
    }

    /// Only accesses that overlap the span of the emulated bytes; the others go straight
    /// to vfio-pci.
    fn config_intercepts(dev: &Device<Self>, pos: u64, count: usize) -> bool {
        dev.data().in_span(pos, count)
    }

    fn read_config(dev: &Device<Self>, buf: UserPtr, count: usize, pos: u64) -> Result<usize> {
        let access = classify(dev, pos, count);
        // The real bytes of the whole range in one call, as vfio-pci alone would read them.
        if access != Access::Emulated {
            dev.core_read_config(buf, count, pos)?;
            if access == Access::Real {
                return Ok(count);
            }
        }
        // Then the chunks that hold emulated bytes are patched.
        for_each_chunk(pos, count, |pos, off, len| {
            if !dev.data().in_span(pos, len) {
                return Ok(());
            }
            let ubuf = buf.wrapping_byte_add(off);
            let mut bytes = [0u8; CHUNK];
            let chunk = bytes.get_mut(..len).ok_or(EINVAL)?;
            if access == Access::Mixed {
                UserSlice::new(ubuf, len).reader().read_slice(chunk)?;
            }
            if let Some(vf) = Option::as_mut(&mut dev.data().emu.lock()) {
                let pos = config_pos(pos)?;
                if vf.reads_pri_status(pos, len) {
                    vf.poll_pf_pri_events(dev.pdev());
                }
                vf.emu.read(pos, chunk);
            }
            UserSlice::new(ubuf, len).writer().write_slice(chunk)
        })?;
        Ok(count)
    }

    fn dev_groups() -> *const *const bindings::attribute_group {
        (&raw const bindings::vpv_dev_groups).cast()
    }

    fn write_config(dev: &Device<Self>, buf: UserPtr, count: usize, pos: u64) -> Result<usize> {
        if classify(dev, pos, count) == Access::Real {
            return dev.core_write_config(buf, count, pos);
        }
        for_each_chunk(pos, count, |pos, off, len| {
            let ubuf = buf.wrapping_byte_add(off);
            if !dev.data().in_span(pos, len) {
                return dev.core_write_config(ubuf, len, pos).map(|_| ());
            }
            let mut bytes = [0u8; CHUNK];
            let chunk = bytes.get_mut(..len).ok_or(EINVAL)?;
            UserSlice::new(ubuf, len).reader().read_slice(chunk)?;
            let effects = match Option::as_mut(&mut dev.data().emu.lock()) {
                Some(vf) => {
                    let effects = vf.emu.write(config_pos(pos)?, chunk);
                    log_write_effects(dev.pdev(), vf, pos, &effects);
                    effects
                }
                // Closed under us: there is nothing to emulate any more.
                None => return dev.core_write_config(ubuf, len, pos).map(|_| ()),
            };
            // Only the bytes that are not emulated go to vfio-pci, after the lock is dropped.
            for part in effects.real.iter() {
                let at = pos + u64::try_from(part.start)?;
                dev.core_write_config(ubuf.wrapping_byte_add(part.start), part.len(), at)?;
            }
            Ok(())
        })?;
        Ok(count)
    }
}

impl VfState {
    /// Whether `[pos, pos + len)` overlaps the span of the emulated bytes.
    fn in_span(&self, pos: u64, len: usize) -> bool {
        let span = self.span.load(Relaxed);
        let (start, end) = (u64::from(span >> 16), u64::from(span & 0xffff));
        let Some(last) = u64::try_from(len).ok().and_then(|len| pos.checked_add(len)) else {
            return true; // Let `classify` reject it.
        };
        start < end && pos < end && last > start
    }
}

/// How an access relates to the emulated bytes of `dev`.
fn classify(dev: &Device<PasidVf>, pos: u64, len: usize) -> Access {
    match dev.data().emu.lock().as_ref() {
        Some(vf) => vf.emu.classify(pos, len),
        None => Access::Real,
    }
}

/// Calls `f(pos, offset into the access, len)` for each [`CHUNK`]-aligned piece of
/// `[pos, pos + count)`.
fn for_each_chunk(
    pos: u64,
    count: usize,
    mut f: impl FnMut(u64, usize, usize) -> Result,
) -> Result {
    let mut off = 0;
    while off < count {
        let at = pos.checked_add(u64::try_from(off)?).ok_or(EINVAL)?;
        // `at % CHUNK` is below `CHUNK`, so this cannot underflow.
        let to_boundary = CHUNK - usize::try_from(at % CHUNK as u64)?;
        let len = min(count - off, to_boundary);
        f(at, off, len)?;
        off += len;
    }
    Ok(())
}

/// A config space position that the emulation classified as touching emulated bytes, so
/// it is inside config space.
fn config_pos(pos: u64) -> Result<u16> {
    u16::try_from(pos).map_err(|_| EINVAL)
}

/// Logs, once per open, a write that the emulated registers ignored in part.
fn log_write_effects(pdev: &PciDev, vf: &mut VfEmulation, pos: u64, effects: &WriteEffects) {
    let fx = &effects.regs;
    if fx.pri_reset_ignored_while_enabled {
        dev_warn!(
            pdev,
            "emulated PRI: Reset written while Enable stays set (undefined by PCIe); ignored\n"
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

/// `show` of the sysfs attributes (drivers/vfio_pasid_vf/sysfs.c).
#[no_mangle]
extern "C" fn vpv_attr_show(dev: *mut bindings::device, attr: c_uint, buf: *mut c_char) -> isize {
    let show = |dev: &Device<PasidVf>, out: &mut SysfsBuf<'_>| -> Result {
        let settings = dev.data().settings.lock();
        let mut offset = |o: Option<u16>| match o {
            Some(o) => writeln!(out, "{o:#05x}"),
            None => writeln!(out, "auto"),
        };
        match attr {
            bindings::vpv_attr_VPV_ATTR_PASID_OFFSET => offset(settings.pasid_offset),
            bindings::vpv_attr_VPV_ATTR_PRI_OFFSET => offset(settings.pri_offset),
            bindings::vpv_attr_VPV_ATTR_PLACEMENT => match &settings.placement {
                Some(p) => writeln!(out, "{p}"),
                None => writeln!(out, "none"),
            },
            _ => return Err(EINVAL),
        }
        .map_err(|_| EOVERFLOW)
    };
    // SAFETY: Called by the show callbacks of `vpv_dev_groups`, which are `PasidVf`'s
    // `dev_groups`, with their arguments.
    unsafe { sysfs_show(dev, buf, show) }
}

/// `store` of the sysfs attributes (drivers/vfio_pasid_vf/sysfs.c).
#[no_mangle]
extern "C" fn vpv_attr_store(
    dev: *mut bindings::device,
    attr: c_uint,
    buf: *const c_char,
    count: usize,
) -> isize {
    let store = |dev: &Device<PasidVf>, input: &[u8]| -> Result {
        let name = if attr == bindings::vpv_attr_VPV_ATTR_PASID_OFFSET {
            "pasid_offset"
        } else {
            "pri_offset"
        };
        let offset = parse_offset(input).inspect_err(|_| {
            dev_err!(
                dev.pdev(),
                "{}: want 'auto' or a dword-aligned offset in 0x100..0xffc, e.g. 0x200 (-EINVAL)\n",
                name
            )
        })?;
        let mut settings = dev.data().settings.lock();
        match attr {
            bindings::vpv_attr_VPV_ATTR_PASID_OFFSET => settings.pasid_offset = offset,
            bindings::vpv_attr_VPV_ATTR_PRI_OFFSET => settings.pri_offset = offset,
            _ => return Err(EINVAL),
        }
        Ok(())
    };
    // SAFETY: Called by the store callbacks of `vpv_dev_groups`, which are `PasidVf`'s
    // `dev_groups`, with their arguments.
    unsafe { sysfs_store(dev, buf, count, store) }
}

/// Parses what an administrator writes to `pasid_offset` or `pri_offset`: `auto`, or an
/// offset in extended config space (hex with `0x`, or decimal) that is dword aligned. Whether
/// the capability fits there is decided when the device is opened.
fn parse_offset(input: &[u8]) -> Result<Option<u16>> {
    let text = core::str::from_utf8(input).map_err(|_| EINVAL)?.trim();
    if text == "auto" {
        return Ok(None);
    }
    let offset = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => text.parse::<u16>(),
    }
    .map_err(|_| EINVAL)?;
    if offset % 4 != 0 || !(PCI_CFG_SPACE_SIZE..PCI_CFG_SPACE_EXP_SIZE).contains(&offset) {
        return Err(EINVAL);
    }
    Ok(Some(offset))
}

/// Prints a value of the kernel-free emulation core, which implements `core::fmt::Display`,
/// through the kernel's `fmt!` (which wants `kernel::fmt::Display`).
struct Show<T>(T);

impl<T: core::fmt::Display> kernel::fmt::Display for Show<T> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// Reads the PF's PASID capability, if it has one.
fn pf_pasid(pf: &PciDev) -> Option<PfPasid> {
    let offset = pf.find_ext_capability(PCI_EXT_CAP_ID_PASID)?;
    let header = pf.read_config_dword(offset).ok()?;
    let regs = pf.read_config_dword(offset + 4).ok()?;
    Some(PfPasid {
        offset,
        version: ((header >> 16) & 0xf) as u8,
        cap: (regs & 0xffff) as u16,
        ctrl: (regs >> 16) as u16,
    })
}

/// Reads the PF's Page Request capability, if it has one.
fn pf_pri(pf: &PciDev) -> Option<PfPri> {
    let offset = pf.find_ext_capability(PCI_EXT_CAP_ID_PRI)?;
    let header = pf.read_config_dword(offset).ok()?;
    let regs = pf.read_config_dword(offset + 4).ok()?;
    let capacity = pf.read_config_dword(offset + 8).ok()?;
    Some(PfPri {
        offset,
        version: ((header >> 16) & 0xf) as u8,
        status: (regs >> 16) as u16,
        capacity,
    })
}

/// Builds the emulation of an opened VF from its PF; `None` if there is nothing to emulate,
/// in which case the VF behaves exactly as under vfio-pci.
fn build_emulation(
    dev: &Device<PasidVf>,
    vconfig: &VirtConfig<'_>,
) -> Option<(Emulation, Option<PfPri>)> {
    let pdev = dev.pdev();
    let mut settings = dev.data().settings.lock();
    // What the previous open did: dmesg says it again only if it changes.
    let previous = settings.placement.take();
    if !crate::module_parameters::emulate.value() {
        return None;
    }
    let pf = pdev.physfn()?;
    let pf_pri = pf_pri(pf);
    let mut pf_pasid = pf_pasid(pf);
    if pf_pasid.is_none() && pf_pri.is_none() {
        return None;
    }
    if pdev.cfg_size() < PCI_CFG_SPACE_EXP_SIZE {
        dev_info!(
            pdev,
            "no extended config space: PASID and PRI of the PF not presented\n"
        );
        return None;
    }

    // A VF can use PASIDs only while its PF has PASID enabled (pci_enable_pasid()), and
    // only as many as the IOMMU gives it (min of the PF's width and the IOMMU's).
    let max_pasids = pdev.iommu_max_pasids();
    if pf_pasid.is_some() && !pf.pasid_enabled() {
        dev_info!(
            pdev,
            "the PF has a PASID capability but the host has not enabled it: PASID not presented\n"
        );
        pf_pasid = None;
    } else if pf_pasid.is_some() && max_pasids == 0 {
        dev_info!(
            pdev,
            "the IOMMU gives this VF no PASIDs: PASID not presented\n"
        );
        pf_pasid = None;
    }
    let limits = HostLimits {
        max_pasid_width: max_pasids.checked_ilog2().unwrap_or(0) as u8,
    };

    let raw = |off: u16| pdev.read_config_dword(off).unwrap_or(u32::MAX);
    let virt = |off: u16| vconfig.dword(off).unwrap_or(0);
    let request = |admin: Option<u16>, pf_offset: u16| Request {
        admin,
        advised: None,
        pf_offset,
    };
    let placement = place(
        &raw,
        &virt,
        pf_pasid.map(|p| request(settings.pasid_offset, p.offset)),
        pf_pri.map(|p| request(settings.pri_offset, p.offset)),
    );
    let changed = previous != Some(placement);
    settings.placement = Some(placement);
    drop(settings);
    if changed {
        dev_info!(pdev, "emulated capabilities: {}\n", Show(&placement));
    }

    let emu = Emulation::new(placement, pf_pasid, pf_pri, limits);
    if let (true, Some(cap)) = (changed, emu.pasid_cap_presented()) {
        dev_info!(
            pdev,
            "PASID Capability presented as {:#06x} (PF {:#06x}, IOMMU max PASIDs {})\n",
            cap,
            pf_pasid.map_or(0, |p| p.cap),
            max_pasids
        );
    }
    if emu.offset(EmulatedCap::Pasid).is_none() && emu.offset(EmulatedCap::Pri).is_none() {
        return None;
    }
    Some((emu, pf_pri))
}
