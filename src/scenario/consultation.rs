//! The opinions of a public consultation (the kiosk's desktop side): an append-only journal of
//! one JSON line per opinion, written and flushed to the disk (`fsync`) before the visitor is
//! thanked, so that a crash or a power cut loses nothing acknowledged; a torn last line (the
//! write a cut interrupted) is detected, skipped and reported. The export gives the planners a
//! CSV or GeoJSON of the opinions and the counts per alternative. No personal data: a visit is
//! a random number, an opinion its alternative, its value, a comment and maybe a place.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal format's version (the `v` of each line).
pub const JOURNAL_VERSION: u32 = 1;

/// One opinion on one alternative.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opinion {
    pub v: u32,
    /// Which visit gave it (random, below 2⁵³, renewed at each idle reset).
    pub visit: u64,
    /// The alternative's id (a scenario id, or `today`).
    pub alternative: String,
    /// 1–5 on a scale, or 1 (agree) / 0 (disagree).
    pub value: u8,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Where the comment is pinned (twin CRS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<[f64; 3]>,
    /// Seconds since 1970 (UTC).
    pub time: u64,
}

/// The journal, open for appending.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
}

impl Journal {
    /// Opens (or creates) the journal at `path`. A last line left torn by a cut is closed
    /// with a line break first, so the next opinion starts a line of its own (the torn one
    /// stays, reported by [`read_journal`]).
    pub fn open(path: &Path) -> Result<Self, String> {
        let name = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(name)?;
        let length = file.metadata().map_err(name)?.len();
        if length > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(length - 1)).map_err(name)?;
            file.read_exact(&mut last).map_err(name)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(name)?;
                file.sync_data().map_err(name)?;
            }
        }
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// Appends `opinion` as one line and waits until the disk has it: when this returns Ok
    /// the opinion survives a crash or a power cut.
    pub fn append(&mut self, opinion: &Opinion) -> Result<(), String> {
        let mut line = serde_json::to_vec(opinion).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// What a journal holds: the opinions of its whole lines, and what was skipped and why.
#[derive(Debug, Default)]
pub struct JournalContent {
    pub opinions: Vec<Opinion>,
    /// "line N: …" for each line that is torn or not an opinion.
    pub skipped: Vec<String>,
}

/// Reads the journal at `path`.
pub fn read_journal(path: &Path) -> Result<JournalContent, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut content = JournalContent::default();
    let mut lines = bytes.split(|&b| b == b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let last = lines.peek().is_none();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Opinion>(line) {
            Ok(opinion) if opinion.v == JOURNAL_VERSION => content.opinions.push(opinion),
            Ok(opinion) => content.skipped.push(format!(
                "line {}: journal version {} (this Jumeau reads {JOURNAL_VERSION})",
                i + 1,
                opinion.v
            )),
            Err(_) if last => content.skipped.push(format!(
                "line {}: torn ({} bytes without a line end: a write was cut), skipped",
                i + 1,
                line.len()
            )),
            Err(e) => content
                .skipped
                .push(format!("line {}: not an opinion ({e}), skipped", i + 1)),
        }
    }
    Ok(content)
}

/// The count of opinions on one alternative, and their mean value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlternativeCount {
    pub alternative: String,
    pub opinions: usize,
    pub mean: f64,
    /// How many gave each value (index = value).
    pub values: Vec<usize>,
    pub comments: usize,
}

/// The counts per alternative, in the order alternatives first appear.
pub fn counts(opinions: &[Opinion]) -> Vec<AlternativeCount> {
    let mut out: Vec<AlternativeCount> = Vec::new();
    for o in opinions {
        let i = match out.iter().position(|c| c.alternative == o.alternative) {
            Some(i) => i,
            None => {
                out.push(AlternativeCount {
                    alternative: o.alternative.clone(),
                    opinions: 0,
                    mean: 0.0,
                    values: vec![0; 6],
                    comments: 0,
                });
                out.len() - 1
            }
        };
        let c = &mut out[i];
        c.opinions += 1;
        c.mean += f64::from(o.value);
        c.values[usize::from(o.value.min(5))] += 1;
        c.comments += usize::from(!o.comment.is_empty());
    }
    for c in &mut out {
        c.mean /= c.opinions.max(1) as f64;
    }
    out
}

