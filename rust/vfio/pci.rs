// SPDX-License-Identifier: GPL-2.0

//! vfio-pci variant devices: the vfio hooks of a variant driver and the device they get.
//!
//! C header: [`include/linux/vfio_pci_core.h`](srctree/include/linux/vfio_pci_core.h)
//!
//! A variant driver implements [`Operations`]; [`driver`] registers the `struct pci_driver`
//! that creates a [`Device`] for each function it binds. The `struct vfio_device_ops` is
//! vfio-pci's own table (`vfio_pci_ops`, drivers/vfio/pci/vfio_pci.c) with the hooks of
//! [`Operations`] in it; everything else is vfio-pci's.
//!
//! Each hook gets the device in a context ([`Normal`], [`Opening`], [`Read`], [`Write`]) that
//! allows what vfio-pci allows there: only [`Device<T, Opening>`] reads vfio-pci's virtualised
//! config space before userspace sees it, only [`Device<T, Read>`] and [`Device<T, Write>`]
//! reach vfio-pci's own config access, with the [`UserBuf`] of the callback.

use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    mem::offset_of,
    ptr::NonNull, //
};

use kernel::{
    container_of,
    device,
    error::{
        from_result,
        to_result, //
    },
    new_mutex,
    pci,
    prelude::*,
    str::as_char_ptr_in_const_context,
    sync::Mutex,
    types::Opaque,
    uaccess::UserPtr, //
};

use super::UserBuf;
use crate::bindings;

#[path = "pci/driver.rs"]
pub(crate) mod driver;

/// The context in which a hook holds a [`Device`]: what it may do with it.
pub(crate) trait DeviceContext: private::Sealed {}

/// Any hook: the device's state, no access to vfio-pci's internals.
pub(crate) struct Normal;
/// [`Operations::open_device`]: vfio-pci enabled the device and built its virtualised config
/// space, which userspace cannot access yet.
pub(crate) struct Opening;
/// [`Operations::read_config`]: a read of the config region by userspace.
pub(crate) struct Read;
/// [`Operations::write_config`]: a write to the config region by userspace.
pub(crate) struct Write;

mod private {
    pub(crate) trait Sealed {}
    impl Sealed for super::Normal {}
    impl Sealed for super::Opening {}
    impl Sealed for super::Read {}
    impl Sealed for super::Write {}
}

impl DeviceContext for Normal {}
impl DeviceContext for Opening {}
impl DeviceContext for Read {}
impl DeviceContext for Write {}

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

