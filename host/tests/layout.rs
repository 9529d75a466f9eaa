// SPDX-License-Identifier: GPL-2.0

//! Walking extended capability chains and placing the emulated capabilities.

use vfio_pasid_vf_emu::emu::{
    ext_cap_header,
    ext_cap_id,
    place,
    walk,
    EmulatedCap,
    Link,
    Outcome,
    Placement,
    Refusal,
    Rejected,
    Request,
    Rule,
    Sample,
    Unusable,
    PCI_EXT_CAP_ID_ARI,
    PCI_EXT_CAP_ID_ATS,
    PCI_EXT_CAP_ID_ERR,
    PCI_EXT_CAP_ID_PTM,
    PCI_EXT_CAP_ID_VNDR, //
};

/// Secondary PCI Express: vfio-pci hides it, its length depends on the link width.
const PCI_EXT_CAP_ID_SECPCI: u16 = 0x19;

/// A VF's configuration space: hardware, as sampled at bind, and vfio-pci's view of it.
struct Vf {
    raw: [u32; 1024],
    bind: [u32; 1024],
    virt: [u32; 1024],
}

impl Vf {
    fn empty() -> Self {
        Self {
            raw: [0; 1024],
            bind: [0; 1024],
            virt: [0; 1024],
        }
    }

    /// AER at 0x100, ARI at 0x148, ATS at 0x150: free from 0x158.
    fn typical() -> Self {
        Self::empty()
            .cap(0x100, PCI_EXT_CAP_ID_ERR, 0x148)
            .cap(0x148, PCI_EXT_CAP_ID_ARI, 0x150)
            .cap(0x150, PCI_EXT_CAP_ID_ATS, 0)
    }

    /// A capability header in both views.
    fn cap(self, offset: u16, id: u16, next: u16) -> Self {
        self.dword(offset, ext_cap_header(id, 1, next))
    }

    /// A dword in both views, now and at bind.
    fn dword(mut self, offset: u16, value: u32) -> Self {
        self.raw[usize::from(offset / 4)] = value;
        self.bind[usize::from(offset / 4)] = value;
        self.virt[usize::from(offset / 4)] = value;
        self
    }

    /// A dword as the hardware read it at bind; it reads 0 now (after a reset).
    fn at_bind(mut self, offset: u16, value: u32) -> Self {
        self.bind[usize::from(offset / 4)] = value;
        self
    }

    /// A dword as vfio-pci shows it.
    fn virt(mut self, offset: u16, value: u32) -> Self {
        self.virt[usize::from(offset / 4)] = value;
        self
    }

    fn raw_read(&self, offset: u16) -> u32 {
        self.raw[usize::from(offset / 4)]
    }

    fn place(&self, pasid: Option<Request>, pri: Option<Request>) -> Placement {
        place(
            &|off| self.raw[usize::from(off / 4)],
            &|off| self.bind[usize::from(off / 4)],
            &|off| self.virt[usize::from(off / 4)],
            pasid,
            pri,
        )
    }

    fn place_pasid(&self, req: Request) -> Outcome {
        self.place(Some(req), None).pasid().unwrap().outcome
    }
}

fn pf(pf_offset: u16) -> Request {
    Request {
        admin: None,
        advised: None,
        pf_offset,
    }
}

fn admin(offset: u16) -> Request {
    Request {
        admin: Some(offset),
        ..pf(0x800)
    }
}

fn advised(offset: u16, pf_offset: u16) -> Request {
    Request {
        advised: Some(offset),
        ..pf(pf_offset)
    }
}

fn placed(offset: u16, rule: Rule) -> Outcome {
    Outcome::Placed { offset, rule }
}

fn admin_refused(offset: u16, why: Unusable) -> Outcome {
    Outcome::Refused(Refusal::AdminOffsetUnusable { offset, why })
}

fn offsets(read: &dyn Fn(u16) -> u32) -> Vec<u16> {
    walk(read).map(|cap| cap.offset).collect()
}

// Walking a chain.

#[test]
fn walk_follows_next_from_0x100() {
    let vf = Vf::typical();
    assert_eq!(offsets(&|off| vf.raw_read(off)), [0x100, 0x148, 0x150]);
    let ids: Vec<u16> = walk(&|off| vf.raw_read(off))
        .map(|cap| ext_cap_id(cap.header))
        .collect();
    assert_eq!(
        ids,
        [PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_ATS]
    );
}

