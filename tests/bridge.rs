//! The bridge's Rust API against a real RPyC classic server.

mod common;

use common::Server;
use rpyc_bridge::{
    call, close, default_connect, default_disconnect, is_connected, open, request, seed_request,
    Payload, Request, RpycStatus,
};
use std::sync::{Mutex, MutexGuard};

/// The seed API's default connection is one per process: its tests take turns.
static DEFAULT_CONN: Mutex<()> = Mutex::new(());

/// The default connection, connected to `port`, for as long as the guard lives.
fn default_conn(port: i32) -> MutexGuard<'static, ()> {
    let guard = DEFAULT_CONN.lock().unwrap_or_else(|e| e.into_inner());
    default_connect("127.0.0.1", port).expect("default_connect");
    guard
}

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
    let pi = request(&Request {
        op: "getattr",
        conn,
        module: Some("math"),
        name: Some("pi"),
        cancel_fd: -1,
        ..Request::default()
    });
    assert_eq!(pi.unwrap().json, "3.141592653589793");
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
            buffers: vec![data.into()]
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
            buffers: vec![b"\x00\xffabc".to_vec().into()]
        }
    );
}

#[test]
fn large_results_come_in_pieces() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    // 2.75 MB (over INLINE_MAX, 2 MB): five pieces, and a short one.
    let n = 360_451i64;
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
    close(conn).unwrap();
    // The seed API has no form for it: an error, and the server drops what it kept back.
    let _default = default_conn(server.port);
    let args = format!("[{n}]");
    let err = seed_request("call", "numpy", "arange", Some(&args)).unwrap_err();
    assert_eq!(err.status, RpycStatus::ErrArgument, "{err:?}");
    assert_eq!(
        seed_request("call", "math", "sqrt", Some("[9]")).unwrap(),
        "3.0"
    );
    // A str over INLINE_MAX comes in pieces too, and the seed API reads it (3 MB of UTF-8).
    let long_str = r#"["'\u00e9' * 1500000 + 'z'"]"#;
    let got = seed_request("call", "builtins", "eval", Some(long_str)).unwrap();
    assert_eq!(got, format!("\"{}z\"", "\\u00e9".repeat(1_500_000)));
    default_disconnect().unwrap();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    let got = call(conn, "builtins", "eval", Some(long_str), None, &[], 0).unwrap();
    assert_eq!(got.json, r#"{"$str":0}"#);
    assert!(got.buffers == vec![format!("{}z", "\u{e9}".repeat(1_500_000)).into_bytes()]);
    close(conn).unwrap();
}

#[test]
fn the_seed_api_refuses_bytes_on_every_path() {
    let server = Server::start();
    {
        let _default = default_conn(server.port);
        // The server's helper, which caches eval; then the native path (plain arguments),
        // then RPyC's direct path (an object among the arguments keeps off the native one).
        assert_eq!(
            seed_request("call", "builtins", "eval", Some(r#"["1"]"#)).unwrap(),
            "1"
        );
        for args in [r#"["b'xy'"]"#, r#"["b'xy'", {}]"#] {
            let err = seed_request("call", "builtins", "eval", Some(args)).unwrap_err();
            assert_eq!(err.status, RpycStatus::ErrArgument, "{args}: {err:?}");
            assert!(err.message.contains("no plain JSON form"), "{err:?}");
        }
        assert_eq!(
            seed_request("call", "builtins", "eval", Some(r#"["2", {}]"#)).unwrap(),
            "2"
        );
        // getattr too: a remote object has no plain form either, and its Ref is released.
        let err = seed_request("getattr", "sys", "stdout", None).unwrap_err();
        assert_eq!(err.status, RpycStatus::ErrArgument, "{err:?}");
        let handle = rpyc_bridge::default_handle().unwrap();
        assert_eq!(
            rpyc_bridge::ref_count(handle).unwrap(),
            0,
            "the Ref was released"
        );
        default_disconnect().unwrap();
    }
    // The handle API answers bytes the same way on every path: the helper, the native path
    // and, with a sync request timeout, RPyC's own.
    for options in [None, Some(r#"{"sync_request_timeout": 60}"#)] {
        let conn = open("127.0.0.1", server.port, options).unwrap();
        for args in [r#"["b'xy'"]"#, r#"["b'xy'"]"#, r#"["b'xy'", {}]"#] {
            let got = call(conn, "builtins", "eval", Some(args), None, &[], 0).unwrap();
            assert_eq!(
                got,
                Payload {
                    json: r#"{"$bytes":0}"#.into(),
                    buffers: vec![b"xy".to_vec().into()]
                },
                "{options:?} {args}"
            );
        }
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
