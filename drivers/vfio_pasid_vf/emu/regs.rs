// SPDX-License-Identifier: GPL-2.0

//! Register model of the emulated PASID and Page Request capabilities.
//!
//! Each capability is a table of [`Reg`] entries, in the spirit of the `perm_bits` of
//! `drivers/vfio/pci/vfio_pci_config.c`: per register its offset, width, reset value and
//! which bits are RW, RW1C, RO or write-only actions. Every other bit is RsvdP/RsvdZ: it
//! reads 0 and writes to it are ignored. The tables are built per VF because some reset
//! values (the RO fields) and RW masks come from the PF.
//!
//! The side effects that a table cannot express are in [`CapRegs::write`] and
//! [`CapRegs::read_byte`]:
//! - Page Request Control Enable 0->1 clears Response Failure and Unexpected PRG Index;
//! - Page Request Control Reset written 1 clears them too when Enable is 0 or is being
//!   cleared by the same write; with Enable staying 1 the result is undefined by the spec
//!   and the write is ignored and reported;
//! - Page Request Status Stopped reads 1 exactly while Enable is 0.

use core::fmt;

use super::{
    ext_cap_header,
    EMULATED_CAP_VERSION,
    PASID_CAP_WIDTH_SHIFT,
    PCI_EXT_CAP_ID_PASID,
    PCI_EXT_CAP_ID_PRI,
    PCI_EXT_CAP_PASID_SIZEOF,
    PCI_EXT_CAP_PRI_SIZEOF,
    PCI_PASID_CAP,
    PCI_PASID_CAP_EXEC,
    PCI_PASID_CAP_PRIV,
    PCI_PASID_CAP_WIDTH,
    PCI_PASID_CTRL,
    PCI_PASID_CTRL_ENABLE,
    PCI_PASID_CTRL_EXEC,
    PCI_PASID_CTRL_PRIV,
    PCI_PRI_ALLOC_REQ,
    PCI_PRI_CTRL,
    PCI_PRI_CTRL_ENABLE,
    PCI_PRI_CTRL_RESET,
    PCI_PRI_MAX_REQ,
    PCI_PRI_STATUS,
    PCI_PRI_STATUS_PASID,
    PCI_PRI_STATUS_RF,
    PCI_PRI_STATUS_STOPPED,
    PCI_PRI_STATUS_UPRGI, //
};

/// The PF's PASID Extended Capability, as the glue reads it from the PF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PfPasid {
    /// Offset of the capability in the PF's configuration space.
    pub offset: u16,
    /// Capability Version of the PF's capability. Informational: the emulated capability
    /// always has version [`EMULATED_CAP_VERSION`].
    pub version: u8,
    /// The PF's PASID Capability register.
    pub cap: u16,
    /// The PF's PASID Control register.
    pub ctrl: u16,
}

/// The PF's Page Request Extended Capability, as the glue reads it from the PF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PfPri {
    /// Offset of the capability in the PF's configuration space.
    pub offset: u16,
    /// Capability Version of the PF's capability. Informational: the emulated capability
    /// always has version [`EMULATED_CAP_VERSION`].
    pub version: u8,
    /// The PF's Page Request Status register; only PRG Response PASID Required is used,
    /// and only while the PASID capability is presented too. Nothing else is mirrored.
    pub status: u16,
    /// The PF's Outstanding Page Request Capacity register.
    pub capacity: u32,
}

/// What the host's IOMMU supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostLimits {
    /// Widest PASID the IOMMU supports, in bits (for example 20).
    pub max_pasid_width: u8,
}

/// The PASID Capability register presented to the VF's user.
///
/// Only the fields this emulation understands are kept: Execute Permission Supported if
/// the PF supports it and has Execute Permission Enable set in its PASID Control,
/// Privileged Mode Supported likewise, and Max PASID Width the smaller of the PF's and the
/// host's. Every reserved bit reads 0.
pub fn pasid_cap_presented(pf: &PfPasid, limits: &HostLimits) -> u16 {
    let mut cap = 0;
    if pf.cap & PCI_PASID_CAP_EXEC != 0 && pf.ctrl & PCI_PASID_CTRL_EXEC != 0 {
        cap |= PCI_PASID_CAP_EXEC;
    }
    if pf.cap & PCI_PASID_CAP_PRIV != 0 && pf.ctrl & PCI_PASID_CTRL_PRIV != 0 {
        cap |= PCI_PASID_CAP_PRIV;
    }
    let pf_width = (pf.cap & PCI_PASID_CAP_WIDTH)
        .checked_shr(PASID_CAP_WIDTH_SHIFT)
        .unwrap_or(0);
    let width = pf_width.min(u16::from(limits.max_pasid_width));
    let field = width.checked_shl(PASID_CAP_WIDTH_SHIFT).unwrap_or(0) & PCI_PASID_CAP_WIDTH;
    cap | field
}

