//! The C ABI, one file per family: seed (the seed example's API), connections, refs
//! (every request: rpyc_request), callbacks, runtime. cbindgen turns it into the header.
//!
//! Raw pointers from C enter safe code only through `read_str`, `read_opt_str`,
//! `read_slices` and `write_out`, here. No function unwinds into C: each body runs under
//! `catch_unwind` (`guard`).
//!
//! Ownership, for every family: strings returned as `char*` belong to the caller and are
//! freed with `rpyc_free_string`; an `RpycError*` belongs to the caller and is freed with
//! `rpyc_error_free`; an `RpycValue*` too, with `rpyc_value_free`. Input strings and
//! buffers are borrowed for the duration of the call only.
//!
//! Threads: every function may be called from any thread, concurrently.

mod buffers;
mod callbacks;
mod connections;
mod refs;
mod runtime;
mod seed;

pub use buffers::*;
pub use callbacks::*;
pub use connections::*;
pub use refs::*;
pub use runtime::*;
pub use seed::*;

use crate::bridge::{Payload, ResultBuffer};
use crate::error::{BridgeError, RpycStatus};
use std::ffi::{c_char, CStr, CString};
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

/// A buffer inside an `RpycValue`: the library's bytes (`token` 0), freed with the value,
/// or bytes of the caller's allocator (`rpyc_set_buffer_allocator`), which the caller owns
/// from the moment the value is returned, by their nonzero `token`.
#[repr(C)]
pub struct RpycBytes {
    pub data: *mut u8,
    pub len: usize,
    pub token: u64,
}

/// A value, owned by the caller: free it with `rpyc_value_free`.
///
/// `json` is tagged JSON. Plain JSON values map to themselves (arrays are Python tuples or
/// lists, objects are dicts with string keys). Objects with a single "$" key are tags:
/// `{"$float": "nan"|"inf"|"-inf"}`, `{"$bytes": i}` (bytes in `buffers[i]`),
/// `{"$array": [dtype, [shape...], i]}` (a numpy array, little-endian C-order data in
/// `buffers[i]`, dtype one of float64 float32 int64 int32 uint8), `{"$ref": id}` (a remote
/// object: a new Ref, released with rpyc_ref_release), `{"$dict": [[k, v], ...]}` (a dict
/// whose keys are not all plain strings), and more for large values (`$str`, `$list`,
/// `$pickle`: src/python/rpyc_bridge_rt/wireformat.py lists them all). Arguments use the
/// same tags, with buffers passed as `RpycSlice`s.
#[repr(C)]
pub struct RpycValue {
    pub json: *mut c_char,
    pub buffers: *mut RpycBytes,
    pub nbuffers: usize,
}

/// A C string from any Rust string: interior NULs become U+FFFD.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).expect("NULs were replaced")
}

pub(crate) fn into_raw(s: &str) -> *mut c_char {
    c_string(s).into_raw()
}

pub(crate) fn opt_into_raw(s: Option<&str>) -> *mut c_char {
    s.map_or(ptr::null_mut(), into_raw)
}

/// Borrows a C string argument.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays valid and unchanged
/// for the lifetime `'a` (the duration of the C call).
pub(crate) unsafe fn read_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, BridgeError> {
    // SAFETY: forwarded to the caller's contract.
    unsafe { read_opt_str(p, name) }?
        .ok_or_else(|| BridgeError::new(RpycStatus::ErrArgument, format!("{name} is NULL")))
}

/// Like `read_str`, but NULL is `None`.
///
/// # Safety
/// As for `read_str`.
pub(crate) unsafe fn read_opt_str<'a>(
    p: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, BridgeError> {
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
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the caller's contract.
        unsafe { out.write(value) };
    }
}

pub(crate) fn error_box(err: &BridgeError) -> *mut RpycError {
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
pub(crate) unsafe fn read_slices<'a>(
    p: *const RpycSlice,
    n: usize,
) -> Result<Vec<&'a [u8]>, BridgeError> {
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

pub(crate) fn value_box(p: Payload) -> *mut RpycValue {
    let buffers: Box<[RpycBytes]> = p
        .buffers
        .into_iter()
        .map(|b| match b {
            ResultBuffer::Library(b) => {
                let len = b.len();
                RpycBytes {
                    data: Box::into_raw(b.into_boxed_slice()).cast::<u8>(),
                    len,
                    token: 0,
                }
            }
            ResultBuffer::Caller(b) => {
                let (data, len, token) = b.into_raw();
                RpycBytes { data, len, token }
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
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, BridgeError>) -> Result<T, BridgeError> {
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
pub(crate) unsafe fn status_call(
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

/// Frees a value, but not the buffers with a nonzero token (the caller's). NULL is ignored.
///
/// # Safety
/// `value` must be NULL or a value returned by this library and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn rpyc_value_free(value: *mut RpycValue) {
    if value.is_null() {
        return;
    }
    // SAFETY: `value`, its JSON and its buffers of token 0 were allocated by value_box;
    // the others are the caller's.
    unsafe {
        let value = Box::from_raw(value);
        rpyc_free_string(value.json);
        let buffers = Box::from_raw(ptr::slice_from_raw_parts_mut(value.buffers, value.nbuffers));
        for b in buffers.iter().filter(|b| b.token == 0) {
            drop(Box::from_raw(ptr::slice_from_raw_parts_mut(b.data, b.len)));
        }
    }
}

/// Handle API: `*out` is `empty` until `f` succeeds, then what it returned.
///
/// # Safety
/// `out` and `out_err` must be NULL or writable.
pub(crate) unsafe fn out_call<T>(
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
