//! The C ABI. cbindgen turns this module into dist/include/rpyc_bridge.h.
//!
//! Raw pointers from C enter safe code only through `read_str`, `read_opt_str` and
//! `write_out`. No function unwinds into C: each body runs under `catch_unwind`.
//!
//! Ownership: strings returned as `char*` belong to the caller and are freed with
//! `rpyc_free_string`; `RpycError*` belongs to the caller and is freed with
//! `rpyc_error_free`. Input strings are borrowed for the duration of the call only.
//!
//! Threads: every function may be called from any thread, concurrently.

use crate::bridge::{self, ConnHandle};
use crate::error::{BridgeError, RpycStatus};
use crate::{entry, runtime};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// A failure, owned by the caller: free it with `rpyc_error_free`.
#[repr(C)]
pub struct RpycError {
    /// An `RpycStatus` value, never `RPYC_STATUS_OK`.
    pub code: i32,
    /// The Python exception class name (e.g. "ModuleNotFoundError"), or NULL.
    pub type_name: *mut c_char,
    /// What went wrong; never NULL.
    pub message: *mut c_char,
    /// The remote traceback text, or NULL.
    pub traceback: *mut c_char,
}

thread_local! {
    /// The seed API's last error on this thread; valid until the next seed call on it.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// A C string from any Rust string: interior NULs become U+FFFD.
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).expect("NULs were replaced")
}

fn into_raw(s: &str) -> *mut c_char {
    c_string(s).into_raw()
}

fn opt_into_raw(s: Option<&str>) -> *mut c_char {
    s.map_or(ptr::null_mut(), into_raw)
}

/// Borrows a C string argument.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays valid and unchanged
/// for the lifetime `'a` (the duration of the C call).
unsafe fn read_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, BridgeError> {
    // SAFETY: forwarded to the caller's contract.
    unsafe { read_opt_str(p, name) }?
        .ok_or_else(|| BridgeError::new(RpycStatus::ErrArgument, format!("{name} is NULL")))
}

/// Like `read_str`, but NULL is `None`.
///
/// # Safety
/// As for `read_str`.
unsafe fn read_opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, BridgeError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map(Some).map_err(|e| {
        BridgeError::new(
            RpycStatus::ErrArgument,
            format!("{name} is not valid UTF-8: {e}"),
        )
    })
}

/// Stores `value` in an out-parameter if the caller gave one.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`.
unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the caller's contract.
        unsafe { out.write(value) };
    }
}

fn error_box(err: &BridgeError) -> *mut RpycError {
    Box::into_raw(Box::new(RpycError {
        code: err.status as i32,
        type_name: opt_into_raw(err.type_name.as_deref()),
        message: into_raw(&err.message),
        traceback: opt_into_raw(err.traceback.as_deref()),
    }))
}

/// Runs `f`, turning a panic into an internal error.
fn guard<T>(f: impl FnOnce() -> Result<T, BridgeError>) -> Result<T, BridgeError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(BridgeError::new(
            RpycStatus::ErrInternal,
            format!("internal error: {what}"),
        ))
    })
}

/// Handle API: runs `f`; on failure stores the error in `out_err` and returns its code.
///
/// # Safety
/// `out_err` must be NULL or valid for a write of a pointer.
unsafe fn status_call(
    out_err: *mut *mut RpycError,
    f: impl FnOnce() -> Result<(), BridgeError>,
) -> i32 {
    // SAFETY: forwarded to the caller's contract.
    unsafe { write_out(out_err, ptr::null_mut()) };
    match guard(f) {
        Ok(()) => RpycStatus::Ok as i32,
        Err(err) => {
            if !out_err.is_null() {
                // SAFETY: checked non-NULL; writable per the caller's contract.
                unsafe { out_err.write(error_box(&err)) };
            }
            err.status as i32
        }
    }
}

/// Seed API: runs `f`, recording a failure as this thread's last error.
fn seed_call<T>(failed: T, f: impl FnOnce() -> Result<T, BridgeError>) -> T {
    LAST_ERROR.with(|e| e.borrow_mut().take());
    match guard(f) {
        Ok(v) => v,
        Err(err) => {
            LAST_ERROR.with(|e| *e.borrow_mut() = Some(c_string(&err.to_string())));
            failed
        }
    }
}

