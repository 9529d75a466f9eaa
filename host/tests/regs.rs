// SPDX-License-Identifier: GPL-2.0

//! The registers of the emulated PASID and Page Request capabilities (PCIe r6.0), bit by
//! bit.

use vfio_pasid_vf_emu::emu::{
    pasid_cap_presented,
    CapRegs,
    HostLimits,
    PfPasid,
    RegEffects,
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

const WIDTH_20: u16 = 20 << 8;

fn read(regs: &CapRegs, off: u16, len: u16) -> u32 {
    let mut bytes = [0u8; 4];
    for (i, byte) in bytes.iter_mut().enumerate().take(usize::from(len)) {
        *byte = regs.read_byte(off + i as u16);
    }
    u32::from_le_bytes(bytes)
}

fn read16(regs: &CapRegs, off: u16) -> u16 {
    read(regs, off, 2) as u16
}

fn write16(regs: &mut CapRegs, off: u16, value: u16) -> RegEffects {
    regs.write(off, &value.to_le_bytes())
}

fn write32(regs: &mut CapRegs, off: u16, value: u32) -> RegEffects {
    regs.write(off, &value.to_le_bytes())
}

fn pasid(cap: u16) -> CapRegs {
    CapRegs::pasid(cap, 0x300)
}

fn pri() -> CapRegs {
    CapRegs::pri(0, 0x200, 0)
}

fn pri_enabled() -> CapRegs {
    let mut regs = pri();
    write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE);
    regs
}

fn presented(cap: u16, ctrl: u16, host_width: u8) -> u16 {
    let pf = PfPasid {
        offset: 0x1c0,
        version: 1,
        cap,
        ctrl,
    };
    pasid_cap_presented(
        &pf,
        &HostLimits {
            max_pasid_width: host_width,
        },
    )
}

// PASID Capability register, as presented.

#[test]
fn pasid_cap_exec_supported_is_presented_if_pf_enabled_exec() {
    assert_eq!(
        presented(PCI_PASID_CAP_EXEC | WIDTH_20, PCI_PASID_CTRL_EXEC, 20),
        PCI_PASID_CAP_EXEC | WIDTH_20
    );
}

#[test]
fn pasid_cap_exec_supported_is_hidden_if_pf_did_not_enable_exec() {
    assert_eq!(presented(PCI_PASID_CAP_EXEC | WIDTH_20, 0, 20), WIDTH_20);
}

#[test]
fn pasid_cap_exec_supported_is_hidden_if_pf_does_not_support_exec() {
    assert_eq!(presented(WIDTH_20, PCI_PASID_CTRL_EXEC, 20), WIDTH_20);
}

#[test]
fn pasid_cap_priv_supported_is_presented_if_pf_enabled_priv() {
    assert_eq!(
        presented(PCI_PASID_CAP_PRIV | WIDTH_20, PCI_PASID_CTRL_PRIV, 20),
        PCI_PASID_CAP_PRIV | WIDTH_20
    );
}

#[test]
fn pasid_cap_priv_supported_is_hidden_if_pf_did_not_enable_priv() {
    assert_eq!(
        presented(
            PCI_PASID_CAP_PRIV | PCI_PASID_CAP_EXEC,
            PCI_PASID_CTRL_EXEC,
            0
        ),
        PCI_PASID_CAP_EXEC
    );
}

#[test]
fn pasid_cap_max_pasid_width_is_the_pf_width_if_the_host_is_wider() {
    assert_eq!(presented(16 << 8, 0, 20), 16 << 8);
}

#[test]
fn pasid_cap_max_pasid_width_is_the_host_width_if_the_pf_is_wider() {
    assert_eq!(presented(20 << 8, 0, 16), 16 << 8);
}

#[test]
fn pasid_cap_max_pasid_width_ignores_host_widths_beyond_the_field() {
    assert_eq!(presented(31 << 8, 0, 255), 31 << 8);
}

