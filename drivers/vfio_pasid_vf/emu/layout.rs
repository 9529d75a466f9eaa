// SPDX-License-Identifier: GPL-2.0

//! Extended capability chains, and where the emulated capabilities go.
//!
//! Configuration space is read through closures returning the dword at a dword-aligned
//! offset: `raw` reads the VF's hardware, `raw_at_bind` returns what the hardware read
//! when the VF was bound to the driver (before any reset), and `virt` reads vfio-pci's
//! virtualised view (which hides some capabilities by giving them ID 0 or by skipping them
//! in the chain).
//!
//! # Walking a chain
//!
//! [`walk`] follows Next Capability Offset from 0x100 and stops, without panicking, at a
//! Next of 0 or below 0x100, at a revisited offset (a loop), after
//! (0x1000 - 0x100) / 4 steps, or at a header that reads 0 or 0xffffffff (at 0x100 this
//! means that there are no extended capabilities; further on, the previous capability is
//! the last one). Bits 1:0 of Next are reserved and masked, as the spec requires of
//! software and as Linux and vfio-pci do, so every offset visited is dword aligned.
//!
//! # Occupied space
//!
//! Every capability of the raw chain occupies configuration space, hidden or not. Its
//! length comes from its ID: the fixed lengths of the PCIe spec, or for Vendor-Specific,
//! Designated Vendor-Specific, ACS, Resizable BAR, VF Resizable BAR, DPA and TPH the
//! length its registers describe (as vfio-pci's `vfio_ext_cap_len` computes it). A
//! capability whose length is not known (an unknown ID, Virtual Channel, Secondary PCIe,
//! DPC, ... or a length field that makes no sense) is conservatively taken to extend up to
//! the next capability by address, or to 0x1000 if it is the highest. The header dword of
//! every capability of the virtualised chain is occupied too.
//!
//! A dword that no capability describes is free only if the hardware reads 0 there both
//! now and in the sample taken at bind: it may be a device-specific register, and some
//! read 0 right after the reset (FLR) that vfio-pci does when the device is opened.
//!
//! # Placement
//!
//! Capabilities pinned by the administrator are placed first; the others then go,
//! rule by rule, where the pinned ones are not. The last rule searches extended
//! configuration space from the top down (from 0x1000 minus the capability's size towards
//! 0x100), as QEMU does for the PASID capability it synthesises at 0xff8. See [`place`].

use core::fmt;

use super::{
    ext_cap_header,
    ext_cap_id,
    ext_cap_next,
    regs::EmulatedCap,
    PCI_CFG_SPACE_EXP_SIZE,
    PCI_CFG_SPACE_SIZE,
    PCI_EXT_CAP_ID_ACS,
    PCI_EXT_CAP_ID_ARI,
    PCI_EXT_CAP_ID_ATS,
    PCI_EXT_CAP_ID_DLF,
    PCI_EXT_CAP_ID_DOE,
    PCI_EXT_CAP_ID_DPA,
    PCI_EXT_CAP_ID_DSN,
    PCI_EXT_CAP_ID_DVSEC,
    PCI_EXT_CAP_ID_ERR,
    PCI_EXT_CAP_ID_L1SS,
    PCI_EXT_CAP_ID_LTR,
    PCI_EXT_CAP_ID_MCAST,
    PCI_EXT_CAP_ID_NPEM,
    PCI_EXT_CAP_ID_PASID,
    PCI_EXT_CAP_ID_PRI,
    PCI_EXT_CAP_ID_PTM,
    PCI_EXT_CAP_ID_PWR,
    PCI_EXT_CAP_ID_REBAR,
    PCI_EXT_CAP_ID_SRIOV,
    PCI_EXT_CAP_ID_TPH,
    PCI_EXT_CAP_ID_VF_REBAR,
    PCI_EXT_CAP_ID_VNDR, //
};

/// Most steps a chain walk takes: one per dword of extended configuration space.
pub const MAX_CHAIN_STEPS: u16 = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 4;

/// Number of dwords of configuration space.
const DWORDS: usize = (PCI_CFG_SPACE_EXP_SIZE / 4) as usize;

/// A set of dword-aligned configuration space offsets (128 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DwordSet {
    bits: [u32; DWORDS / 32],
}

