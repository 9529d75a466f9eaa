// SPDX-License-Identifier: GPL-2.0

//! The userspace side of `VFIO_DEVICE_FEATURE_PASID_VF`, the VFIO device feature of an
//! SR-IOV VF bound to the vfio-pasid-vf variant driver: the reference consumer of
//! `include/uapi/linux/vfio_pasid_vf.h`, doing what a VMM does.
//!
//! - The uAPI in Rust, with the C names and the C layout: [`VfioDeviceFeaturePasidVf`]
//!   (GET), [`VfioDeviceFeaturePasidVfSet`] (SET) and their constants.  What they need from
//!   `<linux/vfio.h>` (`struct vfio_device_feature`, `VFIO_DEVICE_FEATURE_*`) comes from the
//!   rust-vmm `vfio-bindings` crate.  `tests/layout.rs` compiles the C headers and checks
//!   every size, offset and constant this crate uses.
//! - Safe wrappers on an open VFIO device fd: [`probe`], [`get`] (decoded into a
//!   [`PasidVfInfo`]), [`set_offsets`], [`set_hide`].
//! - [`device::Vf`]: a VF opened the way a VMM opens it, with the rust-vmm `vfio-ioctls`
//!   crate (as cloud-hypervisor does), through its iommufd cdev or its legacy VFIO group,
//!   and its config space read through VFIO.
//! - [`config`]: the walk of the extended capabilities of that config space, and the
//!   PASID and PRI registers; [`report`]: what the CLI prints of it all, as `lspci -vvv`
//!   does, or as JSON.

use std::fmt;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::BorrowedFd;
use std::os::raw::c_ulong;

use vfio_bindings::bindings::vfio::{
    vfio_device_feature, //
    VFIO_BASE,
    VFIO_DEVICE_FEATURE_GET,
    VFIO_DEVICE_FEATURE_PROBE,
    VFIO_DEVICE_FEATURE_SET,
    VFIO_TYPE,
};
use vmm_sys_util::ioctl::{
    ioctl_expr, //
    ioctl_with_mut_ref,
    _IOC_NONE,
};

pub mod config;
pub mod device;
pub mod report;

// ---------------------------------------------------------------------------------------
// <linux/vfio.h>
// ---------------------------------------------------------------------------------------

/// `VFIO_DEVICE_FEATURE`, `_IO(VFIO_TYPE, VFIO_BASE + 17)`: get, set or probe a device
/// feature (`struct vfio_device_feature` followed by the feature's payload).
///
/// vfio-bindings has the structures and flags but no ioctl numbers (they are C macros),
/// and vfio-ioctls keeps its own private; built here the way vfio-ioctls builds it.
pub const VFIO_DEVICE_FEATURE: c_ulong = ioctl_expr(_IOC_NONE, VFIO_TYPE as u32, VFIO_BASE + 17, 0);

// ---------------------------------------------------------------------------------------
// <linux/vfio_pasid_vf.h>
// ---------------------------------------------------------------------------------------

/// `VFIO_DEVICE_FEATURE_PASID_VF`: the feature index of vfio-pasid-vf (out of tree, near
/// the top of the 16-bit space).
pub const VFIO_DEVICE_FEATURE_PASID_VF: u32 = 0xf050;

/// `VFIO_PASID_VF_PASID`: the PF has a PASID capability; the `pasid_*` fields are valid.
pub const VFIO_PASID_VF_PASID: u32 = 1 << 0;
/// `VFIO_PASID_VF_PRI`: the PF has a PRI capability; the `pri_*` fields are valid.
pub const VFIO_PASID_VF_PRI: u32 = 1 << 1;
/// `VFIO_PASID_VF_HIDDEN`: a SET hid the emulated capabilities (both offsets are 0).
pub const VFIO_PASID_VF_HIDDEN: u32 = 1 << 2;

