//! Downloads into the cache, each one checked against its pinned sha256.

use crate::context::Context;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A file to have locally: its name, hash, and where it may be downloaded from.
pub struct Wanted<'a> {
    pub file: &'a str,
    pub sha256: &'a str,
    pub urls: Vec<&'a str>,
}

/// Returns the cached copy of `want`, downloading it first when the cache lacks it.
/// A cached copy is hashed again on every use, so a tampered file is refused.
pub fn fetch(ctx: &Context, want: &Wanted) -> Result<PathBuf, String> {
    let dir = ctx.downloads_dir().join(want.sha256);
    let path = dir.join(want.file);
    if path.exists() {
        verify(&path, want)?;
        return Ok(path);
    }
    if ctx.offline {
        return Err(format!(
            "{} is not in the cache and downloads are off (CARGO_NET_OFFLINE or RPYC_BRIDGE_OFFLINE).\n\
             Provide it in one of these ways:\n\
             - put the file (sha256 {}) at {}\n\
             - or set RPYC_BRIDGE_PYTHON_DIST to a directory or archive in python-build-standalone \"full\" layout\n\
             - or unset CARGO_NET_OFFLINE / RPYC_BRIDGE_OFFLINE",
            want.file,
            want.sha256,
            path.display()
        ));
    }
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut failures = Vec::new();
    for url in &want.urls {
        match download(url, &path) {
            Ok(()) => match verify(&path, want) {
                Ok(()) => return Ok(path),
                Err(e) => {
                    let _ = fs::remove_file(&path);
                    return Err(e);
                }
            },
            Err(e) => failures.push(format!("{url}: {e}")),
        }
    }
    // One line: cargo shows only the first line of a warning, and the build falls back to a
    // source build with this as its reason.
    if failures.is_empty() {
        failures.push("no URL is pinned for it".into());
    }
    Err(format!(
        "could not download {}: {}",
        want.file,
        failures.join("; ")
    ))
}

/// Fails, naming the file and both hashes, when `path` does not hash to the pin.
pub fn verify(path: &Path, want: &Wanted) -> Result<(), String> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(want.sha256) {
        Ok(())
    } else {
        Err(format!(
            "sha256 mismatch for {} ({}):\n  expected {}\n  actual   {}\n\
             The file is corrupt or was tampered with; delete it to download it again.",
            want.file,
            path.display(),
            want.sha256,
            actual
        ))
    }
}

pub fn sha256_file(path: &Path) -> Result<String, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn sha256_bytes(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A failed request, said plainly: the HTTP status, or what failed on the way.
fn download_error(err: ureq::Error) -> String {
    match err {
        ureq::Error::StatusCode(code) => format!("HTTP status {code}"),
        ureq::Error::Io(e) => format!("connection error: {e}"),
        ureq::Error::HostNotFound => "connection error: host not found".into(),
        ureq::Error::ConnectionFailed => "connection error: connection failed".into(),
        ureq::Error::Timeout(t) => format!("connection error: timed out ({t})"),
        e => e.to_string(),
    }
}

/// Streams `url` to `dest` through a temporary file, so an interrupted download never
/// looks complete.
fn download(url: &str, dest: &Path) -> Result<(), String> {
    eprintln!("rpyc-bridge: downloading {url}");
    let started = Instant::now();
    // The platform's trust store, so that a corporate or proxy CA installed there works.
    let agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .new_agent();
    let response = agent.get(url).call().map_err(download_error)?;
    let tmp = dest.with_extension("part");
    let mut out =
        File::create(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let mut body = response.into_body();
    let copied = io::copy(&mut body.as_reader(), &mut out).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    fs::rename(&tmp, dest).map_err(|e| format!("cannot move {}: {e}", tmp.display()))?;
    println!(
        "cargo:warning=rpyc-bridge: downloaded {url} ({:.1} MB in {:.1} s)",
        copied as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