impl DwordSet {
    const fn new() -> Self {
        Self {
            bits: [0; DWORDS / 32],
        }
    }

    /// Word index and bit of the dword at `offset`.
    fn locate(offset: u16) -> Option<(usize, u32)> {
        let dword = offset / 4;
        let bit = 1u32.checked_shl(u32::from(dword % 32))?;
        Some((usize::from(dword / 32), bit))
    }

    fn insert(&mut self, offset: u16) {
        if let Some((word, bit)) = Self::locate(offset) {
            if let Some(word) = self.bits.get_mut(word) {
                *word |= bit;
            }
        }
    }

    fn contains(&self, offset: u16) -> bool {
        Self::locate(offset)
            .and_then(|(word, bit)| self.bits.get(word).map(|word| word & bit != 0))
            .unwrap_or(false)
    }

    /// Inserts every dword overlapping `[start, end)`.
    fn insert_range(&mut self, start: u16, end: u16) {
        for offset in ((start & !3)..end.min(PCI_CFG_SPACE_EXP_SIZE)).step_by(4) {
            self.insert(offset);
        }
    }

    /// The members, ascending.
    fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..PCI_CFG_SPACE_EXP_SIZE)
            .step_by(4)
            .filter(move |&offset| self.contains(offset))
    }

    /// The smallest member above `offset`.
    fn next_after(&self, offset: u16) -> Option<u16> {
        self.iter().find(|&member| member > offset)
    }
}

/// An extended capability found in a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtCap {
    /// Offset of its header.
    pub offset: u16,
    /// Its Extended Capability Header.
    pub header: u32,
}

impl ExtCap {
    /// Next Capability Offset (bits 1:0 masked).
    pub fn next(&self) -> u16 {
        ext_cap_next(self.header)
    }
}

/// An iterator over an extended capability chain; see [`walk`].
pub struct Chain<'a> {
    read: &'a dyn Fn(u16) -> u32,
    /// Offset of the next header to visit; 0 when done.
    pos: u16,
    visited: DwordSet,
    steps: u16,
}

/// Walks the extended capability chain that `read` shows, from 0x100.
///
/// See the [module documentation](self) for when the walk stops.
pub fn walk(read: &dyn Fn(u16) -> u32) -> Chain<'_> {
    Chain {
        read,
        pos: PCI_CFG_SPACE_SIZE,
        visited: DwordSet::new(),
        steps: 0,
    }
}

impl Iterator for Chain<'_> {
    type Item = ExtCap;

    fn next(&mut self) -> Option<ExtCap> {
        let pos = self.pos;
        self.pos = 0;
        if !(PCI_CFG_SPACE_SIZE..PCI_CFG_SPACE_EXP_SIZE).contains(&pos)
            || pos & 3 != 0
            || self.steps >= MAX_CHAIN_STEPS
            || self.visited.contains(pos)
        {
            return None;
        }
        self.visited.insert(pos);
        self.steps = self.steps.saturating_add(1);
        let header = (self.read)(pos);
        if header == 0 || header == 0xffff_ffff {
            return None;
        }
        let cap = ExtCap {
            offset: pos,
            header,
        };
        self.pos = cap.next();
        Some(cap)
    }
}

/// Rounds `len` up to a whole number of dwords.
fn dword_round_up(len: u16) -> u16 {
    len.checked_add(3).map_or(0xfffc, |len| len & !3)
}

