// SPDX-License-Identifier: GPL-2.0

//! Classifying, merging and splitting configuration accesses.

use vfio_pasid_vf_emu::emu::{
    ext_cap_header,
    place,
    Access,
    EmulatedCap,
    Emulation,
    HostLimits,
    Link,
    PfPasid,
    PfPri,
    Request,
    PCI_EXT_CAP_ID_ARI,
    PCI_EXT_CAP_ID_ATS,
    PCI_EXT_CAP_ID_ERR,
    PCI_EXT_CAP_ID_PTM,
    PCI_PASID_CAP_EXEC,
    PCI_PASID_CAP_PRIV,
    PCI_PASID_CTRL_ENABLE,
    PCI_PASID_CTRL_EXEC,
    PCI_PRI_ALLOC_REQ,
    PCI_PRI_CTRL_ENABLE,
    PCI_PRI_STATUS_PASID,
    PCI_PRI_STATUS_RF,
    PCI_PRI_STATUS_STOPPED,
    PCI_PRI_STATUS_UPRGI, //
};

const PASID_AT: u16 = 0x200;
const PRI_AT: u16 = 0x208;
/// ATS, the last capability of the virtualised chain.
const LINK_AT: u16 = 0x150;

const PF_PASID: PfPasid = PfPasid {
    offset: 0x1c0,
    version: 1,
    cap: PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV | (20 << 8),
    ctrl: PCI_PASID_CTRL_EXEC,
};

const PF_PRI: PfPri = PfPri {
    offset: 0x1d0,
    version: 1,
    status: PCI_PRI_STATUS_PASID,
    capacity: 0x200,
};

const LIMITS: HostLimits = HostLimits {
    max_pasid_width: 20,
};

/// vfio-pci's view of a VF: AER at 0x100, ARI at 0x148, ATS (version 0xa) at 0x150;
/// other bytes read a pattern.
struct Vf {
    raw: Vec<u32>,
    virt: Vec<u32>,
}

impl Vf {
    fn typical() -> Self {
        let mut raw = vec![0u32; 1024];
        raw[0x100 / 4] = ext_cap_header(PCI_EXT_CAP_ID_ERR, 1, 0x148);
        raw[0x148 / 4] = ext_cap_header(PCI_EXT_CAP_ID_ARI, 1, LINK_AT);
        raw[usize::from(LINK_AT / 4)] = ext_cap_header(PCI_EXT_CAP_ID_ATS, 0xa, 0);
        let mut virt = raw.clone();
        for (i, dword) in virt.iter_mut().enumerate() {
            if *dword == 0 {
                *dword = 0xa5a5_0000 | i as u32;
            }
        }
        Self { raw, virt }
    }

    fn virt_byte(&self, pos: u16) -> u8 {
        self.virt[usize::from(pos / 4)].to_le_bytes()[usize::from(pos % 4)]
    }

    fn emulation(&self, pasid: Option<Request>, pri: Option<Request>) -> Emulation {
        let placement = place(
            &|off| self.raw[usize::from(off / 4)],
            &|off| self.raw[usize::from(off / 4)],
            &|off| self.virt[usize::from(off / 4)],
            pasid,
            pri,
        );
        Emulation::new(placement, Some(PF_PASID), Some(PF_PRI), LIMITS)
    }
}

fn admin(offset: u16) -> Request {
    Request {
        admin: Some(offset),
        advised: None,
        pf_offset: 0,
    }
}

/// PASID at 0x200 and PRI at 0x208, linked from ATS at 0x150.
fn setup() -> (Vf, Emulation) {
    let vf = Vf::typical();
    let emu = vf.emulation(Some(admin(PASID_AT)), Some(admin(PRI_AT)));
    assert_eq!(emu.link(), Some(Link::PatchNext { last_cap: LINK_AT }));
    (vf, emu)
}

/// What userspace should see of the configuration space of [`setup`], after reset.
fn expected_view(vf: &Vf) -> Vec<u8> {
    let mut view: Vec<u8> = (0..0x1000u16).map(|pos| vf.virt_byte(pos)).collect();
    let pasid = [0x1b, 0x00, 0x81, 0x20, 0x02, 0x14, 0x00, 0x00];
    let pri = [
        0x13, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x81, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00,
    ];
    view[usize::from(PASID_AT)..][..8].copy_from_slice(&pasid);
    view[usize::from(PRI_AT)..][..16].copy_from_slice(&pri);
    // ATS, version 0xa, Next 0x200.
    view[usize::from(LINK_AT) + 2] = 0x0a;
    view[usize::from(LINK_AT) + 3] = 0x20;
    view
}