/// `VFIO_PASID_VF_PF_PASID_NOT_HELD`: this open is no PASID user of the PF.
pub const VFIO_PASID_VF_PF_PASID_NOT_HELD: u16 = 0;
/// `VFIO_PASID_VF_PF_PASID_HELD`: it is, and the PF's PASID is enabled.
pub const VFIO_PASID_VF_PF_PASID_HELD: u16 = 1;
/// `VFIO_PASID_VF_PF_PASID_LOST`: it is, but the PF's PASID went off.
pub const VFIO_PASID_VF_PF_PASID_LOST: u16 = 2;

/// `VFIO_PASID_VF_SET_OFFSETS`: place the emulated capabilities at
/// [`VfioDeviceFeaturePasidVfSet::pasid_offset`] and `pri_offset` (0: where the driver
/// chooses).
pub const VFIO_PASID_VF_SET_OFFSETS: u32 = 1 << 0;
/// `VFIO_PASID_VF_SET_HIDE`: present no emulated capability.
pub const VFIO_PASID_VF_SET_HIDE: u32 = 1 << 1;

/// `struct vfio_device_feature_pasid_vf`: the payload of GET.
///
/// The kernel writes `min(its size, the payload's size)` bytes and says how many in
/// [`size`](Self::size); a field beyond it is not there.  Registers are raw, as the PCIe
/// spec lays them out, read from the PF at the GET, in host byte order.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VfioDeviceFeaturePasidVf {
    /// Bytes of this struct the kernel wrote.
    pub size: u32,
    /// `VFIO_PASID_VF_*`: which fields are valid.
    pub flags: u32,
    /// PF's PASID capability version (header bits 19:16).
    pub pasid_version: u8,
    /// PF's PRI capability version.
    pub pri_version: u8,
    /// `VFIO_PASID_VF_PF_PASID_*`.
    pub pf_pasid: u16,
    /// PF's PASID Capability register, raw.
    pub pasid_cap: u16,
    /// Bits of `pasid_cap` this driver understands.
    pub pasid_cap_known: u16,
    /// PF's PASID Control register, raw.
    pub pasid_ctrl: u16,
    /// Emulated PASID capability in the VF; 0: not presented.
    pub pasid_offset: u16,
    /// Its Capability register, as the VF's user reads it.
    pub pasid_cap_presented: u16,
    /// PF's Page Request Status register, raw.
    pub pri_status: u16,
    /// Bits of `pri_status` this driver understands.
    pub pri_status_known: u16,
    /// Emulated PRI capability in the VF; 0: not presented.
    pub pri_offset: u16,
    /// PF's Outstanding Page Request Capacity.
    pub pri_capacity: u32,
}

/// `struct vfio_device_feature_pasid_vf_set`: the payload of SET.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VfioDeviceFeaturePasidVfSet {
    /// `VFIO_PASID_VF_SET_*`: exactly one.
    pub flags: u32,
    /// With `VFIO_PASID_VF_SET_OFFSETS`: where the emulated PASID capability goes.
    pub pasid_offset: u16,
    /// With `VFIO_PASID_VF_SET_OFFSETS`: where the emulated PRI capability goes.
    pub pri_offset: u16,
    /// Must be 0.
    pub reserved: u32,
}

// ---------------------------------------------------------------------------------------
// VFIO_DEVICE_FEATURE
// ---------------------------------------------------------------------------------------

/// The `u32` size of a uAPI struct, for its `argsz` or `size` field.
const fn size32<T>() -> u32 {
    let size = size_of::<T>();
    assert!(size <= u32::MAX as usize);
    size as u32
}

/// A payload of `VFIO_DEVICE_FEATURE_PASID_VF`.
///
/// # Safety
///
/// The type is `#[repr(C)]` (or `()`), and every bit pattern is a valid value of it.
unsafe trait Payload: Copy {}

// SAFETY: `()` has no bytes.
unsafe impl Payload for () {}
// SAFETY: `#[repr(C)]`, integer fields only: every bit pattern is valid.
unsafe impl Payload for VfioDeviceFeaturePasidVf {}
// SAFETY: `#[repr(C)]`, integer fields only: every bit pattern is valid.
unsafe impl Payload for VfioDeviceFeaturePasidVfSet {}