/// The opinions as CSV (`visit,alternative,value,comment,x,y,z,time`).
pub fn to_csv(opinions: &[Opinion]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::from("visit,alternative,value,comment,x,y,z,time\n");
    for o in opinions {
        let [x, y, z] =
            o.at.map_or([String::new(), String::new(), String::new()], |p| {
                p.map(|v| format!("{v:.3}"))
            });
        out.push_str(&format!(
            "{},{},{},{},{x},{y},{z},{}\n",
            o.visit,
            quote(&o.alternative),
            o.value,
            quote(&o.comment),
            o.time
        ));
    }
    out
}

/// The opinions as a GeoJSON FeatureCollection (those without a place have no geometry),
/// with the counts per alternative under `counts`.
pub fn to_geojson(opinions: &[Opinion]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = opinions
        .iter()
        .map(|o| {
            serde_json::json!({
                "type": "Feature",
                "geometry": o.at.map(|p| serde_json::json!({"type": "Point", "coordinates": p})),
                "properties": {
                    "visit": o.visit,
                    "alternative": o.alternative,
                    "value": o.value,
                    "comment": o.comment,
                    "time": o.time,
                },
            })
        })
        .collect();
    serde_json::json!({
        "type": "FeatureCollection",
        "features": features,
        "counts": counts(opinions),
    })
}

/// The longest wait between two tries of the page's outbox, milliseconds.
pub const OUTBOX_MAX_WAIT_MS: f64 = 60_000.0;

/// The page's opinions waiting for the consultation server (the kiosk's web side): kept in
/// the browser's storage (as [`Outbox::to_json`]) until the server acknowledges them with a 2xx,
/// sent oldest first, one at a time; after a failure the next try waits 1 s, 2 s, 4 s … up to
/// a minute. A visit's number and the alternative name an opinion: a server that receives one
/// twice (its answer lost on the way) can tell.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    pub pending: Vec<Opinion>,
    #[serde(skip)]
    pub failures: u32,
    /// When the next try may start (the page's clock, ms).
    #[serde(skip)]
    pub next_try_ms: f64,
    #[serde(skip)]
    pub in_flight: bool,
}

