//! `_rpyc_bridge_native`: the built-in module through which the runtime's own Python code
//! (the stdlib importer, the callbacks) calls into Rust. Made once, right after start-up.

use crate::{callbacks, client_cert, stdlib_image, wire};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyModule};

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Makes `_rpyc_bridge_native` importable (once per process).
pub fn ensure(py: Python<'_>) -> PyResult<()> {
    MODULE.get_or_try_init(py, || {
        let module = PyModule::new(py, "_rpyc_bridge_native")?;
        module.add(
            "invoke",
            PyCFunction::new_closure(py, Some(c"invoke"), None, callbacks::invoke)?,
        )?;
        module.add(
            "release",
            PyCFunction::new_closure(py, Some(c"release"), None, callbacks::release)?,
        )?;
        module.add(
            "zstd_entry",
            PyCFunction::new_closure(py, Some(c"zstd_entry"), None, stdlib_image::zstd_entry)?,
        )?;
        module.add(
            "load_cert_chain_pem",
            PyCFunction::new_closure(
                py,
                Some(c"load_cert_chain_pem"),
                None,
                client_cert::load_cert_chain_pem,
            )?,
        )?;
        module.add(
            "wire_request",
            PyCFunction::new_closure(py, Some(c"wire_request"), None, wire::request)?,
        )?;
        module.add(
            "wire_recv",
            PyCFunction::new_closure(py, Some(c"wire_recv"), None, wire::recv)?,
        )?;
        module.add(
            "wire_reply",
            PyCFunction::new_closure(py, Some(c"wire_reply"), None, wire::reply)?,
        )?;
        py.import("sys")?
            .getattr("modules")?
            .set_item("_rpyc_bridge_native", &module)?;
        Ok::<_, PyErr>(module.unbind())
    })?;
    Ok(())
}
