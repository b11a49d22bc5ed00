//! The bridge's Rust API against a real RPyC classic server.

mod common;

use common::Server;
use rpyc_bridge::{call, call_plain, close, getattr, is_connected, open, Payload, RpycStatus};

fn json(conn: u64, module: &str, func: &str, args: &str) -> String {
    call(conn, module, func, Some(args), None, &[], 0)
        .unwrap()
        .json
}

#[test]
fn calls_unpack_args_and_return_values() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).expect("open");
    assert!(is_connected(conn));
    assert_eq!(json(conn, "math", "sqrt", "[16]"), "4.0");
    assert_eq!(json(conn, "math", "pow", "[2, 10]"), "1024.0");
    assert_eq!(json(conn, "builtins", "len", "[\"abc\"]"), "3");
    assert_eq!(json(conn, "numpy", "mean", "[[1,2,3,4,5]]"), "3.0");
    assert_eq!(
        json(conn, "math", "factorial", "[25]"),
        "15511210043330985984000000"
    );
    assert_eq!(
        json(conn, "builtins", "float", "[\"nan\"]"),
        r#"{"$float":"nan"}"#
    );
    let sorted = call(
        conn,
        "builtins",
        "sorted",
        Some("[[3,1,2]]"),
        Some(r#"{"reverse": true}"#),
        &[],
        0,
    );
    assert_eq!(sorted.unwrap().json, "[3,2,1]");
    assert_eq!(
        getattr(conn, "math", "pi", 0).unwrap().json,
        "3.141592653589793"
    );
    close(conn).unwrap();
    assert!(!is_connected(conn));
    assert_eq!(close(conn).unwrap_err().status, RpycStatus::ErrHandle);
}

#[test]
fn arrays_and_bytes_travel_as_buffers() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    let got = call(conn, "numpy", "arange", Some("[3]"), None, &[], 0).unwrap();
    let data: Vec<u8> = [0i64, 1, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        got,
        Payload {
            json: r#"{"$array":["int64",[3],0]}"#.into(),
            buffers: vec![data]
        }
    );

    let input: Vec<u8> = [1.5f64, 2.5, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let args = r#"[{"$array": ["float64", [2, 2], 0]}]"#;
    let got = call(conn, "numpy", "transpose", Some(args), None, &[&input], 0).unwrap();
    assert_eq!(got.json, r#"{"$array":["float64",[2,2],0]}"#);
    let expect: Vec<u8> = [1.5f64, 3.0, 2.5, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(got.buffers, vec![expect]);

    let got = call(
        conn,
        "builtins",
        "bytes",
        Some(r#"[{"$bytes": 0}]"#),
        None,
        &[b"\x00\xffabc"],
        0,
    )
    .unwrap();
    assert_eq!(
        got,
        Payload {
            json: r#"{"$bytes":0}"#.into(),
            buffers: vec![b"\x00\xffabc".to_vec()]
        }
    );
}

#[test]
fn large_results_come_in_pieces() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    // 1.5 MB: three pieces, the last one short.
    let n = 196_613i64;
    let got = call(
        conn,
        "numpy",
        "arange",
        Some(&format!("[{n}]")),
        None,
        &[],
        0,
    )
    .unwrap();
    let expect: Vec<u8> = (0..n).flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(got.json, format!(r#"{{"$array":["int64",[{n}],0]}}"#));
    assert!(got.buffers == vec![expect], "the pieces did not join up");
    // The seed API has no form for it: an error, and the server drops what it kept back.
    let err = call_plain(conn, "numpy", "arange", Some(&format!("[{n}]"))).unwrap_err();
    assert_eq!(err.status, RpycStatus::ErrArgument, "{err:?}");
    assert_eq!(json(conn, "math", "sqrt", "[9]"), "3.0");
    close(conn).unwrap();
}

#[test]
fn the_seed_api_refuses_bytes_on_every_path() {
    let server = Server::start();
    // The native path, and RPyC's own (a sync request timeout keeps a connection on it).
    for options in [None, Some(r#"{"sync_request_timeout": 60}"#)] {
        let conn = open("127.0.0.1", server.port, options).unwrap();
        assert_eq!(
            call_plain(conn, "builtins", "eval", Some(r#"["1"]"#)).unwrap(),
            "1"
        );
        // eval is cached now: this call goes straight to its netref.
        let err = call_plain(conn, "builtins", "eval", Some(r#"["b'xy'"]"#)).unwrap_err();
        assert_eq!(err.status, RpycStatus::ErrArgument, "{options:?}: {err:?}");
        close(conn).unwrap();
    }
}

#[test]
fn remote_exceptions_keep_type_and_traceback() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    let err = call(conn, "no_such_module_xyz", "f", None, None, &[], 0).unwrap_err();
    assert_eq!(err.status, RpycStatus::ErrPython);
    assert_eq!(err.type_name.as_deref(), Some("ModuleNotFoundError"));
    assert!(err.message.contains("no_such_module_xyz"), "{err}");
    assert!(err.traceback.unwrap().contains("Traceback"));
    let err = call(conn, "math", "sqrt", Some("[-1]"), None, &[], 0).unwrap_err();
    assert_eq!(err.type_name.as_deref(), Some("ValueError"));
    // The connection survives a remote exception.
    assert_eq!(json(conn, "math", "sqrt", "[4]"), "2.0");
}

#[test]
fn bad_input_is_an_error() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    let cases = [
        (Some("[1,"), None, 0),
        (Some("{}"), None, 0),
        (Some("[]"), Some("[1]"), 0),
        (Some(r#"[{"$bytes": 3}]"#), None, 0),
        (Some(r#"[{"$array": ["float64", [3], 0]}]"#), None, 1),
        (Some(r#"[{"$array": ["complex", [1], 0]}]"#), None, 1),
        (Some(r#"[{"$nope": 1}]"#), None, 0),
    ];
    for (args, kwargs, nbuf) in cases {
        let buf = [0u8; 8];
        let bufs: Vec<&[u8]> = vec![&buf[..]; nbuf];
        let err = call(conn, "math", "sqrt", args, kwargs, &bufs, 0).unwrap_err();
        assert_eq!(
            err.status,
            RpycStatus::ErrArgument,
            "{args:?} {kwargs:?}: {err}"
        );
    }
    assert_eq!(
        call(9999, "math", "sqrt", Some("[1]"), None, &[], 0)
            .unwrap_err()
            .status,
        RpycStatus::ErrHandle
    );
    assert_eq!(
        open("127.0.0.1", server.port, Some("[]"))
            .unwrap_err()
            .status,
        RpycStatus::ErrArgument
    );
    assert_eq!(
        open("127.0.0.1", 0, None).unwrap_err().status,
        RpycStatus::ErrArgument
    );
}

#[test]
fn a_closed_port_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = open("127.0.0.1", port as i32, None).unwrap_err();
    assert_eq!(err.status, RpycStatus::ErrConnect, "{err}");
}