#[test]
fn pasid_cap_reserved_bits_are_cleared() {
    let reserved = !(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV | PCI_PASID_CAP_WIDTH);
    assert_eq!(presented(0xffff, 0xffff, 31), !reserved);
    assert_eq!(presented(reserved, 0xffff, 31), 0);
}

// PASID header and Capability register.

#[test]
fn pasid_header_reads_id_1b_version_1_and_next() {
    assert_eq!(read(&pasid(0), 0, 4), 0x3001_001b);
}

#[test]
fn pasid_header_is_ro() {
    let mut regs = pasid(0);
    let fx = write32(&mut regs, 0, 0);
    assert_eq!(read(&regs, 0, 4), 0x3001_001b);
    assert!(fx.wrote_ro_bits);
}

#[test]
fn pasid_cap_is_ro() {
    let mut regs = pasid(PCI_PASID_CAP_EXEC | WIDTH_20);
    let fx = write16(&mut regs, PCI_PASID_CAP, PCI_PASID_CAP_PRIV);
    assert_eq!(read16(&regs, PCI_PASID_CAP), PCI_PASID_CAP_EXEC | WIDTH_20);
    assert!(fx.wrote_ro_bits);
}

#[test]
fn pasid_cap_reserved_bits_read_0_even_if_given() {
    assert_eq!(read16(&pasid(0xffff), PCI_PASID_CAP), 0x1f06);
}

// PASID Control register.

#[test]
fn pasid_ctrl_reads_0_after_reset() {
    assert_eq!(read16(&pasid(0x1f06), PCI_PASID_CTRL), 0);
}

#[test]
fn pasid_ctrl_pasid_enable_is_rw() {
    let mut regs = pasid(0);
    write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), PCI_PASID_CTRL_ENABLE);
    write16(&mut regs, PCI_PASID_CTRL, 0);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
}

#[test]
fn pasid_ctrl_pasid_enable_change_is_reported() {
    let mut regs = pasid(0);
    let fx = write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
    assert_eq!(fx.pasid_enable, Some(true));
    let fx = write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
    assert_eq!(fx.pasid_enable, None);
    let fx = write16(&mut regs, PCI_PASID_CTRL, 0);
    assert_eq!(fx.pasid_enable, Some(false));
}

#[test]
fn pasid_ctrl_exec_enable_is_rw_if_exec_supported_is_presented() {
    let mut regs = pasid(PCI_PASID_CAP_EXEC);
    let fx = write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_EXEC);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), PCI_PASID_CTRL_EXEC);
    assert!(!fx.wrote_reserved_bits);
}

#[test]
fn pasid_ctrl_exec_enable_reads_0_if_exec_supported_is_not_presented() {
    let mut regs = pasid(PCI_PASID_CAP_PRIV);
    let fx = write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_EXEC);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
    assert!(fx.wrote_reserved_bits);
}

#[test]
fn pasid_ctrl_priv_enable_is_rw_if_priv_supported_is_presented() {
    let mut regs = pasid(PCI_PASID_CAP_PRIV);
    write16(
        &mut regs,
        PCI_PASID_CTRL,
        PCI_PASID_CTRL_PRIV | PCI_PASID_CTRL_ENABLE,
    );
    assert_eq!(
        read16(&regs, PCI_PASID_CTRL),
        PCI_PASID_CTRL_PRIV | PCI_PASID_CTRL_ENABLE
    );
}

#[test]
fn pasid_ctrl_priv_enable_reads_0_if_priv_supported_is_not_presented() {
    let mut regs = pasid(PCI_PASID_CAP_EXEC);
    write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_PRIV);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
}

#[test]
fn pasid_ctrl_reserved_bits_read_0_and_writes_are_reported() {
    let mut regs = pasid(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV);
    let fx = write16(&mut regs, PCI_PASID_CTRL, 0xfff8);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
    assert!(fx.wrote_reserved_bits);
    assert!(!fx.wrote_ro_bits);
}

#[test]
fn pasid_ctrl_byte_write_to_the_upper_byte_keeps_pasid_enable() {
    let mut regs = pasid(0);
    write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
    regs.write(PCI_PASID_CTRL + 1, &[0]);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), PCI_PASID_CTRL_ENABLE);
}

