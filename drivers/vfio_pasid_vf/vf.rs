// SPDX-License-Identifier: GPL-2.0

//! Which functions the driver takes, and the emulation of their PASID and PRI capabilities.
//!
//! When the device is opened, the PF's PASID and Page Request capabilities are read and the
//! emulation core ([`crate::emu`]) places emulated copies in the VF's config space as VFIO
//! shows it. Config region accesses that touch them are split: emulated bytes come from the
//! per-VF register model, the others from vfio-pci. Nothing written to an emulated byte
//! reaches the VF.
//!
//! Everything a VFIO user can make the driver log is logged at most once per open, or only
//! when it differs from what the previous open logged.

use core::{
    cmp::min,
    fmt::{
        self,
        Write, //
    },
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
    PCI_EXT_CAP_ID_PRI, //
};
use crate::offsets::{
    self,
    AdminOffsets, //
};
use crate::params;
use crate::vfio_pci_core::{
    sysfs_show,
    CoreParams,
    Device,
    Driver,
    PciDev,
    SysfsBuf,
    VirtConfig, //
};

/// `PCI_COMMAND`: the Command register, with Status in the upper half of its dword.
const PCI_COMMAND: u16 = 0x04;

/// `PCI_VENDOR_ID_INTEL`.
const PCI_VENDOR_ID_INTEL: u16 = 0x8086;

/// vfio-pci's device denylist (`vfio_pci_dev_in_denylist()`, drivers/vfio/pci/vfio_pci.c):
/// functions "with known errata that may lead to exploitable stability or security issues
/// when accessed by untrusted users". All Intel: QAT C3XXX, C62X and DH895XCC and their
/// VFs, DSA and IAX on Sapphire Rapids.
const DENYLIST: [(u16, u16); 8] = [
    (PCI_VENDOR_ID_INTEL, 0x19e2), // PCI_DEVICE_ID_INTEL_QAT_C3XXX
    (PCI_VENDOR_ID_INTEL, 0x19e3), // PCI_DEVICE_ID_INTEL_QAT_C3XXX_VF
    (PCI_VENDOR_ID_INTEL, 0x37c8), // PCI_DEVICE_ID_INTEL_QAT_C62X
    (PCI_VENDOR_ID_INTEL, 0x37c9), // PCI_DEVICE_ID_INTEL_QAT_C62X_VF
    (PCI_VENDOR_ID_INTEL, 0x0435), // PCI_DEVICE_ID_INTEL_QAT_DH895XCC
    (PCI_VENDOR_ID_INTEL, 0x0443), // PCI_DEVICE_ID_INTEL_QAT_DH895XCC_VF
    (PCI_VENDOR_ID_INTEL, 0x0b25), // PCI_DEVICE_ID_INTEL_DSA_SPR0
    (PCI_VENDOR_ID_INTEL, 0x0cfe), // PCI_DEVICE_ID_INTEL_IAX_SPR0
];

/// The variant driver for SR-IOV Virtual Functions.
pub(crate) struct PasidVf;

/// Per-VF state.
#[pin_data]
pub(crate) struct VfState {
    /// The VF's extended config space (0x100..0x1000, one entry per dword) as it read when
    /// the VF was bound, before any reset; empty without extended config space.
    ///
    /// Placement happens at open, right after vfio-pci's FLR, when a device-specific
    /// register that no capability describes may read 0: a dword that read non-zero here
    /// is never used for an emulated capability either.
    bind_sample: KVec<u32>,

    /// What the last open presented and with which administrator's offsets.
    #[pin]
    report: Mutex<Report>,

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

/// What an open did, for sysfs `placement` and for logging only what changes.
#[derive(Default)]
struct Report {
    /// What the last open presented; `None` before the first open.
    presented: Option<Presented>,
    /// The administrator's offsets the last open used.
    admin: AdminOffsets,
}

/// Why a capability of the PF is not presented to its VF, before placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Withheld {
    /// The PF has a PASID capability but the host has not enabled it (`pci_enable_pasid()`):
    /// a VF can use PASIDs only while its PF has PASID enabled.
    PasidNotEnabled,
    /// The IOMMU gives the VF no PASIDs (`dev->iommu->max_pasids` is 0).
    NoIommuPasids,
    /// The PF has a Page Request capability but the host has not enabled it: a VF's page
    /// requests work only while its PF has PRI enabled (`pci_enable_pri()` on a VF), which
    /// an IOMMU driver does only for a PF whose page requests it handles.
    PriNotEnabled,
}