/// The argument of `VFIO_DEVICE_FEATURE`: vfio-bindings' header, then the payload where
/// its flexible array `data[]` starts.
#[repr(C)]
struct FeatureArg<T> {
    hdr: vfio_device_feature,
    data: T,
}

const _: () = {
    // The payloads sit exactly where the C struct's `data[]` starts.
    assert!(offset_of!(vfio_device_feature, data) == size_of::<vfio_device_feature>());
    assert!(
        offset_of!(FeatureArg<VfioDeviceFeaturePasidVf>, data) == size_of::<vfio_device_feature>()
    );
    assert!(
        offset_of!(FeatureArg<VfioDeviceFeaturePasidVfSet>, data)
            == size_of::<vfio_device_feature>()
    );
    assert!(size_of::<FeatureArg<()>>() == size_of::<vfio_device_feature>());
};

/// `VFIO_DEVICE_FEATURE` with `VFIO_DEVICE_FEATURE_PASID_VF | flags` and `data` as the
/// payload, on the VFIO device `fd`; returns the payload as the kernel left it.
///
/// vfio-ioctls issues `VFIO_DEVICE_FEATURE` only inside its wrappers of the upstream
/// features (migration, DMA logging, dma-buf), with their payload types and its
/// `VfioError::VfioDeviceFeature`; it has no generic entry point for a feature it does not
/// know.  So this one ioctl is issued here, on the fd of its `VfioDevice`, with the
/// argument laid out and sized as the kernel checks it.
fn feature<T: Payload>(fd: BorrowedFd<'_>, flags: u32, data: T) -> io::Result<T> {
    let mut arg = FeatureArg {
        hdr: vfio_device_feature {
            argsz: size32::<FeatureArg<T>>(),
            flags: VFIO_DEVICE_FEATURE_PASID_VF | flags,
            ..Default::default()
        },
        data,
    };
    // SAFETY: `fd` is borrowed, so it stays open for the whole call.  `arg` is an exclusive
    // borrow, valid for reads and writes of `size_of::<FeatureArg<T>>()` bytes during the
    // call, and the kernel accesses no byte outside it:
    // - on a VFIO device fd, vfio_ioctl_device_feature() reads the 8-byte header, checks
    //   `argsz` (the size of `FeatureArg<T>`) and hands the driver a payload of
    //   `argsz - 8` bytes, which `FeatureArg<T>` lays out at `data[]` (checked above); the
    //   driver reads or writes at most that (vfio_check_feature(), and GET's `size`);
    // - `VFIO_DEVICE_FEATURE` is `_IO(';', 117)`, in the range that
    //   Documentation/userspace-api/ioctl/ioctl-number.rst reserves for VFIO.  On another
    //   VFIO fd the number is unknown (ENOTTY) or, for VFIO_BASE + 17 on a type1 container
    //   (VFIO_IOMMU_DIRTY_PAGES), refused for flags outside its mask (EINVAL) before
    //   anything is written; a file of any other kind does not own the number and refuses
    //   it (ENOTTY).
    // Whatever the kernel writes is a valid `FeatureArg<T>`: the header is integers (and a
    // zero-sized `data`), and `T: Payload`.
    let ret = unsafe { ioctl_with_mut_ref(&fd, VFIO_DEVICE_FEATURE, &mut arg) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(arg.data)
}

/// PROBE with `op` (`VFIO_DEVICE_FEATURE_GET` or `VFIO_DEVICE_FEATURE_SET`, or both): `Ok`
/// if the device supports `VFIO_DEVICE_FEATURE_PASID_VF` with it.
///
/// Fails with `ENOTTY` on a device of any other driver (or an older vfio-pasid-vf); see
/// [`unsupported`].
pub fn probe(fd: BorrowedFd<'_>, op: u32) -> io::Result<()> {
    feature(fd, VFIO_DEVICE_FEATURE_PROBE | op, ())
}

/// Whether a failed [`probe`] means "not supported" rather than a failure to ask:
/// `ENOTTY` (no driver of the feature: `vfio_pci_core_ioctl_feature()`), `EOPNOTSUPP`, or
/// `EINVAL` (the feature's driver, without that operation: `vfio_check_feature()`).
pub fn unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOTTY | libc::EOPNOTSUPP | libc::EINVAL)
    )
}

