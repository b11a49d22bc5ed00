//! What the build is for and where it may write: target, cache, network policy.

use crate::env::{cargo_env, env, env_flag, env_path};
use crate::lock::Lock;
use std::path::PathBuf;

pub struct Context {
    /// Rust target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub target: String,
    pub host: String,
    pub out_dir: PathBuf,
    pub manifest_dir: PathBuf,
    /// Survives `cargo clean`: downloads, extracted and source-built distributions.
    pub cache_dir: PathBuf,
    /// Downloads are forbidden (`CARGO_NET_OFFLINE`, `RPYC_BRIDGE_OFFLINE`).
    pub offline: bool,
    pub from_source: bool,
    pub dist_override: Option<String>,
    pub dist_override_sha256: Option<String>,
    pub clang: Option<PathBuf>,
    /// A Python of the same X.Y that runs on the host, for cross builds.
    pub build_python: Option<PathBuf>,
    pub jobs: String,
    /// zlib built for the target by libz-sys (`DEP_Z_ROOT`, `DEP_Z_INCLUDE`).
    pub zlib_root: PathBuf,
    pub zlib_include: PathBuf,
    pub lock: Lock,
}

impl Context {
    pub fn from_env() -> Result<Self, String> {
        let manifest_dir = PathBuf::from(cargo_env("CARGO_MANIFEST_DIR")?);
        let lock = Lock::read(&manifest_dir.join("vendor-python/python.lock.toml"))?;
        let zlib_root = PathBuf::from(cargo_env("DEP_Z_ROOT")?);
        let zlib_include = env_path("DEP_Z_INCLUDE").unwrap_or_else(|| zlib_root.join("include"));
        Ok(Context {
            target: cargo_env("TARGET")?,
            host: cargo_env("HOST")?,
            out_dir: PathBuf::from(cargo_env("OUT_DIR")?),
            cache_dir: cache_dir()?,
            offline: env_flag("CARGO_NET_OFFLINE") || env_flag("RPYC_BRIDGE_OFFLINE"),
            from_source: env_flag("RPYC_BRIDGE_PYTHON_FROM_SOURCE"),
            dist_override: env("RPYC_BRIDGE_PYTHON_DIST"),
            dist_override_sha256: env("RPYC_BRIDGE_PYTHON_DIST_SHA256"),
            clang: env_path("RPYC_BRIDGE_CLANG"),
            build_python: env_path("RPYC_BRIDGE_BUILD_PYTHON"),
            jobs: env("NUM_JOBS").unwrap_or_else(|| "2".into()),
            zlib_root,
            zlib_include,
            manifest_dir,
            lock,
        })
    }

    pub fn is_cross(&self) -> bool {
        self.host != self.target
    }

    pub fn downloads_dir(&self) -> PathBuf {
        self.cache_dir.join("downloads")
    }
}

/// `RPYC_BRIDGE_CACHE_DIR`, else the user's cache directory. Never under target/, so that
/// `cargo clean` does not mean compiling CPython again.
fn cache_dir() -> Result<PathBuf, String> {
    if let Some(dir) = env_path("RPYC_BRIDGE_CACHE_DIR") {
        return Ok(dir);
    }
    if let Some(xdg) = env_path("XDG_CACHE_HOME") {
        return Ok(xdg.join("rpyc-bridge"));
    }
    let home = env_path("HOME")
        .ok_or("neither RPYC_BRIDGE_CACHE_DIR nor HOME is set; set RPYC_BRIDGE_CACHE_DIR to a writable directory")?;
    if cfg!(target_os = "macos") {
        Ok(home.join("Library/Caches/rpyc-bridge"))
    } else {
        Ok(home.join(".cache/rpyc-bridge"))
    }
}
