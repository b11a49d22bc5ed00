//! Connections: open, close, state, the registry, background serving.
//!
//! Ownership: `*out_json` is the caller's (rpyc_free_string); errors as in mod.rs. A
//! handle stays valid until rpyc_close; closing releases the connection's Refs.

use super::{guard, into_raw, out_call, read_opt_str, read_str, status_call, write_out, RpycError};
use crate::bridge;
use std::ffi::c_char;
use std::ptr;

/// Opens a connection. `options_json` is NULL or a JSON object with optional keys:
/// "service": "classic" (default) or "service" (a custom service: call its root's
/// exposed methods with module "root"); "connect_timeout": seconds (default 10);
/// "sync_request_timeout": seconds or null (default null: no limit); "allow_public_attrs";
/// "keepalive"; "compress" (default false: RPyC's zlib on frames, both ways on classic servers).
/// On success `*out_conn` is a handle (never 0).
///
/// # Safety
/// `host`, `options_json` must be NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_open(
    host: *const c_char,
    port: i32,
    options_json: *const c_char,
    out_conn: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        write_out(out_conn, 0);
        status_call(out_err, || {
            let host = read_str(host, "host")?;
            let options = read_opt_str(options_json, "options_json")?;
            let handle = bridge::open(host, port, options)?;
            write_out(out_conn, handle);
            Ok(())
        })
    }
}

/// Closes a connection. An unknown or already closed handle gives RPYC_STATUS_ERR_HANDLE.
///
/// # Safety
/// `out_err` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_close(conn: u64, out_err: *mut *mut RpycError) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { status_call(out_err, || bridge::close(conn)) }
}

/// 1 if `conn` is an open connection, else 0.
#[no_mangle]
pub extern "C" fn rpyc_conn_is_connected(conn: u64) -> i32 {
    guard(|| Ok(bridge::is_connected(conn) as i32)).unwrap_or(0)
}

/// The number of live Refs of `conn` (of all connections when `conn` is 0).
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_ref_count(
    conn: u64,
    out_count: *mut u64,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { out_call(out_count, 0, out_err, || bridge::ref_count(conn)) }
}

/// Serves the server's requests (callbacks) from a background thread while `enable` is
/// non-zero, also between calls: for subscriptions and events. Off by default.
///
/// # Safety
/// `out_err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_conn_serve_background(
    conn: u64,
    enable: i32,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { status_call(out_err, || bridge::serve_background(conn, enable != 0)) }
}

/// Asks the RPyC registry at `registry_host:registry_port` (UDP, or TCP when `tcp` is
/// non-zero) which servers offer `service`. `*out_json` is `[["host", port], ...]`, sorted;
/// empty when none is registered. `timeout_ms` <= 0 waits 2 s.
///
/// # Safety
/// Strings NULL or NUL-terminated; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_discover(
    service: *const c_char,
    registry_host: *const c_char,
    registry_port: i32,
    tcp: i32,
    timeout_ms: i64,
    out_json: *mut *mut c_char,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        out_call(out_json, ptr::null_mut(), out_err, || {
            let service = read_str(service, "service")?;
            let host = read_str(registry_host, "registry_host")?;
            bridge::discover(service, host, registry_port, tcp != 0, timeout_ms)
                .map(|t| into_raw(&t))
        })
    }
}
