// SPDX-License-Identifier: GPL-2.0

//! The sysfs attributes that `sysfs.c` declares: one Rust function per callback.
//!
//! - `/sys/bus/pci/drivers/vfio-pasid-vf/offsets` (read-write): the administrator's offsets
//!   ([`crate::offsets`]);
//! - `/sys/bus/pci/devices/<VF>/vfio_pasid_vf/placement` (read-only): what the last open of
//!   the VF presented, and where.

use kernel::prelude::*;

use crate::bindings;
use crate::offsets;
use crate::sysfs::{
    device_show,
    SysfsBuf, //
};
use crate::vf::PasidVf;

/// `show` of a bound VF's `placement`.
#[no_mangle]
extern "C" fn vpv_placement_show(dev: *mut bindings::device, buf: *mut c_char) -> isize {
    // SAFETY: Called by the `show` callback of `placement` in `vpv_dev_groups`, which are
    // `PasidVf`'s `dev_groups`, with its arguments.
    unsafe { device_show::<PasidVf>(dev, buf, |dev, out| dev.data().show_placement(out)) }
}

/// `show` of the driver's `offsets`.
#[no_mangle]
extern "C" fn vpv_offsets_show(buf: *mut c_char) -> isize {
    // SAFETY: The driver core calls `show` with its `PAGE_SIZE` buffer.
    let mut out = unsafe { SysfsBuf::from_raw(buf) };
    match offsets::show(&mut out) {
        Ok(()) => out.len(),
        Err(e) => e.to_errno() as isize,
    }
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