/// The vfio hooks of a vfio-pci variant driver.
///
/// What a hook does not override is vfio-pci's behaviour.
pub(crate) trait Operations: Sized + Send + Sync + 'static {
    /// The name of the `vfio_device_ops`, shown by the vfio core.
    const NAME: &'static CStr;

    /// Per-device state, from bind to unbind.
    type Data: Send + Sync;

    /// Per-device state from the first open to the last close; dropped after vfio-pci has
    /// disabled the device at the last close.
    type OpenData: Send + Sync;

    /// Initialises the per-device state of `pdev` when its vfio device is allocated (the
    /// `init` vfio op, during probe).
    fn init(pdev: &pci::Device<device::Core<'_>>) -> impl PinInit<Self::Data, Error>;

    /// The vfio-pci-core behaviours to latch into the device when it is allocated, as
    /// vfio-pci does from its module parameters in `vfio_pci_init_dev()`.
    fn core_params(_pdev: &pci::Device<device::Core<'_>>) -> CoreParams {
        CoreParams::default()
    }

    /// Called when userspace first opens the device, after `vfio_pci_core_enable()` and
    /// before `vfio_pci_core_finish_enable()`; the open data lives until the last close. An
    /// error fails the open.
    fn open_device(dev: &Device<Self, Opening>) -> impl PinInit<Self::OpenData, Error>;

    /// Called before every reset of the function that goes through the PCI core's reset
    /// hooks while it is bound (FLR, bus or slot reset, `VFIO_DEVICE_RESET`, a reset through
    /// sysfs), with the open data while the device is open. vfio-pci's reset at open comes
    /// before the open data exists, its reset at close after it is gone (and a plain FLR at
    /// close, `__pci_reset_function_locked()`, calls no hook at all).
    fn reset_prepare(_dev: &Device<Self>, _open: Option<&Self::OpenData>) {}

    /// Called after every reset attempt by the PCI core, whether or not it reset the
    /// function (the PCI core does not say); as for [`Operations::reset_prepare`].
    fn reset_done(_dev: &Device<Self>, _open: Option<&Self::OpenData>) {}

    /// Called before vfio-pci attaches PASID `pasid` of the open device to an IOAS or a
    /// HWPT, or replaces its attachment (`VFIO_DEVICE_ATTACH_IOMMUFD_PT` with
    /// `VFIO_DEVICE_ATTACH_PASID`); an error refuses it with that errno. Detaching is not
    /// hooked: it always reaches vfio-pci.
    fn pasid_attach(_dev: &Device<Self>, _open: &Self::OpenData, _pasid: u32) -> Result {
        Ok(())
    }

    /// The device feature (`VFIO_DEVICE_FEATURE`, the index in `VFIO_DEVICE_FEATURE_MASK`)
    /// that the driver handles in [`Operations::device_feature`]; every other feature
    /// reaches vfio-pci.
    const DEVICE_FEATURE: Option<u32> = None;

    /// Handles [`Operations::DEVICE_FEATURE`] for the open device. `flags` are the user's,
    /// which the vfio core checked (no unknown bit, not GET with SET unless PROBE);
    /// `payload` is what follows `struct vfio_device_feature` (see [`check_feature`]).
    fn device_feature(
        _dev: &Device<Self>,
        _open: &Self::OpenData,
        _flags: u32,
        _payload: &UserBuf,
    ) -> Result {
        Err(ENOTTY)
    }

    /// Whether the driver handles an access of `count` bytes at `pos` of the config region;
    /// if not, vfio-pci handles it directly. Called on every config access: keep it cheap.
    fn config_intercepts(_open: &Self::OpenData, _pos: u64, _count: usize) -> bool {
        true
    }

    /// Reads `buf.len()` bytes of the config region at `pos` into `buf`; returns the count.
    fn read_config(
        dev: &Device<Self, Read>,
        _open: &Self::OpenData,
        buf: &UserBuf,
        pos: u64,
    ) -> Result<usize> {
        dev.core_read_config(buf, pos)
    }

    /// Writes `buf` to the config region at `pos`; returns the count written.
    fn write_config(
        dev: &Device<Self, Write>,
        _open: &Self::OpenData,
        buf: &UserBuf,
        pos: u64,
    ) -> Result<usize> {
        dev.core_write_config(buf, pos)
    }
}

/// What a `VFIO_DEVICE_FEATURE` call asks of a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeatureOp {
    /// `VFIO_DEVICE_FEATURE_GET`.
    Get,
    /// `VFIO_DEVICE_FEATURE_SET`.
    Set,
}

/// `vfio_check_feature()` of `include/linux/vfio.h` (a static inline): [`EINVAL`] if `flags`
/// ask for GET or SET that the feature does not support (`get`, `set`), for neither without
/// PROBE, or if the payload is shorter than `minsz`. `Ok(None)` for a PROBE that succeeds,
/// else what to do.
pub(crate) fn check_feature(
    flags: u32,
    payload_len: usize,
    get: bool,
    set: bool,
    minsz: usize,
) -> Result<Option<FeatureOp>> {
    let (want_get, want_set) = (
        flags & bindings::VFIO_DEVICE_FEATURE_GET != 0,
        flags & bindings::VFIO_DEVICE_FEATURE_SET != 0,
    );
    if (want_get && !get) || (want_set && !set) {
        return Err(EINVAL);
    }
    if flags & bindings::VFIO_DEVICE_FEATURE_PROBE != 0 {
        return Ok(None);
    }
    let op = match (want_get, want_set) {
        (true, false) => FeatureOp::Get,
        (false, true) => FeatureOp::Set,
        // Neither; both were refused by the vfio core.
        _ => return Err(EINVAL),
    };
    if payload_len < minsz {
        return Err(EINVAL);
    }
    Ok(Some(op))
}

