//! The embedded Python as a program (examples/embedded_python.rs): the same Python and the
//! same rpyc_bridge_rt as the library's. For tests that need no server.

use std::path::PathBuf;
use std::process::Output;

pub fn embedded_python() -> PathBuf {
    // target/<profile>/deps/<test>-* -> target/<profile>/examples/embedded_python
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/embedded_python");
    assert!(
        bin.exists(),
        "{} is missing: cargo test builds examples",
        bin.display()
    );
    bin
}

/// The standard output of a run that must succeed (else its status and stderr).
pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
