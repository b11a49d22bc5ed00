//! The reply reader (src/wire: frame.rs, brine.rs, pyjson.rs) with arbitrary bytes from the
//! server: frames one after another, each read as a reply. It must answer each with JSON, a
//! refusal, or "RPyC's" (None), and never crash, overflow its stack, or allocate what a
//! length prefix claims (scripts/fuzz.sh caps any one allocation at 64 MB).
//!
//! Seeds: fuzz/corpus/wire_reply, real frames that rpyc's brine wrote
//! (scripts/fuzz-seeds.py).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

fuzz_target!(|data: &[u8]| {
    let outcomes = rpyc_bridge::fuzz_reply(data);
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(Some(json)) => check_json(i, json),
            Ok(None) => {}
            // Only the last frame can be refused: the reader stops there.
            Err(why) => assert_eq!(
                i + 1,
                outcomes.len(),
                "frame {i} refused ({why}), then more"
            ),
        }
    }
});

/// A reply's JSON parses, and nests no deeper than the tuples the reader allows, plus one
/// level for a `$bytes` or `$float` tag. Go's decoder reads up to 10,000 levels; serde_json's
/// own limit (128) is lifted, since the depth is bounded here first.
fn check_json(frame: usize, json: &str) {
    let depth = nesting(json);
    assert!(
        depth <= rpyc_bridge::WIRE_MAX_NESTING + 1,
        "frame {frame}: the reply's JSON nests {depth} deep, over the reader's limit"
    );
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    if let Err(err) = serde_json::Value::deserialize(&mut de).and_then(|_| de.end()) {
        panic!("frame {frame}: the reply's JSON does not parse ({err}): {json}");
    }
}

/// The deepest nesting of arrays and objects in `json`, brackets in strings aside.
fn nesting(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in json.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}
