// SPDX-License-Identifier: GPL-2.0
/*
 * The exports of the PF-provider API (include/linux/vfio_pasid_vf.h).  The
 * functions are Rust (provider.rs), checked there against the declarations
 * of the header; C only because Rust modules cannot export symbols yet.
 */
#include <linux/export.h>
#include <linux/vfio_pasid_vf.h>

EXPORT_SYMBOL_GPL(vpv_pf_provider_register);
EXPORT_SYMBOL_GPL(vpv_pf_provider_unregister);
EXPORT_SYMBOL_GPL(vpv_pf_pasid_changed);
EXPORT_SYMBOL_GPL(vpv_pf_pri_event);
