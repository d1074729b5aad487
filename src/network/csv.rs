//! CSV site lists (per-building fibre availability, antenna sites) into the [`Network`] model,
//! with a small TOML [`CsvMapping`] naming the columns.
//!
//! Every row is one [`Site`]: CSV carries points only. Its properties hold every non-empty cell
//! under its header name, plus canonical keys (`id`, `kind`, `status`, `height_m`,
//! `azimuth_deg`…) for the mapped columns, so later stages read one vocabulary whatever the
//! file called them (canonical keys win over a header of the same name; `status` holds the
//! model's `planned`/`built`/`lit`, or the source text when unknown). A row that cannot be placed (a missing or non-numeric coordinate, lon/lat
//! out of range, a `to_twin` error) becomes an [`IngestIssue`] naming its line and the rest
//! loads; a mapping that does not fit the file (a column the header lacks, no position
//! columns, a projected file without `crs`) is an [`IngestError`].
//!
//! The mapping usually sits next to the CSV ([`CsvMapping::sidecar_path`]):
//!
//! ```toml
//! crs = "EPSG:2154"        # x/y need it; lon/lat are EPSG:4326
//! kind = "building"        # for files without a kind column
//! [columns]
//! x = "x_l93"              # or lon = "…", lat = "…"
//! y = "y_l93"
//! id = "imb_id"
//! status = "imb_etat"
//! date = "date_mes"
//! [status]                 # source value (case ignored) -> planned | built | lit | unknown
//! "deployé" = "lit"
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bevy::math::DVec3;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::ingest::{IngestError, SourceCrs, SourcePoint, TwinMapper, status_of};
use super::model::{Day, IngestIssue, IssueAt, Network, Site, SiteKind, Status};
use crate::georef::GeoFrame;

/// How to read a CSV file's columns: where positions are, which columns are the id, kind,
/// status… and what its status values mean.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvMapping {
    /// Field separator; sniffed from the header line when `None` (`;` when it has more `;`
    /// than `,`, tab likewise, else `,`).
    pub delimiter: Option<u8>,
    pub position: PositionColumns,
    /// Kind of every row whose kind cell is missing or empty (e.g. `"building"`).
    pub kind: Option<String>,
    pub columns: AttributeColumns,
    /// Lower-cased source status values and what they stand for, tried before
    /// [`Status::from_name`]. A value mapped to [`Status::Unknown`] is kept as written and not
    /// reported.
    pub statuses: Vec<(String, Status)>,
}

/// The columns that place a row.
#[derive(Clone, Debug, PartialEq)]
pub enum PositionColumns {
    /// Longitude and latitude in degrees (WGS84 or a datum a twin cannot tell from it);
    /// `height` is ellipsoidal metres (0 without it).
    Geographic {
        lon: String,
        lat: String,
        height: Option<String>,
    },
    /// Projected metres of the CRS `epsg` (`z` is 0 without it).
    Projected {
        epsg: u32,
        x: String,
        y: String,
        z: Option<String>,
    },
}

/// The optional attribute columns, each copied into the site's properties under its
/// canonical key (the field's name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttributeColumns {
    /// The site id; a row without one is named `line {n}`.
    pub id: Option<String>,
    /// Read through [`SiteKind::from_name`]; falls back to [`CsvMapping::kind`].
    pub kind: Option<String>,
    pub status: Option<String>,
    /// In-service date ([`Day::parse`]).
    pub date: Option<String>,
    pub operator: Option<String>,
    /// Antenna height above ground, metres (read by the draping code).
    pub height_m: Option<String>,
    /// Antenna azimuth, degrees clockwise from north.
    pub azimuth_deg: Option<String>,
    /// Antenna downtilt, degrees.
    pub tilt_deg: Option<String>,
    /// Horizontal beamwidth, degrees.
    pub beamwidth_deg: Option<String>,
    /// Frequency band, kept as text (`700`, `n78`).
    pub band: Option<String>,
    /// Radiated power, dBW.
    pub power_dbw: Option<String>,
}

impl AttributeColumns {
    /// The numeric attributes: canonical key and column.
    fn numeric(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("height_m", &self.height_m),
            ("azimuth_deg", &self.azimuth_deg),
            ("tilt_deg", &self.tilt_deg),
            ("beamwidth_deg", &self.beamwidth_deg),
            ("power_dbw", &self.power_dbw),
        ]
    }

    /// Every mapped attribute: canonical key and column.
    fn named(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [
            ("id", &self.id),
            ("kind", &self.kind),
            ("status", &self.status),
            ("date", &self.date),
            ("operator", &self.operator),
            ("band", &self.band),
        ]
        .into_iter()
        .chain(self.numeric())
        .filter_map(|(key, column)| column.as_ref().map(|c| (key, c)))
    }
}

