// SPDX-License-Identifier: GPL-2.0

//! Configuration accesses to a VF with emulated capabilities.
//!
//! An access may be of any length at any offset (vfio-pci itself splits long ones), so it
//! may straddle real and emulated bytes. A byte of configuration space is one of:
//! - real: vfio-pci handles it;
//! - emulated: a byte of an emulated capability, or of the null capability header of
//!   [`Link::HeadPlaceholder`];
//! - a byte of the Next Capability Offset of the link capability
//!   ([`Link::PatchNext`]): bits 7:4 of its header's byte 2 and all of byte 3. A read
//!   returns the real byte with those bits replaced; a write is real (vfio-pci keeps the
//!   header read-only).

use core::ops::Range;

use super::{
    place::{
        Link,
        Placement, //
    },
    regs::{
        pasid_cap_presented,
        CapRegs,
        EmulatedCap,
        HostLimits,
        PfPasid,
        PfPri,
        RegEffects, //
    },
    PCI_CFG_SPACE_EXP_SIZE,
    PCI_CFG_SPACE_SIZE,
    PCI_PRI_STATUS_PASID, //
};

/// What an access touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No emulated byte and no patched Next Capability Offset bit: vfio-pci alone handles
    /// it. So is an access that is empty or that does not fit in configuration space.
    Real,
    /// Only emulated bytes: the emulation alone handles it.
    Emulated,
    /// Both: the emulation handles part of it, vfio-pci the rest.
    Mixed,
}

/// Where a byte of configuration space comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Byte {
    /// vfio-pci.
    Real,
    /// Byte `rel` of an emulated capability.
    Cap(EmulatedCap, u16),
    /// Byte `index` of the null capability header of [`Link::HeadPlaceholder`].
    Placeholder(usize),
    /// Byte `index` (2 or 3) of the header of the capability of [`Link::PatchNext`].
    LinkNext(usize),
}

/// The parts of a written range that go to vfio-pci, as index ranges into the data.
///
/// There are at most four: an access can straddle at most three emulated ranges (the
/// PASID capability, the PRI capability and the null capability header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealParts {
    parts: [(usize, usize); 4],
    count: usize,
}

impl RealParts {
    fn push(&mut self, start: usize, end: usize) {
        if let Some(part) = self.parts.get_mut(self.count) {
            *part = (start, end);
            self.count = self.count.saturating_add(1);
        }
    }

    /// The parts, in ascending order: the data at `range` goes to vfio-pci at
    /// `pos + range.start`.
    pub fn iter(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.parts
            .iter()
            .take(self.count)
            .map(|&(start, end)| start..end)
    }

    /// Whether nothing goes to vfio-pci.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// What [`Emulation::write`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteEffects {
    /// The parts of the data that the glue forwards to vfio-pci.
    pub real: RealParts,
    /// What the write did to the emulated registers.
    pub regs: RegEffects,
}

/// An emulated capability and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    offset: u16,
    regs: CapRegs,
}

impl Slot {
    /// Byte `rel` of this capability holds `pos`, if it does.
    fn rel(&self, pos: u32) -> Option<u16> {
        let rel = pos.checked_sub(u32::from(self.offset))?;
        let rel = u16::try_from(rel).ok()?;
        (rel < self.regs.cap().size()).then_some(rel)
    }
}

/// The emulated capabilities of one VF: their placement, presented values and state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emulation {
    placement: Placement,
    pasid: Option<Slot>,
    pri: Option<Slot>,
    link: Option<Link>,
    /// Offset of the first emulated capability (0 if none).
    first: u16,
    pasid_cap: Option<u16>,
}

