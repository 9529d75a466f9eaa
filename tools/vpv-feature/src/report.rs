// SPDX-License-Identifier: GPL-2.0

//! What `vpv-feature` prints: a VF's extended capabilities as `lspci -vvv` shows them and
//! the feature as `key value` lines ([`write_text`]), or the same as one JSON object
//! ([`to_json`]); and the result of PROBE ([`write_probe_text`], [`probe_json`]).
//!
//! The JSON is written by hand (no serde): a handful of keys in a fixed order, integers
//! and three strings.  Its schema, which a C kselftest parses:
//!
//! ```text
//! {"device": "0000:01:10.0", "open": "iommufd" | "group",
//!  "feature": {"size": N, "flags": N, "pf_pasid": "held" | "not held" | "lost",
//!    "pasid": null | {"version": N, "cap": N, "cap_known": N, "ctrl": N, "offset": N,
//!                     "cap_presented": N},
//!    "pri": null | {"version": N, "status": N, "status_known": N, "offset": N,
//!                   "capacity": N}},
//!  "config": {"ext_caps": [{"offset": N, "id": N, "version": N}, ...],
//!    "pasid": null | {"offset": N, "version": N, "cap": N, "ctrl": N},
//!    "pri": null | {"offset": N, "version": N, "ctrl": N, "status": N, "capacity": N,
//!                   "allocation": N}}}
//! {"device": "0000:01:10.0", "open": "iommufd" | "group", "probe": {"get": B, "set": B}}
//! ```
//!
//! Every key is always there, in this order; numbers are decimal integers.
//! `feature.pasid` is `null` unless the flags have `VFIO_PASID_VF_PASID` (and the kernel
//! wrote every `pasid_*` field), likewise `feature.pri`; `feature.pf_pasid` is `null` only
//! if the kernel did not write it (a `size` below 12, which no kernel does).
//! `config.pasid` and `config.pri` are the first such capability of the chain, `null` if it
//! has none.

use std::io::{self, Write};

use crate::config::{Cap, ExtConfig};
use crate::device::{OpenMode, Opened};
use crate::{PasidVfInfo, VFIO_PASID_VF_HIDDEN, VFIO_PASID_VF_PASID, VFIO_PASID_VF_PRI};

// ---------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------

/// The flags of a GET, by name.
pub fn flag_names(flags: u32) -> String {
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

/// The `key value` lines of a GET, without indentation or newline: a line for each field
/// the kernel wrote (`size`) and the flags mark valid.
pub fn info_lines(info: &PasidVfInfo) -> Vec<String> {
    let mut lines = vec![
        format!("size {}", info.raw.size),
        format!("flags {}", flag_names(info.raw.flags)),
    ];
    if let Some(pf_pasid) = info.pf_pasid {
        lines.push(format!("pf_pasid {pf_pasid}"));
    }
    if let Some(p) = &info.pasid {
        lines.extend([
            format!("pasid_version {}", p.version),
            format!("pasid_cap {:#06x}", p.cap),
            format!("pasid_cap_known {:#06x}", p.cap_known),
            format!("pasid_ctrl {:#06x}", p.ctrl),
            format!("pasid_offset {:#05x}", p.offset.unwrap_or(0)),
            format!("pasid_cap_presented {:#06x}", p.cap_presented),
        ]);
    }
    if let Some(p) = &info.pri {
        lines.extend([
            format!("pri_version {}", p.version),
            format!("pri_status {:#06x}", p.status),
            format!("pri_status_known {:#06x}", p.status_known),
            format!("pri_offset {:#05x}", p.offset.unwrap_or(0)),
            format!("pri_capacity {:#010x}", p.capacity),
        ]);
    }
    lines
}

/// What `get` prints of an open VF.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The VF's PCI address.
    pub bdf: &'a str,
    /// How it was opened.
    pub opened: &'a Opened,
    /// The GET.
    pub info: &'a PasidVfInfo,
    /// Its extended capabilities, as VFIO shows them.
    pub config: &'a ExtConfig,
}

