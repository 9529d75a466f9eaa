// SPDX-License-Identifier: GPL-2.0

//! `vpv-feature`: a VF bound to vfio-pasid-vf as a VMM sees it, from the command line.
//!
//! Opens the VF with vfio-ioctls, through its iommufd cdev or its VFIO group, then probes,
//! gets or sets `VFIO_DEVICE_FEATURE_PASID_VF` and walks the config space; see `--help`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use vfio_bindings::bindings::vfio::{
    VFIO_DEVICE_FEATURE_GET, //
    VFIO_DEVICE_FEATURE_SET,
};
use vpv_feature::config::ExtConfig;
use vpv_feature::device::{self, OpenMode, Vf};
use vpv_feature::report::{self, Probe, Report};
use vpv_feature::Error;

const USAGE: &str = "\
Usage: vpv-feature [--iommufd|--group] [--json] VF_BDF [get|probe|set-offsets PASID PRI|hide]
       vpv-feature --help

A VF bound to vfio-pasid-vf, as a VMM sees it through VFIO.  Opens the VF with
the rust-vmm vfio-ioctls crate, as cloud-hypervisor does:

  --iommufd (default)    through /dev/iommu and the VF's VFIO cdev
                         /dev/vfio/devices/vfioN (named in /sys/bus/pci/devices/
                         VF_BDF/vfio-dev): bind, then attach to a new IOAS;
  --group                through the legacy container /dev/vfio/vfio (type1v2)
                         and the VF's group /dev/vfio/N (its iommu_group);

then, on that open:

  get (default)          GET VFIO_DEVICE_FEATURE_PASID_VF, and read the VF's config
                         space through VFIO: prints its extended capabilities as
                         lspci -vvv does (PASID and PRI decoded), then the feature.
  probe                  PROBE with GET and with SET: prints `probe get,set' (what
                         is supported); fails if neither is.
  set-offsets PASID PRI  SET VFIO_PASID_VF_SET_OFFSETS: places the emulated PASID
                         and PRI capabilities at these config offsets (hex with 0x,
                         or decimal; 0: where the driver chooses), then prints as get.
  hide                   SET VFIO_PASID_VF_SET_HIDE: presents no emulated
                         capability, then prints as get.
  --json                 prints one JSON object instead (keys below).

A SET holds for the open that made it: it ends when vpv-feature exits, so what
is printed after it, on the same open, shows its effect.

get prints:
  VF_BDF: opened through the iommufd cdev /dev/vfio/devices/vfioN
                                (or: through VFIO group N (legacy container))
  VFIO config space, extended capabilities:
      Capabilities: [OFF vN] NAME   a tab, then as lspci -vvv prints them, with
                                    the PASIDCap, PASIDCtl, PRICtl, PRISta and
                                    Page Request lines of PASID and PRI
  VFIO_DEVICE_FEATURE_PASID_VF:
then the feature, a tab and a `key value' line per field, in this order; a line
is printed only for a field the kernel wrote (size) and the flags mark valid
(pasid_*: pasid; pri_*: pri):
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

--json prints, on one line, every key always (numbers in decimal):
  {\"device\": BDF, \"open\": \"iommufd\"|\"group\",
   \"feature\": {\"size\", \"flags\", \"pf_pasid\": \"held\"|\"not held\"|\"lost\",
     \"pasid\": null|{\"version\", \"cap\", \"cap_known\", \"ctrl\", \"offset\", \"cap_presented\"},
     \"pri\": null|{\"version\", \"status\", \"status_known\", \"offset\", \"capacity\"}},
   \"config\": {\"ext_caps\": [{\"offset\", \"id\", \"version\"}, ...],
     \"pasid\": null|{\"offset\", \"version\", \"cap\", \"ctrl\"},
     \"pri\": null|{\"offset\", \"version\", \"ctrl\", \"status\", \"capacity\", \"allocation\"}}}
  feature.pasid/pri: null without that flag; config.pasid/pri: the first such
  capability of the chain, null if none.  For probe:
  {\"device\": BDF, \"open\": ..., \"probe\": {\"get\": true|false, \"set\": true|false}}

Exit status: 0 done, 1 error (what failed and its errno on stderr, nothing on
stdout), 2 usage.
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
    Run {
        bdf: String,
        op: Op,
        mode: OpenMode,
        json: bool,
    },
}

/// A config-space offset: `0x` hex or decimal.
fn parse_offset(s: &str) -> Result<u16, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("not an offset (0x hex or decimal, at most 0xffff): {s:?}"))
}

