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
    uaccess::UserPtr,
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

    /// The PF of this VF; `None` if this function is not a VF.
    pub(crate) fn physfn(&self) -> Option<&PciDev> {
        if !self.is_virtfn() {
            return None;
        }
        // SAFETY: By the type invariant `self.as_raw()` is valid, and it is a VF, so
        // `pci_physfn()` returns its PF, which holds a reference that outlives the VF.
        Some(unsafe { PciDev::from_raw(bindings::vpv_pci_physfn(self.as_raw())) })
    }

    /// The offset of extended capability `id` in config space, if the function has it.
    pub(crate) fn find_ext_capability(&self, id: u16) -> Option<u16> {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `pci_dev`.
        let pos = unsafe { bindings::pci_find_ext_capability(self.as_raw(), id.into()) };
        (pos != 0).then_some(pos)
    }

    /// Reads the config space dword at `pos`, straight from the function.
    pub(crate) fn read_config_dword(&self, pos: u16) -> Result<u32> {
        let mut val = 0u32;
        // SAFETY: By the type invariant `self.as_raw()` is valid; `val` is a valid `u32` to
        // write to. The PCI core checks `pos` against the function's config space size.
        let ret = unsafe { bindings::pci_read_config_dword(self.as_raw(), pos.into(), &mut val) };
        if ret != 0 {
            return Err(EIO);
        }
        Ok(val)
    }

    /// The size of the function's config space: 256, or 4096 with extended config space.
    pub(crate) fn cfg_size(&self) -> u16 {
        // SAFETY: By the type invariant `self.as_raw()` is valid; `cfg_size` is set at
        // enumeration and not changed afterwards.
        let size = unsafe { (*self.as_raw()).cfg_size };
        u16::try_from(size).unwrap_or(0)
    }

    /// Whether the PCI core has enabled PASID on this function (`pci_enable_pasid()`).
    pub(crate) fn pasid_enabled(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `pci_dev`.
        unsafe { bindings::vpv_pci_pasid_enabled(self.as_raw()) }
    }

    /// Whether the PCI core has enabled the Page Request Interface on this function
    /// (`pci_enable_pri()`, which IOMMU drivers call for a function whose page requests
    /// they handle).
    pub(crate) fn pri_enabled(&self) -> bool {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `pci_dev`; `pri_enabled`
        // is a bitfield that the PCI core changes under the device lock, and a stale read
        // only makes the caller's decision as old as the read.
        unsafe { (*self.as_raw()).pri_enabled() != 0 }
    }

    /// The Vendor ID the PCI core recorded for the function (for a VF: its PF's).
    pub(crate) fn vendor_id(&self) -> u16 {
        // SAFETY: By the type invariant `self.as_raw()` is valid; `vendor` is set at
        // enumeration and not changed afterwards.
        unsafe { (*self.as_raw()).vendor }
    }

    /// The Device ID the PCI core recorded for the function (for a VF: the VF Device ID
    /// of its PF's SR-IOV capability).
    pub(crate) fn device_id(&self) -> u16 {
        // SAFETY: As for `vendor_id`.
        unsafe { (*self.as_raw()).device }
    }

    /// How many PASIDs the IOMMU can give this function (`dev->iommu->max_pasids`): the
    /// smaller of its PASID capability (the PF's, for a VF) and the IOMMU's; 0 for none.
    pub(crate) fn iommu_max_pasids(&self) -> u32 {
        // SAFETY: By the type invariant `self.as_raw()` is valid.
        unsafe { bindings::vpv_dev_max_pasids(addr_of_mut!((*self.as_raw()).dev)) }
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

    /// Called when userspace opens the device, after `vfio_pci_core_enable()` has built the
    /// virtualised config space (`vconfig`) and before `vfio_pci_core_finish_enable()`.
    /// An error fails the open.
    fn open_device(_dev: &Device<Self>, _vconfig: &VirtConfig<'_>) -> Result {
        Ok(())
    }

    /// Called after `vfio_pci_core_close_device()` when the last user closed the device.
    fn close_device(_dev: &Device<Self>) {}

    /// Called before every reset of the function by the PCI core (FLR, bus or slot reset,
    /// `VFIO_DEVICE_RESET`), while the device is bound.
    fn reset_prepare(_dev: &Device<Self>) {}

    /// Called after every reset attempt by the PCI core, whether or not it reset the
    /// function (the PCI core does not say), while the device is bound.
    fn reset_done(_dev: &Device<Self>) {}

    /// Whether the driver handles an access of `count` bytes at `pos` of the config region;
    /// if not, vfio-pci handles it directly, as it would without the driver. Called on every
    /// config access: it should be cheap.
    fn config_intercepts(_dev: &Device<Self>, _pos: u64, _count: usize) -> bool {
        true
    }

    /// Reads `count` bytes of the config region at `pos` into `buf`; returns the count read.
    fn read_config(dev: &Device<Self>, buf: UserPtr, count: usize, pos: u64) -> Result<usize> {
        dev.core_read_config(buf, count, pos)
    }

    /// Writes `count` bytes from `buf` to the config region at `pos`; returns the count written.
    fn write_config(dev: &Device<Self>, buf: UserPtr, count: usize, pos: u64) -> Result<usize> {
        dev.core_write_config(buf, count, pos)
    }

    /// The sysfs attribute groups of a bound device (`struct device_driver.dev_groups`): a
    /// NULL-terminated C array that lives as long as the module, or null for none.
    fn dev_groups() -> *const *const bindings::attribute_group {
        core::ptr::null()
    }

    /// The driver's own sysfs attribute groups (`struct device_driver.groups`, in
    /// `/sys/bus/pci/drivers/<name>/`): as for [`Driver::dev_groups`].
    fn driver_groups() -> *const *const bindings::attribute_group {
        core::ptr::null()
    }

    /// The vfio-pci-core behaviours to latch into a device when it is bound, as vfio-pci
    /// does from its module parameters in `vfio_pci_init_dev()`.
    fn core_params(_pdev: &PciDev) -> CoreParams {
        CoreParams::default()
    }
}

