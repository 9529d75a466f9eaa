// SPDX-License-Identifier: GPL-2.0

//! What the PCI function abstraction of the kernel crate of 7.3 (`kernel::pci::Device`)
//! lacks and a vfio-pci variant driver for SR-IOV VFs needs.
//!
//! The VF, which the driver is bound to, reads its own config space through the kernel
//! crate (`pci::Device<Bound>::config_space()`); its PF, which may have no driver, comes in
//! the `Normal` context, which the kernel crate gives no config access.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)
//!
//! Named as `include/linux/pci.h` names them, and `is_virtfn`/`physfn` as the posted Rust
//! SR-IOV series does, so that these become inherent methods of `pci::Device` if it lands.

use kernel::{
    device,
    pci,
    prelude::*, //
};

use crate::bindings;

/// The `struct pci_dev` that `pdev` wraps, to hand to C code.
pub(crate) fn as_raw<Ctx: device::DeviceContext>(
    pdev: &pci::Device<Ctx>,
) -> *mut bindings::pci_dev {
    // `pci::Device` is a `#[repr(transparent)]` wrapper of `Opaque<pci_dev>`, so a reference
    // to it is a pointer to the `pci_dev`. `bindings::pci_dev` and `kernel::bindings::pci_dev`
    // are the same C type, generated twice.
    core::ptr::from_ref(pdev).cast_mut().cast()
}

/// The PCI function of a `struct pci_dev` that C code handed over.
///
/// # Safety
///
/// `raw` must point to a valid `struct pci_dev` that stays valid for `'a`.
pub(crate) unsafe fn from_raw<'a>(raw: *mut bindings::pci_dev) -> &'a pci::Device {
    // SAFETY: `pci::Device` is a `#[repr(transparent)]` wrapper of `Opaque<pci_dev>`; the
    // caller guarantees validity for `'a`.
    unsafe { &*raw.cast::<pci::Device>() }
}

/// The `struct device` embedded in the `struct pci_dev` that `pdev` wraps.
fn dev_raw<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::device {
    let dev: &device::Device<Ctx> = pdev.as_ref();
    // `device::Device` is a `#[repr(transparent)]` wrapper of `Opaque<device>`.
    core::ptr::from_ref(dev).cast_mut().cast()
}

/// The errno of a `PCIBIOS_*` code, as `pcibios_err_to_errno()` maps it; a negative value
/// is an errno already.
fn pcibios_err_to_errno(err: c_int) -> Error {
    match u32::try_from(err).unwrap_or(0) {
        bindings::PCIBIOS_FUNC_NOT_SUPPORTED => ENOENT,
        bindings::PCIBIOS_BAD_VENDOR_ID => ENOTTY,
        bindings::PCIBIOS_DEVICE_NOT_FOUND => ENODEV,
        bindings::PCIBIOS_BAD_REGISTER_NUMBER => EFAULT,
        bindings::PCIBIOS_SET_FAILED => EIO,
        bindings::PCIBIOS_BUFFER_TOO_SMALL => ENOSPC,
        _ if err < 0 => Error::from_errno(err),
        _ => ERANGE,
    }
}

/// Config space and capability state of any PCI function, bound to a driver or not.
pub(crate) trait FunctionExt {
    /// Whether the function is an SR-IOV Virtual Function.
    fn is_virtfn(&self) -> bool;

    /// Whether the function is an SR-IOV Physical Function.
    fn is_physfn(&self) -> bool;

    /// The offset of Extended Capability `id` (`pci_find_ext_capability()`), if present.
    fn find_ext_capability(&self, id: u16) -> Option<u16>;

    /// Reads the config space dword at `pos` from the function (`pci_read_config_dword()`).
    ///
    /// An error if the PCI core failed the read (a disconnected function, `pos` outside
    /// config space); a function that does not answer reads as all ones, as in C.
    fn read_config_dword(&self, pos: u16) -> Result<u32>;

    /// Whether the PCI core enabled PASID on the function (`pci_enable_pasid()`).
    fn pasid_enabled(&self) -> bool;

    /// Whether the PCI core enabled the Page Request Interface on the function
    /// (`pci_enable_pri()`, which IOMMU drivers call for the functions whose page requests
    /// they handle).
    fn pri_enabled(&self) -> bool;

    /// How many PASIDs the IOMMU gives the function (`dev->iommu->max_pasids`): the smaller
    /// of its PASID capability's (its PF's, for a VF) and the IOMMU's; 0 for none.
    fn iommu_max_pasids(&self) -> u32;
}

impl<Ctx: device::DeviceContext> FunctionExt for pci::Device<Ctx> {
    fn is_virtfn(&self) -> bool {
        // SAFETY: By the type invariant of `pci::Device` the `pci_dev` is valid. This is a
        // plain read of a bitfield word that C writes without atomics (other bits of it,
        // such as `block_cfg_access`, change on every reset), as C's own readers of the bit
        // do; only this bit matters, and it is set when the function is enumerated and
        // never changes afterwards.
        unsafe { bindings::pci_dev::is_virtfn_raw(as_raw(self)) != 0 }
    }

    fn is_physfn(&self) -> bool {
        // SAFETY: As for `is_virtfn`. The bit changes only while the PCI core sets up or
        // tears down the function's SR-IOV state; the driver reads it at probe only.
        unsafe { bindings::pci_dev::is_physfn_raw(as_raw(self)) != 0 }
    }

