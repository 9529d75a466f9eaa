// SPDX-License-Identifier: GPL-2.0

//! The PF-provider API that the module exports to PF drivers
//! (`include/linux/vfio_pasid_vf.h`; the exports are in `provider.c`).
//!
//! Each function checks what a caller hands over as far as it can, and then goes to the
//! registry ([`crate::pf`]). The contract for PF drivers is in
//! Documentation/vfio-pasid-vf.rst, "The PF-provider API".

use kernel::{
    error::from_result,
    prelude::*, //
};

use crate::bindings;
use crate::emu::{
    PCI_PRI_STATUS_RF,
    PCI_PRI_STATUS_UPRGI, //
};
use crate::pci_ext::{
    self,
    FunctionExt, //
};
use crate::pf::{
    self,
    Provider, //
};

/// Checks that each function has the type of the header's declaration (through bindgen):
/// both branches of an `if` must have one type, as the kernel crate's `#[export]` checks.
macro_rules! declared_in_header {
    ($($name:ident),* $(,)?) => {
        $(const _: () = {
            let _ = if true { bindings::$name } else { $name };
        };)*
    };
}

declared_in_header!(
    vpv_pf_provider_register,
    vpv_pf_provider_unregister,
    vpv_pf_pasid_changed,
    vpv_pf_pri_event,
);

/// The PF a provider names: [`EINVAL`] unless it is an SR-IOV PF.
///
/// # Safety
///
/// `pf` must be null or point to a valid `struct pci_dev` for `'a`.
unsafe fn physfn<'a>(pf: *mut bindings::pci_dev) -> Result<&'a kernel::pci::Device> {
    if pf.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: Not null, so valid for `'a` per the function's requirements.
    let pf = unsafe { pci_ext::from_raw(pf) };
    if pf.is_physfn() {
        Ok(pf)
    } else {
        Err(EINVAL)
    }
}

/// `vpv_pf_provider_register()`: registers `ops` as the provider of the SR-IOV PF `pf`.
///
/// # Safety
///
/// `pf` must be null or a valid `struct pci_dev` that stays valid until
/// [`vpv_pf_provider_unregister`]; `ops` null or a valid `struct vpv_pf_provider_ops` of the
/// version it names, whose callbacks stay valid until then.
#[no_mangle]
pub(crate) unsafe extern "C" fn vpv_pf_provider_register(
    pf: *mut bindings::pci_dev,
    ops: *const bindings::vpv_pf_provider_ops,
) -> c_int {
    from_result(|| {
        // SAFETY: Per the function's requirements.
        let pf = unsafe { physfn(pf) }?;
        if ops.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: Not null, so valid for the version it names, per the function's
        // requirements.
        let provider = unsafe { Provider::from_raw(ops) }?;
        pf::register_provider(pf, provider)?;
        Ok(0)
    })
}

/// `vpv_pf_provider_unregister()`: unregisters `pf`'s provider.
///
/// # Safety
///
/// `pf` must be null or a valid `struct pci_dev`.
#[no_mangle]
pub(crate) unsafe extern "C" fn vpv_pf_provider_unregister(pf: *mut bindings::pci_dev) {
    if pf.is_null() {
        return;
    }
    // SAFETY: Not null, so valid per the function's requirements.
    pf::unregister_provider(unsafe { pci_ext::from_raw(pf) });
}

/// `vpv_pf_pasid_changed()`: `pf`'s PASID was disabled or enabled.
///
/// # Safety
///
/// `pf` must be null or a valid `struct pci_dev`.
#[no_mangle]
pub(crate) unsafe extern "C" fn vpv_pf_pasid_changed(pf: *mut bindings::pci_dev) {
    if pf.is_null() {
        return;
    }
    // SAFETY: Not null, so valid per the function's requirements.
    pf::pasid_changed(unsafe { pci_ext::from_raw(pf) });
}

/// `vpv_pf_pri_event()`: latches PRI Status events of `vf`, a VF of `pf`.
///
/// # Safety
///
/// `pf` must be null or a valid `struct pci_dev`; `vf` is only compared, never
/// dereferenced.
#[no_mangle]
pub(crate) unsafe extern "C" fn vpv_pf_pri_event(
    pf: *mut bindings::pci_dev,
    vf: *mut bindings::pci_dev,
    status: u16,
) -> c_int {
    from_result(|| {
        if status & !(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI) != 0 {
            return Err(EINVAL);
        }
        // SAFETY: Per the function's requirements.
        let pf = unsafe { physfn(pf) }.map_err(|_| ENODEV)?;
        pf::pri_event(pf, vf.cast_const(), status)?;
        Ok(0)
    })
}
