// SPDX-License-Identifier: GPL-2.0

//! The Rust uAPI against the C headers, so that the two cannot drift.
//!
//! One table below lists every struct with every field, and every constant, that the crate
//! defines or takes from vfio-bindings: the uAPI of `<linux/vfio_pasid_vf.h>`, what it uses
//! of `<linux/vfio.h>`, and the `<linux/pci_regs.h>` names of `src/config.rs`.  From it the
//! test writes a C program that prints, for each, `sizeof`, `_Alignof`, `offsetof`, the
//! field's size and signedness, and each constant's value, compiles it with the system C
//! compiler (`$CC`, else `cc`) against the repository's `include/uapi` and the kernel's
//! installed uapi headers (`$(kernel_build lean)/usr/include` of scripts/lib.sh if it
//! exists, else /usr/include), runs it, and compares each line with the same key computed
//! in Rust.  It also checks that every `#define` of `include/uapi/linux/vfio_pasid_vf.h`
//! is in the table, so a constant added there fails here until it is added in Rust.
//!
//! Without a C compiler, or headers that compile, the test fails: it never passes
//! without having compared.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use vfio_bindings::bindings::vfio::{
    vfio_device_feature, //
    VFIO_DEVICE_FEATURE_GET,
    VFIO_DEVICE_FEATURE_MASK,
    VFIO_DEVICE_FEATURE_PROBE,
    VFIO_DEVICE_FEATURE_SET,
    VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_REGION_INFO_FLAG_READ,
};
use vpv_feature::config::*;
use vpv_feature::*;

/// Signedness of a field type, as C's `(T)-1 < 0`.
trait Int {
    const SIGNED: bool;
}
impl Int for u8 {
    const SIGNED: bool = false;
}
impl Int for u16 {
    const SIGNED: bool = false;
}
impl Int for u32 {
    const SIGNED: bool = false;
}

fn size_of_field<S, F: Int>(_: fn(&S) -> &F) -> (usize, bool) {
    (size_of::<F>(), F::SIGNED)
}

/// The expected lines (key → value) and the C statements that print them.
#[derive(Default)]
struct Table {
    rust: BTreeMap<String, u64>,
    c: String,
    consts: Vec<&'static str>,
}

impl Table {
    fn line(&mut self, key: String, rust: u64, c_expr: String) {
        writeln!(
            self.c,
            "\tprintf(\"%s %llu\\n\", \"{key}\", (unsigned long long)({c_expr}));"
        )
        .unwrap();
        assert!(self.rust.insert(key, rust).is_none());
    }
}

fn u(v: usize) -> u64 {
    u64::try_from(v).unwrap()
}

/// `structs!(table, RustType => "c_struct_name" { field, ... }, ...)`
macro_rules! structs {
    ($t:ident, $($rs:ty => $c:literal { $($f:ident),* $(,)? }),* $(,)?) => {$(
        $t.line(format!("sizeof {}", $c), u(size_of::<$rs>()), format!("sizeof(struct {})", $c));
        $t.line(format!("alignof {}", $c), u(align_of::<$rs>()), format!("_Alignof(struct {})", $c));
        $(
            let f = stringify!($f);
            let (size, signed) = size_of_field(|s: &$rs| &s.$f);
            $t.line(format!("offsetof {}.{}", $c, f), u(offset_of!($rs, $f)),
                format!("offsetof(struct {}, {})", $c, f));
            $t.line(format!("sizeof {}.{}", $c, f), u(size),
                format!("sizeof(((struct {} *)0)->{})", $c, f));
            $t.line(format!("signed {}.{}", $c, f), u64::from(signed),
                format!("(__typeof__(((struct {} *)0)->{}))-1 < 0", $c, f));
        )*
    )*};
}

/// `consts!(table, NAME, ...)`: Rust and C use the same name.
macro_rules! consts {
    ($t:ident, $($name:ident),* $(,)?) => {$(
        $t.line(format!("const {}", stringify!($name)), u64::from($name), stringify!($name).to_owned());
        $t.consts.push(stringify!($name));
    )*};
}

