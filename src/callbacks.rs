//! Callbacks: Go (or C) functions that remote Python calls. They cross into the caller
//! through one registered function pointer and an opaque id (see `RpycCallbackFn`).
//!
//! The Python side (src/python/rpyc_bridge_rt/callbacks.py) calls `invoke`, `retain` and
//! `release` through the built-in module `_rpyc_bridge_native` (src/native.rs).

use crate::ffi::{RpycCallbackEvent, RpycCallbackFn, RpycSlice};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::RwLock;

static HANDLER: RwLock<RpycCallbackFn> = RwLock::new(None);

pub fn set_handler(handler: RpycCallbackFn) {
    *HANDLER.write().unwrap_or_else(|e| e.into_inner()) = handler;
}

fn handler() -> RpycCallbackFn {
    *HANDLER.read().unwrap_or_else(|e| e.into_inner())
}

/// invoke(id, conn, args_json, kwargs_json, buffers) -> (status, result_json, error)
pub(crate) fn invoke(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<(i32, Option<String>, Option<String>)> {
    let py = args.py();
    let (id, conn, args_json, kwargs_json, buffers): (
        u64,
        u64,
        String,
        String,
        Bound<'_, PyTuple>,
    ) = args.extract()?;
    let handler =
        handler().ok_or_else(|| PyRuntimeError::new_err("no callback handler is registered"))?;
    let buffers: Vec<Vec<u8>> = buffers
        .iter()
        .map(|b| crate::bridge::buffer_copy(&b))
        .collect::<PyResult<_>>()?;
    let args_c =
        CString::new(args_json).map_err(|_| PyRuntimeError::new_err("arguments contain NUL"))?;
    let kwargs_c =
        CString::new(kwargs_json).map_err(|_| PyRuntimeError::new_err("arguments contain NUL"))?;
    // The GIL is released while Go runs, so that other threads (and Go code the callback
    // waits for) can use Python.
    let (status, result, error) = py.detach(|| {
        let slices: Vec<RpycSlice> = buffers
            .iter()
            .map(|b| RpycSlice {
                data: b.as_ptr(),
                len: b.len(),
            })
            .collect();
        let mut out_json: *mut c_char = ptr::null_mut();
        let mut out_error: *mut c_char = ptr::null_mut();
        // SAFETY: the strings and slices live until the handler returns; the handler
        // writes malloc'd strings (or NULL) to the out-pointers, which we own afterwards.
        let status = unsafe {
            handler(
                RpycCallbackEvent::Call,
                id,
                conn,
                args_c.as_ptr(),
                kwargs_c.as_ptr(),
                slices.as_ptr(),
                slices.len(),
                &mut out_json,
                &mut out_error,
            )
        };
        // SAFETY: per RpycCallbackFn's contract, each is NULL or a malloc'd C string.
        unsafe { (status, take_malloced(out_json), take_malloced(out_error)) }
    });
    Ok((status, result, error))
}

/// retain(id, conn) -> bool: a new Python callable of `id`; false if the handler does not
/// know `id` (or none is registered).
pub(crate) fn retain(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<bool> {
    let (id, conn): (u64, u64) = args.extract()?;
    Ok(notify(args.py(), RpycCallbackEvent::Retain, id, conn) == Some(0))
}

/// release(id): the Python side dropped one callable of `id`.
pub(crate) fn release(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let (id,): (u64,) = args.extract()?;
    notify(args.py(), RpycCallbackEvent::Release, id, 0);
    Ok(())
}

/// Tells the handler of a lifetime event; its answer, or None without a handler.
fn notify(py: Python<'_>, event: RpycCallbackEvent, id: u64, conn: u64) -> Option<i32> {
    let handler = handler()?;
    Some(py.detach(|| {
        // SAFETY: a lifetime event: NULL arguments, NULL out-pointers, as the contract says.
        unsafe {
            handler(
                event,
                id,
                conn,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                0,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        }
    }))
}

/// # Safety
/// `p` must be NULL or a NUL-terminated string allocated with malloc, not used afterwards.
unsafe fn take_malloced(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe {
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        libc::free(p.cast());
        Some(s)
    }
}
