//! How much memory a large result costs the client, against a real RPyC classic server.
//! A file of its own: the peak RSS is the process's, so nothing else may run meanwhile.

mod common;

use common::Server;
use rpyc_bridge::{call, close, open};

/// A field of /proc/self/status (VmRSS, VmHWM), in bytes.
fn status(field: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: f64 = line.trim().trim_end_matches(" kB").parse().unwrap();
    kb * 1024.0
}

#[test]
fn a_large_result_costs_about_two_copies() {
    let server = Server::start();
    let conn = open("127.0.0.1", server.port, None).unwrap();
    let fixture = |function: &str, kind: &str, n: usize| {
        call(
            conn,
            "bench_fixtures",
            function,
            Some(&format!(r#"["{kind}", {n}]"#)),
            None,
            &[],
            0,
        )
        .unwrap()
    };
    // Warm up (the server's helper, the cached function) with a small value. The server
    // makes each large value ahead (prepare), so that only its transfer is measured; none
    // came here before, so none of this process's memory is already set aside for it.
    fixture("make", "str", 10_000);
    let n = 64 << 20;
    for kind in ["str", "bytes"] {
        fixture("prepare", kind, n);
        std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
        let before = status("VmRSS:");
        let got = fixture("make", kind, n);
        // Go then copies the buffers into its own memory, while they are still here.
        let go_copy: Vec<Vec<u8>> =
            std::hint::black_box(got.buffers.iter().map(|b| b.to_vec()).collect());
        let payload = got.buffers.iter().map(|b| b.len()).sum::<usize>();
        let growth = status("VmHWM:") - before;
        drop((got, go_copy));
        assert!(payload >= n, "{kind}: {payload} bytes of buffers");
        // The frame, then the buffer, then Go's copy, two at a time: mimalloc must not keep
        // the interpreter's copies for later reuse (its purge delay).
        let copies = growth / payload as f64;
        println!("{kind}: peak RSS grew {copies:.2}x its {payload} bytes");
        assert!(
            copies < 2.5,
            "{kind}: peak RSS grew {growth} bytes, {copies:.2}x the payload"
        );
    }
    close(conn).unwrap();
}
