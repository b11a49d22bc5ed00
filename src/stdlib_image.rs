//! The embedded stdlib zip, and how CPython's zipimport gets to read it.
//!
//! On Linux the bytes go into an anonymous memory file (memfd) and sys.path names it as
//! `/proc/self/fd/N`: nothing is written to disk. Where that cannot work (no memfd, or no
//! /proc, as in an empty chroot), the zip is written once to a content-addressed file,
//! `<cache>/rpyc-bridge/stdlib-<sha256>.zip` (`$XDG_CACHE_HOME`, else `$HOME/.cache`, else
//! the temp dir), reused by every later process and never rewritten.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

pub static STDLIB_ZIP: &[u8] = include_bytes!(env!("RPYC_BRIDGE_STDLIB_ZIP"));
const STDLIB_SHA256: &str = env!("RPYC_BRIDGE_STDLIB_SHA256");

/// A path zipimport can open for the embedded zip.
pub fn materialize() -> Result<PathBuf, String> {
    #[cfg(target_os = "linux")]
    if let Some(path) = memfd::path() {
        return Ok(path);
    }
    content_addressed_file()
}

fn content_addressed_file() -> Result<PathBuf, String> {
    let dir = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("rpyc-bridge");
    let path = dir.join(format!("stdlib-{}.zip", &STDLIB_SHA256[..32]));
    if fs::read(&path).is_ok_and(|existing| existing == STDLIB_ZIP) {
        return Ok(path);
    }
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(
        ".stdlib-{}.{}.tmp",
        &STDLIB_SHA256[..32],
        std::process::id()
    ));
    let mut file =
        fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(STDLIB_ZIP)
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, &path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(target_os = "linux")]
mod memfd {
    use super::STDLIB_ZIP;
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::{FromRawFd, IntoRawFd};
    use std::path::PathBuf;

    /// `/proc/self/fd/N` of a sealed memfd holding the zip, if memfd and /proc both work.
    pub fn path() -> Option<PathBuf> {
        // SAFETY: the name is a valid C string; memfd_create has no other preconditions.
        let fd = unsafe {
            libc::memfd_create(
                c"rpyc-bridge-stdlib.zip".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let mut file = unsafe { File::from_raw_fd(fd) };
        file.write_all(STDLIB_ZIP).ok()?;
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: fcntl on a valid memfd; a failure only means the file stays unsealed.
        unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) };
        let path = PathBuf::from(format!("/proc/self/fd/{fd}"));
        if std::fs::metadata(&path).map(|m| m.len()).ok()? != STDLIB_ZIP.len() as u64 {
            return None; // no /proc: dropping `file` closes the memfd
        }
        // The fd lives as long as the process: zipimport reopens the path on every import.
        let _ = file.into_raw_fd();
        Some(path)
    }
}
