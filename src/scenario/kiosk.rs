//! The consultation kiosk's rules (pure): what a project's `[kiosk]` says (idle time,
//! warning, alternatives, the opinion scale, the staff PIN's hash, where opinions go) and the
//! session a visitor goes through: the attract loop until a touch, the visit, the idle warning
//! with its countdown that a tap extends (at least [`MIN_EXTENSIONS`] times, WCAG 2.2.1), and
//! the reset that ends the visit. One opinion per alternative per visit.
//!
//! The clock is the caller's (seconds, any origin): the viewer gives real time, the soak run a
//! simulated one.

use super::project::LayerSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Seconds without a touch before the warning, unless the project says otherwise.
pub const DEFAULT_IDLE_SECONDS: f64 = 90.0;
/// The warning's countdown is at least this long (WCAG 2.2.1 asks for 20 s).
pub const MIN_WARNING_SECONDS: f64 = 20.0;
/// A tap extends the visit at least this many times (WCAG 2.2.1).
pub const MIN_EXTENSIONS: u32 = 10;
/// The smallest side of a touch target, in logical pixels (WCAG 2.5.5).
pub const MIN_TARGET_PX: f32 = 44.0;
/// The id of the alternative that shows the territory as it is (no scenario).
pub const TODAY: &str = "today";

/// A project's `[kiosk]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskSpec {
    /// Seconds without a touch before the warning.
    #[serde(default = "default_idle")]
    pub idle_seconds: f64,
    /// The warning's countdown, seconds (at least 20).
    #[serde(default = "default_warning")]
    pub warning_seconds: f64,
    /// How many times a tap on the warning extends the visit (at least 10).
    #[serde(default = "default_extensions")]
    pub extensions: u32,
    /// How opinions are given.
    #[serde(default)]
    pub opinion: OpinionScale,
    /// The alternatives shown as big buttons, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
    /// The staff's PIN, hashed (`jumeau kiosk pin` makes the line); without it the kiosk
    /// cannot be left from the screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_hash: Option<String>,
    /// Where the desktop kiosk appends opinions, relative to the project file (default:
    /// `<project>.opinions.jsonl` beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// Where the page POSTs opinions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_url: Option<String>,
    /// The longest comment, in characters.
    #[serde(default = "default_comment_chars")]
    pub comment_max_chars: usize,
}

fn default_idle() -> f64 {
    DEFAULT_IDLE_SECONDS
}
fn default_warning() -> f64 {
    30.0
}
fn default_extensions() -> u32 {
    MIN_EXTENSIONS
}
fn default_comment_chars() -> usize {
    280
}

impl Default for KioskSpec {
    fn default() -> Self {
        Self {
            idle_seconds: default_idle(),
            warning_seconds: default_warning(),
            extensions: default_extensions(),
            opinion: OpinionScale::default(),
            alternatives: Vec::new(),
            pin_hash: None,
            journal: None,
            consultation_url: None,
            comment_max_chars: default_comment_chars(),
        }
    }
}

/// A 1–5 scale, or agree / disagree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpinionScale {
    #[default]
    Scale,
    Agree,
}

impl OpinionScale {
    /// The values a visitor can give, in the order the buttons show them.
    pub fn values(self) -> &'static [u8] {
        match self {
            OpinionScale::Scale => &[1, 2, 3, 4, 5],
            OpinionScale::Agree => &[1, 0],
        }
    }
}

/// One alternative: the territory as it is, or a scenario, with the layers it shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// The button's text ("Aujourd'hui", "Projet A").
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caption: String,
    /// The scenario it shows (an id of the file's `[[scenarios]]`); none: the territory today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Layer states it sets (a project's building model shown, today's hidden).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerSpec>,
}

impl Alternative {
    /// The id its opinions carry: its scenario, or `today`.
    pub fn id(&self) -> &str {
        self.scenario.as_deref().unwrap_or(TODAY)
    }
}

