//! The C ABI. cbindgen turns this module into go/rpyc_bridge.h.
//!
//! Raw pointers from C enter safe code only through `read_str`, `read_opt_str` and
//! `write_out`. No function unwinds into C: each body runs under `catch_unwind`.
//!
//! Ownership: strings returned as `char*` belong to the caller and are freed with
//! `rpyc_free_string`; `RpycError*` belongs to the caller and is freed with
//! `rpyc_error_free`. Input strings are borrowed for the duration of the call only.
//!
//! Threads: every function may be called from any thread, concurrently.

use crate::bridge::{self, ConnHandle, Payload, RefHandle};
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

/// Bytes lent by the caller for the duration of one call.
#[repr(C)]
pub struct RpycSlice {
    pub data: *const u8,
    pub len: usize,
}

/// Bytes owned by the library, inside an `RpycValue`.
#[repr(C)]
pub struct RpycBytes {
    pub data: *mut u8,
    pub len: usize,
}

/// A value, owned by the caller: free it with `rpyc_value_free`.
///
/// `json` is tagged JSON. Plain JSON values map to themselves (arrays are Python tuples or
/// lists, objects are dicts with string keys). Objects with a single "$" key are tags:
/// `{"$float": "nan"|"inf"|"-inf"}`, `{"$bytes": i}` (bytes in `buffers[i]`),
/// `{"$array": [dtype, [shape...], i]}` (a numpy array, little-endian C-order data in
/// `buffers[i]`, dtype one of float64 float32 int64 int32 uint8), `{"$ref": id}` (a remote
/// object: a new Ref, released with rpyc_ref_release), `{"$dict": [[k, v], ...]}` (a dict
/// whose keys are not all plain strings). Arguments use the same tags, with buffers passed
/// as `RpycSlice`s.
#[repr(C)]
pub struct RpycValue {
    pub json: *mut c_char,
    pub buffers: *mut RpycBytes,
    pub nbuffers: usize,
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

/// Borrows an array of caller buffers.
///
/// # Safety
/// `p` must be NULL (with `n` 0) or point to `n` valid `RpycSlice`s whose data stays valid
/// for the lifetime `'a` (the duration of the C call).
unsafe fn read_slices<'a>(p: *const RpycSlice, n: usize) -> Result<Vec<&'a [u8]>, BridgeError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(BridgeError::new(
            RpycStatus::ErrArgument,
            format!("buffers is NULL but nbuffers is {n}"),
        ));
    }
    // SAFETY: `p` points to `n` slices per the caller's contract.
    let slices = unsafe { std::slice::from_raw_parts(p, n) };
    slices
        .iter()
        .enumerate()
        .map(|(i, s)| match (s.data.is_null(), s.len) {
            (_, 0) => Ok(&[][..]),
            (true, _) => Err(BridgeError::new(
                RpycStatus::ErrArgument,
                format!("buffers[{i}].data is NULL"),
            )),
            // SAFETY: non-NULL and `len` bytes long per the caller's contract.
            (false, len) => Ok(unsafe { std::slice::from_raw_parts(s.data, len) }),
        })
        .collect()
}

