// SPDX-License-Identifier: GPL-2.0

//! Properties of the emulation over random VFs, PFs and access sequences.
//!
//! Each case builds a synthetic VF (a few capabilities, some hidden by vfio-pci, nonzero
//! registers that no capability describes, some of them only in the sample taken at bind,
//! maybe a looping or junk chain), random PF
//! capabilities and placement requests, then applies random reads, writes, events and
//! resets of 1, 2, 4 or 8 bytes at random offsets. [`Harness`] checks after every step
//! that every emulated byte reads what a model of the spec says, that `classify` and
//! `read` agree with the placement, and that writes are split correctly; at the start
//! and the end it checks the placement and the chain userspace sees.

use proptest::prelude::*;
use vfio_pasid_vf_emu::{
    emu::{
        EmulatedCap,
        HostLimits,
        Outcome,
        PfPasid,
        PfPri,
        Refusal,
        Request,
        Rule,
        Unusable,
        PCI_PRI_CTRL,
        PCI_PRI_CTRL_ENABLE,
        PCI_PRI_STATUS,
        PCI_PRI_STATUS_RF,
        PCI_PRI_STATUS_STOPPED,
        PCI_PRI_STATUS_UPRGI, //
    },
    fake::{
        At,
        CapSpec,
        Config,
        Harness,
        Op,
        Scenario,
        Tail,
        PALETTE, //
    },
};

fn cap_spec() -> impl Strategy<Value = CapSpec> {
    (
        0..PALETTE.len(),
        any::<u8>(),
        0u8..24,
        any::<u8>(),
        prop::bool::weighted(0.3),
        any::<u32>(),
    )
        .prop_map(|(id, gap, dwords, order, hidden, fill)| CapSpec {
            id: PALETTE[id],
            gap,
            dwords,
            order,
            hidden,
            fill,
        })
}

fn tail() -> impl Strategy<Value = Tail> {
    prop_oneof![
        6 => Just(Tail::End),
        1 => any::<u8>().prop_map(Tail::Loop),
        1 => any::<u16>().prop_map(Tail::Junk),
    ]
}

fn offset() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => (0x40u16..0x400).prop_map(|dword| dword * 4),
        1 => any::<u16>(),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        prop::option::weighted(0.2, offset()),
        prop::option::weighted(0.3, offset()),
        offset(),
    )
        .prop_map(|(admin, advised, pf_offset)| Request {
            admin,
            advised,
            pf_offset,
        })
}

fn pf_pasid() -> impl Strategy<Value = PfPasid> {
    (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(version, cap, ctrl)| PfPasid {
        offset: 0,
        version,
        cap,
        ctrl,
    })
}

fn pf_pri() -> impl Strategy<Value = PfPri> {
    (any::<u8>(), any::<u16>(), any::<u32>()).prop_map(|(version, status, capacity)| PfPri {
        offset: 0,
        version,
        status,
        capacity,
    })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(cap_spec(), 0..=8),
        prop::collection::vec((any::<u16>(), 1u32..), 0..4),
        prop::collection::vec((any::<u16>(), 1u32..), 0..4),
        tail(),
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
        prop::option::weighted(0.9, (pf_pasid(), request())),
        prop::option::weighted(0.9, (pf_pri(), request())),
        any::<u8>(),
    )
        .prop_map(
            |(caps, hidden, at_bind, tail, next_bits, pasid, pri, max_pasid_width)| Scenario {
                config: Config::new(&caps, &hidden, tail, next_bits).with_bind_regs(&at_bind),
                pasid,
                pri,
                limits: HostLimits { max_pasid_width },
            },
        )
}

/// A scenario with both capabilities requested, one of them pinned by the administrator
/// at an offset where the other one's automatic rules are likely to go (the other one's
/// PF or advised offset, the head of the chain, the highest free offsets), the other one
/// sometimes pinned too.
fn pinned_scenario() -> impl Strategy<Value = Scenario> {
    (
        scenario(),
        (pf_pasid(), request()),
        (pf_pri(), request()),
        any::<bool>(),
        0usize..8,
        offset(),
        prop::option::weighted(0.2, offset()),
    )
        .prop_map(
            |(mut s, mut pasid, mut pri, pin_pri, target, anywhere, other_admin)| {
                let (pinned, other) = if pin_pri {
                    (&mut pri.1, &mut pasid.1)
                } else {
                    (&mut pasid.1, &mut pri.1)
                };
                pinned.admin = Some(match target {
                    0 => other.pf_offset,
                    1 => other.advised.unwrap_or(other.pf_offset),
                    2 => 0x100,
                    3 => 0xff8,
                    4 => 0xff0,
                    5 => 0xfe8,
                    6 => other.pf_offset.wrapping_add(8),
                    _ => anywhere,
                });
                other.admin = other_admin;
                s.pasid = Some(pasid);
                s.pri = Some(pri);
                s
            },
        )
}

