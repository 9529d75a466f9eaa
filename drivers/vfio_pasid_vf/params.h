/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Module parameters of vfio-pasid-vf, declared in C (params.c) and read from
 * Rust through these getters.
 */
#ifndef VPV_PARAMS_H
#define VPV_PARAMS_H

#include <linux/types.h>

bool vpv_param_emulate(void);
bool vpv_param_disable_denylist(void);
bool vpv_param_nointxmask(void);
bool vpv_param_disable_idle_d3(void);
bool vpv_param_disable_vga(void);
/* The "offsets" parameter as given at load: a NUL-terminated string. */
const char *vpv_param_offsets(void);

#endif /* VPV_PARAMS_H */