impl Emulation {
    /// Emulates the capabilities that `placement` placed and whose PF values are given.
    ///
    /// Page Request Status PRG Response PASID Required is the PF's bit if the PASID
    /// capability is presented too, and 0 if it is not (not requested, refused by the
    /// placement, or withheld: `pf_pasid` is `None`): without a PASID capability the VF's
    /// user cannot enable PASIDs, so responses carry none.
    pub fn new(
        placement: Placement,
        pf_pasid: Option<PfPasid>,
        pf_pri: Option<PfPri>,
        limits: HostLimits,
    ) -> Self {
        let pasid_at = pf_pasid.zip(placement.pasid().and_then(|p| p.offset()));
        let pri_at = pf_pri.zip(placement.pri().and_then(|p| p.offset()));
        // Chained in ascending offset order.
        let (pasid_next, pri_next) = match (pasid_at, pri_at) {
            (Some((_, pasid)), Some((_, pri))) if pasid < pri => (pri, 0),
            (Some((_, pasid)), Some(_)) => (0, pasid),
            _ => (0, 0),
        };
        let first = match (pasid_at, pri_at) {
            (Some((_, pasid)), Some((_, pri))) => Some(pasid.min(pri)),
            (Some((_, offset)), None) | (None, Some((_, offset))) => Some(offset),
            (None, None) => None,
        };
        let pasid_cap = pasid_at.map(|(pf, _)| pasid_cap_presented(&pf, &limits));
        Self {
            placement,
            pasid: pasid_at.zip(pasid_cap).map(|((_, offset), cap)| Slot {
                offset,
                regs: CapRegs::pasid(cap, pasid_next),
            }),
            pri: pri_at.map(|(pf, offset)| {
                let status = if pasid_at.is_some() {
                    pf.status
                } else {
                    pf.status & !PCI_PRI_STATUS_PASID
                };
                Slot {
                    offset,
                    regs: CapRegs::pri(status, pf.capacity, pri_next),
                }
            }),
            link: first.map(|first| Link::new(placement.virt_last(), first)),
            first: first.unwrap_or(0),
            pasid_cap,
        }
    }

    /// Whether nothing is emulated: the glue can take the plain vfio-pci path.
    pub fn is_empty(&self) -> bool {
        self.pasid.is_none() && self.pri.is_none()
    }

    /// The placement this emulation was built from.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// The PASID Capability register presented, if PASID is emulated.
    pub fn pasid_cap_presented(&self) -> Option<u16> {
        self.pasid_cap
    }

    /// How the emulated capabilities join the chain, if any is emulated.
    pub fn link(&self) -> Option<Link> {
        self.link
    }

    fn slot(&self, cap: EmulatedCap) -> Option<&Slot> {
        match cap {
            EmulatedCap::Pasid => self.pasid.as_ref(),
            EmulatedCap::Pri => self.pri.as_ref(),
        }
    }

    /// Offset of `cap`, if emulated.
    pub fn offset(&self, cap: EmulatedCap) -> Option<u16> {
        self.slot(cap).map(|slot| slot.offset)
    }

    /// The smallest range of config space that holds every emulated byte and bit (the
    /// capabilities, the patched Next Capability Offset, the null header); `None` if
    /// nothing is emulated. An access outside it is [`Access::Real`]: the glue can decide
    /// that from this range alone, without the per-byte walk of [`Emulation::classify`].
    pub fn span(&self) -> Option<Range<u16>> {
        let mut parts = [None; 3];
        if let (Some(first), Some(last)) = (
            [&self.pasid, &self.pri]
                .into_iter()
                .flatten()
                .map(|s| s.offset)
                .min(),
            [&self.pasid, &self.pri]
                .into_iter()
                .flatten()
                .map(|s| s.offset.saturating_add(s.regs.cap().size()))
                .max(),
        ) {
            parts[0] = Some((first, last));
        }
        parts[1] = match self.link {
            Some(Link::PatchNext { last_cap }) => {
                Some((last_cap.saturating_add(2), last_cap.saturating_add(4)))
            }
            Some(Link::HeadPlaceholder) => {
                Some((PCI_CFG_SPACE_SIZE, PCI_CFG_SPACE_SIZE.saturating_add(4)))
            }
            Some(Link::Head) | None => None,
        };
        let start = parts.iter().flatten().map(|p| p.0).min()?;
        let end = parts.iter().flatten().map(|p| p.1).max()?;
        Some(start..end)
    }

    /// The registers of `cap`, if emulated.
    pub fn regs(&self, cap: EmulatedCap) -> Option<&CapRegs> {
        self.slot(cap).map(|slot| &slot.regs)
    }

    /// Where the byte at `pos` comes from.
    fn locate(&self, pos: u32) -> Byte {
        for slot in [&self.pasid, &self.pri].into_iter().flatten() {
            if let Some(rel) = slot.rel(pos) {
                return Byte::Cap(slot.regs.cap(), rel);
            }
        }
        // Index of `pos` in the header dword at `header`.
        let index = |header: u16| {
            pos.checked_sub(u32::from(header))
                .and_then(|index| usize::try_from(index).ok())
        };
        match self.link {
            Some(Link::PatchNext { last_cap }) => match index(last_cap) {
                Some(index @ (2 | 3)) => Byte::LinkNext(index),
                _ => Byte::Real,
            },
            Some(Link::HeadPlaceholder) => match index(PCI_CFG_SPACE_SIZE) {
                Some(index @ 0..=3) => Byte::Placeholder(index),
                _ => Byte::Real,
            },
            Some(Link::Head) | None => Byte::Real,
        }
    }

