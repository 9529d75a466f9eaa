// SPDX-License-Identifier: GPL-2.0

//! VFIO: what a variant driver sees of the VFIO device file.
//!
//! C header: [`include/linux/vfio.h`](srctree/include/linux/vfio.h)

use core::ops::Range;

use kernel::{
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

#[path = "vfio/pci.rs"]
pub(crate) mod pci;

/// The userspace buffer of a `read` or `write` of the VFIO device file, or the payload of a
/// `VFIO_DEVICE_FEATURE` ioctl, or a part of one.
///
/// Only this module and [`pci`] create a `UserBuf`, so a driver cannot make one that reaches
/// outside what userspace handed in; it cannot keep one past the callback either, as a
/// `UserBuf` is neither `Send` nor `Sync` (it holds a `UserPtr`) while the state a driver
/// keeps must be both.
///
/// # Invariants
///
/// `ptr` and `len` are the buffer and count that the vfio core passed to the callback, or a
/// part of them. The bytes are userspace memory, only ever accessed through the uaccess
/// helpers.
pub(crate) struct UserBuf {
    ptr: UserPtr,
    len: usize,
}

impl UserBuf {
    /// The buffer of a `read`, `write` or `device_feature` callback, from the callback's own
    /// arguments.
    fn new(ptr: UserPtr, len: usize) -> Self {
        // INVARIANT: The caller ([`pci`]) passes the callback's own arguments.
        Self { ptr, len }
    }

    /// The size of the buffer in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes `range` of this buffer, as a buffer of their own; [`EINVAL`] if `range` is
    /// not inside the buffer.
    pub(crate) fn part(&self, range: Range<usize>) -> Result<UserBuf> {
        if range.start > range.end || range.end > self.len {
            return Err(EINVAL);
        }
        // INVARIANT: `range` is inside this buffer, checked above.
        Ok(Self {
            ptr: self.ptr.wrapping_byte_add(range.start),
            len: range.end - range.start,
        })
    }

    /// Copies the whole buffer into `dst`, which must have its size; [`EFAULT`] if userspace
    /// memory is not readable.
    pub(crate) fn read_all(&self, dst: &mut [u8]) -> Result {
        if dst.len() != self.len {
            return Err(EINVAL);
        }
        UserSlice::new(self.ptr, self.len).reader().read_slice(dst)
    }

    /// Copies `src`, which must have the buffer's size, into the whole buffer; [`EFAULT`] if
    /// userspace memory is not writable.
    pub(crate) fn write_all(&self, src: &[u8]) -> Result {
        if src.len() != self.len {
            return Err(EINVAL);
        }
        UserSlice::new(self.ptr, self.len).writer().write_slice(src)
    }

    /// Calls `f(pos, part)` for each part of the buffer between two multiples of `align`,
    /// in order, where the first byte of the buffer is at position `pos`; stops at the first
    /// error.
    ///
    /// An access of any size and position thus becomes parts of at most `align` bytes that
    /// never straddle an `align`-aligned boundary, such as the registers of a capability.
    pub(crate) fn for_each_aligned(
        &self,
        pos: u64,
        align: usize,
        mut f: impl FnMut(u64, &UserBuf) -> Result,
    ) -> Result {
        let align_u64 = u64::try_from(align)?;
        if align == 0 {
            return Err(EINVAL);
        }
        let mut off = 0;
        while off < self.len {
            let at = pos.checked_add(u64::try_from(off)?).ok_or(EINVAL)?;
            // `at % align` is below `align`, so neither subtraction can underflow.
            let to_boundary = align - usize::try_from(at % align_u64)?;
            let end = off + core::cmp::min(self.len - off, to_boundary);
            f(at, &self.part(off..end)?)?;
            off = end;
        }
        Ok(())
    }
}