#[test]
fn walk_of_0_at_0x100_finds_no_capability() {
    assert!(offsets(&|_| 0).is_empty());
}

#[test]
fn walk_of_all_ones_at_0x100_finds_no_capability() {
    assert!(offsets(&|_| 0xffff_ffff).is_empty());
}

#[test]
fn walk_stops_at_next_below_0x100() {
    let vf = Vf::empty().cap(0x100, PCI_EXT_CAP_ID_ARI, 0x40);
    assert_eq!(offsets(&|off| vf.raw_read(off)), [0x100]);
}

#[test]
fn walk_masks_the_reserved_bits_of_next() {
    let vf =
        Vf::empty()
            .cap(0x100, PCI_EXT_CAP_ID_ARI, 0x203)
            .cap(0x200, PCI_EXT_CAP_ID_ATS, 0x001);
    let caps: Vec<_> = walk(&|off| vf.raw_read(off)).collect();
    assert_eq!(caps.len(), 2);
    assert_eq!(
        (caps[0].next(), caps[1].offset, caps[1].next()),
        (0x200, 0x200, 0)
    );
}

#[test]
fn walk_stops_at_a_loop() {
    let vf = Vf::typical().cap(0x150, PCI_EXT_CAP_ID_ATS, 0x148);
    assert_eq!(offsets(&|off| vf.raw_read(off)), [0x100, 0x148, 0x150]);
}

#[test]
fn walk_stops_at_a_capability_pointing_at_itself() {
    let vf = Vf::empty().cap(0x100, PCI_EXT_CAP_ID_ARI, 0x100);
    assert_eq!(offsets(&|off| vf.raw_read(off)), [0x100]);
}

#[test]
fn walk_stops_at_a_header_of_0_or_all_ones_after_0x100() {
    let vf = Vf::empty().cap(0x100, PCI_EXT_CAP_ID_ARI, 0x200);
    assert_eq!(offsets(&|off| vf.raw_read(off)), [0x100]);
    let vf = vf.dword(0x200, 0xffff_ffff);
    assert_eq!(offsets(&|off| vf.raw_read(off)), [0x100]);
}

#[test]
fn walk_takes_at_most_one_step_per_dword() {
    // Every dword a capability pointing at the next one: 960 of them, then 0x1000 wraps
    // to 0x000, below 0x100.
    let read = |off: u16| ext_cap_header(0x42, 1, (off + 4) & 0xfff);
    assert_eq!(walk(&read).count(), 960);
}

#[test]
fn walk_of_garbage_terminates() {
    let read = |off: u16| u32::from(off).wrapping_mul(0x9e37_79b9);
    assert!(walk(&read).count() <= 960);
}

// Rule 1: the administrator's offset.

#[test]
fn place_admin_offset_is_used() {
    assert_eq!(
        Vf::typical().place_pasid(admin(0x400)),
        placed(0x400, Rule::Admin)
    );
}

#[test]
fn place_admin_offset_not_dword_aligned_is_refused() {
    assert_eq!(
        Vf::typical().place_pasid(admin(0x402)),
        admin_refused(0x402, Unusable::Misaligned)
    );
}

#[test]
fn place_admin_offset_below_0x100_is_refused() {
    assert_eq!(
        Vf::typical().place_pasid(admin(0xf8)),
        admin_refused(0xf8, Unusable::BelowExtendedConfig)
    );
}

#[test]
fn place_admin_offset_beyond_config_space_is_refused() {
    assert_eq!(
        Vf::typical().place_pasid(admin(0xffc)),
        admin_refused(0xffc, Unusable::BeyondConfigSpace)
    );
    assert_eq!(
        Vf::typical().place_pasid(admin(0xfffc)),
        admin_refused(0xfffc, Unusable::BeyondConfigSpace)
    );
}

#[test]
fn place_admin_offset_over_a_capability_is_refused_and_names_it() {
    assert_eq!(
        Vf::typical().place_pasid(admin(0x140)),
        admin_refused(
            0x140,
            Unusable::OverlapsCapability {
                offset: 0x100,
                id: PCI_EXT_CAP_ID_ERR
            }
        )
    );
}