/// Reads through the emulation as the glue does: real bytes first.
fn read(vf: &Vf, emu: &Emulation, pos: u16, len: usize) -> Vec<u8> {
    let mut buf: Vec<u8> = (pos..pos + len as u16).map(|p| vf.virt_byte(p)).collect();
    emu.read(pos, &mut buf);
    buf
}

fn read_u32(vf: &Vf, emu: &Emulation, pos: u16) -> u32 {
    u32::from_le_bytes(read(vf, emu, pos, 4).try_into().unwrap())
}

/// The real parts of a write, as (start, end) pairs.
fn real_parts(emu: &mut Emulation, pos: u16, data: &[u8]) -> Vec<(usize, usize)> {
    emu.write(pos, data)
        .real
        .iter()
        .map(|r| (r.start, r.end))
        .collect()
}

// Reads.

#[test]
fn read_merges_emulated_bytes_at_every_size_and_offset() {
    let (vf, emu) = setup();
    let view = expected_view(&vf);
    for len in [1usize, 2, 4, 8] {
        for pos in 0x140..0x228u16 {
            let got = read(&vf, &emu, pos, len);
            let want = &view[usize::from(pos)..usize::from(pos) + len];
            assert_eq!(got, want, "read of {len} bytes at {pos:#x}");
        }
    }
}

#[test]
fn read_patches_only_the_next_bits_of_the_link_header() {
    let (vf, emu) = setup();
    assert_eq!(
        read_u32(&vf, &emu, LINK_AT),
        ext_cap_header(PCI_EXT_CAP_ID_ATS, 0xa, PASID_AT)
    );
    // Byte 2 alone: Version (low nibble) is real, the high nibble is Next's.
    let mut byte = [0xf5];
    emu.read(LINK_AT + 2, &mut byte);
    assert_eq!(byte, [0x05]);
}

#[test]
fn read_of_the_emulated_chain_links_pasid_to_pri() {
    let (vf, emu) = setup();
    assert_eq!(read_u32(&vf, &emu, PASID_AT) >> 20, u32::from(PRI_AT));
    assert_eq!(read_u32(&vf, &emu, PRI_AT) >> 20, 0);
}

#[test]
fn read_leaves_real_bytes_alone() {
    let (_, emu) = setup();
    let mut buf = [0x11u8; 8];
    emu.read(0x1f8, &mut buf);
    assert_eq!(buf, [0x11; 8]);
    emu.read(0x218, &mut buf);
    assert_eq!(buf, [0x11; 8]);
}

#[test]
fn read_beyond_config_space_does_not_panic() {
    let (_, emu) = setup();
    let mut buf = [0x11u8; 8];
    emu.read(0xffc, &mut buf);
    emu.read(u16::MAX, &mut buf);
    assert_eq!(buf, [0x11; 8]);
    let mut big = vec![0u8; 0x20000];
    emu.read(0, &mut big);
    assert_eq!(big[usize::from(PASID_AT)], 0x1b);
}

#[test]
fn read_of_the_null_capability_header_points_at_the_first_emulated_capability() {
    // vfio-pci hides the only capability, PTM at 0x100.
    let mut raw = vec![0u32; 1024];
    raw[0x40] = ext_cap_header(PCI_EXT_CAP_ID_PTM, 1, 0);
    let virt = vec![0u32; 1024];
    let placement = place(
        &|off| raw[usize::from(off / 4)],
        &|off| raw[usize::from(off / 4)],
        &|off| virt[usize::from(off / 4)],
        Some(admin(0x300)),
        None,
    );
    let emu = Emulation::new(placement, Some(PF_PASID), None, LIMITS);
    assert_eq!(emu.link(), Some(Link::HeadPlaceholder));
    assert_eq!(emu.classify(0x100, 4), Access::Emulated);
    let mut buf = [0u8; 4];
    emu.read(0x100, &mut buf);
    assert_eq!(u32::from_le_bytes(buf), ext_cap_header(0, 0, 0x300));
}

// Classification.