/// Per-device vfio-pci-core behaviours that vfio-pci sets from its module parameters
/// (`struct vfio_pci_core_device`); all off by default, as for other variant drivers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CoreParams {
    /// `nointxmask`: no PCI 2.3 style INTx masking.
    pub(crate) nointxmask: bool,
    /// `disable_idle_d3`: keep the idle, unused device in D0.
    pub(crate) disable_idle_d3: bool,
    /// `disable_vga`: no VGA resource access.
    pub(crate) disable_vga: bool,
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

/// Runs `show` for the device bound to `T` behind a sysfs attribute's `struct device`.
///
/// # Safety
///
/// `dev` must be the `struct device` of a PCI function bound to the driver `T`, inside a
/// sysfs callback of one of `T::dev_groups()` (the driver core removes them before unbind, so
/// the binding outlives the call), and `buf` must be the callback's `PAGE_SIZE` buffer.
pub(crate) unsafe fn sysfs_show<T: Driver>(
    dev: *mut bindings::device,
    buf: *mut c_char,
    show: impl FnOnce(&Device<T>, &mut SysfsBuf<'_>) -> Result,
) -> isize {
    // SAFETY: Per the function's requirements, drvdata is the `vfio_device` (at offset 0) of a
    // registered `Device<T>`, and `buf` is the callback's `PAGE_SIZE` buffer.
    let (dev, mut out) = unsafe {
        let vdev = bindings::vpv_dev_get_drvdata(dev).cast::<bindings::vfio_device>();
        (Device::<T>::from_vdev(vdev), SysfsBuf::from_raw(buf))
    };
    match show(dev, &mut out) {
        Ok(()) => out.len(),
        Err(e) => e.to_errno() as isize,
    }
}

/// vfio-pci's virtualised config space of an open device (`vdev->vconfig`): what userspace
/// sees for the bytes vfio-pci virtualises, such as the extended capability headers.
///
/// # Invariants
///
/// `ptr` points to `len` readable bytes that stay allocated for `'a`.
pub(crate) struct VirtConfig<'a> {
    ptr: *const u8,
    len: usize,
    _p: PhantomData<&'a [u8]>,
}

