//! The embedded interpreter, in a test binary linked against this crate.

use serde_json::Value;

#[path = "../build/required_modules.rs"]
mod required_modules;

fn info() -> Value {
    serde_json::from_str(&rpyc_bridge::info().unwrap()).unwrap()
}

#[test]
fn starts_once_from_many_threads() {
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(rpyc_bridge::init))
        .collect();
    for t in threads {
        t.join().unwrap().expect("init");
    }
    rpyc_bridge::init().expect("init is idempotent");
}

#[test]
fn isolated_configuration() {
    let info = info();
    assert!(
        info["python_version"]
            .as_str()
            .unwrap()
            .starts_with("3.13."),
        "{info}"
    );
    assert_eq!(info["rpyc_version"], "6.0.2");
    let path = info["path"].as_array().unwrap();
    assert_eq!(path.len(), 1, "sys.path is the embedded zip alone: {info}");
    for flag in [
        "isolated",
        "ignore_environment",
        "no_site",
        "utf8_mode",
        "dont_write_bytecode",
    ] {
        assert_eq!(info[flag], true, "{flag}: {info}");
    }
}

#[test]
fn leaves_the_host_signal_handlers_alone() {
    rpyc_bridge::init().unwrap();
    // CPython with signal handlers would put its own function on SIGINT and ignore SIGXFSZ.
    // (SIGPIPE is not checked: Rust's own runtime ignores it in this test binary.) SIGINT may
    // be ignored already when we start: a shell's background jobs inherit that.
    for (sig, allowed) in [
        (libc::SIGINT, &[libc::SIG_DFL, libc::SIG_IGN][..]),
        (libc::SIGXFSZ, &[libc::SIG_DFL][..]),
    ] {
        // SAFETY: queries the current action only (act is NULL).
        let handler = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(sig, std::ptr::null(), &mut old), 0);
            old.sa_sigaction
        };
        assert!(
            allowed.contains(&handler),
            "signal {sig} has a handler after init"
        );
    }
}

#[test]
fn required_extension_modules_are_built_in() {
    let info = info();
    let builtin: Vec<&str> = info["builtin_modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for m in required_modules::REQUIRED_MODULES {
        assert!(builtin.contains(m), "{m} is not built in: {builtin:?}");
    }
}

#[test]
fn sys_executable_is_this_binary() {
    // Library mode: never a python found on PATH.
    let exe = std::env::current_exe().unwrap();
    assert_eq!(
        info()["executable"].as_str(),
        Some(exe.to_str().unwrap()),
        "sys.executable"
    );
}
