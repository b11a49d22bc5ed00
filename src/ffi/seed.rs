//! The seed example's API: one default connection, errors in rpyc_last_error().
//!
//! Ownership: a returned `char*` is the caller's (rpyc_free_string); the string from
//! rpyc_last_error is the library's, valid until the thread's next call of this family.

use super::{guard, into_raw, read_opt_str, read_str};
use crate::error::BridgeError;
use crate::{bridge, runtime};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::ptr;

thread_local! {
    /// The seed API's last error on this thread; valid until the next seed call on it.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Seed API: runs `f`, recording a failure as this thread's last error.
fn seed_call<T>(failed: T, f: impl FnOnce() -> Result<T, BridgeError>) -> T {
    LAST_ERROR.with(|e| e.borrow_mut().take());
    match guard(f) {
        Ok(v) => v,
        Err(err) => {
            LAST_ERROR.with(|e| *e.borrow_mut() = Some(super::c_string(&err.to_string())));
            failed
        }
    }
}

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
        bridge::seed_request("call", module, func, args).map(|json| into_raw(&json))
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
        bridge::seed_request("getattr", module, attr, None).map(|json| into_raw(&json))
    })
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