#[test]
fn classify_real_for_an_access_to_no_emulated_byte() {
    let (_, emu) = setup();
    for (pos, len) in [
        (0x1f8, 8),
        (0x1fc, 4),
        (0x218, 8),
        (0x100, 4),
        (u64::from(LINK_AT), 2),
        (0, 8),
    ] {
        assert_eq!(emu.classify(pos, len), Access::Real, "{pos:#x}+{len}");
    }
}

#[test]
fn classify_emulated_for_an_access_to_emulated_bytes_only() {
    let (_, emu) = setup();
    for (pos, len) in [(0x200, 8), (0x204, 8), (0x207, 2), (0x210, 8), (0x217, 1)] {
        assert_eq!(emu.classify(pos, len), Access::Emulated, "{pos:#x}+{len}");
    }
}

#[test]
fn classify_mixed_for_an_access_straddling_real_and_emulated_bytes() {
    let (_, emu) = setup();
    for (pos, len) in [(0x1fc, 8), (0x1ff, 2), (0x214, 8), (0x217, 2)] {
        assert_eq!(emu.classify(pos, len), Access::Mixed, "{pos:#x}+{len}");
    }
}

#[test]
fn classify_mixed_for_an_access_to_the_patched_next_bits() {
    let (_, emu) = setup();
    let link = u64::from(LINK_AT);
    for (pos, len) in [
        (link, 4),
        (link + 2, 1),
        (link + 3, 1),
        (link - 4, 8),
        (link + 2, 8),
    ] {
        assert_eq!(emu.classify(pos, len), Access::Mixed, "{pos:#x}+{len}");
    }
    assert_eq!(emu.classify(link, 2), Access::Real);
}

#[test]
fn classify_real_for_empty_or_out_of_range_accesses() {
    let (_, emu) = setup();
    assert_eq!(emu.classify(0x200, 0), Access::Real);
    assert_eq!(emu.classify(0xffc, 8), Access::Real);
    assert_eq!(emu.classify(0x1000, 4), Access::Real);
    assert_eq!(emu.classify(0x1_0200, 4), Access::Real);
    assert_eq!(emu.classify(u64::MAX, 8), Access::Real);
    assert_eq!(emu.classify(0x200, usize::MAX), Access::Real);
}

#[test]
fn classify_real_when_nothing_is_emulated() {
    let vf = Vf::typical();
    let emu = vf.emulation(None, None);
    assert!(emu.is_empty());
    assert_eq!(emu.link(), None);
    assert_eq!(emu.classify(u64::from(LINK_AT), 4), Access::Real);
    let mut buf = [0x11u8; 4];
    emu.read(LINK_AT, &mut buf);
    assert_eq!(buf, [0x11; 4]);
}

// Writes.

#[test]
fn write_to_emulated_bytes_only_forwards_nothing() {
    let (_, mut emu) = setup();
    let fx = emu.write(PASID_AT + 4, &[0, 0, 1, 0]);
    assert!(fx.real.is_empty());
    assert_eq!(fx.regs.pasid_enable, Some(true));
}

#[test]
fn write_straddling_real_and_emulated_bytes_forwards_the_real_part() {
    let (vf, mut emu) = setup();
    assert_eq!(real_parts(&mut emu, 0x1fc, &[0xff; 8]), [(0, 4)]);
    assert_eq!(real_parts(&mut emu, 0x214, &[0xff; 8]), [(4, 8)]);
    // The emulated part landed: PRI Allocation's top byte... of 0x214..0x218.
    assert_eq!(read_u32(&vf, &emu, PRI_AT + PCI_PRI_ALLOC_REQ), 0xffff_ffff);
}

#[test]
fn write_to_the_link_header_is_real() {
    let (vf, mut emu) = setup();
    assert_eq!(real_parts(&mut emu, LINK_AT, &[0; 4]), [(0, 4)]);
    assert_eq!(real_parts(&mut emu, LINK_AT + 3, &[0; 1]), [(0, 1)]);
    assert_eq!(
        read_u32(&vf, &emu, LINK_AT),
        ext_cap_header(PCI_EXT_CAP_ID_ATS, 0xa, PASID_AT)
    );
}