impl fmt::Display for Withheld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PasidNotEnabled => {
                "PASID not presented: the host has not enabled PASID on the PF"
            }
            Self::NoIommuPasids => "PASID not presented: the IOMMU gives this VF no PASIDs",
            Self::PriNotEnabled => "PRI not presented: the host has not enabled PRI on the PF",
        })
    }
}

/// What an open presents, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Presented {
    /// `emulate=N`: exactly what vfio-pci shows.
    EmulationOff,
    /// The PF has neither a PASID nor a Page Request capability.
    PfHasNeither,
    /// The VF has no extended config space to put them in.
    NoExtendedConfig,
    /// What was withheld, and where the rest went.
    Placed {
        pasid: Option<Withheld>,
        pri: Option<Withheld>,
        placement: Placement,
    },
}

impl fmt::Display for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmulationOff => f.write_str("nothing presented: emulate=N"),
            Self::PfHasNeither => {
                f.write_str("nothing presented: the PF has no PASID or PRI capability")
            }
            Self::NoExtendedConfig => f.write_str("nothing presented: no extended config space"),
            Self::Placed {
                pasid,
                pri,
                placement,
            } => {
                let mut sep = "";
                for why in [pasid, pri].into_iter().flatten() {
                    write!(f, "{sep}{why}")?;
                    sep = "; ";
                }
                if placement.pasid().is_some() || placement.pri().is_some() {
                    write!(f, "{sep}{placement}")?;
                }
                Ok(())
            }
        }
    }
}

/// The emulation of one open VF, with what has been said about it in dmesg.
struct VfEmulation {
    emu: Emulation,
    /// A write to read-only or reserved bits has been logged since the device was opened.
    logged_ignored_bits: bool,
    /// A PRI Reset written while Enable stays set has been logged since the device was
    /// opened.
    logged_pri_reset: bool,
    /// A reset after which the function did not answer has been logged since the device
    /// was opened.
    logged_unreachable: bool,
}

/// Accesses that touch emulated bytes are handled in chunks of at most this many bytes,
/// aligned to it: the largest access VFIO users make (a qword) is one chunk.
const CHUNK: usize = 8;

/// Whether `pdev` is on vfio-pci's denylist; logs the decision as vfio-pci does.
fn denylisted(pdev: &PciDev) -> bool {
    let (vendor, device) = (pdev.vendor_id(), pdev.device_id());
    if !DENYLIST.contains(&(vendor, device)) {
        return false;
    }
    if params::disable_denylist() {
        dev_warn!(
            pdev,
            "device denylist disabled - allowing device {:04x}:{:04x}.\n",
            vendor,
            device
        );
        return false;
    }
    dev_warn!(
        pdev,
        "{:04x}:{:04x} exists in vfio-pci device denylist, driver probing disallowed (-EINVAL; vfio_pasid_vf.disable_denylist=1 overrides).\n",
        vendor,
        device
    );
    true
}

impl Driver for PasidVf {
    const NAME: &'static CStr = c"vfio-pasid-vf";

    type Data = VfState;

