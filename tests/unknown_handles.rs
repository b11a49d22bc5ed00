//! A process that never calls rpyc_init: every handle function with handles that were never
//! issued answers RPYC_STATUS_ERR_HANDLE (after starting Python on its own), and the first
//! rpyc_open starts the runtime by itself. One test, so nothing else inits this process.

mod common;

use common::Server;
use rpyc_bridge::ffi::*;
use rpyc_bridge::RpycStatus;
use std::ffi::{c_char, CString};
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

#[test]
fn unknown_handles_are_errors_and_the_first_use_inits() {
    let handle_err = RpycStatus::ErrHandle as i32;
    let name = CString::new("x").unwrap();
    let json = CString::new("[1, {\"$bytes\": 0}]").unwrap();
    let data = [1u8, 2, 3];
    let slices = [RpycSlice {
        data: data.as_ptr(),
        len: data.len(),
    }];
    for h in [0, 1, 2, 7, 1 << 32, u64::MAX - 1, u64::MAX] {
        // SAFETY (every call below): the strings are live CStrings, the slices point into
        // `data`, the out-pointers are locals.
        unsafe {
            let (mut err, mut out, mut value, mut text): (_, u64, *mut RpycValue, *mut c_char) =
                (ptr::null_mut(), 0, ptr::null_mut(), ptr::null_mut());
            let s = rpyc_conn_call(
                h,
                name.as_ptr(),
                name.as_ptr(),
                json.as_ptr(),
                ptr::null(),
                slices.as_ptr(),
                1,
                0,
                &mut value,
                &mut err,
            );
            assert_eq!(status(s, err), handle_err, "conn_call {h}");
            assert!(value.is_null());
            let s = rpyc_conn_getattr(h, name.as_ptr(), name.as_ptr(), 0, &mut value, &mut err);
            assert_eq!(status(s, err), handle_err, "conn_getattr {h}");
            let s = rpyc_conn_import(h, name.as_ptr(), &mut out, &mut err);
            assert_eq!(status(s, err), handle_err, "conn_import {h}");
            assert_eq!(out, 0);
            let s = rpyc_conn_root(h, &mut out, &mut err);
            assert_eq!(status(s, err), handle_err, "conn_root {h}");
            let s = rpyc_conn_ref_count(h, &mut out, &mut err);
            // A count, not a lookup: no Refs of a connection that does not exist.
            assert_eq!((status(s, err), out), (0, 0), "conn_ref_count {h}");
            assert_eq!(rpyc_conn_is_connected(h), 0);
            let s = rpyc_close(h, &mut err);
            assert_eq!(status(s, err), handle_err, "close {h}");
            let s = rpyc_ref_getattr(h, name.as_ptr(), &mut out, &mut err);
            assert_eq!(status(s, err), handle_err, "ref_getattr {h}");
            let s = rpyc_ref_setattr(
                h,
                name.as_ptr(),
                json.as_ptr(),
                slices.as_ptr(),
                1,
                &mut err,
            );
            assert_eq!(status(s, err), handle_err, "ref_setattr {h}");
            let s = rpyc_ref_call(
                h,
                json.as_ptr(),
                ptr::null(),
                slices.as_ptr(),
                1,
                0,
                &mut out,
                &mut err,
            );
            assert_eq!(status(s, err), handle_err, "ref_call {h}");
            let s = rpyc_ref_getitem(h, json.as_ptr(), slices.as_ptr(), 1, &mut out, &mut err);
            assert_eq!(status(s, err), handle_err, "ref_getitem {h}");
            let s = rpyc_ref_setitem(
                h,
                json.as_ptr(),
                json.as_ptr(),
                slices.as_ptr(),
                1,
                &mut err,
            );
            assert_eq!(status(s, err), handle_err, "ref_setitem {h}");
            let s = rpyc_ref_len(h, &mut out, &mut err);
            assert_eq!(status(s, err), handle_err, "ref_len {h}");
            let s = rpyc_ref_text(h, 1, &mut text, &mut err);
            assert_eq!(status(s, err), handle_err, "ref_text {h}");
            assert!(text.is_null());
            let s = rpyc_ref_decode(h, 0, &mut value, &mut err);
            assert_eq!(status(s, err), handle_err, "ref_decode {h}");
            let s = rpyc_ref_iter(h, &mut out, &mut err);
            assert_eq!(status(s, err), handle_err, "ref_iter {h}");
            let s = rpyc_iter_next(h, &mut out, &mut err);
            assert_eq!(status(s, err), handle_err, "iter_next {h}");
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
