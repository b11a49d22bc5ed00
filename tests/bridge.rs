//! The bridge against a real RPyC classic server.

mod common;

use common::Server;
use rpyc_bridge::{call, close, getattr, is_connected, open, RpycStatus};

#[test]
fn calls_unpack_args_and_return_json() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).expect("open");
    assert!(is_connected(conn));
    assert_eq!(
        call(conn, "math", "sqrt", Some("[16]"), None, 0).unwrap(),
        "4.0"
    );
    assert_eq!(
        call(conn, "math", "pow", Some("[2, 10]"), None, 0).unwrap(),
        "1024.0"
    );
    assert_eq!(
        call(conn, "builtins", "len", Some("[\"abc\"]"), None, 0).unwrap(),
        "3"
    );
    assert_eq!(
        call(conn, "numpy", "mean", Some("[[1,2,3,4,5]]"), None, 0).unwrap(),
        "3.0"
    );
    assert_eq!(
        call(conn, "numpy", "arange", Some("[3]"), None, 0).unwrap(),
        "[0, 1, 2]"
    );
    assert_eq!(
        call(
            conn,
            "builtins",
            "sorted",
            Some("[[3,1,2]]"),
            Some("{\"reverse\": true}"),
            0
        )
        .unwrap(),
        "[3, 2, 1]"
    );
    assert_eq!(getattr(conn, "math", "pi", 0).unwrap(), "3.141592653589793");
    close(conn).unwrap();
    assert!(!is_connected(conn));
    assert_eq!(close(conn).unwrap_err().status, RpycStatus::ErrHandle);
}

#[test]
fn remote_exceptions_keep_type_and_traceback() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    let err = call(conn, "no_such_module_xyz", "f", None, None, 0).unwrap_err();
    assert_eq!(err.status, RpycStatus::ErrPython);
    assert_eq!(err.type_name.as_deref(), Some("ModuleNotFoundError"));
    assert!(err.message.contains("no_such_module_xyz"), "{err}");
    assert!(err.traceback.unwrap().contains("Traceback"));
    let err = call(conn, "math", "sqrt", Some("[-1]"), None, 0).unwrap_err();
    assert_eq!(err.type_name.as_deref(), Some("ValueError"));
    // The connection survives a remote exception.
    assert_eq!(
        call(conn, "math", "sqrt", Some("[4]"), None, 0).unwrap(),
        "2.0"
    );
}

#[test]
fn bad_input_is_an_error() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    for (args, kwargs) in [
        (Some("[1,"), None),
        (Some("{}"), None),
        (Some("[]"), Some("[1]")),
    ] {
        let err = call(conn, "math", "sqrt", args, kwargs, 0).unwrap_err();
        assert_eq!(
            err.status,
            RpycStatus::ErrArgument,
            "{args:?} {kwargs:?}: {err}"
        );
    }
    assert_eq!(
        call(9999, "math", "sqrt", Some("[1]"), None, 0)
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
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = open("127.0.0.1", port as i32, None).unwrap_err();
    assert_eq!(err.status, RpycStatus::ErrConnect, "{err}");
}