/// The open data of a device, published for the hooks.
///
/// # Invariants
///
/// `data` is `Some` from the publication at the end of a successful first open (before
/// `vfio_pci_core_finish_enable()`) to the start of the last close, and `None` otherwise.
/// Only the vfio core's `open_device` and `close_device` callbacks write it, with `lock`
/// held.
///
/// The `read` and `write` callbacks read it without `lock`. The vfio core never runs them
/// concurrently with those writers: `open_device` and `close_device` run under the device
/// set's lock, when the open count goes from 0 to 1 and from 1 to 0; a file reaches `read`
/// and `write` only after the open that granted it access (`df->access_granted`, stored with
/// release after `vfio_df_open()`, loaded with acquire by each file operation, which orders
/// the publication before the read); and `close_device` runs from the release of the last
/// file, after its system calls have returned.
///
/// The PCI core's reset hooks can run at any time (a sysfs or AER reset, a reset of the PF's
/// bus), so they read `data` with `lock` held. vfio-pci's own resets at open and close only
/// try the device lock and never hold `lock`, so nothing waits on `lock` while holding what
/// a reset holds.
#[pin_data]
struct OpenSlot<O> {
    #[pin]
    lock: Mutex<()>,
    data: UnsafeCell<Option<Pin<KBox<O>>>>,
}

impl<O> OpenSlot<O> {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            lock <- new_mutex!(()),
            data: UnsafeCell::new(None),
        }? Error)
    }

    /// Publishes `data`, or takes it back with `None`; returns what was there.
    ///
    /// # Safety
    ///
    /// Must be called from the vfio core's `open_device` or `close_device` callback.
    unsafe fn replace(&self, data: Option<Pin<KBox<O>>>) -> Option<Pin<KBox<O>>> {
        let _guard = self.lock.lock();
        // SAFETY: Only open and close write `data`, with `lock` held, and the vfio core runs
        // neither `read` nor `write` concurrently with them (type invariant); the reset hooks
        // read it with `lock` held.
        unsafe { core::mem::replace(&mut *self.data.get(), data) }
    }

    /// The open data, for a file callback of an open device.
    ///
    /// # Safety
    ///
    /// Must be called from the vfio core's `read` or `write` callback of the device.
    unsafe fn get(&self) -> Option<&O> {
        // SAFETY: Open and close, the only writers, do not run concurrently with `read` and
        // `write`, and what they wrote is visible to them (type invariant), so `data` does
        // not change while the callback runs.
        unsafe { (*self.data.get()).as_deref() }
    }

    /// Calls `f` with the open data, if the device is open, while it cannot be closed.
    fn with<R>(&self, f: impl FnOnce(Option<&O>) -> R) -> R {
        let _guard = self.lock.lock();
        // SAFETY: Writers hold `lock` (type invariant), which is held until `f` returns.
        f(unsafe { (*self.data.get()).as_deref() })
    }
}

/// A vfio-pci device bound to the variant driver `T`, as the hooks in context `Ctx` see it.
///
/// The `struct vfio_pci_core_device` comes first, as `vfio_alloc_device()` requires; the
/// driver's state follows in the same allocation, owned by the vfio device's refcount.
///
/// # Invariants
///
/// `core` is a `vfio_pci_core_device` allocated by `_vfio_alloc_device()` with the ops of
/// `T`, initialised by `vfio_pci_core_init_dev()`; `data` and `open` are initialised, from
/// the `init` vfio op until the `release` op. A `&Device` is handed only to hooks that run
/// while the function is bound to the driver, and a `&Device<T, Ctx>` only in the hook of
/// context `Ctx`.
#[repr(C)]
pub(crate) struct Device<T: Operations, Ctx: DeviceContext = Normal> {
    core: Opaque<bindings::vfio_pci_core_device>,
    data: T::Data,
    open: OpenSlot<T::OpenData>,
    _ctx: PhantomData<Ctx>,
}

// `vfio_alloc_device()`: the `vfio_device` must be at offset 0 of the allocation.
const _: () = assert!(offset_of!(bindings::vfio_pci_core_device, vdev) == 0);

