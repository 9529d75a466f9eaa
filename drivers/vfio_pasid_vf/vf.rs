// SPDX-License-Identifier: GPL-2.0

//! The VF policy: which functions the driver takes, and what an open presents.
//!
//! When the device is opened, the PF's PASID and Page Request capabilities are read and the
//! emulation core ([`crate::emu`]) places emulated copies in the VF's config space as VFIO
//! shows it; [`crate::config`] then serves the config accesses of userspace.
//!
//! Everything a VFIO user can make the driver log is logged at most once per open, or only
//! when it differs from what the previous open logged.

use core::fmt::{
    self,
    Write as _, //
};

use kernel::{
    device,
    io::Io,
    new_mutex,
    pci::{
        self,
        ConfigSpaceSize, //
    },
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
};

use crate::bindings;
use crate::config::{
    self,
    OpenShared,
    OpenVf, //
};
use crate::emu::{
    place,
    EmulatedCap,
    Emulation,
    HostLimits,
    PfPasid,
    PfPri,
    Placement,
    Request,
    PCI_CFG_SPACE_EXP_SIZE,
    PCI_CFG_SPACE_SIZE,
    PCI_EXT_CAP_ID_PASID,
    PCI_EXT_CAP_ID_PRI, //
    PCI_PASID_CAP_EXEC,
    PCI_PASID_CAP_PRIV,
};
use crate::feature;
use crate::offsets::{
    self,
    AdminOffsets, //
};
use crate::params;
use crate::pci_ext::{
    FunctionExt,
    VirtfnExt,
    VirtfnProbeExt, //
};
use crate::pf::Registration;
use crate::sysfs::{
    DeviceAttributeGroups,
    DriverAttributeGroups,
    SysfsBuf, //
};
use crate::vfio::{
    pci::{
        driver::Driver,
        CoreParams,
        Device,
        DeviceContext,
        Opening,
        Operations,
        Read,
        Write, //
    },
    UserBuf,
};

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

/// Per-VF state, from bind to unbind.
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
    /// The PF's driver, a provider, refused the VF as a PASID user (`pasid_get`), with this
    /// errno.
    PasidRefused(i32),
    /// The PF's driver, a provider, does not deliver the VF's page requests
    /// (`VPV_PF_FEAT_PRI`).
    PriNotDelivered,
}

impl fmt::Display for Withheld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PasidNotEnabled => {
                f.write_str("PASID not presented: the host has not enabled PASID on the PF")
            }
            Self::NoIommuPasids => {
                f.write_str("PASID not presented: the IOMMU gives this VF no PASIDs")
            }
            Self::PriNotEnabled => {
                f.write_str("PRI not presented: the host has not enabled PRI on the PF")
            }
            Self::PasidRefused(errno) => write!(
                f,
                "PASID not presented: the PF's driver refused it (error {errno})"
            ),
            Self::PriNotDelivered => {
                f.write_str("PRI not presented: the PF's driver does not deliver it")
            }
        }
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

/// Whether `pdev` is on vfio-pci's denylist; logs the decision as vfio-pci does.
fn denylisted(pdev: &pci::Device) -> bool {
    let (vendor, device) = (pdev.vendor_id().as_raw(), pdev.device_id());
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
        "{:04x}:{:04x} exists in vfio-pci device denylist, driver probing disallowed.\n",
        vendor,
        device
    );
    true
}

impl Driver for PasidVf {
    type Operations = Self;

    /// Takes only SR-IOV VFs that vfio-pci would take: the PASID and PRI capabilities it
    /// presents are the PF's.
    fn probe(pdev: &pci::Device<device::Core<'_>>) -> Result {
        if denylisted(pdev) {
            return Err(EINVAL);
        }
        if pdev.is_physfn() {
            dev_err!(
                pdev,
                "refusing an SR-IOV PF: bind one of its VFs, or vfio-pci for the PF\n"
            );
            return Err(ENODEV);
        }
        if !pdev.is_virtfn() {
            dev_err!(
                pdev,
                "refusing a function that is not an SR-IOV VF: use vfio-pci\n"
            );
            return Err(ENODEV);
        }
        // The PF's driver cannot unbind while the VF is bound: the VF is released first,
        // through vfio's request path, as when its own device goes away.
        pdev.link_to_physfn().inspect_err(|e| {
            if *e == EPROBE_DEFER {
                dev_info!(
                    pdev,
                    "the PF has no driver: probe deferred until it has one\n"
                );
            }
        })
    }

