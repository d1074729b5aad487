//! Fibre roll-out (pure): the buildings a network file lists, from when each is (or is
//! planned to be) served, the share served at the end of each quarter, build phases moved to
//! another date (what if phase 2027 came in 2026), and each building painted on the terrain
//! grid with its date so that the viewer's time-lapse is a threshold.
//!
//! A building is served from its in-service date, whatever its recorded status: the dates
//! of planned buildings make the curve a projection. A lit building without a date is served
//! from the start; any other building without a date is never served.

use super::buildings::Building;
use crate::network::model::{Day, Site, SiteKind, Status};
use crate::terrain::{Grid, Raster};
use bevy::math::DVec2;
use std::collections::BTreeMap;

/// Attributes naming a building's build phase, tried in order (English, then the French
/// words of FTTH deployment files); without one, a building's phase is its in-service year.
pub const PHASE_ATTRIBUTES: [&str; 4] = ["phase", "lot", "tranche", "phase_deploiement"];
/// Radius of the disc painted for a building that no building of the terrain holds, metres.
pub const DISC_RADIUS_M: f64 = 3.0;
/// Most quarters a timeline spans (a century); older dates fold into its first quarter.
pub const MAX_QUARTERS: i32 = 400;

/// A building to serve.
#[derive(Clone, Debug, PartialEq)]
pub struct Premise {
    pub id: String,
    /// Twin CRS.
    pub position: DVec2,
    /// As recorded in the network file.
    pub status: Status,
    pub in_service: Option<Day>,
    /// Its build phase: an attribute of [`PHASE_ATTRIBUTES`], else its in-service year, else
    /// `none`.
    pub phase: String,
}

impl Premise {
    /// The first day it is served: its in-service date; `Day(i32::MIN)` for a lit building
    /// without a date; `None` for any other building without one.
    pub fn served_from(&self) -> Option<Day> {
        self.in_service
            .or((self.status == Status::Lit).then_some(Day(i32::MIN)))
    }

    /// Whether it is served on `day`.
    pub fn served_on(&self, day: Day) -> bool {
        self.served_from().is_some_and(|d| d <= day)
    }
}

