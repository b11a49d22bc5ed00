//! The embedded interpreter itself: start it, describe it, run it as a program.
//!
//! Ownership: `*out_json` is the caller's (rpyc_free_string); errors as in mod.rs.

use super::{into_raw, out_call, status_call, RpycError};
use crate::{bridge, entry, runtime};
use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

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
/// "builtin_modules", "path", "executable", ...}. `*out_json` is freed with rpyc_free_string.
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
        out_call(out_json, ptr::null_mut(), out_err, || {
            bridge::info().map(|text| into_raw(&text))
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