impl KioskSpec {
    /// What is wrong with it, naming the key; `scenarios` are the file's scenario ids.
    pub fn check(&self, scenarios: &[&str]) -> Result<(), String> {
        if !(self.idle_seconds.is_finite() && self.idle_seconds >= 5.0) {
            return Err(format!(
                "kiosk.idle_seconds: {} is too short (at least 5 s)",
                self.idle_seconds
            ));
        }
        if !(self.warning_seconds.is_finite() && self.warning_seconds >= MIN_WARNING_SECONDS) {
            return Err(format!(
                "kiosk.warning_seconds: {} is too short: the warning gives at least {MIN_WARNING_SECONDS} s to answer (WCAG 2.2.1)",
                self.warning_seconds
            ));
        }
        if self.extensions < MIN_EXTENSIONS {
            return Err(format!(
                "kiosk.extensions: {} is too few: a tap extends at least {MIN_EXTENSIONS} times (WCAG 2.2.1)",
                self.extensions
            ));
        }
        if self.comment_max_chars == 0 {
            return Err("kiosk.comment_max_chars: must be at least 1".into());
        }
        let mut ids = BTreeSet::new();
        for (i, a) in self.alternatives.iter().enumerate() {
            if a.name.trim().is_empty() {
                return Err(format!(
                    "kiosk.alternatives[{i}]: an alternative needs a name"
                ));
            }
            if let Some(s) = &a.scenario
                && !scenarios.contains(&s.as_str())
            {
                return Err(format!(
                    "kiosk.alternatives[{i}] ({}): `{s}` is not a scenario of the file (it has {})",
                    a.name,
                    if scenarios.is_empty() {
                        "none".to_owned()
                    } else {
                        scenarios.join(", ")
                    }
                ));
            }
            if !ids.insert(a.id()) {
                return Err(format!(
                    "kiosk.alternatives[{i}] ({}): another alternative already shows `{}`",
                    a.name,
                    a.id()
                ));
            }
        }
        if let Some(hash) = &self.pin_hash {
            check_pin_hash(hash).map_err(|e| format!("kiosk.pin_hash: {e}"))?;
        }
        if let Some(url) = &self.consultation_url
            && !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
        {
            return Err(format!(
                "kiosk.consultation_url: `{url}` is not an http(s) address or a path of the page's server"
            ));
        }
        Ok(())
    }

    pub fn timing(&self) -> Timing {
        Timing {
            idle: self.idle_seconds,
            warning: self.warning_seconds,
            extensions: self.extensions,
        }
    }
}

/// The hash `jumeau kiosk pin` writes: Argon2id with a random salt, as a PHC string.
#[cfg(not(target_arch = "wasm32"))]
pub fn hash_pin(pin: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if pin.len() < 4 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err("a PIN is at least 4 digits".into());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `pin` is the PIN of `hash`.
pub fn pin_matches(hash: &str, pin: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

fn check_pin_hash(hash: &str) -> Result<(), String> {
    if hash.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            "this looks like a PIN in clear: store its hash (`jumeau kiosk pin` prints the line)"
                .into(),
        );
    }
    let parsed = argon2::password_hash::PasswordHash::new(hash)
        .map_err(|e| format!("not a PHC hash string ({e}): `jumeau kiosk pin` prints one"))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "`{}` is not an Argon2 hash (`jumeau kiosk pin` prints one)",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// The idle rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub idle: f64,
    pub warning: f64,
    pub extensions: u32,
}

/// Where the kiosk is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Phase {
    /// Nobody there: the tour plays, "Touchez pour commencer".
    Attract,
    /// A visit.
    Active,
    /// The idle warning; the visit ends at `ends_at` unless a tap extends it.
    Warning { ends_at: f64 },
}

/// What a touch or the clock changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A touch on the attract loop started a visit.
    VisitStarted,
    /// A tap on the warning extended the visit.
    Extended,
    /// The idle time ran out: the countdown shows.
    Warned,
    /// The countdown ran out: back to the start state and the attract loop.
    Reset,
}

/// The visitor's session.
#[derive(Clone, Debug)]
pub struct Session {
    pub timing: Timing,
    pub phase: Phase,
    last_activity: f64,
    /// Taps that extended this visit.
    pub extensions_used: u32,
    /// This visit's random number (0 on the attract loop).
    pub visit: u64,
    /// Alternatives given an opinion in this visit.
    given: BTreeSet<String>,
    random: crate::spatial::random::SplitMix64,
}

