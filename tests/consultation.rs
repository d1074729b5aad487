//! The kiosk's opinion journal under crashes: the writer is killed (SIGKILL) many times while
//! it appends; every opinion it acknowledged is in the export, and no line is corrupt.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn jumeau() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jumeau"))
}

#[test]
fn killed_while_writing_loses_no_acknowledged_opinion() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("avis.jsonl");
    let mut acknowledged = BTreeSet::new();
    let rounds = 25u64;
    for visit in 0..rounds {
        let mut child = jumeau()
            .args(["consultation", "write-test"])
            .arg(&journal)
            .args(["--visit", &visit.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill after a different number of acknowledgements each time (5 to 44).
        let wanted = 5 + (visit * 7) % 40;
        for line in lines.take(wanted as usize) {
            let line = line.unwrap();
            let mut words = line.split(' ').skip(1);
            let (v, i): (u64, u64) = (
                words.next().unwrap().parse().unwrap(),
                words.next().unwrap().parse().unwrap(),
            );
            acknowledged.insert((v, i));
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(acknowledged.len() > 500, "{}", acknowledged.len());
    let csv = dir.path().join("avis.csv");
    let out = jumeau()
        .args(["consultation", "export"])
        .arg(&journal)
        .arg("--output")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // A kill never cuts a line (each is one write, flushed before it is acknowledged).
    assert_eq!(summary["skipped"], serde_json::json!([]), "{summary}");
    let exported: BTreeSet<(u64, u64)> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[3].trim_matches('"').parse().unwrap(),
            )
        })
        .collect();
    let missing: Vec<_> = acknowledged.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not exported: {missing:?}"
    );
    assert_eq!(
        summary["opinions"].as_u64().unwrap() as usize,
        exported.len()
    );
    // Three alternatives, each counted.
    let alternatives = summary["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 3);
    let total: u64 = alternatives
        .iter()
        .map(|a| a["opinions"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, exported.len());
}