fn value_box(p: Payload) -> *mut RpycValue {
    let buffers: Box<[RpycBytes]> = p
        .buffers
        .into_iter()
        .map(|b| {
            let len = b.len();
            RpycBytes {
                data: Box::into_raw(b.into_boxed_slice()).cast::<u8>(),
                len,
            }
        })
        .collect();
    let nbuffers = buffers.len();
    Box::into_raw(Box::new(RpycValue {
        json: into_raw(&p.json),
        buffers: Box::into_raw(buffers).cast::<RpycBytes>(),
        nbuffers,
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
        bridge::call_plain(handle, module, func, args).map(|json| into_raw(&json))
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
        bridge::getattr_plain(handle, module, attr).map(|json| into_raw(&json))
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
    unsafe { string_call(out_json, out_err, bridge::info) }
}

/// Opens a connection. `options_json` is NULL or a JSON object with optional keys:
/// "service": "classic" (default) or "service" (a custom service: call its root's
/// exposed methods with module "root"); "connect_timeout": seconds (default 10);
/// "sync_request_timeout": seconds or null (default null: no limit); "allow_public_attrs";
/// "keepalive"; "compress" (default false: RPyC's zlib on frames, both ways on classic servers).
/// On success `*out_conn` is a handle (never 0).
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

/// Frees a value. NULL is ignored.
///
/// # Safety
/// `value` must be NULL or a value returned by this library and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn rpyc_value_free(value: *mut RpycValue) {
    if value.is_null() {
        return;
    }
    // SAFETY: `value`, its JSON and its buffers were allocated by value_box.
    unsafe {
        let value = Box::from_raw(value);
        rpyc_free_string(value.json);
        let buffers = Box::from_raw(ptr::slice_from_raw_parts_mut(value.buffers, value.nbuffers));
        for b in buffers.iter() {
            drop(Box::from_raw(ptr::slice_from_raw_parts_mut(b.data, b.len)));
        }
    }
}

/// Handle API: runs `f`, storing its value in `*out_value`.
///
/// # Safety
/// `out_value` and `out_err` must be NULL or writable.
unsafe fn value_call(
    out_value: *mut *mut RpycValue,
    out_err: *mut *mut RpycError,
    f: impl FnOnce() -> Result<Payload, BridgeError>,
) -> i32 {
    // SAFETY: per the caller's contract.
    unsafe { out_call(out_value, ptr::null_mut(), out_err, || f().map(value_box)) }
}

/// Handle API: runs `f`, storing the string it returns in `*out` (the caller frees it with
/// rpyc_free_string).
///
/// # Safety
/// `out` and `out_err` must be NULL or writable.
unsafe fn string_call(
    out: *mut *mut c_char,
    out_err: *mut *mut RpycError,
    f: impl FnOnce() -> Result<String, BridgeError>,
) -> i32 {
    // SAFETY: per the caller's contract.
    unsafe {
        out_call(out, ptr::null_mut(), out_err, || {
            f().map(|text| into_raw(&text))
        })
    }
}

/// Handle API: runs `f`, storing the handle it returns in `*out`.
///
/// # Safety
/// `out` and `out_err` must be NULL or writable.
unsafe fn handle_call(
    out: *mut u64,
    out_err: *mut *mut RpycError,
    f: impl FnOnce() -> Result<u64, BridgeError>,
) -> i32 {
    // SAFETY: per the caller's contract.
    unsafe { out_call(out, 0, out_err, f) }
}

/// The three above: `*out` is `empty` until `f` succeeds, then what it returned.
///
/// # Safety
/// `out` and `out_err` must be NULL or writable.
unsafe fn out_call<T>(
    out: *mut T,
    empty: T,
    out_err: *mut *mut RpycError,
    f: impl FnOnce() -> Result<T, BridgeError>,
) -> i32 {
    // SAFETY: per the caller's contract.
    unsafe {
        write_out(out, empty);
        status_call(out_err, || {
            write_out(out, f()?);
            Ok(())
        })
    }
}

/// Calls `module.func(*args, **kwargs)` once and returns the result by value (objects with
/// no value mapping come back as `$ref` tags). `args_json`: a JSON array or NULL;
/// `kwargs_json`: a JSON object or NULL; both may use the tags of `RpycValue`, with their
/// buffers in `buffers[0..nbuffers]`. `timeout_ms` > 0 bounds the wait for the reply
/// (RPYC_STATUS_ERR_TIMEOUT; the connection stays usable).
///
/// # Safety
/// Strings NULL or NUL-terminated; `buffers` as for RpycSlice; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_call(
    conn: u64,
    module: *const c_char,
    func: *const c_char,
    args_json: *const c_char,
    kwargs_json: *const c_char,
    buffers: *const RpycSlice,
    nbuffers: usize,
    timeout_ms: i64,
    out_value: *mut *mut RpycValue,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        value_call(out_value, out_err, || {
            let module = read_str(module, "module")?;
            let func = read_str(func, "func")?;
            let args = read_opt_str(args_json, "args_json")?;
            let kwargs = read_opt_str(kwargs_json, "kwargs_json")?;
            let buffers = read_slices(buffers, nbuffers)?;
            bridge::call(
                conn as ConnHandle,
                module,
                func,
                args,
                kwargs,
                &buffers,
                timeout_ms,
            )
        })
    }
}

