//! The hot path's RPyC messages, made and read in Rust: a call of a function netref with
//! plain arguments, and its plain reply. RPyC's own client spends most of such a call in
//! Python (brine, boxing, its AsyncResult machinery); here that is a few microseconds.
//!
//! The runtime's `wire.py` drives these functions under RPyC's own locks and hands every
//! message they do not take (`None`) to RPyC's dispatch, so they never decide anything alone.
//! Message layout: rpyc/core/protocol.py (`_send`, `_dispatch`, `_box`) and consts.py.

mod brine;
mod frame;
mod json;
mod pyfloat;
mod pyjson;

use pyo3::exceptions::{PyEOFError, PyOSError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use std::time::{Duration, Instant};

const MSG_REQUEST: u8 = 1;
const MSG_REPLY: u8 = 2;
const LABEL_VALUE: i64 = 1;
const LABEL_TUPLE: i64 = 2;
const LABEL_LOCAL_REF: i64 = 3;
const HANDLE_CALL: i64 = 7;

/// request(seq, target, args_json) -> bytes | None: the message calling the netref whose
/// brine-encoded id_pack is `target` with the JSON array `args_json` as its arguments;
/// None when the arguments are not plain JSON (objects, tags).
pub(crate) fn request(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<Py<PyBytes>>> {
    let py = args.py();
    let (seq, target, args_json): (i64, Bound<'_, PyBytes>, String) = args.extract()?;
    Ok(call_message(py, seq, target.as_bytes(), &args_json).map(|m| PyBytes::new(py, &m).unbind()))
}

fn call_message(py: Python<'_>, seq: i64, target: &[u8], args_json: &str) -> Option<Vec<u8>> {
    let call_args = json::parse(args_json)?;
    if !matches!(call_args, json::Json::Array(_)) {
        return None;
    }
    // msg, then (seq, (HANDLE_CALL, boxed (netref, args, kwargs))): what
    // `netref(*args)` sends, its arguments boxed by value, no keywords.
    let mut w = brine::Writer::default();
    w.raw(&[MSG_REQUEST]);
    w.tuple(2);
    w.int(seq);
    w.tuple(2);
    w.int(HANDLE_CALL);
    w.tuple(2);
    w.int(LABEL_TUPLE);
    w.tuple(3);
    w.tuple(2);
    w.int(LABEL_LOCAL_REF);
    w.raw(target);
    w.tuple(2);
    w.int(LABEL_VALUE);
    w.json(py, &call_args)?;
    w.tuple(2);
    w.int(LABEL_VALUE);
    w.tuple(0);
    Some(w.bytes)
}

/// recv(fd, timeout) -> (compressed, payload) | None: the next frame on the socket, waiting
/// without the GIL, at most `timeout` seconds (None: no limit); None if none began in time.
/// The peer closing the connection raises EOFError, as RPyC's stream does.
pub(crate) fn recv(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<(bool, Py<PyBytes>)>> {
    let py = args.py();
    let (fd, timeout): (i32, Option<f64>) = args.extract()?;
    // A timeout too large for a Duration (or NaN) is no timeout.
    let deadline = timeout
        .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
        .and_then(|d| Instant::now().checked_add(d));
    match py.detach(|| frame::read(fd, deadline)) {
        Ok(frame) => {
            Ok(frame.map(|(compressed, data)| (compressed, PyBytes::new(py, &data).unbind())))
        }
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(PyEOFError::new_err(err.to_string()))
        }
        Err(err) => Err(PyOSError::new_err(err.to_string())),
    }
}

/// reply(message, seq) -> (json, [bytes, ...]) | None: the result in `message` as the
/// runtime's codec encodes it for Go, when `message` is the reply to request `seq` and its
/// result is plain (by value, nothing brine leaves out); else None.
pub(crate) fn reply(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<(String, Py<PyList>)>> {
    let py = args.py();
    let (message, seq): (Bound<'_, PyBytes>, i64) = args.extract()?;
    let Some((json, buffers)) = plain_reply(py, message.as_bytes(), seq) else {
        return Ok(None);
    };
    let buffers = PyList::new(py, buffers.iter().map(|b| PyBytes::new(py, b)))?;
    Ok(Some((json, buffers.unbind())))
}

fn plain_reply(py: Python<'_>, message: &[u8], seq: i64) -> Option<(String, Vec<Vec<u8>>)> {
    let (&kind, body) = message.split_first()?;
    if kind != MSG_REPLY {
        return None;
    }
    let mut reader = brine::Reader::new(body);
    let brine::Value::Tuple(mut parts) = reader.value()? else {
        return None;
    };
    if !reader.at_end() || parts.len() != 2 || !is_int(&parts[0], seq) {
        return None;
    }
    let result = unbox(parts.pop()?)?;
    let (mut json, mut buffers) = (String::new(), Vec::new());
    pyjson::write(py, &result, &mut json, &mut buffers)?;
    Some((json, buffers))
}

fn is_int(value: &brine::Value<'_>, expected: i64) -> bool {
    match value {
        brine::Value::Int(i) => *i == expected,
        brine::Value::Long(digits) => digits.parse() == Ok(expected),
        _ => false,
    }
}

/// A boxed result, (label, value), unboxed when it holds values only (no netrefs).
fn unbox(boxed: brine::Value<'_>) -> Option<brine::Value<'_>> {
    let brine::Value::Tuple(pair) = boxed else {
        return None;
    };
    let [brine::Value::Int(label), value] = <[_; 2]>::try_from(pair).ok()? else {
        return None;
    };
    match (label, value) {
        (LABEL_VALUE, value) => Some(value),
        (LABEL_TUPLE, brine::Value::Tuple(items)) => Some(brine::Value::Tuple(
            items.into_iter().map(unbox).collect::<Option<_>>()?,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_python<R>(f: impl FnOnce(Python<'_>) -> R) -> R {
        crate::runtime::init().unwrap();
        Python::attach(f)
    }

    fn call_message(seq: i64, target: &[u8], args_json: &str) -> Option<Vec<u8>> {
        with_python(|py| super::call_message(py, seq, target, args_json))
    }

    fn plain_reply(message: &[u8], seq: i64) -> Option<(String, Vec<Vec<u8>>)> {
        with_python(|py| super::plain_reply(py, message, seq))
    }

    #[test]
    fn call_message_is_what_rpyc_sends() {
        // rpyc 6: conn._send(MSG_REQUEST, 5, (HANDLE_CALL, conn._box((proxy, (16,), ()))))
        // for a proxy whose id_pack is ("m.f", 7, 0), as bytes.
        let target = [0x12, 0x08, 0x0c, b'm', b'.', b'f', 0x57, 0x50];
        let message = call_message(5, &target, "[16]").unwrap();
        let mut expected = vec![1, 0x11, 0x55, 0x11, 0x57, 0x11, 0x52, 0x12, 0x11, 0x53];
        expected.extend_from_slice(&target);
        expected.extend_from_slice(&[0x11, 0x51, 0x10, 0x60, 0x11, 0x51, 0x02]);
        assert_eq!(message, expected);
        assert_eq!(call_message(5, &target, r#"[{"$ref": 1}]"#), None);
        assert_eq!(call_message(5, &target, "16"), None);
        assert_eq!(call_message(5, &target, "[16"), None);
    }

    #[test]
    fn plain_replies_become_json() {
        // (seq 9, (LABEL_TUPLE, ((LABEL_VALUE, 4.0), (LABEL_VALUE, "x"))))
        let mut m = vec![2, 0x11, 0x59, 0x11, 0x52, 0x11, 0x11, 0x51, 0x18];
        m.extend_from_slice(&4.0f64.to_be_bytes());
        m.extend_from_slice(&[0x11, 0x51, 0x08, 0x0a, b'x']);
        assert_eq!(plain_reply(&m, 9), Some(("[4.0,\"x\"]".into(), vec![])));
        assert_eq!(plain_reply(&m, 8), None, "another request's reply");
        // Sequence numbers past the one-byte range travel as digits.
        let mut far = vec![2, 0x11, 0x16, 4, b'1', b'2', b'3', b'4'];
        far.extend_from_slice(&m[3..]);
        assert_eq!(
            plain_reply(&far, 1234),
            Some(("[4.0,\"x\"]".into(), vec![]))
        );
        let mut exception = m.clone();
        exception[0] = 3;
        assert_eq!(plain_reply(&exception, 9), None);
        // (seq 9, (LABEL_REMOTE_REF, ...)): a netref, left to RPyC.
        let netref = [2, 0x11, 0x59, 0x11, 0x54, 0x12, 0x08, 0x01, 0x50, 0x50];
        assert_eq!(plain_reply(&netref, 9), None);
        assert_eq!(plain_reply(&m[..m.len() - 1], 9), None, "truncated");
    }
}
