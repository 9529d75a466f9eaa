// SPDX-License-Identifier: GPL-2.0

//! A VF's config space as VFIO shows it: the walk of its PCI Express extended capabilities,
//! and the PASID and PRI registers.
//!
//! The constants have the names of `include/uapi/linux/pci_regs.h` (so one grep finds
//! both), and `tests/layout.rs` checks their values against it.  The walk and the decode
//! work on a snapshot of the config space ([`ExtConfig::parse`]), so they are tested on
//! synthetic buffers; [`crate::device::Vf::read_config`] takes the snapshot.

use std::fmt;

// ---------------------------------------------------------------------------------------
// <linux/pci_regs.h>
// ---------------------------------------------------------------------------------------

/// `PCI_CFG_SPACE_SIZE`: conventional config space; the extended capabilities start here.
pub const PCI_CFG_SPACE_SIZE: u16 = 256;
/// `PCI_CFG_SPACE_EXP_SIZE`: PCI Express config space.
pub const PCI_CFG_SPACE_EXP_SIZE: u16 = 4096;

/// `PCI_EXT_CAP_ID_ERR`: Advanced Error Reporting.
pub const PCI_EXT_CAP_ID_ERR: u16 = 0x01;
/// `PCI_EXT_CAP_ID_VNDR`: Vendor-Specific (VSEC).
pub const PCI_EXT_CAP_ID_VNDR: u16 = 0x0b;
/// `PCI_EXT_CAP_ID_ACS`: Access Control Services.
pub const PCI_EXT_CAP_ID_ACS: u16 = 0x0d;
/// `PCI_EXT_CAP_ID_ARI`: Alternative Routing-ID Interpretation.
pub const PCI_EXT_CAP_ID_ARI: u16 = 0x0e;
/// `PCI_EXT_CAP_ID_ATS`: Address Translation Services.
pub const PCI_EXT_CAP_ID_ATS: u16 = 0x0f;
/// `PCI_EXT_CAP_ID_SRIOV`: Single Root I/O Virtualization.
pub const PCI_EXT_CAP_ID_SRIOV: u16 = 0x10;
/// `PCI_EXT_CAP_ID_PRI`: Page Request Interface.
pub const PCI_EXT_CAP_ID_PRI: u16 = 0x13;
/// `PCI_EXT_CAP_ID_PASID`: Process Address Space ID.
pub const PCI_EXT_CAP_ID_PASID: u16 = 0x1b;

/// `PCI_VNDR_HEADER`: the Vendor-Specific Header of a VSEC (ID 15:0, Rev 19:16, Len 31:20).
pub const PCI_VNDR_HEADER: u16 = 4;

/// `PCI_PRI_CTRL`: PRI Control register (16 bits).
pub const PCI_PRI_CTRL: u16 = 0x04;
/// `PCI_PRI_CTRL_ENABLE`.
pub const PCI_PRI_CTRL_ENABLE: u16 = 0x0001;
/// `PCI_PRI_CTRL_RESET`.
pub const PCI_PRI_CTRL_RESET: u16 = 0x0002;
/// `PCI_PRI_STATUS`: PRI Status register (16 bits).
pub const PCI_PRI_STATUS: u16 = 0x06;
/// `PCI_PRI_STATUS_RF`: Response Failure.
pub const PCI_PRI_STATUS_RF: u16 = 0x0001;
/// `PCI_PRI_STATUS_UPRGI`: Unexpected Page Request Group Index.
pub const PCI_PRI_STATUS_UPRGI: u16 = 0x0002;
/// `PCI_PRI_STATUS_STOPPED`.
pub const PCI_PRI_STATUS_STOPPED: u16 = 0x0100;
/// `PCI_PRI_STATUS_PASID`: PRG Response PASID Required.
pub const PCI_PRI_STATUS_PASID: u16 = 0x8000;
/// `PCI_PRI_MAX_REQ`: Outstanding Page Request Capacity (32 bits).
pub const PCI_PRI_MAX_REQ: u16 = 0x08;
/// `PCI_PRI_ALLOC_REQ`: Outstanding Page Request Allocation (32 bits).
pub const PCI_PRI_ALLOC_REQ: u16 = 0x0c;
/// `PCI_EXT_CAP_PRI_SIZEOF`.
pub const PCI_EXT_CAP_PRI_SIZEOF: u16 = 16;

