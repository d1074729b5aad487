//! The antennas of a coverage scenario (pure): read from a network's antenna and mast sites
//! (their attributes, in English or French, named as operators' and ANFR's extracts name
//! them) and from the scenario file's own `[[scenarios.site]]`.

use super::file::{Scenario, SiteSpec};
use super::radio::Antenna;
use crate::network::model::{Site, SiteKind};
use bevy::math::DVec2;
use serde_json::Value;

/// Attribute names of each antenna field, in order of preference (matched without case).
const HEIGHT: [&str; 5] = [
    "height_m",
    "hauteur_m",
    "antenna_height_m",
    "height",
    "hauteur",
];
const FREQUENCY: [&str; 6] = [
    "frequency_mhz",
    "frequence_mhz",
    "frequency",
    "frequence",
    "band",
    "bande",
];
const EIRP: [&str; 6] = [
    "eirp_dbm",
    "pire_dbm",
    "eirp",
    "pire",
    "power_dbm",
    "puissance_dbm",
];
/// The same power in dBW (dBm − 30), as radio site lists often give it (the demo town's too).
const EIRP_DBW: [&str; 4] = ["eirp_dbw", "pire_dbw", "power_dbw", "puissance_dbw"];
const AZIMUTH: [&str; 3] = ["azimuth_deg", "azimuth", "azimut"];
const BEAMWIDTH: [&str; 4] = ["beamwidth_deg", "beamwidth", "ouverture_deg", "ouverture"];
const TILT: [&str; 4] = ["tilt_deg", "tilt", "downtilt", "inclinaison"];

/// The centre frequency of a 3GPP band name (`n78`, `B20`, `700`…), MHz.
fn band_mhz(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    let named = match t.trim_start_matches(['b', 'n']) {
        "28" => Some(758.0),
        "20" => Some(806.0),
        "8" => Some(942.5),
        "3" => Some(1842.5),
        "1" => Some(2140.0),
        "7" => Some(2655.0),
        "78" => Some(3550.0),
        _ => None,
    };
    if t.starts_with(['b', 'n']) {
        return named;
    }
    t.trim_end_matches("mhz").trim().parse().ok()
}

fn field<'a>(site: &'a Site, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| {
        site.properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    })
}

fn number(site: &Site, names: &[&str]) -> Option<f64> {
    field(site, names).and_then(|v| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    })
}

/// The antennas of a network: its antenna sites, and masts that carry antenna fields. An
/// antenna without height, frequency or power is an error naming it and the field.
pub fn antennas_of(name: &str, sites: &[Site]) -> Result<Vec<Antenna>, String> {
    let mut out = Vec::new();
    for site in sites {
        let candidate = match site.kind {
            SiteKind::Antenna => true,
            SiteKind::Mast => field(site, &FREQUENCY).is_some(),
            _ => false,
        };
        if !candidate {
            continue;
        }
        let missing = |what: &str, names: &[&str]| {
            format!(
                "{name}: antenna `{}` has no {what} (`{}`)",
                site.id,
                names.join("`, `")
            )
        };
        let height_m = number(site, &HEIGHT).ok_or_else(|| missing("height", &HEIGHT))?;
        let frequency_mhz = field(site, &FREQUENCY)
            .and_then(|v| match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => band_mhz(s),
                _ => None,
            })
            .ok_or_else(|| missing("frequency in MHz or 3GPP band", &FREQUENCY))?;
        let eirp_dbm = number(site, &EIRP)
            .or_else(|| number(site, &EIRP_DBW).map(|dbw| dbw + 30.0))
            .ok_or_else(|| missing("EIRP in dBm (or dBW)", &EIRP))?;
        out.push(Antenna {
            id: site.id.clone(),
            position: site.position.truncate(),
            height_m,
            frequency_mhz,
            eirp_dbm,
            azimuth_deg: number(site, &AZIMUTH),
            beamwidth_deg: number(site, &BEAMWIDTH).unwrap_or(Antenna::DEFAULT_BEAMWIDTH_DEG),
            tilt_deg: number(site, &TILT).unwrap_or(Antenna::DEFAULT_TILT_DEG),
            vertical_beamwidth_deg: Antenna::DEFAULT_VERTICAL_BEAMWIDTH_DEG,
        });
    }
    if out.is_empty() {
        return Err(format!(
            "{name}: no antenna (sites of kind antenna, or masts with `frequency_mhz`) to transmit"
        ));
    }
    Ok(out)
}

/// An antenna written in the scenario file; `index` numbers those without an id.
pub fn antenna_of_spec(spec: &SiteSpec, index: usize) -> Antenna {
    Antenna {
        id: spec
            .id
            .clone()
            .unwrap_or_else(|| format!("site-{}", index + 1)),
        position: DVec2::from_array(spec.position),
        height_m: spec.height_m,
        frequency_mhz: spec.frequency_mhz,
        eirp_dbm: spec.eirp_dbm,
        azimuth_deg: spec.azimuth_deg,
        beamwidth_deg: spec.beamwidth_deg.unwrap_or(Antenna::DEFAULT_BEAMWIDTH_DEG),
        tilt_deg: spec.tilt_deg.unwrap_or(Antenna::DEFAULT_TILT_DEG),
        vertical_beamwidth_deg: spec
            .vertical_beamwidth_deg
            .unwrap_or(Antenna::DEFAULT_VERTICAL_BEAMWIDTH_DEG),
    }
}

