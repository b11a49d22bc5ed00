//! The hot path's RPyC messages, made and read in Rust: a call of a function netref with
//! plain arguments, and its plain reply. RPyC's own client spends most of such a call in
//! Python (brine, boxing, its AsyncResult machinery); here that is a few microseconds.
//!
//! The runtime's `wire.py` drives these functions under RPyC's own locks and hands every
//! message they do not take (`None`) to RPyC's dispatch, so they never decide anything alone.
//! Message layout: rpyc/core/protocol.py (`_send`, `_dispatch`, `_box`) and consts.py.

pub(crate) mod assembly;
mod brine;
mod frame;
mod json;
mod pyfloat;
mod pyjson;

use pyo3::exceptions::{PyEOFError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use std::time::{Duration, Instant};

const MSG_REQUEST: u8 = 1;
const MSG_REPLY: u8 = 2;
const LABEL_VALUE: i64 = 1;
const LABEL_TUPLE: i64 = 2;
const LABEL_LOCAL_REF: i64 = 3;
const HANDLE_CALL: i64 = 7;

/// The longest frame the reader takes by default (`WithMaxFrameSize` in Go): 1 GiB.
pub(crate) const DEFAULT_MAX_FRAME: usize = 1 << 30;
/// How deep tuples may nest in a reply by default (`WithMaxNesting` in Go). Python's own
/// brine, recursing twice per level under a recursion limit of 1000, writes at most ~500.
/// Public for the fuzz target's oracle, not part of the C ABI.
/// cbindgen:ignore
pub const DEFAULT_MAX_DEPTH: usize = 1000;

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

/// recv(fd, timeout[, max_len]) -> (compressed, payload) | None: the next frame on the socket,
/// waiting without the GIL, at most `timeout` seconds (None: no limit); None if none began
/// in time. The peer closing the connection raises EOFError, as RPyC's stream does; a frame
/// longer than `max_len` bytes raises ValueError before any of it is read (the stream is
/// then mid-frame: the caller closes the connection).
pub(crate) fn recv(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<(bool, Py<PyBytes>)>> {
    let py = args.py();
    let (fd, timeout, max_len): (i32, Option<f64>, usize) = match args.len() {
        2 => args
            .extract()
            .map(|(fd, timeout)| (fd, timeout, DEFAULT_MAX_FRAME))?,
        _ => args.extract()?,
    };
    // A timeout too large for a Duration (or NaN) is no timeout.
    let deadline = timeout
        .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
        .and_then(|d| Instant::now().checked_add(d));
    match py.detach(|| frame::read(fd, deadline, max_len)) {
        Ok(frame) => {
            Ok(frame.map(|(compressed, data)| (compressed, PyBytes::new(py, &data).unbind())))
        }
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(PyEOFError::new_err(err.to_string()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::InvalidData => {
            Err(PyValueError::new_err(err.to_string()))
        }
        Err(err) => Err(PyOSError::new_err(err.to_string())),
    }
}

/// reply(message, seq[, max_depth]) -> (json, [bytes, ...]) | None: the result in `message`
/// as the runtime's codec encodes it for Go, when `message` is the reply to request `seq`
/// and its result is plain (by value, nothing brine leaves out); else None. A reply that is
/// not brine, or nests tuples deeper than `max_depth`, raises ValueError.
pub(crate) fn reply(
    args: &Bound<'_, PyTuple>,
    _kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<(String, Py<PyList>)>> {
    let py = args.py();
    let (message, seq, max_depth): (Bound<'_, PyBytes>, i64, usize) = match args.len() {
        2 => args.extract().map(|(m, seq)| (m, seq, DEFAULT_MAX_DEPTH))?,
        _ => args.extract()?,
    };
    let Some((json, buffers)) =
        plain_reply(py, message.as_bytes(), Some(seq), max_depth).map_err(PyValueError::new_err)?
    else {
        return Ok(None);
    };
    let buffers = PyList::new(py, buffers.iter().map(|b| PyBytes::new(py, b)))?;
    Ok(Some((json, buffers.unbind())))
}

/// A plain reply's result for Go: its JSON text and byte buffers (views of the message).
type PlainReply<'a> = (String, Vec<&'a [u8]>);

/// A plain reply's result: (json, buffers); `Ok(None)` for any message RPyC reads instead
/// (not a reply, the reply to another request than `seq` (None: any), a netref, a type
/// brine has and this reader leaves out); `Err` says why a reply cannot be read at all.
fn plain_reply<'a>(
    py: Python<'_>,
    message: &'a [u8],
    seq: Option<i64>,
    max_depth: usize,
) -> Result<Option<PlainReply<'a>>, String> {
    let Some((&MSG_REPLY, body)) = message.split_first() else {
        return Ok(None);
    };
    let mut reader = brine::Reader::new(body, max_depth);
    let value = match reader.value() {
        Ok(value) => value,
        Err(brine::Refusal::Unsupported) => return Ok(None),
        Err(brine::Refusal::Malformed(why)) => {
            return Err(format!("the server's reply is not valid brine: {why}"))
        }
        Err(brine::Refusal::TooDeep(limit)) => {
            return Err(format!(
                "the server's reply nests deeper than the limit of {limit}"
            ))
        }
    };
    let brine::Value::Tuple(mut parts) = value else {
        return Ok(None);
    };
    if !reader.at_end() || parts.len() != 2 || !seq.is_none_or(|seq| is_int(&parts[0], seq)) {
        return Ok(None);
    }
    let Some(result) = parts.pop().and_then(unbox) else {
        return Ok(None);
    };
    if pyjson::holds_long_tuple(&result) {
        return Ok(None); // the general path packs or pickles it
    }
    let (mut json, mut buffers) = (String::new(), Vec::new());
    pyjson::write(py, &result, &mut json, &mut buffers).ok_or("out of memory writing the reply")?;
    Ok(Some((json, buffers)))
}

/// What the fuzz target `wire_reply` runs (fuzz/fuzz_targets/wire_reply.rs): `data` as the
/// bytes a server sent, read as frames one after another (with the default limits) until
/// it ends or a frame is refused (as wire.py then closes the connection), each frame's payload as a reply to any request. Returns
/// each frame's outcome: a plain reply's JSON, `None` for one left to RPyC, or the error.
#[doc(hidden)]
pub fn fuzz_reply(data: &[u8]) -> Vec<Result<Option<String>, String>> {
    crate::runtime::init().expect("the embedded interpreter starts");
    let mut src = data;
    let mut outcomes = Vec::new();
    Python::attach(|py| {
        while !src.is_empty() {
            match frame::read_from(&mut src, DEFAULT_MAX_FRAME) {
                Ok((_, payload)) => {
                    let outcome = plain_reply(py, &payload, None, DEFAULT_MAX_DEPTH);
                    let refused = outcome.is_err();
                    outcomes.push(outcome.map(|reply| reply.map(|(json, _)| json)));
                    if refused {
                        break; // as wire.py closes the connection
                    }
                }
                Err(err) => {
                    outcomes.push(Err(err.to_string()));
                    break;
                }
            }
        }
    });
    outcomes
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

    fn plain_reply(message: &[u8], seq: i64) -> Option<PlainReply<'_>> {
        with_python(|py| super::plain_reply(py, message, Some(seq), DEFAULT_MAX_DEPTH)).unwrap()
    }

    fn refusal(message: &[u8], max_depth: usize) -> String {
        with_python(|py| super::plain_reply(py, message, Some(9), max_depth)).unwrap_err()
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
        // A slice: brine, left to RPyC.
        let slice = [2, 0x11, 0x59, 0x11, 0x51, 0x19, 0x12, 0, 0, 0];
        assert_eq!(plain_reply(&slice, 9), None);
    }

    #[test]
    fn unreadable_replies_are_errors() {
        // (seq 9, (LABEL_VALUE, ((((...)))))) nested 50 deep, read with limits 52 and 51.
        let mut deep = vec![2, 0x11, 0x59, 0x11, 0x51];
        deep.extend_from_slice(&[0x10; 50]);
        deep.push(0x00);
        let nulls = format!("{}null{}", "[".repeat(50), "]".repeat(50));
        let reply = with_python(|py| super::plain_reply(py, &deep, Some(9), 52));
        assert_eq!(reply, Ok(Some((nulls, vec![]))));
        assert_eq!(
            refusal(&deep, 51),
            "the server's reply nests deeper than the limit of 51"
        );
        // The default limit, against a million levels: refused, no stack overflow.
        let mut deeper = deep[..5].to_vec();
        deeper.extend_from_slice(&vec![0x10; 1_000_000]);
        assert_eq!(
            refusal(&deeper, DEFAULT_MAX_DEPTH),
            "the server's reply nests deeper than the limit of 1000"
        );
        let mut m = vec![2, 0x11, 0x59, 0x11, 0x51, 0x0a, b'x'];
        assert_eq!(
            plain_reply(&m, 9),
            Some(("{\"$bytes\":0}".into(), vec![&b"x"[..]]))
        );
        m.pop();
        assert_eq!(
            refusal(&m, DEFAULT_MAX_DEPTH),
            "the server's reply is not valid brine: the message ends inside a value"
        );
        let unknown_tag = [2, 0x11, 0x59, 0x11, 0x51, 0x07];
        assert_eq!(
            refusal(&unknown_tag, DEFAULT_MAX_DEPTH),
            "the server's reply is not valid brine: a tag brine does not have"
        );
        let bad_text = [2, 0x11, 0x59, 0x11, 0x51, 0x08, 0x0b, 0xc3, 0x28];
        assert_eq!(
            refusal(&bad_text, DEFAULT_MAX_DEPTH),
            "the server's reply is not valid brine: text is not UTF-8"
        );
    }

    #[test]
    fn the_deepest_reply_fits_half_a_mib_of_stack() {
        // Reading, writing and dropping a reply at the default depth fits in half a MiB of
        // stack (glibc's threads have 8 MiB), whichever thread the call runs on.
        let mut deep = vec![2, 0x11, 0x59, 0x11, 0x51];
        deep.extend_from_slice(&vec![0x10; DEFAULT_MAX_DEPTH - 2]);
        deep.push(0x51);
        crate::runtime::init().unwrap();
        let reply = std::thread::Builder::new()
            .stack_size(512 << 10)
            .spawn(move || {
                Python::attach(|py| {
                    super::plain_reply(py, &deep, Some(9), DEFAULT_MAX_DEPTH)
                        .map(|reply| reply.map(|(json, buffers)| (json, buffers.len())))
                })
            })
            .unwrap()
            .join()
            .unwrap();
        let ones = format!("{}1{}", "[".repeat(998), "]".repeat(998));
        assert_eq!(reply, Ok(Some((ones, 0))));
    }

    #[test]
    fn fuzz_reply_reads_frames_until_one_is_refused() {
        let stream = |payloads: &[&[u8]]| {
            let mut stream = Vec::new();
            for payload in payloads {
                stream.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                stream.push(0);
                stream.extend_from_slice(payload);
                stream.push(b'\n');
            }
            stream
        };
        let reply = [2, 0x11, 0x59, 0x11, 0x51, 0x0a, b'x'];
        let bytes_json = Ok(Some("{\"$bytes\":0}".to_string()));
        let outcomes = fuzz_reply(&stream(&[&reply, &[1, 0x02], &reply[..6], &reply]));
        assert_eq!(outcomes.len(), 3, "{outcomes:?}");
        assert_eq!(outcomes[0], bytes_json);
        assert_eq!(outcomes[1], Ok(None), "a request: RPyC's");
        assert!(outcomes[2].is_err());
        let mut oversize = stream(&[&reply]);
        oversize.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 1, 2]);
        assert_eq!(
            fuzz_reply(&oversize),
            [
                bytes_json,
                Err(
                    "the server sent a frame of 4294967295 bytes, over the limit of 1073741824"
                        .into()
                )
            ]
        );
    }
}