/// The buildings of network file `name`'s sites; an error naming the file when it has none.
pub fn premises_of(name: &str, sites: &[Site]) -> Result<Vec<Premise>, String> {
    let premises: Vec<Premise> = sites
        .iter()
        .filter(|s| s.kind == SiteKind::Building)
        .map(|s| {
            let attribute = PHASE_ATTRIBUTES.iter().find_map(|k| {
                s.properties.iter().find_map(|(key, v)| {
                    (key.eq_ignore_ascii_case(k)).then(|| match v {
                        serde_json::Value::String(text) => text.trim().to_owned(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    })
                })
            });
            let phase = attribute
                .filter(|p| !p.is_empty())
                .or_else(|| s.in_service.map(|d| d.ymd().0.to_string()))
                .unwrap_or_else(|| "none".into());
            Premise {
                id: s.id.clone(),
                position: s.position.truncate(),
                status: s.status.clone(),
                in_service: s.in_service,
                phase,
            }
        })
        .collect();
    if premises.is_empty() {
        return Err(format!(
            "`{name}` lists no building (kind = building, batiment or immeuble): a roll-out counts the buildings served"
        ));
    }
    Ok(premises)
}

/// The phases of `premises`, sorted, each once.
pub fn phases(premises: &[Premise]) -> Vec<String> {
    let mut phases: Vec<String> = premises.iter().map(|p| p.phase.clone()).collect();
    phases.sort_unstable();
    phases.dedup();
    phases
}

/// Moves every building of each phase of `moves` to its new in-service date; returns how many
/// moved. A phase no building has is an error naming the phases there are.
pub fn move_phases(premises: &mut [Premise], moves: &[(String, Day)]) -> Result<usize, String> {
    let known = phases(premises);
    let mut moved = 0;
    for (phase, day) in moves {
        if !known.contains(phase) {
            return Err(format!(
                "move_phase: no building is in phase `{phase}` (phases: {})",
                known.join(", ")
            ));
        }
        for p in premises.iter_mut().filter(|p| &p.phase == phase) {
            p.in_service = Some(*day);
            moved += 1;
        }
    }
    Ok(moved)
}

/// Buildings served at the end of one quarter.
#[derive(Clone, Debug, PartialEq)]
pub struct QuarterShare {
    /// `2026-Q1`.
    pub label: String,
    /// Its last day.
    pub end: Day,
    pub served: usize,
    pub total: usize,
}

impl QuarterShare {
    /// Share of the buildings served, 0 to 1.
    pub fn share(&self) -> f64 {
        self.served as f64 / self.total.max(1) as f64
    }
}

/// (year, quarter 1–4) of `day`.
pub fn quarter_of(day: Day) -> (i32, i32) {
    let (y, m, _) = day.ymd();
    (y, (m - 1) / 3 + 1)
}

/// The last day of quarter `q` (1–4) of `year`.
pub fn quarter_end(year: i32, q: i32) -> Day {
    let first_of_next = if q == 4 {
        Day::from_ymd(year + 1, 1, 1)
    } else {
        Day::from_ymd(year, q * 3 + 1, 1)
    };
    Day(first_of_next.map_or(0, |d| d.0) - 1)
}

/// `day` as a year with its fraction (2026-07-02 is about 2026.5), for plots.
pub fn decimal_year(day: Day) -> f64 {
    let (year, _, _) = day.ymd();
    let start = Day::from_ymd(year, 1, 1).map_or(day.0, |d| d.0);
    let end = Day::from_ymd(year + 1, 1, 1).map_or(start + 365, |d| d.0);
    f64::from(year) + f64::from(day.0 - start) / f64::from(end - start)
}

/// The share served at the end of every quarter from the first dated building's to the last
/// one's (or `until`'s, when later), at most [`MAX_QUARTERS`]: one sort, then a binary search
/// per quarter.
pub fn timeline(premises: &[Premise], until: Option<Day>) -> Vec<QuarterShare> {
    let mut days: Vec<i32> = premises
        .iter()
        .filter_map(|p| p.served_from().map(|d| d.0))
        .collect();
    days.sort_unstable();
    let dated = || days.iter().copied().filter(|&d| d != i32::MIN);
    let (Some(first), Some(last)) = (
        dated().next().or(until.map(|d| d.0)),
        dated().next_back().max(until.map(|d| d.0)),
    ) else {
        return Vec::new();
    };
    let index = |day: i32| {
        let (y, q) = quarter_of(Day(day));
        y * 4 + q - 1
    };
    let (last_q, first_q) = (index(last), index(first));
    let first_q = first_q.max(last_q - (MAX_QUARTERS - 1));
    (first_q..=last_q)
        .map(|k| {
            let (year, q) = (k.div_euclid(4), k.rem_euclid(4) + 1);
            let end = quarter_end(year, q);
            QuarterShare {
                label: format!("{year}-Q{q}"),
                end,
                served: days.partition_point(|&d| d <= end.0),
                total: premises.len(),
            }
        })
        .collect()
}

/// Buildings served on `day`, one test per building (the timeline's check, and its baseline
/// in `jumeau bench scenario`).
pub fn served_count(premises: &[Premise], day: Day) -> usize {
    premises.iter().filter(|p| p.served_on(day)).count()
}

/// Where the buildings stand on a terrain grid: each cell of a building of the terrain that
/// holds one, or a disc of [`DISC_RADIUS_M`] where none does, holds the day its earliest
/// building is served from (`−∞`: from the start; `+∞`: never); NaN elsewhere.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub dates: Raster,
    pub quarters: Vec<QuarterShare>,
    /// The day the scenario's map shows.
    pub at: Day,
    /// Per building of the terrain: the day it is served from, as in `dates` (NaN: no
    /// building of the network stands in it).
    pub building_days: Vec<f32>,
    /// Buildings of the network outside the terrain.
    pub outside: usize,
    /// The network's buildings, phases moved.
    pub premises: Vec<Premise>,
}

/// A day as a raster value: −∞ from the start, +∞ never.
fn day_value(day: Option<Day>) -> f32 {
    match day {
        None => f32::INFINITY,
        Some(Day(i32::MIN)) => f32::NEG_INFINITY,
        Some(Day(d)) => d as f32,
    }
}