/// The emulated capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmulatedCap {
    /// The PASID Extended Capability.
    Pasid,
    /// The Page Request (PRI) Extended Capability.
    Pri,
}

impl EmulatedCap {
    /// Extended Capability ID.
    pub const fn id(self) -> u16 {
        match self {
            Self::Pasid => PCI_EXT_CAP_ID_PASID,
            Self::Pri => PCI_EXT_CAP_ID_PRI,
        }
    }

    /// Size of the capability in bytes.
    pub const fn size(self) -> u16 {
        match self {
            Self::Pasid => PCI_EXT_CAP_PASID_SIZEOF,
            Self::Pri => PCI_EXT_CAP_PRI_SIZEOF,
        }
    }
}

impl fmt::Display for EmulatedCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pasid => f.write_str("PASID"),
            Self::Pri => f.write_str("PRI"),
        }
    }
}

/// One register of an emulated capability.
///
/// A bit that is in none of `rw`, `rw1c`, `ro` and `action` is reserved: it reads 0 and
/// writes to it are ignored (RsvdP and RsvdZ alike).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reg {
    /// Offset of the register from the start of the capability.
    pub offset: u16,
    /// Width of the register in bytes (2 or 4; 0 marks an unused table entry).
    pub width: u16,
    /// Value after reset, including the RO fields.
    pub reset: u32,
    /// Read-write bits.
    pub rw: u32,
    /// Write-1-to-clear bits.
    pub rw1c: u32,
    /// Read-only bits.
    pub ro: u32,
    /// Bits that trigger an action when written 1 and always read 0.
    pub action: u32,
}

impl Reg {
    /// An unused table entry.
    const NONE: Self = Self {
        offset: 0,
        width: 0,
        reset: 0,
        rw: 0,
        rw1c: 0,
        ro: 0,
        action: 0,
    };

    /// A read-only register.
    const fn ro(offset: u16, width: u16, value: u32) -> Self {
        Self {
            offset,
            width,
            reset: value,
            rw: 0,
            rw1c: 0,
            ro: Self::width_mask(width),
            action: 0,
        }
    }

    /// All bits of a register of `width` bytes.
    const fn width_mask(width: u16) -> u32 {
        match width {
            1 => 0xff,
            2 => 0xffff,
            4 => 0xffff_ffff,
            _ => 0,
        }
    }

    /// The reserved bits.
    pub const fn reserved(&self) -> u32 {
        Self::width_mask(self.width) & !(self.rw | self.rw1c | self.ro | self.action)
    }

    /// Index of the byte at `off` (from the start of the capability) in this register.
    fn byte_index(&self, off: u16) -> Option<usize> {
        let index = off.checked_sub(self.offset)?;
        if index < self.width && index < 4 {
            Some(usize::from(index))
        } else {
            None
        }
    }

    /// The bytes of `data` (written at `rel` from the start of the capability) that fall
    /// in this register: (value, byte-enable mask).
    fn gather(&self, rel: u16, data: &[u8]) -> (u32, u32) {
        let mut value = [0u8; 4];
        let mut enable = [0u8; 4];
        for (i, &byte) in data.iter().enumerate() {
            let Some(off) = u16::try_from(i).ok().and_then(|i| rel.checked_add(i)) else {
                break;
            };
            let Some(index) = self.byte_index(off) else {
                continue;
            };
            if let (Some(v), Some(e)) = (value.get_mut(index), enable.get_mut(index)) {
                *v = byte;
                *e = 0xff;
            }
        }
        (u32::from_le_bytes(value), u32::from_le_bytes(enable))
    }
}

