//! The embedded zip: the pure-Python stdlib (minus tests, IDLE, tkinter...), rpyc and
//! plumbum, and this crate's own Python runtime module, all as .pyc made by the same CPython.

use crate::cache;
use crate::context::Context;
use crate::fetch::{self, Wanted};
use crate::python_json::Distribution;
use crate::run::run;
use crate::zip_image;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bump when the layout of the zip changes.
const ZIP_RECIPE: &str = "6";

/// Writes `<OUT_DIR>/stdlib.zip` and tells the crate where it is.
pub fn build(ctx: &Context, dist: &Distribution) -> Result<PathBuf, String> {
    let python = compiling_python(ctx, dist)?;
    let script = ctx.manifest_dir.join("build/compile_stdlib.py");
    let runtime_dir = ctx.manifest_dir.join("src/python");
    println!("cargo:rerun-if-changed={}", runtime_dir.display());

    // The stdlib and wheels part only changes with the distribution and the pins: cached.
    let wheel_keys: Vec<&[u8]> = ctx.lock.wheel.iter().map(|w| w.sha256.as_bytes()).collect();
    let script_text =
        fs::read(&script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let mut parts: Vec<&[u8]> = vec![
        ZIP_RECIPE.as_bytes(),
        dist.root.as_os_str().as_encoded_bytes(),
        dist.info.python_version.as_bytes(),
        &script_text,
    ];
    parts.extend(wheel_keys);
    let key = format!("stdlib-{}", &fetch::sha256_bytes(&parts)[..16]);
    let tree = ctx.cache_dir.join("stdlib").join(&key);
    // The compressed zip of that part, and its dictionary, are cached too: zstd -19 takes
    // about a minute.
    cache::ensure_entry(&ctx.cache_dir, &key, &tree, "stdlib.zip", |scratch| {
        let wheels = scratch.join("wheels");
        for pin in &ctx.lock.wheel {
            let whl = fetch::fetch(
                ctx,
                &Wanted {
                    file: &pin.file,
                    sha256: &pin.sha256,
                    urls: vec![&pin.url],
                },
            )?;
            unzip(&whl, &wheels)?;
        }
        eprintln!("rpyc-bridge: compiling the stdlib, rpyc and plumbum to .pyc");
        let out = run(Command::new(&python)
            .arg("-I")
            .arg(&script)
            .arg(scratch.join("pyc"))
            .arg("--no-docstrings")
            .arg(dist.path(&dist.info.python_stdlib))
            .arg(&wheels))?;
        eprint!("{out}");
        cache::remove_dir_if_exists(&wheels)?;
        eprintln!("rpyc-bridge: compressing the stdlib zip (zstd -19 with a trained dictionary, about a minute)");
        let files = read_files(&scratch.join("pyc"))?;
        let samples: Vec<&[u8]> = files.iter().map(|(_, data)| data.as_slice()).collect();
        let dictionary = zip_image::train(&samples)?;
        let mut packer = zip_image::Packer::new(&dictionary)?;
        let entries = files
            .into_iter()
            .map(|(name, data)| packer.entry(name, &data))
            .collect::<Result<Vec<_>, _>>()?;
        zip_image::write(&scratch.join("stdlib.zip"), &entries)?;
        fs::write(scratch.join("stdlib.dict"), &dictionary).map_err(|e| e.to_string())?;
        cache::remove_dir_if_exists(&scratch.join("pyc"))
    })?;

    // The runtime module changes with this crate: compiled on every build-script run.
    let runtime_pyc = ctx.out_dir.join("runtime-pyc");
    cache::remove_dir_if_exists(&runtime_pyc)?;
    run(Command::new(&python)
        .arg("-I")
        .arg(&script)
        .arg(&runtime_pyc)
        .arg(&runtime_dir))?;

    let dictionary = fs::read(tree.join("stdlib.dict")).map_err(|e| e.to_string())?;
    let mut entries = zip_image::read(&tree.join("stdlib.zip"))?;
    let mut packer = zip_image::Packer::new(&dictionary)?;
    for (name, data) in read_files(&runtime_pyc)? {
        entries.push(packer.entry(name, &data)?);
    }
    let zip_path = ctx.out_dir.join("stdlib.zip");
    zip_image::write(&zip_path, &entries)?;
    // Stored compressed (it compresses to half); the runtime inflates it once.
    let dict_path = ctx.out_dir.join("stdlib.dict.zst");
    let packed = zstd::bulk::compress(&dictionary, zip_image::LEVEL).map_err(|e| e.to_string())?;
    fs::write(&dict_path, packed).map_err(|e| e.to_string())?;
    println!(
        "cargo:rustc-env=RPYC_BRIDGE_STDLIB_ZIP={}",
        zip_path.display()
    );
    println!(
        "cargo:rustc-env=RPYC_BRIDGE_STDLIB_DICT={}",
        dict_path.display()
    );
    println!(
        "cargo:rustc-env=RPYC_BRIDGE_STDLIB_SHA256={}",
        fetch::sha256_file(&zip_path)?
    );
    Ok(zip_path)
}

/// The Python that compiles the bytecode: the distribution's own, unless cross-compiling.
pub fn compiling_python(ctx: &Context, dist: &Distribution) -> Result<PathBuf, String> {
    if !ctx.is_cross() {
        return Ok(dist.path(&dist.info.python_exe));
    }
    let python = ctx.build_python.clone().ok_or_else(|| {
        format!(
            "cross-compiling for {}: set RPYC_BRIDGE_BUILD_PYTHON to a Python {} that runs here, to compile the stdlib",
            ctx.target, dist.info.python_major_minor_version
        )
    })?;
    let version = run(
        Command::new(&python).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    )?;
    if version.trim() != dist.info.python_major_minor_version {
        return Err(format!(
            "RPYC_BRIDGE_BUILD_PYTHON={} is Python {}, but the distribution is {}: bytecode must match",
            python.display(),
            version.trim(),
            dist.info.python_major_minor_version
        ));
    }
    Ok(python)
}

fn unzip(archive: &Path, dest: &Path) -> Result<(), String> {
    let file =
        File::open(archive).map_err(|e| format!("cannot open {}: {e}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", archive.display()))?;
    zip.extract(dest)
        .map_err(|e| format!("cannot extract {}: {e}", archive.display()))
}

/// The files under `root`, by their zip names, sorted (so the zip is reproducible).
fn read_files(root: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|(name, path)| {
            fs::read(&path)
                .map(|data| (name, data))
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        })
        .collect()
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    for entry in fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push((rel, path));
        }
    }
    Ok(())
}