#[test]
fn write_around_the_null_capability_header_has_two_real_parts() {
    let raw = vec![0u32; 1024];
    let mut raw_with_ptm = raw.clone();
    raw_with_ptm[0x40] = ext_cap_header(PCI_EXT_CAP_ID_PTM, 1, 0);
    let placement = place(
        &|off| raw_with_ptm[usize::from(off / 4)],
        &|off| raw_with_ptm[usize::from(off / 4)],
        &|off| raw[usize::from(off / 4)],
        Some(admin(0x300)),
        None,
    );
    let mut emu = Emulation::new(placement, Some(PF_PASID), None, LIMITS);
    let fx = emu.write(0xfe, &[0; 8]);
    assert_eq!(fx.real.iter().collect::<Vec<_>>(), [0..2, 6..8]);
    assert!(fx.regs.wrote_ro_bits);
    let fx = emu.write(0x100, &ext_cap_header(0, 0, 0x300).to_le_bytes());
    assert!(fx.real.is_empty() && !fx.regs.wrote_ro_bits);
}

#[test]
fn write_across_both_emulated_capabilities_updates_both() {
    let (vf, mut emu) = setup();
    // PASID Control (0x206) and PRI header (0x208..0x20a).
    let fx = emu.write(0x206, &[1, 0, 0, 0]);
    assert!(fx.real.is_empty());
    assert_eq!(fx.regs.pasid_enable, Some(true));
    assert!(fx.regs.wrote_ro_bits);
    assert_eq!(
        read_u32(&vf, &emu, 0x204) >> 16,
        u32::from(PCI_PASID_CTRL_ENABLE)
    );
    assert_eq!(read_u32(&vf, &emu, PRI_AT) & 0xffff, 0x13);
}

#[test]
fn write_beyond_config_space_is_all_real() {
    let (_, mut emu) = setup();
    assert_eq!(real_parts(&mut emu, 0xffc, &[0; 8]), [(0, 8)]);
    assert_eq!(real_parts(&mut emu, u16::MAX, &[0; 2]), [(0, 2)]);
    assert!(emu.write(0x200, &[]).real.is_empty());
}

#[test]
fn write_when_nothing_is_emulated_is_all_real() {
    let mut emu = Vf::typical().emulation(None, None);
    assert_eq!(real_parts(&mut emu, 0x200, &[0; 8]), [(0, 8)]);
}

// The emulation as a whole.

#[test]
fn emulation_without_pf_values_is_empty() {
    let vf = Vf::typical();
    let placement = place(
        &|off| vf.raw[usize::from(off / 4)],
        &|off| vf.raw[usize::from(off / 4)],
        &|off| vf.virt[usize::from(off / 4)],
        Some(admin(0x200)),
        Some(admin(0x300)),
    );
    let emu = Emulation::new(placement, None, None, LIMITS);
    assert!(emu.is_empty());
    assert_eq!(emu.placement(), &placement);
}

#[test]
fn emulation_of_refused_capabilities_is_empty() {
    let emu = Vf::typical().emulation(Some(admin(0x100)), Some(admin(0x202)));
    assert!(emu.is_empty());
}

#[test]
fn emulation_without_pf_pasid_links_pri_alone() {
    let vf = Vf::typical();
    let placement = place(
        &|off| vf.raw[usize::from(off / 4)],
        &|off| vf.raw[usize::from(off / 4)],
        &|off| vf.virt[usize::from(off / 4)],
        Some(admin(0x200)),
        Some(admin(0x300)),
    );
    let emu = Emulation::new(placement, None, Some(PF_PRI), LIMITS);
    assert_eq!(emu.offset(EmulatedCap::Pasid), None);
    assert_eq!(emu.offset(EmulatedCap::Pri), Some(0x300));
    assert_eq!(read_u32(&vf, &emu, LINK_AT) >> 20, 0x300);
    assert_eq!(emu.classify(0x200, 8), Access::Real);
}

#[test]
fn emulation_chains_in_ascending_offset_order() {
    let vf = Vf::typical();
    let emu = vf.emulation(Some(admin(0x300)), Some(admin(0x200)));
    assert_eq!(read_u32(&vf, &emu, LINK_AT) >> 20, 0x200);
    assert_eq!(read_u32(&vf, &emu, 0x200), 0x3001_0013);
    assert_eq!(read_u32(&vf, &emu, 0x300), 0x0001_001b);
}

