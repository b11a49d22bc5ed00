//! Stage d0: a static OpenSSL for the target, from the sources the `openssl-src` crate
//! carries, so that the source-built CPython gets `_ssl` and `_hashlib` without any system
//! library. Built once per target and recipe into the cache, like CPython itself.

use crate::cache;
use crate::context::Context;
use crate::fetch;
use crate::step::step;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Bump when the recipe below changes in a way that changes the output.
const RECIPE_VERSION: &str = "3";

/// Features CPython's `_ssl` and `_hashlib` never use, left out to keep the binary small.
/// TLS 1.2 and 1.3 with every cipher suite a modern peer offers (AES-GCM, ChaCha20-Poly1305;
/// ECDHE over P-256/384/521, X25519, X448, ML-KEM hybrids; RSA, ECDSA, EdDSA certificates),
/// X.509, PEM (with AES-encrypted keys), the SHA-2, SHA-3, BLAKE2, MD5 and SHA-1 digests,
/// PBKDF2, scrypt and HMAC all stay.
const LEFT_OUT: &[&str] = &[
    "no-apps",
    "no-argon2",
    "no-aria",
    "no-bf",
    "no-camellia",
    "no-cast",
    "no-cmp",
    "no-cms",
    "no-comp",
    "no-ct",
    "no-des",
    "no-docs",
    "no-dsa",
    "no-dtls",
    "no-ec2m",
    "no-engine",
    "no-gost",
    "no-http",
    "no-idea",
    "no-legacy",
    "no-md2",
    "no-mdc2",
    "no-ml-dsa",
    "no-multiblock",
    "no-nextprotoneg",
    "no-ocb",
    "no-ocsp",
    "no-quic",
    "no-rc2",
    "no-rc4",
    "no-rc5",
    "no-rfc3779",
    "no-seed",
    "no-siv",
    "no-slh-dsa",
    "no-sm2",
    "no-sm3",
    "no-sm4",
    "no-srp",
    "no-srtp",
    "no-ssl3",
    "no-tests",
    "no-ts",
    "no-ui-console",
    "no-weak-ssl-ciphers",
    "no-whirlpool",
    "no-zlib",
];

/// Where the OpenSSL build for this target lives in the cache.
pub struct OpenSsl {
    name: String,
    pub entry: PathBuf,
    compiler: Vec<String>,
}

impl OpenSsl {
    pub fn new(ctx: &Context, compiler: &[String]) -> Result<OpenSsl, String> {
        let configure_target = configure_target(&ctx.target)?;
        let key = fetch::sha256_bytes(&[
            RECIPE_VERSION.as_bytes(),
            openssl_src::version().as_bytes(),
            ctx.target.as_bytes(),
            configure_target.as_bytes(),
            compiler.join(" ").as_bytes(),
            LEFT_OUT.join(" ").as_bytes(),
        ]);
        let name = format!(
            "openssl-{}-{}-{}",
            openssl_src::version(),
            ctx.target,
            &key[..16]
        );
        Ok(OpenSsl {
            entry: ctx.cache_dir.join("dist").join(&name),
            name,
            compiler: compiler.to_vec(),
        })
    }

    /// The name of this build, which the CPython build's cache key includes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Builds (or finds) the install: `include/`, `lib/libssl.a`, `lib/libcrypto.a`, `LICENSE.txt`.
    pub fn build(&self, ctx: &Context) -> Result<PathBuf, String> {
        cache::ensure_entry(
            &ctx.cache_dir,
            &self.name,
            &self.entry,
            "lib/libcrypto.a",
            |scratch| {
                let work = ctx.cache_dir.join("work").join(&self.name);
                cache::remove_dir_if_exists(&work)?;
                let started = Instant::now();
                eprintln!(
                    "rpyc-bridge: copying OpenSSL {} sources to {}",
                    openssl_src::version(),
                    work.display()
                );
                copy_tree(&openssl_src::source_dir(), &work)?;
                leave_out_avx512_kernels(&work)?;
                configure_and_make(ctx, &self.compiler, &work, scratch)?;
                fs::copy(work.join("LICENSE.txt"), scratch.join("LICENSE.txt"))
                    .map_err(|e| format!("cannot copy OpenSSL's LICENSE.txt: {e}"))?;
                cache::remove_dir_if_exists(&work)?;
                println!(
                    "cargo:warning=rpyc-bridge: built OpenSSL {} in {:.0} s, cached at {}",
                    openssl_src::version(),
                    started.elapsed().as_secs_f64(),
                    self.entry.display()
                );
                Ok(())
            },
        )
    }
}

