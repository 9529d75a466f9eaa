// SPDX-License-Identifier: GPL-2.0

//! `vpv-feature`: `VFIO_DEVICE_FEATURE_PASID_VF` of a VF, from the command line.
//!
//! Opens the VF through its iommufd cdev as a VMM does, then probes, gets or sets the
//! feature; see `--help`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use vpv_feature::cdev::{self, VfioCdev};
use vpv_feature::{
    Error, PasidVfInfo, VFIO_PASID_VF_HIDDEN, VFIO_PASID_VF_PASID, VFIO_PASID_VF_PRI,
};

const USAGE: &str = "\
Usage: vpv-feature [--help] VF_BDF [get|probe|set-offsets PASID PRI|hide]

VFIO_DEVICE_FEATURE_PASID_VF of a VF bound to vfio-pasid-vf.  Opens the VF
through its iommufd cdev (/dev/iommu, /dev/vfio/devices/vfioN from
/sys/bus/pci/devices/VF_BDF/vfio-dev; bind, IOAS alloc, attach), then:

  get (default)          GET: prints the feature, one `key value' line per field.
  probe                  PROBE with GET and SET: prints `probe get,set'.
  set-offsets PASID PRI  SET VFIO_PASID_VF_SET_OFFSETS: places the emulated PASID
                         and PRI capabilities at these config offsets (hex with 0x,
                         or decimal; 0: where the driver chooses), then prints GET.
  hide                   SET VFIO_PASID_VF_SET_HIDE: presents no emulated
                         capability, then prints GET.

A SET holds for the open that made it: it ends when vpv-feature exits, so the
GET that follows it, on the same open, shows its effect.

GET output, in this order; a line is printed only for a field the kernel wrote
(size) and the flags mark valid (pasid_*: pasid; pri_*: pri):
  size N                      bytes the kernel wrote
  flags pasid,pri,hidden      the flags set, by name (none: `none'; unknown
                              bits: in hex, e.g. `pasid,0x10')
  pf_pasid held|not held|lost the VF's open and its PF's PASID
  pasid_version N
  pasid_cap 0xXXXX            PF's PASID Capability register, raw
  pasid_cap_known 0xXXXX      bits of pasid_cap the driver understands
  pasid_ctrl 0xXXXX           PF's PASID Control register, raw
  pasid_offset 0xXXX          emulated PASID capability; 0x000: not presented
  pasid_cap_presented 0xXXXX  its Capability register, as the VF's user reads it
  pri_version N
  pri_status 0xXXXX           PF's Page Request Status register, raw
  pri_status_known 0xXXXX     bits of pri_status the driver understands
  pri_offset 0xXXX            emulated PRI capability; 0x000: not presented
  pri_capacity 0xXXXXXXXX     PF's Outstanding Page Request Capacity

Exit status: 0 done, 1 error (what failed and its errno on stderr), 2 usage.
";

/// What to do with the feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Probe,
    SetOffsets { pasid: u16, pri: u16 },
    Hide,
}

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Cmd {
    Help,
    Run { bdf: String, op: Op },
}

/// A config-space offset: `0x` hex or decimal.
fn parse_offset(s: &str) -> Result<u16, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("not an offset (0x hex or decimal, at most 0xffff): {s:?}"))
}

