//! The C ABI as a C caller sees it, against a real server: the seed's functions with their
//! thread-local last error, the handle API with its out-parameters, and bad input.

mod common;

use common::Server;
use rpyc_bridge::ffi::*;
use rpyc_bridge::RpycStatus;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Takes a returned string, checks it is not NULL, frees it.
fn take(p: *mut c_char) -> String {
    assert!(!p.is_null(), "NULL result; last error: {}", last_error());
    // SAFETY: a non-NULL string returned by the library, freed once here.
    unsafe {
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        rpyc_free_string(p);
        s
    }
}

fn last_error() -> String {
    let p = rpyc_last_error();
    if p.is_null() {
        return String::new();
    }
    // SAFETY: owned by the library, valid until the next call on this thread.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Takes an RpycError: (code, type, message, traceback), freed.
fn take_err(err: *mut RpycError) -> (i32, String, String, String) {
    assert!(!err.is_null());
    // SAFETY: an error returned by the library, freed once here.
    unsafe {
        let opt = |p: *mut c_char| {
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let e = &*err;
        let out = (e.code, opt(e.type_name), opt(e.message), opt(e.traceback));
        rpyc_error_free(err);
        out
    }
}

#[test]
fn seed_api_against_a_real_server() {
    let server = Server::start();
    assert_eq!(rpyc_init(), 0);
    assert_eq!(rpyc_init(), 0, "init twice is fine");
    // SAFETY (whole test): every pointer passed is a live CString or NULL.
    unsafe {
        assert!(rpyc_call(c("math").as_ptr(), c("sqrt").as_ptr(), c("[16]").as_ptr()).is_null());
        assert!(last_error().contains("not connected"), "{}", last_error());
        assert_eq!(rpyc_is_connected(), 0);

        assert_eq!(
            rpyc_connect(c("127.0.0.1").as_ptr(), server.port),
            0,
            "{}",
            last_error()
        );
        assert_eq!(rpyc_is_connected(), 1);
        assert!(
            rpyc_last_error().is_null(),
            "a success clears the last error"
        );
        assert_eq!(
            take(rpyc_call(
                c("math").as_ptr(),
                c("sqrt").as_ptr(),
                c("[16]").as_ptr()
            )),
            "4.0"
        );
        assert_eq!(
            take(rpyc_call(
                c("math").as_ptr(),
                c("pow").as_ptr(),
                c("[2, 10]").as_ptr()
            )),
            "1024.0"
        );
        assert_eq!(
            take(rpyc_call(
                c("numpy").as_ptr(),
                c("mean").as_ptr(),
                c("[[1,2,3,4,5]]").as_ptr()
            )),
            "3.0"
        );
        assert_eq!(
            take(rpyc_call(
                c("builtins").as_ptr(),
                c("len").as_ptr(),
                c("[\"abc\"]").as_ptr()
            )),
            "3"
        );
        let now = take(rpyc_call(
            c("time").as_ptr(),
            c("time").as_ptr(),
            ptr::null(),
        ));
        assert!(
            now.parse::<f64>().is_ok(),
            "NULL args_json means no arguments: {now}"
        );
        assert_eq!(
            take(rpyc_getattr(c("math").as_ptr(), c("pi").as_ptr())),
            "3.141592653589793"
        );

        assert!(rpyc_call(
            c("no_such_module_xyz").as_ptr(),
            c("f").as_ptr(),
            c("[]").as_ptr()
        )
        .is_null());
        let err = last_error();
        assert!(
            err.starts_with("ModuleNotFoundError: No module named 'no_such_module_xyz'"),
            "{err}"
        );
        assert!(err.contains("Traceback"), "the remote traceback: {err}");

        assert!(rpyc_call(ptr::null(), c("sqrt").as_ptr(), c("[1]").as_ptr()).is_null());
        assert!(last_error().contains("module is NULL"));
        assert!(rpyc_call(c("math").as_ptr(), c("sqrt").as_ptr(), c("[1,").as_ptr()).is_null());
        assert!(last_error().contains("not valid JSON"), "{}", last_error());
        let bad_utf8 = CString::new(vec![b'm', 0xff, b'h']).unwrap();
        assert!(rpyc_call(bad_utf8.as_ptr(), c("sqrt").as_ptr(), c("[1]").as_ptr()).is_null());
        assert!(last_error().contains("not valid UTF-8"), "{}", last_error());
        assert_eq!(rpyc_connect(ptr::null(), server.port), -1);

        rpyc_disconnect();
        rpyc_disconnect();
        assert_eq!(rpyc_is_connected(), 0);
        rpyc_free_string(ptr::null_mut());
    }
}

#[test]
fn last_error_is_per_thread() {
    // SAFETY: live CStrings.
    unsafe { assert!(rpyc_call(c("m").as_ptr(), c("f").as_ptr(), c("[").as_ptr()).is_null()) };
    let here = last_error();
    assert!(!here.is_empty());
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "", "another thread does not see this thread's error");
    assert_eq!(last_error(), here);
}

#[test]
fn handle_api_against_a_real_server() {
    let server = Server::start();
    // SAFETY (whole test): live CStrings, NULL, or pointers to locals.
    unsafe {
        let mut conn = 0u64;
        let mut err: *mut RpycError = ptr::null_mut();
        let status = rpyc_open(
            c("127.0.0.1").as_ptr(),
            server.port,
            ptr::null(),
            &mut conn,
            &mut err,
        );
        assert_eq!(status, 0);
        assert!(err.is_null() && conn != 0);
        assert_eq!(rpyc_conn_is_connected(conn), 1);

        let mut out: *mut c_char = ptr::null_mut();
        let kwargs = c("{\"reverse\": true}");
        let status = rpyc_conn_call(
            conn,
            c("builtins").as_ptr(),
            c("sorted").as_ptr(),
            c("[[3,1,2]]").as_ptr(),
            kwargs.as_ptr(),
            0,
            &mut out,
            &mut err,
        );
        assert_eq!(status, 0);
        assert_eq!(take(out), "[3, 2, 1]");

        let status = rpyc_conn_call(
            conn,
            c("math").as_ptr(),
            c("sqrt").as_ptr(),
            c("[-1]").as_ptr(),
            ptr::null(),
            0,
            &mut out,
            &mut err,
        );
        assert_eq!(status, RpycStatus::ErrPython as i32);
        assert!(out.is_null());
        let (code, ty, msg, tb) = take_err(err);
        assert_eq!(
            (code, ty.as_str(), msg.as_str()),
            (4, "ValueError", "math domain error")
        );
        assert!(tb.contains("Traceback"));

        // A deadline on a call the server is slow to answer; the connection survives it.
        let status = rpyc_conn_call(
            conn,
            c("time").as_ptr(),
            c("sleep").as_ptr(),
            c("[0.5]").as_ptr(),
            ptr::null(),
            50,
            &mut out,
            &mut err,
        );
        assert_eq!(status, RpycStatus::ErrTimeout as i32);
        take_err(err);
        let status = rpyc_conn_getattr(
            conn,
            c("math").as_ptr(),
            c("e").as_ptr(),
            0,
            &mut out,
            &mut err,
        );
        assert_eq!(status, 0);
        assert_eq!(take(out), "2.718281828459045");

        // Errors without an out-parameter are still reported by status.
        assert_eq!(
            rpyc_conn_call(
                conn,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                0,
                ptr::null_mut(),
                ptr::null_mut()
            ),
            1
        );
        assert_eq!(
            rpyc_open(
                ptr::null(),
                1,
                ptr::null(),
                ptr::null_mut(),
                ptr::null_mut()
            ),
            1
        );

        assert_eq!(rpyc_close(conn, &mut err), 0);
        assert_eq!(
            rpyc_close(conn, &mut err),
            RpycStatus::ErrHandle as i32,
            "double close"
        );
        take_err(err);
        let status = rpyc_conn_call(
            conn,
            c("math").as_ptr(),
            c("sqrt").as_ptr(),
            c("[1]").as_ptr(),
            ptr::null(),
            0,
            &mut out,
            &mut err,
        );
        assert_eq!(status, RpycStatus::ErrHandle as i32, "use after close");
        take_err(err);
        assert_eq!(rpyc_conn_is_connected(conn), 0);
        rpyc_error_free(ptr::null_mut());
    }
}
