//! `jumeau kiosk`: the consultation kiosk in a window, or its soak run offscreen.

use super::{DisplayArgs, check_local_inputs, display_setup, open_job, scenario_inputs};
use std::path::PathBuf;

/// `jumeau kiosk`'s options besides the project and the display.
#[derive(Debug, clap::Args)]
pub struct KioskRun {
    /// Runs the soak instead, for this much simulated time (`90s`, `15m`, `1h`, `24h`).
    #[arg(long, value_parser = parse_duration)]
    pub soak: Option<f64>,
    /// Without a window (the soak renders offscreen).
    #[arg(long)]
    pub headless: bool,
    /// Where the soak writes its report (JSON); default: printed.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Simulated seconds per soak frame.
    #[arg(long, default_value_t = 1.0)]
    pub step: f64,
    /// Seeds the soak's visitors (the same seed, the same run).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The soak's frame size.
    #[arg(long, default_value = "320x180", value_parser = parse_size)]
    pub size: (u32, u32),
    /// The soak's journal (default: beside the report, `<report>.opinions.jsonl`). A
    /// soak never writes to the consultation's journal.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// The kiosk's first language (a button switches).
    #[arg(long, value_parser = crate::front::embed::Lang::parse, default_value = "fr")]
    pub lang: crate::front::embed::Lang,
}

/// The kiosk of a project, in a window or (`--soak`) offscreen on a simulated clock.
pub(super) fn run_kiosk(
    project: &std::path::Path,
    run: KioskRun,
    display: &DisplayArgs,
) -> Result<(), Box<dyn std::error::Error>> {
    use crate::front::kiosk::Kiosk;
    use crate::scenario::consultation::Journal;
    let mut named = scenario_inputs(vec![project.display().to_string()])?;
    let spec = named
        .project
        .as_ref()
        .and_then(|(file, _)| file.kiosk.clone())
        .unwrap_or_default();
    let mut setup = named.setup(display_setup(display, None)?);
    let (inputs, scenarios) = (named.inputs, named.scenarios);
    check_local_inputs(&inputs)?;
    if run.soak.is_some() && !run.headless {
        return Err("--soak renders offscreen: add --headless".into());
    }
    if run.soak.is_none() && (run.headless || !crate::front::app::display_available()) {
        return Err(
            "the kiosk needs a display: without one, `--soak DURATION --headless` runs its soak"
                .into(),
        );
    }
    let opened = open_job(&inputs, display)(&indicatif::ProgressBar::new(0))?;
    for warning in setup.add(opened) {
        eprintln!("warning: {warning}");
    }
    let Some(seconds) = run.soak else {
        let base = project.parent().map(PathBuf::from).unwrap_or_default();
        let journal = match &spec.journal {
            Some(j) => base.join(j),
            None => project.with_extension("opinions.jsonl"),
        };
        let sink = Journal::open(&journal)?;
        eprintln!("opinions go to {}", journal.display());
        let kiosk = Kiosk::new(spec, Box::new(sink), run.lang, random_seed());
        crate::front::app::run_kiosk(setup, scenarios, kiosk);
        return Ok(());
    };
    if !(run.step > 0.0 && run.step <= 60.0) {
        return Err(format!("--step {}: give 0–60 simulated seconds a frame", run.step).into());
    }
    let journal = run.journal.unwrap_or_else(|| match &run.report {
        Some(r) => r.with_extension("opinions.jsonl"),
        None => {
            std::env::temp_dir().join(format!("jumeau-soak-{}.opinions.jsonl", std::process::id()))
        }
    });
    // A soak starts its journal afresh: its counts are compared with what it holds.
    if journal.exists() {
        std::fs::remove_file(&journal).map_err(|e| format!("{}: {e}", journal.display()))?;
    }
    let kiosk = Kiosk::new(spec, Box::new(Journal::open(&journal)?), run.lang, run.seed);
    let options = crate::front::soak::SoakOptions {
        seconds,
        step: run.step,
        width: run.size.0,
        height: run.size.1,
        seed: run.seed,
        journal,
    };
    let report = crate::front::soak::soak(setup, scenarios, kiosk, &options)?;
    let text = serde_json::to_string_pretty(&report)?;
    match &run.report {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => println!("{text}"),
    }
    let m = &report.memory;
    eprintln!(
        "soak: {:.0} simulated s in {} frames ({:.0} s), {} visits, {} resets ({} off the start state), {} opinions kept ({} in the journal), memory {} → {} KiB after warm-up → {} KiB ({:+.2} %), peak {} KiB",
        report.simulated_seconds,
        report.frames,
        report.wall_seconds,
        report.kiosk.visits,
        report.kiosk.resets,
        report.kiosk.resets_off_start,
        report.kiosk.opinions,
        report.opinions_in_journal,
        m.start_kib,
        m.after_warmup_kib,
        m.end_kib,
        m.growth_after_warmup_percent,
        m.peak_kib
    );
    Ok(())
}

/// A seed for the visits' random numbers.
fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    // Without randomness the time is seed enough: visit numbers only tell visits apart.
    if getrandom::fill(&mut bytes).is_err() {
        return crate::front::kiosk::unix_seconds().to_bits();
    }
    u64::from_le_bytes(bytes)
}

/// Parses `90s`, `15m`, `1h`, `24h`, `1.5h` or plain seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len()));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a duration such as 90s, 15m, 1h or 24h"))?;
    let factor = match unit {
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("`{text}`: the unit is s, m, h or d")),
    };
    if !(value > 0.0 && value.is_finite()) {
        return Err(format!("`{text}`: a duration is more than 0"));
    }
    Ok(value * factor)
}

/// Parses `WIDTHxHEIGHT`.
pub(super) fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("`{text}`: expected WIDTHxHEIGHT, e.g. 320x180"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| (16..=8192).contains(&n))
            .ok_or_else(|| format!("`{text}`: each side is 16–8192 pixels"))
    };
    Ok((parse(w)?, parse(h)?))
}
