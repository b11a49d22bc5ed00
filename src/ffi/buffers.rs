//! Result buffers in the caller's memory. A large result buffer (one the server sends in
//! pieces) is written into memory the caller's allocator gives, when one is registered:
//! the caller then keeps it as it is, where the library's own memory would cost it a copy,
//! and a fresh allocation of the whole on every result.
//!
//! Ownership: `alloc(len, &token)` returns `len` initialised, writable bytes and sets a
//! nonzero token for them, or returns NULL (the library then uses its own memory). The
//! library writes them, then either hands them back in an `RpycValue` (`RpycBytes.token` is
//! the token: the caller owns them from then on, and `rpyc_value_free` leaves them alone)
//! or calls `release(token)` (the request failed, or nobody took the buffer). Each token
//! ends exactly one of these two ways. The memory must stay valid and in place until then.
//!
//! Threads: `alloc` runs on the thread of the request that takes the buffer; `release` may
//! run on any thread. Neither may call this library.

use std::ptr::NonNull;
use std::sync::RwLock;

/// Gives `len` bytes of the caller's memory and sets `*token`, or returns NULL.
pub type RpycAllocFn = Option<unsafe extern "C" fn(len: usize, token: *mut u64) -> *mut u8>;

/// Takes back the memory of `token`, which the library no longer uses.
pub type RpycReleaseFn = Option<unsafe extern "C" fn(token: u64)>;

/// Registers the caller's allocator for large result buffers (those the server sends in
/// pieces). `alloc(len, &token)` returns `len` initialised, writable bytes and sets a nonzero
/// token, or returns NULL (the library then uses its own memory). Each token ends one way,
/// once: handed back in an `RpycValue` (`RpycBytes.token`; the caller owns the memory from
/// then on), or `release(token)`. Until then the memory stays valid and in place. `alloc`
/// runs on the requesting thread, `release` on any; neither may call this library. NULL
/// for either unregisters both.
#[no_mangle]
pub extern "C" fn rpyc_set_buffer_allocator(alloc: RpycAllocFn, release: RpycReleaseFn) {
    let pair = alloc
        .zip(release)
        .map(|(alloc, release)| Allocator { alloc, release });
    *ALLOCATOR.write().unwrap_or_else(|e| e.into_inner()) = pair;
}

#[derive(Clone, Copy)]
struct Allocator {
    alloc: unsafe extern "C" fn(usize, *mut u64) -> *mut u8,
    release: unsafe extern "C" fn(u64),
}

static ALLOCATOR: RwLock<Option<Allocator>> = RwLock::new(None);

/// `len` bytes of the caller's memory, released when dropped unless handed back
/// (`into_raw`).
pub struct CallerBuffer {
    data: NonNull<u8>,
    len: usize,
    token: u64,
    release: unsafe extern "C" fn(u64),
}

// SAFETY: the memory is the caller's, valid until released, and reached only through the
// one CallerBuffer that owns its token; `release` may be called from any thread.
unsafe impl Send for CallerBuffer {}

impl CallerBuffer {
    /// `len` bytes from the registered allocator; None when there is none, or it declined.
    pub(crate) fn allocate(len: usize) -> Option<CallerBuffer> {
        if len == 0 {
            return None;
        }
        let allocator = (*ALLOCATOR.read().unwrap_or_else(|e| e.into_inner()))?;
        let mut token = 0u64;
        // SAFETY: the allocator's contract (module doc): it returns NULL or `len` bytes.
        let data = unsafe { (allocator.alloc)(len, &mut token) };
        let data = NonNull::new(data)?;
        if token == 0 {
            // A zero token breaks the contract: the memory could never be given back.
            return None;
        }
        Some(CallerBuffer {
            data,
            len,
            token,
            release: allocator.release,
        })
    }

    /// Hands the memory to the caller: (data, len, token), and no release follows.
    pub(crate) fn into_raw(self) -> (*mut u8, usize, u64) {
        let this = std::mem::ManuallyDrop::new(self);
        (this.data.as_ptr(), this.len, this.token)
    }
}

impl std::ops::Deref for CallerBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` initialised bytes, valid until released (the allocator's contract).
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for CallerBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref; only this CallerBuffer reaches them (`&mut self`).
        unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), self.len) }
    }
}

impl Drop for CallerBuffer {
    fn drop(&mut self) {
        // SAFETY: the token came from the allocator and has not been handed back.
        unsafe { (self.release)(self.token) }
    }
}