/// The mapping file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    delimiter: Option<String>,
    crs: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    columns: RawColumns,
    #[serde(default)]
    status: BTreeMap<String, String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    x: Option<String>,
    y: Option<String>,
    lon: Option<String>,
    lat: Option<String>,
    z: Option<String>,
    id: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    date: Option<String>,
    operator: Option<String>,
    height_m: Option<String>,
    azimuth_deg: Option<String>,
    tilt_deg: Option<String>,
    beamwidth_deg: Option<String>,
    band: Option<String>,
    power_dbw: Option<String>,
}

impl CsvMapping {
    /// Parses a TOML mapping; `name` (the mapping file's) is used in errors.
    pub fn from_toml(text: &str, name: &str) -> Result<Self, IngestError> {
        let bad = |reason: String| IngestError::Mapping {
            name: name.to_owned(),
            reason,
        };
        let raw: RawMapping = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let delimiter = match raw.delimiter.as_deref() {
            None => None,
            Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(bad(format!(
                    "`delimiter` must be one ASCII character, not {d:?}"
                )));
            }
        };
        let crs = match raw.crs.as_deref() {
            None => None,
            Some(text) => Some(crs_of(text).ok_or_else(|| {
                bad(format!(
                    "`crs` {text:?} is not an EPSG code (write e.g. \"EPSG:2154\")"
                ))
            })?),
        };
        let c = raw.columns;
        let position = match (c.x, c.y, c.lon, c.lat) {
            (Some(_), Some(_), Some(_), _) | (Some(_), Some(_), _, Some(_)) => {
                return Err(bad(
                    "`[columns]` names both x/y and lon/lat: keep one pair".into()
                ));
            }
            (Some(x), Some(y), None, None) => match crs {
                Some(SourceCrs::Epsg(epsg)) => PositionColumns::Projected { epsg, x, y, z: c.z },
                Some(SourceCrs::Geographic) => PositionColumns::Geographic {
                    lon: x,
                    lat: y,
                    height: c.z,
                },
                None => {
                    return Err(bad(
                        "`columns.x`/`columns.y` are projected coordinates: `crs` must name \
                         their EPSG code (e.g. crs = \"EPSG:2154\"; \"EPSG:4326\" for degrees)"
                            .into(),
                    ));
                }
            },
            (None, None, Some(lon), Some(lat)) => match crs {
                None | Some(SourceCrs::Geographic) => PositionColumns::Geographic {
                    lon,
                    lat,
                    height: c.z,
                },
                Some(SourceCrs::Epsg(epsg)) => {
                    return Err(bad(format!(
                        "`crs` is EPSG:{epsg}, a projection, but `[columns]` names lon/lat: \
                         name x/y instead"
                    )));
                }
            },
            (Some(_), None, ..) => return Err(bad("`columns.x` without `columns.y`".into())),
            (None, Some(_), ..) => return Err(bad("`columns.y` without `columns.x`".into())),
            (None, None, Some(_), None) => {
                return Err(bad("`columns.lon` without `columns.lat`".into()));
            }
            (None, None, None, Some(_)) => {
                return Err(bad("`columns.lat` without `columns.lon`".into()));
            }
            (None, None, None, None) => {
                return Err(bad(
                    "`[columns]` names no position: give x and y (with `crs`) or lon and lat"
                        .into(),
                ));
            }
        };
        let statuses = raw
            .status
            .into_iter()
            .map(|(source, model)| {
                let status = match model.trim().to_lowercase().as_str() {
                    "planned" => Status::Planned,
                    "built" => Status::Built,
                    "lit" => Status::Lit,
                    "unknown" => Status::Unknown(String::new()),
                    _ => {
                        return Err(bad(format!(
                            "`status.{source:?}` is {model:?}: expected planned, built, lit or \
                             unknown"
                        )));
                    }
                };
                Ok((source.trim().to_lowercase(), status))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            delimiter,
            position,
            kind: raw.kind,
            columns: AttributeColumns {
                id: c.id,
                kind: c.kind,
                status: c.status,
                date: c.date,
                operator: c.operator,
                height_m: c.height_m,
                azimuth_deg: c.azimuth_deg,
                tilt_deg: c.tilt_deg,
                beamwidth_deg: c.beamwidth_deg,
                band: c.band,
                power_dbw: c.power_dbw,
            },
            statuses,
        })
    }

    /// Where the mapping of a CSV file is looked for: `data.csv` → `data.mapping.toml`, in the
    /// same folder.
    pub fn sidecar_path(csv_path: &Path) -> PathBuf {
        csv_path.with_extension("mapping.toml")
    }
}

