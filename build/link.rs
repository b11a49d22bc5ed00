//! Turns a distribution into link instructions for the staticlib: libpython (or its core
//! objects), the extension modules an rpyc client needs, and an inittab that names them.

use crate::bitcode::Lowerer;
use crate::context::Context;
use crate::python_json::{Distribution, Extension, Link};
use crate::required_modules::REQUIRED_MODULES;
use std::fs;
use std::path::{Path, PathBuf};

pub fn emit(ctx: &Context, dist: &Distribution) -> Result<(), String> {
    let info = &dist.info.build_info;
    let lowerer = match dist.bitcode_llvm_version() {
        Some(v) => Some(Lowerer::find(ctx, v)?),
        None => None,
    };
    let mut extra: Vec<(&str, &Extension)> = Vec::new();
    let mut links: Vec<Link> = info.core.links.clone();
    for name in REQUIRED_MODULES {
        let ext = pick_variant(info.extensions.get(*name)).ok_or_else(|| {
            format!(
                "the distribution at {} has no extension module {name}, which the bridge needs",
                dist.root.display()
            )
        })?;
        if !ext.in_core {
            extra.push((name, ext));
        }
        // An extension compiled into libpython still needs its libraries (OpenSSL for _ssl).
        links.extend(ext.links.iter().cloned());
    }

    match (&info.core.static_lib, extra.is_empty() && lowerer.is_none()) {
        (Some(lib), true) => link_static_file(&dist.path(lib)),
        _ => {
            // Our own libpython: the core objects, the extension objects, and a new inittab.
            let mut build = cc::Build::new();
            build.target(&ctx.target).host(&ctx.host).warnings(false);
            let inittab_object = info.inittab_object.as_deref();
            for obj in info
                .core
                .objs
                .iter()
                .filter(|o| Some(o.as_str()) != inittab_object)
            {
                build.object(native_object(&lowerer, &dist.path(obj))?);
            }
            for (_, ext) in &extra {
                for obj in &ext.objs {
                    build.object(native_object(&lowerer, &dist.path(obj))?);
                }
            }
            if info.core.objs.is_empty() {
                return Err(format!(
                    "the distribution at {} lists no core objects, so its inittab cannot be extended with {:?}",
                    dist.root.display(),
                    extra.iter().map(|(n, _)| *n).collect::<Vec<_>>()
                ));
            }
            let config_c = write_inittab(ctx, dist, &extra)?;
            if let Some(include) = &dist.info.python_include {
                build.include(dist.path(include));
            }
            for flag in &info.inittab_cflags {
                build.flag(flag);
            }
            build.file(config_c).compile("rpyc_bridge_python");
        }
    }
    for link in dedup(links) {
        emit_link(&lowerer, dist, &link)?;
    }
    Ok(())
}

fn pick_variant(variants: Option<&Vec<Extension>>) -> Option<&Extension> {
    let variants = variants?;
    variants
        .iter()
        .find(|e| e.variant.as_deref().unwrap_or("default") == "default")
        .or_else(|| variants.first())
}

fn native_object(lowerer: &Option<Lowerer>, obj: &Path) -> Result<PathBuf, String> {
    match lowerer {
        Some(l) => l.object(obj),
        None => Ok(obj.to_path_buf()),
    }
}

/// `-L dir -l static=name` for `dir/libname.a`; rustc bundles it into the staticlib.
fn link_static_file(lib: &Path) {
    let dir = lib.parent().unwrap();
    let stem = lib.file_stem().unwrap().to_string_lossy();
    let name = stem.strip_prefix("lib").unwrap_or(&stem);
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static={name}");
}

fn emit_link(lowerer: &Option<Lowerer>, dist: &Distribution, link: &Link) -> Result<(), String> {
    if link.name == "z" {
        // zlib comes from libz-sys, built for the target and bundled already.
        return Ok(());
    }
    if link.framework {
        println!("cargo:rustc-link-lib=framework={}", link.name);
    } else if let Some(path) = &link.path_static {
        let lib = dist.path(path);
        let lib = match lowerer {
            Some(l) => l.archive(&lib)?,
            None => lib,
        };
        link_static_file(&lib);
    } else if link.system {
        // Not bundled: the final link (cgo) names these; see go/link_*.go.
        println!("cargo:rustc-link-lib=dylib={}", link.name);
    }
    Ok(())
}

fn dedup(links: Vec<Link>) -> Vec<Link> {
    let mut seen = std::collections::HashSet::new();
    links
        .into_iter()
        .filter(|l| seen.insert(l.name.clone()))
        .collect()
}

/// The distribution's own config.c with the extra modules added to `_PyImport_Inittab`.
fn write_inittab(
    ctx: &Context,
    dist: &Distribution,
    extra: &[(&str, &Extension)],
) -> Result<PathBuf, String> {
    let source = dist
        .info
        .build_info
        .inittab_source
        .as_deref()
        .ok_or_else(|| {
            format!(
                "the distribution at {} has no inittab_source to extend",
                dist.root.display()
            )
        })?;
    let original =
        fs::read_to_string(dist.path(source)).map_err(|e| format!("cannot read {source}: {e}"))?;
    let marker = "struct _inittab _PyImport_Inittab[] = {";
    let at = original
        .find(marker)
        .ok_or_else(|| format!("{source} has no `{marker}`"))?;
    let mut externs = String::new();
    let mut entries = String::new();
    for (name, ext) in extra {
        let init = ext
            .init_fn
            .clone()
            .unwrap_or_else(|| format!("PyInit_{name}"));
        externs.push_str(&format!("extern PyObject* {init}(void);\n"));
        entries.push_str(&format!("    {{\"{name}\", {init}}},\n"));
    }
    let generated = format!(
        "/* Generated by rpyc-bridge's build script from {source}. */\n{}{externs}{marker}\n{entries}{}",
        &original[..at],
        &original[at + marker.len()..]
    );
    let path = ctx.out_dir.join("config.c");
    fs::write(&path, generated).map_err(|e| e.to_string())?;
    Ok(path)
}
