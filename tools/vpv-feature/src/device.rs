// SPDX-License-Identifier: GPL-2.0

//! A VF opened as a VMM opens it, with the rust-vmm `vfio-ioctls` crate (what
//! cloud-hypervisor uses), and its config space read through VFIO.
//!
//! Two ways, as a VMM has:
//! - [`OpenMode::Iommufd`]: `/dev/iommu` ([`IommuFd`]), an IOAS ([`VfioIommufd`]), the VF's
//!   cdev `/dev/vfio/devices/vfioN` (named by `/sys/bus/pci/devices/<BDF>/vfio-dev/vfioN`),
//!   bound to the iommufd (`VFIO_DEVICE_BIND_IOMMUFD`: this opens the device, the driver's
//!   `open_device`) and attached to the IOAS;
//! - [`OpenMode::Group`]: the legacy container `/dev/vfio/vfio` ([`VfioContainer`], type1v2)
//!   and the VF's group `/dev/vfio/<iommu_group>`, then `VFIO_GROUP_GET_DEVICE_FD`.
//!
//! vfio-ioctls does every ioctl of the open, the region info included.  What it does not
//! do is said where it is done here: finding and opening the cdev (for the error and the
//! path to print), `VFIO_DEVICE_FEATURE` of a feature it does not know ([`crate::get`] and
//! the others), and reading config space with every error reported ([`Vf::read_config`]).
//!
//! Dropping the [`Vf`] closes the device (which unbinds it from the iommufd, or releases
//! the group from the container), then the iommufd or the container.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::{error, fmt};

use iommufd_ioctls::{IommuFd, IommufdError};
use vfio_bindings::bindings::vfio::{
    VFIO_PCI_CONFIG_REGION_INDEX, //
    VFIO_REGION_INFO_FLAG_READ,
};
use vfio_ioctls::{VfioContainer, VfioDevice, VfioError, VfioIommufd};

use crate::config::{PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE};
use crate::Error;

/// The sysfs directory of PCI devices.
pub const SYSFS_PCI_DEVICES: &str = "/sys/bus/pci/devices";
/// The directory of VFIO device cdevs.
pub const DEV_VFIO_DEVICES: &str = "/dev/vfio/devices";
/// The iommufd character device.
pub const DEV_IOMMU: &str = "/dev/iommu";
/// The legacy VFIO container.
pub const DEV_VFIO_VFIO: &str = "/dev/vfio/vfio";

/// The canonical form (`dddd:bb:dd.f`, lower case) of a PCI address given as
/// `dddd:bb:dd.f` or `bb:dd.f` (domain 0); `None` if it is not one.
pub fn parse_bdf(s: &str) -> Option<String> {
    let hex = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let (domain, rest) = match s.matches(':').count() {
        1 => ("0000", s),
        2 => s.split_once(':')?,
        _ => return None,
    };
    let (bus, rest) = rest.split_once(':')?;
    let (dev, func) = rest.split_once('.')?;
    // Domains above 0xffff exist (VMD); slots are 5 bits, functions 3 (no ARI forms).
    let ok = hex(domain, 4, 8)
        && hex(bus, 2, 2)
        && hex(dev, 2, 2)
        && u8::from_str_radix(dev, 16).ok()? < 32
        && func.len() == 1
        && matches!(func.as_bytes()[0], b'0'..=b'7');
    ok.then(|| format!("{domain}:{bus}:{dev}.{func}").to_ascii_lowercase())
}

/// The sysfs directory of the PCI device `bdf`.
pub fn sysfs_dir(bdf: &str) -> PathBuf {
    Path::new(SYSFS_PCI_DEVICES).join(bdf)
}