/// Length in bytes of the capability at `offset` with `header`, if known.
///
/// Fixed lengths are from PCIe r6.0; variable ones are computed like vfio-pci's
/// `vfio_ext_cap_len`. `None` means unknown: the caller treats the capability
/// conservatively.
fn known_len(raw: &dyn Fn(u16) -> u32, offset: u16, header: u32) -> Option<u16> {
    // Reads the dword at `off` from the capability, if it is inside configuration space.
    let dword = |off: u16| -> Option<u32> {
        let pos = offset.checked_add(off)?;
        if pos.checked_add(4)? > PCI_CFG_SPACE_EXP_SIZE {
            return None;
        }
        Some(raw(pos))
    };
    let len = match ext_cap_id(header) {
        PCI_EXT_CAP_ID_ERR => 0x48,
        PCI_EXT_CAP_ID_DSN => 0x0c,
        PCI_EXT_CAP_ID_PWR => 0x10,
        PCI_EXT_CAP_ID_ARI => 0x08,
        PCI_EXT_CAP_ID_ATS => 0x08,
        PCI_EXT_CAP_ID_SRIOV => 0x40,
        PCI_EXT_CAP_ID_MCAST => 0x30,
        PCI_EXT_CAP_ID_PRI => 0x10,
        PCI_EXT_CAP_ID_LTR => 0x08,
        PCI_EXT_CAP_ID_PASID => 0x08,
        PCI_EXT_CAP_ID_L1SS => 0x10,
        PCI_EXT_CAP_ID_PTM => 0x0c,
        PCI_EXT_CAP_ID_DLF => 0x0c,
        PCI_EXT_CAP_ID_NPEM => 0x10,
        PCI_EXT_CAP_ID_DOE => 0x18,
        PCI_EXT_CAP_ID_VNDR => {
            // VSEC Length, bits 31:20 of the Vendor-Specific Header; that header and the
            // Extended Capability Header alone take 8 bytes.
            let len = len_field(dword(4)?);
            if len < 0x08 {
                return None;
            }
            len
        }
        PCI_EXT_CAP_ID_DVSEC => {
            // DVSEC Length, bits 31:20 of DVSEC Header 1; the headers alone take 10 bytes.
            let len = len_field(dword(4)?);
            if len < 0x0a {
                return None;
            }
            len
        }
        PCI_EXT_CAP_ID_ACS => {
            let cap = dword(4)?;
            // Egress Control Supported: an Egress Control Vector follows, its size in
            // bits in byte +5 (0 means 256).
            if cap & 0x20 != 0 {
                let bits = u16::from(cap.to_le_bytes().get(1).copied().unwrap_or(0));
                let bits = if bits == 0 { 256 } else { bits };
                0x08u16.checked_add(dword_round_up(bits.div_ceil(8)))?
            } else {
                0x08
            }
        }
        PCI_EXT_CAP_ID_REBAR | PCI_EXT_CAP_ID_VF_REBAR => {
            // Number of Resizable BARs, bits 7:5 of the first control register.
            let nbar = (dword(8)? & 0xe0) / 0x20;
            if !(1..=6).contains(&nbar) {
                return None;
            }
            u16::try_from(nbar).ok()?.checked_mul(8)?.checked_add(4)?
        }
        PCI_EXT_CAP_ID_DPA => {
            // Substate Max, bits 4:0: one Substate Power Allocation byte per substate.
            let substates = u16::try_from(dword(4)? & 0x1f).ok()?.checked_add(1)?;
            0x10u16.checked_add(substates)?
        }
        PCI_EXT_CAP_ID_TPH => {
            let cap = dword(4)?;
            // ST Table Location "in the TPH Requester Capability": ST Table Size + 1
            // entries of 2 bytes follow.
            if cap & 0x600 == 0x200 {
                let entries = u16::try_from((cap & 0x07ff_0000) / 0x1_0000)
                    .ok()?
                    .checked_add(1)?;
                0x0cu16.checked_add(entries.checked_mul(2)?)?
            } else {
                0x0c
            }
        }
        _ => return None,
    };
    Some(dword_round_up(len))
}

/// The length in bits 31:20 of `dword` (VSEC Length, DVSEC Length).
fn len_field(dword: u32) -> u16 {
    u16::try_from((dword / 0x10_0000) & 0xfff).unwrap_or(0)
}

/// Why an offset cannot hold an emulated capability, before the owner of occupied space is
/// looked up (which takes a walk over the capabilities).
enum Conflict {
    /// As said.
    Unusable(Unusable),
    /// The dword at this offset is occupied by a capability.
    Occupied(u16),
}

/// The configuration space already in use, from the raw and virtualised chains.
struct Scan<'a> {
    raw: &'a dyn Fn(u16) -> u32,
    raw_at_bind: &'a dyn Fn(u16) -> u32,
    virt: &'a dyn Fn(u16) -> u32,
    /// Headers of the raw chain.
    raw_caps: DwordSet,
    /// Headers of the virtualised chain.
    virt_caps: DwordSet,
    /// Every dword used by a capability of either chain.
    occupied: DwordSet,
    /// The last capability of the virtualised chain; `None` if it has none.
    virt_last: Option<u16>,
}

