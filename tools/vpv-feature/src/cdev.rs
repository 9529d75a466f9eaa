// SPDX-License-Identifier: GPL-2.0

//! A VFIO device opened through its iommufd cdev, as a VMM opens it.
//!
//! 1. `/dev/iommu`, the iommufd;
//! 2. the VF's cdev: `/sys/bus/pci/devices/<BDF>/vfio-dev/vfioN` names
//!    `/dev/vfio/devices/vfioN`;
//! 3. `VFIO_DEVICE_BIND_IOMMUFD`: opens the device (the driver's `open_device`, where
//!    vfio-pasid-vf decides what this open presents and registers it as a PASID user of the
//!    PF).  From here on the device's ioctls work, `VFIO_DEVICE_FEATURE` included: the VFIO
//!    core (`vfio_device_fops_unl_ioctl()`) only requires `access_granted`, which the bind
//!    sets;
//! 4. `IOMMU_IOAS_ALLOC` and `VFIO_DEVICE_ATTACH_IOMMUFD_PT`: an empty I/O address space,
//!    attached, as a VMM does before it maps guest memory.  Not needed by the feature, but
//!    it puts the device in the state in which a VMM uses it.
//!
//! Closing the device fd unbinds it (and closes the device); closing the iommufd frees the
//! IOAS.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::{
    ioctl, size32, Error, IommuIoasAlloc, VfioDeviceAttachIommufdPt, VfioDeviceBindIommufd,
    IOMMU_IOAS_ALLOC, VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_BIND_IOMMUFD,
};

/// The sysfs directory of PCI devices.
pub const SYSFS_PCI_DEVICES: &str = "/sys/bus/pci/devices";
/// The directory of VFIO device cdevs.
pub const DEV_VFIO_DEVICES: &str = "/dev/vfio/devices";
/// The iommufd character device.
pub const DEV_IOMMU: &str = "/dev/iommu";

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

/// The VFIO cdev of `bdf`, `/dev/vfio/devices/vfioN`, from
/// `/sys/bus/pci/devices/<bdf>/vfio-dev/vfioN`.
pub fn cdev_path(bdf: &str) -> Result<PathBuf, Error> {
    let dir = sysfs_dir(bdf);
    fs::metadata(&dir).map_err(|e| {
        Error::new(dir.display().to_string(), e).with_hint(Some("no such PCI device"))
    })?;
    let vfio_dev = dir.join("vfio-dev");
    let entries = fs::read_dir(&vfio_dev).map_err(|e| {
        let driver = driver_name(bdf).unwrap_or_else(|| "none".to_owned());
        Error::new(vfio_dev.display().to_string(), e).with_hint(Some(format!(
            "no VFIO device cdev (driver: {driver}); bind the VF to vfio-pasid-vf, on a kernel with CONFIG_VFIO_DEVICE_CDEV"
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

/// Opens `path` for reading and writing (close-on-exec).
fn open_rw(path: &Path) -> Result<OwnedFd, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EACCES | libc::EPERM) => Some("root, or access to it, is needed"),
                Some(libc::ENOENT) if path == Path::new(DEV_IOMMU) => {
                    Some("no iommufd: a kernel with CONFIG_IOMMUFD is needed")
                }
                Some(libc::ENOENT) => Some("no device node: is devtmpfs mounted on /dev?"),
                _ => None,
            };
            Error::new(format!("opening {}", path.display()), e).with_hint(hint)
        })
}

/// What an errno of `VFIO_DEVICE_BIND_IOMMUFD` means (drivers/vfio/device_cdev.c).
fn bind_hint(errno: Option<i32>) -> Option<&'static str> {
    match errno? {
        libc::EINVAL => {
            Some("the device is open already (the cdev path allows one open at a time)")
        }
        libc::EBUSY => Some("its VFIO group is open (a legacy container user has it)"),
        libc::EACCES | libc::EPERM => Some(
            "a VF token is needed (its PF is bound to vfio-pci), which vpv-feature does not pass",
        ),
        _ => None,
    }
}

/// `VFIO_DEVICE_BIND_IOMMUFD`: binds the device cdev `device` to `iommufd` (which opens the
/// device), without a VF token; returns the device's id in the iommufd.
pub fn bind_iommufd(device: BorrowedFd<'_>, iommufd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut bind = VfioDeviceBindIommufd {
        argsz: size32::<VfioDeviceBindIommufd>(),
        flags: 0,
        iommufd: iommufd.as_raw_fd(),
        out_devid: 0,
        token_uuid_ptr: 0,
    };
    // SAFETY: `VfioDeviceBindIommufd` is the argument of `VFIO_DEVICE_BIND_IOMMUFD`, with
    // `argsz` its size; it is all integers.  Without `VFIO_DEVICE_BIND_FLAG_TOKEN` the kernel
    // does not follow `token_uuid_ptr`.
    unsafe { ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &mut bind) }?;
    Ok(bind.out_devid)
}

