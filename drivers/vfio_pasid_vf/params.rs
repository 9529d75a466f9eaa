// SPDX-License-Identifier: GPL-2.0

//! The module parameters (declared in `params.c`: see there why in C).

use kernel::prelude::*;

use crate::bindings;
use crate::vfio::pci::CoreParams;

/// `emulate`: present the emulated capabilities.
pub(crate) fn emulate() -> bool {
    // SAFETY: The getter only reads a module parameter.
    unsafe { bindings::vpv_param_emulate() }
}

/// `disable_denylist`: bind functions on vfio-pci's denylist too.
pub(crate) fn disable_denylist() -> bool {
    // SAFETY: The getter only reads a module parameter.
    unsafe { bindings::vpv_param_disable_denylist() }
}

/// `nointxmask`, `disable_idle_d3` and `disable_vga`, as vfio-pci latches its own into a
/// device when it is bound.
pub(crate) fn core_params() -> CoreParams {
    // SAFETY: The getters only read module parameters.
    unsafe {
        CoreParams {
            nointxmask: bindings::vpv_param_nointxmask(),
            disable_idle_d3: bindings::vpv_param_disable_idle_d3(),
            disable_vga: bindings::vpv_param_disable_vga(),
        }
    }
}

/// `offsets`: the administrator's offsets given at load.
pub(crate) fn offsets() -> &'static CStr {
    // SAFETY: The parameter is a NUL-terminated buffer in the module's data, read-only
    // (permission 0444) after load, so it lives and stays unchanged as long as the module.
    unsafe { CStr::from_char_ptr(bindings::vpv_param_offsets()) }
}
