// SPDX-License-Identifier: GPL-2.0

//! Host build of the emulation core of vfio-pasid-vf.
//!
//! [`emu`] is the very source the kernel module builds as `mod emu;`; building it here
//! lets `cargo test` and `cargo fuzz` exercise it. [`fake`] is host-only test support: a
//! synthetic VF configuration space and a checker of the emulation's invariants, shared
//! by the property tests and the fuzzer.

#![cfg_attr(not(test), no_std)]

#[path = "../drivers/vfio_pasid_vf/emu/mod.rs"]
pub mod emu;

pub mod fake {
    //! A synthetic VF configuration space, and a checker that drives an [`Emulation`] over
    //! it and compares every emulated byte with a model written from the spec.

    use crate::emu::{
        ext_cap_header,
        ext_cap_id,
        walk,
        Access,
        EmulatedCap,
        Emulation,
        HostLimits,
        Link,
        Outcome,
        PfPasid,
        PfPri,
        Placement,
        Refusal,
        RegEffects,
        Request,
        Rule,
        PCI_CFG_SPACE_EXP_SIZE,
        PCI_CFG_SPACE_SIZE,
        PCI_EXT_CAP_ID_ACS,
        PCI_EXT_CAP_ID_ARI,
        PCI_EXT_CAP_ID_ATS,
        PCI_EXT_CAP_ID_DSN,
        PCI_EXT_CAP_ID_ERR,
        PCI_EXT_CAP_ID_L1SS,
        PCI_EXT_CAP_ID_LTR,
        PCI_EXT_CAP_ID_PASID,
        PCI_EXT_CAP_ID_PRI,
        PCI_EXT_CAP_ID_PTM,
        PCI_EXT_CAP_ID_SRIOV,
        PCI_EXT_CAP_ID_VNDR,
        PCI_PASID_CAP_EXEC,
        PCI_PASID_CAP_PRIV,
        PCI_PASID_CAP_WIDTH,
        PCI_PASID_CTRL_ENABLE,
        PCI_PASID_CTRL_EXEC,
        PCI_PASID_CTRL_PRIV,
        PCI_PRI_CTRL_ENABLE,
        PCI_PRI_CTRL_RESET,
        PCI_PRI_STATUS_PASID,
        PCI_PRI_STATUS_RF,
        PCI_PRI_STATUS_STOPPED,
        PCI_PRI_STATUS_UPRGI, //
    };

    /// Dwords of configuration space.
    pub const DWORDS: usize = 1024;
    /// Most capabilities of a synthetic VF.
    pub const MAX_CAPS: usize = 8;

    /// Capability IDs a synthetic VF may have: known fixed lengths, a Vendor-Specific one
    /// (length in its header) and IDs whose length the emulation does not know.
    pub const PALETTE: [u16; 14] = [
        PCI_EXT_CAP_ID_ERR,
        PCI_EXT_CAP_ID_DSN,
        PCI_EXT_CAP_ID_ACS,
        PCI_EXT_CAP_ID_ARI,
        PCI_EXT_CAP_ID_ATS,
        PCI_EXT_CAP_ID_SRIOV,
        PCI_EXT_CAP_ID_LTR,
        PCI_EXT_CAP_ID_L1SS,
        PCI_EXT_CAP_ID_PTM,
        PCI_EXT_CAP_ID_VNDR,
        PCI_EXT_CAP_ID_VNDR,
        0x0000,
        0x0019,
        0x0042,
    ];