/// `IOMMU_IOAS_ALLOC`: a new, empty I/O address space in `iommufd`; returns its id.
pub fn ioas_alloc(iommufd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut alloc = IommuIoasAlloc {
        size: size32::<IommuIoasAlloc>(),
        ..Default::default()
    };
    // SAFETY: `IommuIoasAlloc` is the argument of `IOMMU_IOAS_ALLOC`, with `size` its size;
    // it is all integers.
    unsafe { ioctl(iommufd, IOMMU_IOAS_ALLOC, &mut alloc) }?;
    Ok(alloc.out_ioas_id)
}

/// `VFIO_DEVICE_ATTACH_IOMMUFD_PT`: attaches the bound `device` (its RID) to the IOAS or
/// HWPT `pt_id`; returns the id of the HWPT it is attached to.
pub fn attach_iommufd_pt(device: BorrowedFd<'_>, pt_id: u32) -> io::Result<u32> {
    let mut attach = VfioDeviceAttachIommufdPt {
        argsz: size32::<VfioDeviceAttachIommufdPt>(),
        flags: 0,
        pt_id,
        pasid: 0,
    };
    // SAFETY: `VfioDeviceAttachIommufdPt` is the argument of `VFIO_DEVICE_ATTACH_IOMMUFD_PT`,
    // with `argsz` its size; it is all integers.
    unsafe { ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &mut attach) }?;
    Ok(attach.pt_id)
}

/// A VFIO device bound to an iommufd and attached to an empty IOAS of it.
#[derive(Debug)]
pub struct VfioCdev {
    // Dropped in declaration order: the device (unbind, close) before its iommufd.
    device: OwnedFd,
    iommufd: OwnedFd,
    path: PathBuf,
    devid: u32,
    ioas_id: u32,
    hwpt_id: u32,
}

impl VfioCdev {
    /// Opens the PCI device `bdf` (canonical form, see [`parse_bdf`]) through its VFIO cdev:
    /// `/dev/iommu`, `/dev/vfio/devices/vfioN`, bind, IOAS alloc, attach.  The error says
    /// which step failed, on what.
    pub fn open(bdf: &str) -> Result<Self, Error> {
        let path = cdev_path(bdf)?;
        let iommufd = open_rw(Path::new(DEV_IOMMU))?;
        let device = open_rw(&path)?;
        let devid = bind_iommufd(device.as_fd(), iommufd.as_fd()).map_err(|e| {
            let hint = bind_hint(e.raw_os_error());
            Error::new(
                format!(
                    "VFIO_DEVICE_BIND_IOMMUFD of {} to {}",
                    path.display(),
                    DEV_IOMMU
                ),
                e,
            )
            .with_hint(hint)
        })?;
        let ioas_id = ioas_alloc(iommufd.as_fd())
            .map_err(|e| Error::new(format!("IOMMU_IOAS_ALLOC on {}", DEV_IOMMU), e))?;
        let hwpt_id = attach_iommufd_pt(device.as_fd(), ioas_id).map_err(|e| {
            Error::new(
                format!(
                    "VFIO_DEVICE_ATTACH_IOMMUFD_PT of {} to IOAS {}",
                    path.display(),
                    ioas_id
                ),
                e,
            )
        })?;
        Ok(Self {
            device,
            iommufd,
            path,
            devid,
            ioas_id,
            hwpt_id,
        })
    }

    /// The device fd, for the device's ioctls ([`crate::get`] and the others).
    pub fn device(&self) -> BorrowedFd<'_> {
        self.device.as_fd()
    }

    /// The iommufd the device is bound to.
    pub fn iommufd(&self) -> BorrowedFd<'_> {
        self.iommufd.as_fd()
    }

    /// The device's cdev, `/dev/vfio/devices/vfioN`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device's id in the iommufd (`out_devid` of the bind).
    pub fn devid(&self) -> u32 {
        self.devid
    }

    /// The IOAS the device is attached to.
    pub fn ioas_id(&self) -> u32 {
        self.ioas_id
    }

    /// The HWPT the kernel attached the device to, for the IOAS.
    pub fn hwpt_id(&self) -> u32 {
        self.hwpt_id
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
        let err = cdev_path("ffff:ff:1f.7").unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert!(
            err.to_string()
                .contains("/sys/bus/pci/devices/ffff:ff:1f.7"),
            "{err}"
        );
    }
}
