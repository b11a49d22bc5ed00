//! Entries of the cache directory are written once, under a lock, and renamed into place
//! when complete, so concurrent builds and interrupted builds never see half an entry.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// Holds an exclusive lock on `<cache>/locks/<key>.lock` until dropped.
pub struct CacheLock(#[allow(dead_code)] File);

pub fn lock(cache_dir: &Path, key: &str) -> Result<CacheLock, String> {
    let dir = cache_dir.join("locks");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{key}.lock"));
    let file = File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(CacheLock(file))
}

/// Builds the entry `final_dir` with `fill` (which receives a scratch directory) unless it
/// already exists. `complete_marker` is a path relative to the entry that only a finished
/// entry has.
pub fn ensure_entry(
    cache_dir: &Path,
    key: &str,
    final_dir: &Path,
    complete_marker: &str,
    fill: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    if final_dir.join(complete_marker).exists() {
        return Ok(final_dir.to_path_buf());
    }
    let _guard = lock(cache_dir, key)?;
    if final_dir.join(complete_marker).exists() {
        return Ok(final_dir.to_path_buf());
    }
    // Beside the entry, named after all of it: `with_extension` would cut names like
    // cpython-3.13.5-... at their first version dot and give several entries one scratch.
    let mut scratch_name = final_dir.file_name().unwrap_or_default().to_os_string();
    scratch_name.push(".partial");
    let scratch = final_dir.with_file_name(scratch_name);
    remove_dir_if_exists(&scratch)?;
    fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    if let Err(e) = fill(&scratch) {
        let _ = fs::remove_dir_all(&scratch);
        return Err(e);
    }
    if !scratch.join(complete_marker).exists() {
        return Err(format!(
            "internal error: cache entry {} was filled without {complete_marker}",
            scratch.display()
        ));
    }
    remove_dir_if_exists(final_dir)?;
    fs::rename(&scratch, final_dir)
        .map_err(|e| format!("cannot move {} into place: {e}", scratch.display()))?;
    Ok(final_dir.to_path_buf())
}

pub fn remove_dir_if_exists(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    Ok(())
}