/// The name of the driver `bdf` is bound to, if any.
pub fn driver_name(bdf: &str) -> Option<String> {
    let link = fs::read_link(sysfs_dir(bdf).join("driver")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// Fails with a hint if there is no PCI device `bdf`.
fn check_exists(bdf: &str) -> Result<PathBuf, Error> {
    let dir = sysfs_dir(bdf);
    fs::metadata(&dir).map_err(|e| {
        Error::new(dir.display().to_string(), e).with_hint(Some("no such PCI device"))
    })?;
    Ok(dir)
}

/// The VFIO cdev of `bdf`, `/dev/vfio/devices/vfioN`, from
/// `/sys/bus/pci/devices/<bdf>/vfio-dev/vfioN`.
pub fn cdev_path(bdf: &str) -> Result<PathBuf, Error> {
    let vfio_dev = check_exists(bdf)?.join("vfio-dev");
    let entries = fs::read_dir(&vfio_dev).map_err(|e| {
        let driver = driver_name(bdf).unwrap_or_else(|| "none".to_owned());
        Error::new(vfio_dev.display().to_string(), e).with_hint(Some(format!(
            "no VFIO device cdev (driver: {driver}); bind the VF to vfio-pasid-vf, on a kernel with CONFIG_VFIO_DEVICE_CDEV, or open it with --group"
        )))
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::new(format!("reading {}", vfio_dev.display()), e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name
            .strip_prefix("vfio")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            return Ok(Path::new(DEV_VFIO_DEVICES).join(&*name));
        }
    }
    Err(Error::new(
        format!("{}: no vfioN entry", vfio_dev.display()),
        io::Error::from_raw_os_error(libc::ENOENT),
    ))
}

/// The IOMMU group of `bdf`, from `/sys/bus/pci/devices/<bdf>/iommu_group`.
pub fn iommu_group(bdf: &str) -> Result<u32, Error> {
    let link = check_exists(bdf)?.join("iommu_group");
    let target = fs::read_link(&link).map_err(|e| {
        Error::new(format!("reading {}", link.display()), e)
            .with_hint(Some("the device has no IOMMU group: is an IOMMU enabled?"))
    })?;
    target
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Error::new(
                format!("{} -> {}", link.display(), target.display()),
                io::Error::new(io::ErrorKind::InvalidData, "not a group number"),
            )
        })
}

/// How to open the VF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OpenMode {
    /// Through `/dev/iommu` and the VF's VFIO cdev.
    #[default]
    Iommufd,
    /// Through the legacy container `/dev/vfio/vfio` and the VF's VFIO group.
    Group,
}

impl OpenMode {
    /// `iommufd` or `group`, as `--json` says it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Iommufd => "iommufd",
            Self::Group => "group",
        }
    }
}

/// How a VF was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Through the iommufd cdev at this path.
    Iommufd(PathBuf),
    /// Through this VFIO group, in a legacy container.
    Group(u32),
}

impl Opened {
    /// The mode this is.
    pub fn mode(&self) -> OpenMode {
        match self {
            Self::Iommufd(_) => OpenMode::Iommufd,
            Self::Group(_) => OpenMode::Group,
        }
    }

    /// The device node of the open, for error messages.
    pub fn node(&self) -> String {
        match self {
            Self::Iommufd(path) => path.display().to_string(),
            Self::Group(group) => format!("/dev/vfio/{group}"),
        }
    }
}

impl fmt::Display for Opened {
    /// `through the iommufd cdev /dev/vfio/devices/vfio0`, or
    /// `through VFIO group 12 (legacy container)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Iommufd(path) => write!(f, "through the iommufd cdev {}", path.display()),
            Self::Group(group) => write!(f, "through VFIO group {group} (legacy container)"),
        }
    }
}

/// Opens `path` for reading and writing (close-on-exec).
fn open_rw(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EACCES | libc::EPERM) => Some("root, or access to it, is needed"),
                Some(libc::ENOENT) => Some("no device node: is devtmpfs mounted on /dev?"),
                Some(libc::EBUSY) => Some(
                    "the device is open already (through its VFIO group, or another cdev open)",
                ),
                _ => None,
            };
            Error::new(format!("opening {}", path.display()), e).with_hint(hint)
        })
}

/// The errno of an error of vfio-ioctls or iommufd-ioctls, found down its `source()` chain
/// (an `io::Error` or a `vmm_sys_util::errno::Error`), if it kept one.
fn errno_of(err: &(dyn error::Error + 'static)) -> Option<i32> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return io.raw_os_error();
        }
        if let Some(sys) = e.downcast_ref::<vmm_sys_util::errno::Error>() {
            return Some(sys.errno());
        }
        cur = e.source();
    }
    None
}

