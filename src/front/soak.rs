//! The kiosk's soak run (`jumeau kiosk project.toml --soak 24h --headless`): the kiosk in the
//! offscreen app on a simulated clock, visitors coming and going at random (gestures,
//! chapters, alternatives, the split view, the language, opinions, a second opinion refused,
//! taps on the warning), every step rendered. It reports frames, visits, resets (and any reset
//! whose state hash differs from the start's), opinions kept, and the process's memory at
//! start, after warm-up, at the end and at its peak.

use crate::front::kiosk::{Kiosk, KioskCounts, Request};
use crate::front::twin::ViewerSetup;
use crate::scenario::kiosk::Phase;
use crate::spatial::random::SplitMix64 as Random;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// How the soak runs.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// Simulated seconds to run.
    pub seconds: f64,
    /// Simulated seconds per frame.
    pub step: f64,
    pub width: u32,
    pub height: u32,
    pub seed: u64,
    /// Where the opinions go (a journal of the soak's own, never the consultation's).
    pub journal: PathBuf,
}

/// Memory of the process, KiB (Linux: `/proc/self/status`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Memory {
    pub start_kib: u64,
    /// After the warm-up (a sixth of the run, at most two simulated hours): the baseline of
    /// the growth.
    pub after_warmup_kib: u64,
    pub end_kib: u64,
    pub peak_kib: u64,
    /// (end − after warm-up) / after warm-up, percent.
    pub growth_after_warmup_percent: f64,
    /// (simulated seconds, resident KiB), every simulated quarter hour.
    pub samples: Vec<(f64, u64)>,
}

/// What the soak run did.
#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    pub simulated_seconds: f64,
    pub step_seconds: f64,
    pub frames: u64,
    pub wall_seconds: f64,
    pub touches: u64,
    pub kiosk: KioskCounts,
    /// Lines of the soak's journal read back, and lines it skipped (should be 0).
    pub journal: PathBuf,
    pub opinions_in_journal: usize,
    pub journal_lines_skipped: usize,
    pub start_state_hash: String,
    pub memory: Memory,
}

/// Resident and peak memory of this process, KiB.
pub fn memory_kib() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Whether someone stands at the kiosk, and until when.
enum Visitor {
    Away { until: f64 },
    Here { leaves: f64, next_action: f64 },
}