fn configure_and_make(
    ctx: &Context,
    compiler: &[String],
    work: &Path,
    scratch: &Path,
) -> Result<(), String> {
    let mut configure = Command::new(perl());
    configure
        .current_dir(work)
        .arg("./Configure")
        .arg(configure_target(&ctx.target)?)
        .arg("--prefix=/")
        .arg("--libdir=lib")
        // Where OpenSSL looks for the system's CA bundle (cert.pem, certs/) when no CA is
        // given. Most Linux distributions have /etc/ssl; scratch images have nothing there.
        .arg("--openssldir=/etc/ssl")
        .arg("no-shared")
        .arg("no-module")
        .arg("no-dso")
        // Never read an openssl.cnf from the host: the embedded Python is isolated.
        .arg("no-autoload-config")
        .args(LEFT_OUT)
        // Size over speed for the C code: the ciphers and digests TLS spends its time in are
        // assembly.
        .arg("-Os")
        .args(crate::source::SIZE_CFLAGS)
        .env("CC", compiler.join(" "))
        .env_remove("CROSS_COMPILE");
    if ctx.target.contains("-musl") {
        // musl has no makecontext (async jobs), and no linux/version.h under musl-gcc.
        configure.arg("no-async").arg("-DOPENSSL_NO_SECURE_MEMORY");
    }
    step("OpenSSL configure", work, &mut configure)?;
    step(
        "OpenSSL make",
        work,
        Command::new("make")
            .current_dir(work)
            .arg(format!("-j{}", ctx.jobs))
            .arg("build_libs"),
    )?;
    step(
        "OpenSSL make install_dev",
        work,
        Command::new("make")
            .current_dir(work)
            .arg("install_dev")
            .arg(format!("DESTDIR={}", scratch.display())),
    )?;
    Ok(())
}

/// The AVX-512 AES-GCM and AES-XTS kernels are 0.7 MB of machine code; the AES-NI and AVX2
/// ones stay and serve every x86_64 CPU. Their generators decide by the assembler's version,
/// with no Configure option, so the decision is pinned in the copied sources.
fn leave_out_avx512_kernels(work: &Path) -> Result<(), String> {
    for rel in [
        "crypto/modes/asm/aes-gcm-avx512.pl",
        "crypto/aes/asm/aesni-xts-avx512.pl",
    ] {
        let path = work.join(rel);
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let anchor = text.find("\nopen OUT").ok_or_else(|| {
            format!(
                "{rel} has no `open OUT` line: build/openssl.rs needs updating for this OpenSSL"
            )
        })?;
        let patched = format!(
            "{}\n$avx512vaes = 0; # rpyc-bridge: no AVX-512 kernels{}",
            &text[..anchor],
            &text[anchor..]
        );
        fs::write(&path, patched).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `PERL`, else `perl` on PATH: OpenSSL's Configure is a Perl script.
fn perl() -> String {
    crate::env::env("PERL").unwrap_or_else(|| "perl".into())
}

/// OpenSSL's name for the Rust target.
fn configure_target(target: &str) -> Result<&'static str, String> {
    Ok(match target {
        "x86_64-unknown-linux-gnu" | "x86_64-unknown-linux-musl" => "linux-x86_64",
        "aarch64-unknown-linux-gnu" | "aarch64-unknown-linux-musl" => "linux-aarch64",
        "x86_64-apple-darwin" => "darwin64-x86_64-cc",
        "aarch64-apple-darwin" => "darwin64-arm64-cc",
        _ => {
            return Err(format!(
                "build/openssl.rs does not know OpenSSL's name for {target}; \
                 give a distribution with RPYC_BRIDGE_PYTHON_DIST instead"
            ))
        }
    })
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let dest = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), &dest)
                .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}