/// An [`Error`] of `what` from an error of the rust-vmm crates: with its errno when it
/// kept one (the step it names, then the errno), else its message as the reason.
fn rust_vmm_error(what: &str, err: &(dyn error::Error + 'static), hint: Option<String>) -> Error {
    let msg = err.to_string();
    match errno_of(err) {
        Some(errno) => {
            // thiserror appends ": {source}"; the errno says it again, by name.
            let step = err
                .source()
                .and_then(|s| msg.strip_suffix(&format!(": {s}")))
                .unwrap_or(&msg);
            Error::new(
                format!("{what}: {step}"),
                io::Error::from_raw_os_error(errno),
            )
        }
        None => Error::new(what, io::Error::other(msg)),
    }
    .with_hint(hint)
}

/// What an error of vfio-ioctls likely means here.
fn vfio_hint(err: &VfioError, group: Option<u32>) -> Option<String> {
    let errno = errno_of(err);
    let group = group.map_or_else(|| "its".to_owned(), |g| g.to_string());
    Some(match (err, errno) {
        (VfioError::OpenContainer(_), Some(libc::ENOENT)) => format!(
            "no {DEV_VFIO_VFIO}: a kernel with the legacy container (CONFIG_VFIO_CONTAINER or CONFIG_IOMMUFD_VFIO_CONTAINER) is needed, or open with --iommufd"
        ),
        (
            VfioError::OpenContainer(_) | VfioError::OpenGroup(..),
            Some(libc::EACCES | libc::EPERM),
        ) => "root, or access to it, is needed".into(),
        (VfioError::OpenGroup(..), Some(libc::ENOENT)) => format!(
            "no node for VFIO group {group}: is the VF bound to vfio-pasid-vf (a VFIO driver)?"
        ),
        (VfioError::OpenGroup(..), Some(libc::EBUSY)) => format!(
            "VFIO group {group} is open already (another user), or the VF is open through its cdev"
        ),
        (VfioError::GroupViable, _) => format!(
            "every device of IOMMU group {group} must be bound to a VFIO driver, or to none"
        ),
        (VfioError::VfioApiVersion | VfioError::VfioExtension, _) => {
            format!("{DEV_VFIO_VFIO} offers no type1v2 IOMMU")
        }
        (VfioError::GroupGetDeviceFD(_), Some(libc::EBUSY)) => {
            "the device is open already (the VF is open through its cdev, or by another user)"
                .into()
        }
        (VfioError::GroupGetDeviceFD(_), Some(libc::EACCES | libc::EPERM))
        | (VfioError::VfioDeviceBindIommufd(_), Some(libc::EACCES | libc::EPERM)) => {
            "a VF token is needed (its PF is bound to vfio-pci), which vpv-feature does not pass"
                .into()
        }
        (VfioError::VfioDeviceBindIommufd(_), Some(libc::EINVAL)) => {
            "the device is open already (the cdev path allows one open at a time)".into()
        }
        (VfioError::VfioDeviceBindIommufd(_), Some(libc::EBUSY)) => {
            "its VFIO group is open (a legacy container user has it)".into()
        }
        _ => return None,
    })
}

/// What an error of iommufd-ioctls likely means here.
fn iommufd_hint(err: &IommufdError) -> Option<&'static str> {
    match (err, errno_of(err)) {
        (IommufdError::OpenIommufd(_), Some(libc::ENOENT)) => {
            Some("no iommufd: a kernel with CONFIG_IOMMUFD is needed, or open with --group")
        }
        (IommufdError::OpenIommufd(_), Some(libc::EACCES | libc::EPERM)) => {
            Some("root, or access to it, is needed")
        }
        _ => None,
    }
}

/// A VF opened through VFIO by vfio-ioctls.
pub struct Vf {
    bdf: String,
    opened: Opened,
    // Holds the iommufd or the container (and the group), which it drops after the device.
    device: VfioDevice,
}

impl fmt::Debug for Vf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vf")
            .field("bdf", &self.bdf)
            .field("opened", &self.opened)
            .field("fd", &self.device.as_raw_fd())
            .finish_non_exhaustive()
    }
}

impl Vf {
    /// Opens the PCI device `bdf` (canonical form, see [`parse_bdf`]) as `mode` says.  The
    /// error says which step failed, on what.
    pub fn open(bdf: &str, mode: OpenMode) -> Result<Self, Error> {
        match mode {
            OpenMode::Iommufd => Self::open_iommufd(bdf),
            OpenMode::Group => Self::open_group(bdf),
        }
    }

