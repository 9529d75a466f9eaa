// SPDX-License-Identifier: GPL-2.0

//! `VFIO_DEVICE_FEATURE_PASID_VF` (`include/uapi/linux/vfio_pasid_vf.h`): what is behind
//! the emulated capabilities, for a VMM.
//!
//! GET reports the PF's raw PASID and PRI registers and their capability versions, the bits
//! of them that the emulation understands, where the open placed the emulated capabilities
//! and what their Capability register reads, and whether the open holds its PF's PASID.

use kernel::{
    prelude::*,
    transmute::AsBytes, //
};

use crate::bindings;
use crate::config::OpenVf;
use crate::emu::{
    PfPasid,
    PfPri,
    PCI_PASID_CAP_EXEC,
    PCI_PASID_CAP_PRIV,
    PCI_PASID_CAP_WIDTH,
    PCI_PRI_STATUS_PASID,
    PCI_PRI_STATUS_RF,
    PCI_PRI_STATUS_STOPPED,
    PCI_PRI_STATUS_UPRGI, //
};
use crate::pci_ext::VirtfnExt;
use crate::vf::{
    pf_pasid,
    pf_pri,
    PasidVf,
    PlaceInputs, //
};
use crate::vfio::{
    pci::{
        check_feature,
        Device,
        FeatureOp, //
    },
    UserBuf,
};

/// The GET payload.
type Info = bindings::vfio_device_feature_pasid_vf;

// The payload has no padding: every byte of it is a field (checked against the sum of the
// fields' sizes, so a hole added to the header breaks the build).
const _: () = assert!(core::mem::size_of::<Info>() == 32);

// SAFETY: `Info` is a `repr(C)` struct of integers without padding (checked above), so every
// byte of it is initialised.
unsafe impl AsBytes for Info {}

/// The size of the SET payload, `struct vfio_device_feature_pasid_vf_set`: `flags`,
/// `pasid_offset`, `pri_offset`, `reserved`, without padding.
const SET_SIZE: usize = 12;
const _: () =
    assert!(core::mem::size_of::<bindings::vfio_device_feature_pasid_vf_set>() == SET_SIZE);

/// The longest SET payload whose bytes beyond [`SET_SIZE`] are checked for 0; a longer one is
/// [`E2BIG`].
const SET_MAX: usize = 4096;

/// The bits of the PASID Capability register that the emulation understands.
const PASID_CAP_KNOWN: u16 = PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV | PCI_PASID_CAP_WIDTH;

/// The bits of the Page Request Status register that the emulation understands.
const PRI_STATUS_KNOWN: u16 =
    PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI | PCI_PRI_STATUS_STOPPED | PCI_PRI_STATUS_PASID;

/// Handles `VFIO_DEVICE_FEATURE_PASID_VF` with `flags` and its payload.
pub(crate) fn device_feature(
    dev: &Device<PasidVf>,
    open: &OpenVf,
    flags: u32,
    payload: &UserBuf,
) -> Result {
    let minsz = if flags & bindings::VFIO_DEVICE_FEATURE_SET != 0 {
        SET_SIZE
    } else {
        core::mem::size_of::<Info>()
    };
    let op = check_feature(flags, payload.len(), true, true, minsz)?;
    // A VF whose PF has neither capability has nothing to report or place: PROBE says so.
    let pf = dev.pdev().physfn()?;
    let (pasid, pri) = (pf_pasid(pf), pf_pri(pf));
    if pasid.is_none() && pri.is_none() {
        return Err(ENODEV);
    }
    match op {
        None => Ok(()),
        Some(FeatureOp::Get) => get(pasid, pri, open, payload),
        Some(FeatureOp::Set) => set(dev, open, payload),
    }
}

/// GET: fills the payload, up to its size, with the PF's capabilities `pasid` and `pri` as
/// read for this call.
fn get(pasid: Option<PfPasid>, pri: Option<PfPri>, open: &OpenVf, payload: &UserBuf) -> Result {
    let mut info = Info::default();
    if let Some(pasid) = pasid {
        info.flags |= bindings::VFIO_PASID_VF_PASID;
        info.pasid_version = pasid.version;
        info.pasid_cap = pasid.cap;
        info.pasid_cap_known = PASID_CAP_KNOWN;
        info.pasid_ctrl = pasid.ctrl;
    }
    if let Some(pri) = pri {
        info.flags |= bindings::VFIO_PASID_VF_PRI;
        info.pri_version = pri.version;
        // Response Failure and Unexpected PRG Index are PF-wide events that another VF's
        // user may have caused: not shown, as in the emulated PRI Status.
        info.pri_status = pri.status & !(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
        info.pri_status_known = PRI_STATUS_KNOWN;
        info.pri_capacity = pri.capacity;
    }
    let exposed = open.exposed();
    info.pasid_offset = exposed.pasid_offset.unwrap_or(0);
    info.pasid_cap_presented = exposed.pasid_cap.unwrap_or(0);
    info.pri_offset = exposed.pri_offset.unwrap_or(0);
    if open.hidden() {
        info.flags |= bindings::VFIO_PASID_VF_HIDDEN;
    }
    info.pf_pasid = u16::try_from(match open.pf_pasid_held() {
        None => bindings::VFIO_PASID_VF_PF_PASID_NOT_HELD,
        Some(true) => bindings::VFIO_PASID_VF_PF_PASID_HELD,
        Some(false) => bindings::VFIO_PASID_VF_PF_PASID_LOST,
    })?;
    // A payload of a later version is longer: it gets what this version has.
    let len = payload.len().min(core::mem::size_of::<Info>());
    info.size = u32::try_from(len)?;
    let bytes = info.as_bytes().get(..len).ok_or(EINVAL)?;
    payload.part(0..len)?.write_all(bytes)
}

/// SET: places or hides the emulated capabilities of the open, before its user wrote any of
/// their bytes.
fn set(dev: &Device<PasidVf>, open: &OpenVf, payload: &UserBuf) -> Result {
    // A later version's fields must be 0, as `copy_struct_from_user()` checks.
    if payload.len() > SET_MAX {
        return Err(E2BIG);
    }
    let mut rest = [0u8; 64];
    let mut at = SET_SIZE;
    while at < payload.len() {
        let end = payload.len().min(at + rest.len());
        let chunk = rest.get_mut(..end - at).ok_or(EINVAL)?;
        payload.part(at..end)?.read_all(chunk)?;
        if chunk.iter().any(|&b| b != 0) {
            return Err(E2BIG);
        }
        at = end;
    }
    let mut bytes = [0u8; SET_SIZE];
    payload.part(0..SET_SIZE)?.read_all(&mut bytes)?;
    let [f0, f1, f2, f3, p0, p1, r0, r1, z0, z1, z2, z3] = bytes;
    let (flags, pasid_at, pri_at, reserved) = (
        u32::from_ne_bytes([f0, f1, f2, f3]),
        u16::from_ne_bytes([p0, p1]),
        u16::from_ne_bytes([r0, r1]),
        u32::from_ne_bytes([z0, z1, z2, z3]),
    );
    if reserved != 0 {
        return Err(EINVAL);
    }
    match flags {
        bindings::VFIO_PASID_VF_SET_OFFSETS => open.replace_emulation(false, |cur, inputs| {
            inputs.place_at(dev, cur, pasid_at, pri_at)
        }),
        bindings::VFIO_PASID_VF_SET_HIDE if pasid_at == 0 && pri_at == 0 => {
            open.replace_emulation(true, |_, _| Ok(PlaceInputs::nothing()))
        }
        _ => Err(EINVAL),
    }
}