fn at() -> impl Strategy<Value = At> {
    prop_oneof![
        3 => any::<u8>().prop_map(At::Pasid),
        3 => any::<u8>().prop_map(At::Pri),
        1 => any::<u8>().prop_map(At::Link),
        1 => any::<u16>().prop_map(At::Abs),
        1 => (0xf0u16..0x1010).prop_map(At::Abs),
    ]
}

fn len() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![1u8, 2, 4, 8])
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (at(), len()).prop_map(|(at, len)| Op::Read { at, len }),
        6 => (at(), len(), any::<u64>()).prop_map(|(at, len, value)| Op::Write { at, len, value }),
        1 => any::<u16>().prop_map(Op::Events),
        1 => Just(Op::Reset),
    ]
}

fn harness(scenario: Scenario) -> Result<Harness, TestCaseError> {
    Harness::new(scenario).map_err(|failure| TestCaseError::fail(format!("{failure:?}")))
}

fn check(
    result: Result<(), vfio_pasid_vf_emu::fake::Failure>,
    op: &Op,
) -> Result<(), TestCaseError> {
    result.map_err(|failure| TestCaseError::fail(format!("{failure:?} after {op:?}")))
}

/// The 16-bit register at `offset` of the emulated `cap`, as userspace reads it.
fn reg16(h: &Harness, cap: EmulatedCap, offset: u16) -> Option<u16> {
    let base = h.emu.offset(cap)?;
    let mut bytes = [0u8; 2];
    h.emu.read(base + offset, &mut bytes);
    Some(u16::from_le_bytes(bytes))
}

