//! The bridge's safe Rust API: each function runs the matching function of the Python
//! runtime package (src/python/rpyc_bridge_rt) with the GIL held, and turns Python
//! exceptions into `BridgeError`s. The GIL is released by Python itself while it waits on
//! the network or on a connection's lock, so no Rust lock is ever held across a wait.
//!
//! Values cross as tagged JSON plus byte buffers (`Payload`); the tags are documented in
//! src/python/rpyc_bridge_rt/codec.py and in the C header.

use crate::error::{BridgeError, RpycStatus};
use crate::runtime::with_python;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyTuple};

const RUNTIME_MODULE: &str = "rpyc_bridge_rt";

/// The runtime package, imported once.
static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A connection handle; 0 is never a valid one.
pub type ConnHandle = u64;
/// A Ref handle (a remote object, or a value that came by value); 0 is never valid.
pub type RefHandle = u64;

/// A value: tagged JSON, and the byte buffers its `$bytes` and `$array` tags index.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Payload {
    pub json: String,
    pub buffers: Vec<Vec<u8>>,
}

/// Runs `f` with the GIL; a Python exception becomes a `BridgeError`.
fn python<R>(f: impl FnOnce(Python<'_>) -> PyResult<R>) -> Result<R, BridgeError> {
    with_python(|py| f(py).map_err(|e| describe(py, e)))
}

/// `rpyc_bridge_rt.<name>`, the package imported once per process.
fn func<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    MODULE
        .get_or_try_init(py, || py.import(RUNTIME_MODULE).map(Bound::unbind))?
        .bind(py)
        .getattr(name)
}

/// Classifies an exception through the runtime package's `describe_error`.
fn describe(py: Python<'_>, err: PyErr) -> BridgeError {
    let described = func(py, "describe_error")
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

/// (json, [bytes, ...]) -> Payload, copying each buffer once.
fn payload(obj: Bound<'_, PyAny>) -> PyResult<Payload> {
    let (json, buffers): (String, Bound<'_, PyList>) = obj.extract()?;
    let buffers = buffers
        .iter()
        .map(|b| Ok(b.cast_into::<PyBytes>()?.as_bytes().to_vec()))
        .collect::<PyResult<_>>()?;
    Ok(Payload { json, buffers })
}

/// Input buffers as a tuple of Python bytes (one copy each).
fn py_buffers<'py>(py: Python<'py>, buffers: &[&[u8]]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, buffers.iter().map(|b| PyBytes::new(py, b)))
}

// ---- connections ------------------------------------------------------------------------------

/// Opens a connection. `options_json` is a JSON object or None; see the header for keys.
pub fn open(host: &str, port: i32, options_json: Option<&str>) -> Result<ConnHandle, BridgeError> {
    python(|py| {
        func(py, "open_conn")?
            .call1((host, port, options_json))?
            .extract()
    })
}

/// Closes a connection and releases its Refs.
pub fn close(conn: ConnHandle) -> Result<(), BridgeError> {
    python(|py| func(py, "close_conn")?.call1((conn,)).map(drop))
}

pub fn is_connected(conn: ConnHandle) -> bool {
    python(|py| func(py, "is_connected")?.call1((conn,))?.is_truthy()).unwrap_or(false)
}

/// Calls `module.func(*args, **kwargs)` on the server, once, and returns the result by value
/// (objects with no value mapping as `$ref` tags). `timeout_ms <= 0`: no per-call limit.
pub fn call(
    conn: ConnHandle,
    module: &str,
    function: &str,
    args_json: Option<&str>,
    kwargs_json: Option<&str>,
    buffers: &[&[u8]],
    timeout_ms: i64,
) -> Result<Payload, BridgeError> {
    python(|py| {
        let bufs = py_buffers(py, buffers)?;
        payload(func(py, "call")?.call1((
            conn,
            module,
            function,
            args_json,
            kwargs_json,
            bufs,
            timeout_ms,
        ))?)
    })
}

/// Reads `module.attr` by value.
pub fn getattr(
    conn: ConnHandle,
    module: &str,
    attr: &str,
    timeout_ms: i64,
) -> Result<Payload, BridgeError> {
    python(|py| payload(func(py, "getattr_")?.call1((conn, module, attr, timeout_ms))?))
}

/// The seed API's call: the result must be plain JSON (no bytes, arrays or objects).
pub fn call_plain(
    conn: ConnHandle,
    module: &str,
    function: &str,
    args_json: Option<&str>,
) -> Result<String, BridgeError> {
    python(|py| {
        let none: Option<&str> = None;
        let reply = func(py, "call")?.call1((
            conn,
            module,
            function,
            args_json,
            none,
            PyTuple::empty(py),
            0,
            true,
        ))?;
        Ok(payload(reply)?.json)
    })
}

/// The seed API's getattr: plain JSON only.
pub fn getattr_plain(conn: ConnHandle, module: &str, attr: &str) -> Result<String, BridgeError> {
    python(|py| Ok(payload(func(py, "getattr_")?.call1((conn, module, attr, 0, true))?)?.json))
}

/// A Ref to module `module` on a classic server.
pub fn import(conn: ConnHandle, module: &str) -> Result<RefHandle, BridgeError> {
    python(|py| func(py, "import_module")?.call1((conn, module))?.extract())
}

/// A Ref to the service root (`conn.root`).
pub fn root(conn: ConnHandle) -> Result<RefHandle, BridgeError> {
    python(|py| func(py, "root")?.call1((conn,))?.extract())
}