    fn dev_groups() -> Option<DeviceAttributeGroups<Self>> {
        // SAFETY: `vpv_dev_groups` (sysfs.c) is a NULL-terminated array of constant groups
        // of device attributes, whose callbacks (`crate::attrs`) expect a `PasidVf` device.
        Some(unsafe { DeviceAttributeGroups::new((&raw const bindings::vpv_dev_groups).cast()) })
    }

    fn driver_groups() -> Option<DriverAttributeGroups> {
        // SAFETY: `vpv_drv_groups` (sysfs.c) is a NULL-terminated array of constant groups
        // of driver attributes.
        Some(unsafe { DriverAttributeGroups::new((&raw const bindings::vpv_drv_groups).cast()) })
    }
}

impl Operations for PasidVf {
    const NAME: &'static CStr = c"vfio-pasid-vf";

    type Data = VfState;
    type OpenData = OpenVf;

    fn init(pdev: &pci::Device<device::Core<'_>>) -> impl PinInit<Self::Data, Error> {
        try_pin_init!(VfState {
            bind_sample: sample_ext_config(pdev)?,
            report <- new_mutex!(Report::default()),
        })
    }

    fn core_params(_pdev: &pci::Device<device::Core<'_>>) -> CoreParams {
        params::core_params()
    }

    fn open_device(dev: &Device<Self, Opening>) -> impl PinInit<Self::OpenData, Error> {
        open(dev)
    }

    fn reset_done(dev: &Device<Self>, open: Option<&OpenVf>) {
        if let Some(open) = open {
            config::reset_done(dev.pdev(), open);
        }
    }

    /// PASIDs are attached only for a PASID user of the PF: [`EPERM`] if the PF has a PASID
    /// capability that the open does not present (the PF's driver refused it, the host had
    /// not enabled it, no room), [`ENXIO`] while the PF's PASID is off (PASID Control reads
    /// 0 then). With nothing to present, or `emulate=N`, as vfio-pci.
    fn pasid_attach(_dev: &Device<Self>, open: &OpenVf, _pasid: u32) -> Result {
        if open.pasid_withheld() {
            return Err(EPERM);
        }
        if open.check_pf_pasid() {
            return Err(ENXIO);
        }
        Ok(())
    }

    const DEVICE_FEATURE: Option<u32> = Some(bindings::VFIO_DEVICE_FEATURE_PASID_VF);

    fn device_feature(dev: &Device<Self>, open: &OpenVf, flags: u32, payload: &UserBuf) -> Result {
        feature::device_feature(dev, open, flags, payload)
    }

    fn config_intercepts(open: &OpenVf, pos: u64, count: usize) -> bool {
        open.in_span(pos, count)
    }

    fn read_config(
        dev: &Device<Self, Read>,
        open: &OpenVf,
        buf: &UserBuf,
        pos: u64,
    ) -> Result<usize> {
        config::read(dev, open, buf, pos)
    }

    fn write_config(
        dev: &Device<Self, Write>,
        open: &OpenVf,
        buf: &UserBuf,
        pos: u64,
    ) -> Result<usize> {
        config::write(dev, open, buf, pos)
    }
}

impl VfState {
    /// The dword at `offset` as sampled at bind; 0 where nothing was sampled.
    fn at_bind(&self, offset: u16) -> u32 {
        offset
            .checked_sub(PCI_CFG_SPACE_SIZE)
            .and_then(|index| self.bind_sample.get(usize::from(index / 4)))
            .copied()
            .unwrap_or(0)
    }

    /// Writes what the last open presented (the VF's sysfs `placement`).
    pub(crate) fn show_placement(&self, out: &mut SysfsBuf<'_>) -> Result {
        match &self.report.lock().presented {
            Some(p) => writeln!(out, "{p}"),
            None => writeln!(out, "none"),
        }
        .map_err(|_| EOVERFLOW)
    }
}

