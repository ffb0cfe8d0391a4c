//! JSON Lines (`--format jsonl`) loads in DuckDB (`read_json_auto`): its rows, by type,
//! are the JSON report's connections, HTTP exchanges and DNS lookups, plus one summary.
//! DuckDB comes from PyPI (.ci/run installs it); without it the test fails under CI and
//! says it did not run elsewhere.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
mod support;
use support::succeed;

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");

fn duckdb_counts(file: &Path) -> Option<Vec<(String, u64)>> {
    let query = format!(
        "import duckdb\nfor t, n in duckdb.sql(\"select type, count(*) from read_json_auto('{}') \
group by type order by type\").fetchall(): print(t, n)",
        file.display()
    );
    let out = Command::new("python3").args(["-c", &query]).output().ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("ModuleNotFoundError") || std::env::var_os("CI").is_none(),
            "CI installs duckdb (.ci/run): {err}"
        );
        assert!(err.contains("ModuleNotFoundError"), "duckdb failed: {err}");
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let (t, n) = l.split_once(' ').unwrap();
                (t.to_string(), n.parse().unwrap())
            })
            .collect(),
    )
}

#[test]
fn jsonl_loads_in_duckdb_with_a_row_per_connection_exchange_and_lookup() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("wirelab-jsonl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut captures = vec![
        root.join("captures/keepalive-chunked.pcap"),
        root.join("captures/lab-drop-every.pcap"),
    ];
    for p in ["PcapPlusPlus/4KHttpRequests.pcap", "zeek/wikipedia.pcap"] {
        let p = root.join("../shared/testdata/public").join(p);
        if p.exists() {
            captures.push(p);
        }
    }
    for cap in captures {
        let lines = dir.join("report.jsonl");
        succeed(
            Command::new(WIRELAB)
                .arg("report")
                .arg(&cap)
                .args(["--format", "jsonl", "-o"])
                .arg(&lines),
        );
        let json = Command::new(WIRELAB)
            .arg("report")
            .arg(&cap)
            .args(["--format", "json", "--list", "1000000"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&json.stdout).unwrap();
        let mut want = vec![
            (
                "connection".to_string(),
                r["totals"]["connections"].as_u64().unwrap(),
            ),
            (
                "http".to_string(),
                r["totals"]["http_exchanges"].as_u64().unwrap(),
            ),
            (
                "dns".to_string(),
                r["dns"].as_array().map_or(0, |d| d.len() as u64),
            ),
            ("summary".to_string(), 1),
        ];
        want.retain(|(_, n)| *n > 0);
        want.sort();
        let Some(got) = duckdb_counts(&lines) else {
            eprintln!("JSONL DuckDB test NOT RUN: python3 -m pip install duckdb");
            return;
        };
        assert_eq!(got, want, "{}", cap.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
