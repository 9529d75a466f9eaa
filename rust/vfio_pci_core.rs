// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over `vfio_pci_core` for a vfio-pci variant driver.
//!
//! C header: [`include/linux/vfio_pci_core.h`](srctree/include/linux/vfio_pci_core.h)
//!
//! A variant driver implements [`Driver`]; [`Registration`] registers a
//! `struct pci_driver` for it that binds only through `driver_override`
//! (like `PCI_DRIVER_OVERRIDE_DEVICE_VFIO`), with `driver_managed_dma` set,
//! and a `struct vfio_device_ops` that is vfio-pci's own table with the
//! driver's hooks in it.
//!
//! The kernel crate's `pci::Driver` is not used: it cannot express
//! `driver_managed_dma` nor an override-only ID table, and its registration
//! treats drvdata as a Rust-owned object, while here drvdata is the
//! refcounted `struct vfio_device`.

use core::{
    marker::PhantomData,
    mem::offset_of,
    ptr::addr_of_mut, //
};

use kernel::{
    container_of,
    device,
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    str::as_char_ptr_in_const_context,
    types::Opaque,
    ThisModule, //
};

use crate::bindings;

/// A PCI function, as the PCI core hands it to a driver's probe.
///
/// # Invariants
///
/// `self.0` is a valid `struct pci_dev` for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct PciDev(Opaque<bindings::pci_dev>);

impl PciDev {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct pci_dev` that outlives `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::pci_dev) -> &'a Self {
        // SAFETY: `PciDev` is a transparent wrapper of `pci_dev`, and the caller guarantees
        // that `ptr` is valid for `'a`.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::pci_dev {
        self.0.get()
    }

    /// Whether this function is an SR-IOV Virtual Function.
    pub(crate) fn is_virtfn(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `pci_dev`.
        unsafe { bindings::vpv_pci_is_virtfn(self.as_raw()) }
    }

    /// Whether this function is an SR-IOV Physical Function.
    pub(crate) fn is_physfn(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `pci_dev`.
        unsafe { bindings::vpv_pci_is_physfn(self.as_raw()) }
    }

    /// The generic device, for `dev_*!` logging.
    pub(crate) fn as_dev(&self) -> &device::Device {
        // SAFETY: By the type invariant `self.as_raw()` is valid, so `dev` is a valid embedded
        // `struct device` that lives as long as `self`. `bindings::device` and
        // `kernel::bindings::device` are the same C type generated twice.
        unsafe { device::Device::from_raw(addr_of_mut!((*self.as_raw()).dev).cast()) }
    }
}

impl AsRef<device::Device> for PciDev {
    fn as_ref(&self) -> &device::Device {
        self.as_dev()
    }
}

/// A vfio-pci variant driver.
pub(crate) trait Driver: Sized + 'static {
    /// The name of the `vfio_device_ops`, shown by the vfio core.
    const NAME: &'static CStr;

    /// Per-device state, kept next to the `vfio_pci_core_device`.
    type Data: Send + Sync;

    /// Decides whether the driver takes `pdev`; runs before anything is allocated.
    fn probe(pdev: &PciDev) -> Result;

    /// Initialises the per-device state of `pdev` when its vfio device is allocated.
    fn init_data(pdev: &PciDev) -> impl PinInit<Self::Data, Error>;
}

/// A vfio-pci device bound to the variant driver `T`.
///
/// The `struct vfio_pci_core_device` comes first, as `vfio_alloc_device()` requires; `data`
/// follows in the same allocation, owned by the vfio device's reference count.
///
/// # Invariants
///
/// `core` is a `vfio_pci_core_device` allocated by `_vfio_alloc_device()` with the ops of
/// [`Adapter<T>`], initialised by `vfio_pci_core_init_dev()`, and `data` is initialised, from
/// the `init` callback until the `release` callback.
#[repr(C)]
pub(crate) struct Device<T: Driver> {
    core: Opaque<bindings::vfio_pci_core_device>,
    data: T::Data,
}

// `vfio_alloc_device()`: the `vfio_device` must be at offset 0 of the allocation.
const _: () = assert!(offset_of!(bindings::vfio_pci_core_device, vdev) == 0);

