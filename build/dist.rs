//! Which CPython distribution to build against, in this order:
//! a. `RPYC_BRIDGE_PYTHON_DIST` (directory, archive, or URL);
//! b. the cache (a pinned PBS archive already extracted, or an earlier source build);
//! c. the pinned PBS archive for the target, downloaded and verified;
//! d. CPython built from the pinned source tarball.

use crate::bitcode::Lowerer;
use crate::cache;
use crate::context::Context;
use crate::fetch::{self, Wanted};
use crate::python_json::Distribution;
use crate::source::SourceBuild;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

pub fn resolve(ctx: &Context) -> Result<Distribution, String> {
    if let Some(spec) = &ctx.dist_override {
        return from_override(ctx, spec);
    }
    let pin = if ctx.from_source {
        None
    } else {
        ctx.lock.pbs_for(&ctx.target)
    };
    let mut why_source = match (ctx.from_source, pin) {
        (true, _) => "RPYC_BRIDGE_PYTHON_FROM_SOURCE is set".to_string(),
        (false, None) => format!(
            "no python-build-standalone archive is pinned for {}",
            ctx.target
        ),
        (false, Some(_)) => String::new(),
    };
    let source = SourceBuild::new(ctx)?;
    if let Some(pin) = pin {
        let entry = ctx
            .cache_dir
            .join("dist")
            .join(format!("pbs-{}", pin.sha256));
        let cached = entry.join("python/PYTHON.json").exists();
        // A warm cache never touches the network: an earlier source build wins over a download.
        let attempt = if !cached && source.is_cached() {
            Err("it is not cached, and a source build is".to_string())
        } else if cached || !ctx.offline {
            let want = Wanted {
                file: &pin.file,
                sha256: &pin.sha256,
                urls: vec![&pin.url],
            };
            extract_cached(ctx, &entry, &want).and_then(|root| {
                let how = if cached { "cached" } else { "downloaded" };
                usable(
                    ctx,
                    Distribution::open(
                        &root,
                        format!("python-build-standalone {} ({how})", pin.file),
                    )?,
                )
            })
        } else {
            Err("downloads are off (CARGO_NET_OFFLINE or RPYC_BRIDGE_OFFLINE)".to_string())
        };
        match attempt {
            Ok(dist) => return Ok(dist),
            Err(e) => {
                why_source = format!("the python-build-standalone archive cannot be used: {e}")
            }
        }
    }
    if !source.is_cached() {
        // cargo shows a warning's first line only.
        let why = why_source.replace('\n', "; ");
        println!("cargo:warning=rpyc-bridge: building CPython from source because {why}");
    }
    let root = source.build(ctx)?;
    Distribution::open(
        &root,
        format!(
            "CPython {} built from source",
            ctx.lock.cpython_source.version
        ),
    )
}

/// A PBS distribution is usable when its objects can be linked natively here.
fn usable(ctx: &Context, dist: Distribution) -> Result<Distribution, String> {
    if let Some(v) = dist.bitcode_llvm_version() {
        Lowerer::find(ctx, v)?;
    }
    Ok(dist)
}

fn from_override(ctx: &Context, spec: &str) -> Result<Distribution, String> {
    let origin = format!("RPYC_BRIDGE_PYTHON_DIST={spec}");
    if spec.starts_with("http://") || spec.starts_with("https://") {
        let sha256 = ctx.dist_override_sha256.as_deref().ok_or(
            "RPYC_BRIDGE_PYTHON_DIST is a URL; set RPYC_BRIDGE_PYTHON_DIST_SHA256 to the archive's sha256 as well",
        )?;
        let file = spec.rsplit('/').next().unwrap_or("dist.tar.zst");
        let entry = ctx.cache_dir.join("dist").join(format!("url-{sha256}"));
        let root = extract_cached(
            ctx,
            &entry,
            &Wanted {
                file,
                sha256,
                urls: vec![spec],
            },
        )?;
        return Distribution::open(&root, origin);
    }
    let path = PathBuf::from(spec);
    println!("cargo:rerun-if-changed={}", path.display());
    if path.is_dir() {
        let root = if path.join("python/PYTHON.json").exists() {
            path
        } else {
            path.join("..")
        };
        return Distribution::open(&root, origin);
    }
    if !path.is_file() {
        return Err(format!(
            "RPYC_BRIDGE_PYTHON_DIST={spec}: no such file or directory"
        ));
    }
    let sha256 = fetch::sha256_file(&path)?;
    let entry = ctx.cache_dir.join("dist").join(format!("local-{sha256}"));
    let root = cache::ensure_entry(
        &ctx.cache_dir,
        &format!("local-{sha256}"),
        &entry,
        "python/PYTHON.json",
        |scratch| unpack(&path, scratch),
    )?;
    Distribution::open(&root, origin)
}

/// The archive `want`, fetched (or taken from the download cache) and unpacked once into `entry`.
fn extract_cached(ctx: &Context, entry: &Path, want: &Wanted) -> Result<PathBuf, String> {
    let key = entry.file_name().unwrap().to_string_lossy().into_owned();
    cache::ensure_entry(
        &ctx.cache_dir,
        &key,
        entry,
        "python/PYTHON.json",
        |scratch| {
            let archive = fetch::fetch(ctx, want)?;
            unpack(&archive, scratch)
        },
    )
}

/// Unpacks a `.tar.zst`, `.tar.gz` or `.tar` archive into `dest`.
fn unpack(archive: &Path, dest: &Path) -> Result<(), String> {
    eprintln!("rpyc-bridge: unpacking {}", archive.display());
    let file =
        File::open(archive).map_err(|e| format!("cannot open {}: {e}", archive.display()))?;
    let name = archive.to_string_lossy();
    let reader: Box<dyn Read> = if name.ends_with(".zst") {
        Box::new(zstd::Decoder::new(file).map_err(|e| e.to_string())?)
    } else if name.ends_with(".gz") || name.ends_with(".tgz") {
        return Err(format!(
            "{name}: gzip archives are not supported; use .tar.zst as python-build-standalone does"
        ));
    } else {
        Box::new(file)
    };
    let mut tar = tar::Archive::new(reader);
    tar.set_preserve_permissions(true);
    tar.unpack(dest)
        .map_err(|e| format!("cannot unpack {}: {e}", archive.display()))?;
    if !dest.join("python/PYTHON.json").exists() {
        let _ = fs::remove_dir_all(dest);
        return Err(format!(
            "{} has no python/PYTHON.json: it is not a \"full\" distribution",
            archive.display()
        ));
    }
    Ok(())
}