/// Runs the kiosk of `kiosk` over `setup` for the simulated time of `options`.
pub fn soak(
    setup: ViewerSetup,
    scenarios: Option<crate::scenario::view::ScenarioView>,
    mut kiosk: Kiosk,
    options: &SoakOptions,
) -> Result<SoakReport, crate::Error> {
    let started = Instant::now();
    let mut offscreen =
        crate::front::headless::Offscreen::new(setup, options.width, options.height)?;
    if let Some(view) = scenarios {
        offscreen.app.insert_resource(view.on_main_thread());
    }
    crate::front::kiosk::add_systems(&mut offscreen.app);
    kiosk.simulated = true;
    kiosk.clock = 0.0;
    offscreen.app.insert_resource(kiosk);
    // Let the data open and settle before the clock starts: the start state is then the
    // state the kiosk returns to.
    offscreen.settle(std::time::Duration::from_secs(300));
    let start_hash = offscreen
        .app
        .world()
        .resource::<Kiosk>()
        .start
        .as_ref()
        .map(|s| s.hash)
        .unwrap_or_default();
    let (start_kib, _) = memory_kib();
    let warmup = (options.seconds / 6.0).min(7200.0);
    let mut memory = Memory {
        start_kib,
        ..Default::default()
    };
    let mut random = Random(options.seed);
    let mut visitor = Visitor::Away { until: 30.0 };
    let (mut frames, mut touches) = (0u64, 0u64);
    let mut now = 0.0;
    let mut next_sample = 0.0;
    while now < options.seconds {
        now += options.step;
        let world = offscreen.app.world_mut();
        let mut requests = Vec::new();
        let phase = world.resource::<Kiosk>().session.phase;
        visitor = match visitor {
            Visitor::Away { until } if now >= until => {
                requests.push(Request::Touch);
                Visitor::Here {
                    leaves: now + 20.0 + random.exp(150.0),
                    next_action: now + 1.0,
                }
            }
            Visitor::Here { leaves, .. } if now >= leaves => {
                // The visitor leaves; the warning and the reset follow unless someone taps.
                Visitor::Away {
                    until: now + random.exp(240.0),
                }
            }
            Visitor::Here {
                leaves,
                next_action,
            } if now >= next_action => {
                requests.extend(action(world, &mut random, phase));
                Visitor::Here {
                    leaves,
                    next_action: now + 1.0 + random.exp(6.0),
                }
            }
            other => other,
        };
        // Someone passing by taps the warning now and then: the visit is extended.
        if let (Phase::Warning { .. }, Visitor::Away { .. }) = (phase, &visitor)
            && random.unit() < 0.01
        {
            requests.push(Request::Touch);
        }
        touches += requests.len() as u64;
        {
            let mut kiosk = world.resource_mut::<Kiosk>();
            kiosk.clock = now;
            kiosk.requests.extend(requests);
        }
        offscreen.update();
        frames += 1;
        if now >= next_sample {
            let (rss, _) = memory_kib();
            memory.samples.push((now, rss));
            next_sample += 900.0;
        }
        if memory.after_warmup_kib == 0 && now >= warmup {
            memory.after_warmup_kib = memory_kib().0;
        }
    }
    let (end_kib, peak_kib) = memory_kib();
    memory.end_kib = end_kib;
    memory.peak_kib = peak_kib;
    if memory.after_warmup_kib > 0 {
        memory.growth_after_warmup_percent = (end_kib as f64 - memory.after_warmup_kib as f64)
            / memory.after_warmup_kib as f64
            * 100.0;
    }
    let counts = offscreen.app.world().resource::<Kiosk>().counts.clone();
    // Close the journal before reading it back.
    offscreen.app.world_mut().remove_resource::<Kiosk>();
    let journal = crate::scenario::consultation::read_journal(&options.journal)?;
    Ok(SoakReport {
        simulated_seconds: now,
        step_seconds: options.step,
        frames,
        wall_seconds: started.elapsed().as_secs_f64(),
        touches,
        kiosk: counts,
        journal: options.journal.clone(),
        opinions_in_journal: journal.opinions.len(),
        journal_lines_skipped: journal.skipped.len(),
        start_state_hash: format!("{start_hash:016x}"),
        memory,
    })
}

/// A visitor's next action: a gesture, a chapter, an alternative, the split view, the
/// language, or an opinion (sometimes with a comment pinned near the view's focus, sometimes a
/// second one on the same alternative, which the kiosk refuses).
fn action(world: &mut bevy::prelude::World, random: &mut Random, phase: Phase) -> Vec<Request> {
    let kiosk = world.resource::<Kiosk>();
    let alternatives = kiosk.spec.alternatives.len();
    let values = kiosk.spec.opinion.values();
    let value = values[random.below(values.len())];
    let chapters = world
        .get_resource::<crate::front::project::Project>()
        .map_or(0, |p| p.bookmarks.len());
    if phase == Phase::Attract {
        return vec![Request::Touch];
    }
    let roll = random.below(10);
    match roll {
        0..=3 => {
            // A gesture: orbit, pan or zoom the view, as the fingers would.
            let (turn, zoom, pan) = (
                (random.unit() - 0.5) * 0.6,
                0.7 + random.unit() * 0.6,
                (random.unit() - 0.5) * 40.0,
            );
            let mut cameras = world.query::<&mut crate::camera::ViewerCamera>();
            for mut rig in cameras.iter_mut(world) {
                rig.rotate(turn, turn * 0.3);
                rig.zoom(zoom);
                rig.pan(pan, -pan);
            }
            vec![Request::Touch]
        }
        4 if chapters > 0 => vec![Request::Chapter(random.below(chapters))],
        5 if alternatives > 0 => vec![Request::Alternative(random.below(alternatives))],
        6 => vec![Request::Split(random.unit() < 0.5)],
        7 => vec![Request::Lang(if random.unit() < 0.5 {
            crate::front::embed::Lang::En
        } else {
            crate::front::embed::Lang::Fr
        })],
        _ => {
            let focus = world
                .query::<&crate::camera::ViewerCamera>()
                .iter(world)
                .next()
                .map(|r| r.focus.to_array());
            let mut kiosk = world.resource_mut::<Kiosk>();
            kiosk.draft.value = Some(value);
            if random.unit() < 0.3 {
                kiosk.draft.comment = format!("avis {} : à revoir près d'ici", random.below(1000));
                kiosk.draft.at = focus;
            }
            vec![Request::Give]
        }
    }
}