impl<'a> Scan<'a> {
    fn new(
        raw: &'a dyn Fn(u16) -> u32,
        raw_at_bind: &'a dyn Fn(u16) -> u32,
        virt: &'a dyn Fn(u16) -> u32,
    ) -> Self {
        let mut scan = Self {
            raw,
            raw_at_bind,
            virt,
            raw_caps: DwordSet::new(),
            virt_caps: DwordSet::new(),
            occupied: DwordSet::new(),
            virt_last: None,
        };
        for cap in walk(raw) {
            scan.raw_caps.insert(cap.offset);
        }
        for start in scan.raw_caps.iter() {
            let end = scan.raw_cap_end(start);
            scan.occupied.insert_range(start, end);
        }
        for cap in walk(virt) {
            scan.virt_caps.insert(cap.offset);
            scan.occupied.insert(cap.offset);
            scan.virt_last = Some(cap.offset);
        }
        scan
    }

    /// End of the raw capability at `start`; see the module documentation.
    fn raw_cap_end(&self, start: u16) -> u16 {
        let header = (self.raw)(start);
        match known_len(self.raw, start, header) {
            Some(len) => start
                .checked_add(len)
                .map_or(PCI_CFG_SPACE_EXP_SIZE, |end| {
                    end.min(PCI_CFG_SPACE_EXP_SIZE)
                }),
            None => self
                .raw_caps
                .next_after(start)
                .unwrap_or(PCI_CFG_SPACE_EXP_SIZE),
        }
    }

    /// The capability (offset, ID) occupying the dword at `offset`.
    fn owner(&self, offset: u16) -> (u16, u16) {
        let raw = self
            .raw_caps
            .iter()
            .take_while(|&start| start <= offset)
            .filter(|&start| self.raw_cap_end(start) > offset)
            .last();
        match raw {
            Some(start) => (start, ext_cap_id((self.raw)(start))),
            None if self.virt_caps.contains(offset) => (offset, ext_cap_id((self.virt)(offset))),
            None => (offset, 0),
        }
    }

    /// Whether `cap` can go at `offset`, given the other emulated capability `other`.
    fn check(
        &self,
        cap: EmulatedCap,
        offset: u16,
        other: Option<(EmulatedCap, u16)>,
    ) -> Result<(), Unusable> {
        match self.conflict(cap, offset, other) {
            None => Ok(()),
            Some(Conflict::Unusable(why)) => Err(why),
            Some(Conflict::Occupied(pos)) => {
                let (offset, id) = self.owner(pos);
                Err(Unusable::OverlapsCapability { offset, id })
            }
        }
    }

    /// Whether `cap` can go at `offset`, without the cost of saying why not.
    fn usable(&self, cap: EmulatedCap, offset: u16, other: Option<(EmulatedCap, u16)>) -> bool {
        self.conflict(cap, offset, other).is_none()
    }

    /// The first reason why `cap` cannot go at `offset`, if any.
    fn conflict(
        &self,
        cap: EmulatedCap,
        offset: u16,
        other: Option<(EmulatedCap, u16)>,
    ) -> Option<Conflict> {
        if offset & 3 != 0 {
            return Some(Conflict::Unusable(Unusable::Misaligned));
        }
        if offset < PCI_CFG_SPACE_SIZE {
            return Some(Conflict::Unusable(Unusable::BelowExtendedConfig));
        }
        let end = match offset.checked_add(cap.size()) {
            Some(end) if end <= PCI_CFG_SPACE_EXP_SIZE => end,
            _ => return Some(Conflict::Unusable(Unusable::BeyondConfigSpace)),
        };
        if let Some((other, other_offset)) = other {
            let other_end = other_offset.saturating_add(other.size());
            if offset < other_end && other_offset < end {
                return Some(Conflict::Unusable(Unusable::OverlapsEmulated {
                    cap: other,
                    offset: other_offset,
                }));
            }
        }
        if let Some(taken) = (offset..end)
            .step_by(4)
            .find(|&pos| self.occupied.contains(pos))
        {
            return Some(Conflict::Occupied(taken));
        }
        for pos in (offset..end).step_by(4) {
            for (sample, read) in [(Sample::Now, self.raw), (Sample::Bind, self.raw_at_bind)] {
                let value = read(pos);
                if value != 0 {
                    return Some(Conflict::Unusable(Unusable::HardwareNotZero {
                        offset: pos,
                        value,
                        sample,
                    }));
                }
            }
        }
        None
    }