/// `EPSG:2154` and the other names [`SourceCrs::from_name`] knows, or a bare code (`2154`).
fn crs_of(text: &str) -> Option<SourceCrs> {
    match text.trim().parse::<u32>() {
        Ok(code) => Some(SourceCrs::from_epsg(code)),
        Err(_) => SourceCrs::from_name(text),
    }
}

/// Reads a CSV file into the twin frame `twin` (see [`TwinMapper`]).
pub fn read_csv_in_frame(
    bytes: &[u8],
    name: &str,
    mapping: &CsvMapping,
    twin: &GeoFrame,
) -> Result<Network, IngestError> {
    let mapper = TwinMapper::new(twin);
    read_csv(bytes, name, mapping, &|p| mapper.twin_from_source(p))
}

/// Reads a CSV file with a header line, one site per row; `to_twin` places each source
/// position in the twin CRS (an `Err` makes its row an issue). `name` is used in errors.
pub fn read_csv(
    bytes: &[u8],
    name: &str,
    mapping: &CsvMapping,
    to_twin: &dyn Fn(SourcePoint) -> Result<DVec3, String>,
) -> Result<Network, IngestError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let delimiter = mapping.delimiter.unwrap_or_else(|| sniff_delimiter(bytes));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let mut network = Network::default();
    let mut text = Decoder::default();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => {
            return Err(IngestError::NotCsv {
                name: name.to_owned(),
                reason: format!("header line: {e}"),
            });
        }
        None => {
            return Err(IngestError::NotCsv {
                name: name.to_owned(),
                reason: "empty file: no header line".into(),
            });
        }
    };
    let header: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(k, cell)| match text.decode(cell).trim() {
            "" => format!("column {}", k + 1),
            named => named.to_owned(),
        })
        .collect();
    let rows = Rows::new(name, &header, mapping, delimiter, to_twin)?;
    let mut line = 1;
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let at = e.position().map_or(line + 1, |p| p.line() as usize);
                network.issues.push(IngestIssue {
                    at: IssueAt::Line(at),
                    reason: format!("not read: {e}"),
                });
                continue;
            }
        };
        line = record.position().map_or(line + 1, |p| p.line() as usize);
        let cells: Vec<String> = record
            .iter()
            .map(|cell| text.decode(cell).trim().to_owned())
            .collect();
        rows.read_row(line, &cells, &mut network);
    }
    if text.fell_back {
        network.issues.push(IngestIssue {
            at: IssueAt::File,
            reason: "not UTF-8: read as Windows-1252 (Latin-1)".into(),
        });
    }
    Ok(network)
}

/// `;` when the header line has more `;` than `,` (French spreadsheets), tab likewise, else `,`.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or(bytes);
    let count = |delimiter: u8| header.iter().filter(|&&b| b == delimiter).count();
    let (commas, semicolons, tabs) = (count(b','), count(b';'), count(b'\t'));
    if semicolons > commas && semicolons >= tabs {
        b';'
    } else if tabs > commas {
        b'\t'
    } else {
        b','
    }
}

/// Cells as text: UTF-8, else Windows-1252 (what spreadsheets export in France), remembered
/// so the file gets one issue.
#[derive(Default)]
struct Decoder {
    fell_back: bool,
}

/// Windows-1252 bytes 0x80–0x9F; the rest of the code page is Latin-1.
const WINDOWS_1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

impl Decoder {
    fn decode<'b>(&mut self, bytes: &'b [u8]) -> Cow<'b, str> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => {
                self.fell_back = true;
                Cow::Owned(
                    bytes
                        .iter()
                        .map(|&b| match b {
                            0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
                            _ => char::from(b),
                        })
                        .collect(),
                )
            }
        }
    }
}

/// A mapping resolved against one file's header: column indices.
struct Rows<'a> {
    header: &'a [String],
    mapping: &'a CsvMapping,
    /// Column of x (or longitude), y (or latitude) and the optional z.
    xyz: [Option<usize>; 3],
    /// Canonical key, column name and index of every mapped attribute.
    attributes: Vec<(&'static str, &'a str, usize)>,
    decimal_comma: bool,
    to_twin: &'a dyn Fn(SourcePoint) -> Result<DVec3, String>,
}

