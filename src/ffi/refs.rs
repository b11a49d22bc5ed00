//! Every request on a connection or a Ref: one function, rpyc_request, and the table of
//! operations it runs (RpycOp). All of them take the same timeout and cancel arguments.
//!
//! Ownership: `*out_value` is the caller's (rpyc_value_free); errors as in mod.rs. A Ref
//! a result holds (`{"$ref": id}`) is the caller's until rpyc_ref_release, or until its
//! connection closes.

use super::{
    out_call, read_opt_str, read_slices, status_call, value_box, RpycError, RpycSlice, RpycValue,
};
use crate::bridge::{self, RefHandle};
use crate::error::{BridgeError, RpycStatus};
use std::ffi::c_char;
use std::ptr;

/// The operations of rpyc_request. The result is always an `RpycValue`: by value for
/// CALL and GETATTR, `{"$ref": id}` for those that make a Ref, a number for REF_LEN, a
/// string for REF_REPR and REF_STR, null for the setters and for an exhausted ITER_NEXT.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpycOp {
    /// `module.name(*args_json, **kwargs_json)`, by value.
    Call = 1,
    /// `module.name`, by value.
    Getattr = 2,
    /// The module `module` (classic servers), as a Ref.
    Import = 3,
    /// The service root (`conn.root`), as a Ref.
    Root = 4,
    /// `getattr(target, name)`.
    RefGetattr = 5,
    /// `setattr(target, name, args_json)`: args_json is the value.
    RefSetattr = 6,
    /// `target(*args_json, **kwargs_json)`, as a Ref.
    RefCall = 7,
    /// `target[args_json]`: args_json is the key.
    RefGetitem = 8,
    /// `target[args_json] = kwargs_json`: the key, then the value.
    RefSetitem = 9,
    /// `len(target)`.
    RefLen = 10,
    /// `repr(target)`.
    RefRepr = 11,
    /// `str(target)`.
    RefStr = 12,
    /// The object, by value.
    RefValue = 13,
    /// `iter(target)`, as a Ref.
    RefIter = 14,
    /// `next(target)`, as a Ref; null when the iterator is exhausted.
    IterNext = 15,
}

impl RpycOp {
    /// Each operation and its name in the Python half's table (rpyc_bridge_rt.ops.OPS),
    /// in the order of their codes, which start at 1.
    const TABLE: [(RpycOp, &'static str); 15] = [
        (RpycOp::Call, "call"),
        (RpycOp::Getattr, "getattr"),
        (RpycOp::Import, "import"),
        (RpycOp::Root, "root"),
        (RpycOp::RefGetattr, "ref_getattr"),
        (RpycOp::RefSetattr, "ref_setattr"),
        (RpycOp::RefCall, "ref_call"),
        (RpycOp::RefGetitem, "ref_getitem"),
        (RpycOp::RefSetitem, "ref_setitem"),
        (RpycOp::RefLen, "ref_len"),
        (RpycOp::RefRepr, "ref_repr"),
        (RpycOp::RefStr, "ref_str"),
        (RpycOp::RefValue, "ref_value"),
        (RpycOp::RefIter, "ref_iter"),
        (RpycOp::IterNext, "iter_next"),
    ];

    fn from_code(code: i32) -> Option<RpycOp> {
        let entry = RpycOp::TABLE.get(usize::try_from(code).ok()?.checked_sub(1)?)?;
        Some(entry.0)
    }

    /// Its name in the Python half's table.
    pub fn name(self) -> &'static str {
        RpycOp::TABLE[self as usize - 1].1
    }

    /// The string fields the operation cannot do without: NULL there is an argument error.
    fn required(self) -> &'static [&'static str] {
        match self {
            RpycOp::Call | RpycOp::Getattr => &["module", "name"],
            RpycOp::Import => &["module"],
            RpycOp::RefGetattr => &["name"],
            RpycOp::RefSetattr => &["name", "args_json"],
            RpycOp::RefGetitem => &["args_json"],
            RpycOp::RefSetitem => &["args_json", "kwargs_json"],
            _ => &[],
        }
    }

    /// Every operation's name, for the test that checks them against the Python table.
    pub fn names() -> Vec<&'static str> {
        RpycOp::TABLE.iter().map(|(_, name)| *name).collect()
    }
}