/// Reads `module.attr` by value.
///
/// # Safety
/// Strings NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_getattr(
    conn: u64,
    module: *const c_char,
    attr: *const c_char,
    timeout_ms: i64,
    out_value: *mut *mut RpycValue,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        value_call(out_value, out_err, || {
            let module = read_str(module, "module")?;
            let attr = read_str(attr, "attr")?;
            bridge::getattr(conn as ConnHandle, module, attr, timeout_ms)
        })
    }
}

/// A Ref to module `module` (classic servers).
///
/// # Safety
/// `module` NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_import(
    conn: u64,
    module: *const c_char,
    out_ref: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        handle_call(out_ref, out_err, || {
            bridge::import(conn, read_str(module, "module")?)
        })
    }
}

/// A Ref to the service root (`conn.root`).
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_root(
    conn: u64,
    out_ref: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { handle_call(out_ref, out_err, || bridge::root(conn)) }
}

/// The number of live Refs of `conn` (of all connections when `conn` is 0).
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_ref_count(
    conn: u64,
    out_count: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { handle_call(out_count, out_err, || bridge::ref_count(conn)) }
}

/// `getattr(ref, name)` as a new Ref.
///
/// # Safety
/// `name` NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_getattr(
    r: u64,
    name: *const c_char,
    out_ref: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        handle_call(out_ref, out_err, || {
            bridge::ref_getattr(r, read_str(name, "name")?)
        })
    }
}

/// `setattr(ref, name, value)`; `value_json` uses the tags of `RpycValue`.
///
/// # Safety
/// Strings NULL or NUL-terminated; `buffers` as for RpycSlice; `out_err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_setattr(
    r: u64,
    name: *const c_char,
    value_json: *const c_char,
    buffers: *const RpycSlice,
    nbuffers: usize,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        status_call(out_err, || {
            let name = read_str(name, "name")?;
            let value = read_str(value_json, "value_json")?;
            bridge::ref_setattr(r, name, value, &read_slices(buffers, nbuffers)?)
        })
    }
}

/// `ref(*args, **kwargs)` as a new Ref. Arguments as for rpyc_conn_call; a `$ref` argument
/// is the very object the Ref holds.
///
/// # Safety
/// Strings NULL or NUL-terminated; `buffers` as for RpycSlice; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_call(
    r: u64,
    args_json: *const c_char,
    kwargs_json: *const c_char,
    buffers: *const RpycSlice,
    nbuffers: usize,
    timeout_ms: i64,
    out_ref: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        handle_call(out_ref, out_err, || {
            let args = read_opt_str(args_json, "args_json")?;
            let kwargs = read_opt_str(kwargs_json, "kwargs_json")?;
            bridge::ref_call(
                r,
                args,
                kwargs,
                &read_slices(buffers, nbuffers)?,
                timeout_ms,
            )
        })
    }
}

/// `ref[key]` as a new Ref; `key_json` uses the tags of `RpycValue`.
///
/// # Safety
/// `key_json` NULL or NUL-terminated; `buffers` as for RpycSlice; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_getitem(
    r: u64,
    key_json: *const c_char,
    buffers: *const RpycSlice,
    nbuffers: usize,
    out_ref: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        handle_call(out_ref, out_err, || {
            bridge::ref_getitem(
                r,
                read_str(key_json, "key_json")?,
                &read_slices(buffers, nbuffers)?,
            )
        })
    }
}

/// `ref[key] = value`.
///
/// # Safety
/// Strings NULL or NUL-terminated; `buffers` as for RpycSlice; `out_err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_setitem(
    r: u64,
    key_json: *const c_char,
    value_json: *const c_char,
    buffers: *const RpycSlice,
    nbuffers: usize,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        status_call(out_err, || {
            let key = read_str(key_json, "key_json")?;
            let value = read_str(value_json, "value_json")?;
            bridge::ref_setitem(r, key, value, &read_slices(buffers, nbuffers)?)
        })
    }
}

/// `len(ref)`.
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_len(
    r: u64,
    out_len: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { handle_call(out_len, out_err, || bridge::ref_len(r)) }
}

/// `repr(ref)`, or `str(ref)` when `as_str` is non-zero. Free `*out_text` with rpyc_free_string.
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_text(
    r: u64,
    as_str: i32,
    out_text: *mut *mut c_char,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { string_call(out_text, out_err, || bridge::ref_text(r, as_str != 0)) }
}