impl Outbox {
    /// The outbox kept in storage; a value that is not one is named.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("the stored opinions are unreadable: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn push(&mut self, opinion: Opinion) {
        self.pending.push(opinion);
    }

    /// The opinion to send `now`, if one waits and no try is on its way or waiting.
    pub fn due(&mut self, now_ms: f64) -> Option<Opinion> {
        if self.in_flight || now_ms < self.next_try_ms {
            return None;
        }
        let first = self.pending.first().cloned()?;
        self.in_flight = true;
        Some(first)
    }

    /// The server acknowledged `opinion`: it leaves the outbox.
    pub fn acknowledged(&mut self, opinion: &Opinion) {
        self.in_flight = false;
        self.failures = 0;
        self.next_try_ms = 0.0;
        if let Some(i) = self.pending.iter().position(|o| o == opinion) {
            self.pending.remove(i);
        }
    }

    /// The try failed at `now`: the wait before the next, ms.
    pub fn failed(&mut self, now_ms: f64) -> f64 {
        self.in_flight = false;
        self.failures += 1;
        let wait = (1000.0 * 2f64.powi(self.failures.min(16) as i32 - 1)).min(OUTBOX_MAX_WAIT_MS);
        self.next_try_ms = now_ms + wait;
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opinion(visit: u64, alternative: &str, value: u8) -> Opinion {
        Opinion {
            v: JOURNAL_VERSION,
            visit,
            alternative: alternative.into(),
            value,
            comment: if value == 1 {
                "trop de voitures, \"vraiment\"".into()
            } else {
                String::new()
            },
            at: (value == 5).then_some([652_210.5, 6_862_010.25, 41.75]),
            time: 1_796_000_000 + visit,
        }
    }

    #[test]
    fn the_outbox_sends_oldest_first_backs_off_and_survives_storage() {
        let opinion = |visit: u64| Opinion {
            v: JOURNAL_VERSION,
            visit,
            alternative: "crue".into(),
            value: 3,
            comment: String::new(),
            at: None,
            time: 1_800_000_000,
        };
        let mut outbox = Outbox::default();
        outbox.push(opinion(1));
        outbox.push(opinion(2));
        let first = outbox.due(0.0).unwrap();
        assert_eq!(first.visit, 1);
        assert_eq!(outbox.due(0.0), None, "one try at a time");
        // The server answers 500 again and again: 1 s, 2 s, 4 s … at most a minute.
        let waits: Vec<f64> = (0..9)
            .map(|i| {
                let now = f64::from(i) * 100_000.0;
                if i > 0 {
                    let o = outbox.due(now).unwrap();
                    assert_eq!(o.visit, 1, "the oldest is retried first");
                }
                outbox.failed(now)
            })
            .collect();
        assert_eq!(waits, [1e3, 2e3, 4e3, 8e3, 16e3, 32e3, 60e3, 60e3, 60e3]);
        assert_eq!(outbox.due(800_000.0 + 59_999.0), None, "waiting");
        // A reload: the stored outbox comes back whole, ready to send at once.
        let mut reloaded = Outbox::from_json(&outbox.to_json()).unwrap();
        assert_eq!(reloaded.pending, outbox.pending);
        let o = reloaded.due(0.0).unwrap();
        reloaded.acknowledged(&o);
        assert_eq!(reloaded.due(0.0).unwrap().visit, 2);
        assert!(Outbox::from_json("{").unwrap_err().contains("unreadable"));
    }

    #[test]
    fn a_torn_last_line_is_skipped_reported_and_closed_before_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("avis.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&opinion(1, "projet-a", 4)).unwrap();
        journal.append(&opinion(1, "projet-b", 2)).unwrap();
        drop(journal);
        // A cut in the middle of the third write.
        let third = serde_json::to_vec(&opinion(2, "projet-a", 5)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&third[..third.len() / 2]);
        std::fs::write(&path, &bytes).unwrap();
        let read = read_journal(&path).unwrap();
        assert_eq!(read.opinions.len(), 2);
        assert_eq!(read.skipped.len(), 1);
        assert!(
            read.skipped[0].starts_with("line 3: torn"),
            "{:?}",
            read.skipped
        );
        // The next opinion starts a line of its own; the torn one is now a bad line.
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&opinion(3, "projet-b", 1)).unwrap();
        let read = read_journal(&path).unwrap();
        assert_eq!(read.opinions.len(), 3);
        assert_eq!(read.opinions[2], opinion(3, "projet-b", 1));
        assert!(
            read.skipped[0].starts_with("line 3: not an opinion"),
            "{:?}",
            read.skipped
        );
    }

    #[test]
    fn the_export_counts_each_alternative_and_keeps_comments_and_places() {
        let opinions = [
            opinion(1, "projet-a", 4),
            opinion(1, "projet-b", 1),
            opinion(2, "projet-a", 5),
            opinion(3, "projet-a", 3),
        ];
        let c = counts(&opinions);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].alternative.as_str(), c[0].opinions), ("projet-a", 3));
        assert!((c[0].mean - 4.0).abs() < 1e-12);
        assert_eq!(c[0].values, [0, 0, 0, 1, 1, 1]);
        assert_eq!((c[1].opinions, c[1].comments), (1, 1));
        let csv = to_csv(&opinions);
        assert_eq!(csv.lines().count(), 5);
        assert!(csv.contains(r#""trop de voitures, ""vraiment""""#), "{csv}");
        assert!(csv.contains("652210.500,6862010.250,41.750"));
        let geojson = to_geojson(&opinions);
        assert_eq!(geojson["features"].as_array().unwrap().len(), 4);
        assert_eq!(geojson["features"][2]["geometry"]["type"], "Point");
        assert!(geojson["features"][0]["geometry"].is_null());
        assert_eq!(geojson["counts"][0]["opinions"], 3);
    }
}