fn table() -> Table {
    let mut t = Table::default();
    structs!(t,
        // vfio-bindings', the header of the feature's argument.
        vfio_device_feature => "vfio_device_feature" { argsz, flags },
        VfioDeviceFeaturePasidVf => "vfio_device_feature_pasid_vf" {
            size, flags, pasid_version, pri_version, pf_pasid, pasid_cap, pasid_cap_known,
            pasid_ctrl, pasid_offset, pasid_cap_presented, pri_status, pri_status_known,
            pri_offset, pri_capacity,
        },
        VfioDeviceFeaturePasidVfSet => "vfio_device_feature_pasid_vf_set" {
            flags, pasid_offset, pri_offset, reserved,
        },
    );
    // The crate puts the payload right after the header (at its size), where the C
    // struct's flexible array data[] starts.
    t.line(
        "offsetof vfio_device_feature.data".into(),
        u(size_of::<vfio_device_feature>()),
        "offsetof(struct vfio_device_feature, data)".into(),
    );
    consts!(
        t,
        // <linux/vfio.h>: the ioctl number is the crate's, the rest vfio-bindings'.
        VFIO_DEVICE_FEATURE,
        VFIO_DEVICE_FEATURE_MASK,
        VFIO_DEVICE_FEATURE_GET,
        VFIO_DEVICE_FEATURE_SET,
        VFIO_DEVICE_FEATURE_PROBE,
        VFIO_PCI_CONFIG_REGION_INDEX,
        VFIO_REGION_INFO_FLAG_READ,
        // <linux/pci_regs.h>, as src/config.rs names them.
        PCI_CFG_SPACE_SIZE,
        PCI_CFG_SPACE_EXP_SIZE,
        PCI_EXT_CAP_ID_ERR,
        PCI_EXT_CAP_ID_VNDR,
        PCI_EXT_CAP_ID_ACS,
        PCI_EXT_CAP_ID_ARI,
        PCI_EXT_CAP_ID_ATS,
        PCI_EXT_CAP_ID_SRIOV,
        PCI_EXT_CAP_ID_PRI,
        PCI_EXT_CAP_ID_PASID,
        PCI_VNDR_HEADER,
        PCI_PRI_CTRL,
        PCI_PRI_CTRL_ENABLE,
        PCI_PRI_CTRL_RESET,
        PCI_PRI_STATUS,
        PCI_PRI_STATUS_RF,
        PCI_PRI_STATUS_UPRGI,
        PCI_PRI_STATUS_STOPPED,
        PCI_PRI_STATUS_PASID,
        PCI_PRI_MAX_REQ,
        PCI_PRI_ALLOC_REQ,
        PCI_EXT_CAP_PRI_SIZEOF,
        PCI_PASID_CAP,
        PCI_PASID_CAP_EXEC,
        PCI_PASID_CAP_PRIV,
        PCI_PASID_CAP_WIDTH,
        PCI_PASID_CTRL,
        PCI_PASID_CTRL_ENABLE,
        PCI_PASID_CTRL_EXEC,
        PCI_PASID_CTRL_PRIV,
        PCI_EXT_CAP_PASID_SIZEOF,
        // <linux/vfio_pasid_vf.h>
        VFIO_DEVICE_FEATURE_PASID_VF,
        VFIO_PASID_VF_PASID,
        VFIO_PASID_VF_PRI,
        VFIO_PASID_VF_HIDDEN,
        VFIO_PASID_VF_PF_PASID_NOT_HELD,
        VFIO_PASID_VF_PF_PASID_HELD,
        VFIO_PASID_VF_PF_PASID_LOST,
        VFIO_PASID_VF_SET_OFFSETS,
        VFIO_PASID_VF_SET_HIDE,
    );
    t
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The kernel's installed uapi headers: `$(kernel_build lean)/usr/include` of
/// scripts/lib.sh if it exists, else /usr/include.
fn kernel_headers(root: &Path) -> PathBuf {
    let out = Command::new("bash")
        .arg("-c")
        .arg("source \"$1\" && kernel_build lean")
        .arg("bash")
        .arg(root.join("scripts/lib.sh"))
        .output();
    if let Ok(out) = out {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let headers = Path::new(&dir).join("usr/include");
        if out.status.success() && !dir.is_empty() && headers.join("linux/vfio.h").is_file() {
            return headers;
        }
    }
    PathBuf::from("/usr/include")
}

/// `#define NAME` of a header, except its include guard.
fn defines(header: &Path) -> Vec<String> {
    let text = fs::read_to_string(header).unwrap_or_else(|e| panic!("{}: {e}", header.display()));
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("#define"))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| !name.starts_with("_UAPI_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_define_of_the_header_is_checked() {
    let header = repo_root().join("include/uapi/linux/vfio_pasid_vf.h");
    let t = table();
    let defines = defines(&header);
    assert!(
        defines.len() >= 9,
        "too few #defines in {}: {defines:?}",
        header.display()
    );
    for name in &defines {
        assert!(
            t.consts.contains(&name.as_str()),
            "{name} of {} is not in the Rust crate (add it to src/lib.rs and to tests/layout.rs)",
            header.display()
        );
    }
}

#[test]
fn rust_layout_matches_the_c_headers() {
    let root = repo_root();
    let uapi = root.join("include/uapi");
    let kheaders = kernel_headers(&root);
    let t = table();

    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("layout");
    fs::create_dir_all(&tmp).unwrap();
    let src = tmp.join("layout.c");
    let exe = tmp.join("layout");
    let program = format!(
        "/* Generated by tools/vpv-feature/tests/layout.rs. */\n\
         #include <stddef.h>\n#include <stdio.h>\n\
         #include <linux/vfio.h>\n#include <linux/pci_regs.h>\n#include <linux/vfio_pasid_vf.h>\n\n\
         int main(void)\n{{\n{}\treturn 0;\n}}\n",
        t.c
    );
    fs::write(&src, program).unwrap();

    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(&uapi)
        .arg("-isystem")
        .arg(&kheaders)
        .arg(&src);
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!(
            "the layout test needs a C compiler and found none: running {cc:?} failed: {e}.  \
             Install one (apt-get install gcc) or set CC; the Rust layout was NOT checked \
             against include/uapi/linux/vfio_pasid_vf.h"
        ),
    };
    assert!(
        out.status.success(),
        "compiling {} failed ({cc} with -I {} -isystem {}); the kernel's uapi headers must have \
         <linux/vfio.h> and <linux/pci_regs.h> with PCI_PRI_STATUS_PASID (scripts/setup.sh \
         builds them):\n{}",
        src.display(),
        uapi.display(),
        kheaders.display(),
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success(), "{} failed", exe.display());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut c = BTreeMap::new();
    for line in stdout.lines() {
        let (key, value) = line.rsplit_once(' ').unwrap();
        c.insert(key.to_owned(), value.parse::<u64>().unwrap());
    }
    assert_eq!(
        c.len(),
        t.rust.len(),
        "the C program printed {} lines for {} keys",
        c.len(),
        t.rust.len()
    );

    let mismatches: Vec<String> = t
        .rust
        .iter()
        .filter(|&(k, v)| c.get(k) != Some(v))
        .map(|(k, v)| format!("{k}: Rust {v}, C {:?}", c.get(k)))
        .collect();
    assert!(
        mismatches.is_empty(),
        "the Rust uAPI differs from the C headers (-I {} -isystem {}):\n{}",
        uapi.display(),
        kheaders.display(),
        mismatches.join("\n")
    );
    eprintln!(
        "layout: {} sizes, offsets and constants match the C headers (-I {} -isystem {})",
        t.rust.len(),
        uapi.display(),
        kheaders.display()
    );
}