#[test]
fn pasid_reset_clears_pasid_ctrl() {
    let mut regs = pasid(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV);
    write16(&mut regs, PCI_PASID_CTRL, 0x7);
    regs.reset();
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
    assert_eq!(
        read16(&regs, PCI_PASID_CAP),
        PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV
    );
}

// PRI header.

#[test]
fn pri_header_reads_id_13_version_1_and_next() {
    assert_eq!(read(&CapRegs::pri(0, 0, 0x210), 0, 4), 0x2101_0013);
}

#[test]
fn pri_header_is_ro() {
    let mut regs = pri();
    let fx = regs.write(2, &[0xff, 0xff]);
    assert_eq!(read(&regs, 0, 4), 0x0001_0013);
    assert!(fx.wrote_ro_bits);
}

// Page Request Control register.

#[test]
fn pri_ctrl_reads_0_after_reset() {
    assert_eq!(read16(&pri(), PCI_PRI_CTRL), 0);
}

#[test]
fn pri_ctrl_enable_is_rw() {
    let mut regs = pri();
    let fx = write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE);
    assert_eq!(read16(&regs, PCI_PRI_CTRL), PCI_PRI_CTRL_ENABLE);
    assert_eq!(fx.pri_enable, Some(true));
    let fx = write16(&mut regs, PCI_PRI_CTRL, 0);
    assert_eq!(read16(&regs, PCI_PRI_CTRL), 0);
    assert_eq!(fx.pri_enable, Some(false));
}

#[test]
fn pri_ctrl_reset_reads_0() {
    let mut regs = pri();
    write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_RESET);
    assert_eq!(read16(&regs, PCI_PRI_CTRL), 0);
}

#[test]
fn pri_ctrl_reserved_bits_read_0_and_writes_are_reported() {
    let mut regs = pri();
    let fx = write16(&mut regs, PCI_PRI_CTRL, 0xfffc);
    assert_eq!(read16(&regs, PCI_PRI_CTRL), 0);
    assert!(fx.wrote_reserved_bits);
}

#[test]
fn pri_ctrl_enable_rising_clears_response_failure_and_uprgi() {
    let mut regs = pri();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), 0);
}

#[test]
fn pri_ctrl_enable_falling_keeps_response_failure_and_uprgi() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    write16(&mut regs, PCI_PRI_CTRL, 0);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI | PCI_PRI_STATUS_STOPPED
    );
}

#[test]
fn pri_ctrl_enable_staying_1_keeps_response_failure_and_uprgi() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_RF);
    let fx = write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_RF);
    assert_eq!(fx.pri_enable, None);
}

#[test]
fn pri_ctrl_reset_with_enable_clear_clears_the_page_request_state() {
    let mut regs = pri();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    let fx = write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_RESET);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_STOPPED);
    assert!(fx.pri_reset);
    assert!(!fx.pri_reset_ignored_while_enabled);
}

#[test]
fn pri_ctrl_reset_while_clearing_enable_clears_the_page_request_state() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    let fx = write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_RESET);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_STOPPED);
    assert_eq!(read16(&regs, PCI_PRI_CTRL), 0);
    assert!(fx.pri_reset);
    assert_eq!(fx.pri_enable, Some(false));
}

#[test]
fn pri_ctrl_reset_while_setting_enable_clears_the_page_request_state() {
    let mut regs = pri();
    regs.latch_pri_status(PCI_PRI_STATUS_RF);
    let fx = write16(
        &mut regs,
        PCI_PRI_CTRL,
        PCI_PRI_CTRL_RESET | PCI_PRI_CTRL_ENABLE,
    );
    assert_eq!(read16(&regs, PCI_PRI_STATUS), 0);
    assert!(fx.pri_reset);
    assert!(!fx.pri_reset_ignored_while_enabled);
}