/// What a write to emulated registers did, for the glue to act on or log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegEffects {
    /// A write tried to change a read-only bit (it was ignored).
    pub wrote_ro_bits: bool,
    /// A write set a reserved bit (it was ignored).
    pub wrote_reserved_bits: bool,
    /// PASID Control Enable changed to this value.
    pub pasid_enable: Option<bool>,
    /// Page Request Control Enable changed to this value.
    pub pri_enable: Option<bool>,
    /// Page Request Control Reset took effect: the VF's page request state was cleared.
    pub pri_reset: bool,
    /// Page Request Control Reset was written 1 while Enable was and stayed 1: the spec
    /// leaves the result undefined, the write was ignored.
    pub pri_reset_ignored_while_enabled: bool,
}

impl RegEffects {
    /// Accumulates `other` into `self`; a later Enable change overrides an earlier one.
    pub fn merge(&mut self, other: &RegEffects) {
        self.wrote_ro_bits |= other.wrote_ro_bits;
        self.wrote_reserved_bits |= other.wrote_reserved_bits;
        if other.pasid_enable.is_some() {
            self.pasid_enable = other.pasid_enable;
        }
        if other.pri_enable.is_some() {
            self.pri_enable = other.pri_enable;
        }
        self.pri_reset |= other.pri_reset;
        self.pri_reset_ignored_while_enabled |= other.pri_reset_ignored_while_enabled;
    }
}

/// Maximum number of registers of an emulated capability.
const MAX_REGS: usize = 5;

/// The per-VF registers of one emulated capability: its table and current values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapRegs {
    cap: EmulatedCap,
    regs: [Reg; MAX_REGS],
    vals: [u32; MAX_REGS],
    /// PASID: the PF's PASID is off, so PASID Control reads 0 and ignores writes.
    pf_pasid_off: bool,
}

impl CapRegs {
    /// The PASID capability presenting PASID Capability register `cap` (see
    /// [`pasid_cap_presented`]), with Next Capability Offset `next`.
    ///
    /// Execute Permission Enable and Privileged Mode Enable are RW only if `cap` presents
    /// the matching Supported bit; otherwise they are reserved.
    pub fn pasid(cap: u16, next: u16) -> Self {
        let mut ctrl_rw = PCI_PASID_CTRL_ENABLE;
        if cap & PCI_PASID_CAP_EXEC != 0 {
            ctrl_rw |= PCI_PASID_CTRL_EXEC;
        }
        if cap & PCI_PASID_CAP_PRIV != 0 {
            ctrl_rw |= PCI_PASID_CTRL_PRIV;
        }
        let header = ext_cap_header(EmulatedCap::Pasid.id(), EMULATED_CAP_VERSION, next);
        let cap_fields = PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV | PCI_PASID_CAP_WIDTH;
        Self::new(
            EmulatedCap::Pasid,
            [
                Reg::ro(0, 4, header),
                Reg {
                    ro: u32::from(cap_fields),
                    ..Reg::ro(PCI_PASID_CAP, 2, u32::from(cap & cap_fields))
                },
                Reg {
                    offset: PCI_PASID_CTRL,
                    width: 2,
                    rw: u32::from(ctrl_rw),
                    ..Reg::NONE
                },
                Reg::NONE,
                Reg::NONE,
            ],
        )
    }

    /// The Page Request capability with PRG Response PASID Required taken from the PF's
    /// Page Request Status `pf_status` (the caller clears it when no PASID capability is
    /// presented), Outstanding Page Request Capacity `capacity`, and Next Capability
    /// Offset `next`. Response Failure and Unexpected PRG Index start at 0.
    pub fn pri(pf_status: u16, capacity: u32, next: u16) -> Self {
        let header = ext_cap_header(EmulatedCap::Pri.id(), EMULATED_CAP_VERSION, next);
        Self::new(
            EmulatedCap::Pri,
            [
                Reg::ro(0, 4, header),
                Reg {
                    offset: PCI_PRI_CTRL,
                    width: 2,
                    rw: u32::from(PCI_PRI_CTRL_ENABLE),
                    action: u32::from(PCI_PRI_CTRL_RESET),
                    ..Reg::NONE
                },
                Reg {
                    offset: PCI_PRI_STATUS,
                    width: 2,
                    reset: u32::from(pf_status & PCI_PRI_STATUS_PASID),
                    rw1c: u32::from(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI),
                    ro: u32::from(PCI_PRI_STATUS_STOPPED | PCI_PRI_STATUS_PASID),
                    ..Reg::NONE
                },
                Reg::ro(PCI_PRI_MAX_REQ, 4, capacity),
                Reg {
                    offset: PCI_PRI_ALLOC_REQ,
                    width: 4,
                    rw: 0xffff_ffff,
                    ..Reg::NONE
                },
            ],
        )
    }

