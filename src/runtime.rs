//! The process-wide embedded interpreter: started once, from any thread, on first use.

use crate::error::{BridgeError, RpycStatus};
use crate::{pyconfig, stdlib_image};
use pyo3::Python;
use std::cell::Cell;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static INIT: OnceLock<Result<(), String>> = OnceLock::new();
/// Set when the interpreter was started as a program (`rpyc_python_main`) instead.
pub(crate) static RAN_AS_PROGRAM: AtomicBool = AtomicBool::new(false);

/// Starts the interpreter if needed. Idempotent and thread-safe: concurrent callers wait for
/// the first one, and a failure is remembered and returned to every later caller.
pub fn init() -> Result<(), BridgeError> {
    INIT.get_or_init(start).clone().map_err(|e| {
        BridgeError::new(
            RpycStatus::ErrInit,
            format!("the embedded Python did not start: {e}"),
        )
    })
}

fn start() -> Result<(), String> {
    if RAN_AS_PROGRAM.load(Ordering::SeqCst) {
        return Err(
            "this process already ran the interpreter as a program (rpyc_python_main)".into(),
        );
    }
    start_interpreter(None)?;
    pyconfig::release_gil();
    Ok(())
}

/// Initialises CPython with the embedded stdlib importable from memory; this thread keeps
/// the GIL. `argv` as in `pyconfig::Startup`.
pub(crate) fn start_interpreter(argv: Option<&[CString]>) -> Result<(), String> {
    stdlib_image::register_frozen_modules();
    pyconfig::initialize(&pyconfig::Startup {
        search_path: stdlib_image::ROOT,
        argv,
    })?;
    Python::attach(stdlib_image::install_importer)
}

thread_local! {
    /// Whether this OS thread has its own long-lived Python thread state.
    static THREAD_STATE_KEPT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the GIL, starting the interpreter first if needed.
pub fn with_python<R>(
    f: impl FnOnce(Python<'_>) -> Result<R, BridgeError>,
) -> Result<R, BridgeError> {
    init()?;
    keep_thread_state();
    Python::attach(f)
}

/// Gives this OS thread a Python thread state that lives as long as the thread, so each
/// call only swaps the GIL instead of creating and destroying a thread state (about a
/// third of a local call's cost). Go runs cgo calls on a small, reused set of threads.
fn keep_thread_state() {
    THREAD_STATE_KEPT.with(|kept| {
        if !kept.get() {
            // SAFETY: the interpreter is initialised and this thread does not hold the GIL
            // (no Python::attach is active on it: this runs before attach). The outer
            // PyGILState_Ensure is never released, which keeps the thread state alive;
            // PyEval_SaveThread then drops the GIL until the next attach.
            unsafe {
                pyo3::ffi::PyGILState_Ensure();
                pyo3::ffi::PyEval_SaveThread();
            }
            kept.set(true);
        }
    });
}

/// Whether `init` has succeeded.
pub fn is_initialized() -> bool {
    matches!(INIT.get(), Some(Ok(())))
}
