//! Callbacks: the one handler through which remote Python calls Go (or C).
//!
//! Ownership: the handler's `*out_json` and `*out_error` are allocated with malloc by the
//! handler and freed by the library; everything the library lends it lives for the call.

use super::{out_call, RpycError, RpycSlice};
use crate::bridge;
use std::ffi::c_char;

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
    unsafe { out_call(out_ref, 0, out_err, || bridge::callback_new(conn, id)) }
}