// ---- the seed's API: one default connection, errors in rpyc_last_error() -----------------

/// Starts the embedded Python. Returns 0 on success, -1 on failure (see rpyc_last_error).
/// Idempotent and thread-safe; other functions also start it on first use.
#[no_mangle]
pub extern "C" fn rpyc_init() -> c_int {
    seed_call(-1, || runtime::init().map(|_| 0))
}

/// Connects the default connection to a classic RPyC server (replacing an earlier one).
/// Returns 0 on success, -1 on failure.
///
/// # Safety
/// `host` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rpyc_connect(host: *const c_char, port: c_int) -> c_int {
    seed_call(-1, || {
        // SAFETY: per this function's contract.
        let host = unsafe { read_str(host, "host") }?;
        bridge::default_connect(host, port).map(|_| 0)
    })
}

/// Closes the default connection, if any.
#[no_mangle]
pub extern "C" fn rpyc_disconnect() {
    seed_call((), bridge::default_disconnect)
}

/// Calls `module.func(*args)` once on the default connection. `args_json` is a JSON array
/// of positional arguments (NULL means none): `[2, 10]` calls `func(2, 10)`. Returns the
/// result as JSON (free with rpyc_free_string), or NULL on failure (see rpyc_last_error).
///
/// # Safety
/// Each argument must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rpyc_call(
    module: *const c_char,
    func: *const c_char,
    args_json: *const c_char,
) -> *mut c_char {
    seed_call(ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        let (module, func, args) = unsafe {
            (
                read_str(module, "module")?,
                read_str(func, "func")?,
                read_opt_str(args_json, "args_json")?,
            )
        };
        let handle = bridge::default_handle()?;
        bridge::call(handle, module, func, args, None, 0).map(|json| into_raw(&json))
    })
}

/// Reads `module.attr` on the default connection. Returns JSON (free with
/// rpyc_free_string), or NULL on failure (see rpyc_last_error).
///
/// # Safety
/// Each argument must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rpyc_getattr(module: *const c_char, attr: *const c_char) -> *mut c_char {
    seed_call(ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        let (module, attr) = unsafe { (read_str(module, "module")?, read_str(attr, "attr")?) };
        let handle = bridge::default_handle()?;
        bridge::getattr(handle, module, attr, 0).map(|json| into_raw(&json))
    })
}

/// Frees a string returned by this library. NULL is ignored.
///
/// # Safety
/// `s` must be NULL or a string returned by this library and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn rpyc_free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from CString::into_raw in this library, per the contract.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// 1 if the default connection is open, else 0.
#[no_mangle]
pub extern "C" fn rpyc_is_connected() -> c_int {
    seed_call(0, || {
        Ok(bridge::default_handle()
            .map(bridge::is_connected)
            .unwrap_or(false) as c_int)
    })
}

/// This thread's last error from the functions above ("Type: message", then the remote
/// traceback), or NULL. Owned by the library; valid until the next call on this thread.
#[no_mangle]
pub extern "C" fn rpyc_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(ptr::null(), |s| s.as_ptr()))
}

// ---- handle API: many connections, errors through out-parameters ---------------------------

/// Frees an error. NULL is ignored.
///
/// # Safety
/// `err` must be NULL or an error returned by this library and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn rpyc_error_free(err: *mut RpycError) {
    if err.is_null() {
        return;
    }
    // SAFETY: `err` and its strings were allocated by error_box, per the contract.
    unsafe {
        let err = Box::from_raw(err);
        for s in [err.type_name, err.message, err.traceback] {
            rpyc_free_string(s);
        }
    }
}

/// Starts the embedded Python. Returns 0, or a status with `*out_err` set.
///
/// # Safety
/// `out_err` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_runtime_init(out_err: *mut *mut RpycError) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { status_call(out_err, runtime::init) }
}

/// What the embedded Python carries, as JSON: {"python_version", "rpyc_version",
/// "builtin_modules", "path"}. `*out_json` is freed with rpyc_free_string.
///
/// # Safety
/// `out_json` and `out_err` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_runtime_info(
    out_json: *mut *mut c_char,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        write_out(out_json, ptr::null_mut());
        status_call(out_err, || {
            let json = bridge::info()?;
            write_out(out_json, into_raw(&json));
            Ok(())
        })
    }
}

