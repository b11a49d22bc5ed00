//! The C ABI as a C caller sees it, against a real server: the seed's functions with their
//! thread-local last error, the handle API with its out-parameters, and bad input.

mod common;

use common::Server;
use rpyc_bridge::ffi::*;
use rpyc_bridge::RpycStatus;
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::time::{Duration, Instant};

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

/// One rpyc_request, with Rust strings and buffers (`req(op)` fills in the rest: no
/// connection, no Ref, no timeout, no cancel fd).
struct Req<'a> {
    op: i32,
    conn: u64,
    target: u64,
    module: Option<&'a str>,
    name: Option<&'a str>,
    args: Option<&'a str>,
    kwargs: Option<&'a str>,
    bufs: &'a [&'a [u8]],
    timeout_ms: i64,
    cancel_fd: i32,
}

fn req(op: RpycOp) -> Req<'static> {
    Req {
        op: op as i32,
        conn: 0,
        target: 0,
        module: None,
        name: None,
        args: None,
        kwargs: None,
        bufs: &[],
        timeout_ms: 0,
        cancel_fd: -1,
    }
}

/// A failure: (code, type, message, traceback).
type Failure = (i32, String, String, String);

/// Runs `r`: the value (json, buffers), freed, or the failure, freed. Checks the ABI's
/// promises on the way: the status is the error's code, exactly one of the two is set.
fn request(r: &Req) -> Result<(String, Vec<Vec<u8>>), Failure> {
    let strings: Vec<Option<CString>> = [r.module, r.name, r.args, r.kwargs]
        .iter()
        .map(|s| s.map(c))
        .collect();
    let p = |i: usize| strings[i].as_ref().map_or(ptr::null(), |s| s.as_ptr());
    let slices: Vec<RpycSlice> = r
        .bufs
        .iter()
        .map(|b| RpycSlice {
            data: b.as_ptr(),
            len: b.len(),
        })
        .collect();
    let raw = RpycRequest {
        op: r.op,
        conn: r.conn,
        target: r.target,
        module: p(0),
        name: p(1),
        args_json: p(2),
        kwargs_json: p(3),
        buffers: slices.as_ptr(),
        nbuffers: slices.len(),
        timeout_ms: r.timeout_ms,
        cancel_fd: r.cancel_fd,
    };
    let mut out: *mut RpycValue = ptr::null_mut();
    let mut err: *mut RpycError = ptr::null_mut();
    // SAFETY: `raw` points to live CStrings (or NULL) and to slices over live buffers;
    // the out-pointers are locals.
    let status = unsafe { rpyc_request(&raw, &mut out, &mut err) };
    if status == 0 {
        assert!(err.is_null(), "a success with an error");
        Ok(take_value(out))
    } else {
        assert!(out.is_null(), "status {status} with a value");
        let failure = take_err(err);
        assert_eq!(failure.0, status, "the status is the error's code");
        Err(failure)
    }
}

/// The JSON of a successful request.
fn ok(r: &Req) -> String {
    match request(r) {
        Ok((json, _)) => json,
        Err(e) => panic!("request {} failed: {e:?}", r.op),
    }
}

/// The status of a failed request.
fn fails(r: &Req) -> i32 {
    match request(r) {
        Ok(v) => panic!("request {} succeeded: {v:?}", r.op),
        Err(e) => e.0,
    }
}

/// The id of a `{"$ref": id}` result.
fn ref_id(json: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["$ref"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a Ref: {json}"))
}

fn ref_op(op: RpycOp, target: u64) -> Req<'static> {
    Req { target, ..req(op) }
}

/// A request on a connection: `module.name(*args)` for CALL.
fn conn_op<'a>(
    op: RpycOp,
    conn: u64,
    module: &'a str,
    name: &'a str,
    args: Option<&'a str>,
) -> Req<'a> {
    Req {
        conn,
        module: Some(module),
        name: Some(name),
        args,
        ..req(op)
    }
}

fn open(port: i32) -> u64 {
    let (mut conn, mut err) = (0u64, ptr::null_mut());
    // SAFETY: a live CString and local out-pointers.
    let status = unsafe {
        rpyc_open(
            c("127.0.0.1").as_ptr(),
            port,
            ptr::null(),
            &mut conn,
            &mut err,
        )
    };
    assert_eq!(status, 0);
    assert!(err.is_null() && conn != 0);
    conn
}

