//! `_rpyc_bridge_native`: the built-in module through which the runtime's own Python code
//! (the stdlib importer, the callbacks) calls into Rust. Made once, right after start-up.

use crate::{callbacks, client_cert, stdlib_image, wire, RpycStatus};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyModule};

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Adds each Rust function `f(args, kwargs)` to the module as `name`.
macro_rules! add_functions {
    ($py:expr, $module:expr, $($name:ident => $f:path),* $(,)?) => {
        $(
            let name = concat!(stringify!($name), "\0");
            let c_name = std::ffi::CStr::from_bytes_with_nul(name.as_bytes()).expect("NUL-terminated");
            $module.add(stringify!($name), PyCFunction::new_closure($py, Some(c_name), None, $f)?)?;
        )*
    };
}

/// Makes `_rpyc_bridge_native` importable (once per process).
pub fn ensure(py: Python<'_>) -> PyResult<()> {
    MODULE.get_or_try_init(py, || {
        let module = PyModule::new(py, "_rpyc_bridge_native")?;
        add_functions!(py, module,
            invoke => callbacks::invoke,
            retain => callbacks::retain,
            release => callbacks::release,
            zstd_entry => stdlib_image::zstd_entry,
            load_cert_chain_pem => client_cert::load_cert_chain_pem,
            wire_request => wire::request,
            wire_recv => wire::recv,
            wire_reply => wire::reply,
            assembly => wire::assembly::new,
            assembly_place => wire::assembly::place,
            assembly_bytes => wire::assembly::to_bytes,
            assembly_discard => wire::assembly::discard,
        );
        // The server helper's source, sent to classic servers (Connection.__init__): the
        // value format first, then the helpers, which find it in their namespace.
        module.add(
            "SERVER_SOURCE",
            concat!(
                include_str!("python/rpyc_bridge_rt/wireformat.py"),
                "\n",
                include_str!("python/rpyc_bridge_rt/server_side.py"),
            ),
        )?;
        // The C ABI's status codes (RpycStatus, the header's RPYC_STATUS_*) by name, for
        // errors.py; and the reply reader's default limits, for wire.py.
        for (name, code) in RpycStatus::names() {
            module.add(format!("STATUS_{name}"), code)?;
        }
        module.add("WIRE_MAX_FRAME_BYTES", wire::DEFAULT_MAX_FRAME)?;
        module.add("WIRE_MAX_NESTING", wire::DEFAULT_MAX_DEPTH)?;
        py.import("sys")?
            .getattr("modules")?
            .set_item("_rpyc_bridge_native", &module)?;
        Ok::<_, PyErr>(module.unbind())
    })?;
    Ok(())
}
