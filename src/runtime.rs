//! The process-wide embedded interpreter: started once, from any thread, on first use.

use crate::error::{BridgeError, RpycStatus};
use crate::{pyconfig, stdlib_image};
use pyo3::Python;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static INIT: OnceLock<Result<(), String>> = OnceLock::new();
/// Set when the interpreter was started as a program (`rpyc_python_main`) instead.
pub(crate) static RAN_AS_PROGRAM: AtomicBool = AtomicBool::new(false);

/// Starts the interpreter if needed. Idempotent and thread-safe: concurrent callers wait for
/// the first one, and a failure is remembered and returned to every later caller.
pub fn init() -> Result<(), BridgeError> {
    INIT.get_or_init(start)
        .clone()
        .map_err(|e| BridgeError::new(RpycStatus::ErrInit, format!("the embedded Python did not start: {e}")))
}

fn start() -> Result<(), String> {
    if RAN_AS_PROGRAM.load(Ordering::SeqCst) {
        return Err("this process already ran the interpreter as a program (rpyc_python_main)".into());
    }
    let path = stdlib_path()?;
    pyconfig::initialize(&pyconfig::Startup { search_path: &path, argv: None })?;
    pyconfig::release_gil();
    Ok(())
}

pub(crate) fn stdlib_path() -> Result<CString, String> {
    let path = stdlib_image::materialize()?;
    CString::new(path.into_os_string().into_encoded_bytes()).map_err(|_| "the stdlib path contains NUL".to_string())
}

/// Runs `f` with the GIL, starting the interpreter first if needed.
pub fn with_python<R>(f: impl FnOnce(Python<'_>) -> Result<R, BridgeError>) -> Result<R, BridgeError> {
    init()?;
    Python::attach(f)
}

/// Whether `init` has succeeded.
pub fn is_initialized() -> bool {
    matches!(INIT.get(), Some(Ok(())))
}