/// Opens a connection. `options_json` is NULL or a JSON object with optional keys:
/// "service": "classic" (default) or "service" (a custom service: call its root's
/// exposed methods with module "root"); "connect_timeout": seconds (default 10);
/// "sync_request_timeout": seconds or null (default null: no limit); "allow_public_attrs";
/// "keepalive". On success `*out_conn` is a handle (never 0).
///
/// # Safety
/// `host`, `options_json` must be NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_open(
    host: *const c_char,
    port: i32,
    options_json: *const c_char,
    out_conn: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        write_out(out_conn, 0);
        status_call(out_err, || {
            let host = read_str(host, "host")?;
            let options = read_opt_str(options_json, "options_json")?;
            let handle = bridge::open(host, port, options)?;
            write_out(out_conn, handle);
            Ok(())
        })
    }
}

/// Closes a connection. An unknown or already closed handle gives RPYC_STATUS_ERR_HANDLE.
///
/// # Safety
/// `out_err` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_close(conn: u64, out_err: *mut *mut RpycError) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { status_call(out_err, || bridge::close(conn)) }
}

/// 1 if `conn` is an open connection, else 0.
#[no_mangle]
pub extern "C" fn rpyc_conn_is_connected(conn: u64) -> i32 {
    guard(|| Ok(bridge::is_connected(conn) as i32)).unwrap_or(0)
}

/// Calls `module.func(*args, **kwargs)` once. `args_json`: JSON array or NULL; `kwargs_json`:
/// JSON object or NULL. JSON arrays arrive as tuples. `timeout_ms` > 0 bounds the wait for
/// the reply (RPYC_STATUS_ERR_TIMEOUT; the connection stays usable). On success `*out_json`
/// is the result as JSON (numpy scalars and arrays converted on the server).
///
/// # Safety
/// String arguments must be NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_call(
    conn: u64,
    module: *const c_char,
    func: *const c_char,
    args_json: *const c_char,
    kwargs_json: *const c_char,
    timeout_ms: i64,
    out_json: *mut *mut c_char,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        write_out(out_json, ptr::null_mut());
        status_call(out_err, || {
            let module = read_str(module, "module")?;
            let func = read_str(func, "func")?;
            let args = read_opt_str(args_json, "args_json")?;
            let kwargs = read_opt_str(kwargs_json, "kwargs_json")?;
            let json = bridge::call(conn as ConnHandle, module, func, args, kwargs, timeout_ms)?;
            write_out(out_json, into_raw(&json));
            Ok(())
        })
    }
}

/// Reads `module.attr`. On success `*out_json` is its value as JSON.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_getattr(
    conn: u64,
    module: *const c_char,
    attr: *const c_char,
    timeout_ms: i64,
    out_json: *mut *mut c_char,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        write_out(out_json, ptr::null_mut());
        status_call(out_err, || {
            let module = read_str(module, "module")?;
            let attr = read_str(attr, "attr")?;
            let json = bridge::getattr(conn as ConnHandle, module, attr, timeout_ms)?;
            write_out(out_json, into_raw(&json));
            Ok(())
        })
    }
}

/// Runs the embedded Python as a program, like `python` with `argv` (argv[0] is the
/// program name): `-c CODE`, `-m MODULE`, a script path, or the REPL. Returns the exit
/// status. Must be called before any other function of this library, and only once: the
/// interpreter is finalised when it returns.
///
/// # Safety
/// `argv` must hold `argc` NUL-terminated strings (or be NULL with argc 0).
#[no_mangle]
pub unsafe extern "C" fn rpyc_python_main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut args = Vec::new();
    for i in 0..argc.max(0) as usize {
        if argv.is_null() {
            break;
        }
        // SAFETY: argv holds argc valid pointers per the contract.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: NUL-terminated per the contract.
        args.push(unsafe { CStr::from_ptr(p) }.to_owned());
    }
    catch_unwind(AssertUnwindSafe(|| entry::python_main(&args))).unwrap_or(1)
}
