//! Callbacks: the one handler through which remote Python calls Go (or C).
//!
//! A callback travels as a tag, `{"$callback": id}`, in any argument; the Python half makes
//! the callable there. The caller keeps `id`'s function from the request that passes it
//! until the handler hears the last RELEASE for it.
//!
//! Ownership: the handler's `*out_json` and `*out_error` are allocated with malloc by the
//! handler and freed by the library; everything the library lends it lives for the call.

use super::RpycSlice;
use std::ffi::c_char;

/// What the library tells the callback handler.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpycCallbackEvent {
    /// Run callback `id` (see `RpycCallbackFn`).
    Call = 0,
    /// A new Python callable of `id` exists (the library decoded `{"$callback": id}`); it
    /// runs inside the request that passed the tag. Return 0 if `id` is known, else nonzero
    /// (the request then fails with RPYC_STATUS_ERR_ARGUMENT).
    Retain = 1,
    /// One Python callable of `id` is gone (the server dropped it and no Ref holds it).
    Release = 2,
}

/// The one function through which remote Python calls Go (or C) callbacks.
///
/// CALL: `id` is the callback's id, `conn` its connection; `args_json` (a JSON array) and
/// `kwargs_json` (a JSON object) are tagged as in `RpycValue`, with their buffers in
/// `buffers[0..nbuffers]`, all lent for the call. Return 0 with `*out_json` set to the
/// result's tagged JSON (no buffers), 1 for an error or 2 for a panic with `*out_error` set
/// to a message; the result and message are allocated with malloc and freed by the library.
/// The server sees errors as exceptions.
///
/// RETAIN and RELEASE: the caller counts the callables of `id`; the strings, buffers and
/// out-pointers are NULL.
///
/// Threads: it runs on the thread serving the connection (a thread waiting for a reply, or
/// the background serving thread), without the GIL; RELEASE may come from any thread. It
/// may call this library; calls on the same connection made from that thread are nested
/// requests and do not wait for the connection to be free. Do not wait there for another
/// thread that uses the connection.
pub type RpycCallbackFn = Option<
    unsafe extern "C" fn(
        event: RpycCallbackEvent,
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
