//! The bridge's safe Rust API: each function runs the matching function of the Python
//! runtime module (src/python/rpyc_bridge_runtime.py) with the GIL held, and turns Python
//! exceptions into `BridgeError`s. The GIL is released by Python itself while it waits on
//! the network or on a connection's lock, so no Rust lock is ever held across a wait.

use crate::error::{BridgeError, RpycStatus};
use crate::runtime::with_python;
use pyo3::call::PyCallArgs;
use pyo3::prelude::*;

const RUNTIME_MODULE: &str = "rpyc_bridge_runtime";

/// A connection handle; 0 is never a valid one.
pub type ConnHandle = u64;

/// Calls `RUNTIME_MODULE.<name>(*args)` and converts its result with `extract`.
fn run<A, R>(
    name: &str,
    args: A,
    extract: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<R>,
) -> Result<R, BridgeError>
where
    A: for<'py> PyCallArgs<'py>,
{
    with_python(|py| {
        py.import(RUNTIME_MODULE)
            .and_then(|m| m.getattr(name))
            .and_then(|f| f.call1(args))
            .and_then(|result| extract(&result))
            .map_err(|e| describe(py, e))
    })
}

fn unit(_: &Bound<'_, PyAny>) -> PyResult<()> {
    Ok(())
}

fn string(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.extract()
}

/// Classifies an exception through the runtime module's `describe_error`.
fn describe(py: Python<'_>, err: PyErr) -> BridgeError {
    let described = py
        .import(RUNTIME_MODULE)
        .and_then(|m| m.getattr("describe_error"))
        .and_then(|f| f.call1((err.value(py),)))
        .and_then(|t| t.extract::<(i64, Option<String>, String, Option<String>)>());
    match described {
        Ok((code, type_name, message, traceback)) => BridgeError {
            status: RpycStatus::from_code(code),
            type_name,
            message,
            traceback,
        },
        Err(_) => BridgeError::new(RpycStatus::ErrInternal, err.to_string()),
    }
}

/// Opens a connection. `options_json` is a JSON object or None; see the header for keys.
pub fn open(host: &str, port: i32, options_json: Option<&str>) -> Result<ConnHandle, BridgeError> {
    run("open_conn", (host, port, options_json), |o| o.extract())
}

pub fn close(conn: ConnHandle) -> Result<(), BridgeError> {
    run("close_conn", (conn,), unit)
}

pub fn is_connected(conn: ConnHandle) -> bool {
    run("is_connected", (conn,), |o| o.is_truthy()).unwrap_or(false)
}

/// Calls `module.func(*args, **kwargs)` on the server once; the result is JSON.
/// `timeout_ms <= 0` waits as long as the connection's own timeout allows.
pub fn call(
    conn: ConnHandle,
    module: &str,
    func: &str,
    args_json: Option<&str>,
    kwargs_json: Option<&str>,
    timeout_ms: i64,
) -> Result<String, BridgeError> {
    run(
        "call",
        (conn, module, func, args_json, kwargs_json, timeout_ms),
        string,
    )
}

/// Reads `module.attr` on the server; the result is JSON.
pub fn getattr(
    conn: ConnHandle,
    module: &str,
    attr: &str,
    timeout_ms: i64,
) -> Result<String, BridgeError> {
    run("getattr_", (conn, module, attr, timeout_ms), string)
}

/// The seed API's single default connection.
pub fn default_connect(host: &str, port: i32) -> Result<(), BridgeError> {
    run("default_connect", (host, port), unit)
}

pub fn default_disconnect() -> Result<(), BridgeError> {
    run("default_disconnect", (), unit)
}

pub fn default_handle() -> Result<ConnHandle, BridgeError> {
    run("default_handle", (), |o| o.extract())
}

/// What the embedded interpreter carries (version, built-in modules...), as JSON.
pub fn info() -> Result<String, BridgeError> {
    run("info", (), string)
}
