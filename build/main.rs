//! Build script of rpyc-bridge: resolves a static CPython for the target, links it into the
//! staticlib, and packs the stdlib zip that the runtime embeds. One stage per module:
//! context (what and where), dist (which CPython), link (what to link), stdlib_zip, frozen.

mod bitcode;
mod cache;
mod context;
mod dist;
mod env;
mod fetch;
mod frozen;
mod link;
mod lock;
mod openssl;
mod python_json;
mod required_modules;
mod run;
mod source;
mod stdlib_zip;
mod step;
mod zip_image;

use std::time::Instant;

fn main() {
    if let Err(err) = try_build() {
        // The one place the build script fails: cargo prints this under "error: failed to run custom build command".
        eprintln!("\nrpyc-bridge: {err}\n");
        std::process::exit(1);
    }
}

fn try_build() -> Result<(), String> {
    let started = Instant::now();
    println!("cargo:rerun-if-changed=build");
    let ctx = context::Context::from_env()?;
    let dist = dist::resolve(&ctx)?;
    println!(
        "cargo:warning=rpyc-bridge: using {} (Python {}, {}, at {})",
        dist.origin,
        dist.info.python_version,
        dist.info.target_triple,
        dist.root.display()
    );
    link::emit(&ctx, &dist)?;
    let zip = stdlib_zip::build(&ctx, &dist)?;
    frozen::build(&ctx, &dist, &stdlib_zip::compiling_python(&ctx, &dist)?)?;
    let size = std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0);
    println!(
        "cargo:rustc-env=RPYC_BRIDGE_PYTHON_VERSION={}",
        dist.info.python_version
    );
    println!("cargo:rustc-env=RPYC_BRIDGE_DIST_ORIGIN={}", dist.origin);
    println!(
        "cargo:warning=rpyc-bridge: stdlib zip {:.1} MB; build script took {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
