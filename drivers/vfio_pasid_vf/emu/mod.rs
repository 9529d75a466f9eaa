// SPDX-License-Identifier: GPL-2.0

//! Emulated PASID and PRI Extended Capabilities for SR-IOV Virtual Functions.
//!
//! A VF cannot implement the PASID or Page Request Extended Capabilities (PCIe r6.0): they
//! belong to the PF. This module emulates both in the VF's
//! configuration space as VFIO presents it to userspace, with values taken from the PF.
//!
//! It is plain `core` Rust without `unsafe`, allocation or panics, so that the same files
//! build inside the kernel module (`mod emu;`) and on the host (`cargo test`, fuzzing).
//! Everything it needs from the device comes in as plain data or as closures reading a
//! configuration dword.
//!
//! - [`regs`]: the register model, one small table of [`Reg`] per capability (in the
//!   spirit of the `perm_bits` of `drivers/vfio/pci/vfio_pci_config.c`) plus the few side
//!   effects (PRI Enable, PRI Reset, Stopped);
//! - [`chain`]: walking an extended capability chain ([`walk`]) and the length of each
//!   capability in it;
//! - [`place`](mod@place): the placement policy, which chooses where the emulated
//!   capabilities go ([`place()`]): the rules in order, and the scan for a free offset
//!   that neither a capability nor a hardware register uses;
//! - [`access`]: the per-VF [`Emulation`], which classifies, merges and splits the
//!   configuration accesses of userspace.
//!
//! The glue uses it as follows:
//!
//! 1. When the VF is bound, sample its raw extended configuration space (before any
//!    reset). When the device is opened, read the PF's capabilities into [`PfPasid`] and
//!    [`PfPri`], call [`place()`] with closures reading the VF's raw configuration space,
//!    the sample taken at bind, and vfio-pci's virtualised view (it walks the chains
//!    itself: the glue needs nothing from [`chain`]), log the [`Placement`] (it
//!    implements `Display`) and build an [`Emulation`]. If [`Emulation::is_empty`], take
//!    the plain vfio-pci path for every access.
//! 2. On a read of `[pos, pos + len)`: [`Emulation::classify`]; [`Access::Real`] goes to
//!    vfio-pci alone; [`Access::Mixed`] reads the range from vfio-pci, then lets
//!    [`Emulation::read`] overwrite the emulated bytes; [`Access::Emulated`] calls
//!    [`Emulation::read`] on a zeroed buffer.
//! 3. On a write: [`Access::Real`] goes to vfio-pci alone; otherwise
//!    [`Emulation::write`] applies the emulated part and returns in
//!    [`WriteEffects::real`] the parts of the data to forward to vfio-pci.
//! 4. On FLR, reset and close: [`Emulation::reset`].
//!
//! The lints below keep it so: no `unsafe`, and none of the operations that can panic
//! (arithmetic that can overflow, indexing, `unwrap`, ...) outside of `#[cfg(test)]` code.

#![forbid(unsafe_code)]
#![deny(
    clippy::arithmetic_side_effects,
    clippy::expect_used,
    clippy::float_arithmetic,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::unreachable,
    clippy::unwrap_used
)]

pub mod access;
pub mod chain;
pub mod place;
pub mod regs;

// The glue uses a subset of these, the host tests all of them.
#[allow(unused_imports)]
pub use access::{
    Access,
    Emulation,
    RealParts,
    WriteEffects, //
};
#[allow(unused_imports)]
pub use chain::{
    walk,
    Chain,
    ExtCap, //
};
#[allow(unused_imports)]
pub use place::{
    place,
    CapPlacement,
    Link,
    Outcome,
    Placement,
    Refusal,
    Rejected,
    Request,
    Rule,
    Sample,
    Unusable, //
};
#[allow(unused_imports)]
pub use regs::{
    pasid_cap_presented,
    CapRegs,
    EmulatedCap,
    HostLimits,
    PfPasid,
    PfPri,
    Reg,
    RegEffects, //
};

/// Size of the PCI-compatible configuration space: extended capabilities start here.
pub const PCI_CFG_SPACE_SIZE: u16 = 0x100;
/// Size of the PCI Express configuration space: extended capabilities end here.
pub const PCI_CFG_SPACE_EXP_SIZE: u16 = 0x1000;