/// Writes `report` as text: how the VF was opened, its extended capabilities as
/// `lspci -vvv` prints them, then the GET's `key value` lines, indented by a tab.
pub fn write_text(out: &mut impl Write, report: &Report<'_>) -> io::Result<()> {
    writeln!(out, "{}: opened {}", report.bdf, report.opened)?;
    writeln!(out, "VFIO config space, extended capabilities:")?;
    if report.config.caps.is_empty() {
        writeln!(out, "\t(none)")?;
    }
    for line in report.config.caps.iter().flat_map(Cap::lspci_lines) {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "VFIO_DEVICE_FEATURE_PASID_VF:")?;
    for line in info_lines(report.info) {
        writeln!(out, "\t{line}")?;
    }
    Ok(())
}

/// What PROBE found: the feature with GET, with SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// PROBE with `VFIO_DEVICE_FEATURE_GET` succeeded.
    pub get: bool,
    /// PROBE with `VFIO_DEVICE_FEATURE_SET` succeeded.
    pub set: bool,
}

/// Writes `probe get,set` (or `probe get`, `probe set`, `probe none`).
pub fn write_probe_text(out: &mut impl Write, probe: Probe) -> io::Result<()> {
    let ops: Vec<&str> = [(probe.get, "get"), (probe.set, "set")]
        .into_iter()
        .filter_map(|(ok, name)| ok.then_some(name))
        .collect();
    if ops.is_empty() {
        writeln!(out, "probe none")
    } else {
        writeln!(out, "probe {}", ops.join(","))
    }
}

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------