/// GET, with a payload of `size_of::<VfioDeviceFeaturePasidVf>()` bytes, decoded.
///
/// Fails with the ioctl's error, or with [`io::ErrorKind::InvalidData`] if the kernel's
/// `size` breaks the contract (see [`PasidVfInfo::decode`]).
pub fn get(fd: BorrowedFd<'_>) -> io::Result<PasidVfInfo> {
    let raw = feature(
        fd,
        VFIO_DEVICE_FEATURE_GET,
        VfioDeviceFeaturePasidVf::default(),
    )?;
    PasidVfInfo::decode(raw)
}

/// SET with a raw payload, as given.
pub fn set(fd: BorrowedFd<'_>, set: VfioDeviceFeaturePasidVfSet) -> io::Result<()> {
    feature(fd, VFIO_DEVICE_FEATURE_SET, set).map(|_| ())
}

/// SET `VFIO_PASID_VF_SET_OFFSETS`: place the emulated PASID and PRI capabilities at these
/// config-space offsets (0: where the driver chooses), for this open.
///
/// `EINVAL`: an offset for a capability the open does not present, or not dword aligned
/// in 0x100..0xffc.  `ENOSPC`: an offset cannot hold the capability (nothing changes).
/// `EBUSY`: the user already wrote an emulated byte in this open.
pub fn set_offsets(fd: BorrowedFd<'_>, pasid_offset: u16, pri_offset: u16) -> io::Result<()> {
    set(
        fd,
        VfioDeviceFeaturePasidVfSet {
            flags: VFIO_PASID_VF_SET_OFFSETS,
            pasid_offset,
            pri_offset,
            reserved: 0,
        },
    )
}

/// SET `VFIO_PASID_VF_SET_HIDE`: present no emulated capability in this open (the VF's
/// config space becomes what vfio-pci shows); the open stays a PASID user of its PF.
///
/// `EBUSY`: the user already wrote an emulated byte in this open.
pub fn set_hide(fd: BorrowedFd<'_>) -> io::Result<()> {
    set(
        fd,
        VfioDeviceFeaturePasidVfSet {
            flags: VFIO_PASID_VF_SET_HIDE,
            ..Default::default()
        },
    )
}

// ---------------------------------------------------------------------------------------
// Decoding GET
// ---------------------------------------------------------------------------------------

/// The end (offset + size) of a field of [`VfioDeviceFeaturePasidVf`].
macro_rules! end_of {
    ($field:ident) => {{
        const fn field_size<F>(_: fn(&VfioDeviceFeaturePasidVf) -> &F) -> usize {
            size_of::<F>()
        }
        offset_of!(VfioDeviceFeaturePasidVf, $field) + field_size(|s| &s.$field)
    }};
}

/// The largest of `ends`.
const fn max_end(ends: &[usize]) -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < ends.len() {
        if ends[i] > max {
            max = ends[i];
        }
        i += 1;
    }
    max
}

/// Bytes a GET must have written for `size` and `flags` to be there.
pub const PASID_VF_MIN_SIZE: usize = max_end(&[end_of!(size), end_of!(flags)]);
/// Bytes a GET must have written for `pf_pasid` to be there.
const PF_PASID_END: usize = end_of!(pf_pasid);
/// Bytes a GET must have written for every `pasid_*` field to be there.
const PASID_END: usize = max_end(&[
    end_of!(pasid_version),
    end_of!(pasid_cap),
    end_of!(pasid_cap_known),
    end_of!(pasid_ctrl),
    end_of!(pasid_offset),
    end_of!(pasid_cap_presented),
]);
/// Bytes a GET must have written for every `pri_*` field to be there.
const PRI_END: usize = max_end(&[
    end_of!(pri_version),
    end_of!(pri_status),
    end_of!(pri_status_known),
    end_of!(pri_offset),
    end_of!(pri_capacity),
]);