impl<'a> Rows<'a> {
    fn new(
        name: &str,
        header: &'a [String],
        mapping: &'a CsvMapping,
        delimiter: u8,
        to_twin: &'a dyn Fn(SourcePoint) -> Result<DVec3, String>,
    ) -> Result<Self, IngestError> {
        let find = |key: &str, column: &str| {
            header
                .iter()
                .position(|h| h == column)
                .or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(column)))
                .ok_or_else(|| IngestError::MissingColumn {
                    name: name.to_owned(),
                    key: key.to_owned(),
                    column: column.to_owned(),
                    header: header.to_vec(),
                })
        };
        let optional = |key: &str, column: &Option<String>| {
            column.as_deref().map(|c| find(key, c)).transpose()
        };
        let xyz = match &mapping.position {
            PositionColumns::Geographic { lon, lat, height } => [
                Some(find("lon", lon)?),
                Some(find("lat", lat)?),
                optional("z", height)?,
            ],
            PositionColumns::Projected { x, y, z, .. } => {
                [Some(find("x", x)?), Some(find("y", y)?), optional("z", z)?]
            }
        };
        let attributes = mapping
            .columns
            .named()
            .map(|(key, column)| Ok((key, column.as_str(), find(key, column)?)))
            .collect::<Result<_, IngestError>>()?;
        Ok(Self {
            header,
            mapping,
            xyz,
            attributes,
            decimal_comma: delimiter == b';',
            to_twin,
        })
    }

    /// The cell of a mapped attribute; empty when unmapped or past the row's end.
    fn attribute<'c>(&self, key: &str, cells: &'c [String]) -> &'c str {
        self.attributes
            .iter()
            .find(|(k, ..)| *k == key)
            .and_then(|&(.., index)| cells.get(index))
            .map_or("", String::as_str)
    }

    fn read_row(&self, line: usize, cells: &[String], network: &mut Network) {
        let mut issue = |reason: String| {
            network.issues.push(IngestIssue {
                at: IssueAt::Line(line),
                reason,
            })
        };
        let position = match self.position(cells) {
            Ok(position) => position,
            Err(reason) => return issue(reason),
        };
        let mut properties = Map::new();
        for (column, cell) in self.header.iter().zip(cells) {
            if !cell.is_empty() {
                properties.insert(column.clone(), value_of(cell, self.decimal_comma));
            }
        }
        // A row may be longer than the header: its extra cells are kept too.
        for (k, cell) in cells.iter().enumerate().skip(self.header.len()) {
            if !cell.is_empty() {
                let column = format!("column {}", k + 1);
                properties.insert(column, value_of(cell, self.decimal_comma));
            }
        }

        let id_cell = self.attribute("id", cells);
        let id = match id_cell {
            "" => format!("line {line}"),
            id => id.to_owned(),
        };
        let kind_name = match self.attribute("kind", cells) {
            "" => self.mapping.kind.as_deref().unwrap_or(""),
            kind => kind,
        };
        let kind = if kind_name.is_empty() {
            SiteKind::Other(String::new())
        } else {
            SiteKind::from_name(kind_name)
        };
        let status = self.status(self.attribute("status", cells), &mut issue);
        let date = self.attribute("date", cells);
        let in_service = if date.is_empty() {
            None
        } else {
            Day::parse(date).or_else(|| {
                issue(format!(
                    "{} {date:?} is not a date (expected YYYY-MM-DD, DD/MM/YYYY or a year)",
                    self.column_of("date")
                ));
                None
            })
        };
        let operator = Some(self.attribute("operator", cells)).filter(|o| !o.is_empty());

        if !id_cell.is_empty() {
            properties.insert("id".into(), id_cell.into());
        }
        if !kind_name.is_empty() {
            properties.insert("kind".into(), kind_name.into());
        }
        let status_name = match &status {
            Status::Planned => "planned",
            Status::Built => "built",
            Status::Lit => "lit",
            Status::Unknown(text) => text,
        };
        if !status_name.is_empty() {
            properties.insert("status".into(), status_name.into());
        }
        for (key, text) in [("date", date), ("operator", operator.unwrap_or(""))] {
            if !text.is_empty() {
                properties.insert(key.into(), text.into());
            }
        }
        let band = self.attribute("band", cells);
        if !band.is_empty() {
            properties.insert("band".into(), band.into());
        }
        for (key, _) in self.mapping.columns.numeric() {
            let text = self.attribute(key, cells);
            if text.is_empty() {
                continue;
            }
            match number_value(text, self.decimal_comma) {
                Some(number) => {
                    properties.insert(key.into(), Value::Number(number));
                }
                None => issue(format!(
                    "{} {text:?} is not a number: `{key}` left out",
                    self.column_of(key)
                )),
            }
        }

        network.sites.push(Site {
            id,
            kind,
            status,
            position,
            operator: operator.map(str::to_owned),
            in_service,
            properties,
        });
    }

    /// `column "imb_etat" (status)`, for issues.
    fn column_of(&self, key: &str) -> String {
        let column = self
            .attributes
            .iter()
            .find(|(k, ..)| *k == key)
            .map_or("", |&(_, column, _)| column);
        format!("column {column:?} ({key})")
    }

    /// The row's position in the twin, or why it has none.
    fn position(&self, cells: &[String]) -> Result<DVec3, String> {
        let geographic = matches!(self.mapping.position, PositionColumns::Geographic { .. });
        let keys = if geographic {
            ["lon", "lat", "z"]
        } else {
            ["x", "y", "z"]
        };
        let mut xyz = [0.0; 3];
        for ((slot, key), index) in xyz.iter_mut().zip(keys).zip(self.xyz) {
            let Some(index) = index else { continue };
            let column = &self.header[index];
            let text = cells.get(index).map_or("", String::as_str);
            if text.is_empty() {
                if key == "z" {
                    continue;
                }
                return Err(if index < cells.len() {
                    format!("column {column:?} ({key}) is empty")
                } else {
                    format!(
                        "no column {column:?} ({key}): the row has {} cells, the header {}",
                        cells.len(),
                        self.header.len()
                    )
                });
            }
            *slot = number_of(text, self.decimal_comma)
                .ok_or_else(|| format!("column {column:?} ({key}) is {text:?}, not a number"))?;
        }
        let [x, y, z] = xyz;
        let source = match self.mapping.position {
            PositionColumns::Geographic { .. } => {
                if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                    return Err(format!(
                        "({x}, {y}) is not longitude/latitude in degrees (projected \
                         coordinates need x/y columns and a `crs`)"
                    ));
                }
                SourcePoint::Geographic {
                    lon_deg: x,
                    lat_deg: y,
                    height_m: z,
                }
            }
            PositionColumns::Projected { epsg, .. } => SourcePoint::Projected {
                epsg,
                xyz: DVec3::new(x, y, z),
            },
        };
        (self.to_twin)(source)
    }

    /// The mapping's `[status]` table first (case ignored), then [`Status::from_name`] (see
    /// [`status_of`]); empty is [`Status::Unknown`] without an issue.
    fn status(&self, text: &str, issue: &mut impl FnMut(String)) -> Status {
        if text.is_empty() {
            return Status::Unknown(String::new());
        }
        let lower = text.to_lowercase();
        match self.mapping.statuses.iter().find(|(s, _)| *s == lower) {
            Some((_, Status::Unknown(_))) => Status::Unknown(text.to_owned()),
            Some((_, status)) => status.clone(),
            None => {
                let mut alone = Map::new();
                alone.insert("status".into(), text.into());
                status_of(&alone, issue)
            }
        }
    }
}

