//! The library's interpreter ignores PYTHONPATH, PYTHONHOME and PYTHONSTARTUP too.
//! (Its own test binary: the environment is set before the interpreter starts.)

use std::fs;

#[test]
fn library_init_ignores_python_environment_variables() {
    let dir = std::env::temp_dir().join(format!("rpyc-bridge-env-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("pwned");
    let evil = format!("open({:?}, 'w').write('x')\n", marker.display().to_string());
    for name in [
        "socket.py",
        "json.py",
        "rpyc.py",
        "startup.py",
        "sitecustomize.py",
    ] {
        fs::write(dir.join(name), &evil).unwrap();
    }
    std::env::set_var("PYTHONPATH", &dir);
    std::env::set_var("PYTHONHOME", &dir);
    std::env::set_var("PYTHONSTARTUP", dir.join("startup.py"));
    rpyc_bridge::init().expect("init");
    let info: serde_json::Value = serde_json::from_str(&rpyc_bridge::info().unwrap()).unwrap();
    assert_eq!(info["path"].as_array().unwrap().len(), 1, "{info}");
    // Connecting imports socket through rpyc; a closed port keeps the test offline.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(rpyc_bridge::open("127.0.0.1", port as i32, None).is_err());
    assert!(!marker.exists(), "a module from PYTHONPATH was imported");
    let _ = fs::remove_dir_all(&dir);
}