/// Parses the arguments after the program name.
fn parse_args(args: &[OsString]) -> Result<Cmd, String> {
    let args = args
        .iter()
        .map(|a| a.to_str().ok_or_else(|| format!("not UTF-8: {a:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    if args.iter().any(|&a| a == "--help" || a == "-h") {
        return Ok(Cmd::Help);
    }
    let (bdf, rest) = args.split_first().ok_or("VF_BDF is missing")?;
    if bdf.starts_with('-') {
        return Err(format!("unknown option {bdf:?}"));
    }
    let bdf =
        cdev::parse_bdf(bdf).ok_or_else(|| format!("not a PCI address (dddd:bb:dd.f): {bdf:?}"))?;
    let op = match rest {
        [] | ["get"] => Op::Get,
        ["probe"] => Op::Probe,
        ["hide"] => Op::Hide,
        ["set-offsets", pasid, pri] => Op::SetOffsets {
            pasid: parse_offset(pasid)?,
            pri: parse_offset(pri)?,
        },
        ["set-offsets", ..] => return Err("set-offsets takes two offsets: PASID PRI".into()),
        [op] => return Err(format!("unknown operation {op:?}")),
        [op, ..] => return Err(format!("too many arguments after {op:?}")),
    };
    Ok(Cmd::Run { bdf, op })
}

/// The flags of a GET, by name.
fn flag_names(flags: u32) -> String {
    let mut names = Vec::new();
    let mut rest = flags;
    for (bit, name) in [
        (VFIO_PASID_VF_PASID, "pasid"),
        (VFIO_PASID_VF_PRI, "pri"),
        (VFIO_PASID_VF_HIDDEN, "hidden"),
    ] {
        if flags & bit != 0 {
            names.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(",")
    }
}

/// Prints a GET, one `key value` line per field (see `USAGE`).
fn print_info(out: &mut impl Write, info: &PasidVfInfo) -> io::Result<()> {
    writeln!(out, "size {}", info.raw.size)?;
    writeln!(out, "flags {}", flag_names(info.raw.flags))?;
    if let Some(pf_pasid) = info.pf_pasid {
        writeln!(out, "pf_pasid {pf_pasid}")?;
    }
    if let Some(p) = &info.pasid {
        writeln!(out, "pasid_version {}", p.version)?;
        writeln!(out, "pasid_cap {:#06x}", p.cap)?;
        writeln!(out, "pasid_cap_known {:#06x}", p.cap_known)?;
        writeln!(out, "pasid_ctrl {:#06x}", p.ctrl)?;
        writeln!(out, "pasid_offset {:#05x}", p.offset.unwrap_or(0))?;
        writeln!(out, "pasid_cap_presented {:#06x}", p.cap_presented)?;
    }
    if let Some(p) = &info.pri {
        writeln!(out, "pri_version {}", p.version)?;
        writeln!(out, "pri_status {:#06x}", p.status)?;
        writeln!(out, "pri_status_known {:#06x}", p.status_known)?;
        writeln!(out, "pri_offset {:#05x}", p.offset.unwrap_or(0))?;
        writeln!(out, "pri_capacity {:#010x}", p.capacity)?;
    }
    Ok(())
}

/// What an errno of the feature means, from the uAPI header.
fn hint(op: Op, errno: Option<i32>, driver: Option<&str>) -> Option<String> {
    let errno = errno?;
    Some(match (errno, op) {
        (libc::ENOTTY, _) => format!(
            "the device's driver ({}) does not implement VFIO_DEVICE_FEATURE_PASID_VF: is the VF bound to vfio-pasid-vf, a build with the feature?",
            driver.unwrap_or("unknown")
        ),
        (libc::EBUSY, Op::SetOffsets { .. } | Op::Hide) => {
            "this open already wrote an emulated byte: SET comes first".into()
        }
        (libc::EINVAL, Op::SetOffsets { .. }) => {
            "an offset for a capability this open does not present, or not dword aligned in 0x100..0xffc".into()
        }
        (libc::ENOSPC, Op::SetOffsets { .. }) => {
            "an offset cannot hold its capability (it overlaps a capability of the VF or the other emulated one, or the VF's bytes there do not read 0); nothing changed".into()
        }
        _ => return None,
    })
}

/// Runs `op` on the VF `bdf`; the error is the message for stderr.
fn run(out: &mut impl Write, bdf: &str, op: Op) -> Result<(), String> {
    let dev = VfioCdev::open(bdf).map_err(|e| e.to_string())?;
    let fd = dev.device();
    let fail = |name: &str, e: io::Error| {
        let what = format!(
            "VFIO_DEVICE_FEATURE {name} PASID_VF on {} ({bdf})",
            dev.path().display()
        );
        let driver = cdev::driver_name(bdf);
        let hint = hint(op, e.raw_os_error(), driver.as_deref());
        Error::new(what, e).with_hint(hint).to_string()
    };
    let written = |e: io::Error| format!("writing the output: {e}");
    match op {
        Op::Probe => {
            vpv_feature::probe(fd).map_err(|e| fail("PROBE", e))?;
            writeln!(out, "probe get,set").map_err(written)?;
            return Ok(());
        }
        Op::Get => {}
        Op::SetOffsets { pasid, pri } => vpv_feature::set_offsets(fd, pasid, pri)
            .map_err(|e| fail(&format!("SET offsets pasid={pasid:#x} pri={pri:#x}"), e))?,
        Op::Hide => vpv_feature::set_hide(fd).map_err(|e| fail("SET hide", e))?,
    }
    let info = vpv_feature::get(fd).map_err(|e| fail("GET", e))?;
    print_info(out, &info).map_err(written)
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match parse_args(&args) {
        Ok(Cmd::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            let usage = USAGE.lines().next().unwrap_or_default();
            eprintln!("vpv-feature: {msg}\n{usage}\n(--help for more)");
            ExitCode::from(2)
        }
        Ok(Cmd::Run { bdf, op }) => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            match run(&mut out, &bdf, op)
                .and_then(|()| out.flush().map_err(|e| format!("writing the output: {e}")))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("vpv-feature: {msg}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpv_feature::{VfioDeviceFeaturePasidVf, VFIO_PASID_VF_PF_PASID_LOST};

    fn args(a: &[&str]) -> Result<Cmd, String> {
        parse_args(&a.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn run_cmd(bdf: &str, op: Op) -> Cmd {
        Cmd::Run {
            bdf: bdf.into(),
            op,
        }
    }

    #[test]
    fn command_lines() {
        let vf = "0000:3b:02.0";
        assert_eq!(args(&[vf]), Ok(run_cmd(vf, Op::Get)));
        assert_eq!(args(&[vf, "get"]), Ok(run_cmd(vf, Op::Get)));
        assert_eq!(args(&["3b:02.0", "probe"]), Ok(run_cmd(vf, Op::Probe)));
        assert_eq!(args(&[vf, "hide"]), Ok(run_cmd(vf, Op::Hide)));
        assert_eq!(
            args(&[vf, "set-offsets", "0xff8", "4072"]),
            Ok(run_cmd(
                vf,
                Op::SetOffsets {
                    pasid: 0xff8,
                    pri: 0xfe8
                }
            ))
        );
        assert_eq!(
            args(&[vf, "set-offsets", "0", "0X100"]),
            Ok(run_cmd(
                vf,
                Op::SetOffsets {
                    pasid: 0,
                    pri: 0x100
                }
            ))
        );
        assert_eq!(args(&["--help"]), Ok(Cmd::Help));
        assert_eq!(args(&[vf, "get", "-h"]), Ok(Cmd::Help));
        for bad in [
            &[][..],
            &["--verbose"],
            &["nonsense"],
            &[vf, "frob"],
            &[vf, "get", "more"],
            &[vf, "set-offsets", "0x100"],
            &[vf, "set-offsets", "0x100", "0x110", "0x120"],
            &[vf, "set-offsets", "0x10000", "0"],
            &[vf, "set-offsets", "ff8", "0"],
            &[vf, "set-offsets", "-1", "0"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flags_by_name() {
        assert_eq!(flag_names(0), "none");
        assert_eq!(flag_names(VFIO_PASID_VF_PASID), "pasid");
        assert_eq!(
            flag_names(VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI),
            "pasid,pri"
        );
        assert_eq!(flag_names(7), "pasid,pri,hidden");
        assert_eq!(flag_names(VFIO_PASID_VF_PRI | 0x30), "pri,0x30");
    }

    fn printed(raw: VfioDeviceFeaturePasidVf) -> String {
        let mut out = Vec::new();
        print_info(&mut out, &PasidVfInfo::decode(raw).unwrap()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn get_output() {
        let raw = VfioDeviceFeaturePasidVf {
            size: 32,
            flags: VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI,
            pasid_version: 1,
            pri_version: 1,
            pf_pasid: 1,
            pasid_cap: 0x1404,
            pasid_cap_known: 0x1f06,
            pasid_ctrl: 0x1,
            pasid_offset: 0x100,
            pasid_cap_presented: 0x1404,
            pri_status: 0x8100,
            pri_status_known: 0x8103,
            pri_offset: 0x110,
            pri_capacity: 0x20,
        };
        assert_eq!(
            printed(raw),
            "size 32\n\
             flags pasid,pri\n\
             pf_pasid held\n\
             pasid_version 1\n\
             pasid_cap 0x1404\n\
             pasid_cap_known 0x1f06\n\
             pasid_ctrl 0x0001\n\
             pasid_offset 0x100\n\
             pasid_cap_presented 0x1404\n\
             pri_version 1\n\
             pri_status 0x8100\n\
             pri_status_known 0x8103\n\
             pri_offset 0x110\n\
             pri_capacity 0x00000020\n"
        );
        // Hidden, PASID only, its PASID lost: no pri_* lines, offset 0x000.
        let hidden = VfioDeviceFeaturePasidVf {
            flags: VFIO_PASID_VF_PASID | VFIO_PASID_VF_HIDDEN,
            pf_pasid: VFIO_PASID_VF_PF_PASID_LOST,
            pasid_offset: 0,
            pri_offset: 0,
            ..raw
        };
        assert_eq!(
            printed(hidden),
            "size 32\n\
             flags pasid,hidden\n\
             pf_pasid lost\n\
             pasid_version 1\n\
             pasid_cap 0x1404\n\
             pasid_cap_known 0x1f06\n\
             pasid_ctrl 0x0001\n\
             pasid_offset 0x000\n\
             pasid_cap_presented 0x1404\n"
        );
        // Neither capability, not held; a size that stops after pf_pasid.
        let bare = VfioDeviceFeaturePasidVf {
            size: 12,
            flags: VFIO_PASID_VF_PASID,
            pf_pasid: 0,
            ..raw
        };
        assert_eq!(printed(bare), "size 12\nflags pasid\npf_pasid not held\n");
    }

    #[test]
    fn hints() {
        let set = Op::SetOffsets {
            pasid: 0x100,
            pri: 0,
        };
        assert!(hint(Op::Get, Some(libc::ENOTTY), Some("vfio-pci"))
            .unwrap()
            .contains("(vfio-pci)"));
        assert!(hint(set, Some(libc::ENOSPC), None)
            .unwrap()
            .contains("nothing changed"));
        assert!(hint(set, Some(libc::EINVAL), None)
            .unwrap()
            .contains("dword aligned"));
        assert!(hint(Op::Hide, Some(libc::EBUSY), None).is_some());
        assert_eq!(hint(Op::Get, Some(libc::EINVAL), None), None);
        assert_eq!(hint(Op::Get, None, None), None);
    }
}
