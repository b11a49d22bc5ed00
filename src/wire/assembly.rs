//! A large result buffer put together from the pieces the server sends (connection.py's
//! `_take_kept`), in memory from the caller's allocator when it registered one (Go's heap:
//! Go keeps the buffer as it is), else in memory Rust owns. The bridge hands either to C as
//! it is, where a Python bytearray would cost one more copy, and one more fresh allocation,
//! of the whole. To Python it is a capsule, written to with `assembly_place` only.

use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyCapsuleMethods, PyDict, PyTuple};
use std::alloc::{self, Layout};
use std::ffi::CStr;
use std::sync::{Mutex, MutexGuard};

use crate::bridge::ResultBuffer;
use crate::ffi::CallerBuffer;

const NAME: &CStr = c"rpyc_bridge.assembly";

/// What the capsule holds. Taken out (left empty) when the bridge hands it to C; the
/// caller's memory goes back to it when the capsule dies with it still inside.
type Assembly = Mutex<ResultBuffer>;

/// assembly(size) -> capsule: `size` bytes, the caller's or zeroed.
pub(crate) fn new(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyCapsule>> {
    let (size,): (usize,) = args.extract()?;
    let buf = match CallerBuffer::allocate(size) {
        Some(caller) => ResultBuffer::Caller(caller),
        None => ResultBuffer::Library(zeroed(size)?),
    };
    Ok(PyCapsule::new_with_value(args.py(), Mutex::new(buf), NAME)?.unbind())
}

/// assembly_place(capsule, offset, data): copies `data` in at `offset`; ValueError if it
/// does not fit.
pub(crate) fn place(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let (capsule, offset, data): (Bound<'_, PyAny>, usize, Bound<'_, PyBytes>) = args.extract()?;
    let mut buf = lock(&capsule)?;
    let data = data.as_bytes();
    let end = offset
        .checked_add(data.len())
        .filter(|&end| end <= buf.len());
    let Some(end) = end else {
        return Err(PyValueError::new_err(format!(
            "a piece of {} bytes at {offset} does not fit a buffer of {} bytes",
            data.len(),
            buf.len()
        )));
    };
    buf[offset..end].copy_from_slice(data);
    Ok(())
}

/// assembly_bytes(capsule) -> bytes: a copy, for Python code that reads the buffer.
pub(crate) fn to_bytes(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyBytes>> {
    let (capsule,): (Bound<'_, PyAny>,) = args.extract()?;
    let buf = lock(&capsule)?;
    Ok(PyBytes::new(args.py(), &buf).unbind())
}

/// assembly_discard(capsule): empties it now (the caller's memory goes back to it), for a
/// take that failed: its capsule may live on in a traceback.
pub(crate) fn discard(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let (capsule,): (Bound<'_, PyAny>,) = args.extract()?;
    let emptied = std::mem::replace(&mut *lock(&capsule)?, ResultBuffer::Library(Vec::new()));
    drop(emptied);
    Ok(())
}

/// The bytes of an assembly, moved out of it; None for any other object. Called for every
/// result buffer: a bytes costs a type check, not a Python error.
pub(crate) fn take(obj: &Bound<'_, PyAny>) -> Option<ResultBuffer> {
    assembly(obj).map(|assembly| {
        std::mem::replace(&mut *locked(assembly), ResultBuffer::Library(Vec::new()))
    })
}

/// The assembly a capsule made by `new` holds; None for any other object.
fn assembly<'a>(obj: &'a Bound<'_, PyAny>) -> Option<&'a Assembly> {
    let capsule = obj.cast::<PyCapsule>().ok()?;
    let ptr = capsule.pointer_checked(Some(NAME)).ok()?.cast::<Assembly>();
    // SAFETY: a capsule with this name is only made by `new`, with an `Assembly` boxed in
    // it, which lives until the capsule is destroyed; `obj` keeps the capsule alive for 'a.
    Some(unsafe { ptr.as_ref() })
}

fn lock<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<MutexGuard<'a, ResultBuffer>> {
    let assembly = assembly(obj)
        .ok_or_else(|| PyTypeError::new_err(format!("{} is not an assembly", obj.get_type())))?;
    Ok(locked(assembly))
}

/// A panic while it was held left whole bytes behind: still a buffer.
fn locked(assembly: &Assembly) -> MutexGuard<'_, ResultBuffer> {
    assembly
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `size` zero bytes, fresh from the OS for a large size (calloc does not write them), or
/// MemoryError: the size is the server's word, and an allocation failing must not abort.
/// On Linux a large buffer asks for huge pages: filling it then takes one page fault per
/// 2 MB, not one per 4 kB, which on a virtual machine cost more than the copying.
fn zeroed(size: usize) -> PyResult<Vec<u8>> {
    if size == 0 {
        return Ok(Vec::new());
    }
    let refused = || PyMemoryError::new_err(format!("no memory for a result of {size} bytes"));
    let layout = Layout::array::<u8>(size).map_err(|_| refused())?;
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe { alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(refused());
    }
    // SAFETY: `ptr` is `size` zeroed bytes (valid u8s) from the global allocator with the
    // layout a Vec<u8> of capacity `size` frees it with.
    let buf = unsafe { Vec::from_raw_parts(ptr, size, size) };
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buf.as_ptr() as usize;
        let first = start.next_multiple_of(HUGE);
        let end = (start + size) / HUGE * HUGE;
        if end > first {
            // SAFETY: [first, end) lies inside `buf`'s allocation; MADV_HUGEPAGE only
            // changes how the kernel backs the pages, never their contents.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `native.<name>(*args)`, as the runtime's Python calls it.
    fn native<'py>(
        py: Python<'py>,
        name: &str,
        args: impl pyo3::call::PyCallArgs<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        py.import("_rpyc_bridge_native")?.getattr(name)?.call1(args)
    }

    #[test]
    fn pieces_land_where_they_belong_and_nothing_overflows() {
        crate::runtime::init().unwrap();
        Python::attach(|py| {
            let buf = native(py, "assembly", (5usize << 20,)).unwrap();
            let piece = PyBytes::new(py, &[7u8; 1 << 20]);
            native(py, "assembly_place", (&buf, 4usize << 20, &piece)).unwrap();
            native(
                py,
                "assembly_place",
                (&buf, 1usize, PyBytes::new(py, b"ab")),
            )
            .unwrap();
            for offset in [(4usize << 20) + 1, usize::MAX] {
                let err = native(py, "assembly_place", (&buf, offset, &piece)).unwrap_err();
                assert!(err.to_string().contains("does not fit"), "{err}");
            }
            let copy = native(py, "assembly_bytes", (&buf,)).unwrap();
            let whole = take(&buf).expect("an assembly");
            assert_eq!(copy.cast::<PyBytes>().unwrap().as_bytes(), &whole[..]);
            assert_eq!(&whole[..4], b"\0ab\0");
            assert!(whole[4 << 20..].iter().all(|&b| b == 7) && whole.len() == 5 << 20);
            assert_eq!(
                take(&buf),
                Some(ResultBuffer::Library(vec![])),
                "taken once: left empty"
            );
            assert_eq!(take(&piece.into_any()), None, "bytes are not an assembly");
            let dropped = native(py, "assembly", (3usize,)).unwrap();
            native(
                py,
                "assembly_place",
                (&dropped, 0usize, PyBytes::new(py, b"abc")),
            )
            .unwrap();
            native(py, "assembly_discard", (&dropped,)).unwrap();
            assert_eq!(take(&dropped), Some(vec![].into()), "discarded: empty");
            let err = native(
                py,
                "assembly_place",
                (py.None(), 0usize, PyBytes::new(py, b"x")),
            )
            .unwrap_err();
            assert!(err.is_instance_of::<PyTypeError>(py), "{err}");
        });
    }
}