/// Whether the VF's open holds its PF's PASID (`pf_pasid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PfPasid {
    /// `VFIO_PASID_VF_PF_PASID_NOT_HELD`: this open is no PASID user of the PF.
    NotHeld,
    /// `VFIO_PASID_VF_PF_PASID_HELD`: it is, and the PF's PASID is enabled.
    Held,
    /// `VFIO_PASID_VF_PF_PASID_LOST`: it is, but the PF's PASID went off.
    Lost,
    /// A value this crate does not know (a later kernel).
    Unknown(u16),
}

impl PfPasid {
    /// Decodes a `pf_pasid` value.
    pub fn from_raw(raw: u16) -> Self {
        match raw {
            VFIO_PASID_VF_PF_PASID_NOT_HELD => Self::NotHeld,
            VFIO_PASID_VF_PF_PASID_HELD => Self::Held,
            VFIO_PASID_VF_PF_PASID_LOST => Self::Lost,
            other => Self::Unknown(other),
        }
    }
}

impl fmt::Display for PfPasid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotHeld => f.write_str("not held"),
            Self::Held => f.write_str("held"),
            Self::Lost => f.write_str("lost"),
            Self::Unknown(v) => write!(f, "unknown {:#x}", v),
        }
    }
}

/// The PF's PASID capability and the VF's emulated one (`pasid_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasidInfo {
    /// `pasid_version`: the PF's PASID capability version.
    pub version: u8,
    /// `pasid_cap`: the PF's PASID Capability register, raw.
    pub cap: u16,
    /// `pasid_cap_known`: the bits of `cap` the driver understands.
    pub cap_known: u16,
    /// `pasid_ctrl`: the PF's PASID Control register, raw.
    pub ctrl: u16,
    /// `pasid_offset`: where the emulated PASID capability is in the VF; `None` (0): not
    /// presented.
    pub offset: Option<u16>,
    /// `pasid_cap_presented`: the emulated Capability register, as the VF's user reads it.
    pub cap_presented: u16,
}

/// The PF's PRI capability and the VF's emulated one (`pri_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriInfo {
    /// `pri_version`: the PF's PRI capability version.
    pub version: u8,
    /// `pri_status`: the PF's Page Request Status register, raw.
    pub status: u16,
    /// `pri_status_known`: the bits of `status` the driver understands.
    pub status_known: u16,
    /// `pri_offset`: where the emulated PRI capability is in the VF; `None` (0): not
    /// presented.
    pub offset: Option<u16>,
    /// `pri_capacity`: the PF's Outstanding Page Request Capacity.
    pub capacity: u32,
}

/// A GET, decoded: each part is there when the flags say it is valid and the kernel wrote
/// all of its fields (`size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasidVfInfo {
    /// The payload as the kernel left it (bytes beyond `raw.size` are 0).
    pub raw: VfioDeviceFeaturePasidVf,
    /// `VFIO_PASID_VF_PASID` and every `pasid_*` field within `size`.
    pub pasid: Option<PasidInfo>,
    /// `VFIO_PASID_VF_PRI` and every `pri_*` field within `size`.
    pub pri: Option<PriInfo>,
    /// `VFIO_PASID_VF_HIDDEN`: a SET hid the emulated capabilities.
    pub hidden: bool,
    /// `pf_pasid`, if within `size`.
    pub pf_pasid: Option<PfPasid>,
}

/// `Some(offset)` unless it is 0 (not presented).
fn presented(offset: u16) -> Option<u16> {
    (offset != 0).then_some(offset)
}

