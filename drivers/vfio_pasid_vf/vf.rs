// SPDX-License-Identifier: GPL-2.0

//! Which functions the driver takes, and their per-device state.

use kernel::prelude::*;

use crate::vfio_pci_core::{
    Driver,
    PciDev, //
};

/// The variant driver for SR-IOV Virtual Functions.
pub(crate) struct PasidVf;

impl Driver for PasidVf {
    const NAME: &'static CStr = c"vfio-pasid-vf";

    type Data = ();

    /// Takes only SR-IOV VFs: the PASID and PRI capabilities it presents are the PF's.
    fn probe(pdev: &PciDev) -> Result {
        if pdev.is_physfn() {
            dev_err!(
                pdev,
                "refusing an SR-IOV PF (-ENODEV); bind one of its VFs, or vfio-pci for the PF\n"
            );
            return Err(ENODEV);
        }
        if !pdev.is_virtfn() {
            dev_err!(
                pdev,
                "refusing a function that is not an SR-IOV VF (-ENODEV); use vfio-pci\n"
            );
            return Err(ENODEV);
        }
        Ok(())
    }

    fn init_data(_pdev: &PciDev) -> impl PinInit<Self::Data, Error> {
        Ok::<(), Error>(())
    }
}