impl Timeline {
    /// The timeline of `premises` on `grid`, whose terrain buildings are `buildings`.
    pub fn new(premises: &[Premise], grid: Grid, buildings: &[Building], at: Day) -> Self {
        let mut owner = vec![u32::MAX; grid.len()];
        for (k, b) in buildings.iter().enumerate() {
            for &c in &b.cells {
                owner[c] = k as u32;
            }
        }
        let mut dates = Raster::filled(grid, f32::NAN);
        let mut building_days = vec![f32::NAN; buildings.len()];
        let mut outside = 0;
        let earliest = |old: f32, new: f32| if old.is_nan() { new } else { old.min(new) };
        let reach = (DISC_RADIUS_M / grid.cell_m).ceil() as i64;
        for p in premises {
            let value = day_value(p.served_from());
            let Some((col, row)) = grid.cell_of(p.position) else {
                outside += 1;
                continue;
            };
            match owner[grid.index(col, row)] {
                u32::MAX => {
                    for dr in -reach..=reach {
                        for dc in -reach..=reach {
                            let (c, r) = (col as i64 + dc, row as i64 + dr);
                            if c < 0 || r < 0 || c >= grid.cols as i64 || r >= grid.rows as i64 {
                                continue;
                            }
                            let centre = grid.center(c as usize, r as usize);
                            if centre.distance(p.position) <= DISC_RADIUS_M {
                                let i = grid.index(c as usize, r as usize);
                                dates.values[i] = earliest(dates.values[i], value);
                            }
                        }
                    }
                }
                k => {
                    let k = k as usize;
                    building_days[k] = earliest(building_days[k], value);
                }
            }
        }
        for (b, &day) in buildings.iter().zip(&building_days) {
            if !day.is_nan() {
                for &c in &b.cells {
                    dates.values[c] = earliest(dates.values[c], day);
                }
            }
        }
        Self {
            dates,
            quarters: timeline(premises, Some(at)),
            at,
            building_days,
            outside,
            premises: premises.to_vec(),
        }
    }

    /// 1 where served on `day`, 0 where not yet, NaN where no building stands.
    pub fn served_on(&self, day: Day) -> Raster {
        let mut out = Raster::filled(self.dates.grid, f32::NAN);
        for (o, &v) in out.values.iter_mut().zip(&self.dates.values) {
            if !v.is_nan() {
                *o = if v <= day.0 as f32 { 1.0 } else { 0.0 };
            }
        }
        out
    }
}