fn close(conn: u64) {
    let mut err = ptr::null_mut();
    // SAFETY: a local out-pointer.
    assert_eq!(unsafe { rpyc_close(conn, &mut err) }, 0);
}

#[test]
fn handle_api_against_a_real_server() {
    let server = Server::start();
    let conn = open(server.port);
    assert_eq!(rpyc_conn_is_connected(conn), 1);

    let sorted = Req {
        kwargs: Some(r#"{"reverse": true}"#),
        ..conn_op(RpycOp::Call, conn, "builtins", "sorted", Some("[[3,1,2]]"))
    };
    assert_eq!(ok(&sorted), "[3,2,1]");

    let data: Vec<u8> = [1.0f64, 2.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let args = r#"[{"$array": ["float64", [3], 0]}]"#;
    let cumsum = Req {
        bufs: &[&data],
        ..conn_op(RpycOp::Call, conn, "numpy", "cumsum", Some(args))
    };
    let (json, buffers) = request(&cumsum).unwrap();
    assert_eq!(json, r#"{"$array":["float64",[3],0]}"#);
    let sums: Vec<u8> = [1.0f64, 3.0, 7.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(buffers, vec![sums]);

    let (code, ty, msg, tb) =
        request(&conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[-1]"))).unwrap_err();
    assert_eq!(
        (code, ty.as_str(), msg.as_str()),
        (4, "ValueError", "math domain error")
    );
    assert!(tb.contains("Traceback"));
    assert_eq!(
        ok(&conn_op(RpycOp::Getattr, conn, "math", "e", None)),
        "2.718281828459045"
    );

    // Refs: import, getattr, call, value, release.
    let math = ref_id(&ok(&conn_op(RpycOp::Import, conn, "math", "", None)));
    let sqrt = ref_id(&ok(&Req {
        name: Some("sqrt"),
        ..ref_op(RpycOp::RefGetattr, math)
    }));
    let result = ref_id(&ok(&Req {
        args: Some("[81]"),
        ..ref_op(RpycOp::RefCall, sqrt)
    }));
    assert_eq!(ok(&ref_op(RpycOp::RefValue, result)), "9.0");
    assert_eq!(ok(&ref_op(RpycOp::RefStr, result)), r#""9.0""#);
    let repr = ok(&ref_op(RpycOp::RefRepr, math));
    assert!(repr.starts_with(r#""<module 'math'"#), "{repr}");
    let mut count = 0u64;
    let mut err: *mut RpycError = ptr::null_mut();
    // SAFETY (to the end of the test): pointers to locals.
    unsafe {
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
    }
    let stale = Req {
        name: Some("pi"),
        ..ref_op(RpycOp::RefGetattr, math)
    };
    assert_eq!(fails(&stale), RpycStatus::ErrHandle as i32);

    // Containers and iterators: getitem, setitem, setattr, len, iter, next.
    let builtins = ref_id(&ok(&conn_op(RpycOp::Import, conn, "builtins", "", None)));
    let dict_fn = ref_id(&ok(&Req {
        name: Some("dict"),
        ..ref_op(RpycOp::RefGetattr, builtins)
    }));
    let d = ref_id(&ok(&Req {
        kwargs: Some(r#"{"a": 1}"#),
        ..ref_op(RpycOp::RefCall, dict_fn)
    }));
    let set = Req {
        args: Some(r#""b""#),
        kwargs: Some("[2, 3]"),
        ..ref_op(RpycOp::RefSetitem, d)
    };
    assert_eq!(ok(&set), "null");
    assert_eq!(ok(&ref_op(RpycOp::RefLen, d)), "2");
    let b = ref_id(&ok(&Req {
        args: Some(r#""b""#),
        ..ref_op(RpycOp::RefGetitem, d)
    }));
    assert_eq!(ok(&ref_op(RpycOp::RefValue, b)), "[2,3]");
    let missing = Req {
        args: Some(r#""zz""#),
        ..ref_op(RpycOp::RefGetitem, d)
    };
    assert_eq!(fails(&missing), RpycStatus::ErrPython as i32);
    let iter = ref_id(&ok(&ref_op(RpycOp::RefIter, d)));
    let mut keys = Vec::new();
    loop {
        let next = ok(&ref_op(RpycOp::IterNext, iter));
        if next == "null" {
            break;
        }
        let key = ref_id(&next);
        keys.push(ok(&ref_op(RpycOp::RefValue, key)));
        // SAFETY: pointers to locals.
        assert_eq!(unsafe { rpyc_ref_release(key, &mut err) }, 0);
    }
    assert_eq!(keys, [r#""a""#, r#""b""#]);
    assert_eq!(
        ok(&ref_op(RpycOp::IterNext, iter)),
        "null",
        "stays exhausted"
    );
    // setattr on a module of the server, read back by value.
    let types = ref_id(&ok(&conn_op(RpycOp::Import, conn, "types", "", None)));
    let ns_fn = ref_id(&ok(&Req {
        name: Some("SimpleNamespace"),
        ..ref_op(RpycOp::RefGetattr, types)
    }));
    let ns = ref_id(&ok(&ref_op(RpycOp::RefCall, ns_fn)));
    let setattr = Req {
        name: Some("x"),
        args: Some("[1.5, null]"),
        ..ref_op(RpycOp::RefSetattr, ns)
    };
    assert_eq!(ok(&setattr), "null");
    let x = ref_id(&ok(&Req {
        name: Some("x"),
        ..ref_op(RpycOp::RefGetattr, ns)
    }));
    assert_eq!(ok(&ref_op(RpycOp::RefValue, x)), "[1.5,null]");
    assert_eq!(
        fails(&Req {
            name: Some("nope"),
            ..ref_op(RpycOp::RefGetattr, ns)
        }),
        RpycStatus::ErrPython as i32
    );
    for r in [x, ns, ns_fn, types, iter, b, d, dict_fn, builtins] {
        // SAFETY: pointers to locals.
        assert_eq!(unsafe { rpyc_ref_release(r, &mut err) }, 0);
    }

    // Errors without an out-parameter are still reported by status.
    let bare = RpycRequest {
        op: RpycOp::Call as i32,
        conn,
        target: 0,
        module: ptr::null(),
        name: ptr::null(),
        args_json: ptr::null(),
        kwargs_json: ptr::null(),
        buffers: ptr::null(),
        nbuffers: 0,
        timeout_ms: 0,
        cancel_fd: -1,
    };
    // SAFETY: a valid request (NULL strings), NULL out-pointers.
    let status = unsafe { rpyc_request(&bare, ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(status, RpycStatus::ErrArgument as i32, "module NULL");
    // SAFETY: NULL strings and out-pointers.
    let status = unsafe {
        rpyc_open(
            ptr::null(),
            1,
            ptr::null(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    assert_eq!(status, 1);
    let (m, f) = (c("m"), c("f"));
    let no_buffers = RpycRequest {
        module: m.as_ptr(),
        name: f.as_ptr(),
        nbuffers: 2,
        ..bare
    };
    // SAFETY: live CStrings, buffers NULL (refused), a local out-pointer.
    let status = unsafe { rpyc_request(&no_buffers, ptr::null_mut(), &mut err) };
    assert_eq!(status, 1, "buffers NULL with nbuffers 2");
    take_err(err);

    close(conn);
    // SAFETY: a local out-pointer.
    unsafe {
        assert_eq!(
            rpyc_close(conn, &mut err),
            RpycStatus::ErrHandle as i32,
            "double close"
        );
        take_err(err);
    }
    assert_eq!(
        fails(&conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[1]"))),
        RpycStatus::ErrHandle as i32,
        "use after close"
    );
    assert_eq!(rpyc_conn_is_connected(conn), 0);
    // SAFETY: NULL is allowed.
    unsafe {
        rpyc_error_free(ptr::null_mut());
        rpyc_value_free(ptr::null_mut());
    }
}

/// A `$pickle` argument from C: plain data loads on the server; a pickle that would call a
/// function there (os.mkdir, through GLOBAL and REDUCE) is refused, and nothing runs.
#[test]
fn pickle_arguments_hold_only_data() {
    let server = Server::start();
    let conn = open(server.port);
    // builtins.len of the one argument, a pickle.
    let len_of = |pickle: &[u8]| {
        request(&Req {
            bufs: &[pickle],
            ..conn_op(
                RpycOp::Call,
                conn,
                "builtins",
                "len",
                Some(r#"[{"$pickle": 0}]"#),
            )
        })
    };
    let plain: &[u8] = b"\x80\x05(K\x01K\x02K\x03t.";
    assert_eq!(len_of(plain).unwrap().0, "3");

    let dir = std::env::temp_dir().join(format!("rpyc-bridge-pickle-ran-{}", std::process::id()));
    let path = dir.to_str().unwrap().as_bytes();
    let mut evil = b"cos\nmkdir\n(X".to_vec();
    evil.extend_from_slice(&(path.len() as u32).to_le_bytes());
    evil.extend_from_slice(path);
    evil.extend_from_slice(b"tR.");
    let (_, _, msg, _) = len_of(&evil).unwrap_err();
    assert!(
        msg.contains("os.mkdir: a plain-data pickle holds no globals"),
        "{msg}"
    );
    assert!(!dir.exists(), "the pickle ran os.mkdir");
    assert_eq!(len_of(plain).unwrap().0, "3", "the connection still works");
    close(conn);
}

#[test]
fn a_timeout_expires_and_the_connection_stays_usable() {
    let server = Server::start();
    let conn = open(server.port);
    // Through the server's helper, on the native path (time.sleep is cached then), on a Ref.
    for op in [RpycOp::Call, RpycOp::Call, RpycOp::RefCall] {
        let sleep = match op {
            RpycOp::Call => Req {
                timeout_ms: 50,
                ..conn_op(op, conn, "time", "sleep", Some("[0.5]"))
            },
            _ => {
                let time = ref_id(&ok(&conn_op(RpycOp::Import, conn, "time", "", None)));
                let sleep = ref_id(&ok(&Req {
                    name: Some("sleep"),
                    ..ref_op(RpycOp::RefGetattr, time)
                }));
                Req {
                    args: Some("[0.5]"),
                    timeout_ms: 50,
                    ..ref_op(op, sleep)
                }
            }
        };
        let started = Instant::now();
        let (code, _, msg, _) = request(&sleep).unwrap_err();
        assert_eq!(code, RpycStatus::ErrTimeout as i32, "{op:?}: {msg}");
        assert!(
            started.elapsed() < Duration::from_millis(400),
            "{op:?}: the timeout took {:?}",
            started.elapsed()
        );
        // The late reply is dropped; the next request gets its own answer.
        assert_eq!(
            ok(&conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[16]"))),
            "4.0"
        );
        // A timeout long enough is no failure.
        let quick = Req {
            timeout_ms: 10_000,
            ..conn_op(RpycOp::Call, conn, "time", "sleep", Some("[0.01]"))
        };
        assert_eq!(ok(&quick), "null");
    }
    assert_eq!(rpyc_conn_is_connected(conn), 1);
    close(conn);
}

/// A pipe: (read end, write end).
fn pipe() -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

fn close_fd(fd: i32) {
    // SAFETY: a descriptor this test opened and closes once.
    assert_eq!(unsafe { libc::close(fd) }, 0);
}

/// Writes a byte to `fd` after `delay`, from another thread.
fn signal_after(fd: i32, delay: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        // SAFETY: one byte from a live buffer to a descriptor the test keeps open.
        assert_eq!(unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) }, 1);
    })
}

/// A cancel fd written to 200 ms into a 1 s remote sleep: the request fails then, not at
/// the end of the sleep, and the connection answers the next request.
fn cancel_a_sleep(conn: u64, cancel: (i32, i32), op: RpycOp) {
    let (read, write) = cancel;
    let sleep = match op {
        RpycOp::Call => Req {
            cancel_fd: read,
            ..conn_op(op, conn, "time", "sleep", Some("[1.0]"))
        },
        _ => {
            let time = ref_id(&ok(&conn_op(RpycOp::Import, conn, "time", "", None)));
            let sleep = ref_id(&ok(&Req {
                name: Some("sleep"),
                ..ref_op(RpycOp::RefGetattr, time)
            }));
            Req {
                args: Some("[1.0]"),
                cancel_fd: read,
                ..ref_op(op, sleep)
            }
        }
    };
    let started = Instant::now();
    let writer = signal_after(write, Duration::from_millis(200));
    let (code, _, msg, _) = request(&sleep).unwrap_err();
    let took = started.elapsed();
    writer.join().unwrap();
    assert_ne!(code, 0);
    assert_eq!(code, RpycStatus::ErrTimeout as i32, "{op:?}: {msg}");
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_millis(800),
        "{op:?}: cancelled after {took:?}"
    );
    // Drain the pipe for the next round; then the connection is usable again.
    let mut byte = 0u8;
    // SAFETY: one byte into a local; the pipe holds the byte written above.
    assert_eq!(
        unsafe { libc::read(read, (&mut byte as *mut u8).cast(), 1) },
        1
    );
    let sqrt = Req {
        cancel_fd: read,
        ..conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[16]"))
    };
    assert_eq!(ok(&sqrt), "4.0", "{op:?}: after the cancel");
    assert_eq!(rpyc_conn_is_connected(conn), 1);
}

#[test]
fn a_cancel_fd_stops_a_request_and_the_connection_stays_usable() {
    let server = Server::start();
    let conn = open(server.port);
    let fds = pipe();
    // A call through the server's helper (time.sleep is not cached yet), one on the native
    // path (cached now), and a Ref call.
    for op in [RpycOp::Call, RpycOp::Call, RpycOp::RefCall] {
        cancel_a_sleep(conn, fds, op);
    }
    // A cancel fd that is readable already: the request fails at once.
    let writer = signal_after(fds.1, Duration::ZERO);
    writer.join().unwrap();
    let now = Req {
        cancel_fd: fds.0,
        ..conn_op(RpycOp::Call, conn, "time", "sleep", Some("[1.0]"))
    };
    let started = Instant::now();
    assert_ne!(fails(&now), 0);
    assert!(started.elapsed() < Duration::from_millis(500));
    close_fd(fds.0);
    close_fd(fds.1);
    assert_eq!(
        ok(&conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[25]"))),
        "5.0"
    );
    close(conn);
}

/// Descriptors above 1023, as a process with many files open has: a cancel fd there, and
/// the connection's own socket there, work as a low one does.
#[test]
fn high_file_descriptors_work_as_cancel_fds_and_sockets() {
    let server = Server::start();
    // SAFETY: duplicates of /dev/null's descriptor, closed below.
    let filler: Vec<i32> = unsafe {
        let null = libc::open(c("/dev/null").as_ptr(), libc::O_RDONLY);
        assert!(null >= 0);
        let mut fds = vec![null];
        while *fds.last().unwrap() < 1100 {
            let fd = libc::dup(null);
            assert!(fd >= 0, "dup: the open file limit is too low for this test");
            fds.push(fd);
        }
        fds
    };
    let conn = open(server.port);
    let fds = pipe();
    assert!(fds.0 > 1100, "the pipe is at {}", fds.0);
    for fd in filler {
        close_fd(fd);
    }
    let sqrt = Req {
        cancel_fd: fds.0,
        timeout_ms: 10_000,
        ..conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[16]"))
    };
    for _ in 0..3 {
        assert_eq!(ok(&sqrt), "4.0");
    }
    for op in [RpycOp::Call, RpycOp::RefCall] {
        cancel_a_sleep(conn, fds, op);
    }
    close_fd(fds.0);
    close_fd(fds.1);
    close(conn);
}

#[test]
fn unknown_operations_a_null_request_and_missing_fields_are_argument_errors() {
    let server = Server::start();
    let conn = open(server.port);
    for op in [0, 16, 17, -1, 1000, i32::MIN, i32::MAX] {
        let r = Req {
            op,
            ..conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[16]"))
        };
        let (code, _, msg, _) = request(&r).unwrap_err();
        assert_eq!(code, RpycStatus::ErrArgument as i32, "op {op}: {msg}");
        assert!(msg.contains("unknown operation"), "op {op}: {msg}");
    }
    let (mut out, mut err): (*mut RpycValue, *mut RpycError) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: a NULL request (refused) and local out-pointers.
    let status = unsafe { rpyc_request(ptr::null(), &mut out, &mut err) };
    assert_eq!(status, RpycStatus::ErrArgument as i32);
    assert!(out.is_null());
    let (code, _, msg, _) = take_err(err);
    assert_eq!(code, status);
    assert!(msg.contains("req is NULL"), "{msg}");
    // SAFETY: NULL everywhere: still a status.
    let status = unsafe { rpyc_request(ptr::null(), ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(status, RpycStatus::ErrArgument as i32);
    // The fields an operation needs (as the per-operation functions had them): NULL there
    // is refused before the request is made.
    let needs = [
        (RpycOp::Call, "module"),
        (RpycOp::Call, "name"),
        (RpycOp::Getattr, "module"),
        (RpycOp::Getattr, "name"),
        (RpycOp::Import, "module"),
        (RpycOp::RefGetattr, "name"),
        (RpycOp::RefSetattr, "name"),
        (RpycOp::RefSetattr, "args_json"),
        (RpycOp::RefGetitem, "args_json"),
        (RpycOp::RefSetitem, "args_json"),
        (RpycOp::RefSetitem, "kwargs_json"),
    ];
    for (op, field) in needs {
        let some = |f: &str| (f != field).then_some("1");
        let r = Req {
            conn,
            module: some("module"),
            name: some("name"),
            args: some("args_json"),
            kwargs: some("kwargs_json"),
            ..req(op)
        };
        let (code, _, msg, _) = request(&r).unwrap_err();
        assert_eq!(
            code,
            RpycStatus::ErrArgument as i32,
            "{op:?} {field}: {msg}"
        );
        assert!(
            msg.starts_with(&format!("{field} is NULL")),
            "{op:?}: {msg}"
        );
    }
    // The connection did not notice.
    assert_eq!(
        ok(&conn_op(RpycOp::Call, conn, "math", "sqrt", Some("[16]"))),
        "4.0"
    );
    close(conn);
}

/// Python callables alive for callback 7, as the handler below counts them.
static LIVE_SEVENS: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// A C caller's handler: it knows callback 7 only, which returns its arguments' JSON.
unsafe extern "C" fn handler(
    event: RpycCallbackEvent,
    id: u64,
    _conn: u64,
    args_json: *const c_char,
    _kwargs_json: *const c_char,
    _buffers: *const RpycSlice,
    _nbuffers: usize,
    out_json: *mut *mut c_char,
    _out_error: *mut *mut c_char,
) -> i32 {
    use std::sync::atomic::Ordering::SeqCst;
    if id != 7 {
        return 1;
    }
    match event {
        RpycCallbackEvent::Retain => {
            LIVE_SEVENS.fetch_add(1, SeqCst);
        }
        RpycCallbackEvent::Release => {
            LIVE_SEVENS.fetch_sub(1, SeqCst);
        }
        RpycCallbackEvent::Call => {
            // SAFETY: per RpycCallbackFn, args_json is a live C string for a CALL and
            // out_json is writable; the result is malloc'd, as the library frees it.
            unsafe { *out_json = libc::strdup(args_json) };
        }
    }
    0
}

#[test]
fn callbacks_travel_as_tags_and_the_handler_counts_their_callables() {
    let server = Server::start();
    let conn = open(server.port);
    rpyc_set_callback_handler(Some(handler));
    let call = |args| {
        request(&conn_op(
            RpycOp::Call,
            conn,
            "bridge_fixtures",
            "call_with",
            Some(args),
        ))
    };
    assert_eq!(call(r#"[{"$callback":7},1,"a"]"#).unwrap().0, "[1,\"a\"]");
    for (args, want) in [
        (r#"[{"$callback":8}]"#, "unknown callback id 8"),
        (r#"[{"$callback":"7"}]"#, "bad $callback id"),
    ] {
        let (code, _, msg, _) = call(args).unwrap_err();
        assert_eq!(code, RpycStatus::ErrArgument as i32, "{args}: {msg}");
        assert!(msg.contains(want), "{args}: {msg}");
    }
    // The server dropped the callable: one RELEASE balances the RETAIN.
    let deadline = Instant::now() + Duration::from_secs(5);
    while LIVE_SEVENS.load(std::sync::atomic::Ordering::SeqCst) != 0 {
        assert!(
            Instant::now() < deadline,
            "callback 7's callable was never released"
        );
        ok(&conn_op(RpycOp::Call, conn, "gc", "collect", None));
        std::thread::sleep(Duration::from_millis(10));
    }
    close(conn);
}