impl<T: Operations> Device<T> {
    /// The device behind the `vfio_device` of a vfio op.
    ///
    /// # Safety
    ///
    /// `vdev` must be the `vfio_device` of a `Device<T>` whose `init` op succeeded and whose
    /// `release` op has not run, handed to a vfio op that runs while the function is bound.
    unsafe fn from_vdev<'a>(vdev: *mut bindings::vfio_device) -> &'a Self {
        // SAFETY: `vdev` is at offset 0 of `core` (checked above), which is at offset 0 of the
        // `repr(C)` `Device<T>`; the caller guarantees it is live.
        unsafe { &*vdev.cast() }
    }

    /// The device bound to the function whose `struct device` is `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be the `struct device` of a PCI function that [`driver`] bound for `T`, in
    /// a callback that keeps it bound until the reference is dropped (a sysfs callback of the
    /// driver's `dev_groups`, a PCI error handler called under the device lock).
    pub(crate) unsafe fn from_drvdata<'a>(dev: *mut bindings::device) -> Option<&'a Self> {
        // SAFETY: Per the function's requirements `dev` is valid.
        let vdev = unsafe { bindings::vpv_dev_get_drvdata(dev) };
        // SAFETY: The probe of [`driver`] sets drvdata to the `vfio_device` of a `Device<T>`
        // before registering it, and the function stays bound while the reference lives.
        (!vdev.is_null()).then(|| unsafe { Self::from_vdev(vdev.cast()) })
    }

    /// The same device in the context `Ctx`.
    ///
    /// # Safety
    ///
    /// Must be called only in the hook of context `Ctx`, for the duration of that hook.
    unsafe fn in_context<Ctx: DeviceContext>(&self) -> &Device<T, Ctx> {
        // SAFETY: `Device<T, Ctx>` differs only in a zero-sized marker, so the layout is
        // the same (`repr(C)`); the caller guarantees the context.
        unsafe { &*core::ptr::from_ref(self).cast() }
    }

    /// Runs [`Operations::reset_prepare`], for [`driver`].
    fn reset_prepare(&self) {
        self.open.with(|open| T::reset_prepare(self, open));
    }

    /// Runs [`Operations::reset_done`], for [`driver`].
    fn reset_done(&self) {
        self.open.with(|open| T::reset_done(self, open));
    }
}

impl<T: Operations, Ctx: DeviceContext> Device<T, Ctx> {
    fn core(&self) -> *mut bindings::vfio_pci_core_device {
        self.core.get()
    }

    fn vdev(&self) -> *mut bindings::vfio_device {
        self.core().cast()
    }

    /// The PCI function this device drives.
    pub(crate) fn pdev(&self) -> &pci::Device<device::Bound> {
        // SAFETY: By the type invariant `core` is initialised, so `pdev` is the function it
        // was allocated for, and hooks run while that function is bound to the driver.
        // `bindings::pci_dev` and `kernel::bindings::pci_dev` are the same C type.
        unsafe { &*(*self.core()).pdev.cast::<pci::Device<device::Bound>>() }
    }

    /// The driver's per-device state.
    pub(crate) fn data(&self) -> &T::Data {
        &self.data
    }

    /// The user's error eventfd (`VFIO_PCI_ERR_IRQ_INDEX`), to signal from outside the
    /// hooks.
    pub(crate) fn error_eventfd(&self) -> ErrorEventfd {
        // SAFETY: By the type invariant `core` is initialised, so its `vfio_device` is, by
        // `vfio_init_device()`; a reference on it keeps the allocation.
        unsafe { bindings::get_device(&raw mut (*self.vdev()).device) };
        // INVARIANT: `core` is initialised and the reference was taken just above.
        ErrorEventfd {
            // `Opaque` is transparent.
            core: NonNull::from(&self.core).cast(),
        }
    }
}

/// The error eventfd (`VFIO_PCI_ERR_IRQ_INDEX`) of a [`Device`], which vfio-pci signals on
/// an AER error and QEMU stops the VM on. Signalling it does nothing if the user set none,
/// or once the device is closed (vfio-pci clears it at close).
///
/// # Invariants
///
/// `core` is the initialised `vfio_pci_core_device` of a [`Device`]; this holds a reference
/// on its `vfio_device` (`get_device()`), so the allocation stays.
///
/// Drop it before the device is unbound, in the driver's own code: the last reference runs
/// the device's `release`.
pub(crate) struct ErrorEventfd {
    core: NonNull<bindings::vfio_pci_core_device>,
}