/// Every byte of the emulated `cap`.
fn image(h: &Harness, cap: EmulatedCap) -> Option<[u8; 16]> {
    let base = h.emu.offset(cap)?;
    let mut bytes = [0u8; 16];
    h.emu.read(base, &mut bytes[..usize::from(cap.size())]);
    Some(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn emulation_matches_the_model_for_any_access_sequence(
        scenario in scenario(),
        ops in prop::collection::vec(op(), 0..64),
    ) {
        let mut h = harness(scenario)?;
        prop_assert!(!h.emu.placement().to_string().is_empty());
        for op in &ops {
            check(h.apply(*op), op)?;
        }
        check(h.check_chain(), &Op::Reset)?;
    }

    #[test]
    fn ro_bits_never_change(
        scenario in scenario(),
        ops in prop::collection::vec(op(), 0..64),
    ) {
        let mut h = harness(scenario)?;
        // Headers, PASID Capability, Outstanding Page Request Capacity, and PRG Response
        // PASID Required.
        let ro = |h: &Harness| {
            let pasid = image(h, EmulatedCap::Pasid).map(|b| [b[0], b[1], b[2], b[3], b[4], b[5]]);
            let pri = image(h, EmulatedCap::Pri)
                .map(|b| [b[0], b[1], b[2], b[3], b[7] & 0x80, b[8], b[9], b[10], b[11]]);
            (pasid, pri)
        };
        let initial = ro(&h);
        for op in &ops {
            check(h.apply(*op), op)?;
            prop_assert_eq!(ro(&h), initial, "after {:?}", op);
            if let Some(status) = reg16(&h, EmulatedCap::Pri, PCI_PRI_STATUS) {
                let ctrl = reg16(&h, EmulatedCap::Pri, PCI_PRI_CTRL).unwrap();
                let enabled = ctrl & PCI_PRI_CTRL_ENABLE != 0;
                prop_assert_eq!(status & PCI_PRI_STATUS_STOPPED == 0, enabled, "Stopped is not !Enable");
            }
        }
    }

    #[test]
    fn rw1c_bits_clear_only_where_written_1(
        scenario in scenario(),
        ops in prop::collection::vec(op(), 0..64),
    ) {
        let mut h = harness(scenario)?;
        let rw1c = PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI;
        for op in &ops {
            let before = reg16(&h, EmulatedCap::Pri, PCI_PRI_STATUS);
            let Op::Write { at, len, value } = *op else {
                check(h.apply(*op), op)?;
                continue;
            };
            let pos = h.resolve(at);
            let ctrl_before = reg16(&h, EmulatedCap::Pri, PCI_PRI_CTRL);
            check(h.apply(*op), op)?;
            let (Some(before), Some(after)) = (before, reg16(&h, EmulatedCap::Pri, PCI_PRI_STATUS)) else {
                continue;
            };
            // The bits of Page Request Status written 1.
            let status_at = u64::from(h.emu.offset(EmulatedCap::Pri).unwrap() + PCI_PRI_STATUS);
            let mut written = 0u16;
            for (i, byte) in value.to_le_bytes().iter().take(usize::from(len)).enumerate() {
                let p = pos + i as u64;
                if pos + u64::from(len) <= 0x1000 && (status_at..status_at + 2).contains(&p) {
                    written |= u16::from(*byte) << (8 * (p - status_at));
                }
            }
            prop_assert_eq!(after & rw1c & !before, 0, "a write set a RW1C bit");
            prop_assert_eq!(after & rw1c & written, 0, "a RW1C bit written 1 stayed set");
            let enable_rose = ctrl_before.unwrap() & PCI_PRI_CTRL_ENABLE == 0
                && reg16(&h, EmulatedCap::Pri, PCI_PRI_CTRL).unwrap() & PCI_PRI_CTRL_ENABLE != 0;
            if !enable_rose && after & rw1c != before & rw1c & !written {
                // Only a Reset may clear the others.
                prop_assert_eq!(after & rw1c, 0, "RW1C bits cleared without cause");
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// An administrator's offset that fits on its own is never refused because of where
    /// the rules put the other capability: pinned capabilities are placed first. Only a
    /// PRI offset overlapping a pinned PASID (placed first) is refused.
    #[test]
    fn admin_offset_that_fits_alone_is_never_taken_by_the_other_capability(
        s in pinned_scenario(),
    ) {
        let cfg = &s.config;
        let pasid = s.pasid.map(|(_, req)| req);
        let pri = s.pri.map(|(_, req)| req);
        let both = cfg.place(pasid, pri);
        for cap in [EmulatedCap::Pasid, EmulatedCap::Pri] {
            let (req, alone, got) = match cap {
                EmulatedCap::Pasid => (pasid, cfg.place(pasid, None), both.pasid()),
                EmulatedCap::Pri => (pri, cfg.place(None, pri), both.pri()),
            };
            let (Some(admin), Some(got)) = (req.and_then(|r| r.admin), got) else {
                continue;
            };
            let alone = match cap {
                EmulatedCap::Pasid => alone.pasid(),
                EmulatedCap::Pri => alone.pri(),
            };
            if alone.and_then(|p| p.offset()) != Some(admin) {
                continue;
            }
            let pasid_admin = pasid.and_then(|r| r.admin);
            let lost_to_pinned_pasid = cap == EmulatedCap::Pri
                && pasid_admin.is_some()
                && got.outcome
                    == Outcome::Refused(Refusal::AdminOffsetUnusable {
                        offset: admin,
                        why: Unusable::OverlapsEmulated {
                            cap: EmulatedCap::Pasid,
                            offset: pasid_admin.unwrap(),
                        },
                    });
            prop_assert!(
                got.outcome == Outcome::Placed { offset: admin, rule: Rule::Admin }
                    || lost_to_pinned_pasid,
                "{} at {:#x} fits alone but: {}", cap, admin, both
            );
        }
        let h = harness(s)?;
        check(h.check_chain(), &Op::Reset)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn classify_and_read_agree_with_the_placement_everywhere(scenario in scenario()) {
        let h = harness(scenario)?;
        for len in [1u8, 2, 4, 8] {
            for pos in 0xf8..0x1008u16 {
                let op = Op::Read { at: At::Abs(pos), len };
                check(h.check_read(pos.into(), len.into()), &op)?;
            }
        }
    }
}