/// A finite number written in full, with a decimal comma accepted when `decimal_comma`.
fn number_of(text: &str, decimal_comma: bool) -> Option<f64> {
    let text: Cow<str> = if decimal_comma && text.matches(',').count() == 1 && !text.contains('.') {
        Cow::Owned(text.replace(',', "."))
    } else {
        Cow::Borrowed(text)
    };
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A JSON number: an integer when the text is one, so `120` reads back as `120`.
fn number_value(text: &str, decimal_comma: bool) -> Option<Number> {
    match text.parse::<i64>() {
        Ok(integer) => Some(integer.into()),
        Err(_) => number_of(text, decimal_comma).and_then(Number::from_f64),
    }
}

/// A cell as a JSON value: a number when it is one in full, else the text. Numbers with a
/// leading zero (`01053`, a commune code) are identifiers and stay text.
fn value_of(cell: &str, decimal_comma: bool) -> Value {
    let digits = cell.trim_start_matches(['+', '-']);
    let leading_zero =
        digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
    if leading_zero {
        return cell.into();
    }
    number_value(cell, decimal_comma).map_or_else(|| cell.into(), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::georef::ecef_from_geodetic;

    fn lambert93() -> GeoFrame {
        GeoFrame::projected(2154).unwrap()
    }

    fn enu_at(lon_deg: f64, lat_deg: f64) -> GeoFrame {
        GeoFrame::local_enu(ecef_from_geodetic(
            lon_deg.to_radians(),
            lat_deg.to_radians(),
            0.0,
        ))
    }

    fn mapping(toml: &str) -> CsvMapping {
        CsvMapping::from_toml(toml, "test.mapping.toml").unwrap()
    }

    /// ARCEP "Ma connexion internet" style: `;`, a BOM, Lambert-93, decimal commas.
    const ARCEP_CSV: &str = "\u{feff}imb_id;x_l93;y_l93;alt;imb_etat;date_mes;operateur;code_insee;surface\n\
        IMB/35238/X/0001;351234,5;6789012,25;45,5;déployé;15/03/2021;Orange;35238;120,5\n\
        IMB/35238/X/0002;351300;6789100;;en cours de déploiement;2025-06;SFR FTTH;35238;\n\
        IMB/35238/X/0003;351400;6789200;46;Raccordable sur demande;;Orange;35238;80\n\
        IMB/01053/X/0004;351500;6789300;47;DÉPLOYÉ;2020;Orange;01053;\n";

    const ARCEP_MAPPING: &str = r#"
        crs = "EPSG:2154"
        kind = "building"
        [columns]
        x = "x_l93"
        y = "y_l93"
        z = "alt"
        id = "imb_id"
        status = "imb_etat"
        date = "date_mes"
        operator = "operateur"
        [status]
        "déployé" = "lit"
        "en cours de déploiement" = "planned"
        "raccordable sur demande" = "built"
    "#;

    #[test]
    fn arcep_buildings_keep_lambert93_positions_and_french_statuses() {
        let mapping = mapping(ARCEP_MAPPING);
        assert_eq!(mapping.delimiter, None);
        let net =
            read_csv_in_frame(ARCEP_CSV.as_bytes(), "ipe.csv", &mapping, &lambert93()).unwrap();
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        assert_eq!(net.sites.len(), 4);
        assert!(net.spans.is_empty());
        let ids: Vec<&str> = net.sites.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "IMB/35238/X/0001",
                "IMB/35238/X/0002",
                "IMB/35238/X/0003",
                "IMB/01053/X/0004"
            ]
        );
        // Same CRS as the twin: positions pass through, decimal commas read as points.
        assert_eq!(
            net.sites[0].position,
            DVec3::new(351_234.5, 6_789_012.25, 45.5)
        );
        assert_eq!(
            net.sites[1].position,
            DVec3::new(351_300.0, 6_789_100.0, 0.0)
        );
        let statuses: Vec<&Status> = net.sites.iter().map(|s| &s.status).collect();
        assert_eq!(
            statuses,
            [&Status::Lit, &Status::Planned, &Status::Built, &Status::Lit]
        );
        assert!(net.sites.iter().all(|s| s.kind == SiteKind::Building));
        let days: Vec<Option<Day>> = net.sites.iter().map(|s| s.in_service).collect();
        assert_eq!(
            days,
            [
                Day::from_ymd(2021, 3, 15),
                Day::from_ymd(2025, 6, 1),
                None,
                Day::from_ymd(2020, 1, 1)
            ]
        );
        assert_eq!(net.sites[1].operator.as_deref(), Some("SFR FTTH"));

        let first = &net.sites[0].properties;
        assert_eq!(first["surface"], 120.5);
        assert_eq!(first["x_l93"], 351_234.5);
        assert_eq!(first["code_insee"], 35238);
        assert_eq!(first["imb_etat"], "déployé");
        assert_eq!(first["status"], "lit");
        assert_eq!(first["kind"], "building");
        assert_eq!(first["id"], "IMB/35238/X/0001");
        assert_eq!(first["date"], "15/03/2021");
        assert_eq!(first["operator"], "Orange");
        // Empty cells are left out; a leading zero keeps a commune code as text.
        let second = &net.sites[1].properties;
        assert!(!second.contains_key("alt") && !second.contains_key("surface"));
        assert_eq!(net.sites[3].properties["code_insee"], "01053");
    }

    const ANTENNAS_CSV: &str = "\
site,operateur,longitude,latitude,hauteur,azimut,tilt,ouverture,bande,pire,type
ANT-1,Bouygues Telecom,-1.6778,48.1173,30,120,4,65,700,28.5,antenne
ANT-2,Free Mobile,-1.6678,48.1173,25.5,240,-2,65,n78,30,antenne
ANT-3,Orange,-1.6778,48.1263,,0,,,3500,,pylône
";

    const ANTENNAS_MAPPING: &str = r#"
        [columns]
        lon = "longitude"
        lat = "latitude"
        id = "site"
        kind = "type"
        operator = "operateur"
        height_m = "hauteur"
        azimuth_deg = "azimut"
        tilt_deg = "tilt"
        beamwidth_deg = "ouverture"
        band = "bande"
        power_dbw = "pire"
    "#;

    #[test]
    fn antennas_in_lon_lat_land_where_the_twin_mapper_puts_them() {
        let frame = enu_at(-1.6778, 48.1173);
        let net = read_csv_in_frame(
            ANTENNAS_CSV.as_bytes(),
            "antennes.csv",
            &mapping(ANTENNAS_MAPPING),
            &frame,
        )
        .unwrap();
        assert!(net.issues.is_empty(), "{:?}", net.issues);
        assert_eq!(net.sites.len(), 3);
        let mapper = TwinMapper::new(&frame);
        for (site, (lon_deg, lat_deg)) in
            net.sites
                .iter()
                .zip([(-1.6778, 48.1173), (-1.6678, 48.1173), (-1.6778, 48.1263)])
        {
            let expected = mapper
                .twin_from_source(SourcePoint::Geographic {
                    lon_deg,
                    lat_deg,
                    height_m: 0.0,
                })
                .unwrap();
            assert_eq!(site.position, expected, "{}", site.id);
        }
        // 0.01° of longitude at 48.1° N is about 743 m east; 0.009° of latitude about 1 km.
        let [a, b, c] = [0, 1, 2].map(|i| net.sites[i].position);
        assert!(a.length() < 0.01, "{a}");
        assert!((b.x - 743.0).abs() < 3.0 && b.y.abs() < 1.0, "{b}");
        assert!((c.y - 1_000.0).abs() < 5.0 && c.x.abs() < 1.0, "{c}");

        assert_eq!(net.sites[0].kind, SiteKind::Antenna);
        assert_eq!(net.sites[2].kind, SiteKind::Other("pylône".into()));
        assert_eq!(net.sites[1].operator.as_deref(), Some("Free Mobile"));
        let p = &net.sites[1].properties;
        assert_eq!(p["azimuth_deg"], 240);
        assert_eq!(p["tilt_deg"], -2);
        assert_eq!(p["beamwidth_deg"], 65);
        assert_eq!(p["height_m"], 25.5);
        assert_eq!(p["power_dbw"], 30);
        assert_eq!(p["band"], "n78");
        assert_eq!(p["azimut"], 240);
        assert_eq!(net.sites[0].properties["band"], "700");
        assert_eq!(net.sites[0].properties["bande"], 700);
        assert_eq!(net.sites[0].properties["power_dbw"], 28.5);
        // No height: no `height_m` for the draping code to misread as 0 m.
        let q = &net.sites[2].properties;
        assert!(!q.contains_key("height_m") && !q.contains_key("tilt_deg"));
        assert_eq!(q["azimuth_deg"], 0);
    }

    const BAD_CSV: &str = "\
imb_id;x_l93;y_l93;imb_etat;date_mes;hauteur
A;351000;6789000;déployé;2021-01-01;12
B;abc;6789000;déployé;;
C;351000;6789000;abandonné;;haut
;351100;6789100
D;351200
E;351300;6789300;;31/02/2021
";

    const BAD_MAPPING: &str = r#"
        delimiter = ";"
        crs = "EPSG:2154"
        [columns]
        x = "x_l93"
        y = "y_l93"
        id = "imb_id"
        status = "imb_etat"
        date = "date_mes"
        height_m = "hauteur"
        [status]
        "déployé" = "lit"
    "#;

    #[test]
    fn bad_rows_are_issues_naming_their_line_and_the_rest_loads() {
        let net = read_csv_in_frame(
            BAD_CSV.as_bytes(),
            "bad.csv",
            &mapping(BAD_MAPPING),
            &lambert93(),
        )
        .unwrap();
        let issues: Vec<String> = net.issues.iter().map(ToString::to_string).collect();
        assert_eq!(issues.len(), 5, "{issues:#?}");
        assert_eq!(
            issues[0],
            "line 3: column \"x_l93\" (x) is \"abc\", not a number"
        );
        assert!(issues[1].starts_with("line 4: unknown status \"abandonné\""));
        assert!(
            issues[2].starts_with("line 4: column \"hauteur\" (height_m) \"haut\" is not a number"),
            "{}",
            issues[2]
        );
        assert!(
            issues[3].starts_with("line 6: no column \"y_l93\" (y)"),
            "{}",
            issues[3]
        );
        assert!(
            issues[4].starts_with("line 7: column \"date_mes\" (date) \"31/02/2021\""),
            "{}",
            issues[4]
        );
        assert_eq!(
            net.issues
                .iter()
                .filter(|i| i.reason.starts_with("unknown status"))
                .count(),
            1
        );
        let ids: Vec<&str> = net.sites.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["A", "C", "line 5", "E"]);
        assert_eq!(net.sites[1].status, Status::Unknown("abandonné".into()));
        assert!(!net.sites[1].properties.contains_key("height_m"));
        assert_eq!(net.sites[1].properties["hauteur"], "haut");
        assert_eq!(net.sites[2].status, Status::Unknown(String::new()));
        assert_eq!(net.sites[3].in_service, None);
    }

    #[test]
    fn degrees_out_of_range_and_twin_errors_are_row_issues() {
        let csv = "lon,lat\n2.35,48.85\n248.85,2.35\n2.36,48.86\n";
        let mapping = mapping("[columns]\nlon = \"lon\"\nlat = \"lat\"\n");
        let to_twin = |p: SourcePoint| match p {
            SourcePoint::Geographic { lon_deg, .. } if lon_deg > 2.355 => {
                Err("outside the twin's projection".to_owned())
            }
            _ => Ok(DVec3::ZERO),
        };
        let net = read_csv(csv.as_bytes(), "points.csv", &mapping, &to_twin).unwrap();
        let issues: Vec<String> = net.issues.iter().map(ToString::to_string).collect();
        assert_eq!(issues.len(), 2, "{issues:#?}");
        assert!(
            issues[0].starts_with("line 3: (248.85, 2.35) is not longitude/latitude"),
            "{}",
            issues[0]
        );
        assert_eq!(issues[1], "line 4: outside the twin's projection");
        assert_eq!(net.sites.len(), 1);
        assert_eq!(net.sites[0].id, "line 2");
    }

    #[test]
    fn a_mapping_that_does_not_fit_is_an_error_naming_file_and_column() {
        let wrong_column = ARCEP_MAPPING.replace("\"imb_etat\"", "\"etat_imb\"");
        let err = read_csv_in_frame(
            ARCEP_CSV.as_bytes(),
            "ipe.csv",
            &mapping(&wrong_column),
            &lambert93(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, IngestError::MissingColumn { key, column, .. }
                if key == "status" && column == "etat_imb"),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with("ipe.csv: the mapping's `columns.status` is \"etat_imb\""),
            "{message}"
        );
        assert!(message.contains("imb_etat"), "{message}");

        for (toml, expected) in [
            (
                "[columns]\nx = \"x\"\ny = \"y\"\n",
                "`crs` must name their EPSG code",
            ),
            ("[columns]\nid = \"id\"\n", "names no position"),
            ("[columns\nx = ", "TOML parse error"),
            ("[colums]\nx = \"x\"\n", "colums"),
            (
                "crs = \"Lambert 93\"\n[columns]\nx = \"x\"\ny = \"y\"\n",
                "`crs`",
            ),
            (
                "crs = \"EPSG:2154\"\n[columns]\nlon = \"a\"\nlat = \"b\"\n",
                "name x/y instead",
            ),
            (
                "[columns]\nlon = \"a\"\nlat = \"b\"\n[status]\nok = \"on\"\n",
                "`status.\"ok\"` is \"on\"",
            ),
        ] {
            let message = CsvMapping::from_toml(toml, "sites.mapping.toml")
                .unwrap_err()
                .to_string();
            assert!(
                message.starts_with("sites.mapping.toml: bad CSV mapping: ")
                    && message.contains(expected),
                "{toml:?} gave {message:?}"
            );
        }
    }

    #[test]
    fn degrees_in_x_y_and_bare_codes_are_understood() {
        let m = mapping("crs = \"EPSG:4326\"\n[columns]\nx = \"e\"\ny = \"n\"\nz = \"h\"\n");
        assert_eq!(
            m.position,
            PositionColumns::Geographic {
                lon: "e".into(),
                lat: "n".into(),
                height: Some("h".into())
            }
        );
        let m = mapping("crs = \"32631\"\ndelimiter = \"\\t\"\n[columns]\nx = \"e\"\ny = \"n\"\n");
        assert_eq!(m.delimiter, Some(b'\t'));
        assert!(matches!(
            m.position,
            PositionColumns::Projected { epsg: 32631, .. }
        ));
    }

    #[test]
    fn a_windows_1252_file_reads_with_one_file_issue() {
        let mut csv = b"id;op\xe9rateur;lon;lat\n".to_vec();
        csv.extend_from_slice(b"1;C\x9cur R\xe9seaux;2,35;48,85\n2;Orange;2,36;48,85\n");
        let mapping = mapping(
            "[columns]\nid = \"id\"\noperator = \"opérateur\"\nlon = \"lon\"\nlat = \"lat\"\n",
        );
        let net = read_csv(&csv, "latin.csv", &mapping, &|_| Ok(DVec3::ZERO)).unwrap();
        assert_eq!(net.sites.len(), 2);
        assert_eq!(net.sites[0].operator.as_deref(), Some("Cœur Réseaux"));
        assert_eq!(net.issues.len(), 1, "{:?}", net.issues);
        assert_eq!(net.issues[0].at, IssueAt::File);
        assert!(net.issues[0].reason.contains("Windows-1252"));
    }

    #[test]
    fn the_mapping_sits_next_to_the_csv() {
        assert_eq!(
            CsvMapping::sidecar_path(Path::new("/data/ipe/immeubles.csv")),
            PathBuf::from("/data/ipe/immeubles.mapping.toml")
        );
        assert_eq!(
            CsvMapping::sidecar_path(Path::new("sites.2024.csv")),
            PathBuf::from("sites.2024.mapping.toml")
        );
    }
}
