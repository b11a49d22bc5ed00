//! The embedded interpreter as a program, linked like any user of the crate:
//! `embedded_python -c "import sys; print(sys.version)"`, `-m module`, a script.

use std::ffi::CString;
use std::os::unix::ffi::OsStringExt;

fn main() {
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_vec()).expect("arguments contain no NUL"))
        .collect();
    std::process::exit(rpyc_bridge::python_main(&argv));
}
