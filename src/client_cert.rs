//! `load_cert_chain_pem(context, cert_pem, key_pem, password)`: a client certificate chain
//! and its key, from memory, into an `ssl.SSLContext`. Python's `load_cert_chain` reads
//! files only, and the bridge writes no files at run time (a scratch image may have no
//! writable file system, and a key on disk is a key that leaks).

use crate::openssl_ffi as ossl;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::ffi::{c_char, c_int, c_ulong, c_void};

pub(crate) fn load_cert_chain_pem(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let (context, cert_pem, key_pem, password): (
        Bound<'_, PyAny>,
        Vec<u8>,
        Vec<u8>,
        Option<Vec<u8>>,
    ) = args.extract()?;
    let ctx = ssl_ctx_of(&context)?;
    // SAFETY: `ctx` is the live SSL_CTX of `context`, which we borrow for the whole call and
    // which frees it; we hold the GIL, so no Python thread uses the context meanwhile.
    unsafe { load(ctx, &cert_pem, &key_pem, password.as_deref()) }.map_err(PyValueError::new_err)
}

/// The SSL_CTX inside an `ssl.SSLContext`: the one place a raw pointer leaves a Python object.
fn ssl_ctx_of(context: &Bound<'_, PyAny>) -> PyResult<*mut ossl::SslCtx> {
    let base = context.py().import("_ssl")?.getattr("_SSLContext")?;
    if !context.is_instance(&base)? {
        return Err(PyTypeError::new_err("expected an ssl.SSLContext"));
    }
    // SAFETY: `context` is an _ssl._SSLContext (checked above). Its C struct, PySSLContext in
    // CPython's Modules/_ssl.c, is PyObject_HEAD followed by `SSL_CTX *ctx` (so since 2.7,
    // and in the 3.13 this crate pins). The object outlives the borrow; the pointer is read,
    // not owned.
    let ctx = unsafe {
        *context
            .as_ptr()
            .cast::<u8>()
            .add(size_of::<pyo3::ffi::PyObject>())
            .cast::<*mut ossl::SslCtx>()
    };
    if ctx.is_null() {
        return Err(PyValueError::new_err("the SSLContext has no SSL_CTX"));
    }
    // Python reads `options` from the same SSL_CTX: a CPython whose layout differs fails here.
    let options: u64 = context.getattr("options")?.extract()?;
    // SAFETY: `ctx` is non-null and, by the layout above, the context's SSL_CTX.
    if unsafe { ossl::SSL_CTX_get_options(ctx) } != options {
        return Err(PyValueError::new_err(
            "this CPython's SSLContext layout is not the one rpyc-bridge knows",
        ));
    }
    Ok(ctx)
}

/// Frees what OpenSSL allocated when it goes out of scope.
struct Owned<T>(*mut T, unsafe extern "C" fn(*mut T));

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from the OpenSSL allocator that `self.1` frees for,
            // and nothing else owns it.
            unsafe { (self.1)(self.0) }
        }
    }
}

unsafe extern "C" fn bio_free(bio: *mut ossl::Bio) {
    // SAFETY: called by `Owned` with a BIO from BIO_new_mem_buf.
    unsafe { ossl::BIO_free(bio) };
}