    /// Places `cap` as `req` asks, given the other emulated capability `other`.
    fn place(
        &self,
        cap: EmulatedCap,
        req: &Request,
        other: Option<(EmulatedCap, u16)>,
    ) -> CapPlacement {
        let placed = |offset, rule, advice_rejected| CapPlacement {
            cap,
            outcome: Outcome::Placed { offset, rule },
            advice_rejected,
        };
        if let Some(offset) = req.admin {
            let outcome = match self.check(cap, offset, other) {
                Ok(()) => Outcome::Placed {
                    offset,
                    rule: Rule::Admin,
                },
                Err(why) => Outcome::Refused(Refusal::AdminOffsetUnusable { offset, why }),
            };
            return CapPlacement {
                cap,
                outcome,
                advice_rejected: None,
            };
        }
        let head_free = other.is_none_or(|(_, offset)| offset != PCI_CFG_SPACE_SIZE);
        if self.virt_last.is_none() && head_free && self.usable(cap, PCI_CFG_SPACE_SIZE, other) {
            return placed(PCI_CFG_SPACE_SIZE, Rule::ChainHead, None);
        }
        let mut advice_rejected = None;
        if let Some(offset) = req.advised {
            match self.check(cap, offset, other) {
                Ok(()) => return placed(offset, Rule::Advised, None),
                Err(why) => advice_rejected = Some(Rejected { offset, why }),
            }
        }
        if self.usable(cap, req.pf_offset, other) {
            return placed(req.pf_offset, Rule::PfOffset, advice_rejected);
        }
        let last = PCI_CFG_SPACE_EXP_SIZE.saturating_sub(cap.size()) & !3;
        if let Some(offset) = (PCI_CFG_SPACE_SIZE..=last)
            .rev()
            .step_by(4)
            .find(|&offset| self.usable(cap, offset, other))
        {
            return placed(offset, Rule::HighestFree, advice_rejected);
        }
        CapPlacement {
            cap,
            outcome: Outcome::Refused(Refusal::NoFreeSpace),
            advice_rejected,
        }
    }
}

/// Where the administrator and the PF ask an emulated capability to go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Offset set by the administrator. If it is unusable the capability is not presented:
    /// there is no fallback, as a VM migrating between hosts relies on the layout.
    pub admin: Option<u16>,
    /// Offset advised by a PF-side provider; if unusable, the next rule applies.
    pub advised: Option<u16>,
    /// Offset of the capability in the PF.
    pub pf_offset: u16,
}

/// The rule that placed an emulated capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The administrator's offset.
    Admin,
    /// 0x100, because the virtualised view has no extended capability: the emulated
    /// capability heads the chain.
    ChainHead,
    /// The offset advised by the PF-side provider.
    Advised,
    /// The offset of the capability in the PF.
    PfOffset,
    /// The highest usable dword-aligned offset: free space is searched from the top of
    /// extended configuration space down.
    HighestFree,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Admin => "administrator's offset",
            Self::ChainHead => "head of the extended capability chain",
            Self::Advised => "offset advised by the PF",
            Self::PfOffset => "PF's offset",
            Self::HighestFree => "highest free offset",
        })
    }
}

/// Why an offset cannot hold an emulated capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// The offset is not dword aligned.
    Misaligned,
    /// The offset is below extended configuration space (0x100).
    BelowExtendedConfig,
    /// The capability would extend beyond configuration space (0x1000).
    BeyondConfigSpace,
    /// The range overlaps a capability of the VF.
    OverlapsCapability {
        /// Offset of that capability.
        offset: u16,
        /// Its Capability ID.
        id: u16,
    },
    /// The range overlaps the other emulated capability.
    OverlapsEmulated {
        /// The other emulated capability.
        cap: EmulatedCap,
        /// Its offset.
        offset: u16,
    },
    /// A dword of the range is not 0 in the VF's hardware, now or when the VF was bound:
    /// it may be a register that no capability describes.
    HardwareNotZero {
        /// Offset of the dword.
        offset: u16,
        /// What it reads (or read at bind).
        value: u32,
        /// Which reading of the hardware is not 0.
        sample: Sample,
    },
}

