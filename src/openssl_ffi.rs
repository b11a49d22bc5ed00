//! Raw declarations of the OpenSSL functions `client_cert` calls. They resolve against the
//! static libssl.a and libcrypto.a that `_ssl` links (build/openssl.rs, or PBS's own).
//! Nothing here is safe to call without reading OpenSSL's documentation for it.

use std::ffi::{c_char, c_int, c_long, c_ulong, c_void};

/// Opaque OpenSSL types: only ever handled by pointer.
#[repr(C)]
pub(crate) struct SslCtx {
    _private: [u8; 0],
}
#[repr(C)]
pub(crate) struct Bio {
    _private: [u8; 0],
}
#[repr(C)]
pub(crate) struct X509 {
    _private: [u8; 0],
}
#[repr(C)]
pub(crate) struct EvpPkey {
    _private: [u8; 0],
}

/// `pem_password_cb`: fills `buf` (of `size` bytes) with the passphrase, returns its length.
pub(crate) type PemPasswordCb =
    unsafe extern "C" fn(buf: *mut c_char, size: c_int, rwflag: c_int, u: *mut c_void) -> c_int;

/// `SSL_CTX_add1_chain_cert(ctx, x)` is `SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, x)`.
pub(crate) const SSL_CTRL_CHAIN_CERT: c_int = 89;

extern "C" {
    pub(crate) fn BIO_new_mem_buf(buf: *const c_void, len: c_int) -> *mut Bio;
    pub(crate) fn BIO_free(bio: *mut Bio) -> c_int;
    pub(crate) fn PEM_read_bio_X509_AUX(
        bio: *mut Bio,
        x: *mut *mut X509,
        cb: Option<PemPasswordCb>,
        u: *mut c_void,
    ) -> *mut X509;
    pub(crate) fn PEM_read_bio_X509(
        bio: *mut Bio,
        x: *mut *mut X509,
        cb: Option<PemPasswordCb>,
        u: *mut c_void,
    ) -> *mut X509;
    pub(crate) fn PEM_read_bio_PrivateKey(
        bio: *mut Bio,
        x: *mut *mut EvpPkey,
        cb: Option<PemPasswordCb>,
        u: *mut c_void,
    ) -> *mut EvpPkey;
    pub(crate) fn X509_free(x: *mut X509);
    pub(crate) fn EVP_PKEY_free(key: *mut EvpPkey);
    pub(crate) fn SSL_CTX_use_certificate(ctx: *mut SslCtx, x: *mut X509) -> c_int;
    pub(crate) fn SSL_CTX_use_PrivateKey(ctx: *mut SslCtx, key: *mut EvpPkey) -> c_int;
    pub(crate) fn SSL_CTX_check_private_key(ctx: *const SslCtx) -> c_int;
    pub(crate) fn SSL_CTX_ctrl(
        ctx: *mut SslCtx,
        cmd: c_int,
        larg: c_long,
        parg: *mut c_void,
    ) -> c_long;
    pub(crate) fn SSL_CTX_get_options(ctx: *const SslCtx) -> u64;
    pub(crate) fn ERR_get_error() -> c_ulong;
    pub(crate) fn ERR_error_string_n(e: c_ulong, buf: *mut c_char, len: usize);
    pub(crate) fn ERR_clear_error();
}