impl<T: Driver> Device<T> {
    /// # Safety
    ///
    /// `vdev` must be the `vfio_device` of a live `Device<T>`, that is, one passed by the vfio
    /// core to a callback of [`Adapter<T>`]'s ops, other than `init` and `release`.
    unsafe fn from_vdev<'a>(vdev: *mut bindings::vfio_device) -> &'a Self {
        // SAFETY: `vdev` is at offset 0 of `core` (checked above), which is at offset 0 of the
        // `repr(C)` `Device<T>`; the caller guarantees it is live.
        unsafe { &*vdev.cast() }
    }

    fn core(&self) -> *mut bindings::vfio_pci_core_device {
        self.core.get()
    }
}

/// `PCI_ANY_ID`, which C spells `(~0)`.
const PCI_ANY_ID: u32 = !0;

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

/// Builds the C tables of a variant driver and holds its callbacks.
pub(crate) struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    /// vfio-pci's `vfio_pci_ops` (drivers/vfio/pci/vfio_pci.c) with the driver's hooks.
    ///
    /// A variant driver must list the iommufd and PASID callbacks itself, or iommufd cdev
    /// users cannot attach the device or its PASIDs.
    const VFIO_OPS: bindings::vfio_device_ops = bindings::vfio_device_ops {
        name: as_char_ptr_in_const_context(T::NAME).cast_mut(),
        init: Some(Self::init_callback),
        release: Some(Self::release_callback),
        bind_iommufd: Some(bindings::vfio_iommufd_physical_bind),
        unbind_iommufd: Some(bindings::vfio_iommufd_physical_unbind),
        attach_ioas: Some(bindings::vfio_iommufd_physical_attach_ioas),
        detach_ioas: Some(bindings::vfio_iommufd_physical_detach_ioas),
        pasid_attach_ioas: Some(bindings::vfio_iommufd_physical_pasid_attach_ioas),
        pasid_detach_ioas: Some(bindings::vfio_iommufd_physical_pasid_detach_ioas),
        open_device: Some(Self::open_device_callback),
        close_device: Some(bindings::vfio_pci_core_close_device),
        read: Some(bindings::vfio_pci_core_read),
        write: Some(bindings::vfio_pci_core_write),
        ioctl: Some(bindings::vfio_pci_core_ioctl),
        get_region_info_caps: Some(bindings::vfio_pci_ioctl_get_region_info),
        mmap: Some(bindings::vfio_pci_core_mmap),
        request: Some(bindings::vfio_pci_core_request),
        match_: Some(bindings::vfio_pci_core_match),
        match_token_uuid: Some(bindings::vfio_pci_core_match_token_uuid),
        dma_unmap: None,
        device_feature: Some(bindings::vfio_pci_core_ioctl_feature),
    };

    extern "C" fn init_callback(vdev: *mut bindings::vfio_device) -> c_int {
        let dev = vdev.cast::<Device<T>>();
        // SAFETY: The vfio core calls `init` once on the fresh, zeroed allocation of
        // `size_of::<Device<T>>()` bytes made by `_vfio_alloc_device()` in `probe_callback`,
        // where `(*vdev).dev` is the `dev` embedded in the probed `pci_dev`.
        let pdev = unsafe { PciDev::from_raw(container_of!((*vdev).dev, bindings::pci_dev, dev)) };
        from_result(|| {
            // SAFETY: `data` is uninitialised memory inside the allocation, which does not
            // move; on error nothing is left initialised.
            unsafe { pin_init::raw_try_init(addr_of_mut!((*dev).data), T::init_data(pdev)) }?;
            // SAFETY: `vdev` is the `vfio_device` of a `vfio_pci_core_device`.
            if let Err(e) = to_result(unsafe { bindings::vfio_pci_core_init_dev(vdev) }) {
                // SAFETY: `data` was initialised above and is not used after this.
                unsafe { core::ptr::drop_in_place(addr_of_mut!((*dev).data)) };
                return Err(e);
            }
            Ok(0)
        })
    }

    extern "C" fn release_callback(vdev: *mut bindings::vfio_device) {
        let dev = vdev.cast::<Device<T>>();
        // SAFETY: The vfio core calls `release` once, when the last reference is gone, on a
        // device whose `init` succeeded, so `data` is initialised and no longer used.
        unsafe { core::ptr::drop_in_place(addr_of_mut!((*dev).data)) };
        // SAFETY: Same as above; the core part is released last, as vfio-pci does.
        unsafe { bindings::vfio_pci_core_release_dev(vdev) };
    }

    extern "C" fn open_device_callback(vdev: *mut bindings::vfio_device) -> c_int {
        // SAFETY: The vfio core calls `open_device` on a registered, live device.
        let dev = unsafe { Device::<T>::from_vdev(vdev) };
        from_result(|| {
            // SAFETY: `dev.core()` is a registered `vfio_pci_core_device` that is not open;
            // enable and finish_enable pair as in vfio-pci's `vfio_pci_open_device()`.
            to_result(unsafe { bindings::vfio_pci_core_enable(dev.core()) })?;
            // SAFETY: `vfio_pci_core_enable()` succeeded just above.
            unsafe { bindings::vfio_pci_core_finish_enable(dev.core()) };
            Ok(0)
        })
    }

    extern "C" fn probe_callback(
        pdev: *mut bindings::pci_dev,
        _id: *const bindings::pci_device_id,
    ) -> c_int {
        // SAFETY: The PCI core calls probe with a valid `pci_dev` that outlives the binding.
        let pci = unsafe { PciDev::from_raw(pdev) };
        from_result(|| {
            T::probe(pci)?;

            // SAFETY: `dev` is the valid device of `pdev`; `VFIO_OPS` is `'static`; the size
            // is that of `Device<T>`, whose `vfio_device` is at offset 0 (checked above).
            let vdev = unsafe {
                bindings::_vfio_alloc_device(
                    size_of::<Device<T>>(),
                    addr_of_mut!((*pdev).dev),
                    &Self::VFIO_OPS,
                )
            };
            let vdev = kernel::error::from_err_ptr(vdev)?;
            let core = vdev.cast::<bindings::vfio_pci_core_device>();

            // SAFETY: `core` was initialised by `init_callback`; drvdata is the core device,
            // as vfio_pci_core expects (`vfio_pci_core_aer_err_detected()` reads it).
            unsafe {
                bindings::vpv_dev_set_drvdata(addr_of_mut!((*pdev).dev), core.cast());
                (*core).pci_ops = bindings::vpv_vfio_pci_dev_ops();
            }

            // SAFETY: `core` is an initialised, unregistered `vfio_pci_core_device`.
            if let Err(e) = to_result(unsafe { bindings::vfio_pci_core_register_device(core) }) {
                // SAFETY: Drops the reference taken by `_vfio_alloc_device()`.
                unsafe { bindings::vpv_vfio_put_device(vdev) };
                return Err(e);
            }
            Ok(0)
        })
    }

    extern "C" fn remove_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: `probe_callback` succeeded for `pdev`, so drvdata is our core device.
        let core = unsafe { bindings::vpv_dev_get_drvdata(addr_of_mut!((*pdev).dev)) }
            .cast::<bindings::vfio_pci_core_device>();
        // SAFETY: `core` is registered; unregistering waits for users to close it, then the
        // reference from `_vfio_alloc_device()` is dropped, as in vfio-pci's remove.
        unsafe {
            bindings::vfio_pci_core_unregister_device(core);
            bindings::vpv_vfio_put_device(addr_of_mut!((*core).vdev));
        }
    }
}

/// The registration of a variant driver's `struct pci_driver`; dropping it unregisters.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Driver> {
    #[pin]
    drv: Opaque<bindings::pci_driver>,
    _p: PhantomData<T>,
}

// SAFETY: `Registration` gives no access to `drv` through `&self`.
unsafe impl<T: Driver> Sync for Registration<T> {}

// SAFETY: Registering and unregistering a PCI driver may happen on any thread.
unsafe impl<T: Driver> Send for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers the PCI driver `name` of `module`.
    pub(crate) fn new(
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            drv <- Opaque::try_ffi_init(|drv: *mut bindings::pci_driver| {
                // SAFETY: `try_ffi_init` gives a valid, pinned pointer for write.
                unsafe {
                    drv.write(bindings::pci_driver {
                        name: name.as_char_ptr(),
                        id_table: ID_TABLE.as_ptr(),
                        probe: Some(Adapter::<T>::probe_callback),
                        remove: Some(Adapter::<T>::remove_callback),
                        err_handler: &raw const bindings::vfio_pci_core_err_handlers,
                        driver_managed_dma: true,
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
impl<T: Driver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `self` exists only if `__pci_register_driver()` succeeded.
        unsafe { bindings::pci_unregister_driver(self.drv.get()) };
    }
}
