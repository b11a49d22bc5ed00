//! The caller's allocator for large result buffers (rpyc_set_buffer_allocator), through
//! the C ABI against a real RPyC classic server: a large buffer is written into the
//! caller's memory and handed back by its token, which rpyc_value_free leaves alone; a
//! declined allocation falls back to the library's memory; a request cancelled while the
//! buffer is being taken releases it. A file of its own: the allocator is process-wide.

mod common;

use common::Server;
use rpyc_bridge::ffi::*;
use rpyc_bridge::RpycStatus;
use std::collections::HashMap;
use std::ffi::CString;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The caller's memory by token, as a Go program's heap is to the library.
static LENT: Mutex<Option<HashMap<u64, Vec<u8>>>> = Mutex::new(None);
static TOKENS: AtomicUsize = AtomicUsize::new(0);
static RELEASED: AtomicUsize = AtomicUsize::new(0);
/// Sizes above this are declined.
static DECLINE_ABOVE: AtomicUsize = AtomicUsize::new(usize::MAX);
/// A descriptor written to when a buffer is lent (-1: none): a cancel at that moment.
static CANCEL_ON_LEND: AtomicI32 = AtomicI32::new(-1);

fn lent() -> std::sync::MutexGuard<'static, Option<HashMap<u64, Vec<u8>>>> {
    LENT.lock().unwrap_or_else(|e| e.into_inner())
}

unsafe extern "C" fn alloc(len: usize, token: *mut u64) -> *mut u8 {
    if len > DECLINE_ABOVE.load(Ordering::SeqCst) {
        return ptr::null_mut();
    }
    let id = TOKENS.fetch_add(1, Ordering::SeqCst) as u64 + 1;
    let mut memory = vec![0xAAu8; len];
    let data = memory.as_mut_ptr();
    lent().get_or_insert_with(HashMap::new).insert(id, memory);
    // SAFETY: the library passes a writable token pointer (RpycAllocFn).
    unsafe { token.write(id) };
    let fd = CANCEL_ON_LEND.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: one byte from a live buffer to a pipe the test keeps open.
        assert_eq!(unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) }, 1);
    }
    data
}

unsafe extern "C" fn release(token: u64) {
    let memory = lent().get_or_insert_with(HashMap::new).remove(&token);
    assert!(
        memory.is_some(),
        "token {token} released twice, or never lent"
    );
    RELEASED.fetch_add(1, Ordering::SeqCst);
}

/// A returned buffer: (its bytes, its token).
type Buffer = (Vec<u8>, u64);

/// `builtins.eval(expr)` on `conn`: its buffers, or the failure's code; a buffer with a
/// token must be the lent memory of that token, which the test then takes back.
fn eval(conn: u64, expr: &str, cancel_fd: i32) -> Result<Vec<Buffer>, i32> {
    let (module, name) = (
        CString::new("builtins").unwrap(),
        CString::new("eval").unwrap(),
    );
    let args = CString::new(serde_json::to_string(&[expr]).unwrap()).unwrap();
    let req = RpycRequest {
        op: RpycOp::Call as i32,
        conn,
        target: 0,
        module: module.as_ptr(),
        name: name.as_ptr(),
        args_json: args.as_ptr(),
        kwargs_json: ptr::null(),
        buffers: ptr::null(),
        nbuffers: 0,
        timeout_ms: 0,
        cancel_fd,
    };
    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: live CStrings and local out-pointers.
    let status = unsafe { rpyc_request(&req, &mut out, &mut err) };
    if status != 0 {
        // SAFETY: the error the library returned, freed once.
        unsafe { rpyc_error_free(err) };
        return Err(status);
    }
    // SAFETY: the value the library returned; freed once, after its buffers are read.
    unsafe {
        let value = &*out;
        let buffers: Vec<Buffer> = (0..value.nbuffers)
            .map(|i| {
                let b = &*value.buffers.add(i);
                (std::slice::from_raw_parts(b.data, b.len).to_vec(), b.token)
            })
            .collect();
        let lent_data: Vec<(u64, *mut u8)> = (0..value.nbuffers)
            .map(|i| &*value.buffers.add(i))
            .filter(|b| b.token != 0)
            .map(|b| (b.token, b.data))
            .collect();
        rpyc_value_free(out);
        for (token, data) in lent_data {
            let memory = lent()
                .get_or_insert_with(HashMap::new)
                .remove(&token)
                .expect("rpyc_value_free left the caller's memory alone");
            assert_eq!(memory.as_ptr(), data.cast_const(), "the lent memory itself");
        }
        Ok(buffers)
    }
}

