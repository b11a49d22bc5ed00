//! The C ABI with arbitrary handles, strings and buffers, and no server: every function
//! must answer with a status (and an RpycError for failures), never crash or unwind.
//!
//! Input: [function selector][handle: 8 bytes LE][flags][text] 0x00 [buffer bytes]
//! flags: bits 0-1 the buffer count, bit 2 a NULL string, bit 3 a buffer with NULL data.
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
    let op = data[0] % 19;
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
    let (b, n) = (slices.as_ptr(), slices.len());
    let mut err: *mut RpycError = ptr::null_mut();
    let mut out = 0u64;
    let mut value: *mut RpycValue = ptr::null_mut();
    let mut out_text: *mut c_char = ptr::null_mut();
    // SAFETY: the strings are live CStrings or NULL, `b` points to `n` slices into `data`
    // (or NULL data, which the ABI refuses), out-pointers are locals; results are freed below.
    let status = unsafe {
        match op {
            0 => rpyc_conn_call(h, s, s, s, s, b, n, 1, &mut value, &mut err),
            1 => rpyc_conn_call(h, s, s, s, ptr::null(), b, n, 0, &mut value, &mut err),
            2 => rpyc_conn_getattr(h, s, s, 1, &mut value, &mut err),
            3 => rpyc_conn_import(h, s, &mut out, &mut err),
            4 => rpyc_conn_root(h, &mut out, &mut err),
            5 => rpyc_close(h, &mut err),
            6 => rpyc_ref_getattr(h, s, &mut out, &mut err),
            7 => rpyc_ref_setattr(h, s, s, b, n, &mut err),
            8 => rpyc_ref_call(h, s, s, b, n, 1, &mut out, &mut err),
            9 => rpyc_ref_getitem(h, s, b, n, &mut out, &mut err),
            10 => rpyc_ref_setitem(h, s, s, b, n, &mut err),
            11 => rpyc_ref_len(h, &mut out, &mut err),
            12 => rpyc_ref_text(h, (flags & 16) as i32, &mut out_text, &mut err),
            13 => rpyc_ref_decode(h, 1, &mut value, &mut err),
            14 => rpyc_ref_iter(h, &mut out, &mut err),
            15 => rpyc_iter_next(h, &mut out, &mut err),
            16 => rpyc_ref_release(h, &mut err),
            17 => rpyc_callback_new(h, h.rotate_left(7), &mut out, &mut err),
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
        "op {op} on handle {h} succeeded"
    );
    assert!(
        status == RpycStatus::ErrHandle as i32 || status == RpycStatus::ErrArgument as i32,
        "op {op}: unexpected status {status}"
    );
    assert!(
        !err.is_null(),
        "op {op}: status {status} without an RpycError"
    );
    assert!(value.is_null() && out_text.is_null() && out == 0);
    // SAFETY: an error returned by the library, freed once.
    unsafe { rpyc_error_free(err) };
});
