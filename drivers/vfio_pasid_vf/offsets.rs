// SPDX-License-Identifier: GPL-2.0

//! The administrator's offsets of the emulated capabilities, for VFs that are not bound yet.
//!
//! A VMM that defines the guest's config space layout (a migration source and its
//! destination) needs the emulated capabilities at the same offsets on every host, from the
//! first open on: libvirt's managed flow binds a VF and opens it back to back. So the
//! setting belongs to the driver, not to a bound device: it exists before the VF is bound
//! and survives unbinding and rebinding.
//!
//! Entries are `KEY[,pasid=OFF|auto][,pri=OFF|auto]`, where KEY is a VF's PCI address
//! (`DDDD:BB:DD.F`) or a vendor:device pair (`VVVV:DDDD`, every VF of that type). They are
//! set at load (module parameter `offsets`, entries separated by `;`) and at runtime
//! through `/sys/bus/pci/drivers/vfio-pasid-vf/offsets`, one entry per write. An entry with
//! neither offset, or both `auto`, deletes the key. For a VF, its address entry wins over
//! its vendor:device entry. A VF uses the entry at each open.

use core::fmt::{
    self,
    Write, //
};

use kernel::{
    pci,
    prelude::*,
    str::BStr, //
};

use crate::emu::{
    PCI_CFG_SPACE_EXP_SIZE,
    PCI_CFG_SPACE_SIZE, //
};
use crate::sysfs::SysfsBuf;

/// Most entries the table holds; a write beyond it fails with `-ENOSPC`.
const MAX_ENTRIES: usize = 32;

/// What an entry applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// One VF, by PCI address.
    Bdf { domain: u32, bus: u8, devfn: u8 },
    /// Every VF with this Vendor ID and Device ID.
    Id { vendor: u16, device: u16 },
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Bdf { domain, bus, devfn } => {
                write!(
                    f,
                    "{domain:04x}:{bus:02x}:{:02x}.{:x}",
                    devfn >> 3,
                    devfn & 7
                )
            }
            Self::Id { vendor, device } => write!(f, "{vendor:04x}:{device:04x}"),
        }
    }
}

/// The administrator's offsets for one VF; `None` means automatic placement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AdminOffsets {
    /// Where the PASID capability goes.
    pub(crate) pasid: Option<u16>,
    /// Where the PRI capability goes.
    pub(crate) pri: Option<u16>,
}

/// Writes `name` and `offset` (or `auto`) after `sep`.
fn write_offset(
    f: &mut fmt::Formatter<'_>,
    sep: &str,
    name: &str,
    offset: Option<u16>,
) -> fmt::Result {
    match offset {
        Some(offset) => write!(f, "{sep}{name}{offset:#05x}"),
        None => write!(f, "{sep}{name}auto"),
    }
}

impl fmt::Display for AdminOffsets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_offset(f, "", "PASID ", self.pasid)?;
        write_offset(f, ", ", "PRI ", self.pri)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    key: Key,
    offsets: AdminOffsets,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        write_offset(f, ",", "pasid=", self.offsets.pasid)?;
        write_offset(f, ",", "pri=", self.offsets.pri)
    }
}

/// The entries, in the order they were first set.
pub(crate) struct Table {
    entries: [Option<Entry>; MAX_ENTRIES],
}

impl Table {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        Self {
            entries: [None; MAX_ENTRIES],
        }
    }

    /// Sets or deletes `entry`'s key.
    fn set(&mut self, entry: Entry) -> Result {
        let delete = entry.offsets == AdminOffsets::default();
        if let Some(slot) = self
            .entries
            .iter_mut()
            .find(|slot| slot.is_some_and(|e| e.key == entry.key))
        {
            *slot = (!delete).then_some(entry);
            return Ok(());
        }
        if delete {
            return Ok(());
        }
        let slot = self
            .entries
            .iter_mut()
            .find(|slot| slot.is_none())
            .ok_or(ENOSPC)?;
        *slot = Some(entry);
        Ok(())
    }

    /// The offsets for `pdev`: its address entry, else its vendor:device entry, else none.
    fn lookup(&self, pdev: &pci::Device) -> AdminOffsets {
        let bdf = parse_bdf(pdev.as_ref().name().to_bytes()).ok();
        let id = Key::Id {
            vendor: pdev.vendor_id().as_raw(),
            device: pdev.device_id(),
        };
        let find = |key: Key| {
            self.entries
                .iter()
                .flatten()
                .find(|e| e.key == key)
                .map(|e| e.offsets)
        };
        bdf.and_then(find).or_else(|| find(id)).unwrap_or_default()
    }
}

kernel::sync::global_lock! {
    // SAFETY: Initialised by `init()` in the module initializer, before the driver is
    // registered, so before any other use.
    unsafe(uninit) static TABLE: Mutex<Table> = Table::new();
}