/// A JSON value, as much of it as the output needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Json {
    Null,
    Bool(bool),
    Int(u64),
    Str(String),
    Array(Vec<Json>),
    /// Keys in the order they are written.
    Object(Vec<(&'static str, Json)>),
}

impl Json {
    /// `Some(v)` as `v`, `None` as `null`.
    fn or_null<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
        v.map_or(Json::Null, f)
    }

    /// Appends the value to `out`, `", "` and `": "` between items (one line).
    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(n) => out.push_str(&n.to_string()),
            Self::Str(s) => write_json_string(out, s),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_json_string(out, key);
                    out.push_str(": ");
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// `s` as a JSON string (RFC 8259: `"` and `\` escaped, control characters as `\u00XX`).
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn int(n: impl Into<u64>) -> Json {
    Json::Int(n.into())
}

/// `"device"` and `"open"`, the first members of every object.
fn head(bdf: &str, mode: OpenMode) -> Vec<(&'static str, Json)> {
    vec![
        ("device", Json::Str(bdf.to_owned())),
        ("open", Json::Str(mode.name().to_owned())),
    ]
}

fn feature_json(info: &PasidVfInfo) -> Json {
    Json::Object(vec![
        ("size", int(info.raw.size)),
        ("flags", int(info.raw.flags)),
        (
            "pf_pasid",
            Json::or_null(info.pf_pasid, |p| Json::Str(p.to_string())),
        ),
        (
            "pasid",
            Json::or_null(info.pasid, |p| {
                Json::Object(vec![
                    ("version", int(p.version)),
                    ("cap", int(p.cap)),
                    ("cap_known", int(p.cap_known)),
                    ("ctrl", int(p.ctrl)),
                    ("offset", int(p.offset.unwrap_or(0))),
                    ("cap_presented", int(p.cap_presented)),
                ])
            }),
        ),
        (
            "pri",
            Json::or_null(info.pri, |p| {
                Json::Object(vec![
                    ("version", int(p.version)),
                    ("status", int(p.status)),
                    ("status_known", int(p.status_known)),
                    ("offset", int(p.offset.unwrap_or(0))),
                    ("capacity", int(p.capacity)),
                ])
            }),
        ),
    ])
}

fn config_json(config: &ExtConfig) -> Json {
    let ext_caps = config
        .caps
        .iter()
        .map(|c| {
            Json::Object(vec![
                ("offset", int(c.header.offset)),
                ("id", int(c.header.id)),
                ("version", int(c.header.version)),
            ])
        })
        .collect();
    Json::Object(vec![
        ("ext_caps", Json::Array(ext_caps)),
        (
            "pasid",
            Json::or_null(config.pasid(), |(h, r)| {
                Json::Object(vec![
                    ("offset", int(h.offset)),
                    ("version", int(h.version)),
                    ("cap", int(r.cap)),
                    ("ctrl", int(r.ctrl)),
                ])
            }),
        ),
        (
            "pri",
            Json::or_null(config.pri(), |(h, r)| {
                Json::Object(vec![
                    ("offset", int(h.offset)),
                    ("version", int(h.version)),
                    ("ctrl", int(r.ctrl)),
                    ("status", int(r.status)),
                    ("capacity", int(r.max_req)),
                    ("allocation", int(r.alloc_req)),
                ])
            }),
        ),
    ])
}

/// `report` as one JSON object on one line, without a newline (see the module's schema).
pub fn to_json(report: &Report<'_>) -> String {
    let mut members = head(report.bdf, report.opened.mode());
    members.push(("feature", feature_json(report.info)));
    members.push(("config", config_json(report.config)));
    let mut out = String::new();
    Json::Object(members).write(&mut out);
    out
}

/// The result of PROBE as one JSON object on one line, without a newline.
pub fn probe_json(bdf: &str, mode: OpenMode, probe: Probe) -> String {
    let mut members = head(bdf, mode);
    members.push((
        "probe",
        Json::Object(vec![
            ("get", Json::Bool(probe.get)),
            ("set", Json::Bool(probe.set)),
        ]),
    ));
    let mut out = String::new();
    Json::Object(members).write(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{config, vf_config};
    use crate::config::{PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_PASID};
    use crate::{VfioDeviceFeaturePasidVf, VFIO_PASID_VF_PF_PASID_LOST};

    /// A GET of a VF presenting PASID at 0x1a0 and PRI at 0x1a8, both of its PF's.
    fn raw() -> VfioDeviceFeaturePasidVf {
        VfioDeviceFeaturePasidVf {
            size: 32,
            flags: VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI,
            pasid_version: 1,
            pri_version: 1,
            pf_pasid: 1,
            pasid_cap: 0x1406,
            pasid_cap_known: 0x1f06,
            pasid_ctrl: 0x1,
            pasid_offset: 0x1a0,
            pasid_cap_presented: 0x1406,
            pri_status: 0x8100,
            pri_status_known: 0x8103,
            pri_offset: 0x1a8,
            pri_capacity: 0x100,
        }
    }

    fn cdev() -> Opened {
        Opened::Iommufd("/dev/vfio/devices/vfio0".into())
    }

    fn lines(raw: VfioDeviceFeaturePasidVf) -> String {
        info_lines(&PasidVfInfo::decode(raw).unwrap()).join("\n")
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

    #[test]
    fn get_lines() {
        assert_eq!(
            lines(raw()),
            "size 32\n\
             flags pasid,pri\n\
             pf_pasid held\n\
             pasid_version 1\n\
             pasid_cap 0x1406\n\
             pasid_cap_known 0x1f06\n\
             pasid_ctrl 0x0001\n\
             pasid_offset 0x1a0\n\
             pasid_cap_presented 0x1406\n\
             pri_version 1\n\
             pri_status 0x8100\n\
             pri_status_known 0x8103\n\
             pri_offset 0x1a8\n\
             pri_capacity 0x00000100"
        );
        // Hidden, PASID only, its PASID lost: no pri_* lines, offset 0x000.
        let hidden = VfioDeviceFeaturePasidVf {
            flags: VFIO_PASID_VF_PASID | VFIO_PASID_VF_HIDDEN,
            pf_pasid: VFIO_PASID_VF_PF_PASID_LOST,
            pasid_offset: 0,
            pri_offset: 0,
            ..raw()
        };
        assert_eq!(
            lines(hidden),
            "size 32\n\
             flags pasid,hidden\n\
             pf_pasid lost\n\
             pasid_version 1\n\
             pasid_cap 0x1406\n\
             pasid_cap_known 0x1f06\n\
             pasid_ctrl 0x0001\n\
             pasid_offset 0x000\n\
             pasid_cap_presented 0x1406"
        );
        // Not held; a size that stops after pf_pasid.
        let bare = VfioDeviceFeaturePasidVf {
            size: 12,
            flags: VFIO_PASID_VF_PASID,
            pf_pasid: 0,
            ..raw()
        };
        assert_eq!(lines(bare), "size 12\nflags pasid\npf_pasid not held");
    }

    fn text(report: &Report<'_>) -> String {
        let mut out = Vec::new();
        write_text(&mut out, report).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn get_text() {
        let info = PasidVfInfo::decode(raw()).unwrap();
        let ext = ExtConfig::parse(&vf_config()).unwrap();
        let report = Report {
            bdf: "0000:01:10.0",
            opened: &cdev(),
            info: &info,
            config: &ext,
        };
        assert_eq!(
            text(&report),
            "0000:01:10.0: opened through the iommufd cdev /dev/vfio/devices/vfio0\n\
             VFIO config space, extended capabilities:\n\
             \tCapabilities: [100 v1] Advanced Error Reporting\n\
             \tCapabilities: [150 v1] Alternative Routing-ID Interpretation (ARI)\n\
             \tCapabilities: [1a0 v1] Process Address Space ID (PASID)\n\
             \t\tPASIDCap: Exec+ Priv+, Max PASID Width: 14\n\
             \t\tPASIDCtl: Enable- Exec- Priv-\n\
             \tCapabilities: [1a8 v1] Page Request Interface (PRI)\n\
             \t\tPRICtl: Enable- Reset-\n\
             \t\tPRISta: RF- UPRGI- Stopped+ PASID+\n\
             \t\tPage Request Capacity: 00000100, Page Request Allocation: 00000000\n\
             VFIO_DEVICE_FEATURE_PASID_VF:\n\
             \tsize 32\n\
             \tflags pasid,pri\n\
             \tpf_pasid held\n\
             \tpasid_version 1\n\
             \tpasid_cap 0x1406\n\
             \tpasid_cap_known 0x1f06\n\
             \tpasid_ctrl 0x0001\n\
             \tpasid_offset 0x1a0\n\
             \tpasid_cap_presented 0x1406\n\
             \tpri_version 1\n\
             \tpri_status 0x8100\n\
             \tpri_status_known 0x8103\n\
             \tpri_offset 0x1a8\n\
             \tpri_capacity 0x00000100\n"
        );
        // Hidden, through a group: no extended capability at all.
        let hidden = VfioDeviceFeaturePasidVf {
            size: 12,
            flags: VFIO_PASID_VF_HIDDEN,
            pf_pasid: 1,
            ..raw()
        };
        let info = PasidVfInfo::decode(hidden).unwrap();
        let ext = ExtConfig::default();
        let report = Report {
            bdf: "0000:01:10.0",
            opened: &Opened::Group(12),
            info: &info,
            config: &ext,
        };
        assert_eq!(
            text(&report),
            "0000:01:10.0: opened through VFIO group 12 (legacy container)\n\
             VFIO config space, extended capabilities:\n\
             \t(none)\n\
             VFIO_DEVICE_FEATURE_PASID_VF:\n\
             \tsize 12\n\
             \tflags hidden\n\
             \tpf_pasid held\n"
        );
    }

    #[test]
    fn get_json() {
        let info = PasidVfInfo::decode(raw()).unwrap();
        let ext = ExtConfig::parse(&vf_config()).unwrap();
        let report = Report {
            bdf: "0000:01:10.0",
            opened: &cdev(),
            info: &info,
            config: &ext,
        };
        assert_eq!(
            to_json(&report),
            concat!(
                r#"{"device": "0000:01:10.0", "open": "iommufd", "#,
                r#""feature": {"size": 32, "flags": 3, "pf_pasid": "held", "#,
                r#""pasid": {"version": 1, "cap": 5126, "cap_known": 7942, "ctrl": 1, "offset": 416, "cap_presented": 5126}, "#,
                r#""pri": {"version": 1, "status": 33024, "status_known": 33027, "offset": 424, "capacity": 256}}, "#,
                r#""config": {"ext_caps": [{"offset": 256, "id": 1, "version": 1}, {"offset": 336, "id": 14, "version": 1}, "#,
                r#"{"offset": 416, "id": 27, "version": 1}, {"offset": 424, "id": 19, "version": 1}], "#,
                r#""pasid": {"offset": 416, "version": 1, "cap": 5126, "ctrl": 0}, "#,
                r#""pri": {"offset": 424, "version": 1, "ctrl": 0, "status": 33024, "capacity": 256, "allocation": 0}}}"#
            )
        );
        // Hidden through a group, no PRI on the PF, AER only: the nulls.
        let hidden = VfioDeviceFeaturePasidVf {
            flags: VFIO_PASID_VF_PASID | VFIO_PASID_VF_HIDDEN,
            pf_pasid: 2,
            pasid_offset: 0,
            ..raw()
        };
        let info = PasidVfInfo::decode(hidden).unwrap();
        let ext = ExtConfig::parse(&config(&[(0x100, PCI_EXT_CAP_ID_ERR, 1, 0)], &[])).unwrap();
        let report = Report {
            bdf: "0000:01:10.1",
            opened: &Opened::Group(12),
            info: &info,
            config: &ext,
        };
        assert_eq!(
            to_json(&report),
            concat!(
                r#"{"device": "0000:01:10.1", "open": "group", "#,
                r#""feature": {"size": 32, "flags": 5, "pf_pasid": "lost", "#,
                r#""pasid": {"version": 1, "cap": 5126, "cap_known": 7942, "ctrl": 1, "offset": 0, "cap_presented": 5126}, "#,
                r#""pri": null}, "#,
                r#""config": {"ext_caps": [{"offset": 256, "id": 1, "version": 1}], "pasid": null, "pri": null}}"#
            )
        );
        // No capability at all; a PASID capability without PRI.
        let ext = ExtConfig::parse(&config(&[(0x100, PCI_EXT_CAP_ID_PASID, 1, 0)], &[])).unwrap();
        let report = Report {
            config: &ext,
            ..report
        };
        assert!(to_json(&report).ends_with(
            r#""config": {"ext_caps": [{"offset": 256, "id": 27, "version": 1}], "pasid": {"offset": 256, "version": 1, "cap": 0, "ctrl": 0}, "pri": null}}"#
        ));
    }

    #[test]
    fn probe_outputs() {
        let both = Probe {
            get: true,
            set: true,
        };
        assert_eq!(
            probe_json("0000:01:10.0", OpenMode::Iommufd, both),
            r#"{"device": "0000:01:10.0", "open": "iommufd", "probe": {"get": true, "set": true}}"#
        );
        let get_only = Probe {
            get: true,
            set: false,
        };
        assert_eq!(
            probe_json("0000:01:10.0", OpenMode::Group, get_only),
            r#"{"device": "0000:01:10.0", "open": "group", "probe": {"get": true, "set": false}}"#
        );
        let text = |p| {
            let mut out = Vec::new();
            write_probe_text(&mut out, p).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(both), "probe get,set\n");
        assert_eq!(text(get_only), "probe get\n");
        assert_eq!(
            text(Probe {
                get: false,
                set: true
            }),
            "probe set\n"
        );
    }

    #[test]
    fn json_strings() {
        let mut out = String::new();
        write_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        let mut out = String::new();
        Json::Array(vec![Json::Null, Json::Bool(false), Json::Int(u64::MAX)]).write(&mut out);
        assert_eq!(out, "[null, false, 18446744073709551615]");
    }
}
