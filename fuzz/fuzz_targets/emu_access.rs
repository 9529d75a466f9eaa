// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the emulation core: the input describes a VF (capabilities, hidden ones,
//! registers no capability describes, now or at bind, the end of its chain), the PF's
//! capabilities and
//! where they are asked to go, then a sequence of reads, writes, events and resets.
//! [`Harness`] checks the placement, the chain userspace sees, and every access against
//! a model of the spec.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vfio_pasid_vf_emu::fake::{
    Bytes,
    Harness, //
};

/// Most operations per input.
const MAX_OPS: usize = 256;

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes::new(data);
    let scenario = bytes.scenario();
    let mut harness = match Harness::new(scenario) {
        Ok(harness) => harness,
        Err(failure) => panic!("{failure:?}"),
    };
    for _ in 0..MAX_OPS {
        if bytes.is_empty() {
            break;
        }
        let op = bytes.op();
        if let Err(failure) = harness.apply(op) {
            panic!("{failure:?} after {op:?}");
        }
    }
    if let Err(failure) = harness.check_chain() {
        panic!("{failure:?}");
    }
});
