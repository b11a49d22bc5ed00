//! The bridge's safe Rust API: each function runs the matching function of the Python
//! runtime package (src/python/rpyc_bridge_rt) with the GIL held, and turns Python
//! exceptions into `BridgeError`s. The GIL is released by Python itself while it waits on
//! the network or on a connection's lock, so no Rust lock is ever held across a wait.
//!
//! Values cross as tagged JSON plus byte buffers (`Payload`); the tags are documented in
//! src/python/rpyc_bridge_rt/codec.py and in the C header.

use crate::error::{BridgeError, RpycStatus};
use crate::ffi::CallerBuffer;
use crate::pyconfig::return_freed_memory;
use crate::runtime::with_python;
use crate::wire::assembly;
use pyo3::buffer::PyBuffer;
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
#[derive(Debug, Default, PartialEq)]
pub struct Payload {
    pub json: String,
    pub buffers: Vec<ResultBuffer>,
}

/// One of a result's buffers: the library's memory, or the caller's (a large buffer put
/// together in memory from the caller's allocator; see `rpyc_set_buffer_allocator`).
pub enum ResultBuffer {
    Library(Vec<u8>),
    Caller(CallerBuffer),
}

impl std::ops::Deref for ResultBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ResultBuffer::Library(b) => b,
            ResultBuffer::Caller(b) => b,
        }
    }
}

impl std::ops::DerefMut for ResultBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            ResultBuffer::Library(b) => b,
            ResultBuffer::Caller(b) => b,
        }
    }
}

impl From<Vec<u8>> for ResultBuffer {
    fn from(bytes: Vec<u8>) -> ResultBuffer {
        ResultBuffer::Library(bytes)
    }
}

impl std::fmt::Debug for ResultBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let owner = match self {
            ResultBuffer::Library(_) => "library",
            ResultBuffer::Caller(_) => "caller",
        };
        write!(f, "ResultBuffer({} bytes, {owner}'s)", self.len())
    }
}

/// Buffers compare by their bytes, whoever owns them.
impl PartialEq for ResultBuffer {
    fn eq(&self, other: &ResultBuffer) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<u8>> for ResultBuffer {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == other[..]
    }
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

/// Buffers of this many bytes in all make a reply large: the memory the interpreter freed
/// for it goes back to the OS before it is copied and after, so that at most two copies
/// (the interpreter's and this one, then this one and Go's) are resident at a time.
const LARGE_REPLY: usize = 16 << 20;

/// (json, [bytes or assembly, ...]) -> Payload: each bytes copied once, each assembly moved.
fn payload(obj: Bound<'_, PyAny>) -> PyResult<Payload> {
    let (json, list): (String, Bound<'_, PyList>) = obj.extract()?;
    drop(obj);
    let buffers: Vec<Bound<'_, PyAny>> = list.iter().collect();
    drop(list);
    let len = |b: &Bound<'_, PyAny>| b.len().unwrap_or(0);
    let large = buffers.iter().map(len).sum::<usize>() >= LARGE_REPLY;
    if large {
        return_freed_memory(); // the frame the buffers came in
    }
    let mut copies = Vec::with_capacity(buffers.len());
    for b in buffers {
        copies.push(match assembly::take(&b) {
            Some(whole) => whole, // pieces put together in place: no copy
            None => ResultBuffer::Library(buffer_copy(&b)?),
        }); // and the buffer is released here
    }
    if large {
        return_freed_memory();
    }
    Ok(Payload {
        json,
        buffers: copies,
    })
}

/// A buffer from Python, copied: bytes, or a bytes view of a packed list
/// (wireformat._pack).
pub(crate) fn buffer_copy(b: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    match b.cast::<PyBytes>() {
        Ok(bytes) => Ok(bytes.as_bytes().to_vec()),
        Err(_) => PyBuffer::<u8>::get(b)?.to_vec(b.py()),
    }
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

/// One request on a connection or a Ref (see `crate::ffi::RpycOp` for the operations
/// and what the fields mean for each). `timeout_ms <= 0`: no limit; `cancel_fd < 0`: none.
#[derive(Debug, Default)]
pub struct Request<'a> {
    pub op: &'static str,
    pub conn: ConnHandle,
    pub target: RefHandle,
    pub module: Option<&'a str>,
    pub name: Option<&'a str>,
    pub args_json: Option<&'a str>,
    pub kwargs_json: Option<&'a str>,
    pub buffers: &'a [&'a [u8]],
    pub timeout_ms: i64,
    pub cancel_fd: i32,
}

/// Runs one request: the only way into the Python half's operations (ops.run).
pub fn request(r: &Request<'_>) -> Result<Payload, BridgeError> {
    python(|py| {
        let bufs = py_buffers(py, r.buffers)?;
        payload(func(py, "request")?.call1((
            r.op,
            r.conn,
            r.target,
            r.module,
            r.name,
            r.args_json,
            r.kwargs_json,
            bufs,
            r.timeout_ms,
            r.cancel_fd,
        ))?)
    })
}

/// `module.function(*args, **kwargs)` by value, with no timeout: a shorthand for tests.
pub fn call(
    conn: ConnHandle,
    module: &str,
    function: &str,
    args_json: Option<&str>,
    kwargs_json: Option<&str>,
    buffers: &[&[u8]],
    timeout_ms: i64,
) -> Result<Payload, BridgeError> {
    request(&Request {
        op: "call",
        conn,
        module: Some(module),
        name: Some(function),
        args_json,
        kwargs_json,
        buffers,
        timeout_ms,
        cancel_fd: -1,
        ..Request::default()
    })
}

/// The seed API's request on the default connection: its result must have a plain JSON
/// form (decided by the Python half's seed layer).
pub fn seed_request(
    op: &'static str,
    module: &str,
    name: &str,
    args_json: Option<&str>,
) -> Result<String, BridgeError> {
    python(|py| {
        func(py, "seed_request")?
            .call1((op, module, name, args_json))?
            .extract()
    })
}

/// Live Refs of `conn` (all connections for 0).
pub fn ref_count(conn: ConnHandle) -> Result<u64, BridgeError> {
    python(|py| func(py, "ref_count")?.call1((conn,))?.extract())
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
