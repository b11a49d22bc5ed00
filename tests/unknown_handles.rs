//! A process that never calls rpyc_init: every request and handle function with handles
//! that were never issued answers RPYC_STATUS_ERR_HANDLE (after starting Python on its own),
//! and the first rpyc_open starts the runtime by itself. One test, so nothing else inits
//! this process.

mod common;

use common::Server;
use rpyc_bridge::ffi::*;
use rpyc_bridge::RpycStatus;
use std::ffi::CString;
use std::ptr;

/// The status, with the error freed; a missing error for a failure is a bug.
fn status(code: i32, err: *mut RpycError) -> i32 {
    if code != 0 {
        assert!(!err.is_null(), "status {code} without an RpycError");
    }
    // SAFETY: NULL or an error returned by the library, freed once here.
    unsafe { rpyc_error_free(err) };
    code
}

/// Operations on a connection (`conn`), and on a Ref (`target`).
const CONN_OPS: [RpycOp; 4] = [RpycOp::Call, RpycOp::Getattr, RpycOp::Import, RpycOp::Root];
const REF_OPS: [RpycOp; 11] = [
    RpycOp::RefGetattr,
    RpycOp::RefSetattr,
    RpycOp::RefCall,
    RpycOp::RefGetitem,
    RpycOp::RefSetitem,
    RpycOp::RefLen,
    RpycOp::RefRepr,
    RpycOp::RefStr,
    RpycOp::RefValue,
    RpycOp::RefIter,
    RpycOp::IterNext,
];

#[test]
fn unknown_handles_are_errors_and_the_first_use_inits() {
    assert_eq!(
        CONN_OPS.len() + REF_OPS.len(),
        RpycOp::names().len(),
        "every operation is tried"
    );
    let handle_err = RpycStatus::ErrHandle as i32;
    let name = CString::new("x").unwrap();
    let json = CString::new("[1, {\"$bytes\": 0}]").unwrap();
    let data = [1u8, 2, 3];
    let slices = [RpycSlice {
        data: data.as_ptr(),
        len: data.len(),
    }];
    for h in [0, 1, 2, 7, 1 << 32, u64::MAX - 1, u64::MAX] {
        let ops = CONN_OPS.iter().map(|op| (*op, h, 0)).chain(
            // The connection field is a valid-looking 1: a Ref op looks at its target only.
            REF_OPS.iter().map(|op| (*op, 1, h)),
        );
        for (op, conn, target) in ops {
            for timeout_ms in [0, 1000] {
                let req = RpycRequest {
                    op: op as i32,
                    conn,
                    target,
                    module: name.as_ptr(),
                    name: name.as_ptr(),
                    args_json: json.as_ptr(),
                    kwargs_json: json.as_ptr(),
                    buffers: slices.as_ptr(),
                    nbuffers: 1,
                    timeout_ms,
                    cancel_fd: -1,
                };
                let (mut err, mut value): (*mut RpycError, *mut RpycValue) =
                    (ptr::null_mut(), ptr::null_mut());
                // SAFETY: the strings are live CStrings, the slices point into `data`, the
                // out-pointers are locals.
                let s = unsafe { rpyc_request(&req, &mut value, &mut err) };
                assert_eq!(status(s, err), handle_err, "{op:?} on {h}");
                assert!(value.is_null(), "{op:?} on {h}: a value");
            }
        }
        // SAFETY (every call below): the out-pointers are locals.
        unsafe {
            let (mut err, mut out) = (ptr::null_mut(), 0u64);
            let s = rpyc_conn_ref_count(h, &mut out, &mut err);
            // A count, not a lookup: no Refs of a connection that does not exist.
            assert_eq!((status(s, err), out), (0, 0), "conn_ref_count {h}");
            assert_eq!(rpyc_conn_is_connected(h), 0);
            let s = rpyc_close(h, &mut err);
            assert_eq!(status(s, err), handle_err, "close {h}");
            let s = rpyc_conn_serve_background(h, 1, &mut err);
            assert_eq!(status(s, err), handle_err, "serve_background {h}");
            let s = rpyc_ref_release(h, &mut err);
            assert_eq!(status(s, err), handle_err, "ref_release {h}");
        }
    }

    // Still no rpyc_init: opening a connection starts the runtime itself.
    let server = Server::start();
    let host = CString::new("127.0.0.1").unwrap();
    let (mut conn, mut err) = (0u64, ptr::null_mut());
    // SAFETY: a live CString and local out-pointers.
    let s = unsafe { rpyc_open(host.as_ptr(), server.port, ptr::null(), &mut conn, &mut err) };
    assert_eq!(status(s, err), 0);
    assert_eq!(rpyc_conn_is_connected(conn), 1);
    assert_eq!(rpyc_init(), 0, "init after the runtime started itself");
    // SAFETY: a local out-pointer.
    assert_eq!(status(unsafe { rpyc_close(conn, &mut err) }, err), 0);
}