// SAFETY: `signal()` only reads `err_trigger` under RCU, and the reference can be dropped
// from any thread.
unsafe impl Send for ErrorEventfd {}
// SAFETY: As above: `signal()` takes `&self` and synchronises through RCU.
unsafe impl Sync for ErrorEventfd {}

impl ErrorEventfd {
    /// Signals the user's error eventfd, as vfio-pci does on an AER error.
    pub(crate) fn signal(&self) {
        // SAFETY: By the type invariant the allocation is live and initialised; the helper
        // reads `err_trigger` under RCU, the only way vfio-pci replaces it.
        unsafe { bindings::vpv_vfio_pci_signal_err(self.core.as_ptr()) }
    }
}

impl Drop for ErrorEventfd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this holds a reference on the `vfio_device`, at
        // offset 0 of `core`; it is given back here, once.
        unsafe { bindings::vpv_vfio_put_device(self.core.as_ptr().cast()) };
    }
}

impl<T: Operations> Device<T, Opening> {
    /// The little-endian dword at `pos` of vfio-pci's virtualised config space
    /// (`vdev->vconfig`): what userspace will see for the bytes vfio-pci virtualises, such
    /// as the extended capability headers. `None` if `pos` is not dword-aligned inside
    /// config space.
    pub(crate) fn vconfig_dword(&self, pos: u16) -> Option<u32> {
        let size = self.pdev().cfg_size().into_raw();
        let pos = usize::from(pos);
        if pos % 4 != 0 || pos.checked_add(4)? > size {
            return None;
        }
        let mut bytes = [0u8; 4];
        // SAFETY: In the `Opening` context `vfio_pci_core_enable()` has allocated `vconfig`
        // with the function's config space size, and only `vfio_pci_core_disable()` frees
        // it; nothing writes it before userspace gets the device. `pos..pos + 4` is inside.
        unsafe {
            core::ptr::copy_nonoverlapping((*self.core()).vconfig.add(pos), bytes.as_mut_ptr(), 4)
        };
        Some(u32::from_le_bytes(bytes))
    }
}

impl<T: Operations> Device<T, Read> {
    /// Reads `buf.len()` bytes of the config region at `pos` through vfio-pci, as vfio-pci
    /// alone would.
    pub(crate) fn core_read_config(&self, buf: &UserBuf, pos: u64) -> Result<usize> {
        let mut ppos = config_region_offset(pos)?;
        // SAFETY: In the `Read` context the device is open; `buf` is a part of the callback's
        // userspace buffer, which vfio-pci accesses through uaccess helpers.
        let ret = unsafe {
            bindings::vfio_pci_core_read(
                self.vdev(),
                buf.ptr.as_mut_ptr().cast(),
                buf.len,
                &mut ppos,
            )
        };
        from_ssize(ret)
    }
}

impl<T: Operations> Device<T, Write> {
    /// Writes `buf` to the config region at `pos` through vfio-pci, as vfio-pci alone would.
    pub(crate) fn core_write_config(&self, buf: &UserBuf, pos: u64) -> Result<usize> {
        let mut ppos = config_region_offset(pos)?;
        // SAFETY: As for `core_read_config`, in the `Write` context.
        let ret = unsafe {
            bindings::vfio_pci_core_write(
                self.vdev(),
                buf.ptr.as_const_ptr().cast(),
                buf.len,
                &mut ppos,
            )
        };
        from_ssize(ret)
    }
}

/// The count or the error of a `ssize_t` return value.
fn from_ssize(ret: isize) -> Result<usize> {
    usize::try_from(ret).map_err(|_| c_int::try_from(ret).map_or(EIO, Error::from_errno))
}

/// `VFIO_PCI_OFFSET_MASK`: the offset inside a region, in a VFIO device file offset.
const VFIO_PCI_OFFSET_MASK: u64 = (1 << bindings::VFIO_PCI_OFFSET_SHIFT) - 1;

