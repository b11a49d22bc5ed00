//! Floats to and from text with CPython's own routines, so the hot path reads and writes
//! them exactly as `json.loads` and `json.dumps` do (and links no second float formatter).

use pyo3::ffi;
use pyo3::{PyErr, Python};
use std::ffi::{CStr, CString};
use std::ptr;

/// `float(text)` for a JSON number's text (validated by json.rs); `None` if CPython refuses it.
pub fn parse(py: Python<'_>, text: &str) -> Option<f64> {
    let c_text = CString::new(text).ok()?;
    // SAFETY: the GIL is held (`py`); `c_text` is NUL-terminated and outlives the call;
    // with a NULL endptr the whole string must convert, and a NULL overflow exception makes
    // overflow return ±inf, as float() does.
    let value =
        unsafe { ffi::PyOS_string_to_double(c_text.as_ptr(), ptr::null_mut(), ptr::null_mut()) };
    // A failure is reported as a Python exception: take it, the caller falls back.
    PyErr::take(py).is_none().then_some(value)
}

/// `repr(value)`, which is what `json.dumps` writes for a finite float; `None` only when
/// CPython is out of memory.
pub fn repr(_py: Python<'_>, value: f64) -> Option<String> {
    // SAFETY: the GIL is held (`_py`), as PyMem_Free needs. 'r' with flag ADD_DOT_0 is what
    // float.__repr__ passes. The result is a NUL-terminated string from PyMem_Malloc that we
    // own: it is copied, then freed once.
    unsafe {
        let text = ffi::PyOS_double_to_string(
            value,
            b'r' as _,
            0,
            ffi::Py_DTSF_ADD_DOT_0,
            ptr::null_mut(),
        );
        if text.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
        ffi::PyMem_Free(text.cast());
        Some(owned)
    }
}