#[test]
fn place_admin_offset_over_a_hidden_capability_is_refused() {
    // vfio-pci skips the Secondary PCIe capability at 0x158: AER links to ATS.
    let vf = Vf::typical()
        .cap(0x150, PCI_EXT_CAP_ID_ATS, 0x158)
        .cap(0x158, PCI_EXT_CAP_ID_SECPCI, 0)
        .virt(0x150, ext_cap_header(PCI_EXT_CAP_ID_ATS, 1, 0));
    assert_eq!(
        vf.place_pasid(admin(0x400)),
        admin_refused(
            0x400,
            Unusable::OverlapsCapability {
                offset: 0x158,
                id: PCI_EXT_CAP_ID_SECPCI
            }
        )
    );
}

#[test]
fn place_admin_offset_over_nonzero_hardware_is_refused() {
    let vf = Vf::typical().dword(0x404, 0x5a);
    assert_eq!(
        vf.place_pasid(admin(0x400)),
        admin_refused(
            0x400,
            Unusable::HardwareNotZero {
                offset: 0x404,
                value: 0x5a,
                sample: Sample::Now
            }
        )
    );
}

#[test]
fn place_admin_offset_over_the_other_emulated_capability_is_refused() {
    let placement = Vf::typical().place(Some(admin(0x400)), Some(admin(0x404)));
    assert_eq!(
        placement.pri().unwrap().outcome,
        admin_refused(
            0x404,
            Unusable::OverlapsEmulated {
                cap: EmulatedCap::Pasid,
                offset: 0x400
            }
        )
    );
}

#[test]
fn place_admin_offset_unusable_does_not_fall_back() {
    let req = Request {
        admin: Some(0x140),
        advised: Some(0x400),
        pf_offset: 0x500,
    };
    assert!(matches!(
        Vf::typical().place_pasid(req),
        Outcome::Refused(_)
    ));
}

#[test]
fn place_admin_offset_over_a_virtualised_header_is_refused() {
    // A header only the virtualised view shows.
    let vf = Vf::typical()
        .cap(0x150, PCI_EXT_CAP_ID_ATS, 0x400)
        .virt(0x400, ext_cap_header(PCI_EXT_CAP_ID_ARI, 1, 0));
    assert_eq!(
        vf.place_pasid(admin(0x400)),
        admin_refused(
            0x400,
            Unusable::OverlapsCapability {
                offset: 0x400,
                id: PCI_EXT_CAP_ID_ARI
            }
        )
    );
}

// Rule 3: the advised offset.

#[test]
fn place_advised_offset_is_used() {
    assert_eq!(
        Vf::typical().place_pasid(advised(0x300, 0x400)),
        placed(0x300, Rule::Advised)
    );
}

#[test]
fn place_advised_offset_unusable_falls_through_and_is_reported() {
    let placement = Vf::typical().place(Some(advised(0x104, 0x400)), None);
    let pasid = placement.pasid().unwrap();
    assert_eq!(pasid.outcome, placed(0x400, Rule::PfOffset));
    assert_eq!(
        pasid.advice_rejected,
        Some(Rejected {
            offset: 0x104,
            why: Unusable::OverlapsCapability {
                offset: 0x100,
                id: PCI_EXT_CAP_ID_ERR
            }
        })
    );
}

// Rule 4: the PF's offset.

#[test]
fn place_pf_offset_is_used() {
    assert_eq!(
        Vf::typical().place_pasid(pf(0x1c0)),
        placed(0x1c0, Rule::PfOffset)
    );
}

#[test]
fn place_pf_offset_unusable_falls_through_to_the_highest_free_offset() {
    assert_eq!(
        Vf::typical().place_pasid(pf(0x148)),
        placed(0xff8, Rule::HighestFree)
    );
}

// Rule 5: the highest free offset.

#[test]
fn place_highest_free_is_at_the_top_of_config_space() {
    let placement = Vf::typical().place(None, Some(pf(0x100)));
    assert_eq!(
        placement.pri().unwrap().outcome,
        placed(0xff0, Rule::HighestFree)
    );
}

#[test]
fn place_highest_free_skips_capabilities() {
    // PTM at 0xff0..0xffc leaves a free dword at 0xffc, too small.
    let vf = Vf::typical()
        .cap(0x150, PCI_EXT_CAP_ID_ATS, 0xff0)
        .cap(0xff0, PCI_EXT_CAP_ID_PTM, 0);
    assert_eq!(vf.place_pasid(pf(0x100)), placed(0xfe8, Rule::HighestFree));
}

