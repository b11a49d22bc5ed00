//! Stage d: build CPython from the pinned source tarball, static and position independent,
//! and install it into the cache in python-build-standalone layout with a PYTHON.json, so
//! that the same consumer code handles both kinds of distribution.

use crate::cache;
use crate::context::Context;
use crate::fetch::{self, Wanted};
use crate::openssl::OpenSsl;
use crate::run::run;
use crate::step::step;
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Bump when the recipe below changes in a way that changes the output.
const RECIPE_VERSION: &str = "5";

/// C flags for CPython and OpenSSL that keep the binary small (issue budget: 15 MB):
/// - sections per function and object, so the final link's --gc-sections (scripts/cross-env.sh)
///   drops what nothing calls;
/// - no unwind tables (0.6 MB of .eh_frame): nothing unwinds through C frames here. Rust
///   panics are caught before they reach C (PyO3's trampolines, catch_unwind in src/ffi/),
///   and neither CPython nor OpenSSL cancels threads.
pub const SIZE_CFLAGS: &[&str] = &[
    "-fPIC",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
];

/// OpenSSL's static libraries, in link order, which `_ssl` and `_hashlib` need.
const OPENSSL_LIBS: &[&str] = &["ssl", "crypto"];

/// System libraries libpython needs at the final link.
const CORE_SYSTEM_LIBS: &[&str] = &["m", "pthread", "dl", "util"];

/// Where the source build for this target lives in the cache, and its recipe inputs.
pub struct SourceBuild {
    name: String,
    pub entry: PathBuf,
    setup_text: Vec<u8>,
    compiler: Vec<String>,
    openssl: OpenSsl,
}

impl SourceBuild {
    pub fn new(ctx: &Context) -> Result<SourceBuild, String> {
        let setup_local = ctx.manifest_dir.join("vendor-python/Setup.local");
        println!("cargo:rerun-if-changed={}", setup_local.display());
        let setup_text = fs::read(&setup_local)
            .map_err(|e| format!("cannot read {}: {e}", setup_local.display()))?;
        let compiler = target_compiler(ctx);
        let openssl = OpenSsl::new(ctx, &compiler)?;
        let pin = &ctx.lock.cpython_source;
        let key = fetch::sha256_bytes(&[
            RECIPE_VERSION.as_bytes(),
            pin.sha256.as_bytes(),
            ctx.target.as_bytes(),
            &setup_text,
            compiler.join(" ").as_bytes(),
            openssl.name().as_bytes(),
        ]);
        let name = format!(
            "cpython-{}-{}-source-{}",
            pin.version,
            ctx.target,
            &key[..16]
        );
        let entry = ctx.cache_dir.join("dist").join(&name);
        Ok(SourceBuild {
            name,
            entry,
            setup_text,
            compiler,
            openssl,
        })
    }

    pub fn is_cached(&self) -> bool {
        self.entry.join("python/PYTHON.json").exists()
    }

    pub fn build(&self, ctx: &Context) -> Result<PathBuf, String> {
        let SourceBuild {
            name,
            entry,
            setup_text,
            compiler,
            openssl,
        } = self;
        let pin = &ctx.lock.cpython_source;
        build_entry(ctx, pin, name, entry, setup_text, compiler, openssl)
    }
}

fn build_entry(
    ctx: &Context,
    pin: &crate::lock::SourcePin,
    name: &str,
    entry: &Path,
    setup_text: &[u8],
    compiler: &[String],
    openssl: &OpenSsl,
) -> Result<PathBuf, String> {
    cache::ensure_entry(
        &ctx.cache_dir,
        name,
        entry,
        "python/PYTHON.json",
        |scratch| {
            let openssl_dir = openssl.build(ctx)?;
            let file = ctx.lock.source_file();
            let tarball = fetch::fetch(
                ctx,
                &Wanted {
                    file: &file.file,
                    sha256: &pin.sha256,
                    urls: pin.urls.iter().map(String::as_str).collect(),
                },
            )?;
            let work = ctx.cache_dir.join("work").join(name);
            cache::remove_dir_if_exists(&work)?;
            fs::create_dir_all(&work)
                .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
            let started = Instant::now();
            compile_and_install(
                ctx,
                &tarball,
                setup_text,
                compiler,
                &openssl_dir,
                &work,
                scratch,
            )?;
            write_python_json(ctx, scratch, setup_text)?;
            cache::remove_dir_if_exists(&work)?;
            println!(
                "cargo:warning=rpyc-bridge: built CPython {} from source in {:.0} s, cached at {}",
                pin.version,
                started.elapsed().as_secs_f64(),
                entry.display()
            );
            Ok(())
        },
    )
}