impl Session {
    /// On the attract loop; `seed` draws the visits' numbers.
    pub fn new(timing: Timing, seed: u64) -> Self {
        Self {
            timing,
            phase: Phase::Attract,
            last_activity: 0.0,
            extensions_used: 0,
            visit: 0,
            given: BTreeSet::new(),
            random: crate::spatial::random::SplitMix64(seed),
        }
    }

    /// A touch at `now`.
    pub fn touch(&mut self, now: f64) -> Option<Change> {
        self.last_activity = now;
        match self.phase {
            Phase::Attract => {
                self.phase = Phase::Active;
                // 53 bits: the number stays exact in JavaScript (the page, a JSON server).
                self.visit = (self.random.next_u64() >> 11).max(1);
                Some(Change::VisitStarted)
            }
            Phase::Active => None,
            Phase::Warning { .. } if self.extensions_used < self.timing.extensions => {
                self.extensions_used += 1;
                self.phase = Phase::Active;
                Some(Change::Extended)
            }
            // No extension left: the countdown goes on.
            Phase::Warning { .. } => None,
        }
    }

    /// The clock at `now`: the warning when idle long enough, the reset when it runs out.
    pub fn tick(&mut self, now: f64) -> Option<Change> {
        match self.phase {
            Phase::Active if now - self.last_activity >= self.timing.idle => {
                self.phase = Phase::Warning {
                    ends_at: now + self.timing.warning,
                };
                Some(Change::Warned)
            }
            Phase::Warning { ends_at } if now >= ends_at => {
                self.phase = Phase::Attract;
                self.visit = 0;
                self.extensions_used = 0;
                self.given.clear();
                Some(Change::Reset)
            }
            _ => None,
        }
    }

    /// Seconds left on the warning's countdown.
    pub fn seconds_left(&self, now: f64) -> Option<f64> {
        match self.phase {
            Phase::Warning { ends_at } => Some((ends_at - now).max(0.0)),
            _ => None,
        }
    }

    pub fn extensions_left(&self) -> u32 {
        self.timing.extensions.saturating_sub(self.extensions_used)
    }

    /// Whether this visit may still give an opinion on `alternative`.
    pub fn may_give(&self, alternative: &str) -> bool {
        self.phase != Phase::Attract && !self.given.contains(alternative)
    }

    /// Notes that this visit gave its opinion on `alternative` (after it was written); the
    /// visit's number, or why not.
    pub fn gave(&mut self, alternative: &str) -> Result<u64, String> {
        if self.phase == Phase::Attract {
            return Err("no visit is going on".into());
        }
        if !self.given.insert(alternative.to_owned()) {
            return Err(format!(
                "this visit already gave its opinion on `{alternative}`"
            ));
        }
        Ok(self.visit)
    }
}