    fn open_iommufd(bdf: &str) -> Result<Self, Error> {
        let cdev = cdev_path(bdf)?;
        let iommufd = IommuFd::new().map_err(|e| {
            let hint = iommufd_hint(&e);
            rust_vmm_error(&format!("opening {DEV_IOMMU}"), &e, hint.map(Into::into))
        })?;
        // Allocates the IOAS (IOMMU_IOAS_ALLOC).  No hypervisor device: nothing is added
        // to KVM.
        let ops = VfioIommufd::new(Arc::new(iommufd), None, None)
            .map_err(|e| rust_vmm_error(&format!("allocating an IOAS in {DEV_IOMMU}"), &e, None))?;
        // vfio-ioctls' VfioDevice::new() would find and open the cdev itself, but its
        // errors say neither which node nor why (InvalidVfioDev): open it here, and hand
        // it over for the bind, the attach and the device and region info.
        let file = open_rw(&cdev)?;
        let device = VfioDevice::new_from_fd(file, Arc::new(ops), true).map_err(|e| {
            let hint = vfio_hint(&e, None);
            rust_vmm_error(
                &format!("opening {bdf} through {} and {DEV_IOMMU}", cdev.display()),
                &e,
                hint,
            )
        })?;
        Ok(Self {
            bdf: bdf.to_owned(),
            opened: Opened::Iommufd(cdev),
            device,
        })
    }

    fn open_group(bdf: &str) -> Result<Self, Error> {
        let group = iommu_group(bdf)?;
        let container = VfioContainer::new(None).map_err(|e| {
            let hint = vfio_hint(&e, Some(group));
            rust_vmm_error(&format!("opening {DEV_VFIO_VFIO}"), &e, hint)
        })?;
        // Opens /dev/vfio/<group>, checks it is viable, sets the container and its type1v2
        // IOMMU, gets the device fd and its info.
        let device = VfioDevice::new(&sysfs_dir(bdf), Arc::new(container), false).map_err(|e| {
            let hint = vfio_hint(&e, Some(group));
            rust_vmm_error(
                &format!("opening {bdf} through VFIO group {group} in {DEV_VFIO_VFIO}"),
                &e,
                hint,
            )
        })?;
        Ok(Self {
            bdf: bdf.to_owned(),
            opened: Opened::Group(group),
            device,
        })
    }

    /// The device's PCI address.
    pub fn bdf(&self) -> &str {
        &self.bdf
    }