/// Reads the chain (leaf first) and the key, and installs both in `ctx`.
///
/// # Safety
/// `ctx` must be a live SSL_CTX that no other thread uses during the call.
unsafe fn load(
    ctx: *mut ossl::SslCtx,
    cert_pem: &[u8],
    key_pem: &[u8],
    password: Option<&[u8]>,
) -> Result<(), String> {
    // SAFETY: for every call below: `ctx` is valid (the caller's promise); each BIO reads a
    // slice that outlives it; every object OpenSSL returns is owned by an `Owned` that frees
    // it, and the SSL_CTX_use_* and add1 calls take their own references.
    unsafe {
        ossl::ERR_clear_error();
        let pw = Password(password);
        let pw_arg = &pw as *const Password as *mut c_void;

        let bio = mem_bio(cert_pem)?;
        let leaf = Owned(
            ossl::PEM_read_bio_X509_AUX(bio.0, std::ptr::null_mut(), Some(password_cb), pw_arg),
            ossl::X509_free,
        );
        if leaf.0.is_null() {
            return Err(openssl_error(
                "no certificate in the client certificate PEM",
            ));
        }
        if ossl::SSL_CTX_use_certificate(ctx, leaf.0) != 1 {
            return Err(openssl_error("the client certificate was not accepted"));
        }
        loop {
            let next = Owned(
                ossl::PEM_read_bio_X509(bio.0, std::ptr::null_mut(), Some(password_cb), pw_arg),
                ossl::X509_free,
            );
            if next.0.is_null() {
                break;
            }
            if ossl::SSL_CTX_ctrl(ctx, ossl::SSL_CTRL_CHAIN_CERT, 1, next.0.cast()) != 1 {
                return Err(openssl_error(
                    "an intermediate certificate was not accepted",
                ));
            }
        }
        // The loop ends at the end of the PEM text, or at a block that is not a certificate.
        let end = ossl::ERR_get_error();
        if end != 0 && !is_pem_no_start_line(end) {
            return Err(describe("an intermediate certificate cannot be read", end));
        }
        ossl::ERR_clear_error();

        let bio = mem_bio(key_pem)?;
        let key = Owned(
            ossl::PEM_read_bio_PrivateKey(bio.0, std::ptr::null_mut(), Some(password_cb), pw_arg),
            ossl::EVP_PKEY_free,
        );
        if key.0.is_null() {
            return Err(openssl_error(if password.is_some() {
                "the client key cannot be read (is the password right?)"
            } else {
                "the client key cannot be read (is it encrypted? then give its password)"
            }));
        }
        // Both fail when the key does not belong to the leaf certificate.
        if ossl::SSL_CTX_use_PrivateKey(ctx, key.0) != 1
            || ossl::SSL_CTX_check_private_key(ctx) != 1
        {
            return Err(openssl_error(
                "the client key does not match the client certificate",
            ));
        }
        Ok(())
    }
}

fn mem_bio(data: &[u8]) -> Result<Owned<ossl::Bio>, String> {
    let len = c_int::try_from(data.len()).map_err(|_| "PEM text over 2 GB".to_string())?;
    // SAFETY: BIO_new_mem_buf makes a read-only BIO over `data` without copying; every BIO
    // made here is dropped before the slice it reads.
    let bio = unsafe { ossl::BIO_new_mem_buf(data.as_ptr().cast(), len) };
    if bio.is_null() {
        return Err(openssl_error("out of memory"));
    }
    Ok(Owned(bio, bio_free))
}

/// The key's password, for `password_cb`. None makes an encrypted key fail, never prompt.
struct Password<'a>(Option<&'a [u8]>);

unsafe extern "C" fn password_cb(
    buf: *mut c_char,
    size: c_int,
    _rwflag: c_int,
    u: *mut c_void,
) -> c_int {
    // SAFETY: `u` is the `Password` that `load` passes with this callback, alive for the
    // whole call; OpenSSL gives `buf` with room for `size` bytes.
    unsafe {
        let Some(password) = (*u.cast::<Password<'_>>()).0 else {
            return -1;
        };
        let Ok(len) = c_int::try_from(password.len()) else {
            return -1;
        };
        if len > size {
            return -1;
        }
        std::ptr::copy_nonoverlapping(password.as_ptr(), buf.cast::<u8>(), password.len());
        len
    }
}

/// PEM_R_NO_START_LINE from ERR_LIB_PEM: "no more PEM blocks of that kind".
fn is_pem_no_start_line(code: c_ulong) -> bool {
    const ERR_LIB_PEM: c_ulong = 9;
    const PEM_R_NO_START_LINE: c_ulong = 108;
    (code >> 23) & 0xff == ERR_LIB_PEM && code & 0x7f_ffff == PEM_R_NO_START_LINE
}

/// `what`, with the earliest error OpenSSL queued (the cause), then clears the queue.
fn openssl_error(what: &str) -> String {
    // SAFETY: ERR_get_error reads this thread's error queue.
    let code = unsafe { ossl::ERR_get_error() };
    let message = describe(what, code);
    // SAFETY: as above.
    unsafe { ossl::ERR_clear_error() };
    message
}

fn describe(what: &str, code: c_ulong) -> String {
    if code == 0 {
        return what.to_string();
    }
    let mut buf = [0 as c_char; 256];
    // SAFETY: ERR_error_string_n writes at most `buf.len()` bytes, NUL included.
    unsafe { ossl::ERR_error_string_n(code, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: the buffer is NUL-terminated by ERR_error_string_n.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    format!("{what}: {}", text.to_string_lossy())
}