/// A reading of the VF's hardware configuration space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// As it reads now, when the placement is made (at open, after the reset that
    /// vfio-pci does).
    Now,
    /// As it read when the VF was bound to the driver, before any reset.
    Bind,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Misaligned => f.write_str("not dword aligned"),
            Self::BelowExtendedConfig => f.write_str("below extended configuration space"),
            Self::BeyondConfigSpace => f.write_str("extends beyond configuration space"),
            Self::OverlapsCapability { offset, id } => {
                write!(f, "overlaps capability {id:#06x} at {offset:#05x}")
            }
            Self::OverlapsEmulated { cap, offset } => {
                write!(f, "overlaps the emulated {cap} capability at {offset:#05x}")
            }
            Self::HardwareNotZero {
                offset,
                value,
                sample: Sample::Now,
            } => {
                write!(
                    f,
                    "hardware dword at {offset:#05x} reads {value:#010x}, not 0"
                )
            }
            Self::HardwareNotZero {
                offset,
                value,
                sample: Sample::Bind,
            } => {
                write!(
                    f,
                    "hardware dword at {offset:#05x} read {value:#010x} at bind, not 0"
                )
            }
        }
    }
}

/// Why an emulated capability is not presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The administrator's offset is unusable.
    AdminOffsetUnusable {
        /// The administrator's offset.
        offset: u16,
        /// Why it is unusable.
        why: Unusable,
    },
    /// No free range is large enough.
    NoFreeSpace,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AdminOffsetUnusable { offset, why } => {
                write!(f, "administrator's offset {offset:#05x} is unusable: {why}")
            }
            Self::NoFreeSpace => f.write_str("no free space in extended configuration space"),
        }
    }
}

/// An advised offset that was not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The advised offset.
    pub offset: u16,
    /// Why it is unusable.
    pub why: Unusable,
}

/// What became of an emulated capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It is presented at `offset`.
    Placed {
        /// Offset of the capability.
        offset: u16,
        /// The rule that chose the offset.
        rule: Rule,
    },
    /// It is not presented.
    Refused(Refusal),
}

/// The placement of one emulated capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapPlacement {
    /// Which capability.
    pub cap: EmulatedCap,
    /// Where it goes, or why it does not.
    pub outcome: Outcome,
    /// The advised offset, if there was one and it was unusable.
    pub advice_rejected: Option<Rejected>,
}

impl CapPlacement {
    /// The offset, if placed.
    pub fn offset(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Placed { offset, .. } => Some(offset),
            Outcome::Refused(_) => None,
        }
    }
}

impl fmt::Display for CapPlacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::Placed { offset, rule } => {
                write!(f, "{} at {offset:#05x} ({rule})", self.cap)?
            }
            Outcome::Refused(why) => write!(f, "{} not presented: {why}", self.cap)?,
        }
        if let Some(Rejected { offset, why }) = self.advice_rejected {
            write!(f, "; advised offset {offset:#05x} is unusable: {why}")?;
        }
        Ok(())
    }
}

/// How the emulated capabilities join the chain of the virtualised view.
///
/// The emulated capabilities are chained in ascending offset order; the last one has
/// Next Capability Offset 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The Next Capability Offset of the last capability of the virtualised chain, at
    /// `last_cap`, is rewritten to point at the first emulated capability; its ID and
    /// Version stay as vfio-pci shows them.
    PatchNext {
        /// Offset of the last capability of the virtualised chain.
        last_cap: u16,
    },
    /// The virtualised view has no extended capability and the first emulated capability
    /// is at 0x100: it heads the chain.
    Head,
    /// The virtualised view has no extended capability and 0x100 could not hold an
    /// emulated capability (hardware uses it): the header dword at 0x100 is emulated as a
    /// null capability (ID 0, Version 0, as vfio-pci itself does for a hidden first
    /// capability) whose Next Capability Offset points at the first emulated capability.
    HeadPlaceholder,
}