/// The C compiler cc-rs would use for the target (honours CC_<target>, CC, musl-gcc...).
fn target_compiler(ctx: &Context) -> Vec<String> {
    let tool = cc::Build::new()
        .target(&ctx.target)
        .host(&ctx.host)
        .opt_level(2)
        .cargo_metadata(false)
        .get_compiler();
    let mut cmd = vec![tool.path().display().to_string()];
    // Only the flags that select the target matter to configure: optimisation, debug and
    // frame-pointer flags differ between cargo profiles and come from CPython's recipe.
    let selects_target = |a: &String| {
        ["--target", "-m32", "-m64", "-march=", "-mcpu=", "-mabi="]
            .iter()
            .any(|p| a.starts_with(p))
    };
    cmd.extend(
        tool.args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .filter(selects_target),
    );
    cmd
}

fn compile_and_install(
    ctx: &Context,
    tarball: &Path,
    setup_text: &[u8],
    compiler: &[String],
    openssl_dir: &Path,
    work: &Path,
    scratch: &Path,
) -> Result<(), String> {
    eprintln!("rpyc-bridge: unpacking {}", tarball.display());
    run(Command::new("tar")
        .arg("-xJf")
        .arg(tarball)
        .arg("-C")
        .arg(work)
        .arg("--strip-components=1"))
    .map_err(|e| {
        format!("{e}\n(the source build needs tar and xz: apt-get install tar xz-utils)")
    })?;
    fs::write(work.join("Modules/Setup.local"), setup_text)
        .map_err(|e| format!("cannot write Setup.local: {e}"))?;
    if ctx.target.ends_with("-musl") {
        skip_multiarch_check(work)?;
    }

    let zlib_lib = ctx.zlib_root.join("lib");
    let mut configure = Command::new("./configure");
    configure
        .current_dir(work)
        .arg("--prefix=/install")
        .arg("--disable-shared")
        .arg("--disable-test-modules")
        .arg("--without-ensurepip")
        .arg("--without-readline")
        // Static libssl.a and libcrypto.a only, so _ssl and _hashlib need nothing at run time.
        .arg(format!("--with-openssl={}", openssl_dir.display()))
        .arg("--with-openssl-rpath=no")
        .env("CC", compiler.join(" "))
        .env("CFLAGS", SIZE_CFLAGS.join(" "))
        // -O2, not CPython's default -O3: 0.45 MB less code, for about the same speed. No -g:
        // the archive ships in every binary and debug info would triple it.
        .env("OPT", "-DNDEBUG -O2 -Wall")
        .env("ZLIB_CFLAGS", format!("-I{}", ctx.zlib_include.display()))
        .env("ZLIB_LIBS", format!("-L{} -lz", zlib_lib.display()));
    if ctx.is_cross() {
        let build_python = ctx.build_python.as_ref().ok_or_else(|| {
            format!(
                "cross-compiling CPython for {} needs a Python {} that runs on this machine: \
                 set RPYC_BRIDGE_BUILD_PYTHON to it",
                ctx.target, ctx.lock.cpython_source.version
            )
        })?;
        configure
            .arg(format!("--host={}", gnu_triple(&ctx.target)))
            .arg(format!("--build={}", gnu_triple(&ctx.host)))
            .arg(format!("--with-build-python={}", build_python.display()))
            .arg("ac_cv_file__dev_ptmx=yes")
            .arg("ac_cv_file__dev_ptc=no")
            // A cross build cannot run configure's getaddrinfo probe; glibc and musl both pass it.
            .arg("ac_cv_buggy_getaddrinfo=no");
    }
    step("CPython configure", work, &mut configure)?;
    step(
        "CPython make",
        work,
        Command::new("make")
            .current_dir(work)
            .arg(format!("-j{}", ctx.jobs)),
    )?;
    step(
        "CPython make install",
        work,
        Command::new("make")
            .current_dir(work)
            .arg("install")
            .arg(format!("DESTDIR={}", scratch.join("python").display()))
            // The embedded zip gets its own .pyc (build/stdlib_zip.rs); CPython's install
            // step would compile the stdlib three more times. An unknown option makes that
            // step (which make runs with errors ignored) stop at once.
            .arg("COMPILEALL_OPTS=--rpyc-bridge-skips-compileall"),
    )?;
    // The inittab source, as python-build-standalone ships it, so that a consumer can
    // regenerate the inittab with more modules.
    let core = scratch.join("python/build/core");
    fs::create_dir_all(&core).map_err(|e| e.to_string())?;
    fs::copy(work.join("Modules/config.c"), core.join("config.c"))
        .map_err(|e| format!("cannot copy Modules/config.c: {e}"))?;
    let licenses = scratch.join("python/licenses");
    fs::create_dir_all(&licenses).map_err(|e| e.to_string())?;
    fs::copy(work.join("LICENSE"), licenses.join("LICENSE.cpython.txt"))
        .map_err(|e| format!("cannot copy CPython's LICENSE: {e}"))?;
    fs::copy(
        openssl_dir.join("LICENSE.txt"),
        licenses.join("LICENSE.openssl.txt"),
    )
    .map_err(|e| format!("cannot copy OpenSSL's LICENSE.txt: {e}"))?;
    // Where python-build-standalone keeps the libraries its extensions link.
    let lib = scratch.join("python/build/lib");
    fs::create_dir_all(&lib).map_err(|e| e.to_string())?;
    for name in OPENSSL_LIBS {
        let file = format!("lib{name}.a");
        fs::copy(openssl_dir.join("lib").join(&file), lib.join(&file))
            .map_err(|e| format!("cannot copy {file}: {e}"))?;
    }
    Ok(())
}