#[test]
fn pri_ctrl_reset_while_enable_stays_1_is_ignored_and_reported() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    let fx = write16(
        &mut regs,
        PCI_PRI_CTRL,
        PCI_PRI_CTRL_RESET | PCI_PRI_CTRL_ENABLE,
    );
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI
    );
    assert_eq!(read16(&regs, PCI_PRI_CTRL), PCI_PRI_CTRL_ENABLE);
    assert!(!fx.pri_reset);
    assert!(fx.pri_reset_ignored_while_enabled);
}

#[test]
fn pri_ctrl_reset_written_0_does_nothing() {
    let mut regs = pri();
    regs.latch_pri_status(PCI_PRI_STATUS_RF);
    let fx = write16(&mut regs, PCI_PRI_CTRL, 0);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_RF | PCI_PRI_STATUS_STOPPED
    );
    assert_eq!(fx, RegEffects::default());
}

#[test]
fn pri_ctrl_byte_write_to_the_upper_byte_keeps_enable() {
    let mut regs = pri_enabled();
    let fx = regs.write(PCI_PRI_CTRL + 1, &[0]);
    assert_eq!(read16(&regs, PCI_PRI_CTRL), PCI_PRI_CTRL_ENABLE);
    assert_eq!(fx.pri_enable, None);
}

// Page Request Status register.

#[test]
fn pri_status_response_failure_is_rw1c() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    write16(&mut regs, PCI_PRI_STATUS, PCI_PRI_STATUS_RF);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_UPRGI);
}

#[test]
fn pri_status_uprgi_is_rw1c() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    write16(&mut regs, PCI_PRI_STATUS, PCI_PRI_STATUS_UPRGI);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_RF);
}

#[test]
fn pri_status_rw1c_bits_written_0_stay() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    write16(&mut regs, PCI_PRI_STATUS, 0);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI
    );
}

#[test]
fn pri_status_rw1c_bits_are_not_set_by_writes() {
    let mut regs = pri_enabled();
    write16(
        &mut regs,
        PCI_PRI_STATUS,
        PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI,
    );
    assert_eq!(read16(&regs, PCI_PRI_STATUS), 0);
}

#[test]
fn pri_status_events_latch_response_failure_and_uprgi() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(PCI_PRI_STATUS_UPRGI);
    regs.latch_pri_status(PCI_PRI_STATUS_RF);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI
    );
}

#[test]
fn pri_status_events_ignore_other_bits() {
    let mut regs = pri_enabled();
    regs.latch_pri_status(!(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI));
    assert_eq!(read16(&regs, PCI_PRI_STATUS), 0);
}

#[test]
fn pri_status_events_are_ignored_by_a_pasid_capability() {
    let mut regs = pasid(0);
    regs.latch_pri_status(0xffff);
    assert_eq!(read(&regs, PCI_PASID_CAP, 4), 0);
}

#[test]
fn pri_status_stopped_reads_1_while_enable_is_0() {
    assert_eq!(read16(&pri(), PCI_PRI_STATUS), PCI_PRI_STATUS_STOPPED);
}

#[test]
fn pri_status_stopped_reads_0_while_enable_is_1() {
    assert_eq!(read16(&pri_enabled(), PCI_PRI_STATUS), 0);
}

#[test]
fn pri_status_stopped_is_ro() {
    let mut regs = pri();
    let fx = write16(&mut regs, PCI_PRI_STATUS, 0);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_STOPPED);
    assert!(fx.wrote_ro_bits);
    let mut regs = pri_enabled();
    let fx = write16(&mut regs, PCI_PRI_STATUS, PCI_PRI_STATUS_STOPPED);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), 0);
    assert!(fx.wrote_ro_bits);
}

#[test]
fn pri_status_prg_response_pasid_required_comes_from_the_pf() {
    let regs = CapRegs::pri(PCI_PRI_STATUS_PASID, 0, 0);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_PASID | PCI_PRI_STATUS_STOPPED
    );
}

#[test]
fn pri_status_prg_response_pasid_required_is_ro() {
    let mut regs = CapRegs::pri(PCI_PRI_STATUS_PASID, 0, 0);
    let fx = write16(&mut regs, PCI_PRI_STATUS, PCI_PRI_STATUS_STOPPED);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_PASID | PCI_PRI_STATUS_STOPPED
    );
    assert!(fx.wrote_ro_bits);
}

