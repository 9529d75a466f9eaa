// SPDX-License-Identifier: GPL-2.0

//! The `struct pci_driver` of a vfio-pci variant driver.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)
//!
//! [`Registration`] registers a PCI driver that binds only through `driver_override` (like
//! `PCI_DRIVER_OVERRIDE_DEVICE_VFIO`), with `driver_managed_dma` set; its probe allocates and
//! registers a [`Device`], its remove unregisters it, as vfio-pci does.
//!
//! The kernel crate's `pci::Driver` and `driver::Registration` are not used: they cannot
//! express `driver_managed_dma` nor an override-only ID table, and they own drvdata as a
//! Rust `KBox`, while vfio_pci_core requires drvdata to be the refcounted
//! `vfio_pci_core_device` (`vfio_pci_core_register_device()` checks it, and its AER and
//! runtime PM callbacks read it).

use core::marker::PhantomData;

use kernel::{
    alloc::{
        allocator::KVmalloc,
        Allocator, //
    },
    device,
    error::{
        from_result,
        to_result, //
    },
    pci,
    prelude::*,
    types::Opaque,
    ThisModule, //
};

use super::{
    Device,
    Operations,
    Ops, //
};
use crate::bindings;
use crate::sysfs::{
    DeviceAttributeGroups,
    DriverAttributeGroups, //
};

/// A vfio-pci variant driver: which functions it takes and its sysfs attributes.
pub(crate) trait Driver: 'static {
    /// The vfio hooks of the devices the driver creates.
    type Operations: Operations;

    /// Decides whether the driver takes `pdev`; runs before anything is allocated.
    fn probe(pdev: &pci::Device<device::Core<'_>>) -> Result;

    /// The attribute groups of a bound function (`struct device_driver.dev_groups`).
    fn dev_groups() -> Option<DeviceAttributeGroups<Self::Operations>> {
        None
    }

    /// The driver's attribute groups (`struct device_driver.groups`, in
    /// `/sys/bus/pci/drivers/<name>/`).
    fn driver_groups() -> Option<DriverAttributeGroups> {
        None
    }
}

/// `PCI_ANY_ID`, which C spells `(~0)`.
const PCI_ANY_ID: u32 = !0;

/// Any function, bound only through `driver_override` (`PCI_DRIVER_OVERRIDE_DEVICE_VFIO`).
static ID_TABLE: [bindings::pci_device_id; 2] = [
    bindings::pci_device_id {
        vendor: PCI_ANY_ID,
        device: PCI_ANY_ID,
        subvendor: PCI_ANY_ID,
        subdevice: PCI_ANY_ID,
        class: 0,
        class_mask: 0,
        driver_data: 0,
        override_only: bindings::PCI_ID_F_VFIO_DRIVER_OVERRIDE,
    },
    bindings::pci_device_id {
        vendor: 0,
        device: 0,
        subvendor: 0,
        subdevice: 0,
        class: 0,
        class_mask: 0,
        driver_data: 0,
        override_only: 0,
    },
];

/// The C callbacks of the PCI driver of `D`.
struct Adapter<D: Driver>(PhantomData<D>);

impl<D: Driver> Adapter<D> {
    /// vfio_pci_core's AER handling, plus the reset hooks of [`Operations`].
    ///
    /// With the hooks set, the PCI core also stops logging "resetting" and "reset done"
    /// (`pci_dev_save_and_disable()`, `pci_dev_restore()`) on every reset, which a VFIO user
    /// can ask for in a loop.
    const ERR_HANDLERS: bindings::pci_error_handlers = bindings::pci_error_handlers {
        error_detected: Some(bindings::vfio_pci_core_aer_err_detected),
        reset_prepare: Some(Self::reset_prepare),
        reset_done: Some(Self::reset_done),
        mmio_enabled: None,
        slot_reset: None,
        resume: None,
        cor_error_detected: None,
    };

    /// The device bound to `pdev`, for the PCI core's reset callbacks.
    ///
    /// # Safety
    ///
    /// `pdev` must be a `pci_dev` bound to this driver, in a PCI core callback made with
    /// its device lock held (which keeps `remove` away).
    unsafe fn bound<'a>(pdev: *mut bindings::pci_dev) -> Option<&'a Device<D::Operations>> {
        // SAFETY: Per the function's requirements.
        unsafe { Device::from_drvdata(&raw mut (*pdev).dev) }
    }

    extern "C" fn reset_prepare(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls `reset_prepare` for a bound device, under its lock.
        if let Some(dev) = unsafe { Self::bound(pdev) } {
            dev.reset_prepare();
        }
    }

    extern "C" fn reset_done(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls `reset_done` for a bound device, under its lock.
        if let Some(dev) = unsafe { Self::bound(pdev) } {
            dev.reset_done();
        }
    }

