// SPDX-License-Identifier: GPL-2.0

//! The sysfs attributes that `sysfs.c` declares: one Rust function per callback.
//!
//! - `/sys/bus/pci/drivers/vfio-pasid-vf/offsets` (read-write): the administrator's offsets
//!   ([`crate::offsets`]);
//! - `/sys/bus/pci/drivers/vfio-pasid-vf/pasid_users` (read-only): for each PF, the VFs
//!   that hold its PASID ([`crate::pf`]);
//! - `/sys/bus/pci/devices/<VF>/vfio_pasid_vf/placement` (read-only): what the last open of
//!   the VF presented, and where;
//! - `/sys/bus/pci/devices/<VF>/vfio_pasid_vf/pf_pasid` (read-only): `held` while an open of
//!   the VF holds its PF's PASID, `lost` while it holds it but the PF's PASID is off, `not
//!   held` otherwise;
//! - `/sys/bus/pci/devices/<VF>/vfio_pasid_vf/emulated` (read-only, root only): the emulated
//!   registers of the open, as its user reads them now (`none` if not open), the driver's
//!   own view for tests and debugging.

use kernel::prelude::*;

use crate::bindings;
use crate::offsets;
use crate::pf;
use crate::sysfs::{
    device_show,
    driver_show, //
};
use crate::vf::PasidVf;

/// `show` of a bound VF's `placement`.
#[no_mangle]
extern "C" fn vpv_placement_show(dev: *mut bindings::device, buf: *mut c_char) -> isize {
    // SAFETY: Called by the `show` callback of `placement` in `vpv_dev_groups`, which are
    // `PasidVf`'s `dev_groups`, with its arguments.
    unsafe { device_show::<PasidVf>(dev, buf, |dev, out| dev.data().show_placement(out)) }
}

/// `show` of a bound VF's `pf_pasid`.
#[no_mangle]
extern "C" fn vpv_pf_pasid_show(dev: *mut bindings::device, buf: *mut c_char) -> isize {
    // SAFETY: Called by the `show` callback of `pf_pasid` in `vpv_dev_groups`, which are
    // `PasidVf`'s `dev_groups`, with its arguments.
    unsafe { device_show::<PasidVf>(dev, buf, |dev, out| pf::show_held(dev.pdev(), out)) }
}

/// `show` of a bound VF's `emulated`.
#[no_mangle]
extern "C" fn vpv_emulated_show(dev: *mut bindings::device, buf: *mut c_char) -> isize {
    // SAFETY: Called by the `show` callback of `emulated` in `vpv_dev_groups`, which are
    // `PasidVf`'s `dev_groups`, with its arguments.
    unsafe { device_show::<PasidVf>(dev, buf, |dev, out| pf::show_emulated(dev.pdev(), out)) }
}

/// `show` of the driver's `pasid_users`.
#[no_mangle]
extern "C" fn vpv_pasid_users_show(buf: *mut c_char) -> isize {
    // SAFETY: The driver core calls `show` with its `PAGE_SIZE` buffer.
    unsafe { driver_show(buf, pf::show) }
}

/// `show` of the driver's `offsets`.
#[no_mangle]
extern "C" fn vpv_offsets_show(buf: *mut c_char) -> isize {
    // SAFETY: The driver core calls `show` with its `PAGE_SIZE` buffer.
    unsafe { driver_show(buf, offsets::show) }
}

/// `store` of the driver's `offsets`: one entry per write.
#[no_mangle]
extern "C" fn vpv_offsets_store(buf: *const c_char, count: usize) -> isize {
    // SAFETY: The driver core calls `store` with `count` readable bytes at `buf`, which
    // stay unchanged while it runs.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match offsets::store(input) {
        Ok(()) => isize::try_from(count).unwrap_or(isize::MAX),
        Err(e) => e.to_errno() as isize,
    }
}