    /// Takes only SR-IOV VFs that vfio-pci would take: the PASID and PRI capabilities it
    /// presents are the PF's.
    fn probe(pdev: &PciDev) -> Result {
        if denylisted(pdev) {
            return Err(EINVAL);
        }
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

    fn init_data(pdev: &PciDev) -> impl PinInit<Self::Data, Error> {
        try_pin_init!(VfState {
            bind_sample: sample_ext_config(pdev)?,
            report <- new_mutex!(Report::default()),
            span: Atomic::new(0),
            emu <- new_mutex!(None),
        })
    }

    fn core_params(_pdev: &PciDev) -> CoreParams {
        params::core_params()
    }

    fn open_device(dev: &Device<Self>, vconfig: &VirtConfig<'_>) -> Result {
        let emu = build_emulation(dev, vconfig).map(|emu| VfEmulation {
            emu,
            logged_ignored_bits: false,
            logged_pri_reset: false,
            logged_unreachable: false,
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
    /// registers too, as it would those of a real capability, if it happened.
    ///
    /// The PCI core calls this after every attempt, whether or not it reset the function
    /// (`pci_dev_restore()` is not told the result). A function that does not answer config
    /// reads afterwards (its Command and Status dword reads all ones, the test
    /// `pci_dev_config_accessible()` makes before an FLR) was not reset by this attempt,
    /// or did not come back from it: its emulated registers keep their values, as its own
    /// registers do for its user. An attempt that fails with the function still answering
    /// (the IOMMU could not be quiesced, `pci_dev_reset_iommu_prepare()`) cannot be told
    /// apart and resets them.
    fn reset_done(dev: &Device<Self>) {
        let pdev = dev.pdev();
        let answers = pdev
            .read_config_dword(PCI_COMMAND)
            .is_ok_and(|dword| dword != u32::MAX);
        let mut guard = dev.data().emu.lock();
        let Some(vf) = Option::as_mut(&mut guard) else {
            return;
        };
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
            if let Some(vf) = dev.data().emu.lock().as_ref() {
                vf.emu.read(config_pos(pos)?, chunk);
            }
            UserSlice::new(ubuf, len).writer().write_slice(chunk)
        })?;
        Ok(count)
    }

    fn dev_groups() -> *const *const bindings::attribute_group {
        (&raw const bindings::vpv_dev_groups).cast()
    }

    fn driver_groups() -> *const *const bindings::attribute_group {
        (&raw const bindings::vpv_drv_groups).cast()
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
            let at = config_pos(pos)?;
            // The guard lives only in this block: vfio-pci is called without it.
            let effects = {
                let mut guard = dev.data().emu.lock();
                Option::as_mut(&mut guard).map(|vf| {
                    let effects = vf.emu.write(at, chunk);
                    log_write_effects(dev.pdev(), vf, pos, &effects);
                    effects
                })
            };
            match effects {
                // Only the bytes that are not emulated go to vfio-pci.
                Some(effects) => {
                    for part in effects.real.iter() {
                        let at = pos + u64::try_from(part.start)?;
                        dev.core_write_config(ubuf.wrapping_byte_add(part.start), part.len(), at)?;
                    }
                }
                // Closed under us: there is nothing to emulate any more.
                None => {
                    dev.core_write_config(ubuf, len, pos)?;
                }
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

    /// The dword at `offset` as sampled at bind; 0 where nothing was sampled.
    fn at_bind(&self, offset: u16) -> u32 {
        offset
            .checked_sub(PCI_CFG_SPACE_SIZE)
            .and_then(|index| self.bind_sample.get(usize::from(index / 4)))
            .copied()
            .unwrap_or(0)
    }
}

/// Reads the extended config space of `pdev`, a dword at a time; empty without one. A dword
/// that cannot be read counts as all ones (in use).
fn sample_ext_config(pdev: &PciDev) -> Result<KVec<u32>> {
    if pdev.cfg_size() < PCI_CFG_SPACE_EXP_SIZE {
        return Ok(KVec::new());
    }
    let dwords = usize::from((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 4);
    let mut sample = KVec::with_capacity(dwords, GFP_KERNEL)?;
    for offset in (PCI_CFG_SPACE_SIZE..PCI_CFG_SPACE_EXP_SIZE).step_by(4) {
        sample.push(
            pdev.read_config_dword(offset).unwrap_or(u32::MAX),
            GFP_KERNEL,
        )?;
    }
    Ok(sample)
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

/// Logs, once per open each, a write that the emulated registers ignored in part.
fn log_write_effects(pdev: &PciDev, vf: &mut VfEmulation, pos: u64, effects: &WriteEffects) {
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

/// `show` of the device's sysfs attributes (drivers/vfio_pasid_vf/sysfs.c).
#[no_mangle]
extern "C" fn vpv_attr_show(dev: *mut bindings::device, attr: c_uint, buf: *mut c_char) -> isize {
    let show = |dev: &Device<PasidVf>, out: &mut SysfsBuf<'_>| -> Result {
        let report = dev.data().report.lock();
        match attr {
            bindings::vpv_attr_VPV_ATTR_PLACEMENT => match &report.presented {
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

/// Prints a value that implements `core::fmt::Display` (the emulation core's, this file's)
/// through the kernel's `fmt!` (which wants `kernel::fmt::Display`).
struct Show<T>(T);

impl<T: fmt::Display> kernel::fmt::Display for Show<T> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        fmt::Display::fmt(&self.0, f)
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

/// Decides what an open of `dev` presents and builds the emulation; `None` if there is
/// nothing to emulate, in which case the VF behaves exactly as under vfio-pci.
///
/// Logs the decision, and the administrator's offsets it used, only when they differ from
/// the previous open's.
fn build_emulation(dev: &Device<PasidVf>, vconfig: &VirtConfig<'_>) -> Option<Emulation> {
    let pdev = dev.pdev();
    let admin = offsets::lookup(pdev);
    let (presented, emu, pasid_cap) = decide(dev, vconfig, admin);

    let mut report = dev.data().report.lock();
    let admin_changed = report.admin != admin;
    let changed = report.presented != Some(presented);
    report.admin = admin;
    report.presented = Some(presented);
    drop(report);
    if admin_changed {
        dev_info!(
            pdev,
            "administrator's offsets now in effect: {}\n",
            Show(admin)
        );
    }
    if changed && presented != Presented::EmulationOff {
        dev_info!(pdev, "emulated capabilities: {}\n", Show(presented));
        if let Some((cap, pf_cap, max_pasids)) = pasid_cap {
            dev_info!(
                pdev,
                "PASID Capability presented as {:#06x} (PF {:#06x}, IOMMU max PASIDs {})\n",
                cap,
                pf_cap,
                max_pasids
            );
        }
    }
    emu
}

/// What an open of `dev` presents, the emulation that presents it, and the PASID Capability
/// register presented (with the PF's and the IOMMU's max PASIDs, for the log).
fn decide(
    dev: &Device<PasidVf>,
    vconfig: &VirtConfig<'_>,
    admin: AdminOffsets,
) -> (Presented, Option<Emulation>, Option<(u16, u16, u32)>) {
    let pdev = dev.pdev();
    if !params::emulate() {
        return (Presented::EmulationOff, None, None);
    }
    // `probe` took only VFs.
    let Some(pf) = pdev.physfn() else {
        return (Presented::PfHasNeither, None, None);
    };
    let (mut pf_pasid, mut pf_pri) = (pf_pasid(pf), pf_pri(pf));
    if pf_pasid.is_none() && pf_pri.is_none() {
        return (Presented::PfHasNeither, None, None);
    }
    if pdev.cfg_size() < PCI_CFG_SPACE_EXP_SIZE {
        return (Presented::NoExtendedConfig, None, None);
    }

    // A VF can use PASIDs only while its PF has PASID enabled (pci_enable_pasid()), and
    // only as many as the IOMMU gives it (min of the PF's width and the IOMMU's).
    let max_pasids = pdev.iommu_max_pasids();
    let pasid_withheld = match pf_pasid {
        Some(_) if !pf.pasid_enabled() => Some(Withheld::PasidNotEnabled),
        Some(_) if max_pasids == 0 => Some(Withheld::NoIommuPasids),
        _ => None,
    };
    // Likewise for page requests (pci_enable_pri()).
    let pri_withheld = pf_pri
        .filter(|_| !pf.pri_enabled())
        .map(|_| Withheld::PriNotEnabled);
    if pasid_withheld.is_some() {
        pf_pasid = None;
    }
    if pri_withheld.is_some() {
        pf_pri = None;
    }
    let limits = HostLimits {
        max_pasid_width: max_pasids.checked_ilog2().unwrap_or(0) as u8,
    };

    let raw = |off: u16| pdev.read_config_dword(off).unwrap_or(u32::MAX);
    let at_bind = |off: u16| dev.data().at_bind(off);
    let virt = |off: u16| vconfig.dword(off).unwrap_or(0);
    let request = |admin: Option<u16>, pf_offset: u16| Request {
        admin,
        advised: None,
        pf_offset,
    };
    let placement = place(
        &raw,
        &at_bind,
        &virt,
        pf_pasid.map(|p| request(admin.pasid, p.offset)),
        pf_pri.map(|p| request(admin.pri, p.offset)),
    );
    let presented = Presented::Placed {
        pasid: pasid_withheld,
        pri: pri_withheld,
        placement,
    };
    let emu = Emulation::new(placement, pf_pasid, pf_pri, limits);
    let pasid_cap = emu
        .pasid_cap_presented()
        .zip(pf_pasid)
        .map(|(cap, pf)| (cap, pf.cap, max_pasids));
    if emu.offset(EmulatedCap::Pasid).is_none() && emu.offset(EmulatedCap::Pri).is_none() {
        return (presented, None, None);
    }
    (presented, Some(emu), pasid_cap)
}