/// Counts by recorded status: planned, built, lit, other.
pub fn status_counts(premises: &[Premise]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::from([("planned", 0), ("built", 0), ("lit", 0), ("other", 0)]);
    for p in premises {
        let key = match p.status {
            Status::Planned => "planned",
            Status::Built => "built",
            Status::Lit => "lit",
            Status::Unknown(_) => "other",
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// The timeline as CSV: quarter, last day, buildings served, buildings, share.
pub fn timeline_csv(quarters: &[QuarterShare]) -> String {
    let mut out = String::from("quarter,end,served,buildings,share\n");
    for q in quarters {
        out.push_str(&format!(
            "{},{},{},{},{:.4}\n",
            q.label,
            q.end,
            q.served,
            q.total,
            q.share()
        ));
    }
    out
}

/// The buildings as CSV: id, x, y, recorded status, phase, in-service date, served on `at`.
pub fn premises_csv(premises: &[Premise], at: Day) -> String {
    let mut out = String::from("id,x,y,status,phase,in_service,served\n");
    for p in premises {
        let status = match &p.status {
            Status::Planned => "planned",
            Status::Built => "built",
            Status::Lit => "lit",
            Status::Unknown(s) => s.as_str(),
        };
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        out.push_str(&format!(
            "{},{:.2},{:.2},{},{},{},{}\n",
            quote(&p.id),
            p.position.x,
            p.position.y,
            quote(status),
            quote(&p.phase),
            p.in_service.map(|d| d.to_string()).unwrap_or_default(),
            u8::from(p.served_on(at)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    fn premise(id: &str, status: Status, date: Option<&str>) -> Premise {
        let in_service = date.map(day);
        Premise {
            id: id.into(),
            position: DVec2::ZERO,
            status,
            in_service,
            phase: in_service.map_or("none".into(), |d| d.ymd().0.to_string()),
        }
    }

    /// Eight buildings whose shares are counted by hand below.
    fn town() -> Vec<Premise> {
        vec![
            premise("a", Status::Lit, Some("2024-02-10")),
            premise("b", Status::Lit, Some("2024-03-31")),
            premise("c", Status::Lit, Some("2024-04-01")),
            premise("d", Status::Lit, None),
            premise("e", Status::Built, Some("2025-01-15")),
            premise("f", Status::Planned, Some("2025-12-01")),
            premise("g", Status::Planned, Some("2025-12-31")),
            premise("h", Status::Planned, None),
        ]
    }

    #[test]
    fn quarter_shares_match_hand_counts() {
        let quarters = timeline(&town(), None);
        let rows: Vec<(&str, usize)> = quarters
            .iter()
            .map(|q| (q.label.as_str(), q.served))
            .collect();
        // d (lit, no date) counts from the start; h never; the end of a quarter is inclusive.
        assert_eq!(
            rows,
            [
                ("2024-Q1", 3),
                ("2024-Q2", 4),
                ("2024-Q3", 4),
                ("2024-Q4", 4),
                ("2025-Q1", 5),
                ("2025-Q2", 5),
                ("2025-Q3", 5),
                ("2025-Q4", 7),
            ]
        );
        assert!(quarters.iter().all(|q| q.total == 8));
        assert_eq!(quarters[0].end, day("2024-03-31"));
        assert_eq!(quarters[7].end, day("2025-12-31"));
        assert!((quarters[7].share() - 7.0 / 8.0).abs() < 1e-12);
        // A later `until` extends the curve flat.
        let longer = timeline(&town(), Some(day("2026-05-01")));
        assert_eq!(longer.len(), 10);
        assert_eq!(longer.last().unwrap().served, 7);
    }

    #[test]
    fn the_timeline_agrees_with_a_count_per_quarter() {
        // Pseudo-random dates over twenty years.
        let premises: Vec<Premise> = (0..5000u64)
            .map(|i| {
                let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
                let status =
                    [Status::Planned, Status::Built, Status::Lit][(h % 3) as usize].clone();
                let mut p = premise(&i.to_string(), status, None);
                p.in_service = (h % 7 != 0).then_some(Day(18_000 + (h % 7300) as i32));
                p
            })
            .collect();
        for q in timeline(&premises, None) {
            assert_eq!(q.served, served_count(&premises, q.end), "{}", q.label);
        }
    }

    #[test]
    fn moving_a_phase_moves_its_buildings_and_an_unknown_phase_is_named() {
        let mut premises = town();
        let moved = move_phases(&mut premises, &[("2025".into(), day("2024-06-30"))]).unwrap();
        assert_eq!(moved, 3);
        assert_eq!(served_count(&premises, day("2024-06-30")), 7);
        let err = move_phases(&mut premises, &[("2031".into(), day("2030-01-01"))]).unwrap_err();
        assert!(err.contains("`2031`") && err.contains("2024"), "{err}");
    }

    #[test]
    fn buildings_paint_their_terrain_building_or_a_disc() {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 20,
            rows: 20,
        };
        // One terrain building: cells (2..5, 2..5).
        let cells: Vec<usize> = (2..5)
            .flat_map(|r| (2..5).map(move |c| grid.index(c, r)))
            .collect();
        let building = Building {
            id: 1,
            cells: cells.clone(),
            centroid: DVec2::splat(3.5),
            footprint_m2: 9.0,
            ground_m: 0.0,
            roof_m: 10.0,
            outline: Vec::new(),
            usage: None,
        };
        let mut inside = premise("in", Status::Lit, Some("2024-01-01"));
        inside.position = DVec2::new(3.2, 3.7);
        let mut later = premise("in2", Status::Planned, Some("2026-01-01"));
        later.position = DVec2::new(2.5, 2.5);
        let mut street = premise("street", Status::Planned, Some("2025-01-01"));
        street.position = DVec2::new(14.5, 14.5);
        let mut away = premise("away", Status::Planned, None);
        away.position = DVec2::new(-50.0, 0.0);
        let premises = [inside, later, street, away];
        let t = Timeline::new(&premises, grid, &[building], day("2024-06-01"));
        assert_eq!(t.outside, 1);
        // The building takes its earliest premise's day.
        assert_eq!(t.building_days, [day("2024-01-01").0 as f32]);
        let served = t.served_on(day("2024-06-01"));
        assert!(cells.iter().all(|&c| served.values[c] == 1.0));
        let disc: Vec<usize> = (0..grid.len())
            .filter(|&i| !cells.contains(&i) && !served.values[i].is_nan())
            .collect();
        // A disc of 3 m about a cell centre holds 29 cell centres (dx² + dy² ≤ 9).
        assert_eq!(disc.len(), 29);
        assert!(disc.iter().all(|&i| served.values[i] == 0.0));
        let by_2025 = t.served_on(day("2025-01-01"));
        assert!(disc.iter().all(|&i| by_2025.values[i] == 1.0));
    }

    #[test]
    fn counts_by_status_and_csv() {
        let counts = status_counts(&town());
        assert_eq!(counts["lit"], 4);
        assert_eq!(counts["built"], 1);
        assert_eq!(counts["planned"], 3);
        let csv = timeline_csv(&timeline(&town(), None));
        assert!(
            csv.starts_with("quarter,end,served,buildings,share\n2024-Q1,2024-03-31,3,8,0.3750\n")
        );
        let premises = premises_csv(&town(), day("2025-01-15"));
        assert_eq!(premises.lines().count(), 9);
        assert!(
            premises.contains("\ne,0.00,0.00,built,2025,2025-01-15,1\n"),
            "{premises}"
        );
    }
}