    /// How the device was opened.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The device fd, for the device's ioctls ([`crate::get`] and the others).
    pub fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd is the open device file of `self.device`, which closes it only
        // when it is dropped; the returned borrow cannot outlive `&self`, hence
        // `self.device`.
        unsafe { BorrowedFd::borrow_raw(self.device.as_raw_fd()) }
    }

    /// The VF's config space as VFIO shows it (the driver's emulation included): the
    /// config region, up to 4 KiB, read with pread.
    ///
    /// Not with vfio-ioctls' `VfioDevice::region_read()`: it returns nothing, and on a
    /// failed or short read only logs a warning (through `log`, which no one listens to
    /// here) and leaves the buffer as it was, which would be walked as if the device had
    /// returned zeros.  Here every error fails the read.
    pub fn read_config(&self) -> Result<Vec<u8>, Error> {
        let index = VFIO_PCI_CONFIG_REGION_INDEX;
        // vfio-ioctls keeps the regions in a vector of those whose info it could get, in
        // index order (one it could not get is left out, and shifts the next ones down),
        // and answers 0 for an index beyond it: check that what it has at index 7 is a
        // readable region of config space's size.
        let flags = self.device.get_region_flags(index);
        let size = self.device.get_region_size(index);
        let offset = self.device.get_region_offset(index);
        if flags & VFIO_REGION_INFO_FLAG_READ == 0 || size < u64::from(PCI_CFG_SPACE_SIZE) {
            return Err(Error::new(
                format!("the config region of {} (VFIO region {index})", self.bdf),
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("vfio-ioctls has flags {flags:#x}, size {size:#x}: not a readable config space"),
                ),
            ));
        }
        let len = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .min(usize::from(PCI_CFG_SPACE_EXP_SIZE));
        let mut buf = vec![0u8; len];
        // A duplicate of the device fd (the same open file) as a File, for read_exact_at(),
        // which retries on EINTR and fails on a short read; closed on return, long before
        // the device is.
        let dup = self
            .fd()
            .try_clone_to_owned()
            .map_err(|e| Error::new(format!("duplicating the device fd of {}", self.bdf), e))?;
        File::from(dup).read_exact_at(&mut buf, offset).map_err(|e| {
            Error::new(
                format!(
                    "reading {len} bytes of the config space of {} through VFIO ({}, offset {offset:#x})",
                    self.bdf,
                    self.opened.node()
                ),
                e,
            )
        })?;
        // And that it is this device's config space: its Vendor ID is the one sysfs has
        // (VFIO shows a VF's as its own, from the PF).  A region table off by one would
        // have read a BAR here.
        let sysfs_vendor = sysfs_dir(&self.bdf).join("vendor");
        if let Some(want) = fs::read_to_string(&sysfs_vendor)
            .ok()
            .and_then(|s| u16::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok())
        {
            let got = u16::from_le_bytes([buf[0], buf[1]]);
            if got != want {
                return Err(Error::new(
                    format!("the config region of {} (VFIO region {index})", self.bdf),
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "it reads Vendor ID {got:#06x}, {} says {want:#06x}: not this device's config space",
                            sysfs_vendor.display()
                        ),
                    ),
                ));
            }
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdfs() {
        assert_eq!(parse_bdf("0000:3b:02.0").as_deref(), Some("0000:3b:02.0"));
        assert_eq!(parse_bdf("0000:3B:1f.7").as_deref(), Some("0000:3b:1f.7"));
        assert_eq!(parse_bdf("3b:02.1").as_deref(), Some("0000:3b:02.1"));
        assert_eq!(parse_bdf("10000:00:02.0").as_deref(), Some("10000:00:02.0"));
        for bad in [
            "",
            "3b:02",
            "0000:3b:02.8",
            "0000:3b:20.0",
            "000:3b:02.0",
            "0000:3b:2.0",
            "0000:3b:02.0/../x",
            "../../x:00:00.0",
            "0000:0:3b:02.0",
            "0000:3g:02.0",
            "0000:3b:02.00",
        ] {
            assert_eq!(parse_bdf(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn missing_device() {
        for mode in [OpenMode::Iommufd, OpenMode::Group] {
            let err = Vf::open("ffff:ff:1f.7", mode).unwrap_err();
            assert_eq!(err.errno(), Some(libc::ENOENT));
            let msg = err.to_string();
            assert!(
                msg.starts_with("/sys/bus/pci/devices/ffff:ff:1f.7: ENOENT"),
                "{msg}"
            );
            assert!(msg.ends_with("no such PCI device"), "{msg}");
        }
    }

    #[test]
    fn opened() {
        let cdev = Opened::Iommufd(PathBuf::from("/dev/vfio/devices/vfio0"));
        assert_eq!(
            cdev.to_string(),
            "through the iommufd cdev /dev/vfio/devices/vfio0"
        );
        assert_eq!(cdev.mode().name(), "iommufd");
        assert_eq!(cdev.node(), "/dev/vfio/devices/vfio0");
        let group = Opened::Group(12);
        assert_eq!(
            group.to_string(),
            "through VFIO group 12 (legacy container)"
        );
        assert_eq!(group.mode().name(), "group");
        assert_eq!(group.node(), "/dev/vfio/12");
    }

    #[test]
    fn rust_vmm_errors() {
        // An errno down the chain: the step, then the errno by name.
        let e = VfioError::VfioDeviceBindIommufd(vmm_sys_util::errno::Error::new(libc::EINVAL));
        let hint = vfio_hint(&e, None);
        let err = rust_vmm_error("opening x", &e, hint);
        assert_eq!(
            err.to_string(),
            "opening x: failed to bind the vfio device to the specified iommufd: EINVAL \
             (Invalid argument): the device is open already (the cdev path allows one open at \
             a time)"
        );
        // Through an io::Error, two levels down.
        let e = VfioError::NewVfioIommufd(IommufdError::OpenIommufd(io::Error::from_raw_os_error(
            libc::ENOENT,
        )));
        assert_eq!(errno_of(&e), Some(libc::ENOENT));
        let e = IommufdError::OpenIommufd(io::Error::from_raw_os_error(libc::ENOENT));
        let err = rust_vmm_error("opening /dev/iommu", &e, iommufd_hint(&e).map(Into::into));
        assert!(
            err.to_string()
                .starts_with("opening /dev/iommu: failed to open /dev/iommufd: ENOENT"),
            "{err}"
        );
        assert!(err
            .to_string()
            .ends_with("CONFIG_IOMMUFD is needed, or open with --group"));
        // None kept: the message is the reason.
        let e = VfioError::GroupViable;
        let err = rust_vmm_error("opening y", &e, vfio_hint(&e, Some(12)));
        assert_eq!(err.errno(), None);
        assert_eq!(
            err.to_string(),
            "opening y: group is not viable: every device of IOMMU group 12 must be bound to a \
             VFIO driver, or to none"
        );
    }
}