/// An antenna as a scenario file writes it (`[[scenarios.site]]`).
pub fn spec_of_antenna(a: &Antenna) -> SiteSpec {
    SiteSpec {
        id: Some(a.id.clone()),
        position: a.position.to_array(),
        height_m: a.height_m,
        frequency_mhz: a.frequency_mhz,
        eirp_dbm: a.eirp_dbm,
        azimuth_deg: a.azimuth_deg,
        beamwidth_deg: Some(a.beamwidth_deg),
        tilt_deg: Some(a.tilt_deg),
        vertical_beamwidth_deg: Some(a.vertical_beamwidth_deg),
    }
}

/// Coverage scenario `spec`, whose run transmitted from `before` (its network's antennas,
/// then its own sites), edited to transmit from `edited`, as a scenario of id `id`: a network
/// antenna moved, turned or removed is excluded (a changed one comes back as a site of the
/// same id), the others stay; every other antenna is a site.
pub fn what_if_scenario(
    spec: &Scenario,
    before: &[Antenna],
    edited: &[Antenna],
    id: &str,
) -> Scenario {
    let from_network = &before[..before.len().saturating_sub(spec.site.len())];
    let kept = |a: &Antenna| from_network.contains(a);
    let mut exclude = spec.exclude.clone();
    for a in from_network {
        if !edited.contains(a) && !exclude.contains(&a.id) {
            exclude.push(a.id.clone());
        }
    }
    Scenario {
        id: id.to_owned(),
        title: Some(format!("{} (what if)", spec.title())),
        exclude,
        site: edited
            .iter()
            .filter(|a| !kept(a))
            .map(spec_of_antenna)
            .collect(),
        ..spec.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::model::Status;
    use bevy::math::DVec3;

    fn site(id: &str, kind: SiteKind, props: serde_json::Value) -> Site {
        Site {
            id: id.into(),
            kind,
            status: Status::Lit,
            position: DVec3::new(1.0, 2.0, 3.0),
            operator: None,
            in_service: None,
            properties: props.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn antennas_come_from_their_attributes_in_either_language() {
        let sites = vec![
            site(
                "A1",
                SiteKind::Antenna,
                serde_json::json!({"hauteur": "25,5", "bande": "n78", "PIRE_dBm": 62, "azimut": 120}),
            ),
            site(
                "M1",
                SiteKind::Mast,
                serde_json::json!({"height_m": 30, "frequency_mhz": 800, "eirp_dbm": 58}),
            ),
            site(
                "A2",
                SiteKind::Antenna,
                serde_json::json!({"height_m": 28, "band": "n78", "power_dbw": 30}),
            ),
            site("M2", SiteKind::Mast, serde_json::json!({"height_m": 30})),
            site("C1", SiteKind::Cabinet, serde_json::json!({})),
        ];
        let a = antennas_of("n.geojson", &sites).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].height_m, a[0].frequency_mhz), (25.5, 3550.0));
        assert_eq!((a[0].eirp_dbm, a[0].azimuth_deg), (62.0, Some(120.0)));
        assert_eq!(a[1].azimuth_deg, None);
        assert_eq!(a[1].tilt_deg, Antenna::DEFAULT_TILT_DEG);
        assert_eq!(a[2].eirp_dbm, 60.0, "30 dBW");
    }

    #[test]
    fn a_network_without_antenna_fields_is_named() {
        let sites = vec![site(
            "A9",
            SiteKind::Antenna,
            serde_json::json!({"height_m": 20}),
        )];
        let err = antennas_of("reseau.geojson", &sites).unwrap_err();
        assert!(
            err.contains("reseau.geojson: antenna `A9` has no frequency"),
            "{err}"
        );
        let err = antennas_of("fibre.geojson", &[]).unwrap_err();
        assert!(err.contains("fibre.geojson: no antenna"), "{err}");
    }

    #[test]
    fn a_what_if_excludes_the_network_antennas_it_changed_or_removed() {
        let text = "version = 1\nname = \"w\"\n[[scenarios]]\nid = \"cov\"\nkind = \"coverage\"\nsites = \"n.geojson\"\nexclude = [\"old\"]\n[[scenarios.site]]\nid = \"s1\"\nposition = [5.0, 5.0]\nheight_m = 10.0\nfrequency_mhz = 800.0\neirp_dbm = 50.0\n";
        let file = crate::scenario::ScenarioFile::parse("w.toml", text).unwrap();
        let spec = &file.scenarios[0];
        let s1 = antenna_of_spec(&spec.site[0], 0);
        let n = |id: &str, azimuth: f64| Antenna {
            id: id.into(),
            azimuth_deg: Some(azimuth),
            ..s1.clone()
        };
        let before = [n("n1", 0.0), n("n2", 120.0), s1.clone()];
        let new = Antenna {
            id: "new-1".into(),
            position: DVec2::new(50.0, 50.0),
            ..s1.clone()
        };
        // n1 turned, n2 removed, s1 kept, one site placed.
        let edited = [n("n1", 45.0), s1.clone(), new.clone()];
        let w = what_if_scenario(spec, &before, &edited, "cov-whatif");
        assert_eq!(w.exclude, ["old", "n1", "n2"]);
        let ids: Vec<&str> = w.site.iter().filter_map(|s| s.id.as_deref()).collect();
        assert_eq!(ids, ["n1", "s1", "new-1"]);
        assert_eq!(w.site[0].azimuth_deg, Some(45.0));
        assert_eq!(w.sites.as_deref(), Some("n.geojson"));
        // Unchanged network antennas stay as they came.
        let w = what_if_scenario(spec, &before, &before, "same");
        assert_eq!(w.exclude, ["old"]);
        assert_eq!(w.site.len(), 1);
    }
}
