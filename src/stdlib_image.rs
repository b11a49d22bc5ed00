//! The embedded stdlib zip, imported straight from the executable's memory.
//!
//! CPython's initialisation imports `encodings` before any importer of ours can run, so
//! those few modules, and our importer (src/frozen/_rpyc_bridge_importer.py), are frozen
//! (`PyImport_FrozenModules`, public API). Once CPython is up, the importer gets a
//! zero-copy memoryview of the zip and serves the virtual sys.path entry `ROOT` from it.
//! Nothing is written, no file or memfd is opened, /proc is not needed.

use pyo3::prelude::*;
use pyo3::{ffi, types::PyAnyMethods};
use std::ffi::{c_char, c_int, CStr};

pub static STDLIB_ZIP: &[u8] = include_bytes!(env!("RPYC_BRIDGE_STDLIB_ZIP"));

/// The zstd dictionary the zip's entries are compressed with (build/zip_image.rs), itself
/// zstd-compressed.
static STDLIB_DICT_ZST: &[u8] = include_bytes!(env!("RPYC_BRIDGE_STDLIB_DICT"));

/// The dictionary, inflated and digested once for every thread's decompressor.
fn dictionary() -> std::io::Result<&'static zstd::dict::DecoderDictionary<'static>> {
    static DICT: std::sync::OnceLock<Option<zstd::dict::DecoderDictionary<'static>>> =
        std::sync::OnceLock::new();
    DICT.get_or_init(|| {
        let raw = zstd::stream::decode_all(STDLIB_DICT_ZST).ok()?;
        Some(zstd::dict::DecoderDictionary::copy(&raw))
    })
    .as_ref()
    .ok_or_else(|| std::io::Error::other("the embedded zstd dictionary does not inflate"))
}

/// The one sys.path entry. Virtual: module `__file__`s are `<ROOT>/os.pyc` and so on.
pub const ROOT: &CStr = c"<rpyc-bridge>/stdlib.zip";

/// (name, marshalled code, is a package), made by build/frozen.rs.
static FROZEN: &[(&CStr, &[u8], bool)] = include!(concat!(env!("OUT_DIR"), "/frozen_modules.rs"));

const IMPORTER: &str = "_rpyc_bridge_importer";

/// Registers the frozen modules. Call once, before the interpreter is initialised.
pub fn register_frozen_modules() {
    let mut table: Vec<ffi::_frozen> = FROZEN
        .iter()
        .map(|(name, code, package)| ffi::_frozen {
            name: name.as_ptr(),
            code: code.as_ptr(),
            size: code.len() as c_int,
            is_package: c_int::from(*package),
        })
        .collect();
    table.push(ffi::_frozen {
        name: std::ptr::null(),
        code: std::ptr::null(),
        size: 0,
        is_package: 0,
    });
    // The interpreter reads the table for the life of the process.
    let table: &'static [ffi::_frozen] = Box::leak(table.into_boxed_slice());
    // SAFETY: runs before Py_InitializeFromConfig (runtime.rs starts CPython once), so
    // nothing reads the pointer concurrently; the table is NULL-terminated and 'static.
    unsafe { ffi::PyImport_FrozenModules = table.as_ptr() };
}

/// zstd_entry(offset, compressed_size, size) -> bytes: one zstd-compressed entry of the
/// embedded zip, decompressed with the shared dictionary (called by the frozen importer for
/// method 93).
pub(crate) fn zstd_entry(
    args: &Bound<'_, pyo3::types::PyTuple>,
    _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
) -> PyResult<Py<pyo3::types::PyBytes>> {
    let py = args.py();
    let (offset, csize, size): (usize, usize, usize) = args.extract()?;
    let data = offset
        .checked_add(csize)
        .and_then(|end| STDLIB_ZIP.get(offset..end))
        .ok_or_else(|| pyo3::exceptions::PyImportError::new_err("zip entry out of range"))?;
    let bytes = pyo3::types::PyBytes::new_with(py, size, |buf| {
        // One decompression context per thread, reused: making one costs more than a
        // small module's decompression.
        thread_local! {
            static DCTX: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
                const { std::cell::RefCell::new(None) };
        }
        let result = DCTX.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(zstd::bulk::Decompressor::with_prepared_dictionary(
                    dictionary()?,
                )?);
            }
            slot.as_mut()
                .expect("just set")
                .decompress_to_buffer(data, buf)
        });
        match result {
            Ok(n) if n == size => Ok(()),
            Ok(n) => Err(pyo3::exceptions::PyImportError::new_err(format!(
                "zip entry inflated to {n} bytes, not {size}"
            ))),
            Err(e) => Err(pyo3::exceptions::PyImportError::new_err(format!(
                "zip entry: {e}"
            ))),
        }
    })?;
    Ok(bytes.unbind())
}

/// Installs the in-memory importer. Call once, right after initialisation, with the GIL.
pub fn install_importer(py: Python<'_>) -> Result<(), String> {
    crate::native::ensure(py).map_err(|e| format!("cannot make the native module: {e}"))?;
    // SAFETY: STDLIB_ZIP is 'static and never written; the memoryview is read-only
    // (PyBUF_READ), so Python can neither outlive nor modify the bytes.
    let view = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyMemoryView_FromMemory(
                STDLIB_ZIP.as_ptr() as *mut c_char,
                STDLIB_ZIP.len() as ffi::Py_ssize_t,
                ffi::PyBUF_READ,
            ),
        )
    };
    view.and_then(|view| {
        py.import(IMPORTER)?
            .call_method1("install", (view, ROOT.to_str().unwrap()))
    })
    .map(|_| ())
    .map_err(|e| format!("cannot install the in-memory stdlib importer: {e}"))
}