/// The file offset of byte `pos` of the config region (`VFIO_PCI_INDEX_TO_OFFSET()`).
fn config_region_offset(pos: u64) -> Result<bindings::loff_t> {
    if pos > VFIO_PCI_OFFSET_MASK {
        return Err(EINVAL);
    }
    let offset = (u64::from(bindings::VFIO_PCI_CONFIG_REGION_INDEX)
        << bindings::VFIO_PCI_OFFSET_SHIFT)
        | pos;
    Ok(bindings::loff_t::try_from(offset)?)
}

/// The offset in the config region that the file offset `ppos` addresses, if it does.
fn config_region_pos(ppos: bindings::loff_t) -> Option<u64> {
    let ppos = u64::try_from(ppos).ok()?;
    (ppos >> bindings::VFIO_PCI_OFFSET_SHIFT == u64::from(bindings::VFIO_PCI_CONFIG_REGION_INDEX))
        .then_some(ppos & VFIO_PCI_OFFSET_MASK)
}

/// The vfio ops of `T`.
struct Ops<T: Operations>(PhantomData<T>);

impl<T: Operations> Ops<T> {
    /// vfio-pci's `vfio_pci_ops` with the hooks of `T`.
    ///
    /// A variant driver must list the iommufd and PASID callbacks itself, or iommufd cdev
    /// users cannot attach the device or its PASIDs (the proposed upstream Rust VFIO layer
    /// leaves `pasid_attach_ioas` out). Every field is named, so the build breaks when the
    /// C struct grows.
    const VFIO_OPS: bindings::vfio_device_ops = bindings::vfio_device_ops {
        name: as_char_ptr_in_const_context(T::NAME).cast_mut(),
        init: Some(Self::init),
        release: Some(Self::release),
        bind_iommufd: Some(bindings::vfio_iommufd_physical_bind),
        unbind_iommufd: Some(bindings::vfio_iommufd_physical_unbind),
        attach_ioas: Some(bindings::vfio_iommufd_physical_attach_ioas),
        detach_ioas: Some(bindings::vfio_iommufd_physical_detach_ioas),
        pasid_attach_ioas: Some(Self::pasid_attach_ioas),
        pasid_detach_ioas: Some(bindings::vfio_iommufd_physical_pasid_detach_ioas),
        open_device: Some(Self::open_device),
        close_device: Some(Self::close_device),
        read: Some(Self::read),
        write: Some(Self::write),
        ioctl: Some(bindings::vfio_pci_core_ioctl),
        get_region_info_caps: Some(bindings::vfio_pci_ioctl_get_region_info),
        mmap: Some(bindings::vfio_pci_core_mmap),
        request: Some(bindings::vfio_pci_core_request),
        match_: Some(bindings::vfio_pci_core_match),
        match_token_uuid: Some(bindings::vfio_pci_core_match_token_uuid),
        dma_unmap: None,
        device_feature: Some(Self::device_feature),
    };

    extern "C" fn init(vdev: *mut bindings::vfio_device) -> c_int {
        let dev = vdev.cast::<Device<T>>();
        // SAFETY: The vfio core calls `init` from `_vfio_alloc_device()` in the probe of
        // [`driver`], which holds the device lock of the function embedding `(*vdev).dev`.
        let pdev = unsafe {
            &*container_of!((*vdev).dev, bindings::pci_dev, dev)
                .cast::<pci::Device<device::Core<'_>>>()
        };
        from_result(|| {
            let params = T::core_params(pdev);
            // SAFETY: `init` has the fresh, zeroed allocation of `size_of::<Device<T>>()`
            // bytes to itself, so the bitfields can be written through a unique reference;
            // vfio_pci_core reads them from `vfio_pci_core_init_dev()` on, as vfio-pci's
            // `vfio_pci_init_dev()` arranges.
            unsafe {
                let core = &mut *vdev.cast::<bindings::vfio_pci_core_device>();
                core.set_nointxmask(params.nointxmask);
                core.set_disable_idle_d3(params.disable_idle_d3);
                core.set_disable_vga(params.disable_vga);
            }
            // SAFETY: `data` and `open` are uninitialised memory inside the allocation, which
            // does not move; on error nothing is left initialised.
            unsafe {
                pin_init::raw_try_init(&raw mut (*dev).data, T::init(pdev))?;
                if let Err(e) = pin_init::raw_try_init(&raw mut (*dev).open, OpenSlot::new()) {
                    core::ptr::drop_in_place(&raw mut (*dev).data);
                    return Err(e);
                }
            }
            // SAFETY: `vdev` is the `vfio_device` of a `vfio_pci_core_device`.
            if let Err(e) = to_result(unsafe { bindings::vfio_pci_core_init_dev(vdev) }) {
                // SAFETY: Both were initialised above and are not used after this.
                unsafe {
                    core::ptr::drop_in_place(&raw mut (*dev).open);
                    core::ptr::drop_in_place(&raw mut (*dev).data);
                }
                return Err(e);
            }
            Ok(0)
        })
    }