#[test]
fn large_result_buffers_go_to_the_callers_memory_and_come_back_by_token() {
    let server = Server::start();
    rpyc_set_buffer_allocator(Some(alloc), Some(release));
    let host = CString::new("127.0.0.1").unwrap();
    let (mut conn, mut err) = (0u64, ptr::null_mut());
    // SAFETY: a live CString and local out-pointers.
    assert_eq!(
        unsafe { rpyc_open(host.as_ptr(), server.port, ptr::null(), &mut conn, &mut err) },
        0
    );

    // Over INLINE_MAX (2 MB): taken in pieces, into the caller's memory.
    let big = eval(conn, "b'\\x01\\x02\\x03' * 2_000_000", -1).expect("6 MB of bytes");
    assert_eq!(big.len(), 1);
    assert_ne!(big[0].1, 0, "a large buffer comes in the caller's memory");
    assert!(big[0].0 == [1u8, 2, 3].repeat(2_000_000), "its bytes");
    // A small one comes in the reply, in the library's memory.
    let small = eval(conn, "b'xy' * 1000", -1).unwrap();
    assert_eq!(small, vec![(b"xy".repeat(1000), 0)]);
    // Declined: the library's memory, the same bytes.
    DECLINE_ABOVE.store(1 << 20, Ordering::SeqCst);
    let declined = eval(conn, "'é' * 3_000_000", -1).unwrap();
    assert!(declined == vec![("é".repeat(3_000_000).into_bytes(), 0)]);
    DECLINE_ABOVE.store(usize::MAX, Ordering::SeqCst);
    let (lent_so_far, released) = (
        TOKENS.load(Ordering::SeqCst),
        RELEASED.load(Ordering::SeqCst),
    );
    assert_eq!((lent_so_far, released), (1, 0), "one lent and handed back");

    // Cancelled the moment the buffer is lent, before any piece arrives: the request
    // fails as cancelled, the buffer goes back to the caller, and the connection works.
    let (read, write) = {
        let mut fds = [0i32; 2];
        // SAFETY: room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0], fds[1])
    };
    CANCEL_ON_LEND.store(write, Ordering::SeqCst);
    let Err(code) = eval(conn, "b'z' * 50_000_000", read) else {
        panic!("the request was not cancelled when its buffer was lent");
    };
    CANCEL_ON_LEND.store(-1, Ordering::SeqCst);
    assert_eq!(code, RpycStatus::ErrTimeout as i32);
    assert_eq!(
        TOKENS.load(Ordering::SeqCst),
        2,
        "the cancelled one was lent"
    );
    assert_eq!(RELEASED.load(Ordering::SeqCst), 1, "and released");
    assert!(
        lent().as_ref().is_none_or(HashMap::is_empty),
        "nothing still lent"
    );
    let mut byte = 0u8;
    // SAFETY: one byte into a local; the pipe holds the byte the allocator wrote.
    assert_eq!(
        unsafe { libc::read(read, (&mut byte as *mut u8).cast(), 1) },
        1
    );
    let after = eval(conn, "b'\\x07' * 3_000_000", read).unwrap();
    assert!(after.len() == 1 && after[0].0 == vec![7u8; 3_000_000] && after[0].1 != 0);
    // SAFETY: descriptors this test opened, closed once.
    unsafe {
        libc::close(read);
        libc::close(write);
    }

    rpyc_set_buffer_allocator(None, None);
    let unregistered = eval(conn, "b'q' * 3_000_000", -1).unwrap();
    assert!(unregistered == vec![(vec![b'q'; 3_000_000], 0)]);
    // SAFETY: a local out-pointer.
    assert_eq!(unsafe { rpyc_close(conn, &mut err) }, 0);
}
