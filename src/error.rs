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
    /// Every status, in the order of their codes (0, 1, ...).
    const ALL: [RpycStatus; 9] = [
        RpycStatus::Ok,
        RpycStatus::ErrArgument,
        RpycStatus::ErrInit,
        RpycStatus::ErrConnect,
        RpycStatus::ErrPython,
        RpycStatus::ErrHandle,
        RpycStatus::ErrTimeout,
        RpycStatus::ErrClosed,
        RpycStatus::ErrInternal,
    ];

    pub fn from_code(code: i64) -> RpycStatus {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(RpycStatus::ErrInternal)
    }

    /// (name, code) of every status, named as the header names them without its
    /// `RPYC_STATUS_` prefix: what the runtime's Python code takes its codes from.
    pub(crate) fn names() -> impl Iterator<Item = (String, i32)> {
        Self::ALL.into_iter().map(|status| {
            let mut name = String::new();
            for (i, c) in format!("{status:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            (name, status as i32)
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names() {
        for (i, status) in RpycStatus::ALL.into_iter().enumerate() {
            assert_eq!(status as i64, i as i64);
            assert_eq!(RpycStatus::from_code(i as i64), status);
        }
        assert_eq!(RpycStatus::from_code(-1), RpycStatus::ErrInternal);
        assert_eq!(RpycStatus::from_code(99), RpycStatus::ErrInternal);
        let names: Vec<_> = RpycStatus::names().collect();
        assert_eq!(names[0], ("OK".to_string(), 0));
        assert_eq!(names[1], ("ERR_ARGUMENT".to_string(), 1));
        assert_eq!(names[8], ("ERR_INTERNAL".to_string(), 8));
    }
}