    /// `[pos, pos + len)` as positions within configuration space, if it is not empty and
    /// fits.
    fn range(pos: u64, len: usize) -> Option<Range<u32>> {
        let end = pos.checked_add(u64::try_from(len).ok()?)?;
        if len == 0 || end > u64::from(PCI_CFG_SPACE_EXP_SIZE) {
            return None;
        }
        Some(u32::try_from(pos).ok()?..u32::try_from(end).ok()?)
    }

    /// What the access to `[pos, pos + len)` touches.
    ///
    /// [`Access::Emulated`] only if every bit of every byte is emulated; the bytes of a
    /// patched Next Capability Offset make an access [`Access::Mixed`].
    pub fn classify(&self, pos: u64, len: usize) -> Access {
        let Some(range) = Self::range(pos, len).filter(|_| !self.is_empty()) else {
            return Access::Real;
        };
        // Bytes of the access that overlap `[start, start + size)`.
        let overlap = |start: u16, size: u16| {
            let end = u32::from(start).saturating_add(u32::from(size));
            end.min(range.end)
                .saturating_sub(u32::from(start).max(range.start))
        };
        // Wholly emulated bytes: the capabilities and the null header. They do not overlap
        // (placement keeps them apart; the null header exists only when 0x100 is free).
        let mut emulated = 0u32;
        for slot in [&self.pasid, &self.pri].into_iter().flatten() {
            emulated = emulated.saturating_add(overlap(slot.offset, slot.regs.cap().size()));
        }
        // The bytes of a patched Next Capability Offset are both emulated and real.
        let mut patched = 0;
        match self.link {
            Some(Link::PatchNext { last_cap }) => patched = overlap(last_cap.saturating_add(2), 2),
            Some(Link::HeadPlaceholder) => {
                emulated = emulated.saturating_add(overlap(PCI_CFG_SPACE_SIZE, 4))
            }
            Some(Link::Head) | None => {}
        }
        let len = range.end.saturating_sub(range.start);
        match (emulated, patched) {
            (0, 0) => Access::Real,
            (_, 0) if emulated == len => Access::Emulated,
            _ => Access::Mixed,
        }
    }

    /// Reads `[pos, pos + buf.len())`: `buf` holds the real bytes (as vfio-pci returned
    /// them, or zeros for an [`Access::Emulated`] range); the emulated bytes and bits are
    /// overwritten, the others left alone.
    pub fn read(&self, pos: u16, buf: &mut [u8]) {
        // The bytes of `buf` inside configuration space.
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let range = u32::from(pos)
            ..u32::from(pos)
                .saturating_add(len)
                .min(PCI_CFG_SPACE_EXP_SIZE.into());
        // The capabilities: a register's value once for all its bytes.
        for slot in [&self.pasid, &self.pri].into_iter().flatten() {
            let cap_start = u32::from(slot.offset);
            let cap_end = cap_start.saturating_add(u32::from(slot.regs.cap().size()));
            let (start, end) = (range.start.max(cap_start), range.end.min(cap_end));
            let index = |at: u32| usize::try_from(at.saturating_sub(range.start)).ok();
            let part = index(start)
                .zip(index(end))
                .filter(|_| start < end)
                .and_then(|(from, to)| buf.get_mut(from..to));
            let rel = u16::try_from(start.saturating_sub(cap_start)).ok();
            if let Some((part, rel)) = part.zip(rel) {
                slot.regs.read(rel, part);
            }
        }
        // The link: a null header or a patched Next Capability Offset, a byte at a time.
        let link = match self.link {
            Some(Link::PatchNext { last_cap }) => {
                last_cap.saturating_add(2)..last_cap.saturating_add(4)
            }
            Some(Link::HeadPlaceholder) => PCI_CFG_SPACE_SIZE..PCI_CFG_SPACE_SIZE.saturating_add(4),
            Some(Link::Head) | None => return,
        };
        let header = Link::placeholder_header(self.first).to_le_bytes();
        let (start, end) = (
            range.start.max(link.start.into()),
            range.end.min(link.end.into()),
        );
        for pos in start..end {
            let byte = usize::try_from(pos.saturating_sub(range.start))
                .ok()
                .and_then(|index| buf.get_mut(index));
            match (self.locate(pos), byte) {
                (Byte::Placeholder(index), Some(byte)) => {
                    *byte = header.get(index).copied().unwrap_or(0)
                }
                (Byte::LinkNext(index), Some(byte)) => {
                    let next = header.get(index).copied().unwrap_or(0);
                    *byte = if index == 2 {
                        (*byte & 0x0f) | (next & 0xf0)
                    } else {
                        next
                    };
                }
                _ => {}
            }
        }
    }