/// `PCI_PASID_CAP`: PASID Capability register (16 bits).
pub const PCI_PASID_CAP: u16 = 0x04;
/// `PCI_PASID_CAP_EXEC`: Execute Permission Supported.
pub const PCI_PASID_CAP_EXEC: u16 = 0x0002;
/// `PCI_PASID_CAP_PRIV`: Privileged Mode Supported.
pub const PCI_PASID_CAP_PRIV: u16 = 0x0004;
/// `PCI_PASID_CAP_WIDTH`: Max PASID Width, bits 12:8.
pub const PCI_PASID_CAP_WIDTH: u16 = 0x1f00;
/// `PCI_PASID_CTRL`: PASID Control register (16 bits).
pub const PCI_PASID_CTRL: u16 = 0x06;
/// `PCI_PASID_CTRL_ENABLE`.
pub const PCI_PASID_CTRL_ENABLE: u16 = 0x0001;
/// `PCI_PASID_CTRL_EXEC`: Execute Permission Enable.
pub const PCI_PASID_CTRL_EXEC: u16 = 0x0002;
/// `PCI_PASID_CTRL_PRIV`: Privileged Mode Enable.
pub const PCI_PASID_CTRL_PRIV: u16 = 0x0004;
/// `PCI_EXT_CAP_PASID_SIZEOF`.
pub const PCI_EXT_CAP_PASID_SIZEOF: u16 = 8;

/// `PCI_EXT_CAP_ID(header)`: Capability ID, bits 15:0.
pub const fn pci_ext_cap_id(header: u32) -> u16 {
    (header & 0xffff) as u16
}

/// `PCI_EXT_CAP_VER(header)`: Capability Version, bits 19:16.
pub const fn pci_ext_cap_ver(header: u32) -> u8 {
    ((header >> 16) & 0xf) as u8
}

/// Next Capability Offset, bits 31:20, as read: unlike `PCI_EXT_CAP_NEXT(header)` its two
/// low bits are kept, so that a misaligned pointer is seen rather than rounded down.
pub const fn pci_ext_cap_next_raw(header: u32) -> u16 {
    (header >> 20) as u16
}

/// The most extended capabilities a chain can hold: one per dword from 0x100 to 0xffc.
/// A walk that finds more is going round a loop.
pub const MAX_EXT_CAPS: usize = (PCI_CFG_SPACE_EXP_SIZE as usize - PCI_CFG_SPACE_SIZE as usize) / 4;

// ---------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------

/// Why a config space could not be walked or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The capability at `at` points to `next`, below 0x100.
    NextBelowExtended {
        /// The capability's offset.
        at: u16,
        /// Its Next Capability Offset.
        next: u16,
    },
    /// The capability at `at` points to `next`, not a multiple of 4.
    NextMisaligned {
        /// The capability's offset.
        at: u16,
        /// Its Next Capability Offset.
        next: u16,
    },
    /// More than [`MAX_EXT_CAPS`] capabilities: the Next pointers loop; `at` is the
    /// capability the walk would have visited next.
    Loop {
        /// The offset the walk was at when it gave up.
        at: u16,
    },
    /// A register of `what` at `at` (of `len` bytes) lies beyond the `size` bytes read.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Its offset.
        at: u16,
        /// Its size.
        len: u16,
        /// The size of the config space that was read.
        size: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NextBelowExtended { at, next } => write!(
                f,
                "the extended capability at {at:#05x} has Next {next:#05x}, below {PCI_CFG_SPACE_SIZE:#05x}"
            ),
            Self::NextMisaligned { at, next } => write!(
                f,
                "the extended capability at {at:#05x} has Next {next:#05x}, not dword aligned"
            ),
            Self::Loop { at } => write!(
                f,
                "the extended capability chain loops: more than {MAX_EXT_CAPS} capabilities (the walk was at {at:#05x})"
            ),
            Self::Truncated {
                what,
                at,
                len,
                size,
            } => write!(
                f,
                "{what} at {at:#05x} ({len} bytes) lies beyond the {size} bytes of config space read"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A little-endian register of `N` bytes at `at` of `cfg`.
fn read<const N: usize>(cfg: &[u8], at: u16, what: &'static str) -> Result<[u8; N], ConfigError> {
    let start = usize::from(at);
    cfg.get(start..start + N)
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or(ConfigError::Truncated {
            what,
            at,
            len: u16::try_from(N).unwrap_or(u16::MAX),
            size: cfg.len(),
        })
}

fn read_u16(cfg: &[u8], at: u16, what: &'static str) -> Result<u16, ConfigError> {
    read::<2>(cfg, at, what).map(u16::from_le_bytes)
}

fn read_u32(cfg: &[u8], at: u16, what: &'static str) -> Result<u32, ConfigError> {
    read::<4>(cfg, at, what).map(u32::from_le_bytes)
}

/// The header of an extended capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtCap {
    /// Where it is in config space.
    pub offset: u16,
    /// Its Capability ID (`PCI_EXT_CAP_ID_*`).
    pub id: u16,
    /// Its Capability Version.
    pub version: u8,
}

