// SPDX-License-Identifier: GPL-2.0

//! Extended capability chains: walking them, and the length of each capability.
//!
//! Configuration space is read through a closure returning the dword at a dword-aligned
//! offset.
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
//! # Length of a capability
//!
//! The length of a capability comes from its ID: the fixed lengths of the PCIe spec, or
//! for Vendor-Specific, Designated Vendor-Specific, ACS, Resizable BAR, VF Resizable BAR,
//! DPA and TPH the length its registers describe (as vfio-pci's `vfio_ext_cap_len`
//! computes it). It is not known for an unknown ID, Virtual Channel, Secondary PCIe, DPC,
//! ... or a length field that makes no sense: the placement ([`super::place()`]) then treats
//! the capability conservatively.

use super::{
    ext_cap_id,
    ext_cap_next,
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
pub(super) struct DwordSet {
    bits: [u32; DWORDS / 32],
}

impl DwordSet {
    pub(super) const fn new() -> Self {
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

    pub(super) fn insert(&mut self, offset: u16) {
        if let Some((word, bit)) = Self::locate(offset) {
            if let Some(word) = self.bits.get_mut(word) {
                *word |= bit;
            }
        }
    }

    pub(super) fn contains(&self, offset: u16) -> bool {
        Self::locate(offset)
            .and_then(|(word, bit)| self.bits.get(word).map(|word| word & bit != 0))
            .unwrap_or(false)
    }

    /// Inserts every dword overlapping `[start, end)`.
    pub(super) fn insert_range(&mut self, start: u16, end: u16) {
        for offset in ((start & !3)..end.min(PCI_CFG_SPACE_EXP_SIZE)).step_by(4) {
            self.insert(offset);
        }
    }

    /// The members, ascending.
    pub(super) fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..PCI_CFG_SPACE_EXP_SIZE)
            .step_by(4)
            .filter(move |&offset| self.contains(offset))
    }

    /// The smallest member above `offset`.
    pub(super) fn next_after(&self, offset: u16) -> Option<u16> {
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
pub(super) fn known_len(raw: &dyn Fn(u16) -> u32, offset: u16, header: u32) -> Option<u16> {
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