#[test]
fn pri_status_reserved_bits_read_0_even_if_the_pf_sets_them() {
    let mut regs = CapRegs::pri(!PCI_PRI_STATUS_PASID, 0, 0);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_STOPPED);
    let fx = write16(&mut regs, PCI_PRI_STATUS, 0x7efc | PCI_PRI_STATUS_STOPPED);
    assert_eq!(read16(&regs, PCI_PRI_STATUS), PCI_PRI_STATUS_STOPPED);
    assert!(fx.wrote_reserved_bits);
}

#[test]
fn pri_status_write_back_of_the_value_read_reports_no_ro_write() {
    let mut regs = CapRegs::pri(PCI_PRI_STATUS_PASID, 0, 0);
    regs.latch_pri_status(PCI_PRI_STATUS_RF);
    let status = read16(&regs, PCI_PRI_STATUS);
    let fx = write16(&mut regs, PCI_PRI_STATUS, status);
    assert!(!fx.wrote_ro_bits && !fx.wrote_reserved_bits);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_PASID | PCI_PRI_STATUS_STOPPED
    );
}

#[test]
fn pri_ctrl_and_status_dword_write_applies_both() {
    let mut regs = pri();
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    // Enable 0->1 clears both anyway; the Stopped bit written back (1, read before the
    // write) is not a write to a read-only bit.
    let value = u32::from(PCI_PRI_CTRL_ENABLE) | (u32::from(PCI_PRI_STATUS_STOPPED) << 16);
    let fx = write32(&mut regs, PCI_PRI_CTRL, value);
    assert_eq!(read(&regs, PCI_PRI_CTRL, 4), u32::from(PCI_PRI_CTRL_ENABLE));
    assert!(!fx.wrote_ro_bits);
}

// Outstanding Page Request Capacity and Allocation registers.

#[test]
fn pri_capacity_comes_from_the_pf() {
    assert_eq!(
        read(&CapRegs::pri(0, 0x1234_5678, 0), PCI_PRI_MAX_REQ, 4),
        0x1234_5678
    );
}

#[test]
fn pri_capacity_is_ro() {
    let mut regs = pri();
    let fx = write32(&mut regs, PCI_PRI_MAX_REQ, 0xdead_beef);
    assert_eq!(read(&regs, PCI_PRI_MAX_REQ, 4), 0x200);
    assert!(fx.wrote_ro_bits);
}

#[test]
fn pri_allocation_is_rw() {
    let mut regs = pri();
    let fx = write32(&mut regs, PCI_PRI_ALLOC_REQ, 0xdead_beef);
    assert_eq!(read(&regs, PCI_PRI_ALLOC_REQ, 4), 0xdead_beef);
    assert_eq!(fx, RegEffects::default());
}

#[test]
fn pri_allocation_byte_write_updates_only_that_byte() {
    let mut regs = pri();
    write32(&mut regs, PCI_PRI_ALLOC_REQ, 0x1122_3344);
    regs.write(PCI_PRI_ALLOC_REQ + 2, &[0xaa]);
    assert_eq!(read(&regs, PCI_PRI_ALLOC_REQ, 4), 0x11aa_3344);
}

#[test]
fn pri_eight_byte_write_over_capacity_and_allocation_updates_only_allocation() {
    let mut regs = pri();
    regs.write(PCI_PRI_MAX_REQ, &0x0000_0040_ffff_ffffu64.to_le_bytes());
    assert_eq!(read(&regs, PCI_PRI_MAX_REQ, 4), 0x200);
    assert_eq!(read(&regs, PCI_PRI_ALLOC_REQ, 4), 0x40);
}

#[test]
fn pri_write_beyond_the_capability_is_ignored() {
    let mut regs = pri();
    let fx = regs.write(0x10, &[0xff; 8]);
    assert_eq!(fx, RegEffects::default());
    assert_eq!(read(&regs, PCI_PRI_ALLOC_REQ, 4), 0);
    assert_eq!(regs.read_byte(0x10), 0);
    assert_eq!(regs.read_byte(u16::MAX), 0);
}