/// Walks the extended capability chain of the config space `cfg` (offset 0 first): from
/// 0x100, following the Next pointers, to a header of 0 or a Next of 0.
///
/// A config space of 0x100 bytes or less (no extended space) has no extended capability.
/// Fails on a Next below 0x100 or not dword aligned, on a chain longer than
/// [`MAX_EXT_CAPS`] (a loop), and on a header beyond `cfg`.
pub fn walk_ext_caps(cfg: &[u8]) -> Result<Vec<ExtCap>, ConfigError> {
    let mut caps = Vec::new();
    if cfg.len() <= usize::from(PCI_CFG_SPACE_SIZE) {
        return Ok(caps);
    }
    let mut at = PCI_CFG_SPACE_SIZE;
    loop {
        if caps.len() == MAX_EXT_CAPS {
            return Err(ConfigError::Loop { at });
        }
        let header = read_u32(cfg, at, "an extended capability header")?;
        if header == 0 {
            break;
        }
        caps.push(ExtCap {
            offset: at,
            id: pci_ext_cap_id(header),
            version: pci_ext_cap_ver(header),
        });
        let next = pci_ext_cap_next_raw(header);
        if next == 0 {
            break;
        }
        if next < PCI_CFG_SPACE_SIZE {
            return Err(ConfigError::NextBelowExtended { at, next });
        }
        if next % 4 != 0 {
            return Err(ConfigError::NextMisaligned { at, next });
        }
        at = next;
    }
    Ok(caps)
}

// ---------------------------------------------------------------------------------------
// The decoded capabilities
// ---------------------------------------------------------------------------------------

/// The registers of a PASID capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasidRegs {
    /// `PCI_PASID_CAP`.
    pub cap: u16,
    /// `PCI_PASID_CTRL`.
    pub ctrl: u16,
}

impl PasidRegs {
    /// Reads the registers of the PASID capability at `at` of `cfg`.
    pub fn read(cfg: &[u8], at: u16) -> Result<Self, ConfigError> {
        // Check the whole capability first: a header near the end of config space could
        // otherwise be decoded from a part of it.
        read::<{ PCI_EXT_CAP_PASID_SIZEOF as usize }>(cfg, at, "the PASID capability")?;
        Ok(Self {
            cap: read_u16(cfg, at + PCI_PASID_CAP, "PCI_PASID_CAP")?,
            ctrl: read_u16(cfg, at + PCI_PASID_CTRL, "PCI_PASID_CTRL")?,
        })
    }

    /// Max PASID Width (`PCI_PASID_CAP_WIDTH`), in bits.
    pub fn max_width(&self) -> u16 {
        (self.cap & PCI_PASID_CAP_WIDTH) >> PCI_PASID_CAP_WIDTH.trailing_zeros()
    }
}

/// The registers of a PRI capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriRegs {
    /// `PCI_PRI_CTRL`.
    pub ctrl: u16,
    /// `PCI_PRI_STATUS`.
    pub status: u16,
    /// `PCI_PRI_MAX_REQ`: Outstanding Page Request Capacity.
    pub max_req: u32,
    /// `PCI_PRI_ALLOC_REQ`: Outstanding Page Request Allocation.
    pub alloc_req: u32,
}