impl PasidVfInfo {
    /// Decodes a GET payload.
    ///
    /// Fails with [`io::ErrorKind::InvalidData`] if `raw.size` does not cover `size` and
    /// `flags`, or exceeds the payload (the kernel writes at most the payload's size).
    pub fn decode(raw: VfioDeviceFeaturePasidVf) -> io::Result<Self> {
        let size = usize::try_from(raw.size).unwrap_or(usize::MAX);
        if size < PASID_VF_MIN_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "GET returned size {}, less than the {} bytes of size and flags",
                    raw.size, PASID_VF_MIN_SIZE
                ),
            ));
        }
        if size > size_of::<VfioDeviceFeaturePasidVf>() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "GET returned size {}, more than the {} bytes of the payload",
                    raw.size,
                    size_of::<VfioDeviceFeaturePasidVf>()
                ),
            ));
        }
        let pasid =
            (raw.flags & VFIO_PASID_VF_PASID != 0 && size >= PASID_END).then(|| PasidInfo {
                version: raw.pasid_version,
                cap: raw.pasid_cap,
                cap_known: raw.pasid_cap_known,
                ctrl: raw.pasid_ctrl,
                offset: presented(raw.pasid_offset),
                cap_presented: raw.pasid_cap_presented,
            });
        let pri = (raw.flags & VFIO_PASID_VF_PRI != 0 && size >= PRI_END).then(|| PriInfo {
            version: raw.pri_version,
            status: raw.pri_status,
            status_known: raw.pri_status_known,
            offset: presented(raw.pri_offset),
            capacity: raw.pri_capacity,
        });
        Ok(Self {
            raw,
            pasid,
            pri,
            hidden: raw.flags & VFIO_PASID_VF_HIDDEN != 0,
            pf_pasid: (size >= PF_PASID_END).then(|| PfPasid::from_raw(raw.pf_pasid)),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// The symbolic name of an errno value (`EINVAL`), if it is one of Linux's.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    const NAMES: &[(i32, &str)] = &[
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::ESRCH, "ESRCH"),
        (libc::EINTR, "EINTR"),
        (libc::EIO, "EIO"),
        (libc::ENXIO, "ENXIO"),
        (libc::E2BIG, "E2BIG"),
        (libc::EBADF, "EBADF"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EACCES, "EACCES"),
        (libc::EFAULT, "EFAULT"),
        (libc::EBUSY, "EBUSY"),
        (libc::EEXIST, "EEXIST"),
        (libc::EXDEV, "EXDEV"),
        (libc::ENODEV, "ENODEV"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENFILE, "ENFILE"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENOTTY, "ENOTTY"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EROFS, "EROFS"),
        (libc::ERANGE, "ERANGE"),
        (libc::EDEADLK, "EDEADLK"),
        (libc::ENOSYS, "ENOSYS"),
        (libc::ENODATA, "ENODATA"),
        (libc::EPROTO, "EPROTO"),
        (libc::EOVERFLOW, "EOVERFLOW"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EADDRINUSE, "EADDRINUSE"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
        (libc::EALREADY, "EALREADY"),
        (libc::EINPROGRESS, "EINPROGRESS"),
        (libc::ENOLINK, "ENOLINK"),
        (libc::ENOMEDIUM, "ENOMEDIUM"),
        (libc::ECANCELED, "ECANCELED"),
        (libc::EOWNERDEAD, "EOWNERDEAD"),
        (libc::ENOTRECOVERABLE, "ENOTRECOVERABLE"),
    ];
    NAMES
        .iter()
        .find(|&&(n, _)| n == errno)
        .map(|&(_, name)| name)
}

/// An error with what failed: "`what`: ENAME (message)[: hint]".
#[derive(Debug)]
pub struct Error {
    /// What failed, e.g. "opening /dev/vfio/devices/vfio0".
    pub what: String,
    /// Why.
    pub source: io::Error,
    /// What the error likely means here, if known.
    pub hint: Option<String>,
}

impl Error {
    /// An error of `what`, because of `source`.
    pub fn new(what: impl Into<String>, source: io::Error) -> Self {
        Self {
            what: what.into(),
            source,
            hint: None,
        }
    }

    /// The same error, with `hint` (if any) appended to its message.
    pub fn with_hint(self, hint: Option<impl Into<String>>) -> Self {
        Self {
            hint: hint.map(Into::into),
            ..self
        }
    }

