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

/// Takes a returned value: (json, buffers), freed.
fn take_value(v: *mut RpycValue) -> (String, Vec<Vec<u8>>) {
    assert!(!v.is_null());
    // SAFETY: a value returned by the library, freed once here.
    unsafe {
        let value = &*v;
        let json = CStr::from_ptr(value.json).to_string_lossy().into_owned();
        let buffers = (0..value.nbuffers)
            .map(|i| {
                let b = &*value.buffers.add(i);
                std::slice::from_raw_parts(b.data, b.len).to_vec()
            })
            .collect();
        rpyc_value_free(v);
        (json, buffers)
    }
}

/// rpyc_conn_call with Rust strings: (status, value, error).
fn conn_call(
    conn: u64,
    module: &str,
    func: &str,
    args: &str,
    kwargs: Option<&str>,
    bufs: &[&[u8]],
    timeout_ms: i64,
) -> (i32, *mut RpycValue, *mut RpycError) {
    let slices: Vec<RpycSlice> = bufs
        .iter()
        .map(|b| RpycSlice {
            data: b.as_ptr(),
            len: b.len(),
        })
        .collect();
    let kwargs = kwargs.map(c);
    let mut out: *mut RpycValue = ptr::null_mut();
    let mut err: *mut RpycError = ptr::null_mut();
    // SAFETY: live CStrings, slices over live buffers, pointers to locals.
    let status = unsafe {
        rpyc_conn_call(
            conn,
            c(module).as_ptr(),
            c(func).as_ptr(),
            c(args).as_ptr(),
            kwargs.as_ref().map_or(ptr::null(), |k| k.as_ptr()),
            slices.as_ptr(),
            slices.len(),
            timeout_ms,
            &mut out,
            &mut err,
        )
    };
    (status, out, err)
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

        let (status, out, _) = conn_call(
            conn,
            "builtins",
            "sorted",
            "[[3,1,2]]",
            Some(r#"{"reverse": true}"#),
            &[],
            0,
        );
        assert_eq!(status, 0);
        assert_eq!(take_value(out).0, "[3,2,1]");

        let data: Vec<u8> = [1.0f64, 2.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let (status, out, _) = conn_call(
            conn,
            "numpy",
            "cumsum",
            r#"[{"$array": ["float64", [3], 0]}]"#,
            None,
            &[&data],
            0,
        );
        assert_eq!(status, 0);
        let (json, buffers) = take_value(out);
        assert_eq!(json, r#"{"$array":["float64",[3],0]}"#);
        let sums: Vec<u8> = [1.0f64, 3.0, 7.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(buffers, vec![sums]);

        let (status, out, py_err) = conn_call(conn, "math", "sqrt", "[-1]", None, &[], 0);
        assert_eq!(status, RpycStatus::ErrPython as i32);
        assert!(out.is_null());
        let (code, ty, msg, tb) = take_err(py_err);
        assert_eq!(
            (code, ty.as_str(), msg.as_str()),
            (4, "ValueError", "math domain error")
        );
        assert!(tb.contains("Traceback"));

        // A deadline on a call the server is slow to answer; the connection survives it.
        let (status, _, timeout_err) = conn_call(conn, "time", "sleep", "[0.5]", None, &[], 50);
        assert_eq!(status, RpycStatus::ErrTimeout as i32);
        take_err(timeout_err);
        let mut out: *mut RpycValue = ptr::null_mut();
        let status = rpyc_conn_getattr(
            conn,
            c("math").as_ptr(),
            c("e").as_ptr(),
            0,
            &mut out,
            &mut err,
        );
        assert_eq!(status, 0);
        assert_eq!(take_value(out).0, "2.718281828459045");

        // Refs: import, getattr, call, decode, release.
        let (mut math, mut sqrt, mut result) = (0u64, 0u64, 0u64);
        assert_eq!(
            rpyc_conn_import(conn, c("math").as_ptr(), &mut math, &mut err),
            0
        );
        assert_eq!(
            rpyc_ref_getattr(math, c("sqrt").as_ptr(), &mut sqrt, &mut err),
            0
        );
        assert_eq!(
            rpyc_ref_call(
                sqrt,
                c("[81]").as_ptr(),
                ptr::null(),
                ptr::null(),
                0,
                0,
                &mut result,
                &mut err
            ),
            0
        );
        assert_eq!(rpyc_ref_decode(result, 0, &mut out, &mut err), 0);
        assert_eq!(take_value(out).0, "9.0");
        let mut count = 0u64;
        assert_eq!(rpyc_conn_ref_count(conn, &mut count, &mut err), 0);
        assert_eq!(count, 3);
        for r in [math, sqrt, result] {
            assert_eq!(rpyc_ref_release(r, &mut err), 0);
        }
        assert_eq!(
            rpyc_ref_release(math, &mut err),
            RpycStatus::ErrHandle as i32,
            "double release"
        );
        take_err(err);
        assert_eq!(
            rpyc_ref_getattr(math, c("pi").as_ptr(), &mut sqrt, &mut err),
            RpycStatus::ErrHandle as i32
        );
        take_err(err);

        // Errors without an out-parameter are still reported by status.
        let status = rpyc_conn_call(
            conn,
            ptr::null(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            0,
            0,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(status, 1);
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
        let status = rpyc_conn_call(
            conn,
            c("m").as_ptr(),
            c("f").as_ptr(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            2,
            0,
            ptr::null_mut(),
            &mut err,
        );
        assert_eq!(status, 1, "buffers NULL with nbuffers 2");
        take_err(err);

        assert_eq!(rpyc_close(conn, &mut err), 0);
        assert_eq!(
            rpyc_close(conn, &mut err),
            RpycStatus::ErrHandle as i32,
            "double close"
        );
        take_err(err);
        let (status, _, closed_err) = conn_call(conn, "math", "sqrt", "[1]", None, &[], 0);
        assert_eq!(status, RpycStatus::ErrHandle as i32, "use after close");
        take_err(closed_err);
        assert_eq!(rpyc_conn_is_connected(conn), 0);
        rpyc_error_free(ptr::null_mut());
        rpyc_value_free(ptr::null_mut());
    }
}
