//! The operations of rpyc_request are one table on each side: RpycOp (Rust, the C header)
//! and OPS in the Python half (rpyc_bridge_rt/ops.py). Their names must agree, in order.

#[path = "common/embedded.rs"]
mod embedded;

use embedded::{embedded_python, stdout};
use rpyc_bridge::ffi::RpycOp;
use std::path::PathBuf;
use std::process::Command;

/// `code`'s standard output, run by the embedded Python.
fn run_python(code: &str) -> String {
    stdout(
        &Command::new(embedded_python())
            .args(["-c", code])
            .output()
            .unwrap(),
    )
}

#[test]
fn rpyc_op_names_are_the_python_operations_table() {
    let out =
        run_python("import json; from rpyc_bridge_rt.ops import OPS; print(json.dumps(list(OPS)))");
    let python: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        RpycOp::names(),
        python,
        "RpycOp::names() and ops.OPS differ"
    );
}

#[test]
fn each_operation_acts_on_what_its_name_says() {
    // OPS: name -> (function, acts on a Ref); the Ref operations are the REF_* and ITER_NEXT.
    let out = run_python(
        "import json; from rpyc_bridge_rt.ops import OPS; \
         print(json.dumps({k: v[1] for k, v in OPS.items()}))",
    );
    let on_ref: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(out.trim()).unwrap();
    for name in RpycOp::names() {
        let want = name.starts_with("ref_") || name == "iter_next";
        assert_eq!(on_ref[name], want, "{name}");
    }
}

#[test]
fn op_codes_are_the_header_s() {
    // The codes are the C ABI: 1.. in table order, as cbindgen writes them in the header.
    let header =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go/rpyc_bridge.h"))
            .unwrap();
    for (i, name) in RpycOp::names().iter().enumerate() {
        let line = format!("RPYC_OP_{} = {},", name.to_uppercase(), i + 1);
        assert!(header.contains(&line), "{line} is not in the header");
    }
}