    extern "C" fn probe(
        pdev: *mut bindings::pci_dev,
        _id: *const bindings::pci_device_id,
    ) -> c_int {
        // SAFETY: The PCI core calls probe with a valid `pci_dev` and its device lock held
        // (the `Core` context). `bindings::pci_dev` and `kernel::bindings::pci_dev` are the
        // same C type.
        let core = unsafe { &*pdev.cast::<pci::Device<device::Core<'_>>>() };
        from_result(|| {
            D::probe(core)?;
            // `_vfio_alloc_device()` allocates with `kvzalloc()`.
            const { assert!(align_of::<Device<D::Operations>>() <= <KVmalloc as Allocator>::MIN_ALIGN) };

            // SAFETY: `dev` is the valid device of `pdev`; the ops are `'static`; the size is
            // that of `Device<T>`, whose `vfio_device` is at offset 0.
            let vdev = unsafe {
                bindings::_vfio_alloc_device(
                    size_of::<Device<D::Operations>>(),
                    &raw mut (*pdev).dev,
                    &Ops::<D::Operations>::VFIO_OPS,
                )
            };
            let vdev = kernel::error::from_err_ptr(vdev)?;
            let vcore = vdev.cast::<bindings::vfio_pci_core_device>();

            // SAFETY: `vcore` was initialised by the `init` op; drvdata is the core device, as
            // vfio_pci_core requires.
            unsafe {
                bindings::vpv_dev_set_drvdata(&raw mut (*pdev).dev, vcore.cast());
                (*vcore).pci_ops = bindings::vpv_vfio_pci_dev_ops();
            }

            // SAFETY: `vcore` is an initialised, unregistered `vfio_pci_core_device`.
            if let Err(e) = to_result(unsafe { bindings::vfio_pci_core_register_device(vcore) }) {
                // SAFETY: Drops the reference taken by `_vfio_alloc_device()`.
                unsafe { bindings::vpv_vfio_put_device(vdev) };
                return Err(e);
            }
            Ok(0)
        })
    }

    extern "C" fn remove(pdev: *mut bindings::pci_dev) {
        // SAFETY: `probe` succeeded for `pdev`, so drvdata is the core device.
        let vcore = unsafe { bindings::vpv_dev_get_drvdata(&raw mut (*pdev).dev) }
            .cast::<bindings::vfio_pci_core_device>();
        // SAFETY: `vcore` is registered; unregistering waits for users to close it, then the
        // reference from `_vfio_alloc_device()` is dropped, as in vfio-pci's remove.
        unsafe {
            bindings::vfio_pci_core_unregister_device(vcore);
            bindings::vpv_vfio_put_device(&raw mut (*vcore).vdev);
        }
    }
}

/// The registration of a variant driver's `struct pci_driver`; dropping it unregisters.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<D: Driver> {
    #[pin]
    drv: Opaque<bindings::pci_driver>,
    _p: PhantomData<D>,
}

// SAFETY: `Registration` gives no access to `drv` through `&self`.
unsafe impl<D: Driver> Sync for Registration<D> {}

// SAFETY: Registering and unregistering a PCI driver may happen on any thread.
unsafe impl<D: Driver> Send for Registration<D> {}

impl<D: Driver> Registration<D> {
    /// Registers the PCI driver `name` of `module`.
    pub(crate) fn new(
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> impl PinInit<Self, Error> {
        let dev_groups = D::dev_groups().map_or(core::ptr::null(), |g| g.as_raw());
        let groups = D::driver_groups().map_or(core::ptr::null(), |g| g.as_raw());
        try_pin_init!(Self {
            drv <- Opaque::try_ffi_init(|drv: *mut bindings::pci_driver| {
                // SAFETY: `try_ffi_init` gives a valid, pinned pointer for write.
                unsafe {
                    drv.write(bindings::pci_driver {
                        name: name.as_char_ptr(),
                        id_table: ID_TABLE.as_ptr(),
                        probe: Some(Adapter::<D>::probe),
                        remove: Some(Adapter::<D>::remove),
                        err_handler: &Adapter::<D>::ERR_HANDLERS,
                        driver_managed_dma: true,
                        // `__pci_register_driver()` copies them to `driver.groups` and
                        // `driver.dev_groups`.
                        groups: groups.cast_mut(),
                        dev_groups: dev_groups.cast_mut(),
                        ..Default::default()
                    })
                };
                // SAFETY: `drv` stays pinned until `drop` unregisters it.
                to_result(unsafe {
                    bindings::__pci_register_driver(drv, module.as_ptr().cast(), name.as_char_ptr())
                })
            }),
            _p: PhantomData,
        })
    }
}

#[pinned_drop]
impl<D: Driver> PinnedDrop for Registration<D> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `self` exists only if `__pci_register_driver()` succeeded.
        unsafe { bindings::pci_unregister_driver(self.drv.get()) };
    }
}