    fn new(cap: EmulatedCap, regs: [Reg; MAX_REGS]) -> Self {
        let mut this = Self {
            cap,
            regs,
            vals: [0; MAX_REGS],
            pf_pasid_off: false,
        };
        this.reset();
        this
    }

    /// Which capability these are the registers of.
    pub fn cap(&self) -> EmulatedCap {
        self.cap
    }

    /// The register table.
    pub fn regs(&self) -> impl Iterator<Item = &Reg> + '_ {
        self.regs.iter().filter(|reg| reg.width != 0)
    }

    /// Puts every register back to its reset value.
    pub fn reset(&mut self) {
        for (val, reg) in self.vals.iter_mut().zip(self.regs.iter()) {
            *val = reg.reset;
        }
    }

    /// PASID: tells the registers whether the PF's PASID is off (a VF can use PASIDs only
    /// while its PF's are enabled). While it is off, PASID Control reads 0, its enables
    /// cleared when it went off, and writes to it are ignored; when it comes back, the
    /// enables stay 0 until written again. Returns whether the state changed. Other
    /// capabilities ignore it.
    pub fn set_pf_pasid_off(&mut self, off: bool) -> bool {
        if self.cap != EmulatedCap::Pasid || self.pf_pasid_off == off {
            return false;
        }
        self.pf_pasid_off = off;
        if off {
            if let Some(ctrl) = self.stored_mut(PCI_PASID_CTRL) {
                *ctrl = 0;
            }
        }
        true
    }

    /// The stored value of the register at `offset`.
    fn stored(&self, offset: u16) -> u32 {
        self.regs
            .iter()
            .zip(self.vals.iter())
            .find(|(reg, _)| reg.width != 0 && reg.offset == offset)
            .map_or(0, |(_, &val)| val)
    }

    /// The stored value of the register at `offset`, for update.
    fn stored_mut(&mut self, offset: u16) -> Option<&mut u32> {
        self.regs
            .iter()
            .zip(self.vals.iter_mut())
            .find(|(reg, _)| reg.width != 0 && reg.offset == offset)
            .map(|(_, val)| val)
    }

    /// Whether Page Request Control Enable is set.
    fn pri_enabled(&self) -> bool {
        self.cap == EmulatedCap::Pri
            && self.stored(PCI_PRI_CTRL) & u32::from(PCI_PRI_CTRL_ENABLE) != 0
    }

    /// The value `reg` reads, given its stored value: adds the derived bits.
    fn value(&self, reg: &Reg, stored: u32) -> u32 {
        if self.cap == EmulatedCap::Pri && reg.offset == PCI_PRI_STATUS && !self.pri_enabled() {
            stored | u32::from(PCI_PRI_STATUS_STOPPED)
        } else {
            stored
        }
    }

    /// The value the register at `offset` reads, if there is one.
    pub fn reg(&self, offset: u16) -> Option<u32> {
        self.regs
            .iter()
            .zip(self.vals.iter())
            .find(|(reg, _)| reg.width != 0 && reg.offset == offset)
            .map(|(reg, &val)| self.value(reg, val))
    }

    /// The byte at `off` from the start of the capability (0 outside of it).
    pub fn read_byte(&self, off: u16) -> u8 {
        for (reg, &val) in self.regs.iter().zip(self.vals.iter()) {
            if let Some(index) = reg.byte_index(off) {
                let bytes = self.value(reg, val).to_le_bytes();
                return bytes.get(index).copied().unwrap_or(0);
            }
        }
        0
    }

    /// Reads the bytes at `rel` from the start of the capability into `buf`, the value of
    /// each register computed once: what [`CapRegs::read_byte`] reads for each byte, for
    /// those inside the capability; `buf` must not reach beyond it (the rest is left alone).
    pub fn read(&self, rel: u16, buf: &mut [u8]) {
        let Ok(len) = u16::try_from(buf.len()) else {
            return;
        };
        let end = rel.saturating_add(len).min(self.cap.size());
        if let Some(inside) = buf.get_mut(..usize::from(end.saturating_sub(rel))) {
            inside.fill(0);
        }
        for (reg, &val) in self.regs.iter().zip(self.vals.iter()) {
            let (start, stop) = (
                reg.offset.max(rel),
                reg.offset.saturating_add(reg.width.min(4)).min(end),
            );
            if reg.width == 0 || start >= stop {
                continue;
            }
            let value = self.value(reg, val).to_le_bytes();
            // In bytes from the start of the register, and of `buf`.
            let from = |base: u16| usize::from(start.saturating_sub(base));
            let to = |base: u16| usize::from(stop.saturating_sub(base));
            let src = value.get(from(reg.offset)..to(reg.offset));
            let dst = buf.get_mut(from(rel)..to(rel));
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
        }
    }

    /// Writes `data` at `rel` bytes from the start of the capability.
    ///
    /// Each register touched gets a masked update of the bytes written: RW bits take the
    /// written value, RW1C bits written 1 clear, everything else is left alone. Bytes
    /// outside of the capability are ignored.
    pub fn write(&mut self, rel: u16, data: &[u8]) -> RegEffects {
        let mut fx = RegEffects::default();
        let regs = self.regs;
        // What each register read before the write: RO bits are compared against that,
        // whatever the side effects of another register in the same write.
        let mut before = [0u32; MAX_REGS];
        for ((value, reg), &val) in before.iter_mut().zip(regs.iter()).zip(self.vals.iter()) {
            *value = self.value(reg, val);
        }
        for (reg, &before) in regs.iter().zip(before.iter()) {
            if reg.width == 0 {
                continue;
            }
            let (data, enable) = reg.gather(rel, data);
            if enable == 0 {
                continue;
            }
            let old = self.stored(reg.offset);
            if (data ^ before) & enable & reg.ro != 0 {
                fx.wrote_ro_bits = true;
            }
            if data & enable & reg.reserved() != 0 {
                fx.wrote_reserved_bits = true;
            }
            let written = data & enable;
            // PASID Control while the PF's PASID is off: nothing is writable.
            let rw = if self.pf_pasid_off && reg.offset == PCI_PASID_CTRL {
                0
            } else {
                reg.rw
            };
            let new = ((old & !(enable & rw)) | (written & rw)) & !(written & reg.rw1c);
            if let Some(val) = self.stored_mut(reg.offset) {
                *val = new;
            }
            self.side_effects(reg.offset, old, new, written, &mut fx);
        }
        fx
    }

    /// The side effects of writing `written` (byte-enabled bits only) to the register at
    /// `offset`, whose stored value went from `old` to `new`.
    fn side_effects(&mut self, offset: u16, old: u32, new: u32, written: u32, fx: &mut RegEffects) {
        match (self.cap, offset) {
            (EmulatedCap::Pasid, PCI_PASID_CTRL) => {
                let enable = u32::from(PCI_PASID_CTRL_ENABLE);
                if (old ^ new) & enable != 0 {
                    fx.pasid_enable = Some(new & enable != 0);
                }
            }
            (EmulatedCap::Pri, PCI_PRI_CTRL) => {
                let enable = u32::from(PCI_PRI_CTRL_ENABLE);
                let was = old & enable != 0;
                let is = new & enable != 0;
                if was != is {
                    fx.pri_enable = Some(is);
                }
                if !was && is {
                    self.clear_pri_status();
                }
                if written & u32::from(PCI_PRI_CTRL_RESET) != 0 {
                    if was && is {
                        fx.pri_reset_ignored_while_enabled = true;
                    } else {
                        self.clear_pri_status();
                        fx.pri_reset = true;
                    }
                }
            }
            _ => {}
        }
    }

    /// Clears Response Failure and Unexpected PRG Index.
    fn clear_pri_status(&mut self) {
        if let Some(val) = self.stored_mut(PCI_PRI_STATUS) {
            *val &= !u32::from(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
        }
    }

    /// Latches device events into Page Request Status: `bits` may set Response Failure
    /// and Unexpected PRG Index; other bits are ignored, as is a PASID capability.
    ///
    /// The events must be attributed to this VF: see
    /// [`Emulation::set_pri_status_events`](super::Emulation::set_pri_status_events).
    pub fn latch_pri_status(&mut self, bits: u16) {
        if self.cap != EmulatedCap::Pri {
            return;
        }
        if let Some(val) = self.stored_mut(PCI_PRI_STATUS) {
            *val |= u32::from(bits & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
        }
    }
}