    fn find_ext_capability(&self, id: u16) -> Option<u16> {
        // SAFETY: By the type invariant of `pci::Device` the `pci_dev` is valid.
        let pos = unsafe { bindings::pci_find_ext_capability(as_raw(self), id.into()) };
        (pos != 0).then_some(pos)
    }

    fn read_config_dword(&self, pos: u16) -> Result<u32> {
        let mut val = 0u32;
        // SAFETY: By the type invariant of `pci::Device` the `pci_dev` is valid, and `val`
        // is a `u32` to write to. The PCI core checks `pos` against the config space size.
        let ret = unsafe { bindings::pci_read_config_dword(as_raw(self), pos.into(), &mut val) };
        match ret {
            0 => Ok(val),
            err => Err(pcibios_err_to_errno(err)),
        }
    }

    fn pasid_enabled(&self) -> bool {
        // SAFETY: By the type invariant of `pci::Device` the `pci_dev` is valid. As for
        // `is_virtfn`, a plain read of a bitfield word that C writes without atomics (a PF
        // reset rewrites `state_saved` next to it). The PCI core changes `pasid_enabled`
        // itself under the device lock; a stale value makes a decision only as old as the
        // read.
        unsafe { bindings::pci_dev::pasid_enabled_raw(as_raw(self)) != 0 }
    }

    fn pri_enabled(&self) -> bool {
        // SAFETY: As for `pasid_enabled`.
        unsafe { bindings::pci_dev::pri_enabled_raw(as_raw(self)) != 0 }
    }

    fn iommu_max_pasids(&self) -> u32 {
        // SAFETY: By the type invariant of `pci::Device` the `pci_dev`, and so its embedded
        // `struct device`, is valid.
        unsafe { bindings::vpv_dev_max_pasids(dev_raw(self)) }
    }
}

/// A Virtual Function's way to its Physical Function.
pub(crate) trait VirtfnExt {
    /// The PF of this VF (`pci_physfn()`); [`EINVAL`] if the function is not a VF.
    ///
    /// The PF need not be bound to a driver, so it comes in the [`device::Normal`] context.
    fn physfn(&self) -> Result<&pci::Device>;
}

impl VirtfnExt for pci::Device<device::Bound> {
    fn physfn(&self) -> Result<&pci::Device> {
        if !self.is_virtfn() {
            return Err(EINVAL);
        }
        // SAFETY: The `pci_dev` is valid and a VF, so the union holds `physfn`.
        let pf = unsafe { (*as_raw(self)).__bindgen_anon_1.physfn };
        // SAFETY: A VF holds a reference on its PF from `pci_iov_scan_device()` until
        // `pci_iov_remove_virtfn()`, which drops it only after
        // `pci_stop_and_remove_bus_device()` has unbound the VF. `self` is bound for the
        // lifetime of the borrow (the `Bound` context), so the PF outlives it.
        Ok(unsafe { &*pf.cast::<pci::Device>() })
    }
}

/// `DL_FLAG_AUTOREMOVE_CONSUMER` (`BIT(1)`, a macro bindgen cannot evaluate): a managed
/// device link, dropped when the consumer's driver unbinds.
const DL_FLAG_AUTOREMOVE_CONSUMER: u32 = 1 << 1;

/// What a VF's driver does in its probe about its PF.
pub(crate) trait VirtfnProbeExt {
    /// Makes the function a consumer of its PF in a managed device link
    /// (`device_link_add()`), so that the PF's driver cannot unbind while this function is
    /// bound: the driver core unbinds this function first
    /// (`device_links_unbind_consumers()`). The link goes when this function's driver
    /// unbinds.
    ///
    /// [`EPROBE_DEFER`] if the PF has no driver bound (the driver core probes again once it
    /// has one), as Documentation/driver-api/device_link.rst prescribes for a supplier that
    /// is not there; [`EINVAL`] if the function is not a VF; [`ENOMEM`] if no link could be
    /// made.
    fn link_to_physfn(&self) -> Result;
}

impl VirtfnProbeExt for pci::Device<device::Core<'_>> {
    fn link_to_physfn(&self) -> Result {
        let pf = self.physfn()?;
        let (vf_dev, pf_dev) = (dev_raw(self), dev_raw(pf));
        // SAFETY: Both devices are valid (`physfn`); this is the consumer's probe (the `Core`
        // context), where a driver may add a link to a supplier.
        let link =
            unsafe { bindings::device_link_add(vf_dev, pf_dev, DL_FLAG_AUTOREMOVE_CONSUMER) };
        if link.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `link` is the valid link just returned; the consumer is probing, so a
        // supplier that unbinds waits for the probe to end (`wait_for_device_probe()`) before
        // it changes the link's state. `links.status` changes as the PF's driver binds and
        // unbinds, without the VF's lock: read it once, as `READ_ONCE()` does; if it says
        // bound, the link was made in `DL_STATE_CONSUMER_PROBE` and unbinding now waits.
        let bound = unsafe {
            (*link).status == bindings::device_link_state_DL_STATE_CONSUMER_PROBE
                && core::ptr::read_volatile(&raw const (*pf_dev).links.status)
                    == bindings::dl_dev_state_DL_DEV_DRIVER_BOUND
        };
        // A link made while the PF has no driver stays dormant; the failed probe drops it
        // (`device_links_no_driver()`), and the driver core retries the probe later.
        if bound {
            Ok(())
        } else {
            Err(EPROBE_DEFER)
        }
    }
}
