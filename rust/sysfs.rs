// SPDX-License-Identifier: GPL-2.0

//! sysfs attributes: what their `show` callbacks write to and how they find their device.
//!
//! C header: [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h)
//!
//! The attributes themselves are declared in C with the `DEVICE_ATTR_*` and `DRIVER_ATTR_*`
//! macros; each `show` or `store` calls one Rust function of its own.

use core::marker::PhantomData;

use kernel::prelude::*;

use crate::bindings;
use crate::vfio::pci::{
    Device,
    Operations, //
};

/// The attribute groups of the functions bound to the driver of `T`, for
/// `struct device_driver.dev_groups`.
///
/// # Invariants
///
/// `groups` is a NULL-terminated array of valid, constant attribute groups of device
/// attributes (`struct device_attribute`) whose callbacks are written for functions bound to
/// the driver of `T`; the array lives as long as the module.
#[derive(Clone, Copy)]
pub(crate) struct DeviceAttributeGroups<T: Operations> {
    groups: *const *const bindings::attribute_group,
    _p: PhantomData<T>,
}

impl<T: Operations> DeviceAttributeGroups<T> {
    /// The array `groups` of C.
    ///
    /// # Safety
    ///
    /// `groups` must be a NULL-terminated array of valid attribute groups, constant and in
    /// the module's data, of device attributes whose callbacks expect a function bound to
    /// the driver of `T` (as [`device_show`] does).
    pub(crate) unsafe fn new(groups: *const *const bindings::attribute_group) -> Self {
        // INVARIANT: Per the function's requirements.
        Self {
            groups,
            _p: PhantomData,
        }
    }

    /// The array, for `struct device_driver.dev_groups`.
    pub(crate) fn as_raw(&self) -> *const *const bindings::attribute_group {
        self.groups
    }
}

/// The driver's own attribute groups, for `struct device_driver.groups`.
///
/// # Invariants
///
/// `groups` is a NULL-terminated array of valid, constant attribute groups of driver
/// attributes (`struct driver_attribute`); the array lives as long as the module.
#[derive(Clone, Copy)]
pub(crate) struct DriverAttributeGroups {
    groups: *const *const bindings::attribute_group,
}

impl DriverAttributeGroups {
    /// The array `groups` of C.
    ///
    /// # Safety
    ///
    /// `groups` must be a NULL-terminated array of valid attribute groups, constant and in
    /// the module's data, of driver attributes.
    pub(crate) unsafe fn new(groups: *const *const bindings::attribute_group) -> Self {
        // INVARIANT: Per the function's requirements.
        Self { groups }
    }

    /// The array, for `struct device_driver.groups`.
    pub(crate) fn as_raw(&self) -> *const *const bindings::attribute_group {
        self.groups
    }
}

/// The page that a sysfs `show` callback fills.
pub(crate) struct SysfsBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl SysfsBuf<'_> {
    /// The buffer of a sysfs `show` callback.
    ///
    /// # Safety
    ///
    /// `buf` must be the `PAGE_SIZE` buffer that the driver core passed to a `show`
    /// callback that is still running, and nothing else may access it meanwhile.
    pub(crate) unsafe fn from_raw<'a>(buf: *mut c_char) -> SysfsBuf<'a> {
        SysfsBuf {
            // SAFETY: Per the function's requirements, `buf` is `PAGE_SIZE` writable bytes
            // that only this `SysfsBuf` accesses for `'a`.
            buf: unsafe {
                core::slice::from_raw_parts_mut(buf.cast::<u8>(), kernel::page::PAGE_SIZE)
            },
            len: 0,
        }
    }

    /// What `show` returns: the number of bytes written.
    pub(crate) fn len(&self) -> isize {
        isize::try_from(self.len).unwrap_or(0)
    }
}

impl core::fmt::Write for SysfsBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Runs `show` of a device attribute for the device of `T` bound to `dev`; returns what the
/// `show` callback returns.
///
/// # Safety
///
/// `dev` must be the `struct device` of a PCI function bound to the driver of `T`, inside a
/// `show` callback of one of its `dev_groups` (the driver core removes them before unbind,
/// so the binding outlives the call), and `buf` must be the callback's `PAGE_SIZE` buffer.
pub(crate) unsafe fn device_show<T: Operations>(
    dev: *mut bindings::device,
    buf: *mut c_char,
    show: impl FnOnce(&Device<T>, &mut SysfsBuf<'_>) -> Result,
) -> isize {
    // SAFETY: Per the function's requirements.
    let (dev, mut out) = unsafe { (Device::<T>::from_drvdata(dev), SysfsBuf::from_raw(buf)) };
    match dev.ok_or(ENODEV).and_then(|dev| show(dev, &mut out)) {
        Ok(()) => out.len(),
        Err(e) => e.to_errno() as isize,
    }
}

/// Runs `show` of a driver attribute; returns what the `show` callback returns.
///
/// # Safety
///
/// `buf` must be the `PAGE_SIZE` buffer of a running `show` callback.
pub(crate) unsafe fn driver_show(
    buf: *mut c_char,
    show: impl FnOnce(&mut SysfsBuf<'_>) -> Result,
) -> isize {
    // SAFETY: Per the function's requirements.
    let mut out = unsafe { SysfsBuf::from_raw(buf) };
    match show(&mut out) {
        Ok(()) => out.len(),
        Err(e) => e.to_errno() as isize,
    }
}
