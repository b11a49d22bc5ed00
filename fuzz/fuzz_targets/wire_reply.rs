//! The reply reader (src/wire: frame.rs, brine.rs, pyjson.rs) with arbitrary bytes from the
//! server: frames one after another, each read as a reply. It must answer each with JSON, a
//! refusal, or "RPyC's" (None), and never crash, overflow its stack, or allocate what a
//! length prefix claims (scripts/fuzz.sh caps any one allocation at 64 MB).
//!
//! Seeds: fuzz/corpus/wire_reply, real frames that rpyc's brine wrote
//! (scripts/fuzz-seeds.py).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let outcomes = rpyc_bridge::fuzz_reply(data);
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(Some(json)) => {
                if let Err(err) = serde_json::from_str::<serde_json::Value>(json) {
                    panic!("frame {i}: the reply's JSON does not parse ({err}): {json}");
                }
            }
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