/// A hash of a state that is the same in every run (FNV-1a over its JSON): the kiosk compares
/// its state after a reset with its state at start.
pub fn state_hash(state: &impl Serialize) -> u64 {
    let text = serde_json::to_string(state).unwrap_or_default();
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        KioskSpec::default().timing()
    }

    #[test]
    fn a_visit_warns_after_the_idle_time_and_resets_after_the_countdown() {
        let mut s = Session::new(timing(), 7);
        assert_eq!(s.tick(1000.0), None, "the attract loop waits");
        assert_eq!(s.touch(10.0), Some(Change::VisitStarted));
        let visit = s.visit;
        assert_ne!(visit, 0);
        assert!(visit < 1 << 53, "exact as a JavaScript number");
        assert_eq!(s.tick(99.9), None, "89.9 s idle is not yet 90");
        assert_eq!(s.tick(100.0), Some(Change::Warned));
        assert_eq!(s.seconds_left(110.0), Some(20.0));
        assert_eq!(s.tick(129.9), None);
        assert_eq!(s.tick(130.0), Some(Change::Reset));
        assert_eq!(s.phase, Phase::Attract);
        assert_eq!(s.visit, 0);
        assert_eq!(s.touch(200.0), Some(Change::VisitStarted));
        assert_ne!(s.visit, visit, "a new visit, a new number");
    }

    #[test]
    fn touches_keep_a_visit_going_and_a_tap_extends_it_at_least_ten_times() {
        let mut s = Session::new(timing(), 1);
        s.touch(0.0);
        // Touching every minute: never warned.
        for minute in 1..60 {
            assert_eq!(s.tick(f64::from(minute) * 60.0), None);
            s.touch(f64::from(minute) * 60.0);
        }
        let mut now = 3600.0;
        for n in 1..=MIN_EXTENSIONS {
            now += 90.0;
            assert_eq!(s.tick(now), Some(Change::Warned));
            now += 19.0;
            assert_eq!(s.touch(now), Some(Change::Extended), "extension {n}");
            assert_eq!(s.extensions_left(), MIN_EXTENSIONS - n);
        }
        now += 90.0;
        assert_eq!(s.tick(now), Some(Change::Warned));
        assert_eq!(s.touch(now + 1.0), None, "no extension left");
        assert_eq!(s.tick(now + 30.0), Some(Change::Reset));
        assert_eq!(
            s.extensions_left(),
            MIN_EXTENSIONS,
            "a new visit has them all"
        );
    }

    #[test]
    fn one_opinion_per_alternative_per_visit() {
        let mut s = Session::new(timing(), 3);
        assert!(!s.may_give("today"), "nobody is there");
        assert!(s.gave("today").is_err());
        s.touch(0.0);
        assert!(s.may_give("today"));
        let visit = s.gave("today").unwrap();
        assert_eq!(visit, s.visit);
        assert!(!s.may_give("today"));
        let err = s.gave("today").unwrap_err();
        assert!(err.contains("already gave"), "{err}");
        assert!(s.may_give("projet-a"));
        s.tick(90.0);
        s.tick(120.0);
        s.touch(130.0);
        assert!(s.may_give("today"), "the next visit gives its own");
    }

    #[test]
    fn a_kiosk_refuses_what_would_break_its_promises() {
        let err = |spec: KioskSpec| spec.check(&["crue"]).unwrap_err();
        let e = err(KioskSpec {
            warning_seconds: 10.0,
            ..Default::default()
        });
        assert!(
            e.contains("kiosk.warning_seconds") && e.contains("20"),
            "{e}"
        );
        let e = err(KioskSpec {
            extensions: 3,
            ..Default::default()
        });
        assert!(e.contains("kiosk.extensions"), "{e}");
        let alternative = |scenario: Option<&str>| Alternative {
            name: "Projet".into(),
            caption: String::new(),
            scenario: scenario.map(str::to_owned),
            layers: Vec::new(),
        };
        let e = err(KioskSpec {
            alternatives: vec![alternative(Some("digue"))],
            ..Default::default()
        });
        assert!(
            e.contains("`digue` is not a scenario") && e.contains("crue"),
            "{e}"
        );
        let e = err(KioskSpec {
            alternatives: vec![alternative(None), alternative(None)],
            ..Default::default()
        });
        assert!(e.contains("kiosk.alternatives[1]"), "{e}");
        let e = err(KioskSpec {
            pin_hash: Some("1234".into()),
            ..Default::default()
        });
        assert!(e.contains("in clear"), "{e}");
        let e = err(KioskSpec {
            consultation_url: Some("javascript:alert(1)".into()),
            ..Default::default()
        });
        assert!(e.contains("kiosk.consultation_url"), "{e}");
        KioskSpec {
            alternatives: vec![alternative(None), alternative(Some("crue"))],
            ..Default::default()
        }
        .check(&["crue"])
        .unwrap();
    }

    #[test]
    fn the_pin_is_kept_hashed_and_only_its_pin_matches() {
        let hash = hash_pin("2468").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("2468"));
        assert_ne!(hash, hash_pin("2468").unwrap(), "salted");
        assert!(pin_matches(&hash, "2468"));
        assert!(!pin_matches(&hash, "2469"));
        assert!(!pin_matches("not a hash", "2468"));
        KioskSpec {
            pin_hash: Some(hash),
            ..Default::default()
        }
        .check(&[])
        .unwrap();
        assert!(hash_pin("12").is_err());
    }

    #[test]
    fn the_state_hash_sees_any_change() {
        let a = state_hash(&("projet-a", [1.0, 2.0], false));
        assert_eq!(a, state_hash(&("projet-a", [1.0, 2.0], false)));
        assert_ne!(a, state_hash(&("projet-a", [1.0, 2.000001], false)));
        assert_ne!(a, state_hash(&("projet-a", [1.0, 2.0], true)));
    }
}
