//! Errors of the bridge, as Rust values. src/ffi/ turns them into C structs and strings.

use std::fmt;

/// Status codes of the C ABI. Zero is success; every failure has one of these.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpycStatus {
    Ok = 0,
    /// A bad argument: NULL, invalid UTF-8, invalid JSON, out-of-range value.
    ErrArgument = 1,
    /// The embedded interpreter could not start.
    ErrInit = 2,
    /// Could not connect, or the peer is not an RPyC server.
    ErrConnect = 3,
    /// The remote code raised: see type_name, message and traceback.
    ErrPython = 4,
    /// Unknown or already closed handle.
    ErrHandle = 5,
    /// No reply within the timeout.
    ErrTimeout = 6,
    /// The connection is closed or broken.
    ErrClosed = 7,
    /// A bug in the bridge; the message says what happened.
    ErrInternal = 8,
}

impl RpycStatus {
    pub fn from_code(code: i64) -> RpycStatus {
        match code {
            0 => RpycStatus::Ok,
            1 => RpycStatus::ErrArgument,
            2 => RpycStatus::ErrInit,
            3 => RpycStatus::ErrConnect,
            4 => RpycStatus::ErrPython,
            5 => RpycStatus::ErrHandle,
            6 => RpycStatus::ErrTimeout,
            7 => RpycStatus::ErrClosed,
            _ => RpycStatus::ErrInternal,
        }
    }
}

#[derive(Clone, Debug)]
pub struct BridgeError {
    pub status: RpycStatus,
    /// The Python exception class name, for remote (and local Python) exceptions.
    pub type_name: Option<String>,
    pub message: String,
    /// The remote traceback text, when the server sent one.
    pub traceback: Option<String>,
}

impl BridgeError {
    pub fn new(status: RpycStatus, message: impl Into<String>) -> BridgeError {
        BridgeError {
            status,
            type_name: None,
            message: message.into(),
            traceback: None,
        }
    }
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.type_name {
            Some(t) => write!(f, "{t}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(tb) = &self.traceback {
            write!(f, "\n\n{tb}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BridgeError {}