/// One request. Strings are NULL or NUL-terminated UTF-8, JSON ones tagged as in
/// `RpycValue`, with their buffers in `buffers[0..nbuffers]`.
#[repr(C)]
pub struct RpycRequest {
    /// An `RpycOp`.
    pub op: i32,
    /// The connection (operations on a connection).
    pub conn: u64,
    /// The Ref (REF_* and ITER_NEXT operations).
    pub target: u64,
    /// The module name (CALL, GETATTR, IMPORT).
    pub module: *const c_char,
    /// The function or attribute name.
    pub name: *const c_char,
    /// Positional arguments (a JSON array), or the key or value (see `RpycOp`).
    pub args_json: *const c_char,
    /// Keyword arguments (a JSON object), or REF_SETITEM's value.
    pub kwargs_json: *const c_char,
    pub buffers: *const RpycSlice,
    pub nbuffers: usize,
    /// Milliseconds to wait for the reply; <= 0 for no limit. On expiry the request fails
    /// with RPYC_STATUS_ERR_TIMEOUT and the connection stays usable (a late reply is dropped).
    pub timeout_ms: i64,
    /// A file descriptor that becomes readable when the caller gives up (the request then
    /// fails at once, as on a timeout), or -1. The library only polls it, never reads it.
    pub cancel_fd: i32,
}

/// Runs one request (see `RpycOp`); `*out_value` holds its result.
///
/// # Safety
/// `req` must point to a valid `RpycRequest` whose strings and buffers follow its
/// contract for the duration of the call; out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_request(
    req: *const RpycRequest,
    out_value: *mut *mut RpycValue,
    out_err: *mut *mut RpycError,
) -> i32 {
    // SAFETY: per this function's contract.
    unsafe {
        out_call(out_value, ptr::null_mut(), out_err, || {
            if req.is_null() {
                return Err(BridgeError::new(RpycStatus::ErrArgument, "req is NULL"));
            }
            let req = &*req;
            let op = RpycOp::from_code(req.op).ok_or_else(|| {
                BridgeError::new(
                    RpycStatus::ErrArgument,
                    format!("unknown operation {}", req.op),
                )
            })?;
            let module = read_opt_str(req.module, "module")?;
            let name = read_opt_str(req.name, "name")?;
            let args_json = read_opt_str(req.args_json, "args_json")?;
            let kwargs_json = read_opt_str(req.kwargs_json, "kwargs_json")?;
            let fields = [
                ("module", module),
                ("name", name),
                ("args_json", args_json),
                ("kwargs_json", kwargs_json),
            ];
            if let Some((field, _)) = fields
                .iter()
                .find(|(f, v)| v.is_none() && op.required().contains(f))
            {
                return Err(BridgeError::new(
                    RpycStatus::ErrArgument,
                    format!("{field} is NULL ({} needs it)", op.name()),
                ));
            }
            let request = bridge::Request {
                op: op.name(),
                conn: req.conn,
                target: req.target,
                module,
                name,
                args_json,
                kwargs_json,
                buffers: &read_slices(req.buffers, req.nbuffers)?,
                timeout_ms: req.timeout_ms,
                cancel_fd: req.cancel_fd,
            };
            // Without an out-pointer the value is dropped here, not boxed and lost.
            bridge::request(&request).map(|v| {
                if out_value.is_null() {
                    ptr::null_mut()
                } else {
                    value_box(v)
                }
            })
        })
    }
}

/// Releases a Ref, so that the server may free the object. A released or unknown Ref gives
/// RPYC_STATUS_ERR_HANDLE. Closing a connection releases all its Refs.
///
/// # Safety
/// `out_err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rpyc_ref_release(r: u64, out_err: *mut *mut RpycError) -> i32 {
    // SAFETY: per this function's contract.
    unsafe { status_call(out_err, || bridge::ref_release(r as RefHandle)) }
}

#[cfg(test)]
mod tests {
    use super::RpycOp;

    #[test]
    fn each_code_names_its_own_operation() {
        for (i, (op, _)) in RpycOp::TABLE.iter().enumerate() {
            assert_eq!(
                *op as usize,
                i + 1,
                "RpycOp::TABLE is out of the codes' order"
            );
            assert_eq!(RpycOp::from_code(*op as i32), Some(*op));
        }
        for code in [0, -1, 16, i32::MIN, i32::MAX] {
            assert_eq!(RpycOp::from_code(code), None);
        }
    }
}