impl PriRegs {
    /// Reads the registers of the PRI capability at `at` of `cfg`.
    pub fn read(cfg: &[u8], at: u16) -> Result<Self, ConfigError> {
        read::<{ PCI_EXT_CAP_PRI_SIZEOF as usize }>(cfg, at, "the PRI capability")?;
        Ok(Self {
            ctrl: read_u16(cfg, at + PCI_PRI_CTRL, "PCI_PRI_CTRL")?,
            status: read_u16(cfg, at + PCI_PRI_STATUS, "PCI_PRI_STATUS")?,
            max_req: read_u32(cfg, at + PCI_PRI_MAX_REQ, "PCI_PRI_MAX_REQ")?,
            alloc_req: read_u32(cfg, at + PCI_PRI_ALLOC_REQ, "PCI_PRI_ALLOC_REQ")?,
        })
    }
}

/// What is decoded of an extended capability beyond its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// `PCI_EXT_CAP_ID_PASID`.
    Pasid(PasidRegs),
    /// `PCI_EXT_CAP_ID_PRI`.
    Pri(PriRegs),
    /// `PCI_EXT_CAP_ID_VNDR`: its `PCI_VNDR_HEADER`.
    Vendor(u32),
    /// Anything else: the header only.
    Other,
}

/// An extended capability: its header and what is decoded of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// The header.
    pub header: ExtCap,
    /// The registers that are decoded.
    pub decoded: Decoded,
}

/// The extended capabilities of a config space, in chain order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtConfig {
    /// Every capability of the chain.
    pub caps: Vec<Cap>,
}