#[test]
fn place_highest_free_skips_nonzero_hidden_registers() {
    let vf = Vf::typical().dword(0xffc, 1).dword(0xff0, 0x8000_0000);
    assert_eq!(vf.place_pasid(pf(0x100)), placed(0xff4, Rule::HighestFree));
    // PRI needs 16 bytes: 0xff4 has only 8 before the register at 0xffc.
    let placement = vf.place(None, Some(pf(0x100)));
    assert_eq!(
        placement.pri().unwrap().outcome,
        placed(0xfe0, Rule::HighestFree)
    );
}

#[test]
fn place_highest_free_skips_hidden_capabilities() {
    // vfio-pci skips the Secondary PCIe capability at 0xf00, of unknown length: as the
    // highest capability, it extends to 0x1000.
    let vf = Vf::typical()
        .cap(0x150, PCI_EXT_CAP_ID_ATS, 0xf00)
        .cap(0xf00, PCI_EXT_CAP_ID_SECPCI, 0)
        .virt(0x150, ext_cap_header(PCI_EXT_CAP_ID_ATS, 1, 0));
    assert_eq!(vf.place_pasid(pf(0x100)), placed(0xef8, Rule::HighestFree));
}

#[test]
fn place_highest_free_of_pri_skips_pasid() {
    let placement = Vf::typical().place(Some(pf(0x100)), Some(pf(0x100)));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0xff8, Rule::HighestFree)
    );
    assert_eq!(
        placement.pri().unwrap().outcome,
        placed(0xfe8, Rule::HighestFree)
    );
}

#[test]
fn place_unknown_length_capability_extends_to_the_next_capability_by_address() {
    // ID 0x42 at 0x158, its chain successor at 0x400 but ARI at 0x200 by address.
    let vf = Vf::typical()
        .cap(0x150, PCI_EXT_CAP_ID_ATS, 0x158)
        .cap(0x158, 0x42, 0x400)
        .cap(0x400, PCI_EXT_CAP_ID_ATS, 0x200)
        .cap(0x200, PCI_EXT_CAP_ID_ARI, 0);
    assert_eq!(
        vf.place_pasid(admin(0x1f8)),
        admin_refused(
            0x1f8,
            Unusable::OverlapsCapability {
                offset: 0x158,
                id: 0x42
            }
        )
    );
    assert_eq!(vf.place_pasid(pf(0x208)), placed(0x208, Rule::PfOffset));
}

#[test]
fn place_unknown_length_capability_at_the_top_extends_to_0x1000() {
    let vf = Vf::typical()
        .cap(0x150, PCI_EXT_CAP_ID_ATS, 0x800)
        .cap(0x800, 0x42, 0);
    assert_eq!(vf.place_pasid(pf(0xff0)), placed(0x7f8, Rule::HighestFree));
    assert!(matches!(
        vf.place_pasid(admin(0xff0)),
        Outcome::Refused(Refusal::AdminOffsetUnusable {
            why: Unusable::OverlapsCapability {
                offset: 0x800,
                id: 0x42
            },
            ..
        })
    ));
}

#[test]
fn place_vendor_specific_length_comes_from_its_header() {
    let vf = Vf::typical()
        .cap(0x150, PCI_EXT_CAP_ID_ATS, 0x158)
        .cap(0x158, PCI_EXT_CAP_ID_VNDR, 0)
        .dword(0x15c, 0x0181_1af4)
        .dword(0x160, 0xffff_ffff);
    // 0x18 bytes: 0x158..0x170.
    assert_eq!(
        vf.place_pasid(admin(0x168)),
        admin_refused(
            0x168,
            Unusable::OverlapsCapability {
                offset: 0x158,
                id: PCI_EXT_CAP_ID_VNDR
            }
        )
    );
    assert_eq!(vf.place_pasid(pf(0x170)), placed(0x170, Rule::PfOffset));
}

#[test]
fn place_full_vf_is_refused_gracefully() {
    // A capability of unknown length at 0x100 takes everything.
    let vf = Vf::empty().cap(0x100, 0x42, 0);
    let placement = vf.place(Some(advised(0x200, 0x300)), Some(pf(0x100)));
    let pasid = placement.pasid().unwrap();
    assert_eq!(pasid.outcome, Outcome::Refused(Refusal::NoFreeSpace));
    assert!(pasid.advice_rejected.is_some());
    assert_eq!(
        placement.pri().unwrap().outcome,
        Outcome::Refused(Refusal::NoFreeSpace)
    );
    assert_eq!(placement.link(), None);
}