impl VirtConfig<'_> {
    /// The little-endian dword at `pos`, if `pos` is dword-aligned and inside config space.
    pub(crate) fn dword(&self, pos: u16) -> Option<u32> {
        let pos = usize::from(pos);
        if pos % 4 != 0 || pos.checked_add(4)? > self.len {
            return None;
        }
        let mut bytes = [0u8; 4];
        // SAFETY: `pos..pos + 4` is inside the `len` readable bytes of the type invariant.
        unsafe { core::ptr::copy_nonoverlapping(self.ptr.add(pos), bytes.as_mut_ptr(), 4) };
        Some(u32::from_le_bytes(bytes))
    }
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

    /// The PCI function this device drives.
    pub(crate) fn pdev(&self) -> &PciDev {
        // SAFETY: By the type invariant `core` is initialised, so `pdev` is the function the
        // device was allocated for, which outlives it.
        unsafe { PciDev::from_raw((*self.core()).pdev) }
    }

    /// The driver's per-device state.
    pub(crate) fn data(&self) -> &T::Data {
        &self.data
    }

    /// vfio-pci's own config region access, at offset `pos` of the config region.
    fn core_config_rw(&self, buf: UserPtr, count: usize, pos: u64, write: bool) -> Result<usize> {
        let mut ppos = bindings::loff_t::try_from(config_region_offset(pos)).map_err(|_| EINVAL)?;
        // SAFETY: `self.core()` is a live, open device (config accesses come only through its
        // open file); `buf` and `count` come from userspace and are checked by the uaccess
        // helpers vfio-pci uses; `ppos` is a valid `loff_t`.
        let ret = unsafe {
            core_rw(
                addr_of_mut!((*self.core()).vdev),
                buf,
                count,
                &mut ppos,
                write,
            )
        };
        usize::try_from(ret).map_err(|_| c_int::try_from(ret).map_or(EIO, Error::from_errno))
    }

    /// Reads the config region through vfio-pci, as vfio-pci itself would.
    pub(crate) fn core_read_config(&self, buf: UserPtr, count: usize, pos: u64) -> Result<usize> {
        self.core_config_rw(buf, count, pos, false)
    }

    /// Writes the config region through vfio-pci, as vfio-pci itself would.
    pub(crate) fn core_write_config(&self, buf: UserPtr, count: usize, pos: u64) -> Result<usize> {
        self.core_config_rw(buf, count, pos, true)
    }
}

/// vfio-pci's own read or write of any region (`vfio_pci_core_read()`/`_write()`).
///
/// # Safety
///
/// `vdev` must be an open `vfio_pci_core_device`'s `vfio_device` and `ppos` a valid file
/// position; `buf` is a userspace pointer, which vfio-pci accesses through uaccess helpers.
unsafe fn core_rw(
    vdev: *mut bindings::vfio_device,
    buf: UserPtr,
    count: usize,
    ppos: *mut bindings::loff_t,
    write: bool,
) -> isize {
    // SAFETY: Guaranteed by the function's safety requirements.
    unsafe {
        if write {
            bindings::vfio_pci_core_write(vdev, buf.as_const_ptr().cast(), count, ppos)
        } else {
            bindings::vfio_pci_core_read(vdev, buf.as_mut_ptr().cast(), count, ppos)
        }
    }
}

/// `VFIO_PCI_OFFSET_MASK`: the offset inside a region, in a VFIO device file offset.
const VFIO_PCI_OFFSET_MASK: u64 = (1 << bindings::VFIO_PCI_OFFSET_SHIFT) - 1;

/// The file offset of byte `pos` of the config region (`VFIO_PCI_INDEX_TO_OFFSET()`).
fn config_region_offset(pos: u64) -> u64 {
    (u64::from(bindings::VFIO_PCI_CONFIG_REGION_INDEX) << bindings::VFIO_PCI_OFFSET_SHIFT) | pos
}