/// configure asks the compiler for its multiarch name and requires it to equal the platform
/// triplet it derives from the C library. Debian's musl-gcc wraps the glibc gcc, so it says
/// `x86_64-linux-gnu` while the triplet is `x86_64-linux-musl`: configure stops with
/// "internal configure error". An empty MULTIARCH makes configure take the triplet instead.
fn skip_multiarch_check(work: &Path) -> Result<(), String> {
    let path = work.join("configure");
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read configure: {e}"))?;
    let probe = "MULTIARCH=$($CC --print-multiarch 2>/dev/null)";
    if !text.contains(probe) {
        return Err(format!(
            "configure has no `{probe}`: the musl workaround in build/source.rs needs updating"
        ));
    }
    fs::write(&path, text.replace(probe, "MULTIARCH="))
        .map_err(|e| format!("cannot write configure: {e}"))
}

/// `x86_64-unknown-linux-gnu` -> `x86_64-linux-gnu`, as autoconf expects.
fn gnu_triple(rust_triple: &str) -> String {
    rust_triple.replace("-unknown-", "-")
}

/// Describes the install the way python-build-standalone does (format 8, the fields this
/// project reads). Extensions from Setup.local are compiled into libpython: `in_core`.
fn write_python_json(ctx: &Context, scratch: &Path, setup_text: &[u8]) -> Result<(), String> {
    let v = &ctx.lock.cpython_source.version;
    let mm: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
    let mut extensions = serde_json::Map::new();
    let openssl_links: Vec<_> = OPENSSL_LIBS
        .iter()
        .map(|n| json!({ "name": n, "path_static": format!("build/lib/lib{n}.a") }))
        .collect();
    for name in static_modules(&String::from_utf8_lossy(setup_text)) {
        let links = match name.as_str() {
            "_ssl" | "_hashlib" => openssl_links.clone(),
            _ => vec![],
        };
        extensions.insert(
            name.clone(),
            json!([{ "in_core": true, "init_fn": format!("PyInit_{name}"), "objs": [], "links": links, "variant": "default" }]),
        );
    }
    let links: Vec<_> = CORE_SYSTEM_LIBS
        .iter()
        .map(|n| json!({ "name": n, "system": true }))
        .collect();
    let doc = json!({
        "version": "8",
        "target_triple": ctx.target,
        "python_version": v,
        "python_major_minor_version": mm,
        "python_exe": format!("install/bin/python{mm}"),
        "python_stdlib": format!("install/lib/python{mm}"),
        "python_include": format!("install/include/python{mm}"),
        "libpython_link_mode": "static",
        "license_path": "licenses/LICENSE.cpython.txt",
        "build_info": {
            "core": {
                "objs": [],
                "links": links,
                "static_lib": format!("install/lib/libpython{mm}.a"),
            },
            "extensions": extensions,
            "inittab_source": "build/core/config.c",
            "inittab_cflags": ["-std=c11", "-DNDEBUG", "-DPy_BUILD_CORE"],
            "object_file_format": "elf",
        },
        "rpyc_bridge_source_build": { "recipe": RECIPE_VERSION, "source_sha256": ctx.lock.cpython_source.sha256 },
    });
    let path = scratch.join("python/PYTHON.json");
    fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Module names in the `*static*` section of a Setup file.
fn static_modules(setup: &str) -> Vec<String> {
    let mut in_static = false;
    let mut names = Vec::new();
    for line in setup.lines().map(str::trim) {
        if line.starts_with('*') {
            in_static = line == "*static*";
        } else if in_static && !line.is_empty() && !line.starts_with('#') {
            names.extend(line.split_whitespace().next().map(String::from));
        }
    }
    names
}