impl ExtConfig {
    /// Walks the chain of `cfg` ([`walk_ext_caps`]) and decodes PASID, PRI and VSEC
    /// headers.
    pub fn parse(cfg: &[u8]) -> Result<Self, ConfigError> {
        let caps = walk_ext_caps(cfg)?
            .into_iter()
            .map(|header| {
                let at = header.offset;
                let decoded = match header.id {
                    PCI_EXT_CAP_ID_PASID => Decoded::Pasid(PasidRegs::read(cfg, at)?),
                    PCI_EXT_CAP_ID_PRI => Decoded::Pri(PriRegs::read(cfg, at)?),
                    PCI_EXT_CAP_ID_VNDR => {
                        Decoded::Vendor(read_u32(cfg, at + PCI_VNDR_HEADER, "PCI_VNDR_HEADER")?)
                    }
                    _ => Decoded::Other,
                };
                Ok(Cap { header, decoded })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self { caps })
    }

    /// The first PASID capability, if any.
    pub fn pasid(&self) -> Option<(ExtCap, PasidRegs)> {
        self.caps.iter().find_map(|c| match c.decoded {
            Decoded::Pasid(regs) => Some((c.header, regs)),
            _ => None,
        })
    }

    /// The first PRI capability, if any.
    pub fn pri(&self) -> Option<(ExtCap, PriRegs)> {
        self.caps.iter().find_map(|c| match c.decoded {
            Decoded::Pri(regs) => Some((c.header, regs)),
            _ => None,
        })
    }
}

// ---------------------------------------------------------------------------------------
// lspci -vvv
// ---------------------------------------------------------------------------------------
//
// The wording of pciutils' ls-ecaps.c (show_ext_caps(), cap_pasid(), cap_pri(),
// cap_evendor()), so that the output reads as `lspci -vvv` of the same device would.  The
// PRISta line has the PASID flag of current pciutils; lspci 3.9 and older end it at
// Stopped.

/// `+` or `-`, as pciutils' `FLAG(x, y)`.
fn flag(reg: u16, bit: u16) -> char {
    if reg & bit != 0 {
        '+'
    } else {
        '-'
    }
}

/// What lspci prints after the capability's `[offset vN] `, for one without a decoder
/// here (the first line of lspci's, where it has more).
pub fn ext_cap_name(id: u16) -> String {
    match id {
        0 => "Null".into(),
        PCI_EXT_CAP_ID_ERR => "Advanced Error Reporting".into(),
        PCI_EXT_CAP_ID_ACS => "Access Control Services".into(),
        PCI_EXT_CAP_ID_ARI => "Alternative Routing-ID Interpretation (ARI)".into(),
        PCI_EXT_CAP_ID_ATS => "Address Translation Service (ATS)".into(),
        PCI_EXT_CAP_ID_SRIOV => "Single Root I/O Virtualization (SR-IOV)".into(),
        PCI_EXT_CAP_ID_PRI => "Page Request Interface (PRI)".into(),
        PCI_EXT_CAP_ID_PASID => "Process Address Space ID (PASID)".into(),
        PCI_EXT_CAP_ID_VNDR => "Vendor Specific Information".into(),
        // C's %#02x: "0x" and at least one digit.
        id => format!("Extended Capability ID {id:#x}"),
    }
}

impl Cap {
    /// The lines `lspci -vvv` prints for this capability, each without its newline: the
    /// `\tCapabilities: [offset vN] name` line, then the decoded registers (two tabs).
    pub fn lspci_lines(&self) -> Vec<String> {
        let ExtCap {
            offset,
            id,
            version,
        } = self.header;
        let head = format!("\tCapabilities: [{offset:03x} v{version}] ");
        match self.decoded {
            Decoded::Pasid(regs) => {
                let mut lines = vec![head + &ext_cap_name(id)];
                lines.extend(regs.lspci_lines());
                lines
            }
            Decoded::Pri(regs) => {
                let mut lines = vec![head + &ext_cap_name(id)];
                lines.extend(regs.lspci_lines());
                lines
            }
            Decoded::Vendor(vsec) => vec![format!(
                "{head}Vendor Specific Information: ID={:04x} Rev={} Len={:03x} <?>",
                vsec & 0xffff,
                (vsec >> 16) & 0xf,
                vsec >> 20
            )],
            Decoded::Other => vec![head + &ext_cap_name(id)],
        }
    }
}

impl PasidRegs {
    /// `PASIDCap:` and `PASIDCtl:` as `lspci -vvv` prints them.
    pub fn lspci_lines(&self) -> [String; 2] {
        let (cap, ctrl) = (self.cap, self.ctrl);
        [
            format!(
                "\t\tPASIDCap: Exec{} Priv{}, Max PASID Width: {:02x}",
                flag(cap, PCI_PASID_CAP_EXEC),
                flag(cap, PCI_PASID_CAP_PRIV),
                self.max_width()
            ),
            format!(
                "\t\tPASIDCtl: Enable{} Exec{} Priv{}",
                flag(ctrl, PCI_PASID_CTRL_ENABLE),
                flag(ctrl, PCI_PASID_CTRL_EXEC),
                flag(ctrl, PCI_PASID_CTRL_PRIV)
            ),
        ]
    }
}

impl PriRegs {
    /// `PRICtl:`, `PRISta:` and the capacity line as `lspci -vvv` prints them.
    pub fn lspci_lines(&self) -> [String; 3] {
        let (ctrl, status) = (self.ctrl, self.status);
        [
            format!(
                "\t\tPRICtl: Enable{} Reset{}",
                flag(ctrl, PCI_PRI_CTRL_ENABLE),
                flag(ctrl, PCI_PRI_CTRL_RESET)
            ),
            format!(
                "\t\tPRISta: RF{} UPRGI{} Stopped{} PASID{}",
                flag(status, PCI_PRI_STATUS_RF),
                flag(status, PCI_PRI_STATUS_UPRGI),
                flag(status, PCI_PRI_STATUS_STOPPED),
                flag(status, PCI_PRI_STATUS_PASID)
            ),
            format!(
                "\t\tPage Request Capacity: {:08x}, Page Request Allocation: {:08x}",
                self.max_req, self.alloc_req
            ),
        ]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 4 KiB config space with these extended capabilities: (offset, ID, version, next)
    /// headers, and `regs` (offset, little-endian bytes) written after them.
    pub(crate) fn config(headers: &[(u16, u16, u8, u16)], regs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut cfg = vec![0u8; usize::from(PCI_CFG_SPACE_EXP_SIZE)];
        for &(at, id, version, next) in headers {
            let header = u32::from(id) | u32::from(version) << 16 | u32::from(next) << 20;
            let at = usize::from(at);
            cfg[at..at + 4].copy_from_slice(&header.to_le_bytes());
        }
        for &(at, bytes) in regs {
            let at = usize::from(at);
            cfg[at..at + bytes.len()].copy_from_slice(bytes);
        }
        cfg
    }

    /// The chain of a VF under vfio-pasid-vf: AER, ARI, then the emulated PASID and PRI.
    pub(crate) fn vf_config() -> Vec<u8> {
        config(
            &[
                (0x100, PCI_EXT_CAP_ID_ERR, 1, 0x150),
                (0x150, PCI_EXT_CAP_ID_ARI, 1, 0x1a0),
                (0x1a0, PCI_EXT_CAP_ID_PASID, 1, 0x1a8),
                (0x1a8, PCI_EXT_CAP_ID_PRI, 1, 0),
            ],
            &[
                // PASIDCap: Exec+ Priv+, width 0x14; PASIDCtl 0.
                (0x1a4, &[0x06, 0x14, 0x00, 0x00]),
                // PRICtl 0, PRISta Stopped+ PASID+, capacity 0x100, allocation 0.
                (0x1ac, &[0x00, 0x00, 0x00, 0x81, 0x00, 0x01, 0x00, 0x00]),
            ],
        )
    }

    fn cap(offset: u16, id: u16, version: u8) -> ExtCap {
        ExtCap {
            offset,
            id,
            version,
        }
    }

    #[test]
    fn header_fields() {
        let header = 0x1a81_001b;
        assert_eq!(pci_ext_cap_id(header), PCI_EXT_CAP_ID_PASID);
        assert_eq!(pci_ext_cap_ver(header), 1);
        assert_eq!(pci_ext_cap_next_raw(header), 0x1a8);
        assert_eq!(pci_ext_cap_next_raw(0xffff_ffff), 0xfff);
        assert_eq!(MAX_EXT_CAPS, 960);
    }

    #[test]
    fn walk_a_chain() {
        assert_eq!(
            walk_ext_caps(&vf_config()),
            Ok(vec![
                cap(0x100, PCI_EXT_CAP_ID_ERR, 1),
                cap(0x150, PCI_EXT_CAP_ID_ARI, 1),
                cap(0x1a0, PCI_EXT_CAP_ID_PASID, 1),
                cap(0x1a8, PCI_EXT_CAP_ID_PRI, 1),
            ])
        );
        // Backwards and to the last dword; a header of 0 ends the walk as Next 0 does.
        let cfg = config(
            &[
                (0x100, PCI_EXT_CAP_ID_ERR, 2, 0xffc),
                (0xffc, PCI_EXT_CAP_ID_ACS, 1, 0x200),
            ],
            &[],
        );
        assert_eq!(
            walk_ext_caps(&cfg),
            Ok(vec![
                cap(0x100, PCI_EXT_CAP_ID_ERR, 2),
                cap(0xffc, PCI_EXT_CAP_ID_ACS, 1)
            ])
        );
        // An ID of 0 with a version or a Next is a capability (lspci: "Null"), not the end.
        let cfg = config(&[(0x100, 0, 1, 0x110), (0x110, 0x42, 3, 0)], &[]);
        assert_eq!(
            walk_ext_caps(&cfg),
            Ok(vec![cap(0x100, 0, 1), cap(0x110, 0x42, 3)])
        );
    }

    #[test]
    fn walk_an_empty_extended_space() {
        let cfg = config(&[], &[]);
        assert_eq!(walk_ext_caps(&cfg), Ok(vec![]));
        assert_eq!(ExtConfig::parse(&cfg), Ok(ExtConfig::default()));
        // No extended space at all (a conventional PCI function).
        assert_eq!(walk_ext_caps(&cfg[..256]), Ok(vec![]));
        assert_eq!(walk_ext_caps(&[]), Ok(vec![]));
    }

    #[test]
    fn walk_a_loop() {
        for cfg in [
            // Onto itself.
            config(&[(0x100, PCI_EXT_CAP_ID_ERR, 1, 0x100)], &[]),
            // Back to the first.
            config(
                &[
                    (0x100, PCI_EXT_CAP_ID_ERR, 1, 0x1a0),
                    (0x1a0, PCI_EXT_CAP_ID_PASID, 1, 0x1a8),
                    (0x1a8, PCI_EXT_CAP_ID_PRI, 1, 0x100),
                ],
                &[],
            ),
        ] {
            let err = walk_ext_caps(&cfg).unwrap_err();
            assert!(matches!(err, ConfigError::Loop { .. }), "{err:?}");
            assert!(err.to_string().contains("loops"), "{err}");
        }
        // Every dword a capability pointing to the next one: 960 is not a loop.
        let mut headers: Vec<_> = (0x100..0x1000)
            .step_by(4)
            .map(|at| (at, PCI_EXT_CAP_ID_ERR, 1, at + 4))
            .collect();
        headers.last_mut().unwrap().3 = 0;
        let caps = walk_ext_caps(&config(&headers, &[])).unwrap();
        assert_eq!(caps.len(), MAX_EXT_CAPS);
    }

    #[test]
    fn walk_a_next_below_0x100() {
        let cfg = config(
            &[
                (0x100, PCI_EXT_CAP_ID_ERR, 1, 0x150),
                (0x150, PCI_EXT_CAP_ID_ARI, 1, 0x0fc),
            ],
            &[],
        );
        let err = walk_ext_caps(&cfg).unwrap_err();
        assert_eq!(
            err,
            ConfigError::NextBelowExtended {
                at: 0x150,
                next: 0x0fc
            }
        );
        assert_eq!(
            err.to_string(),
            "the extended capability at 0x150 has Next 0x0fc, below 0x100"
        );
    }

    #[test]
    fn walk_a_misaligned_next() {
        let cfg = config(&[(0x100, PCI_EXT_CAP_ID_ERR, 1, 0x152)], &[]);
        let err = walk_ext_caps(&cfg).unwrap_err();
        assert_eq!(
            err,
            ConfigError::NextMisaligned {
                at: 0x100,
                next: 0x152
            }
        );
        assert_eq!(
            err.to_string(),
            "the extended capability at 0x100 has Next 0x152, not dword aligned"
        );
        // All ones, as a failed read returns: Next 0xfff.
        let mut cfg = config(&[], &[]);
        cfg[0x100..0x104].copy_from_slice(&[0xff; 4]);
        assert!(matches!(
            walk_ext_caps(&cfg),
            Err(ConfigError::NextMisaligned { next: 0xfff, .. })
        ));
    }

    #[test]
    fn walk_beyond_what_was_read() {
        let cfg = config(&[(0x100, PCI_EXT_CAP_ID_ERR, 1, 0x200)], &[]);
        let err = walk_ext_caps(&cfg[..0x200]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an extended capability header at 0x200 (4 bytes) lies beyond the 512 bytes of config space read"
        );
        // A PRI capability in the last dword cannot hold its registers.
        let cfg = config(
            &[
                (0x100, PCI_EXT_CAP_ID_ERR, 1, 0xffc),
                (0xffc, PCI_EXT_CAP_ID_PRI, 1, 0),
            ],
            &[],
        );
        let err = ExtConfig::parse(&cfg).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Truncated {
                    what: "the PRI capability",
                    at: 0xffc,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn parse_decodes_pasid_and_pri() {
        let ext = ExtConfig::parse(&vf_config()).unwrap();
        assert_eq!(ext.caps.len(), 4);
        assert_eq!(
            ext.pasid(),
            Some((
                cap(0x1a0, PCI_EXT_CAP_ID_PASID, 1),
                PasidRegs {
                    cap: 0x1406,
                    ctrl: 0
                }
            ))
        );
        assert_eq!(
            ext.pri(),
            Some((
                cap(0x1a8, PCI_EXT_CAP_ID_PRI, 1),
                PriRegs {
                    ctrl: 0,
                    status: 0x8100,
                    max_req: 0x100,
                    alloc_req: 0
                }
            ))
        );
        assert_eq!(ext.pasid().unwrap().1.max_width(), 20);
        // Neither: hidden.
        let ext = ExtConfig::parse(&config(&[(0x100, PCI_EXT_CAP_ID_ERR, 1, 0)], &[])).unwrap();
        assert_eq!((ext.pasid(), ext.pri()), (None, None));
    }

    #[test]
    fn pasid_as_lspci_prints_it() {
        let lines = |cap, ctrl| PasidRegs { cap, ctrl }.lspci_lines();
        assert_eq!(
            lines(0x1406, 0),
            [
                "\t\tPASIDCap: Exec+ Priv+, Max PASID Width: 14",
                "\t\tPASIDCtl: Enable- Exec- Priv-",
            ]
        );
        assert_eq!(
            lines(0x0800, 0x0007),
            [
                "\t\tPASIDCap: Exec- Priv-, Max PASID Width: 08",
                "\t\tPASIDCtl: Enable+ Exec+ Priv+",
            ]
        );
        // Reserved bits do not show; the width is its 5 bits, in hex as lspci has it.
        assert_eq!(
            lines(0xfffb, 0xfffd),
            [
                "\t\tPASIDCap: Exec+ Priv-, Max PASID Width: 1f",
                "\t\tPASIDCtl: Enable+ Exec- Priv+",
            ]
        );
    }

    #[test]
    fn pri_as_lspci_prints_it() {
        let regs = PriRegs {
            ctrl: 0,
            status: 0x8100,
            max_req: 0x100,
            alloc_req: 0,
        };
        assert_eq!(
            regs.lspci_lines(),
            [
                "\t\tPRICtl: Enable- Reset-",
                "\t\tPRISta: RF- UPRGI- Stopped+ PASID+",
                "\t\tPage Request Capacity: 00000100, Page Request Allocation: 00000000",
            ]
        );
        let regs = PriRegs {
            ctrl: 0x0003,
            status: 0x0003,
            max_req: 0xdead_beef,
            alloc_req: 0x20,
        };
        assert_eq!(
            regs.lspci_lines(),
            [
                "\t\tPRICtl: Enable+ Reset+",
                "\t\tPRISta: RF+ UPRGI+ Stopped- PASID-",
                "\t\tPage Request Capacity: deadbeef, Page Request Allocation: 00000020",
            ]
        );
    }

    #[test]
    fn capability_lines() {
        let lines = |header, decoded| Cap { header, decoded }.lspci_lines();
        assert_eq!(
            lines(cap(0x100, PCI_EXT_CAP_ID_ERR, 1), Decoded::Other),
            ["\tCapabilities: [100 v1] Advanced Error Reporting"]
        );
        assert_eq!(
            lines(cap(0x160, PCI_EXT_CAP_ID_SRIOV, 1), Decoded::Other),
            ["\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)"]
        );
        assert_eq!(
            lines(cap(0xffc, 0x2a, 15), Decoded::Other),
            ["\tCapabilities: [ffc v15] Extended Capability ID 0x2a"]
        );
        assert_eq!(
            lines(cap(0x200, 0x5, 1), Decoded::Other),
            ["\tCapabilities: [200 v1] Extended Capability ID 0x5"]
        );
        assert_eq!(
            lines(
                cap(0x1c0, PCI_EXT_CAP_ID_VNDR, 1),
                Decoded::Vendor(0x0141_1234)
            ),
            ["\tCapabilities: [1c0 v1] Vendor Specific Information: ID=1234 Rev=1 Len=014 <?>"]
        );
        let ext = ExtConfig::parse(&vf_config()).unwrap();
        let all: Vec<String> = ext.caps.iter().flat_map(Cap::lspci_lines).collect();
        assert_eq!(
            all.join("\n"),
            "\tCapabilities: [100 v1] Advanced Error Reporting\n\
             \tCapabilities: [150 v1] Alternative Routing-ID Interpretation (ARI)\n\
             \tCapabilities: [1a0 v1] Process Address Space ID (PASID)\n\
             \t\tPASIDCap: Exec+ Priv+, Max PASID Width: 14\n\
             \t\tPASIDCtl: Enable- Exec- Priv-\n\
             \tCapabilities: [1a8 v1] Page Request Interface (PRI)\n\
             \t\tPRICtl: Enable- Reset-\n\
             \t\tPRISta: RF- UPRGI- Stopped+ PASID+\n\
             \t\tPage Request Capacity: 00000100, Page Request Allocation: 00000000"
        );
    }
}