    extern "C" fn release(vdev: *mut bindings::vfio_device) {
        let dev = vdev.cast::<Device<T>>();
        // SAFETY: The vfio core calls `release` once, when the last reference is gone, on a
        // device whose `init` succeeded: `open` and `data` are initialised and unused.
        unsafe {
            core::ptr::drop_in_place(&raw mut (*dev).open);
            core::ptr::drop_in_place(&raw mut (*dev).data);
        }
        // SAFETY: Same as above; the core part is released last, as vfio-pci does.
        unsafe { bindings::vfio_pci_core_release_dev(vdev) };
    }

    extern "C" fn open_device(vdev: *mut bindings::vfio_device) -> c_int {
        // SAFETY: The vfio core calls `open_device` on a registered device, so bound.
        let dev = unsafe { Device::<T>::from_vdev(vdev) };
        from_result(|| {
            // SAFETY: The device is registered and not open; enable and finish_enable pair
            // as in vfio-pci's `vfio_pci_open_device()`.
            to_result(unsafe { bindings::vfio_pci_core_enable(dev.core()) })?;
            // Allocated before the hook runs, so that an open the driver has accepted (and
            // maybe logged) cannot fail after it.
            let data = KBox::<T::OpenData>::new_uninit(GFP_KERNEL)
                .map_err(Error::from)
                .and_then(|slot| {
                    // SAFETY: This is the `Opening` context: enabled, not yet seen by userspace.
                    let opening = unsafe { dev.in_context::<Opening>() };
                    slot.write_pin_init(T::open_device(opening))
                });
            match data {
                Ok(data) => {
                    // SAFETY: Called from `open_device`.
                    unsafe { dev.open.replace(Some(data)) };
                }
                Err(e) => {
                    // SAFETY: Undoes the successful enable above, as vfio-pci does on errors.
                    unsafe { bindings::vfio_pci_core_disable(dev.core()) };
                    return Err(e);
                }
            }
            // SAFETY: `vfio_pci_core_enable()` succeeded just above.
            unsafe { bindings::vfio_pci_core_finish_enable(dev.core()) };
            Ok(0)
        })
    }

    extern "C" fn pasid_attach_ioas(
        vdev: *mut bindings::vfio_device,
        pasid: u32,
        pt_id: *mut u32,
    ) -> c_int {
        // SAFETY: The vfio core calls `pasid_attach_ioas` on an open, registered device.
        let dev = unsafe { Device::<T>::from_vdev(vdev) };
        from_result(|| {
            dev.open
                .with(|open| open.map_or(Ok(()), |open| T::pasid_attach(dev, open, pasid)))?;
            // SAFETY: The vfio core's arguments, passed on unchanged.
            to_result(unsafe {
                bindings::vfio_iommufd_physical_pasid_attach_ioas(vdev, pasid, pt_id)
            })?;
            Ok(0)
        })
    }

