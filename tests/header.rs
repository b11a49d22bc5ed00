//! The committed C header must be what cbindgen makes of the code today.
//! Regenerate it with `RPYC_BRIDGE_BLESS=1 cargo test --release --test header`.

use std::path::PathBuf;

#[test]
fn committed_header_matches_the_code() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::generate_with_config(&root, config)
        .expect("cbindgen")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = root.join("go/rpyc_bridge.h");
    if std::env::var_os("RPYC_BRIDGE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with src/ffi/; run RPYC_BRIDGE_BLESS=1 cargo test --release --test header",
        path.display()
    );
}
