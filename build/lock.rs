//! vendor-python/python.lock.toml: every pinned third-party file with its sha256.

use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
pub struct Lock {
    #[serde(rename = "cpython-source")]
    pub cpython_source: SourcePin,
    pub pbs: Vec<PbsPin>,
    pub wheel: Vec<FilePin>,
}

#[derive(Deserialize)]
pub struct SourcePin {
    pub version: String,
    pub sha256: String,
    pub urls: Vec<String>,
}

#[derive(Deserialize)]
pub struct PbsPin {
    pub target: String,
    pub file: String,
    pub sha256: String,
    pub url: String,
}

#[derive(Deserialize, Clone)]
pub struct FilePin {
    pub file: String,
    pub sha256: String,
    pub url: String,
}

impl Lock {
    pub fn read(path: &Path) -> Result<Lock, String> {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| format!("{} is not a valid lock file: {e}", path.display()))
    }

    pub fn pbs_for(&self, target: &str) -> Option<&PbsPin> {
        self.pbs.iter().find(|p| p.target == target)
    }

    /// The source tarball as a file pin, named after its version.
    pub fn source_file(&self) -> FilePin {
        let v = &self.cpython_source.version;
        FilePin {
            file: format!("Python-{v}.tar.xz"),
            sha256: self.cpython_source.sha256.clone(),
            url: self.cpython_source.urls.join(" "),
        }
    }
}