#[test]
fn emulation_presents_the_pasid_capability_of_the_pf() {
    let (vf, emu) = setup();
    assert_eq!(
        emu.pasid_cap_presented(),
        Some(PCI_PASID_CAP_EXEC | (20 << 8))
    );
    assert_eq!(
        read_u32(&vf, &emu, PASID_AT + 4),
        u32::from(PCI_PASID_CAP_EXEC | (20 << 8))
    );
}

#[test]
fn emulation_latches_pri_status_events() {
    let (vf, mut emu) = setup();
    emu.write(PRI_AT + 4, &[1, 0]);
    emu.set_pri_status_events(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    assert_eq!(
        read_u32(&vf, &emu, PRI_AT + 4) >> 16,
        u32::from(PCI_PRI_STATUS_PASID | PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI)
    );
    let pri = emu.regs(EmulatedCap::Pri).unwrap();
    assert_eq!(pri.reg(4), Some(u32::from(PCI_PRI_CTRL_ENABLE)));
}

#[test]
fn emulation_reset_restores_every_register() {
    let (vf, mut emu) = setup();
    let fresh = emu.clone();
    emu.write(PASID_AT + 4, &[0xff; 4]);
    emu.write(PRI_AT + 4, &[0xff; 12]);
    emu.set_pri_status_events(PCI_PRI_STATUS_RF);
    assert_ne!(emu, fresh);
    emu.reset();
    assert_eq!(emu, fresh);
    assert_eq!(
        read_u32(&vf, &emu, PRI_AT + 4) >> 16,
        u32::from(PCI_PRI_STATUS_PASID | PCI_PRI_STATUS_STOPPED)
    );
}

// PRG Response PASID Required: the PF's bit only while a PASID capability is presented.

/// Page Request Status of the emulated PRI capability at `pri_at`.
fn pri_status(vf: &Vf, emu: &Emulation, pri_at: u16) -> u16 {
    (read_u32(vf, emu, pri_at + 4) >> 16) as u16
}

#[test]
fn emulation_pri_status_pasid_reads_the_pf_bit_with_pasid_presented() {
    let (vf, emu) = setup();
    assert_eq!(
        pri_status(&vf, &emu, PRI_AT) & PCI_PRI_STATUS_PASID,
        PCI_PRI_STATUS_PASID
    );
}

#[test]
fn emulation_pri_status_pasid_reads_0_without_pasid_requested() {
    let vf = Vf::typical();
    let emu = vf.emulation(None, Some(admin(PRI_AT)));
    assert_eq!(emu.offset(EmulatedCap::Pri), Some(PRI_AT));
    assert_eq!(
        pri_status(&vf, &emu, PRI_AT),
        PCI_PRI_STATUS_STOPPED,
        "PRG Response PASID Required without a PASID capability"
    );
}

#[test]
fn emulation_pri_status_pasid_reads_0_with_pasid_refused() {
    let vf = Vf::typical();
    // 0x100 is AER's: the administrator's PASID offset is unusable.
    let emu = vf.emulation(Some(admin(0x100)), Some(admin(PRI_AT)));
    assert_eq!(emu.offset(EmulatedCap::Pasid), None);
    assert_eq!(pri_status(&vf, &emu, PRI_AT), PCI_PRI_STATUS_STOPPED);
}

#[test]
fn emulation_pri_status_pasid_reads_0_with_pasid_withheld() {
    let vf = Vf::typical();
    let placement = place(
        &|off| vf.raw[usize::from(off / 4)],
        &|off| vf.raw[usize::from(off / 4)],
        &|off| vf.virt[usize::from(off / 4)],
        Some(admin(PASID_AT)),
        Some(admin(PRI_AT)),
    );
    // The glue withholds PASID (for instance, the IOMMU gives the VF no PASIDs).
    let mut emu = Emulation::new(placement, None, Some(PF_PRI), LIMITS);
    assert_eq!(emu.offset(EmulatedCap::Pasid), None);
    assert_eq!(pri_status(&vf, &emu, PRI_AT), PCI_PRI_STATUS_STOPPED);
    // Read-only, and still 0 after a reset.
    emu.write(PRI_AT + 6, &[0xff, 0xff]);
    emu.reset();
    assert_eq!(pri_status(&vf, &emu, PRI_AT), PCI_PRI_STATUS_STOPPED);
}