/// Extended Capability ID: Advanced Error Reporting.
pub const PCI_EXT_CAP_ID_ERR: u16 = 0x01;
/// Extended Capability ID: Device Serial Number.
pub const PCI_EXT_CAP_ID_DSN: u16 = 0x03;
/// Extended Capability ID: Power Budgeting.
pub const PCI_EXT_CAP_ID_PWR: u16 = 0x04;
/// Extended Capability ID: Vendor-Specific Extended Capability.
pub const PCI_EXT_CAP_ID_VNDR: u16 = 0x0b;
/// Extended Capability ID: Access Control Services.
pub const PCI_EXT_CAP_ID_ACS: u16 = 0x0d;
/// Extended Capability ID: Alternative Routing-ID Interpretation.
pub const PCI_EXT_CAP_ID_ARI: u16 = 0x0e;
/// Extended Capability ID: Address Translation Services.
pub const PCI_EXT_CAP_ID_ATS: u16 = 0x0f;
/// Extended Capability ID: Single Root I/O Virtualization.
pub const PCI_EXT_CAP_ID_SRIOV: u16 = 0x10;
/// Extended Capability ID: Multicast.
pub const PCI_EXT_CAP_ID_MCAST: u16 = 0x12;
/// Extended Capability ID: Page Request Interface.
pub const PCI_EXT_CAP_ID_PRI: u16 = 0x13;
/// Extended Capability ID: Resizable BAR.
pub const PCI_EXT_CAP_ID_REBAR: u16 = 0x15;
/// Extended Capability ID: Dynamic Power Allocation.
pub const PCI_EXT_CAP_ID_DPA: u16 = 0x16;
/// Extended Capability ID: TLP Processing Hints.
pub const PCI_EXT_CAP_ID_TPH: u16 = 0x17;
/// Extended Capability ID: Latency Tolerance Reporting.
pub const PCI_EXT_CAP_ID_LTR: u16 = 0x18;
/// Extended Capability ID: Process Address Space ID.
pub const PCI_EXT_CAP_ID_PASID: u16 = 0x1b;
/// Extended Capability ID: L1 PM Substates.
pub const PCI_EXT_CAP_ID_L1SS: u16 = 0x1e;
/// Extended Capability ID: Precision Time Measurement.
pub const PCI_EXT_CAP_ID_PTM: u16 = 0x1f;
/// Extended Capability ID: Designated Vendor-Specific Extended Capability.
pub const PCI_EXT_CAP_ID_DVSEC: u16 = 0x23;
/// Extended Capability ID: VF Resizable BAR.
pub const PCI_EXT_CAP_ID_VF_REBAR: u16 = 0x24;
/// Extended Capability ID: Data Link Feature.
pub const PCI_EXT_CAP_ID_DLF: u16 = 0x25;
/// Extended Capability ID: Native PCIe Enclosure Management.
pub const PCI_EXT_CAP_ID_NPEM: u16 = 0x29;
/// Extended Capability ID: Data Object Exchange.
pub const PCI_EXT_CAP_ID_DOE: u16 = 0x2e;

/// Capability Version of the emulated PASID and PRI capabilities.
pub const EMULATED_CAP_VERSION: u8 = 1;

/// PASID Capability register (16 bit, RO).
pub const PCI_PASID_CAP: u16 = 0x04;
/// PASID Capability: Execute Permission Supported.
pub const PCI_PASID_CAP_EXEC: u16 = 0x0002;
/// PASID Capability: Privileged Mode Supported.
pub const PCI_PASID_CAP_PRIV: u16 = 0x0004;
/// PASID Capability: Max PASID Width, bits 12:8.
pub const PCI_PASID_CAP_WIDTH: u16 = 0x1f00;
/// PASID Capability: shift of Max PASID Width ([`PCI_PASID_CAP_WIDTH`]). Not in
/// `pci_regs.h`, hence no `PCI_` prefix.
pub const PASID_CAP_WIDTH_SHIFT: u32 = 8;
/// PASID Control register (16 bit).
pub const PCI_PASID_CTRL: u16 = 0x06;
/// PASID Control: PASID Enable (RW).
pub const PCI_PASID_CTRL_ENABLE: u16 = 0x0001;
/// PASID Control: Execute Permission Enable (RW if Execute Permission Supported).
pub const PCI_PASID_CTRL_EXEC: u16 = 0x0002;
/// PASID Control: Privileged Mode Enable (RW if Privileged Mode Supported).
pub const PCI_PASID_CTRL_PRIV: u16 = 0x0004;
/// Size of the PASID Extended Capability.
pub const PCI_EXT_CAP_PASID_SIZEOF: u16 = 0x08;

/// Page Request Control register (16 bit).
pub const PCI_PRI_CTRL: u16 = 0x04;
/// Page Request Control: Enable (RW).
pub const PCI_PRI_CTRL_ENABLE: u16 = 0x0001;
/// Page Request Control: Reset (reads 0).
pub const PCI_PRI_CTRL_RESET: u16 = 0x0002;
/// Page Request Status register (16 bit).
pub const PCI_PRI_STATUS: u16 = 0x06;
/// Page Request Status: Response Failure (RW1C).
pub const PCI_PRI_STATUS_RF: u16 = 0x0001;
/// Page Request Status: Unexpected Page Request Group Index (RW1C).
pub const PCI_PRI_STATUS_UPRGI: u16 = 0x0002;
/// Page Request Status: Stopped (RO).
pub const PCI_PRI_STATUS_STOPPED: u16 = 0x0100;
/// Page Request Status: PRG Response PASID Required (RO).
pub const PCI_PRI_STATUS_PASID: u16 = 0x8000;
/// Outstanding Page Request Capacity register (32 bit, RO).
pub const PCI_PRI_MAX_REQ: u16 = 0x08;
/// Outstanding Page Request Allocation register (32 bit, RW).
pub const PCI_PRI_ALLOC_REQ: u16 = 0x0c;
/// Size of the Page Request Extended Capability.
pub const PCI_EXT_CAP_PRI_SIZEOF: u16 = 0x10;

/// Capability ID, bits 15:0 of an Extended Capability Header (Linux's `PCI_EXT_CAP_ID`).
pub const fn ext_cap_id(header: u32) -> u16 {
    (header & 0xffff) as u16
}

/// Next Capability Offset, bits 31:20 of an Extended Capability Header.
///
/// Bits 1:0 of the field are reserved and masked, as the PCIe spec requires of software
/// (and as Linux's `PCI_EXT_CAP_NEXT` does).
pub const fn ext_cap_next(header: u32) -> u16 {
    ((header >> 20) & 0xffc) as u16
}

/// An Extended Capability Header with the given ID, Version and Next Capability Offset.
pub const fn ext_cap_header(id: u16, version: u8, next: u16) -> u32 {
    (id as u32) | (((version & 0xf) as u32) << 16) | (((next & 0xffc) as u32) << 20)
}