    /// A capability of a synthetic VF.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct CapSpec {
        /// Capability ID.
        pub id: u16,
        /// Free dwords left before it (by address); ignored for the lowest, at 0x100.
        pub gap: u8,
        /// Length in dwords of a Vendor-Specific (at least 2) or unknown (at least 1)
        /// capability.
        pub dwords: u8,
        /// Its position in the chain (ties by address); the lowest heads the chain.
        pub order: u8,
        /// vfio-pci hides it.
        pub hidden: bool,
        /// Seed of its register contents.
        pub fill: u32,
    }

    /// What the Next Capability Offset of the last capability of the chain holds.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Tail {
        /// 0: the chain ends.
        #[default]
        End,
        /// The offset of the capability at this position of the chain (modulo its length):
        /// a loop.
        Loop(u8),
        /// Any value.
        Junk(u16),
    }

    /// The true extent of a capability of a synthetic VF.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Extent {
        /// Offset.
        pub offset: u16,
        /// Length in bytes.
        pub len: u16,
    }

    /// The configuration space of a synthetic VF: raw hardware, as sampled at bind, and
    /// vfio-pci's view.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Config {
        /// The hardware.
        pub raw: [u32; DWORDS],
        /// The hardware as sampled when the VF was bound, before any reset.
        pub bind: [u32; DWORDS],
        /// vfio-pci's virtualised view.
        pub virt: [u32; DWORDS],
        /// The capabilities, by address.
        pub caps: [Extent; MAX_CAPS],
        /// Number of capabilities.
        pub ncaps: usize,
    }

    /// Length in bytes of a capability of the palette.
    fn cap_len(spec: &CapSpec) -> u16 {
        match spec.id {
            PCI_EXT_CAP_ID_ERR => 0x48,
            PCI_EXT_CAP_ID_DSN | PCI_EXT_CAP_ID_PTM => 0x0c,
            PCI_EXT_CAP_ID_ACS | PCI_EXT_CAP_ID_ARI | PCI_EXT_CAP_ID_ATS => 0x08,
            PCI_EXT_CAP_ID_LTR => 0x08,
            PCI_EXT_CAP_ID_SRIOV => 0x40,
            PCI_EXT_CAP_ID_L1SS => 0x10,
            PCI_EXT_CAP_ID_VNDR => u16::from(spec.dwords.clamp(2, 32)) * 4,
            _ => u16::from(spec.dwords.clamp(1, 32)) * 4,
        }
    }

    fn set_next(header: &mut u32, next: u16) {
        *header = (*header & 0x000f_ffff) | (u32::from(next & 0xfff) << 20);
    }

    impl Config {
        /// A VF with `specs` (at most [`MAX_CAPS`]), nonzero registers outside of any
        /// capability at `hidden_regs` (dword index from 0x100, value), the chain ending
        /// as `tail` says, and `next_bits` in the reserved bits 1:0 of every Next.
        pub fn new(
            specs: &[CapSpec],
            hidden_regs: &[(u16, u32)],
            tail: Tail,
            next_bits: u8,
        ) -> Self {
            let mut cfg = Self {
                raw: [0; DWORDS],
                bind: [0; DWORDS],
                virt: [0; DWORDS],
                caps: [Extent::default(); MAX_CAPS],
                ncaps: 0,
            };
            // Lay out by address.
            let mut specs_by_addr = [CapSpec::default(); MAX_CAPS];
            let mut cursor = PCI_CFG_SPACE_SIZE;
            for spec in specs.iter().take(MAX_CAPS) {
                let offset = if cfg.ncaps == 0 {
                    cursor
                } else {
                    cursor + u16::from(spec.gap % 16) * 4
                };
                let len = cap_len(spec);
                if offset + len > PCI_CFG_SPACE_EXP_SIZE {
                    break;
                }
                cfg.caps[cfg.ncaps] = Extent { offset, len };
                specs_by_addr[cfg.ncaps] = *spec;
                cfg.ncaps += 1;
                cursor = offset + len;
            }
            // Contents.
            for (extent, spec) in cfg.caps.iter().zip(specs_by_addr.iter()).take(cfg.ncaps) {
                let base = usize::from(extent.offset / 4);
                let dwords = usize::from(extent.len / 4);
                cfg.raw[base] = ext_cap_header(spec.id, 1, 0);
                for k in 1..dwords {
                    let value = spec.fill.rotate_left(k as u32 * 7) ^ (k as u32);
                    cfg.raw[base + k] = if spec.fill & (1 << (k % 32)) != 0 {
                        0
                    } else {
                        value
                    };
                }
                match spec.id {
                    PCI_EXT_CAP_ID_VNDR => {
                        cfg.raw[base + 1] = 0x1af4 | (1 << 16) | (u32::from(extent.len) << 20)
                    }
                    PCI_EXT_CAP_ID_ACS => cfg.raw[base + 1] &= !0x20,
                    _ => {}
                }
            }
            // Chain order: the lowest first, then by `order`, then by address.
            let mut chain = [0usize; MAX_CAPS];
            for (i, slot) in chain.iter_mut().enumerate() {
                *slot = i;
            }
            let n = cfg.ncaps;
            if n > 1 {
                chain[1..n].sort_unstable_by_key(|&i| (specs_by_addr[i].order, i));
            }
            let bits = u16::from(next_bits & 3);
            for w in 0..n {
                let here = usize::from(cfg.caps[chain[w]].offset / 4);
                let next = if w + 1 < n {
                    cfg.caps[chain[w + 1]].offset | bits
                } else {
                    match tail {
                        Tail::End => 0,
                        Tail::Loop(to) => cfg.caps[chain[usize::from(to) % n]].offset | bits,
                        Tail::Junk(value) => value,
                    }
                };
                set_next(&mut cfg.raw[here], next);
            }
            // Registers that no capability describes.
            for &(dword, value) in hidden_regs {
                let offset = PCI_CFG_SPACE_SIZE + (dword % 0x3c0) * 4;
                let inside = cfg.caps[..n]
                    .iter()
                    .any(|c| offset >= c.offset && offset < c.offset + c.len);
                if !inside && offset != PCI_CFG_SPACE_SIZE {
                    cfg.raw[usize::from(offset / 4)] = value;
                }
            }
            // vfio-pci's view: a hidden first capability becomes a null capability, the
            // others are skipped; with no capability left, 0x100 reads 0.
            cfg.virt = cfg.raw;
            let mut prev: Option<usize> = None;
            let mut visible = 0;
            for (w, &i) in chain.iter().enumerate().take(n) {
                let here = usize::from(cfg.caps[i].offset / 4);
                let spec = &specs_by_addr[i];
                if !spec.hidden {
                    visible += 1;
                    prev = Some(here);
                } else if w == 0 {
                    cfg.virt[here] &= 0xffc0_0000;
                    prev = Some(here);
                } else if let Some(prev) = prev {
                    let next = (cfg.raw[here] >> 20) as u16 & 0xffc;
                    set_next(&mut cfg.virt[prev], next);
                }
            }
            if n > 0 && visible == 0 {
                cfg.virt[usize::from(PCI_CFG_SPACE_SIZE / 4)] = 0;
            }
            cfg.bind = cfg.raw;
            cfg
        }

        /// The VF with registers outside of any capability that read `value` at bind but
        /// read 0 now (dword index from 0x100, value), as device-specific registers may
        /// after the reset that vfio-pci does at open.
        pub fn with_bind_regs(mut self, regs: &[(u16, u32)]) -> Self {
            for &(dword, value) in regs {
                let offset = PCI_CFG_SPACE_SIZE + (dword % 0x3c0) * 4;
                let inside = self
                    .caps()
                    .iter()
                    .any(|c| offset >= c.offset && offset < c.offset + c.len);
                if !inside {
                    self.bind[usize::from(offset / 4)] = value;
                }
            }
            self
        }

        /// The capabilities, by address.
        pub fn caps(&self) -> &[Extent] {
            &self.caps[..self.ncaps]
        }

        /// The raw dword at `offset` (all ones beyond configuration space).
        pub fn raw(&self, offset: u16) -> u32 {
            self.raw
                .get(usize::from(offset / 4))
                .copied()
                .unwrap_or(0xffff_ffff)
        }

        /// The raw dword at `offset` as sampled at bind (all ones beyond configuration
        /// space).
        pub fn bind(&self, offset: u16) -> u32 {
            self.bind
                .get(usize::from(offset / 4))
                .copied()
                .unwrap_or(0xffff_ffff)
        }

        /// The virtualised dword at `offset` (all ones beyond configuration space).
        pub fn virt(&self, offset: u16) -> u32 {
            self.virt
                .get(usize::from(offset / 4))
                .copied()
                .unwrap_or(0xffff_ffff)
        }

        /// The virtualised byte at `pos`.
        pub fn virt_byte(&self, pos: u32) -> u8 {
            let dword = u16::try_from(pos & !3).map_or(0xffff_ffff, |offset| self.virt(offset));
            dword.to_le_bytes()[(pos & 3) as usize]
        }

        /// Places the emulated capabilities in this VF, as the glue does.
        pub fn place(&self, pasid: Option<Request>, pri: Option<Request>) -> Placement {
            crate::emu::place(
                &|off| self.raw(off),
                &|off| self.bind(off),
                &|off| self.virt(off),
                pasid,
                pri,
            )
        }

        /// The dword at `offset` as userspace sees it: vfio-pci's view, emulated bytes
        /// merged in by `emu`.
        pub fn merged(&self, emu: &Emulation, offset: u16) -> u32 {
            let mut bytes = self.virt(offset).to_le_bytes();
            emu.read(offset, &mut bytes);
            u32::from_le_bytes(bytes)
        }
    }

    /// A synthetic VF, the PF's capabilities and what is asked of the placement.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Scenario {
        /// The VF.
        pub config: Config,
        /// The PF's PASID capability and where it is asked to go.
        pub pasid: Option<(PfPasid, Request)>,
        /// The PF's PRI capability and where it is asked to go.
        pub pri: Option<(PfPri, Request)>,
        /// The host.
        pub limits: HostLimits,
    }

    /// Where an access goes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum At {
        /// `n - 4` bytes from the emulated PASID capability (or 0x100 if there is none).
        Pasid(u8),
        /// `n - 4` bytes from the emulated PRI capability (or 0x100).
        Pri(u8),
        /// `n - 4` bytes from the header dword that links the emulated capabilities.
        Link(u8),
        /// Anywhere, even beyond configuration space.
        Abs(u16),
    }

    /// An operation on the emulation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Op {
        /// A read of `len` bytes.
        Read {
            /// Where.
            at: At,
            /// 1, 2, 4 or 8.
            len: u8,
        },
        /// A write of the low `len` bytes of `value`.
        Write {
            /// Where.
            at: At,
            /// 1, 2, 4 or 8.
            len: u8,
            /// The data, little-endian.
            value: u64,
        },
        /// Device events latched into Page Request Status.
        Events(u16),
        /// FLR.
        Reset,
    }

    /// A violated invariant.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Failure {
        /// What.
        pub what: &'static str,
        /// Where (a configuration space offset), if it applies.
        pub pos: u32,
        /// A value that helps, if any.
        pub value: u64,
    }

    fn fail(what: &'static str, pos: u32, value: u64) -> Result<(), Failure> {
        Err(Failure { what, pos, value })
    }

    fn ensure(ok: bool, what: &'static str, pos: u32, value: u64) -> Result<(), Failure> {
        if ok {
            Ok(())
        } else {
            fail(what, pos, value)
        }
    }

    /// What a byte should be, from the public state of the emulation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Kind {
        Real,
        Emulated,
        /// Byte 2 or 3 of the patched header.
        LinkNext(u8),
    }

    /// The per-VF registers, as the spec describes them.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    struct Model {
        pasid_ctrl: u16,
        pri_ctrl: u16,
        pri_latched: u16,
        pri_alloc: u32,
    }

    /// An [`Emulation`] over a [`Scenario`], checked against a model after every
    /// operation.
    pub struct Harness {
        /// The scenario.
        pub scenario: Scenario,
        /// The emulation under test.
        pub emu: Emulation,
        model: Model,
        /// PASID Capability register presented, as the spec says it should be.
        pasid_cap: u16,
    }

    impl Harness {
        /// Places and builds the emulation for `scenario`, and checks the placement and
        /// the chain.
        pub fn new(scenario: Scenario) -> Result<Self, Failure> {
            let cfg = &scenario.config;
            let placement = cfg.place(
                scenario.pasid.map(|(_, req)| req),
                scenario.pri.map(|(_, req)| req),
            );
            let emu = Emulation::new(
                placement,
                scenario.pasid.map(|(pf, _)| pf),
                scenario.pri.map(|(pf, _)| pf),
                scenario.limits,
            );
            let pasid_cap = scenario.pasid.map_or(0, |(pf, _)| {
                let mut cap = 0;
                if pf.cap & PCI_PASID_CAP_EXEC != 0 && pf.ctrl & PCI_PASID_CTRL_EXEC != 0 {
                    cap |= PCI_PASID_CAP_EXEC;
                }
                if pf.cap & PCI_PASID_CAP_PRIV != 0 && pf.ctrl & PCI_PASID_CTRL_PRIV != 0 {
                    cap |= PCI_PASID_CAP_PRIV;
                }
                let width = ((pf.cap & PCI_PASID_CAP_WIDTH) >> 8)
                    .min(u16::from(scenario.limits.max_pasid_width));
                cap | (width << 8)
            });
            let harness = Self {
                scenario,
                emu,
                model: Model::default(),
                pasid_cap,
            };
            harness.check_placement(&placement)?;
            harness.check_chain()?;
            harness.check_registers()?;
            Ok(harness)
        }

        fn offset(&self, cap: EmulatedCap) -> Option<u16> {
            self.emu.offset(cap)
        }

        /// Offset of the first emulated capability.
        fn first(&self) -> Option<u16> {
            match (
                self.offset(EmulatedCap::Pasid),
                self.offset(EmulatedCap::Pri),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }

        /// Next Capability Offset of the emulated `cap` at `offset`: the other one if it
        /// is higher.
        fn emulated_next(&self, offset: u16) -> u16 {
            [EmulatedCap::Pasid, EmulatedCap::Pri]
                .iter()
                .filter_map(|&cap| self.offset(cap))
                .filter(|&other| other > offset)
                .min()
                .unwrap_or(0)
        }

        fn kind(&self, pos: u32) -> Kind {
            for cap in [EmulatedCap::Pasid, EmulatedCap::Pri] {
                if let Some(offset) = self.offset(cap) {
                    let offset = u32::from(offset);
                    if pos >= offset && pos < offset + u32::from(cap.size()) {
                        return Kind::Emulated;
                    }
                }
            }
            match self.emu.link() {
                Some(Link::PatchNext { last_cap }) => {
                    let last_cap = u32::from(last_cap);
                    if pos == last_cap + 2 || pos == last_cap + 3 {
                        return Kind::LinkNext((pos - last_cap) as u8);
                    }
                }
                Some(Link::HeadPlaceholder) => {
                    if (0x100..0x104).contains(&pos) {
                        return Kind::Emulated;
                    }
                }
                _ => {}
            }
            Kind::Real
        }

        /// The 16 bytes the emulated `cap` should read.
        fn expected(&self, cap: EmulatedCap, offset: u16) -> [u8; 16] {
            let mut bytes = [0u8; 16];
            let next = self.emulated_next(offset);
            let m = &self.model;
            match cap {
                EmulatedCap::Pasid => {
                    let header = ext_cap_header(PCI_EXT_CAP_ID_PASID, 1, next);
                    bytes[0..4].copy_from_slice(&header.to_le_bytes());
                    bytes[4..6].copy_from_slice(&self.pasid_cap.to_le_bytes());
                    bytes[6..8].copy_from_slice(&m.pasid_ctrl.to_le_bytes());
                }
                EmulatedCap::Pri => {
                    let pf = self.scenario.pri.map(|(pf, _)| pf).unwrap_or_default();
                    let header = ext_cap_header(PCI_EXT_CAP_ID_PRI, 1, next);
                    let enabled = m.pri_ctrl & PCI_PRI_CTRL_ENABLE != 0;
                    // PRG Response PASID Required only with a PASID capability.
                    let pasid_required = if self.offset(EmulatedCap::Pasid).is_some() {
                        pf.status & PCI_PRI_STATUS_PASID
                    } else {
                        0
                    };
                    let status = m.pri_latched
                        | pasid_required
                        | if enabled { 0 } else { PCI_PRI_STATUS_STOPPED };
                    bytes[0..4].copy_from_slice(&header.to_le_bytes());
                    bytes[4..6].copy_from_slice(&m.pri_ctrl.to_le_bytes());
                    bytes[6..8].copy_from_slice(&status.to_le_bytes());
                    bytes[8..12].copy_from_slice(&pf.capacity.to_le_bytes());
                    bytes[12..16].copy_from_slice(&m.pri_alloc.to_le_bytes());
                }
            }
            bytes
        }

        /// Every emulated byte reads what the model says.
        fn check_registers(&self) -> Result<(), Failure> {
            for cap in [EmulatedCap::Pasid, EmulatedCap::Pri] {
                let Some(offset) = self.offset(cap) else {
                    continue;
                };
                let expected = self.expected(cap, offset);
                let size = usize::from(cap.size());
                let mut bytes = [0u8; 16];
                self.emu.read(offset, &mut bytes[..size]);
                for i in 0..size {
                    ensure(
                        bytes[i] == expected[i],
                        "emulated byte differs from the model",
                        u32::from(offset) + i as u32,
                        u64::from(bytes[i]) << 8 | u64::from(expected[i]),
                    )?;
                }
            }
            if self.emu.link() == Some(Link::HeadPlaceholder) {
                let header = self.scenario.config.merged(&self.emu, PCI_CFG_SPACE_SIZE);
                let first = self.first().unwrap_or(0);
                ensure(
                    header == ext_cap_header(0, 0, first),
                    "null capability header",
                    0x100,
                    u64::from(header),
                )?;
            }
            Ok(())
        }

        /// The placement follows the rules and only uses free space.
        fn check_placement(&self, placement: &Placement) -> Result<(), Failure> {
            let cfg = &self.scenario.config;
            let requests = [
                (
                    placement.pasid(),
                    self.scenario.pasid.map(|(_, r)| r),
                    EmulatedCap::Pasid,
                ),
                (
                    placement.pri(),
                    self.scenario.pri.map(|(_, r)| r),
                    EmulatedCap::Pri,
                ),
            ];
            for (got, req, cap) in requests {
                ensure(
                    got.is_some() == req.is_some(),
                    "placement of an unrequested capability",
                    0,
                    0,
                )?;
                let (Some(got), Some(req)) = (got, req) else {
                    continue;
                };
                ensure(got.cap == cap, "placement of the wrong capability", 0, 0)?;
                match (got.outcome, req.admin) {
                    (Outcome::Placed { offset, rule }, Some(admin)) => {
                        ensure(
                            offset == admin && rule == Rule::Admin,
                            "admin offset not followed",
                            offset.into(),
                            0,
                        )?;
                    }
                    (
                        Outcome::Refused(Refusal::AdminOffsetUnusable { offset, .. }),
                        Some(admin),
                    ) => {
                        ensure(
                            offset == admin,
                            "refusal names another offset",
                            offset.into(),
                            0,
                        )?;
                    }
                    (Outcome::Refused(_), Some(_)) => {
                        return fail("admin offset refused for no reason", 0, 0)
                    }
                    (Outcome::Placed { rule, offset }, None) => {
                        ensure(
                            rule != Rule::Admin,
                            "admin rule without admin offset",
                            offset.into(),
                            0,
                        )?;
                        if rule == Rule::Advised {
                            ensure(
                                req.advised == Some(offset),
                                "advised rule, other offset",
                                offset.into(),
                                0,
                            )?;
                        }
                        if rule == Rule::PfOffset {
                            ensure(
                                req.pf_offset == offset,
                                "PF rule, other offset",
                                offset.into(),
                                0,
                            )?;
                        }
                        if rule == Rule::ChainHead {
                            ensure(
                                offset == 0x100 && placement.virt_last().is_none(),
                                "chain head",
                                offset.into(),
                                0,
                            )?;
                        }
                    }
                    (Outcome::Refused(why), None) => {
                        ensure(
                            why == Refusal::NoFreeSpace,
                            "refused without admin offset",
                            0,
                            0,
                        )?;
                    }
                }
                let Some(offset) = got.offset() else {
                    continue;
                };
                let end = offset + cap.size();
                ensure(
                    offset % 4 == 0 && offset >= 0x100 && end <= 0x1000,
                    "placed out of bounds",
                    offset.into(),
                    0,
                )?;
                for extent in cfg.caps() {
                    let overlaps = offset < extent.offset + extent.len && extent.offset < end;
                    ensure(
                        !overlaps,
                        "placed over a capability",
                        offset.into(),
                        extent.offset.into(),
                    )?;
                }
                for pos in (offset..end).step_by(4) {
                    ensure(
                        cfg.raw(pos) == 0,
                        "placed over nonzero hardware",
                        pos.into(),
                        cfg.raw(pos).into(),
                    )?;
                    ensure(
                        cfg.bind(pos) == 0,
                        "placed over hardware nonzero at bind",
                        pos.into(),
                        cfg.bind(pos).into(),
                    )?;
                }
                for cap in walk(&|off| cfg.virt(off)) {
                    let overlaps = cap.offset >= offset && cap.offset < end;
                    ensure(
                        !overlaps,
                        "placed over a virtualised header",
                        offset.into(),
                        cap.offset.into(),
                    )?;
                }
            }
            if let (Some(a), Some(b)) = (
                placement.pasid().and_then(|p| p.offset()),
                placement.pri().and_then(|p| p.offset()),
            ) {
                ensure(
                    a + 8 <= b || b + 16 <= a,
                    "emulated capabilities overlap",
                    a.into(),
                    b.into(),
                )?;
            }
            Ok(())
        }

        /// The chain that userspace sees is the virtualised one followed by the emulated
        /// capabilities, ascending, each once.
        pub fn check_chain(&self) -> Result<(), Failure> {
            let cfg = &self.scenario.config;
            let merged = |off: u16| cfg.merged(&self.emu, off);
            let virt = |off: u16| cfg.virt(off);
            let mut seen = [false; DWORDS];
            let mut virt_chain = walk(&virt);
            let mut expect_emulated = [0u16; 3];
            let mut n_emulated = 0;
            if self.emu.link() == Some(Link::HeadPlaceholder) {
                expect_emulated[0] = 0x100;
                n_emulated = 1;
            }
            let mut emulated: [u16; 2] = [
                self.offset(EmulatedCap::Pasid).unwrap_or(u16::MAX),
                self.offset(EmulatedCap::Pri).unwrap_or(u16::MAX),
            ];
            emulated.sort_unstable();
            for offset in emulated.into_iter().filter(|&o| o != u16::MAX) {
                expect_emulated[n_emulated] = offset;
                n_emulated += 1;
            }
            let mut steps = 0;
            let mut next_emulated = 0;
            let mut virt_done = false;
            for cap in walk(&merged) {
                steps += 1;
                let pos = u32::from(cap.offset);
                ensure(
                    cap.offset % 4 == 0 && cap.offset >= 0x100,
                    "chain offset out of bounds",
                    pos,
                    0,
                )?;
                ensure(
                    !seen[usize::from(cap.offset / 4)],
                    "capability visited twice",
                    pos,
                    0,
                )?;
                seen[usize::from(cap.offset / 4)] = true;
                if !virt_done {
                    if let Some(v) = virt_chain.next() {
                        ensure(
                            v.offset == cap.offset,
                            "virtualised chain not followed",
                            pos,
                            v.offset.into(),
                        )?;
                        let is_link = self.emu.link()
                            == Some(Link::PatchNext {
                                last_cap: cap.offset,
                            });
                        let mask = if is_link { 0x000f_ffff } else { 0xffff_ffff };
                        ensure(
                            v.header & mask == cap.header & mask,
                            "virtualised header changed",
                            pos,
                            cap.header.into(),
                        )?;
                        continue;
                    }
                    virt_done = true;
                }
                ensure(
                    next_emulated < n_emulated,
                    "unexpected capability after the chain",
                    pos,
                    cap.header.into(),
                )?;
                ensure(
                    cap.offset == expect_emulated[next_emulated],
                    "emulated capability out of order",
                    pos,
                    0,
                )?;
                next_emulated += 1;
                let id = ext_cap_id(cap.header);
                let expected_id = if Some(cap.offset) == self.offset(EmulatedCap::Pasid) {
                    PCI_EXT_CAP_ID_PASID
                } else if Some(cap.offset) == self.offset(EmulatedCap::Pri) {
                    PCI_EXT_CAP_ID_PRI
                } else {
                    0
                };
                ensure(
                    id == expected_id,
                    "emulated capability has the wrong ID",
                    pos,
                    id.into(),
                )?;
            }
            if !virt_done {
                ensure(
                    virt_chain.next().is_none(),
                    "merged chain ended early",
                    0,
                    0,
                )?;
            }
            ensure(
                next_emulated == n_emulated,
                "emulated capability missing from the chain",
                0,
                next_emulated as u64,
            )?;
            ensure(steps <= 960, "chain too long", 0, steps)?;
            if let Some(last) = expect_emulated[..n_emulated].last() {
                ensure(
                    merged(*last) >> 20 == 0,
                    "last emulated capability has a Next",
                    u32::from(*last),
                    0,
                )?;
            }
            Ok(())
        }

        /// Where `at` is.
        pub fn resolve(&self, at: At) -> u64 {
            let base = |offset: Option<u16>, n: u8| {
                u64::from(offset.unwrap_or(PCI_CFG_SPACE_SIZE)) + u64::from(n % 24) - 4
            };
            match at {
                At::Pasid(n) => base(self.offset(EmulatedCap::Pasid), n),
                At::Pri(n) => base(self.offset(EmulatedCap::Pri), n),
                At::Link(n) => {
                    let header = match self.emu.link() {
                        Some(Link::PatchNext { last_cap }) => Some(last_cap),
                        _ => None,
                    };
                    base(header, n % 12)
                }
                At::Abs(pos) => u64::from(pos),
            }
        }

        /// Applies `op` and checks every invariant it touches.
        pub fn apply(&mut self, op: Op) -> Result<(), Failure> {
            match op {
                Op::Read { at, len } => self.check_read(self.resolve(at), usize::from(len))?,
                Op::Write { at, len, value } => {
                    self.check_write(self.resolve(at), usize::from(len), value)?
                }
                Op::Events(bits) => {
                    self.emu.set_pri_status_events(bits);
                    if self.offset(EmulatedCap::Pri).is_some() {
                        self.model.pri_latched |= bits & (PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
                    }
                }
                Op::Reset => {
                    self.emu.reset();
                    self.model = Model::default();
                }
            }
            self.check_registers()
        }

        fn expected_access(&self, pos: u64, len: usize) -> Access {
            if len == 0 || pos + len as u64 > 0x1000 || self.emu.is_empty() {
                return Access::Real;
            }
            let (mut emulated, mut real) = (false, false);
            for p in pos..pos + len as u64 {
                match self.kind(p as u32) {
                    Kind::Real => real = true,
                    Kind::Emulated => emulated = true,
                    Kind::LinkNext(_) => {
                        emulated = true;
                        real = true;
                    }
                }
            }
            match (emulated, real) {
                (false, _) => Access::Real,
                (true, false) => Access::Emulated,
                (true, true) => Access::Mixed,
            }
        }

        /// Checks a read of `len` bytes at `pos`: its classification, and that it changes
        /// only the emulated bytes and bits.
        pub fn check_read(&self, pos: u64, len: usize) -> Result<(), Failure> {
            let class = self.emu.classify(pos, len);
            let expected = self.expected_access(pos, len);
            ensure(class == expected, "classify", pos as u32, class as u64)?;
            // Outside the span, every access is real.
            let outside = match self.emu.span() {
                Some(span) => {
                    len == 0
                        || pos.saturating_add(len as u64) <= u64::from(span.start)
                        || pos >= u64::from(span.end)
                }
                None => true,
            };
            ensure(
                !outside || class == Access::Real,
                "span",
                pos as u32,
                class as u64,
            )?;
            if pos > u64::from(u16::MAX) {
                return Ok(());
            }
            let cfg = &self.scenario.config;
            let mut buf = [0u8; 8];
            for (i, byte) in buf.iter_mut().enumerate().take(len) {
                *byte = cfg.virt_byte(pos as u32 + i as u32);
            }
            let before = buf;
            self.emu.read(pos as u16, &mut buf[..len]);
            let first = self.first().unwrap_or(0);
            for i in 0..len {
                let p = pos as u32 + i as u32;
                match self.kind(p) {
                    Kind::Real => ensure(
                        buf[i] == before[i],
                        "read changed a real byte",
                        p,
                        buf[i].into(),
                    )?,
                    Kind::LinkNext(2) => ensure(
                        buf[i] == (before[i] & 0x0f) | (((first & 0xf) << 4) as u8),
                        "patched Next, byte 2",
                        p,
                        buf[i].into(),
                    )?,
                    Kind::LinkNext(_) => ensure(
                        buf[i] == (first >> 4) as u8,
                        "patched Next, byte 3",
                        p,
                        buf[i].into(),
                    )?,
                    // Compared with the model by check_registers.
                    Kind::Emulated => {}
                }
            }
            Ok(())
        }

        fn check_write(&mut self, pos: u64, len: usize, value: u64) -> Result<(), Failure> {
            let data_all = value.to_le_bytes();
            let data = &data_all[..len];
            let class = self.emu.classify(pos, len);
            let expected = self.expected_access(pos, len);
            ensure(class == expected, "classify", pos as u32, class as u64)?;
            if pos > u64::from(u16::MAX) {
                return Ok(());
            }
            let before = self.model;
            let fx = self.emu.write(pos as u16, data);
            // The real parts are exactly the non-emulated bytes.
            let mut covered = [false; 8];
            let mut last_end = 0;
            for range in fx.real.iter() {
                ensure(
                    range.start >= last_end && range.start < range.end && range.end <= len,
                    "real parts",
                    pos as u32,
                    0,
                )?;
                last_end = range.end;
                for c in &mut covered[range] {
                    *c = true;
                }
            }
            for (i, &c) in covered.iter().enumerate().take(len) {
                let p = pos as u32 + i as u32;
                let real =
                    class == Access::Real || matches!(self.kind(p), Kind::Real | Kind::LinkNext(_));
                ensure(
                    c == real,
                    "real parts differ from the real bytes",
                    p,
                    u64::from(c),
                )?;
            }
            if class == Access::Real {
                ensure(
                    fx.regs == RegEffects::default(),
                    "real write had effects",
                    pos as u32,
                    0,
                )?;
                return Ok(());
            }
            // The model: per register, the bytes written and their byte enables.
            let mut pasid = [0u8; 8];
            let mut pasid_be = [false; 8];
            let mut pri = [0u8; 16];
            let mut pri_be = [false; 16];
            for (i, &byte) in data.iter().enumerate() {
                let p = pos as u32 + i as u32;
                if let Some(o) = self.offset(EmulatedCap::Pasid) {
                    if let Some(r) = p.checked_sub(o.into()).filter(|&r| r < 8) {
                        pasid[r as usize] = byte;
                        pasid_be[r as usize] = true;
                    }
                }
                if let Some(o) = self.offset(EmulatedCap::Pri) {
                    if let Some(r) = p.checked_sub(o.into()).filter(|&r| r < 16) {
                        pri[r as usize] = byte;
                        pri_be[r as usize] = true;
                    }
                }
            }
            let field = |bytes: &[u8], be: &[bool], at: usize, n: usize| -> (u32, u32) {
                let (mut value, mut mask) = (0u32, 0u32);
                for k in 0..n {
                    if be[at + k] {
                        value |= u32::from(bytes[at + k]) << (8 * k);
                        mask |= 0xff << (8 * k);
                    }
                }
                (value, mask)
            };
            let mut m = self.model;
            let (ctrl, mask) = field(&pasid, &pasid_be, 6, 2);
            let mut rw = u32::from(PCI_PASID_CTRL_ENABLE);
            if self.pasid_cap & PCI_PASID_CAP_EXEC != 0 {
                rw |= u32::from(PCI_PASID_CTRL_EXEC);
            }
            if self.pasid_cap & PCI_PASID_CAP_PRIV != 0 {
                rw |= u32::from(PCI_PASID_CTRL_PRIV);
            }
            m.pasid_ctrl = ((u32::from(m.pasid_ctrl) & !(mask & rw)) | (ctrl & mask & rw)) as u16;
            let (ctrl, mask) = field(&pri, &pri_be, 4, 2);
            let was = m.pri_ctrl & PCI_PRI_CTRL_ENABLE != 0;
            let enable = u32::from(PCI_PRI_CTRL_ENABLE);
            m.pri_ctrl =
                ((u32::from(m.pri_ctrl) & !(mask & enable)) | (ctrl & mask & enable)) as u16;
            let is = m.pri_ctrl & PCI_PRI_CTRL_ENABLE != 0;
            let reset_written = ctrl & mask & u32::from(PCI_PRI_CTRL_RESET) != 0;
            let mut reset_ignored = false;
            let mut reset_done = false;
            if !was && is {
                m.pri_latched = 0;
            }
            if reset_written {
                if was && is {
                    reset_ignored = true;
                } else {
                    reset_done = true;
                    m.pri_latched = 0;
                }
            }
            let (status, mask) = field(&pri, &pri_be, 6, 2);
            m.pri_latched &= !((status & mask) as u16);
            let (alloc, mask) = field(&pri, &pri_be, 12, 4);
            m.pri_alloc = (m.pri_alloc & !mask) | (alloc & mask);
            self.model = m;
            ensure(
                fx.regs.pri_reset == reset_done,
                "PRI Reset effect",
                pos as u32,
                0,
            )?;
            ensure(
                fx.regs.pri_reset_ignored_while_enabled == reset_ignored,
                "PRI Reset ignored while enabled",
                pos as u32,
                0,
            )?;
            ensure(
                fx.regs.pri_enable == (was != is).then_some(is),
                "PRI Enable transition",
                pos as u32,
                0,
            )?;
            let pasid_was = before.pasid_ctrl & PCI_PASID_CTRL_ENABLE != 0;
            let pasid_is = m.pasid_ctrl & PCI_PASID_CTRL_ENABLE != 0;
            ensure(
                fx.regs.pasid_enable == (pasid_was != pasid_is).then_some(pasid_is),
                "PASID Enable transition",
                pos as u32,
                0,
            )?;
            // RW1C: a write never sets Response Failure or Unexpected PRG Index.
            ensure(
                m.pri_latched & !before.pri_latched == 0,
                "RW1C bit set by a write",
                pos as u32,
                0,
            )?;
            Ok(())
        }
    }

    /// A cursor over fuzzer input: every read succeeds, returning zeros when the input is
    /// exhausted.
    pub struct Bytes<'a> {
        data: &'a [u8],
    }

    impl<'a> Bytes<'a> {
        /// A cursor over `data`.
        pub fn new(data: &'a [u8]) -> Self {
            Self { data }
        }

        /// Whether the input is exhausted.
        pub fn is_empty(&self) -> bool {
            self.data.is_empty()
        }

        /// The next byte.
        pub fn u8(&mut self) -> u8 {
            match self.data.split_first() {
                Some((&byte, rest)) => {
                    self.data = rest;
                    byte
                }
                None => 0,
            }
        }

        /// The next two bytes, little-endian.
        pub fn u16(&mut self) -> u16 {
            u16::from_le_bytes([self.u8(), self.u8()])
        }

        /// The next four bytes, little-endian.
        pub fn u32(&mut self) -> u32 {
            u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
        }

        /// The next eight bytes, little-endian.
        pub fn u64(&mut self) -> u64 {
            u64::from(self.u32()) | (u64::from(self.u32()) << 32)
        }

        /// An offset: usually near one of `near`, sometimes anywhere.
        fn offset(&mut self) -> u16 {
            let selector = self.u8();
            let value = self.u16();
            match selector % 4 {
                0 => value,
                1 => 0x100 + (value % 0xf00),
                _ => (0x100 + (value % 0xf00)) & !3,
            }
        }

        fn request(&mut self) -> Request {
            let flags = self.u8();
            Request {
                admin: (flags & 1 != 0).then(|| self.offset()),
                advised: (flags & 2 != 0).then(|| self.offset()),
                pf_offset: self.offset(),
            }
        }

        /// A scenario.
        pub fn scenario(&mut self) -> Scenario {
            let mut specs = [CapSpec::default(); MAX_CAPS];
            let ncaps = usize::from(self.u8() % (MAX_CAPS as u8 + 1));
            for spec in specs.iter_mut().take(ncaps) {
                *spec = CapSpec {
                    id: PALETTE[usize::from(self.u8()) % PALETTE.len()],
                    gap: self.u8(),
                    dwords: self.u8(),
                    order: self.u8(),
                    hidden: self.u8() & 1 != 0,
                    fill: self.u32(),
                };
            }
            let mut hidden = [(0u16, 0u32); 4];
            let nhidden = usize::from(self.u8() % 5);
            for reg in hidden.iter_mut().take(nhidden) {
                *reg = (self.u16(), self.u32());
            }
            let tail = match self.u8() % 4 {
                0 | 1 => Tail::End,
                2 => Tail::Loop(self.u8()),
                _ => Tail::Junk(self.u16()),
            };
            let next_bits = self.u8();
            let mut at_bind = [(0u16, 0u32); 4];
            let nat_bind = usize::from(self.u8() % 5);
            for reg in at_bind.iter_mut().take(nat_bind) {
                *reg = (self.u16(), self.u32());
            }
            let config = Config::new(&specs[..ncaps], &hidden[..nhidden], tail, next_bits)
                .with_bind_regs(&at_bind[..nat_bind]);
            let which = self.u8();
            let pasid = (which & 1 != 0).then(|| {
                let pf = PfPasid {
                    offset: 0,
                    version: self.u8(),
                    cap: self.u16(),
                    ctrl: self.u16(),
                };
                (pf, self.request())
            });
            let pri = (which & 2 != 0).then(|| {
                let pf = PfPri {
                    offset: 0,
                    version: self.u8(),
                    status: self.u16(),
                    capacity: self.u32(),
                };
                (pf, self.request())
            });
            Scenario {
                config,
                pasid,
                pri,
                limits: HostLimits {
                    max_pasid_width: self.u8(),
                },
            }
        }

        /// An operation.
        pub fn op(&mut self) -> Op {
            let selector = self.u8();
            let n = self.u8();
            let at = match (selector >> 2) % 4 {
                0 => At::Pasid(n),
                1 => At::Pri(n),
                2 => At::Link(n),
                _ => At::Abs(self.u16()),
            };
            let len = [1, 2, 4, 8][usize::from(selector >> 4) % 4];
            match selector % 8 {
                0..=2 => Op::Read { at, len },
                3..=5 => Op::Write {
                    at,
                    len,
                    value: self.u64(),
                },
                6 => Op::Events(self.u16()),
                _ => Op::Reset,
            }
        }
    }
}