/// Initialises the table from the `offsets` module parameter.
///
/// # Safety
///
/// Must be called exactly once, from the module initializer, before the driver is
/// registered (which is when the table starts being used).
pub(crate) unsafe fn init(param: &CStr) -> Result {
    // SAFETY: Called once, before first use, per the function's requirements.
    unsafe { TABLE.init() };
    let mut table = TABLE.lock();
    for entry in param
        .to_bytes()
        .split(|&b| b == b';')
        .filter(|entry| !entry.trim_ascii().is_empty())
    {
        let entry = parse_entry(entry).inspect_err(|_| {
            pr_err!(
                "offsets: bad module parameter entry '{}': want KEY[,pasid=OFF|auto][,pri=OFF|auto]\n",
                BStr::from_bytes(entry.trim_ascii())
            )
        })?;
        table
            .set(entry)
            .inspect_err(|_| pr_err!("offsets: more than {} entries\n", MAX_ENTRIES))?;
    }
    Ok(())
}

/// The administrator's offsets for `pdev`, as they are now.
pub(crate) fn lookup(pdev: &pci::Device) -> AdminOffsets {
    TABLE.lock().lookup(pdev)
}

/// Parses a hex number of 1 to `max_digits` digits.
fn hex(text: &[u8], max_digits: usize) -> Result<u32> {
    if text.is_empty() || text.len() > max_digits {
        return Err(EINVAL);
    }
    let text = core::str::from_utf8(text).map_err(|_| EINVAL)?;
    u32::from_str_radix(text, 16).map_err(|_| EINVAL)
}

/// Parses a PCI address, `DDDD:BB:DD.F` (the domain may have up to 8 digits).
fn parse_bdf(text: &[u8]) -> Result<Key> {
    let mut parts = text.splitn(3, |&b| b == b':');
    let (Some(domain), Some(bus), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EINVAL);
    };
    let mut slot_fn = rest.splitn(2, |&b| b == b'.');
    let (Some(slot), Some(func)) = (slot_fn.next(), slot_fn.next()) else {
        return Err(EINVAL);
    };
    let (domain, bus) = (hex(domain, 8)?, hex(bus, 2)?);
    let (slot, func) = (hex(slot, 2)?, hex(func, 1)?);
    if slot >= 0x20 || func >= 8 {
        return Err(EINVAL);
    }
    Ok(Key::Bdf {
        domain,
        bus: u8::try_from(bus)?,
        devfn: u8::try_from(slot << 3 | func)?,
    })
}

/// Parses a key: a PCI address or a `VVVV:DDDD` vendor:device pair.
fn parse_key(text: &[u8]) -> Result<Key> {
    if text.contains(&b'.') {
        return parse_bdf(text);
    }
    let mut parts = text.splitn(2, |&b| b == b':');
    let (Some(vendor), Some(device)) = (parts.next(), parts.next()) else {
        return Err(EINVAL);
    };
    if vendor.len() != 4 || device.len() != 4 {
        return Err(EINVAL);
    }
    Ok(Key::Id {
        vendor: u16::try_from(hex(vendor, 4)?)?,
        device: u16::try_from(hex(device, 4)?)?,
    })
}

/// Parses an offset: `auto`, or a dword-aligned offset in extended config space, in hex
/// with `0x` or decimal. Whether the capability fits there is decided at open.
fn parse_offset(text: &[u8]) -> Result<Option<u16>> {
    if text == b"auto" {
        return Ok(None);
    }
    let text = core::str::from_utf8(text).map_err(|_| EINVAL)?;
    let offset = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => text.parse::<u16>(),
    }
    .map_err(|_| EINVAL)?;
    if offset % 4 != 0 || !(PCI_CFG_SPACE_SIZE..PCI_CFG_SPACE_EXP_SIZE).contains(&offset) {
        return Err(EINVAL);
    }
    Ok(Some(offset))
}

/// Parses `KEY[,pasid=OFF|auto][,pri=OFF|auto]`.
fn parse_entry(text: &[u8]) -> Result<Entry> {
    let mut fields = text.trim_ascii().split(|&b| b == b',');
    let key = parse_key(fields.next().ok_or(EINVAL)?)?;
    let mut offsets = AdminOffsets::default();
    for field in fields {
        let mut kv = field.splitn(2, |&b| b == b'=');
        let (Some(name), Some(value)) = (kv.next(), kv.next()) else {
            return Err(EINVAL);
        };
        match name {
            b"pasid" => offsets.pasid = parse_offset(value)?,
            b"pri" => offsets.pri = parse_offset(value)?,
            _ => return Err(EINVAL),
        }
    }
    Ok(Entry { key, offsets })
}

/// Writes the table, one entry per line (the driver's `offsets` attribute).
pub(crate) fn show(out: &mut SysfsBuf<'_>) -> Result {
    let table = TABLE.lock();
    for entry in table.entries.iter().flatten() {
        writeln!(out, "{entry}").map_err(|_| EOVERFLOW)?;
    }
    Ok(())
}

/// Sets or deletes the entry `input` (a write to the driver's `offsets` attribute).
pub(crate) fn store(input: &[u8]) -> Result {
    let entry = parse_entry(input).inspect_err(|_| {
        pr_err!(
            "offsets: bad entry '{}': want KEY[,pasid=OFF|auto][,pri=OFF|auto], KEY a VF's DDDD:BB:DD.F or a VVVV:DDDD vendor:device, OFF dword aligned in 0x100..0xffc\n",
            BStr::from_bytes(input.trim_ascii())
        )
    })?;
    TABLE
        .lock()
        .set(entry)
        .inspect_err(|_| pr_err!("offsets: the table is full ({} entries)\n", MAX_ENTRIES))
}