impl Link {
    /// The link for a virtualised chain ending at `virt_last` (`None` if it is empty) and
    /// a first emulated capability at `first`.
    pub fn new(virt_last: Option<u16>, first: u16) -> Self {
        match virt_last {
            Some(last_cap) => Self::PatchNext { last_cap },
            None if first == PCI_CFG_SPACE_SIZE => Self::Head,
            None => Self::HeadPlaceholder,
        }
    }

    /// The header dword of the null capability of [`Link::HeadPlaceholder`].
    pub fn placeholder_header(first: u16) -> u32 {
        ext_cap_header(0, 0, first)
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PatchNext { last_cap } => {
                write!(f, "linked from the capability at {last_cap:#05x}")
            }
            Self::Head => f.write_str("heading the chain at 0x100"),
            Self::HeadPlaceholder => f.write_str("linked from a null capability at 0x100"),
        }
    }
}

/// Where the emulated capabilities go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pasid: Option<CapPlacement>,
    pri: Option<CapPlacement>,
    virt_last: Option<u16>,
}

impl Placement {
    /// The PASID capability's placement; `None` if it was not requested.
    pub fn pasid(&self) -> Option<&CapPlacement> {
        self.pasid.as_ref()
    }

    /// The PRI capability's placement; `None` if it was not requested.
    pub fn pri(&self) -> Option<&CapPlacement> {
        self.pri.as_ref()
    }

    /// Offset of the last capability of the virtualised chain; `None` if it is empty.
    pub fn virt_last(&self) -> Option<u16> {
        self.virt_last
    }

    /// How the placed capabilities join the chain; `None` if none is placed.
    pub fn link(&self) -> Option<Link> {
        let pasid = self.pasid.and_then(|p| p.offset());
        let pri = self.pri.and_then(|p| p.offset());
        let first = match (pasid, pri) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return None,
        };
        Some(Link::new(self.virt_last, first))
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for cap in [self.pasid, self.pri].iter().flatten() {
            write!(f, "{sep}{cap}")?;
            sep = "; ";
        }
        match self.link() {
            Some(link) => write!(f, "{sep}{link}"),
            None if sep.is_empty() => f.write_str("nothing to emulate"),
            None => Ok(()),
        }
    }
}