// Reset.

#[test]
fn pri_reset_restores_every_register() {
    let mut regs = CapRegs::pri(PCI_PRI_STATUS_PASID, 0x200, 0);
    let fresh = regs.clone();
    write16(&mut regs, PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE);
    regs.latch_pri_status(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    write32(&mut regs, PCI_PRI_ALLOC_REQ, 0x40);
    regs.reset();
    assert_eq!(regs, fresh);
    assert_eq!(read16(&regs, PCI_PRI_CTRL), 0);
    assert_eq!(
        read16(&regs, PCI_PRI_STATUS),
        PCI_PRI_STATUS_PASID | PCI_PRI_STATUS_STOPPED
    );
    assert_eq!(read(&regs, PCI_PRI_MAX_REQ, 4), 0x200);
    assert_eq!(read(&regs, PCI_PRI_ALLOC_REQ, 4), 0);
}

#[test]
fn register_tables_cover_each_capability_without_gaps_or_overlaps() {
    for regs in [pasid(0xffff), pri()] {
        let mut end = 0;
        for reg in regs.regs() {
            assert_eq!(reg.offset, end, "{:?}", regs.cap());
            assert_eq!(reg.rw & reg.rw1c, 0);
            assert_eq!((reg.rw | reg.rw1c) & reg.ro, 0);
            assert_eq!(reg.reset & reg.reserved(), 0);
            end += reg.width;
        }
        assert_eq!(end, regs.cap().size());
    }
}

#[test]
fn pasid_ctrl_reads_0_and_ignores_writes_while_the_pf_pasid_is_off() {
    let all = PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC | PCI_PASID_CTRL_PRIV;
    let mut regs = pasid(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV);
    write16(&mut regs, PCI_PASID_CTRL, all);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), all);
    assert!(regs.set_pf_pasid_off(true));
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
    write16(&mut regs, PCI_PASID_CTRL, all);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
    assert!(!regs.set_pf_pasid_off(true), "no change: already off");
}

#[test]
fn pasid_ctrl_enable_stays_0_when_the_pf_pasid_comes_back_until_written() {
    let mut regs = pasid(0);
    write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
    assert!(regs.set_pf_pasid_off(true));
    assert!(regs.set_pf_pasid_off(false));
    assert_eq!(read16(&regs, PCI_PASID_CTRL), 0);
    write16(&mut regs, PCI_PASID_CTRL, PCI_PASID_CTRL_ENABLE);
    assert_eq!(read16(&regs, PCI_PASID_CTRL), PCI_PASID_CTRL_ENABLE);
}

#[test]
fn pri_ignores_the_pf_pasid_state() {
    let mut regs = pri_enabled();
    let before = read16(&regs, PCI_PRI_CTRL);
    assert!(!regs.set_pf_pasid_off(true));
    assert_eq!(read16(&regs, PCI_PRI_CTRL), before);
}

// Reads of a range.

#[test]
fn a_range_reads_what_its_bytes_read_one_at_a_time() {
    let mut pasid = pasid(0x0006 | WIDTH_20);
    write16(&mut pasid, PCI_PASID_CTRL, 0x0007);
    let mut pri = pri_enabled();
    write32(&mut pri, PCI_PRI_ALLOC_REQ, 0x1234_5678);
    for regs in [&pasid, &pri] {
        let size = regs.cap().size();
        for rel in 0..size {
            for len in 0..=size - rel {
                let mut bytes = [0xa5u8; 16];
                let range = ..usize::from(len);
                regs.read(rel, &mut bytes[range]);
                for (i, &byte) in bytes[range].iter().enumerate() {
                    assert_eq!(
                        byte,
                        regs.read_byte(rel + i as u16),
                        "{rel:#x}+{i} of {len}"
                    );
                }
                assert!(bytes[usize::from(len)..].iter().all(|&b| b == 0xa5));
            }
        }
    }
}
