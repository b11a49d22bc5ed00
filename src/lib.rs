//! rpyc-bridge: a static, relocatable CPython with rpyc, and a C ABI over it, packed into
//! one archive (librpyc_bridge.a) that cgo links into a self-contained Go binary.
//!
//! - `pyconfig`: starting CPython (the only PyConfig code) and its allocator;
//! - `stdlib_image`: the embedded stdlib zip, imported from memory;
//! - `runtime`: the process-wide interpreter, started once;
//! - `bridge`: the safe Rust API over the Python runtime module;
//! - `ffi`: the C ABI (go/rpyc_bridge.h), one file per family;
//! - `entry`: the interpreter as a program (`python -c ...`);
//! - `callbacks`: Go functions that remote Python calls back;
//! - `client_cert` (over `openssl_ffi`): a TLS client certificate from memory;
//! - `wire`: the hot path's RPyC messages, made and read without Python.

mod bridge;
mod callbacks;
mod client_cert;
mod entry;
mod error;
pub mod ffi;
/// What the bridge calls in CPython's allocator, not part of its C ABI.
/// cbindgen:ignore
mod mimalloc_ffi;
mod native;
/// What the bridge imports from OpenSSL, not part of its C ABI.
/// cbindgen:ignore
mod openssl_ffi;
mod pyconfig;
mod runtime;
mod stdlib_image;
mod wire;
#[doc(hidden)]
pub use wire::{fuzz_reply, DEFAULT_MAX_DEPTH as WIRE_MAX_NESTING};

pub use bridge::*;
pub use entry::python_main;
pub use error::{BridgeError, RpycStatus};
pub use runtime::init;
pub use stdlib_image::STDLIB_ZIP;

// zlib for CPython's zlib module: compiled for the target by libz-sys and bundled into
// the archive. Nothing in Rust calls it, so name the crate to keep it linked.
extern crate libz_sys;
