//! PYTHON.json (python-build-standalone distribution format 8): the fields we consume.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
pub struct PythonJson {
    pub version: String,
    pub target_triple: String,
    pub python_version: String,
    pub python_major_minor_version: String,
    pub python_exe: String,
    pub python_stdlib: String,
    #[serde(default)]
    pub python_include: Option<String>,
    pub build_info: BuildInfo,
}

#[derive(Deserialize)]
pub struct BuildInfo {
    pub core: Core,
    pub extensions: BTreeMap<String, Vec<Extension>>,
    #[serde(default)]
    pub inittab_object: Option<String>,
    #[serde(default)]
    pub inittab_source: Option<String>,
    #[serde(default)]
    pub inittab_cflags: Vec<String>,
    /// `elf`, `mach-o`, or `llvm-bitcode:<LLVM major>`.
    #[serde(default = "default_format")]
    pub object_file_format: String,
}

fn default_format() -> String {
    "elf".into()
}

#[derive(Deserialize)]
pub struct Core {
    #[serde(default)]
    pub objs: Vec<String>,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub static_lib: Option<String>,
}

#[derive(Deserialize)]
pub struct Extension {
    pub in_core: bool,
    #[serde(default)]
    pub init_fn: Option<String>,
    #[serde(default)]
    pub objs: Vec<String>,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct Link {
    pub name: String,
    #[serde(default)]
    pub path_static: Option<String>,
    #[serde(default)]
    pub system: bool,
    #[serde(default)]
    pub framework: bool,
}

/// A distribution on disk: the directory that holds `python/PYTHON.json`.
pub struct Distribution {
    pub root: PathBuf,
    pub info: PythonJson,
    /// How it was obtained, for the build's report.
    pub origin: String,
}

impl Distribution {
    pub fn open(root: &Path, origin: String) -> Result<Distribution, String> {
        let path = root.join("python/PYTHON.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{} is not a python-build-standalone \"full\" distribution: cannot read {}: {e}",
                root.display(),
                path.display()
            )
        })?;
        let info: PythonJson = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid: {e}", path.display()))?;
        if info.version != "8" {
            return Err(format!(
                "{}: PYTHON.json format {} is not supported (this build reads format 8)",
                path.display(),
                info.version
            ));
        }
        Ok(Distribution {
            root: root.to_path_buf(),
            info,
            origin,
        })
    }

    /// A path from PYTHON.json, which are relative to the `python/` directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join("python").join(rel)
    }

    /// The LLVM major version whose bitcode the objects are, if they are bitcode.
    pub fn bitcode_llvm_version(&self) -> Option<u32> {
        self.info
            .build_info
            .object_file_format
            .strip_prefix("llvm-bitcode:")
            .and_then(|v| v.split('.').next()?.parse().ok())
    }
}
