//! The consultation kiosk's soak run end to end: `jumeau kiosk project.toml --soak 1h
//! --headless` over the analytic scene with two flood alternatives and the territory today,
//! visitors at random on a simulated clock, every step rendered (lavapipe in CI). The report
//! and the journal are checked against the kiosk's promises: no panic, every reset back to
//! the start state, every opinion kept and none twice on an alternative in a visit, memory
//! flat after warm-up.

mod common;

use common::scene::{X0, Y0, write_scene};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn project(dir: &Path) -> std::path::PathBuf {
    write_scene(&dir.join("scene.las"));
    let pin = jumeau::scenario::kiosk::hash_pin("2468").unwrap();
    let text = format!(
        r#"version = 1
name = "Les deux cuvettes : consultation"
data = ["scene.las"]
crs = "EPSG:2154"
[terrain]
resolution_m = 1.0

[[scenarios]]
id = "crue"
kind = "flood"
seeds = [[{sx}, {sy}]]
level_m = 40.0

[[scenarios]]
id = "crue-forte"
kind = "flood"
seeds = [[{sx}, {sy}]]
level_m = 55.0

[[bookmarks]]
name = "La cuvette ouest"
caption = "Là où l'eau monte d'abord"
eye = [{ax}, {ay}, 160.0]
target = [{sx}, {sy}, 40.0]

[[bookmarks]]
name = "Le bâtiment"
caption = "Sur le plateau, hors d'eau"
eye = [{bx}, {by}, 140.0]
target = [{cx}, {cy}, 100.0]

[kiosk]
idle_seconds = 60
warning_seconds = 20
pin_hash = "{pin}"
alternatives = [
  {{ name = "Aujourd'hui" }},
  {{ name = "Crue de 40 m", scenario = "crue" }},
  {{ name = "Crue de 55 m", scenario = "crue-forte" }},
]
"#,
        sx = X0 + 60.0,
        sy = Y0 + 100.0,
        ax = X0 - 60.0,
        ay = Y0 - 40.0,
        bx = X0 + 330.0,
        by = Y0 + 20.0,
        cx = X0 + 250.0,
        cy = Y0 + 100.0,
    );
    let path = dir.join("consultation.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_hour_of_visitors_keeps_every_promise() {
    let dir = tempfile::tempdir().unwrap();
    let file = project(dir.path());
    let report = dir.path().join("soak.json");
    let output = Command::new(env!("CARGO_BIN_EXE_jumeau"))
        .arg("kiosk")
        .arg(&file)
        .args([
            "--soak",
            "1h",
            "--headless",
            "--size",
            "160x90",
            "--seed",
            "7",
        ])
        .arg("--report")
        .arg(&report)
        .env("JUMEAU_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&r).unwrap());
    let n = |v: &Value| v.as_u64().unwrap();
    // An hour at a second a frame.
    assert_eq!(n(&r["frames"]), 3600);
    let k = &r["kiosk"];
    assert!(n(&k["visits"]) >= 3, "visits: {}", k["visits"]);
    assert!(n(&k["resets"]) >= 3, "resets: {}", k["resets"]);
    assert!(n(&k["warnings"]) >= n(&k["resets"]));
    assert_eq!(
        n(&k["resets_off_start"]),
        0,
        "every reset is back to the start state"
    );
    assert!(n(&k["opinions"]) >= 5, "opinions: {}", k["opinions"]);
    assert!(
        n(&k["opinions_refused"]) >= 1,
        "a second opinion in a visit is refused"
    );
    // Every opinion acknowledged is in the journal, and no line is torn.
    assert_eq!(n(&r["opinions_in_journal"]), n(&k["opinions"]));
    assert_eq!(n(&r["journal_lines_skipped"]), 0);
    let journal =
        jumeau::scenario::consultation::read_journal(Path::new(r["journal"].as_str().unwrap()))
            .unwrap();
    let mut pairs = BTreeSet::new();
    for o in &journal.opinions {
        assert!(
            ["today", "crue", "crue-forte"].contains(&o.alternative.as_str()),
            "{o:?}"
        );
        assert!((1..=5).contains(&o.value), "{o:?}");
        assert!(
            pairs.insert((o.visit, o.alternative.clone())),
            "visit {} gave two opinions on {}",
            o.visit,
            o.alternative
        );
    }
    let visits: BTreeSet<u64> = journal.opinions.iter().map(|o| o.visit).collect();
    assert!(visits.len() >= 2 && !visits.contains(&0), "{visits:?}");
    // Memory: no growth beyond 5 % once warmed up.
    let m = &r["memory"];
    assert!(n(&m["after_warmup_kib"]) > 0 && n(&m["peak_kib"]) >= n(&m["end_kib"]));
    let growth = m["growth_after_warmup_percent"].as_f64().unwrap();
    assert!(growth <= 5.0, "memory grew {growth:.2} % after warm-up");
}

#[test]
fn the_kiosk_refuses_to_run_without_a_display_or_with_a_bad_project() {
    let dir = tempfile::tempdir().unwrap();
    let file = project(dir.path());
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_jumeau"))
            .arg("kiosk")
            .args(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let f = file.to_str().unwrap();
    let err = run(&[f]);
    assert!(
        err.contains("needs a display") && err.contains("--soak"),
        "{err}"
    );
    let err = run(&[f, "--soak", "1h"]);
    assert!(err.contains("--headless"), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("warning_seconds = 20", "warning_seconds = 5"),
    )
    .unwrap();
    let err = run(&[f, "--soak", "1h", "--headless"]);
    assert!(
        err.contains("kiosk.warning_seconds") && err.contains("consultation.toml"),
        "{err}"
    );
}