/// Chooses where the emulated PASID and PRI capabilities go (`None`: not requested).
///
/// `raw` reads the VF's hardware now, `raw_at_bind` returns what it read when the VF was
/// bound (before any reset; a glue without that sample passes `raw` again), and `virt`
/// reads vfio-pci's virtualised view. Each is called only for dword-aligned offsets
/// below 0x1000; `raw_at_bind` only for offsets from 0x100. The chains and the lengths of
/// capabilities come from `raw` and `virt` alone.
///
/// Capabilities pinned by the administrator ([`Request::admin`] set) are placed first,
/// PASID before PRI; then the others, PASID before PRI, each avoiding whatever is placed
/// already. So an automatically placed capability never takes an administrator's offset,
/// and an administrator's offset that is usable on its own is refused only if both are
/// pinned and overlap: PASID then wins and PRI is refused
/// ([`Unusable::OverlapsEmulated`]). For each capability, the first rule that yields a
/// usable offset wins:
/// 1. [`Rule::Admin`], the [`Request::admin`] offset if set; if it is unusable, the
///    capability is refused;
/// 2. [`Rule::ChainHead`], 0x100, if the virtualised view has no extended capability and
///    the other emulated capability is not there already;
/// 3. [`Rule::Advised`], the [`Request::advised`] offset if set;
/// 4. [`Rule::PfOffset`], the [`Request::pf_offset`] offset;
/// 5. [`Rule::HighestFree`], the highest usable offset.
///
/// An offset is usable if it is dword aligned and at least 0x100, the capability ends at
/// or below 0x1000, does not overlap occupied space (see the module documentation) or the
/// other emulated capability, and every dword of it reads 0 from the hardware now
/// (`raw`) and read 0 at bind (`raw_at_bind`).
///
/// If the virtualised view has no extended capability and no emulated capability ends up
/// at 0x100, the chain is headed by an emulated null capability ([`Link::HeadPlaceholder`]).
pub fn place(
    raw: &dyn Fn(u16) -> u32,
    raw_at_bind: &dyn Fn(u16) -> u32,
    virt: &dyn Fn(u16) -> u32,
    pasid: Option<Request>,
    pri: Option<Request>,
) -> Placement {
    let scan = Scan::new(raw, raw_at_bind, virt);
    // Where `placement` of `cap` put it, for the other capability to avoid.
    let at = |cap: EmulatedCap, placement: Option<CapPlacement>| {
        placement
            .and_then(|p| p.offset())
            .map(|offset| (cap, offset))
    };
    let pinned = |req: &Request| req.admin.is_some();
    let (mut pasid_at, mut pri_at) = (None, None);
    if let Some(req) = pasid.filter(pinned) {
        pasid_at = Some(scan.place(EmulatedCap::Pasid, &req, None));
    }
    if let Some(req) = pri.filter(pinned) {
        let other = at(EmulatedCap::Pasid, pasid_at);
        pri_at = Some(scan.place(EmulatedCap::Pri, &req, other));
    }
    if let Some(req) = pasid.filter(|req| !pinned(req)) {
        let other = at(EmulatedCap::Pri, pri_at);
        pasid_at = Some(scan.place(EmulatedCap::Pasid, &req, other));
    }
    if let Some(req) = pri.filter(|req| !pinned(req)) {
        let other = at(EmulatedCap::Pasid, pasid_at);
        pri_at = Some(scan.place(EmulatedCap::Pri, &req, other));
    }
    Placement {
        pasid: pasid_at,
        pri: pri_at,
        virt_last: scan.virt_last,
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dword_set_inserts_whole_dwords_and_iterates_ascending() {
        let mut set = DwordSet::new();
        set.insert_range(0x106, 0x10d);
        set.insert(0xffc);
        let mut members = [0u16; 4];
        for (slot, member) in members.iter_mut().zip(set.iter()) {
            *slot = member;
        }
        assert_eq!(members, [0x104, 0x108, 0x10c, 0xffc]);
        assert_eq!(set.next_after(0x108), Some(0x10c));
        assert_eq!(set.next_after(0xffc), None);
    }

    #[test]
    fn dword_set_ignores_offsets_beyond_config_space() {
        let mut set = DwordSet::new();
        set.insert(0x1000);
        set.insert(0xfffc);
        set.insert_range(0xff8, 0xffff);
        assert!(!set.contains(0x1000));
        assert_eq!(set.iter().count(), 2);
    }

    #[test]
    fn known_len_of_vsec_comes_from_its_header() {
        let raw = |off: u16| match off {
            0x104 => 0x0181_0001,
            _ => 0,
        };
        assert_eq!(
            known_len(&raw, 0x100, u32::from(PCI_EXT_CAP_ID_VNDR)),
            Some(0x18)
        );
    }

    #[test]
    fn known_len_of_acs_with_egress_control_counts_the_vector() {
        let raw = |off: u16| match off {
            0x104 => 0x0000_4020,
            _ => 0,
        };
        // 0x40 bits: 8 bytes of vector after the 8 bytes of registers.
        assert_eq!(
            known_len(&raw, 0x100, u32::from(PCI_EXT_CAP_ID_ACS)),
            Some(0x10)
        );
    }

    #[test]
    fn known_len_of_tph_with_st_table_in_the_capability_counts_it() {
        let raw = |off: u16| match off {
            0x104 => 0x0002_0200,
            _ => 0,
        };
        // Three 2-byte entries after 0x0c bytes, rounded up to a dword.
        assert_eq!(
            known_len(&raw, 0x100, u32::from(PCI_EXT_CAP_ID_TPH)),
            Some(0x14)
        );
    }

    #[test]
    fn known_len_of_vsec_near_the_end_of_config_space_is_unknown() {
        let raw = |_| 0xffff_ffffu32;
        assert_eq!(known_len(&raw, 0xffc, u32::from(PCI_EXT_CAP_ID_VNDR)), None);
    }
}