/// The offset in the config region that the file offset `ppos` addresses, if it does.
fn config_region_pos(ppos: bindings::loff_t) -> Option<u64> {
    let ppos = u64::try_from(ppos).ok()?;
    (ppos >> bindings::VFIO_PCI_OFFSET_SHIFT == u64::from(bindings::VFIO_PCI_CONFIG_REGION_INDEX))
        .then_some(ppos & VFIO_PCI_OFFSET_MASK)
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
        close_device: Some(Self::close_device_callback),
        read: Some(Self::read_callback),
        write: Some(Self::write_callback),
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
            let params = T::core_params(pdev);
            // SAFETY: `init` has the fresh allocation to itself: no other thread can see it
            // yet, so the bitfields can be written through a unique reference. They are
            // read by vfio_pci_core from `vfio_pci_core_init_dev()` on, as vfio-pci's
            // `vfio_pci_init_dev()` arranges.
            unsafe {
                let core = &mut *vdev.cast::<bindings::vfio_pci_core_device>();
                core.set_nointxmask(params.nointxmask);
                core.set_disable_idle_d3(params.disable_idle_d3);
                core.set_disable_vga(params.disable_vga);
            }
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
            // SAFETY: `dev.core()` is valid; the successful enable above set `vconfig`.
            let ptr = unsafe { (*dev.core()).vconfig };
            // INVARIANT: `vfio_pci_core_enable()` allocated `vconfig` with the function's
            // config space size; only `vfio_pci_core_disable()` frees it, not before the
            // hook returns.
            let vconfig = VirtConfig {
                ptr,
                len: dev.pdev().cfg_size().into(),
                _p: PhantomData,
            };
            if let Err(e) = T::open_device(dev, &vconfig) {
                // SAFETY: Undoes the successful enable above, as vfio-pci does on errors.
                unsafe { bindings::vfio_pci_core_disable(dev.core()) };
                return Err(e);
            }
            // SAFETY: `vfio_pci_core_enable()` succeeded just above.
            unsafe { bindings::vfio_pci_core_finish_enable(dev.core()) };
            Ok(0)
        })
    }

    extern "C" fn close_device_callback(vdev: *mut bindings::vfio_device) {
        // SAFETY: The vfio core calls `close_device` on an open, live device.
        unsafe { bindings::vfio_pci_core_close_device(vdev) };
        // SAFETY: Same as above.
        T::close_device(unsafe { Device::<T>::from_vdev(vdev) });
    }

    /// Routes config region accesses to the driver and every other region to vfio-pci.
    fn rw_callback(
        vdev: *mut bindings::vfio_device,
        buf: UserPtr,
        count: usize,
        ppos: *mut bindings::loff_t,
        write: bool,
    ) -> isize {
        // SAFETY: The vfio core calls `read` and `write` on an open, live device, with a valid
        // file position.
        let (dev, ppos_val) = unsafe { (Device::<T>::from_vdev(vdev), *ppos) };
        let Some(pos) =
            config_region_pos(ppos_val).filter(|&pos| T::config_intercepts(dev, pos, count))
        else {
            // SAFETY: The arguments are the vfio core's, passed on unchanged.
            return unsafe { core_rw(vdev, buf, count, ppos, write) };
        };
        let done = if write {
            T::write_config(dev, buf, count, pos)
        } else {
            T::read_config(dev, buf, count, pos)
        };
        match done.and_then(|n| Ok((n, bindings::loff_t::try_from(n)?))) {
            Ok((n, advance)) => {
                // SAFETY: As above; vfio-pci advances the position by what it transferred.
                unsafe { *ppos += advance };
                isize::try_from(n).unwrap_or(isize::MAX)
            }
            Err(e) => e.to_errno() as isize,
        }
    }

    extern "C" fn read_callback(
        vdev: *mut bindings::vfio_device,
        buf: *mut c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        Self::rw_callback(vdev, UserPtr::from_ptr(buf.cast()), count, ppos, false)
    }

    extern "C" fn write_callback(
        vdev: *mut bindings::vfio_device,
        buf: *const c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        Self::rw_callback(
            vdev,
            UserPtr::from_ptr(buf.cast_mut().cast()),
            count,
            ppos,
            true,
        )
    }

    /// vfio_pci_core's AER handling, plus the driver's reset hooks.
    ///
    /// With the hooks set, the PCI core also stops logging "resetting" and "reset done"
    /// (`pci_dev_save_and_disable()`, `pci_dev_restore()`) on every reset, which a VFIO user
    /// can ask for in a loop.
    const ERR_HANDLERS: bindings::pci_error_handlers = bindings::pci_error_handlers {
        error_detected: Some(bindings::vfio_pci_core_aer_err_detected),
        reset_prepare: Some(Self::reset_prepare_callback),
        reset_done: Some(Self::reset_done_callback),
        mmio_enabled: None,
        slot_reset: None,
        resume: None,
        cor_error_detected: None,
    };

    /// The device bound to `pdev`, for the PCI core's reset callbacks.
    ///
    /// # Safety
    ///
    /// `pdev` must be a `pci_dev` bound to this driver, as in the PCI core's `reset_prepare`
    /// and `reset_done` callbacks (called with the device lock held, which keeps `remove`
    /// away).
    unsafe fn bound<'a>(pdev: *mut bindings::pci_dev) -> Option<&'a Device<T>> {
        // SAFETY: Per the function's requirements `pdev` is valid; `probe_callback` set its
        // drvdata to the core device before registering it.
        let core = unsafe { bindings::vpv_dev_get_drvdata(addr_of_mut!((*pdev).dev)) };
        // SAFETY: A non-null drvdata is the `vfio_device` of a registered `Device<T>`
        // (offset 0), which lives until `remove_callback`.
        (!core.is_null()).then(|| unsafe { Device::<T>::from_vdev(core.cast()) })
    }

    extern "C" fn reset_prepare_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls `reset_prepare` only for a bound device.
        if let Some(dev) = unsafe { Self::bound(pdev) } {
            T::reset_prepare(dev);
        }
    }

    extern "C" fn reset_done_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls `reset_done` only for a bound device.
        if let Some(dev) = unsafe { Self::bound(pdev) } {
            T::reset_done(dev);
        }
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
                        err_handler: &Adapter::<T>::ERR_HANDLERS,
                        driver_managed_dma: true,
                        // `__pci_register_driver()` copies them to `driver.groups` and
                        // `driver.dev_groups`.
                        groups: T::driver_groups().cast_mut(),
                        dev_groups: T::dev_groups().cast_mut(),
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
