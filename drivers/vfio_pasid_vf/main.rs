// SPDX-License-Identifier: GPL-2.0

//! vfio-pasid-vf: a vfio-pci variant driver for SR-IOV Virtual Functions.
//!
//! A VF cannot carry PASID or PRI extended capabilities (PCIe r6.0, sec. 9.3.7.14 and
//! 9.3.7.11: they are shared with the PF), so a VM that gets a VF through VFIO cannot see
//! that PASID and PRI work for it. This driver binds to VFs through `driver_override` and
//! otherwise behaves exactly like vfio-pci.
//!
//! Layout, one file per concern:
//! - [`vf`]: which functions the driver takes, and what an open presents (the VF policy);
//! - [`config`]: the config-space accesses of userspace, split between the emulation and
//!   vfio-pci;
//! - [`feature`]: `VFIO_DEVICE_FEATURE_PASID_VF`, what is behind the emulated capabilities,
//!   for a VMM (`include/uapi/linux/vfio_pasid_vf.h`);
//! - [`attrs`]: the sysfs attributes (declared in `sysfs.c`);
//! - [`pf`]: the open VFs of each PF, its PASID users among them, and its provider;
//! - [`provider`]: the PF-provider API exported to PF drivers
//!   (`include/linux/vfio_pasid_vf.h`, exported by `provider.c`);
//! - [`offsets`]: the administrator's offsets, kept by the driver for VFs not bound yet;
//! - [`params`]: the module parameters (declared in `params.c`);
//! - [`emu`]: the emulation core (register models, chain walk, placement, access merging),
//!   free of kernel types so that the host builds it too, for `cargo test` and fuzzing.
//!
//! In `rust/`, the safe layer over C, written as kernel crate modules would be:
//! - [`vfio`]: the VFIO device file's user buffers; [`vfio::pci`]: the vfio hooks of a
//!   variant driver (`Operations`) and the device; [`vfio::pci::driver`]: its `pci_driver`;
//! - [`pci_ext`] (`pci.rs`): what the kernel crate's `pci::Device` lacks (SR-IOV, PF config
//!   reads, PASID/PRI state);
//! - [`sysfs`]: the buffers and groups of sysfs attributes;
//! - `bindings.rs`: bindings generated at build time from the kernel tree.

use kernel::{
    prelude::*,
    InPlaceModule, //
};

mod attrs;
#[path = "../../rust/bindings.rs"]
mod bindings;
mod config;
// The emulation core is also a host library (`cargo test`, fuzzing): its API is `pub`, and
// the host tests use parts of it that the driver does not.
#[allow(dead_code, unreachable_pub)]
mod emu;
mod feature;
mod offsets;
mod params;
#[path = "../../rust/pci.rs"]
mod pci_ext;
mod pf;
mod provider;
#[path = "../../rust/sysfs.rs"]
mod sysfs;
mod vf;
#[path = "../../rust/vfio.rs"]
mod vfio;

module! {
    type: VfioPasidVf,
    name: "vfio_pasid_vf",
    authors: ["The vfio-pasid-vf developers"],
    description: "vfio-pci variant driver that presents PASID and PRI to SR-IOV VFs",
    license: "GPL",
}

#[pin_data(PinnedDrop)]
struct VfioPasidVf {
    #[pin]
    _driver: vfio::pci::driver::Registration<vf::PasidVf>,
}

#[pinned_drop]
impl PinnedDrop for VfioPasidVf {
    fn drop(self: Pin<&mut Self>) {
        pf::exit();
    }
}

impl InPlaceModule for VfioPasidVf {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: The module initializer runs once, and the table is initialised here,
        // before the driver that uses it is registered below.
        let table = unsafe { offsets::init(params::offsets()) };
        // SAFETY: As above.
        unsafe { pf::init() };
        try_pin_init!(Self {
            _driver <- {
                table?;
                vfio::pci::driver::Registration::new(c"vfio-pasid-vf", module)
            },
        })
    }
}
