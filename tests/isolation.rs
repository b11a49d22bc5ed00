//! The embedded Python as a program (examples/embedded_python.rs): it runs with nothing
//! around it, and the environment cannot change what it imports.

#[path = "common/embedded.rs"]
mod embedded;

use embedded::{embedded_python, stdout};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rpyc-bridge-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn entry_point_runs_dash_c() {
    let out = Command::new(embedded_python())
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .unwrap();
    assert!(stdout(&out).starts_with("3.13.5 "), "{}", stdout(&out));
}

#[test]
fn runs_with_an_empty_environment_from_an_empty_directory() {
    let dir = temp_dir("empty");
    let out = Command::new(embedded_python())
        .env_clear()
        .current_dir(&dir)
        .args([
            "-c",
            "import rpyc, encodings, socket, json, sys; print(sys.version); print(sys.path)",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.starts_with("3.13.5 "), "{text}");
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing is written to the working directory"
    );
}

#[test]
fn python_environment_variables_have_no_effect() {
    let dir = temp_dir("evil");
    let marker = dir.join("pwned");
    let evil = format!(
        "open({:?}, 'w').write('x')\nprint('EVIL')\n",
        marker.display().to_string()
    );
    fs::write(dir.join("socket.py"), &evil).unwrap();
    fs::write(dir.join("json.py"), &evil).unwrap();
    fs::write(dir.join("startup.py"), &evil).unwrap();
    let out = Command::new(embedded_python())
        .current_dir(&dir)
        .env("PYTHONPATH", &dir)
        .env("PYTHONHOME", &dir)
        .env("PYTHONSTARTUP", dir.join("startup.py"))
        .env("PYTHONSAFEPATH", "0")
        .args([
            "-c",
            "import socket, json, sys; print(socket.__spec__.origin); print(len(sys.path))",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        !text.contains("EVIL") && !marker.exists(),
        "a module from PYTHONPATH ran: {text}"
    );
    assert!(
        text.contains("socket.pyc") && text.ends_with("1\n"),
        "{text}"
    );
}

#[test]
fn help_says_which_pages_are_left_out() {
    // pydoc_data (keyword and topic pages) is not in the zip; pydoc says so, and help on
    // an object still works. (No site, so no help builtin.)
    let out = Command::new(embedded_python())
        .args([
            "-c",
            "import json, pydoc; pydoc.help('if'); pydoc.help(json.dumps)",
        ])
        .env("PAGER", "cat")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("documentation is not available")
            && text.contains("pydoc_data.topics")
            && text.contains("Help on function dumps"),
        "{text}"
    );
}