    /// Writes `data` at `pos`: applies the emulated part and returns the parts to forward
    /// to vfio-pci (all of it if the access is [`Access::Real`]).
    ///
    /// Each emulated register touched gets a masked update of the bytes written (see
    /// [`CapRegs::write`]). The null capability header of [`Link::HeadPlaceholder`] is
    /// read-only.
    pub fn write(&mut self, pos: u16, data: &[u8]) -> WriteEffects {
        let mut fx = WriteEffects::default();
        if data.is_empty() {
            return fx;
        }
        let Some(range) = Self::range(u64::from(pos), data.len()).filter(|_| !self.is_empty())
        else {
            fx.real.push(0, data.len());
            return fx;
        };
        let mut run = None;
        for (index, pos) in range.clone().enumerate() {
            let real = matches!(self.locate(pos), Byte::Real | Byte::LinkNext(_));
            match (real, run) {
                (true, None) => run = Some(index),
                (false, Some(start)) => {
                    fx.real.push(start, index);
                    run = None;
                }
                _ => {}
            }
        }
        if let Some(start) = run {
            fx.real.push(start, data.len());
        }
        for slot in [&mut self.pasid, &mut self.pri].into_iter().flatten() {
            let cap_start = u32::from(slot.offset);
            let cap_end = cap_start.saturating_add(u32::from(slot.regs.cap().size()));
            let (start, end) = (range.start.max(cap_start), range.end.min(cap_end));
            if start >= end {
                continue;
            }
            let index = |pos: u32| usize::try_from(pos.saturating_sub(range.start)).ok();
            let sub = index(start)
                .zip(index(end))
                .and_then(|(from, to)| data.get(from..to));
            let rel = u16::try_from(start.saturating_sub(cap_start)).ok();
            if let Some((sub, rel)) = sub.zip(rel) {
                let effects = slot.regs.write(rel, sub);
                fx.regs.merge(&effects);
            }
        }
        if self.link == Some(Link::HeadPlaceholder) {
            let header = Link::placeholder_header(self.first).to_le_bytes();
            for (pos, &byte) in range.zip(data.iter()) {
                if let Byte::Placeholder(index) = self.locate(pos) {
                    if header.get(index).is_some_and(|&value| value != byte) {
                        fx.regs.wrote_ro_bits = true;
                    }
                }
            }
        }
        fx
    }

    /// Puts every emulated register back to its reset value (FLR, reset, close).
    pub fn reset(&mut self) {
        for slot in [&mut self.pasid, &mut self.pri].into_iter().flatten() {
            slot.regs.reset();
        }
    }

    /// Tells the emulated PASID capability whether the PF's PASID is off
    /// ([`CapRegs::set_pf_pasid_off`]); returns whether that changed anything.
    pub fn set_pf_pasid_off(&mut self, off: bool) -> bool {
        self.pasid
            .as_mut()
            .is_some_and(|slot| slot.regs.set_pf_pasid_off(off))
    }

    /// Latches device events in Page Request Status: `bits` may set Response Failure and
    /// Unexpected PRG Index, which stay set until written 1. Other bits are ignored.
    ///
    /// Only for events attributed to this VF. Nothing is mirrored from the PF's Page
    /// Request Status: an event there is PF-wide, it cannot be attributed to one VF, and
    /// showing it in every VF would leak events between tenants. Until a PF-side provider
    /// attributes events to a VF (a later interface), nothing calls this and both bits
    /// read 0.
    pub fn set_pri_status_events(&mut self, bits: u16) {
        if let Some(slot) = self.pri.as_mut() {
            slot.regs.latch_pri_status(bits);
        }
    }
}
