// SPDX-License-Identifier: GPL-2.0

//! Where the emulated capabilities go: the placement policy.
//!
//! Configuration space is read through closures returning the dword at a dword-aligned
//! offset: `raw` reads the VF's hardware, `raw_at_bind` returns what the hardware read
//! when the VF was bound to the driver (before any reset), and `virt` reads vfio-pci's
//! virtualised view (which hides some capabilities by giving them ID 0 or by skipping them
//! in the chain). The chains are walked as [`super::chain`] describes.
//!
//! # Occupied space
//!
//! Every capability of the raw chain occupies configuration space, hidden or not, for the
//! length that [`super::chain`] computes from its ID and registers. A capability whose
//! length is not known is conservatively taken to extend up to the next capability by
//! address, or to 0x1000 if it is the highest. The header dword of every capability of
//! the virtualised chain is occupied too.
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
    chain::{
        known_len,
        walk,
        DwordSet, //
    },
    ext_cap_header,
    ext_cap_id,
    regs::EmulatedCap,
    PCI_CFG_SPACE_EXP_SIZE,
    PCI_CFG_SPACE_SIZE, //
};

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