#[test]
fn place_over_nonzero_hardware_everywhere_is_refused_gracefully() {
    let vf = Vf {
        raw: [0xffff_ffff; 1024],
        bind: [0xffff_ffff; 1024],
        virt: [0; 1024],
    };
    let placement = vf.place(Some(pf(0x200)), Some(admin(0x300)));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        Outcome::Refused(Refusal::NoFreeSpace)
    );
    assert!(matches!(
        placement.pri().unwrap().outcome,
        Outcome::Refused(Refusal::AdminOffsetUnusable {
            why: Unusable::HardwareNotZero { .. },
            ..
        })
    ));
}

#[test]
fn place_with_a_loop_in_the_raw_chain_terminates() {
    let vf = Vf::typical().cap(0x150, PCI_EXT_CAP_ID_ATS, 0x100);
    let placement = vf.place(Some(pf(0x100)), Some(pf(0x100)));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0xff8, Rule::HighestFree)
    );
    assert_eq!(placement.link(), Some(Link::PatchNext { last_cap: 0x150 }));
}

#[test]
fn place_nothing_requested_places_nothing() {
    let placement = Vf::typical().place(None, None);
    assert!(placement.pasid().is_none() && placement.pri().is_none());
    assert_eq!(placement.link(), None);
}

// Linking into the chain.

#[test]
fn place_links_after_the_last_capability_of_the_virtualised_chain() {
    let placement = Vf::typical().place(Some(pf(0x200)), Some(pf(0x300)));
    assert_eq!(placement.link(), Some(Link::PatchNext { last_cap: 0x150 }));
}

#[test]
fn place_links_after_the_last_capability_the_virtualised_view_shows() {
    // vfio-pci skips ATS, the last capability: ARI is the last it shows.
    let vf = Vf::typical().virt(0x148, ext_cap_header(PCI_EXT_CAP_ID_ARI, 1, 0));
    let placement = vf.place(Some(pf(0x200)), None);
    assert_eq!(placement.link(), Some(Link::PatchNext { last_cap: 0x148 }));
    // ATS still occupies its space.
    assert_eq!(
        vf.place_pasid(admin(0x150)),
        admin_refused(
            0x150,
            Unusable::OverlapsCapability {
                offset: 0x150,
                id: PCI_EXT_CAP_ID_ATS
            }
        )
    );
}

#[test]
fn place_without_extended_capabilities_heads_the_chain_at_0x100() {
    let placement = Vf::empty().place(Some(pf(0x200)), Some(pf(0x300)));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0x100, Rule::ChainHead)
    );
    assert_eq!(
        placement.pri().unwrap().outcome,
        placed(0x300, Rule::PfOffset)
    );
    assert_eq!(placement.link(), Some(Link::Head));
}

#[test]
fn place_without_extended_capabilities_lets_pri_head_the_chain_after_an_admin_pasid() {
    let placement = Vf::empty().place(Some(admin(0x200)), Some(pf(0x300)));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0x200, Rule::Admin)
    );
    assert_eq!(
        placement.pri().unwrap().outcome,
        placed(0x100, Rule::ChainHead)
    );
    assert_eq!(placement.link(), Some(Link::Head));
}

#[test]
fn place_without_visible_extended_capabilities_and_0x100_in_use_emulates_a_null_header() {
    // vfio-pci hides the only capability, PTM at 0x100: its view reads 0 there.
    let vf = Vf::empty().cap(0x100, PCI_EXT_CAP_ID_PTM, 0).virt(0x100, 0);
    let placement = vf.place(Some(pf(0x200)), None);
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0x200, Rule::PfOffset)
    );
    assert_eq!(placement.link(), Some(Link::HeadPlaceholder));
    assert_eq!(placement.virt_last(), None);
}

#[test]
fn place_with_a_hidden_first_capability_links_after_the_null_capability_vfio_pci_shows() {
    // vfio-pci hides SECPCI at 0x100 by clearing its ID and version, keeping Next.
    let vf = Vf::empty()
        .cap(0x100, PCI_EXT_CAP_ID_SECPCI, 0x148)
        .virt(0x100, ext_cap_header(0, 0, 0x148))
        .cap(0x148, PCI_EXT_CAP_ID_ARI, 0);
    let placement = vf.place(Some(pf(0x100)), None);
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0xff8, Rule::HighestFree)
    );
    assert_eq!(placement.link(), Some(Link::PatchNext { last_cap: 0x148 }));
}