/// Parses the arguments after the program name: options anywhere, then VF_BDF and the
/// operation in this order.
fn parse_args(args: &[OsString]) -> Result<Cmd, String> {
    let args = args
        .iter()
        .map(|a| a.to_str().ok_or_else(|| format!("not UTF-8: {a:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    if args.iter().any(|&a| a == "--help" || a == "-h") {
        return Ok(Cmd::Help);
    }
    let mut mode = None;
    let mut json = false;
    let mut words = Vec::new();
    for &arg in &args {
        let chosen = match arg {
            "--json" => {
                json = true;
                continue;
            }
            "--iommufd" => OpenMode::Iommufd,
            "--group" => OpenMode::Group,
            opt if opt.starts_with('-') => return Err(format!("unknown option {opt:?}")),
            word => {
                words.push(word);
                continue;
            }
        };
        if mode.is_some_and(|m| m != chosen) {
            return Err("--iommufd and --group exclude each other".into());
        }
        mode = Some(chosen);
    }
    let (bdf, rest) = words.split_first().ok_or("VF_BDF is missing")?;
    let bdf = device::parse_bdf(bdf)
        .ok_or_else(|| format!("not a PCI address (dddd:bb:dd.f): {bdf:?}"))?;
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
    Ok(Cmd::Run {
        bdf,
        op,
        mode: mode.unwrap_or_default(),
        json,
    })
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

/// Runs `op` on the VF `bdf`, opened as `mode` says; the error is the message for stderr.
/// Nothing is written to `out` unless everything succeeded.
fn run(out: &mut impl Write, bdf: &str, op: Op, mode: OpenMode, json: bool) -> Result<(), String> {
    let vf = Vf::open(bdf, mode).map_err(|e| e.to_string())?;
    let fd = vf.fd();
    let fail = |name: &str, e: io::Error| {
        let what = format!(
            "VFIO_DEVICE_FEATURE {name} PASID_VF on {bdf} ({})",
            vf.opened().node()
        );
        let driver = device::driver_name(bdf);
        let hint = hint(op, e.raw_os_error(), driver.as_deref());
        Error::new(what, e).with_hint(hint).to_string()
    };
    let written = |e: io::Error| format!("writing the output: {e}");
    match op {
        Op::Probe => {
            // Each separately, so that what is supported is told apart from a failure.
            let mut probe = Probe {
                get: true,
                set: true,
            };
            let mut first_err = None;
            for (supported, flag, name) in [
                (&mut probe.get, VFIO_DEVICE_FEATURE_GET, "PROBE GET"),
                (&mut probe.set, VFIO_DEVICE_FEATURE_SET, "PROBE SET"),
            ] {
                if let Err(e) = vpv_feature::probe(fd, flag) {
                    if !vpv_feature::unsupported(&e) {
                        return Err(fail(name, e));
                    }
                    *supported = false;
                    first_err.get_or_insert((name, e));
                }
            }
            if let (false, false, Some((name, e))) = (probe.get, probe.set, first_err) {
                return Err(fail(name, e));
            }
            return if json {
                let line = report::probe_json(bdf, mode, probe);
                writeln!(out, "{line}").map_err(written)
            } else {
                report::write_probe_text(out, probe).map_err(written)
            };
        }
        Op::Get => {}
        Op::SetOffsets { pasid, pri } => vpv_feature::set_offsets(fd, pasid, pri)
            .map_err(|e| fail(&format!("SET offsets pasid={pasid:#x} pri={pri:#x}"), e))?,
        Op::Hide => vpv_feature::set_hide(fd).map_err(|e| fail("SET hide", e))?,
    }
    let info = vpv_feature::get(fd).map_err(|e| fail("GET", e))?;
    let cfg = vf.read_config().map_err(|e| e.to_string())?;
    let config = ExtConfig::parse(&cfg).map_err(|e| {
        format!(
            "the config space of {bdf} through VFIO ({}): {e}",
            vf.opened().node()
        )
    })?;
    let report = Report {
        bdf,
        opened: vf.opened(),
        info: &info,
        config: &config,
    };
    if json {
        writeln!(out, "{}", report::to_json(&report)).map_err(written)
    } else {
        report::write_text(out, &report).map_err(written)
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match parse_args(&args) {
        Ok(Cmd::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            let usage: Vec<&str> = USAGE.lines().take(2).collect();
            eprintln!(
                "vpv-feature: {msg}\n{}\n(--help for more)",
                usage.join("\n")
            );
            ExitCode::from(2)
        }
        Ok(Cmd::Run {
            bdf,
            op,
            mode,
            json,
        }) => {
            // Into a buffer: stdout gets all of the output or, on an error, none of it.
            let mut buf = Vec::new();
            let done = run(&mut buf, &bdf, op, mode, json).and_then(|()| {
                let mut stdout = io::stdout().lock();
                stdout
                    .write_all(&buf)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| format!("writing the output: {e}"))
            });
            match done {
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

    fn args(a: &[&str]) -> Result<Cmd, String> {
        parse_args(&a.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn run_cmd(bdf: &str, op: Op, mode: OpenMode, json: bool) -> Cmd {
        Cmd::Run {
            bdf: bdf.into(),
            op,
            mode,
            json,
        }
    }

    fn cdev(bdf: &str, op: Op) -> Cmd {
        run_cmd(bdf, op, OpenMode::Iommufd, false)
    }

    #[test]
    fn command_lines() {
        let vf = "0000:3b:02.0";
        assert_eq!(args(&[vf]), Ok(cdev(vf, Op::Get)));
        assert_eq!(args(&[vf, "get"]), Ok(cdev(vf, Op::Get)));
        assert_eq!(args(&["3b:02.0", "probe"]), Ok(cdev(vf, Op::Probe)));
        assert_eq!(args(&[vf, "hide"]), Ok(cdev(vf, Op::Hide)));
        assert_eq!(
            args(&[vf, "set-offsets", "0xff8", "4072"]),
            Ok(cdev(
                vf,
                Op::SetOffsets {
                    pasid: 0xff8,
                    pri: 0xfe8
                }
            ))
        );
        assert_eq!(
            args(&[vf, "set-offsets", "0", "0X100"]),
            Ok(cdev(
                vf,
                Op::SetOffsets {
                    pasid: 0,
                    pri: 0x100
                }
            ))
        );
        assert_eq!(args(&["--help"]), Ok(Cmd::Help));
        assert_eq!(args(&[vf, "get", "-h"]), Ok(Cmd::Help));
        assert_eq!(args(&["--group", "--frob", "-h"]), Ok(Cmd::Help));
    }

    #[test]
    fn options() {
        let vf = "0000:3b:02.0";
        let group = |op, json| run_cmd(vf, op, OpenMode::Group, json);
        assert_eq!(args(&["--group", vf]), Ok(group(Op::Get, false)));
        assert_eq!(args(&[vf, "probe", "--group"]), Ok(group(Op::Probe, false)));
        assert_eq!(
            args(&["--json", vf, "--group", "hide"]),
            Ok(group(Op::Hide, true))
        );
        assert_eq!(
            args(&["--iommufd", "--json", vf]),
            Ok(run_cmd(vf, Op::Get, OpenMode::Iommufd, true))
        );
        // Said twice is said once.
        assert_eq!(
            args(&["--group", "--json", vf, "--group", "--json"]),
            Ok(group(Op::Get, true))
        );
        assert_eq!(
            args(&[vf, "set-offsets", "0x400", "0", "--json"]),
            Ok(run_cmd(
                vf,
                Op::SetOffsets {
                    pasid: 0x400,
                    pri: 0
                },
                OpenMode::Iommufd,
                true
            ))
        );
        assert_eq!(
            args(&["--iommufd", vf, "--group"]),
            Err("--iommufd and --group exclude each other".into())
        );
        assert_eq!(
            args(&["--cdev", vf]),
            Err("unknown option \"--cdev\"".into())
        );
    }

    #[test]
    fn bad_command_lines() {
        let vf = "0000:3b:02.0";
        for bad in [
            &[][..],
            &["--json"],
            &["--verbose"],
            &["nonsense"],
            &["get", vf],
            &[vf, "frob"],
            &[vf, "get", "more"],
            &[vf, "set-offsets", "0x100"],
            &[vf, "set-offsets", "0x100", "0x110", "0x120"],
            &[vf, "set-offsets", "0x10000", "0"],
            &[vf, "set-offsets", "ff8", "0"],
            &[vf, "set-offsets", "-1", "0"],
            &[vf, "--group", "--iommufd"],
            &[vf, "-j"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usage_names_every_option_and_operation() {
        for word in [
            "--iommufd",
            "--group",
            "--json",
            "--help",
            "get",
            "probe",
            "set-offsets PASID PRI",
            "hide",
        ] {
            assert!(USAGE.contains(word), "{word}");
        }
        assert!(USAGE.starts_with(
            "Usage: vpv-feature [--iommufd|--group] [--json] VF_BDF [get|probe|set-offsets PASID PRI|hide]\n"
        ));
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

    #[test]
    fn run_on_a_missing_device_prints_nothing() {
        for json in [false, true] {
            let mut out = Vec::new();
            let err = run(&mut out, "ffff:ff:1f.7", Op::Get, OpenMode::Iommufd, json).unwrap_err();
            assert!(err.contains("ENOENT"), "{err}");
            assert!(out.is_empty());
        }
    }
}
