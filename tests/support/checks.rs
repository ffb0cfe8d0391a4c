//! Checks shared by the live and lab tests: a stream's SHA-256 as the report writes it,
//! and every recv joined to exactly the frames that carried its bytes.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// SHA-256 in lower-case hex, as the report's `sha256` fields.
pub fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every recv's frames are exactly the frames whose delivered bytes overlap its range,
/// and together they cover the range.
pub fn check_recv_against_chunks(conn: &Value) {
    let chunks: Vec<[u64; 3]> = serde_json::from_value(conn["streams"]["s2c"]["chunks"].clone())
        .expect("provenance kept for a small capture");
    let recv = conn["recv"].as_array().expect("recv log joined");
    assert!(!recv.is_empty());
    let mut expected_offset = 0;
    for r in recv {
        let off = r["stream_offset"].as_u64().unwrap();
        let len = r["bytes"].as_u64().unwrap();
        assert_eq!(off, expected_offset, "recv ranges follow one another");
        expected_offset += len;
        let frames: Vec<u64> = serde_json::from_value(r["frames"].clone()).unwrap();
        let mut want: Vec<u64> = chunks
            .iter()
            .filter(|c| c[0] < off + len && c[0] + c[1] > off)
            .map(|c| c[2])
            .collect();
        want.dedup();
        assert_eq!(frames, want, "recv {} frames", r["call"]);
        let covered: u64 = chunks
            .iter()
            .filter(|c| frames.contains(&c[2]))
            .map(|c| (c[0] + c[1]).min(off + len).saturating_sub(c[0].max(off)))
            .sum();
        assert_eq!(
            covered, len,
            "recv {} range covered by its frames",
            r["call"]
        );
    }
    assert_eq!(
        expected_offset,
        conn["streams"]["s2c"]["bytes"].as_u64().unwrap()
    );
}