// Display, for dmesg.

#[test]
fn placement_display_reads_well() {
    let vf = Vf::typical();
    let placement = vf.place(Some(advised(0x104, 0x1c0)), Some(admin(0x140)));
    assert_eq!(
        placement.to_string(),
        "PASID at 0x1c0 (PF's offset); advised offset 0x104 is unusable: overlaps \
         capability 0x0001 at 0x100; PRI not presented: administrator's offset 0x140 is \
         unusable: overlaps capability 0x0001 at 0x100; linked from the capability at 0x150"
    );
    let placement = Vf::empty().place(None, Some(pf(0x300)));
    assert_eq!(
        placement.to_string(),
        "PRI at 0x100 (head of the extended capability chain); heading the chain at 0x100"
    );
    assert_eq!(
        Vf::empty().place(None, None).to_string(),
        "nothing to emulate"
    );
}

#[test]
fn refusal_display_reads_well() {
    let cases = [
        (Unusable::Misaligned, "not dword aligned"),
        (
            Unusable::BelowExtendedConfig,
            "below extended configuration space",
        ),
        (
            Unusable::BeyondConfigSpace,
            "extends beyond configuration space",
        ),
        (
            Unusable::OverlapsEmulated {
                cap: EmulatedCap::Pasid,
                offset: 0x200,
            },
            "overlaps the emulated PASID capability at 0x200",
        ),
        (
            Unusable::HardwareNotZero {
                offset: 0x204,
                value: 1,
                sample: Sample::Now,
            },
            "hardware dword at 0x204 reads 0x00000001, not 0",
        ),
        (
            Unusable::HardwareNotZero {
                offset: 0x1a4,
                value: 0x1234_5678,
                sample: Sample::Now,
            },
            "hardware dword at 0x1a4 reads 0x12345678, not 0",
        ),
        (
            Unusable::HardwareNotZero {
                offset: 0x1a4,
                value: 0x1234_5678,
                sample: Sample::Bind,
            },
            "hardware dword at 0x1a4 read 0x12345678 at bind, not 0",
        ),
    ];
    for (why, text) in cases {
        assert_eq!(why.to_string(), text);
    }
    assert_eq!(
        Refusal::NoFreeSpace.to_string(),
        "no free space in extended configuration space"
    );
    assert_eq!(
        Link::HeadPlaceholder.to_string(),
        "linked from a null capability at 0x100"
    );
    assert_eq!(Rule::HighestFree.to_string(), "highest free offset");
}

// Pinned capabilities first: automatic ones avoid the administrator's offsets.

#[test]
fn place_admin_pri_at_the_pf_offset_of_pasid_is_kept() {
    // PASID's PF offset is 0x200, the administrator pins PRI there.
    let placement = Vf::typical().place(Some(pf(0x200)), Some(admin(0x200)));
    assert_eq!(placement.pri().unwrap().outcome, placed(0x200, Rule::Admin));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0xff8, Rule::HighestFree)
    );
}

#[test]
fn place_admin_pri_at_0x100_of_a_vf_without_extended_capabilities_is_kept() {
    let placement = Vf::empty().place(Some(pf(0x300)), Some(admin(0x100)));
    assert_eq!(placement.pri().unwrap().outcome, placed(0x100, Rule::Admin));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0x300, Rule::PfOffset)
    );
    assert_eq!(placement.link(), Some(Link::Head));
}

#[test]
fn place_automatic_pasid_avoids_an_admin_pri_at_the_top() {
    let placement = Vf::typical().place(Some(pf(0x100)), Some(admin(0xff0)));
    assert_eq!(placement.pri().unwrap().outcome, placed(0xff0, Rule::Admin));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0xfe8, Rule::HighestFree)
    );
}

#[test]
fn place_both_pinned_and_overlapping_pasid_wins() {
    let placement = Vf::typical().place(Some(admin(0x404)), Some(admin(0x400)));
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0x404, Rule::Admin)
    );
    assert_eq!(
        placement.pri().unwrap().outcome,
        admin_refused(
            0x400,
            Unusable::OverlapsEmulated {
                cap: EmulatedCap::Pasid,
                offset: 0x404
            }
        )
    );
}

