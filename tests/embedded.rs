//! The embedded interpreter, in a test binary linked against this crate.

#[test]
fn starts_and_reports_what_it_carries() {
    rpyc_bridge::init().expect("init");
    rpyc_bridge::init().expect("init is idempotent");
    let info: serde_json::Value = serde_json::from_str(&rpyc_bridge::info().unwrap()).unwrap();
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
}
