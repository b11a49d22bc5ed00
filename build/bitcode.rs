//! python-build-standalone's linux-gnu "full" archives hold LLVM bitcode (pgo+lto builds).
//! GNU ld and Go's external link cannot use bitcode, so it is lowered to native objects
//! with a clang whose LLVM is at least as new as the one that wrote it.

use crate::context::Context;
use crate::fetch::sha256_bytes;
use crate::run::run;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Lowerer {
    clang: PathBuf,
    target: String,
    dir: PathBuf,
}

impl Lowerer {
    /// Finds a clang for LLVM `need` or newer: `RPYC_BRIDGE_CLANG`, else `clang`, `clang-N` on PATH.
    pub fn find(ctx: &Context, need: u32) -> Result<Lowerer, String> {
        let mut candidates: Vec<PathBuf> = ctx.clang.iter().cloned().collect();
        candidates.push("clang".into());
        candidates.extend((need..need + 8).map(|v| PathBuf::from(format!("clang-{v}"))));
        let mut seen = Vec::new();
        for clang in candidates {
            match clang_major(&clang) {
                Some(v) if v >= need => {
                    return Ok(Lowerer {
                        clang,
                        target: ctx.target.clone(),
                        dir: ctx.out_dir.join("lowered"),
                    })
                }
                Some(v) => seen.push(format!("{} is LLVM {v}", clang.display())),
                None => {}
            }
        }
        Err(format!(
            "the distribution's objects are LLVM {need} bitcode, and no clang of LLVM {need} or newer was found \
             ({}); set RPYC_BRIDGE_CLANG to one",
            if seen.is_empty() { "none on PATH".to_string() } else { seen.join(", ") }
        ))
    }

    /// A native object for `obj`: lowered once per build directory if it is bitcode,
    /// itself otherwise.
    pub fn object(&self, obj: &Path) -> Result<PathBuf, String> {
        if !is_bitcode(obj) {
            return Ok(obj.to_path_buf());
        }
        fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        let key = sha256_bytes(&[obj.as_os_str().as_encoded_bytes()]);
        let out = self.dir.join(format!("{}.o", &key[..20]));
        if !out.exists() {
            run(Command::new(&self.clang)
                .args(["-c", "-O2", "-fPIC", "-x", "ir"])
                .arg(format!("--target={}", self.target))
                .arg(obj)
                .arg("-o")
                .arg(&out))?;
        }
        Ok(out)
    }

    /// A native static library for the bitcode archive `lib`: each member lowered.
    pub fn archive(&self, lib: &Path) -> Result<PathBuf, String> {
        let key = sha256_bytes(&[lib.as_os_str().as_encoded_bytes()]);
        let work = self.dir.join(format!("ar-{}", &key[..20]));
        let out_dir = work.join("lib");
        let name = lib.file_name().unwrap();
        let out = out_dir.join(name);
        if out.exists() {
            return Ok(out);
        }
        let members = work.join("members");
        fs::create_dir_all(&members).map_err(|e| e.to_string())?;
        fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
        run(Command::new("ar").current_dir(&members).arg("x").arg(lib))?;
        let mut lowered = Vec::new();
        for entry in fs::read_dir(&members).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            lowered.push(if is_bitcode(&path) {
                self.object(&path)?
            } else {
                path
            });
        }
        run(Command::new("ar").arg("rcs").arg(&out).args(&lowered))?;
        Ok(out)
    }
}

fn is_bitcode(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .map(|_| &magic == b"BC\xc0\xde" || magic == [0xde, 0xc0, 0x17, 0x0b])
        .unwrap_or(false)
}

fn clang_major(clang: &Path) -> Option<u32> {
    let out = Command::new(clang).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rest = text.split("clang version ").nth(1)?;
    rest.split('.').next()?.trim().parse().ok()
}