/// Reads the extended config space of `pdev`, a dword at a time; empty without one. A dword
/// that cannot be read counts as all ones (in use).
fn sample_ext_config(pdev: &pci::Device<device::Bound>) -> Result<KVec<u32>> {
    let Ok(config) = pdev.config_space_extended() else {
        return Ok(KVec::new());
    };
    let dwords = usize::from((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 4);
    let mut sample = KVec::with_capacity(dwords, GFP_KERNEL)?;
    for offset in (PCI_CFG_SPACE_SIZE..PCI_CFG_SPACE_EXP_SIZE).step_by(4) {
        sample.push(
            config.try_read32(offset.into()).unwrap_or(u32::MAX),
            GFP_KERNEL,
        )?;
    }
    Ok(sample)
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
pub(crate) fn pf_pasid(pf: &pci::Device) -> Option<PfPasid> {
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
pub(crate) fn pf_pri(pf: &pci::Device) -> Option<PfPri> {
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

/// A placement rule's request for a capability: the administrator's offset, the advised
/// one, the PF's.
fn request(admin: Option<u16>, advised: Option<u16>, pf_offset: u16) -> Request {
    Request {
        admin,
        advised,
        pf_offset,
    }
}

/// What placing an open's emulated capabilities needs besides the VF's own config space,
/// kept with the emulation for a VMM that places them itself (`VFIO_PASID_VF_SET_OFFSETS`).
pub(crate) struct PlaceInputs {
    /// The PF's PASID capability as presented (after the provider's features), and its
    /// placement request; `None` if not presented.
    pasid: Option<(PfPasid, Request)>,
    /// Likewise for PRI.
    pri: Option<(PfPri, Request)>,
    limits: HostLimits,
    /// vfio-pci's virtualised config space at the open, a dword per entry: what userspace
    /// sees of the capability headers, which it cannot change.
    virt: KVec<u32>,
}

impl PlaceInputs {
    /// Places the capabilities of `dev`, PASID at `pasid_at` and PRI at `pri_at` if given
    /// (as the administrator's offsets are), and builds their emulation.
    pub(crate) fn place<Ctx: DeviceContext>(
        &self,
        dev: &Device<PasidVf, Ctx>,
        pasid_at: Option<u16>,
        pri_at: Option<u16>,
    ) -> (Placement, Emulation) {
        let config = dev.pdev().config_space();
        let raw = |off: u16| config.try_read32(off.into()).unwrap_or(u32::MAX);
        let at_bind = |off: u16| dev.data().at_bind(off);
        let virt = |off: u16| self.virt.get(usize::from(off / 4)).copied().unwrap_or(0);
        let at = |req: Request, offset: Option<u16>| Request {
            admin: offset.or(req.admin),
            ..req
        };
        let placement = place(
            &raw,
            &at_bind,
            &virt,
            self.pasid.map(|(_, req)| at(req, pasid_at)),
            self.pri.map(|(_, req)| at(req, pri_at)),
        );
        let emu = Emulation::new(
            placement,
            self.pasid.map(|(p, _)| p),
            self.pri.map(|(p, _)| p),
            self.limits,
        );
        (placement, emu)
    }
}

impl PlaceInputs {
    /// The emulation with the capabilities at a VMM's offsets (0: placed by the rules, as
    /// at the open): [`EINVAL`] for an offset of a capability the open does not present or
    /// that is not dword aligned in 0x100..0xffc; [`ENOSPC`] if a capability cannot go at
    /// its offset, or one that `cur` presents finds no room.
    pub(crate) fn place_at(
        &self,
        dev: &Device<PasidVf>,
        cur: &Emulation,
        pasid_at: u16,
        pri_at: u16,
    ) -> Result<Emulation> {
        let wanted = |at: u16| (at != 0).then_some(at);
        for (at, presentable) in [
            (pasid_at, self.pasid.is_some()),
            (pri_at, self.pri.is_some()),
        ] {
            let in_range = (PCI_CFG_SPACE_SIZE..=PCI_CFG_SPACE_EXP_SIZE - 4).contains(&at);
            if at != 0 && (!presentable || at % 4 != 0 || !in_range) {
                return Err(EINVAL);
            }
        }
        let (_, emu) = self.place(dev, wanted(pasid_at), wanted(pri_at));
        for (cap, at) in [(EmulatedCap::Pasid, pasid_at), (EmulatedCap::Pri, pri_at)] {
            let placed = emu.offset(cap);
            let fits = match wanted(at) {
                Some(at) => placed == Some(at),
                None => placed.is_some() || cur.offset(cap).is_none(),
            };
            if !fits {
                return Err(ENOSPC);
            }
        }
        Ok(emu)
    }

    /// An emulation that presents nothing: the VF's config space as vfio-pci shows it.
    pub(crate) fn nothing() -> Emulation {
        Emulation::new(Placement::default(), None, None, HostLimits::default())
    }
}

/// vfio-pci's virtualised config space of `dev`, a dword per entry.
fn vconfig_snapshot(dev: &Device<PasidVf, Opening>) -> Result<KVec<u32>> {
    let size = u16::try_from(dev.pdev().cfg_size().into_raw())?;
    let mut virt = KVec::with_capacity(usize::from(size / 4), GFP_KERNEL)?;
    for off in (0..size).step_by(4) {
        virt.push(dev.vconfig_dword(off).unwrap_or(0), GFP_KERNEL)?;
    }
    Ok(virt)
}

/// The state of an open of `dev`: what it presents, its registration with the PF.
fn open(dev: &Device<PasidVf, Opening>) -> Result<OpenVf> {
    let shared = OpenShared::new(dev.error_eventfd())?;
    let decision = build_emulation(dev, &shared)?;
    if let Some((emu, inputs)) = decision.emu {
        shared.set_emulation(emu, inputs);
    }
    Ok(OpenVf::new(shared, decision.reg, decision.pasid_withheld))
}

/// What an open decided.
struct Decision {
    /// What it presents, and why.
    presented: Presented,
    /// The emulation that presents it, and what placed it; `None` if nothing is emulated.
    emu: Option<(Emulation, PlaceInputs)>,
    /// The PASID Capability register presented, with the PF's and the IOMMU's max PASIDs,
    /// for the log.
    pasid_cap: Option<(u16, u16, u32)>,
    /// The VF's registration with its PF, while something is emulated.
    reg: Option<Registration>,
    /// The PF has a PASID capability that the open does not present: the VF is no PASID
    /// user of its PF, so its PASIDs must not be attached either.
    pasid_withheld: bool,
}

impl Decision {
    /// Nothing presented, for `why`; `pf_has_pasid`: although the PF has a PASID
    /// capability.
    fn nothing(why: Presented, pf_has_pasid: bool) -> Self {
        Self {
            presented: why,
            emu: None,
            pasid_cap: None,
            reg: None,
            pasid_withheld: pf_has_pasid,
        }
    }
}

/// Decides what an open of `dev` presents, builds the emulation (none if there is nothing
/// to emulate: the VF then behaves exactly as under vfio-pci) and registers the VF with its
/// PF for `shared`.
///
/// Logs the decision, and the administrator's offsets it used, only when they differ from
/// the previous open's. Fails only to allocate, before anything is logged.
fn build_emulation(dev: &Device<PasidVf, Opening>, shared: &Arc<OpenShared>) -> Result<Decision> {
    let pdev = dev.pdev();
    let admin = offsets::lookup(pdev);
    let decision = decide(dev, admin, shared)?;
    let (presented, pasid_cap) = (decision.presented, decision.pasid_cap);

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
    Ok(decision)
}

/// What an open of `dev` presents, the emulation that presents it and the VF's registration
/// with its PF (the PF's provider, if it has one, is asked here).
fn decide(
    dev: &Device<PasidVf, Opening>,
    admin: AdminOffsets,
    shared: &Arc<OpenShared>,
) -> Result<Decision> {
    let pdev = dev.pdev();
    if !params::emulate() {
        return Ok(Decision::nothing(Presented::EmulationOff, false));
    }
    // `probe` took only VFs.
    let Ok(pf) = pdev.physfn() else {
        return Ok(Decision::nothing(Presented::PfHasNeither, false));
    };
    let (mut pf_pasid, mut pf_pri) = (pf_pasid(pf), pf_pri(pf));
    let pf_has_pasid = pf_pasid.is_some();
    if !pf_has_pasid && pf_pri.is_none() {
        return Ok(Decision::nothing(Presented::PfHasNeither, false));
    }
    if pdev.cfg_size() != ConfigSpaceSize::Extended {
        return Ok(Decision::nothing(Presented::NoExtendedConfig, pf_has_pasid));
    }

    // A VF can use PASIDs only while its PF has PASID enabled (pci_enable_pasid()), and
    // only as many as the IOMMU gives it (min of the PF's width and the IOMMU's).
    let max_pasids = pdev.iommu_max_pasids();
    let mut pasid_withheld = match pf_pasid {
        Some(_) if !pf.pasid_enabled() => Some(Withheld::PasidNotEnabled),
        Some(_) if max_pasids == 0 => Some(Withheld::NoIommuPasids),
        _ => None,
    };
    // Likewise for page requests (pci_enable_pri()).
    let mut pri_withheld = pf_pri
        .filter(|_| !pf.pri_enabled())
        .map(|_| Withheld::PriNotEnabled);
    if pasid_withheld.is_some() {
        pf_pasid = None;
    }
    if pri_withheld.is_some() {
        pf_pri = None;
    }
    if pf_pasid.is_none() && pf_pri.is_none() {
        let presented = Presented::Placed {
            pasid: pasid_withheld,
            pri: pri_withheld,
            placement: Placement::default(),
        };
        return Ok(Decision::nothing(presented, pf_has_pasid));
    }

    // The PF's provider, if it has one, has its say before anything is placed.
    let (mut reg, advice) = Registration::new(pf, pdev, shared.clone(), pf_pasid.is_some())?;
    if let Some(errno) = advice.refused {
        pasid_withheld = Some(Withheld::PasidRefused(errno));
        pf_pasid = None;
    }
    if pf_pri.is_some() && !advice.delivers(bindings::VPV_PF_FEAT_PRI) {
        pri_withheld = Some(Withheld::PriNotDelivered);
        pf_pri = None;
    }
    // Execute Permission and Privileged Mode are presented only if the PF delivers them.
    let undelivered = (PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV)
        & !u16::try_from(advice.features & 0xffff).unwrap_or(0);
    let pf_pasid_cap = pf_pasid.map(|p| p.cap);
    if let Some(p) = pf_pasid.as_mut() {
        p.cap &= !undelivered;
    }
    let limits = HostLimits {
        max_pasid_width: max_pasids.checked_ilog2().unwrap_or(0) as u8,
    };

    let mut inputs = PlaceInputs {
        pasid: pf_pasid.map(|p| (p, request(admin.pasid, advice.pasid_offset, p.offset))),
        pri: pf_pri.map(|p| (p, request(admin.pri, advice.pri_offset, p.offset))),
        limits,
        virt: vconfig_snapshot(dev)?,
    };
    let (placement, emu) = inputs.place(dev, None, None);
    let presented = Presented::Placed {
        pasid: pasid_withheld,
        pri: pri_withheld,
        placement,
    };
    if emu.offset(EmulatedCap::Pasid).is_none() {
        reg.release_pasid();
        // Not a PASID user: a VMM's SET must not present it either.
        inputs.pasid = None;
    }
    if emu.offset(EmulatedCap::Pasid).is_none() && emu.offset(EmulatedCap::Pri).is_none() {
        return Ok(Decision::nothing(presented, pf_has_pasid));
    }
    let pasid_cap = emu
        .pasid_cap_presented()
        .zip(pf_pasid_cap)
        .map(|(cap, pf_cap)| (cap, pf_cap, max_pasids));
    Ok(Decision {
        presented,
        emu: Some((emu, inputs)),
        pasid_cap,
        pasid_withheld: pf_has_pasid && !reg.holds_pasid(),
        reg: Some(reg),
    })
}