// Hardware sampled at bind: a dword is usable only if it reads 0 now and read 0 at bind.

#[test]
fn place_admin_offset_over_hardware_nonzero_at_bind_is_refused() {
    let vf = Vf::typical().at_bind(0x1a4, 0x1234_5678);
    let placement = vf.place(Some(admin(0x1a0)), None);
    assert_eq!(
        placement.pasid().unwrap().outcome,
        admin_refused(
            0x1a0,
            Unusable::HardwareNotZero {
                offset: 0x1a4,
                value: 0x1234_5678,
                sample: Sample::Bind
            }
        )
    );
    assert_eq!(
        placement.to_string(),
        "PASID not presented: administrator's offset 0x1a0 is unusable: hardware dword at \
         0x1a4 read 0x12345678 at bind, not 0"
    );
}

#[test]
fn place_admin_offset_over_hardware_nonzero_now_says_so_before_the_bind_sample() {
    let vf = Vf::typical().dword(0x1a4, 5).at_bind(0x1a4, 7);
    assert_eq!(
        vf.place_pasid(admin(0x1a0)),
        admin_refused(
            0x1a0,
            Unusable::HardwareNotZero {
                offset: 0x1a4,
                value: 5,
                sample: Sample::Now
            }
        )
    );
}

#[test]
fn place_pf_offset_over_hardware_nonzero_at_bind_falls_through() {
    let vf = Vf::typical().at_bind(0x20c, 1);
    let placement = vf.place(None, Some(pf(0x200)));
    assert_eq!(
        placement.pri().unwrap().outcome,
        placed(0xff0, Rule::HighestFree)
    );
}

#[test]
fn place_advised_offset_over_hardware_nonzero_at_bind_is_rejected() {
    let vf = Vf::typical().at_bind(0x300, 0x8000_0000);
    let pasid = *vf.place(Some(advised(0x300, 0x400)), None).pasid().unwrap();
    assert_eq!(pasid.outcome, placed(0x400, Rule::PfOffset));
    assert_eq!(
        pasid.advice_rejected,
        Some(Rejected {
            offset: 0x300,
            why: Unusable::HardwareNotZero {
                offset: 0x300,
                value: 0x8000_0000,
                sample: Sample::Bind
            }
        })
    );
}

#[test]
fn place_highest_free_skips_hardware_nonzero_at_bind() {
    let vf = Vf::typical().at_bind(0xffc, 1);
    assert_eq!(vf.place_pasid(pf(0x100)), placed(0xff4, Rule::HighestFree));
}

#[test]
fn place_chain_head_skips_hardware_nonzero_at_bind() {
    // No extended capability, but a register at 0x104 that read nonzero at bind.
    let vf = Vf::empty().at_bind(0x104, 1);
    let placement = vf.place(Some(pf(0x300)), None);
    assert_eq!(
        placement.pasid().unwrap().outcome,
        placed(0x300, Rule::PfOffset)
    );
    assert_eq!(placement.link(), Some(Link::HeadPlaceholder));
}

#[test]
fn place_walks_the_chain_and_sizes_capabilities_as_the_hardware_reads_now() {
    // At bind, ATS linked to a 0x40-byte Vendor-Specific capability at 0x400; now the
    // chain ends at ATS. Only the dwords that read nonzero at bind are unusable.
    let vf = Vf::typical()
        .at_bind(0x150, ext_cap_header(PCI_EXT_CAP_ID_ATS, 1, 0x400))
        .at_bind(0x400, ext_cap_header(PCI_EXT_CAP_ID_VNDR, 1, 0))
        .at_bind(0x404, 0x0401_1af4);
    assert_eq!(vf.place_pasid(admin(0x408)), placed(0x408, Rule::Admin));
    assert_eq!(
        vf.place_pasid(admin(0x400)),
        admin_refused(
            0x400,
            Unusable::HardwareNotZero {
                offset: 0x400,
                value: ext_cap_header(PCI_EXT_CAP_ID_VNDR, 1, 0),
                sample: Sample::Bind
            }
        )
    );
    assert_eq!(
        vf.place(Some(pf(0x200)), None).link(),
        Some(Link::PatchNext { last_cap: 0x150 })
    );
}