    /// The errno of the failure, if it was a system call's.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno() {
            Some(errno) => {
                // The system's message, without the " (os error N)" that io::Error appends.
                let msg = self.source.to_string();
                let suffix = format!(" (os error {errno})");
                let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
                match errno_name(errno) {
                    Some(name) => write!(f, "{}: {} ({})", self.what, name, msg)?,
                    None => write!(f, "{}: errno {} ({})", self.what, errno, msg)?,
                }
            }
            None => write!(f, "{}: {}", self.what, self.source)?,
        }
        match &self.hint {
            Some(hint) => write!(f, ": {}", hint),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload as a v1 kernel writes it, with both capabilities.
    fn full() -> VfioDeviceFeaturePasidVf {
        VfioDeviceFeaturePasidVf {
            size: size32::<VfioDeviceFeaturePasidVf>(),
            flags: VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI,
            pasid_version: 1,
            pri_version: 1,
            pf_pasid: VFIO_PASID_VF_PF_PASID_HELD,
            pasid_cap: 0x1404,
            pasid_cap_known: 0x1f06,
            pasid_ctrl: 0x0001,
            pasid_offset: 0x100,
            pasid_cap_presented: 0x1404,
            pri_status: 0x8100,
            pri_status_known: 0x8103,
            pri_offset: 0x110,
            pri_capacity: 0x20,
        }
    }

    #[test]
    fn ioctl_numbers() {
        // The value of _IO(';', 117) that strace prints for the call.
        assert_eq!(VFIO_DEVICE_FEATURE, 0x3b75);
        assert_eq!(
            VFIO_DEVICE_FEATURE_PASID_VF & !vfio_bindings::bindings::vfio::VFIO_DEVICE_FEATURE_MASK,
            0
        );
    }

    #[test]
    fn group_ends() {
        assert_eq!(PASID_VF_MIN_SIZE, 8);
        assert_eq!(PF_PASID_END, 12);
        assert_eq!(PASID_END, 22);
        assert_eq!(PRI_END, 32);
        assert_eq!(size_of::<VfioDeviceFeaturePasidVf>(), 32);
    }

    #[test]
    fn decode_full() {
        let info = PasidVfInfo::decode(full()).unwrap();
        assert_eq!(
            info.pasid,
            Some(PasidInfo {
                version: 1,
                cap: 0x1404,
                cap_known: 0x1f06,
                ctrl: 0x0001,
                offset: Some(0x100),
                cap_presented: 0x1404,
            })
        );
        assert_eq!(
            info.pri,
            Some(PriInfo {
                version: 1,
                status: 0x8100,
                status_known: 0x8103,
                offset: Some(0x110),
                capacity: 0x20,
            })
        );
        assert!(!info.hidden);
        assert_eq!(info.pf_pasid, Some(PfPasid::Held));
        assert_eq!(info.raw, full());
    }

    #[test]
    fn flags_select_the_parts() {
        for flags in 0..8 {
            let raw = VfioDeviceFeaturePasidVf { flags, ..full() };
            let info = PasidVfInfo::decode(raw).unwrap();
            assert_eq!(
                info.pasid.is_some(),
                flags & VFIO_PASID_VF_PASID != 0,
                "{flags:#x}"
            );
            assert_eq!(
                info.pri.is_some(),
                flags & VFIO_PASID_VF_PRI != 0,
                "{flags:#x}"
            );
            assert_eq!(info.hidden, flags & VFIO_PASID_VF_HIDDEN != 0, "{flags:#x}");
            // pf_pasid is not behind a flag.
            assert_eq!(info.pf_pasid, Some(PfPasid::Held));
        }
        // Unknown flags are kept in raw and ignored.
        let info = PasidVfInfo::decode(VfioDeviceFeaturePasidVf {
            flags: 0x80,
            ..full()
        })
        .unwrap();
        assert_eq!((info.pasid, info.pri, info.hidden), (None, None, false));
        assert_eq!(info.raw.flags, 0x80);
    }

    #[test]
    fn hidden_offsets_are_not_presented() {
        let raw = VfioDeviceFeaturePasidVf {
            flags: VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI | VFIO_PASID_VF_HIDDEN,
            pasid_offset: 0,
            pri_offset: 0,
            ..full()
        };
        let info = PasidVfInfo::decode(raw).unwrap();
        assert!(info.hidden);
        assert_eq!(info.pasid.unwrap().offset, None);
        assert_eq!(info.pri.unwrap().offset, None);
    }

    #[test]
    fn short_size_drops_the_fields_beyond_it() {
        let at = |size: usize| {
            PasidVfInfo::decode(VfioDeviceFeaturePasidVf {
                size: u32::try_from(size).unwrap(),
                ..full()
            })
            .unwrap()
        };
        // Every size from the minimum to the whole struct: a part is there exactly when
        // all of its fields are.
        for size in PASID_VF_MIN_SIZE..=size_of::<VfioDeviceFeaturePasidVf>() {
            let info = at(size);
            assert_eq!(info.pf_pasid.is_some(), size >= 12, "size {size}");
            assert_eq!(info.pasid.is_some(), size >= 22, "size {size}");
            assert_eq!(info.pri.is_some(), size >= 32, "size {size}");
            // The flags are always there.
            assert_eq!(info.raw.flags, VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI);
        }
        // One byte short of pri_capacity: PRI is absent, PASID still there.
        let info = at(31);
        assert!(info.pri.is_none() && info.pasid.is_some());
    }

    #[test]
    fn bad_sizes_are_refused() {
        for size in [0, 4, 7, 33, 64, u32::MAX] {
            let err = PasidVfInfo::decode(VfioDeviceFeaturePasidVf { size, ..full() }).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "size {size}");
            assert!(err.to_string().contains(&format!("size {size}")), "{err}");
        }
    }

    #[test]
    fn pf_pasid_states() {
        assert_eq!(PfPasid::from_raw(0), PfPasid::NotHeld);
        assert_eq!(PfPasid::from_raw(1), PfPasid::Held);
        assert_eq!(PfPasid::from_raw(2), PfPasid::Lost);
        assert_eq!(PfPasid::from_raw(7), PfPasid::Unknown(7));
        assert_eq!(PfPasid::NotHeld.to_string(), "not held");
        assert_eq!(PfPasid::Held.to_string(), "held");
        assert_eq!(PfPasid::Lost.to_string(), "lost");
        assert_eq!(PfPasid::Unknown(7).to_string(), "unknown 0x7");
    }

    #[test]
    fn errors_name_the_errno() {
        assert_eq!(errno_name(libc::ENOTTY), Some("ENOTTY"));
        assert_eq!(errno_name(libc::ENOSPC), Some("ENOSPC"));
        assert_eq!(errno_name(4095), None);
        let e = Error::new(
            "VFIO_DEVICE_FEATURE GET",
            io::Error::from_raw_os_error(libc::EINVAL),
        );
        assert_eq!(
            e.to_string(),
            "VFIO_DEVICE_FEATURE GET: EINVAL (Invalid argument)"
        );
        let e = Error::new("x", io::Error::from_raw_os_error(4095));
        assert!(e.to_string().starts_with("x: errno 4095 ("), "{e}");
        let e = Error::new("x", io::Error::from_raw_os_error(libc::EBUSY)).with_hint(Some("why"));
        assert_eq!(e.to_string(), "x: EBUSY (Device or resource busy): why");
        let e = Error::new("x", io::Error::other("bad")).with_hint(None::<String>);
        assert_eq!(e.to_string(), "x: bad");
    }

    #[test]
    fn feature_on_a_file_that_is_no_vfio_device() {
        // The wrappers are safe on any fd: another file refuses the request.
        let f = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsFd;
        let err = get(f.as_fd()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
        for op in [VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_SET] {
            let err = probe(f.as_fd(), op).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
            assert!(unsupported(&err));
        }
        assert!(!unsupported(&io::Error::from_raw_os_error(libc::EBADF)));
        assert!(!unsupported(&io::Error::other("no errno")));
    }
}