    extern "C" fn device_feature(
        vdev: *mut bindings::vfio_device,
        flags: u32,
        arg: *mut c_void,
        argsz: usize,
    ) -> c_int {
        if T::DEVICE_FEATURE != Some(flags & bindings::VFIO_DEVICE_FEATURE_MASK) {
            // SAFETY: The vfio core's arguments, passed on unchanged.
            return unsafe { bindings::vfio_pci_core_ioctl_feature(vdev, flags, arg, argsz) };
        }
        // SAFETY: The vfio core calls `device_feature` from an ioctl of an open device file,
        // on a registered device.
        let dev = unsafe { Device::<T>::from_vdev(vdev) };
        // `arg` and `argsz` are the user's payload, as for `read` and `write`.
        let payload = UserBuf::new(UserPtr::from_ptr(arg), argsz);
        from_result(|| {
            dev.open.with(|open| {
                // A file reaches ioctls only after the open that granted it access.
                let open = open.ok_or(ENODEV)?;
                T::device_feature(dev, open, flags, &payload)
            })?;
            Ok(0)
        })
    }

    extern "C" fn close_device(vdev: *mut bindings::vfio_device) {
        // SAFETY: The vfio core calls `close_device` on an open, registered device.
        let dev = unsafe { Device::<T>::from_vdev(vdev) };
        // The hooks stop seeing the open data first, while the device is still enabled, as
        // they started seeing it last; it is dropped once vfio-pci has disabled the device
        // (bus mastering off, reset), so that what it releases is no longer in use by the
        // device's DMA.
        // SAFETY: Called from `close_device`.
        let data = unsafe { dev.open.replace(None) };
        // SAFETY: Same as above.
        unsafe { bindings::vfio_pci_core_close_device(vdev) };
        drop(data);
    }

    /// Routes config region accesses that `T` intercepts to `T`, everything else to vfio-pci.
    ///
    /// # Safety
    ///
    /// The arguments must be those of the vfio core's `read` (`write` false) or `write`
    /// callback.
    unsafe fn rw(
        vdev: *mut bindings::vfio_device,
        buf: UserPtr,
        count: usize,
        ppos: *mut bindings::loff_t,
        write: bool,
    ) -> isize {
        // SAFETY: The vfio core calls `read` and `write` on an open, registered device, with
        // a valid file position.
        let (dev, ppos_val) = unsafe { (Device::<T>::from_vdev(vdev), *ppos) };
        // SAFETY: This is a file callback.
        let open = unsafe { dev.open.get() };
        let intercepted = open
            .zip(config_region_pos(ppos_val))
            .filter(|&(open, pos)| T::config_intercepts(open, pos, count));
        let Some((open, pos)) = intercepted else {
            // SAFETY: The vfio core's arguments, passed on unchanged.
            return unsafe {
                if write {
                    bindings::vfio_pci_core_write(vdev, buf.as_const_ptr().cast(), count, ppos)
                } else {
                    bindings::vfio_pci_core_read(vdev, buf.as_mut_ptr().cast(), count, ppos)
                }
            };
        };
        let buf = UserBuf::new(buf, count);
        let done = if write {
            // SAFETY: This is the `write` callback.
            T::write_config(unsafe { dev.in_context::<Write>() }, open, &buf, pos)
        } else {
            // SAFETY: This is the `read` callback.
            T::read_config(unsafe { dev.in_context::<Read>() }, open, &buf, pos)
        };
        // A count beyond the buffer would be a bug of `T`: it must not move the position there.
        let done = done.and_then(|n| if n > count { Err(EINVAL) } else { Ok(n) });
        match done.and_then(|n| Ok((bindings::loff_t::try_from(n)?, isize::try_from(n)?))) {
            Ok((advance, ret)) => {
                // SAFETY: As above; vfio-pci advances the position by what it transferred.
                unsafe { *ppos += advance };
                ret
            }
            Err(e) => e.to_errno() as isize,
        }
    }

    extern "C" fn read(
        vdev: *mut bindings::vfio_device,
        buf: *mut c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: The arguments of the `read` callback.
        unsafe { Self::rw(vdev, UserPtr::from_ptr(buf.cast()), count, ppos, false) }
    }

    extern "C" fn write(
        vdev: *mut bindings::vfio_device,
        buf: *const c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        let buf = UserPtr::from_ptr(buf.cast_mut().cast());
        // SAFETY: The arguments of the `write` callback.
        unsafe { Self::rw(vdev, buf, count, ppos, true) }
    }
}