/// Live Refs of `conn` (all connections for 0).
pub fn ref_count(conn: ConnHandle) -> Result<u64, BridgeError> {
    python(|py| func(py, "ref_count")?.call1((conn,))?.extract())
}

// ---- Refs --------------------------------------------------------------------------------------

/// `getattr(ref, name)` as a new Ref.
pub fn ref_getattr(r: RefHandle, name: &str) -> Result<RefHandle, BridgeError> {
    python(|py| func(py, "ref_getattr")?.call1((r, name))?.extract())
}

/// `setattr(ref, name, value)`.
pub fn ref_setattr(
    r: RefHandle,
    name: &str,
    value_json: &str,
    buffers: &[&[u8]],
) -> Result<(), BridgeError> {
    python(|py| {
        let bufs = py_buffers(py, buffers)?;
        func(py, "ref_setattr")?
            .call1((r, name, value_json, bufs))
            .map(drop)
    })
}

/// `ref(*args, **kwargs)` as a new Ref.
pub fn ref_call(
    r: RefHandle,
    args_json: Option<&str>,
    kwargs_json: Option<&str>,
    buffers: &[&[u8]],
    timeout_ms: i64,
) -> Result<RefHandle, BridgeError> {
    python(|py| {
        let bufs = py_buffers(py, buffers)?;
        func(py, "ref_call")?
            .call1((r, args_json, kwargs_json, bufs, timeout_ms))?
            .extract()
    })
}

/// `ref[key]` as a new Ref.
pub fn ref_getitem(
    r: RefHandle,
    key_json: &str,
    buffers: &[&[u8]],
) -> Result<RefHandle, BridgeError> {
    python(|py| {
        let bufs = py_buffers(py, buffers)?;
        func(py, "ref_getitem")?
            .call1((r, key_json, bufs))?
            .extract()
    })
}

/// `ref[key] = value`.
pub fn ref_setitem(
    r: RefHandle,
    key_json: &str,
    value_json: &str,
    buffers: &[&[u8]],
) -> Result<(), BridgeError> {
    python(|py| {
        let bufs = py_buffers(py, buffers)?;
        func(py, "ref_setitem")?
            .call1((r, key_json, value_json, bufs))
            .map(drop)
    })
}

/// `len(ref)`.
pub fn ref_len(r: RefHandle) -> Result<u64, BridgeError> {
    python(|py| func(py, "ref_len")?.call1((r,))?.extract())
}

/// `repr(ref)`, or `str(ref)` when `as_str`.
pub fn ref_text(r: RefHandle, as_str: bool) -> Result<String, BridgeError> {
    python(|py| {
        func(py, if as_str { "ref_str" } else { "ref_repr" })?
            .call1((r,))?
            .extract()
    })
}

/// The object, by value.
pub fn ref_decode(r: RefHandle, timeout_ms: i64) -> Result<Payload, BridgeError> {
    python(|py| payload(func(py, "ref_decode")?.call1((r, timeout_ms))?))
}

/// `iter(ref)` as a new Ref.
pub fn ref_iter(r: RefHandle) -> Result<RefHandle, BridgeError> {
    python(|py| func(py, "ref_iter")?.call1((r,))?.extract())
}

/// `next(iterator)` as a new Ref, or `None` when it is exhausted.
pub fn iter_next(r: RefHandle) -> Result<Option<RefHandle>, BridgeError> {
    python(|py| {
        func(py, "iter_next")?
            .call1((r,))?
            .extract::<u64>()
            .map(|h| (h != 0).then_some(h))
    })
}

/// Servers of `service` registered with the RPyC registry at `host:port` (UDP, or TCP when
/// `tcp`): JSON `[[host, port], ...]`.
pub fn discover(
    service: &str,
    host: &str,
    port: i32,
    tcp: bool,
    timeout_ms: i64,
) -> Result<String, BridgeError> {
    python(|py| {
        func(py, "discover")?
            .call1((service, host, port, tcp, timeout_ms))?
            .extract()
    })
}

/// A Ref to a new Python callable that runs callback `callback_id` through the handler.
pub fn callback_new(conn: ConnHandle, callback_id: u64) -> Result<RefHandle, BridgeError> {
    python(|py| {
        crate::native::ensure(py)?;
        func(py, "callback_new")?
            .call1((conn, callback_id))?
            .extract()
    })
}

/// Serves the server's requests from a background thread (callbacks between calls).
pub fn serve_background(conn: ConnHandle, enable: bool) -> Result<(), BridgeError> {
    python(|py| {
        func(py, "serve_background")?
            .call1((conn, enable))
            .map(drop)
    })
}

/// Releases a Ref: the server may free the object.
pub fn ref_release(r: RefHandle) -> Result<(), BridgeError> {
    python(|py| func(py, "ref_release")?.call1((r,)).map(drop))
}

// ---- the seed API's default connection, and introspection -------------------------------------

pub fn default_connect(host: &str, port: i32) -> Result<(), BridgeError> {
    python(|py| func(py, "default_connect")?.call1((host, port)).map(drop))
}

pub fn default_disconnect() -> Result<(), BridgeError> {
    python(|py| func(py, "default_disconnect")?.call0().map(drop))
}

pub fn default_handle() -> Result<ConnHandle, BridgeError> {
    python(|py| func(py, "default_handle")?.call0()?.extract())
}

/// What the embedded interpreter carries (version, built-in modules...), as JSON.
pub fn info() -> Result<String, BridgeError> {
    python(|py| func(py, "info")?.call0()?.extract())
}
