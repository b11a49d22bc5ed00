//! The embedded interpreter as a program: `python -c ...`, `-m module`, a script, with argv.
//! Lets a shipped binary say what Python it carries and run scripts with that very Python.

use crate::pyconfig;
use crate::runtime::{self, RAN_AS_PROGRAM};
use std::ffi::CString;
use std::sync::atomic::Ordering;

/// Runs CPython's main with `argv` (argv[0] is the program name) and returns its exit
/// status. The interpreter is finalised afterwards, so the bridge cannot be used again in
/// this process. Returns 2 (with a message on stderr) if the bridge already started Python.
pub fn python_main(argv: &[CString]) -> i32 {
    if runtime::is_initialized() || RAN_AS_PROGRAM.swap(true, Ordering::SeqCst) {
        eprintln!("rpyc-bridge: the embedded Python is already running in this process");
        return 2;
    }
    let default_argv = [CString::new("python").unwrap()];
    let argv = if argv.is_empty() {
        &default_argv[..]
    } else {
        argv
    };
    if let Err(e) = runtime::start_interpreter(Some(argv)) {
        eprintln!("rpyc-bridge: the embedded Python did not start: {e}");
        return 1;
    }
    pyconfig::run_main()
}
