//! Every environment variable the build script reads goes through here, so that each one
//! is declared to cargo with `rerun-if-env-changed`.

use std::env;
use std::path::PathBuf;

/// Reads `name`, and tells cargo to re-run the build script when it changes.
pub fn env(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reads a variable that cargo itself always sets for build scripts.
pub fn cargo_env(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name}; run the build through cargo"))
}

pub fn env_path(name: &str) -> Option<PathBuf> {
    env(name).map(PathBuf::from)
}

/// True for "1", "true", "yes" (any case).
pub fn env_flag(name: &str) -> bool {
    matches!(
        env(name).map(|v| v.to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes")
    )
}