/// The object a Ref holds, by value (nested objects with no value mapping as new Refs).
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_decode(
    r: u64,
    timeout_ms: i64,
    out_value: *mut *mut RpycValue,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { value_call(out_value, out_err, || bridge::ref_decode(r, timeout_ms)) }
}

/// `iter(ref)` as a new Ref; step it with rpyc_iter_next.
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_iter(
    r: u64,
    out_iter: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { handle_call(out_iter, out_err, || bridge::ref_iter(r)) }
}

/// `next(iterator)` as a new Ref in `*out_item`, or 0 there when the iterator is exhausted.
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_iter_next(
    iter: u64,
    out_item: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        handle_call(out_item, out_err, || {
            bridge::iter_next(iter).map(|h| h.unwrap_or(0))
        })
    }
}

/// Releases a Ref, so that the server may free the object. A released or unknown Ref gives
/// RPYC_STATUS_ERR_HANDLE. Closing a connection releases all its Refs.
///
/// # Safety
/// `out_err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_release(r: u64, out_err: *mut *mut RpycError) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { status_call(out_err, || bridge::ref_release(r as RefHandle)) }
}

/// Asks the RPyC registry at `registry_host:registry_port` (UDP, or TCP when `tcp` is
/// non-zero) which servers offer `service`. `*out_json` is `[["host", port], ...]`, sorted;
/// empty when none is registered. `timeout_ms` <= 0 waits 2 s.
///
/// # Safety
/// Strings NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_discover(
    service: *const c_char,
    registry_host: *const c_char,
    registry_port: i32,
    tcp: i32,
    timeout_ms: i64,
    out_json: *mut *mut c_char,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        string_call(out_json, out_err, || {
            let service = read_str(service, "service")?;
            let host = read_str(registry_host, "registry_host")?;
            bridge::discover(service, host, registry_port, tcp != 0, timeout_ms)
        })
    }
}

/// The one function through which remote Python calls Go (or C) callbacks.
///
/// A call: `id` is the callback's id (from rpyc_callback_new), `conn` its connection;
/// `args_json` (a JSON array) and `kwargs_json` (a JSON object) are tagged as in
/// `RpycValue`, with their buffers in `buffers[0..nbuffers]`, all lent for the call. Return
/// 0 with `*out_json` set to the result's tagged JSON (no buffers), 1 for an error or 2 for
/// a panic with `*out_error` set to a message; the result and message are allocated with
/// malloc and freed by the library. The server sees errors as exceptions.
///
/// A release: `args_json` is NULL (and every out-pointer too): one Python callable of `id`
/// is gone (the server dropped it and no Ref holds it); the caller counts them.
///
/// Threads: it runs on the thread serving the connection (a thread waiting for a reply, or
/// the background serving thread), without the GIL. It may call this library; calls on the
/// same connection made from that thread are nested requests and do not wait for the
/// connection to be free. Do not wait there for another thread that uses the connection.
pub type RpycCallbackFn = Option<
    unsafe extern "C" fn(
        id: u64,
        conn: u64,
        args_json: *const c_char,
        kwargs_json: *const c_char,
        buffers: *const RpycSlice,
        nbuffers: usize,
        out_json: *mut *mut c_char,
        out_error: *mut *mut c_char,
    ) -> i32,
>;

/// Registers the callback function (NULL unregisters). Call it before passing callbacks.
#[no_mangle]
pub extern "C" fn rpyc_set_callback_handler(handler: RpycCallbackFn) {
    crate::callbacks::set_handler(handler);
}

/// A Ref to a new Python callable that runs callback `id` through the registered handler.
/// Pass the Ref as an argument (`{"$ref": ...}`) to give the server the callable; release
/// the Ref when the call returns: the server keeps its own reference as long as it needs
/// one, and the handler hears of each callable's end (a release).
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_callback_new(
    conn: u64,
    id: u64,
    out_ref: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { handle_call(out_ref, out_err, || bridge::callback_new(conn, id)) }
}

/// Serves the server's requests (callbacks) from a background thread while `enable` is
/// non-zero, also between calls: for subscriptions and events. Off by default.
///
/// # Safety
/// `out_err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_serve_background(
    conn: u64,
    enable: i32,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { status_call(out_err, || bridge::serve_background(conn, enable != 0)) }
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
