//! The C ABI with arbitrary handles, operations, strings and buffers, and no server: every
//! function must answer with a status (and an RpycError for failures), never crash or unwind.
//!
//! Input: [function selector][handle: 8 bytes LE][flags][text] 0x00 [buffer bytes]
//! flags: bits 0-1 the buffer count, bit 2 a NULL string, bit 3 a buffer with NULL data,
//! bit 4 kwargs_json NULL, bits 5-6 the timeout (0, 1, 50 ms or none: -1), bit 7 a cancel fd.
//! Selectors 0-15 are rpyc_request with that operation code (0: none such), 16 rpyc_request
//! with the handle's low 32 bits as the code, 17 a NULL request, then the other functions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpyc_bridge::ffi::*;
use rpyc_bridge::RpycStatus;
use std::ffi::{c_char, CString};
use std::ptr;

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let selector = data[0] % 22;
    let h = u64::from_le_bytes(data[1..9].try_into().unwrap());
    let flags = data[9];
    let rest = &data[10..];
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let text = CString::new(&rest[..split]).unwrap();
    let raw = rest.get(split + 1..).unwrap_or(&[]);
    let nbuf = (flags & 3) as usize;
    let chunk = raw.len() / nbuf.max(1);
    let mut slices: Vec<RpycSlice> = (0..nbuf)
        .map(|i| RpycSlice {
            data: raw[i * chunk..].as_ptr(),
            len: chunk,
        })
        .collect();
    if flags & 8 != 0 && !slices.is_empty() {
        slices[0].data = ptr::null(); // with len > 0: an argument error, not a read
    }
    let s: *const c_char = if flags & 4 != 0 {
        ptr::null()
    } else {
        text.as_ptr()
    };
    let req = RpycRequest {
        op: match selector {
            16 => h as i32,
            op => op as i32,
        },
        conn: h,
        target: h.rotate_left(13),
        module: s,
        name: s,
        args_json: s,
        kwargs_json: if flags & 16 != 0 { ptr::null() } else { s },
        buffers: slices.as_ptr(),
        nbuffers: slices.len(),
        timeout_ms: [0, 1, 50, -1][((flags >> 5) & 3) as usize],
        // A stdin that may be readable: nothing is ever opened, so it is never polled.
        cancel_fd: if flags & 128 != 0 { 0 } else { -1 },
    };
    let mut err: *mut RpycError = ptr::null_mut();
    let mut value: *mut RpycValue = ptr::null_mut();
    // SAFETY: the strings are live CStrings or NULL, the request's buffers point to `n`
    // slices into `data` (or NULL data, which the ABI refuses), out-pointers are locals;
    // results are freed below.
    let status = unsafe {
        match selector {
            0..=16 => rpyc_request(&req, &mut value, &mut err),
            17 => rpyc_request(ptr::null(), &mut value, &mut err),
            18 => rpyc_close(h, &mut err),
            19 => rpyc_ref_release(h, &mut err),
            20 => rpyc_conn_serve_background(h, 1, &mut err),
            _ => {
                // The seed API: no connection was ever made.
                let r = rpyc_call(s, s, s);
                assert!(r.is_null(), "a seed call without a connection succeeded");
                assert!(!rpyc_last_error().is_null());
                return;
            }
        }
    };
    // Nothing was ever opened, so nothing can succeed; a failure always explains itself.
    assert_ne!(
        status,
        RpycStatus::Ok as i32,
        "selector {selector} (op {}) on handle {h} succeeded",
        req.op
    );
    assert!(
        status == RpycStatus::ErrHandle as i32 || status == RpycStatus::ErrArgument as i32,
        "selector {selector} (op {}): unexpected status {status}",
        req.op
    );
    assert!(
        !err.is_null(),
        "selector {selector}: status {status} without an RpycError"
    );
    assert!(value.is_null());
    // SAFETY: an error returned by the library, freed once.
    unsafe { rpyc_error_free(err) };
});
