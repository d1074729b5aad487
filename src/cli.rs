//! The command line: `jumeau [view|render|info|convert|demo|bench]`.

use crate::buildings::streaming::BuildingColor;
use crate::front::headless::RenderOptions;
use crate::front::inputs::{OpenOptions, open_inputs, parse_camera};
use crate::front::twin::ViewerSetup;
use crate::georef::Crs;
use crate::io;
use crate::pointcloud::convert::{ConvertSettings, convert};
use crate::pointcloud::info::info;
use crate::pointcloud::las::LasFile;
use crate::pointcloud::streaming::{PointCloudSettings, RenderPath};
use crate::pointcloud::style::ColorMode;
use bevy::math::DVec3;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "jumeau",
    version,
    about = "Territorial digital twin: LiDAR point clouds into a streamable 3D twin"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a LAS/LAZ/COPC file or URL: header, CRS, classes, extra bytes, COPC hierarchy.
    /// With `--check`, validate a COPC file instead (exit code 1 when anything is wrong).
    Info {
        /// Path or http(s) URL.
        input: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Validate a COPC file: every point inside its node, hierarchy connected, page entries
        /// consistent, node counts = decoded counts, LAZ chunk table, header count and bounds.
        #[arg(long)]
        check: bool,
        /// With `--check`, decode every attribute of every point (else positions only), and
        /// check the returns per number and the GPS time range too.
        #[arg(long, requires = "check")]
        full: bool,
    },
    /// Convert LAS/LAZ files (tiles of one area) into one COPC file; with `--tiles`, each tile
    /// of a folder into its own COPC plus the `.vpc` listing them.
    Convert {
        /// Input paths or URLs (with `--tiles`: one folder of LAS/LAZ tiles).
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Output file, e.g. town.copc.laz (with `--tiles`: the output folder).
        #[arg(short, long)]
        output: PathBuf,
        /// Convert each tile of the input folder to its own COPC in the output folder and write
        /// `tiles.vpc` there (PDAL's virtual point cloud, which QGIS and Jumeau open as one
        /// cloud). Tiles already converted by this version are skipped: run it again after a
        /// kill and it goes on.
        #[arg(long)]
        tiles: bool,
        /// With `--tiles`: convert only the tiles of shard I of N (I from 0; tiles in name
        /// order, rank modulo N), so N machines or a batch array share the work.
        #[arg(long, requires = "tiles")]
        shard: Option<crate::pointcloud::tiles::Shard>,
        /// Override the inputs' CRS, e.g. EPSG:2154.
        #[arg(long)]
        assign_crs: Option<String>,
        /// Memory for points, e.g. 512MiB or 2GiB; beyond it points spill to disk.
        #[arg(long, default_value = "1GiB")]
        memory_budget: String,
        /// Folder for temporary spill files (default: next to the output).
        #[arg(long)]
        temp_dir: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate a synthetic airborne scan as LAZ: the demo town, or a survey as users bring them
    /// (3 km × 1 km of steep relief, flight-line order, point format 6 with GPS time).
    Demo {
        #[arg(short, long)]
        output: PathBuf,
        /// Number of points.
        #[arg(long, default_value_t = 2_000_000)]
        points: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// What to scan.
        #[arg(long, value_enum, default_value_t = DemoKind::Town)]
        kind: DemoKind,
        /// Write the town as N × N tiles into the folder OUTPUT instead of one file (as a
        /// commune's LiDAR comes: try `jumeau convert --tiles` and `jumeau view tiles.vpc`).
        #[arg(long, conflicts_with = "kind")]
        tiles: Option<u32>,
    },
    /// Open the 3D viewer on LAS/LAZ/COPC paths or URLs (several tiles form one layer), 3D Tiles
    /// `tileset.json` paths or URLs, glTF models (`.glb`/`.gltf`) and network layers (GeoJSON
    /// incl. Open Fibre Data Standard, CSV with a mapping file), draped on the LiDAR ground.
    View {
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Language of the panel: en or fr.
        #[arg(long, default_value = "en", value_parser = crate::front::embed::Lang::parse)]
        lang: crate::front::embed::Lang,
        /// Eye and target in the data's CRS: X,Y,Z,TX,TY,TZ (the panel's *Copy view* gives
        /// it; default: framed on the data).
        #[arg(long, value_parser = parse_camera, allow_hyphen_values = true)]
        camera: Option<(DVec3, DVec3)>,
        #[command(flatten)]
        display: DisplayArgs,
    },
    /// Render one frame offscreen (no window) once streaming has settled, and write a PNG.
    Render {
        #[arg(required = true)]
        inputs: Vec<String>,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        /// Eye and target in the data's CRS: X,Y,Z,TX,TY,TZ (default: framed on the data).
        #[arg(long, value_parser = parse_camera, allow_hyphen_values = true)]
        camera: Option<(DVec3, DVec3)>,
        /// Seconds to wait for streaming before rendering what is there.
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
        /// Then time this many frames of the settled view and print their median.
        #[arg(long, default_value_t = 0)]
        timed_frames: u32,
        /// Draw the measurements and notes of a project, a legend, a scale bar and a north
        /// arrow on the image.
        #[arg(long)]
        decorate: bool,
        /// With a scenario file among the inputs: the scenario shown (default: the first).
        #[arg(long)]
        scenario: Option<String>,
        #[command(flatten)]
        display: DisplayArgs,
    },
    /// Benchmarks that report ratios against baselines measured in the same run.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Coordinate reference systems.
    #[command(subcommand)]
    Crs(CrsCommand),
    /// Simulation scenarios (flood, shadow, sunlight, radio coverage, fibre roll-out) from a scenario file.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Radio: a point-to-point link over a scenario file's terrain.
    #[command(subcommand)]
    Radio(RadioCommand),
    /// A public consultation's opinions (the kiosk's journal).
    #[command(subcommand)]
    Consultation(ConsultationCommand),
    /// The consultation kiosk: a project full screen, touch first and locked (the staff leave
    /// with the PIN of its `[kiosk]`); or, with `--soak 24h --headless`, its soak run on a
    /// simulated clock.
    Kiosk {
        /// The project file: its `[kiosk]`, bookmarks and scenarios are the kiosk's content.
        project: PathBuf,
        #[command(flatten)]
        run: KioskRun,
        #[command(flatten)]
        display: DisplayArgs,
    },
    /// The sun's position (NREL SPA) at a time and place.
    Sun {
        /// RFC 3339 time with its offset, e.g. 2026-03-20T12:00:00+01:00.
        #[arg(long)]
        at: String,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        /// Metres above sea level.
        #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
        elevation: f64,
        /// Air pressure, hPa (refraction).
        #[arg(long, default_value_t = 1010.0)]
        pressure: f64,
        /// Air temperature, °C (refraction).
        #[arg(long, default_value_t = 10.0, allow_hyphen_values = true)]
        temperature: f64,
        /// TT − UT1, seconds (default: estimated from the date).
        #[arg(long)]
        delta_t: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// Build the terrain (DTM and DSM) from LAS/LAZ/COPC files and write them as GeoTIFF.
    Terrain {
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Cell edge, metres (default 0.5 m up to 4 km², coarser beyond).
        #[arg(long)]
        resolution: Option<f64>,
        /// Where to write the DTM GeoTIFF.
        #[arg(long)]
        dtm: Option<PathBuf>,
        /// Where to write the DSM GeoTIFF.
        #[arg(long)]
        dsm: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Measure over a scenario file's terrain: points (CRS, longitude/latitude, altitude and
    /// ellipsoidal height, height above the ground), a line's lengths on the surface, a
    /// polygon's area (horizontal, draped on the ground), what stands on the ground inside it
    /// (DSM − DTM) and, with `--level`, the cut and fill of the ground to that level.
    Measure {
        /// A scenario file: its data make the terrain.
        file: PathBuf,
        /// X,Y (twin CRS); repeat for several.
        #[arg(long, value_parser = parse_xy)]
        point: Vec<(f64, f64)>,
        /// Vertices `X,Y X,Y …` of a polyline.
        #[arg(long, value_parser = parse_ring)]
        line: Option<Ring>,
        /// Vertices `X,Y X,Y …` of a polygon (closed implicitly).
        #[arg(long, value_parser = parse_ring)]
        polygon: Option<Ring>,
        /// A platform level (the twin's datum): cut and fill of the ground inside the polygon.
        #[arg(long)]
        level: Option<f64>,
    },
    /// Every point of LAS/LAZ/COPC files (or a `.vpc`'s tiles) within a band along a line, at
    /// full resolution, sorted along it: CSV `x,y,z,distance_m,classification`, or LAS (the
    /// points' own records) when the output ends in `.las`.
    Profile {
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Start of the line: X,Y (twin CRS).
        #[arg(long, value_parser = parse_xy)]
        from: (f64, f64),
        /// End of the line: X,Y.
        #[arg(long, value_parser = parse_xy)]
        to: (f64, f64),
        /// Width of the band, metres (centred on the line).
        #[arg(long)]
        width: f64,
        /// `profile.csv` or `profile.las`.
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// Vertices of a line or polygon, twin CRS.
#[derive(Clone, Debug)]
pub struct Ring(pub Vec<(f64, f64)>);

/// `X,Y X,Y …` (spaces or semicolons between vertices).
fn parse_ring(text: &str) -> Result<Ring, String> {
    text.split([' ', ';'])
        .filter(|s| !s.is_empty())
        .map(parse_xy)
        .collect::<Result<_, _>>()
        .map(Ring)
}

/// `X,Y`.
fn parse_xy(text: &str) -> Result<(f64, f64), String> {
    match parse_link_end(text)? {
        (x, y, None) => Ok((x, y)),
        _ => Err(format!("`{text}`: expected X,Y")),
    }
}

/// `jumeau scenario …`.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Run every scenario of a file and write `<id>.tif`, `buildings.csv`,
    /// `buildings.geojson`, `summary.json` and `view.png` into the output folder.
    Run {
        file: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Check a scenario file (keys, types, version, dates) without running it.
    Check { file: PathBuf },
}

/// `jumeau consultation …`.
#[derive(Debug, Subcommand)]
pub enum ConsultationCommand {
    /// The opinions of a journal as CSV or GeoJSON (by the output's extension), with the
    /// counts per alternative printed as JSON; torn or bad lines are skipped and named.
    Export {
        journal: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Reads a staff PIN (at least 4 digits) on the standard input and prints the
    /// `pin_hash = "…"` line for the project's `[kiosk]` (Argon2id, salted: the PIN is never
    /// stored).
    Pin,
    /// Appends COUNT opinions of visit VISIT to a journal, printing `ack VISIT I` once each is
    /// on the disk (the crash test kills it while it writes).
    #[command(hide = true)]
    WriteTest {
        journal: PathBuf,
        #[arg(long)]
        visit: u64,
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
    },
}

/// `jumeau radio …`.
#[derive(Debug, Subcommand)]
pub enum RadioCommand {
    /// The profile between two places of a scenario file's terrain (ground, DSM, the line,
    /// the first Fresnel zone) and the loss broken down: free space (ITU-R P.525) and
    /// diffraction over the DSM (P.526).
    Link {
        /// A scenario file: its data make the terrain.
        file: PathBuf,
        /// Transmitter: X,Y (twin CRS) and its height above the ground (default 30 m).
        #[arg(long, value_parser = parse_link_end)]
        from: (f64, f64, Option<f64>),
        /// Receiver: X,Y and its height above the ground (default 1.5 m).
        #[arg(long, value_parser = parse_link_end)]
        to: (f64, f64, Option<f64>),
        #[arg(long, default_value_t = 3500.0)]
        frequency_mhz: f64,
        #[arg(long, value_enum, default_value = "deygout")]
        method: crate::scenario::radio::Diffraction,
        /// Profile step, metres.
        #[arg(long, default_value_t = 1.0)]
        step: f64,
        /// The transmitter's sector: boresight, degrees from grid north (omitted: omni).
        #[arg(long)]
        azimuth_deg: Option<f64>,
        /// Its down-tilt, degrees (TR 36.814's 10 by default).
        #[arg(long)]
        tilt_deg: Option<f64>,
        /// Its horizontal 3 dB beam width, degrees (65 by default).
        #[arg(long)]
        beamwidth_deg: Option<f64>,
        /// Its EIRP, dBm: the received power is given too.
        #[arg(long)]
        eirp_dbm: Option<f64>,
        /// Write the profile as CSV (distance, ground, surface, line, Fresnel radius).
        #[arg(long)]
        csv: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// `X,Y` or `X,Y,H`.
fn parse_link_end(text: &str) -> Result<(f64, f64, Option<f64>), String> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{text}`: {e} (expected X,Y or X,Y,HEIGHT)"))?;
    match v.as_slice() {
        [x, y] => Ok((*x, *y, None)),
        [x, y, h] => Ok((*x, *y, Some(*h))),
        _ => Err(format!("`{text}`: expected X,Y or X,Y,HEIGHT")),
    }
}

/// `jumeau crs …`.
#[derive(Debug, Subcommand)]
pub enum CrsCommand {
    /// Transform positions between CRSs, vertical datum included: e.g. `--from EPSG:2154+5720
    /// --to EPSG:4979 292500 6832500 60` prints longitude, latitude (degrees) and ellipsoidal
    /// height. Without coordinates, reads `X Y Z` lines from standard input.
    Transform {
        /// Source CRS: EPSG:CODE or EPSG:CODE+5720 (NGF-IGN69 altitudes through RAF20).
        #[arg(long)]
        from: crate::georef::transform::CrsSpec,
        /// Target CRS, the same way (EPSG:4979: WGS 84 lon/lat/ellipsoidal height; EPSG:4978:
        /// Earth-centred X Y Z).
        #[arg(long)]
        to: crate::georef::transform::CrsSpec,
        /// X Y Z (or longitude latitude height).
        #[arg(num_args = 0..=3, allow_negative_numbers = true)]
        position: Vec<f64>,
    },
}

/// What `jumeau demo` scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoKind {
    /// The demo town: streets, buildings, trees, a river (point format 7 with RGB).
    Town,
    /// A 3 km × 1 km survey of steep relief in flight-line order (point format 6).
    Survey,
}

/// How points are shown (shared by `view` and `render`).
#[derive(Debug, Clone, clap::Args)]
pub struct DisplayArgs {
    /// Colour by rgb, intensity, elevation or classification (default: chosen from the data:
    /// RGB when the colours vary, else classification when the classes do, else elevation).
    #[arg(long, value_enum)]
    pub color: Option<ColorMode>,
    /// Most points shown at once (default: what the GPU holds with the compute rasterizer,
    /// 3 000 000 with splats).
    #[arg(long)]
    pub budget: Option<u64>,
    /// How points are drawn: `compute` (compute-shader rasterizer), `splats` (portable), or
    /// `auto` (compute where the GPU has compute shaders).
    #[arg(long, value_enum, default_value_t = RenderPath::Auto)]
    pub render_path: RenderPath,
    /// With the compute rasterizer, use 32-bit atomics (two passes, as on WebGPU) even where
    /// 64-bit ones exist.
    #[arg(long)]
    pub atomics_32: bool,
    /// Point size in pixels (the smallest, with adaptive sizing).
    #[arg(long, default_value_t = 2.0)]
    pub point_size: f32,
    /// Turn eye-dome lighting off.
    #[arg(long)]
    pub no_edl: bool,
    /// GPU memory for resident nodes and building tiles together, e.g. 2GiB.
    #[arg(long, default_value = "2GiB")]
    pub memory_budget: String,
    /// Where models without georeferencing go: X,Y,Z in the twin's CRS, or X,Y,Z,EPSG
    /// (EPSG:4326 = lon,lat,height).
    #[arg(long, allow_hyphen_values = true)]
    pub place: Option<crate::buildings::open::Place>,
    /// Colour buildings by this attribute (numbers: a ramp; others: a palette).
    #[arg(long)]
    pub color_buildings_by: Option<String>,
    /// Mapping file (TOML) naming the columns of the CSV network inputs (default: the CSV's
    /// `<name>.mapping.toml`).
    #[arg(long)]
    pub csv_mapping: Option<PathBuf>,
    /// Depth of underground network spans below the LiDAR ground, metres.
    #[arg(long, default_value_t = 0.8)]
    pub underground_depth: f64,
    /// Draw the network over everything (through buildings, trees and the ground).
    #[arg(long)]
    pub network_xray: bool,
    /// The twin's heights: IGN69 (NGF-IGN69 altitudes; Earth-centred content is brought to
    /// them through IGN's RAF20 grid) or ellipsoidal. Default: the point clouds' vertical CRS,
    /// IGN69 for Lambert-93 clouds that declare none.
    #[arg(long, value_enum)]
    pub vertical_datum: Option<crate::georef::VerticalDatum>,
}

impl DisplayArgs {
    pub fn settings(&self) -> Result<PointCloudSettings, String> {
        Ok(PointCloudSettings {
            point_budget: self
                .budget
                .unwrap_or(PointCloudSettings::default().point_budget),
            budget_set_by_user: self.budget.is_some(),
            render_path: self.render_path,
            atomics_64: !self.atomics_32,
            point_size_px: self.point_size,
            color_mode: self.color.unwrap_or(ColorMode::Rgb),
            color_from_data: self.color.is_none(),
            edl: !self.no_edl,
            memory_budget_bytes: parse_bytes(&self.memory_budget)?,
            ..PointCloudSettings::default()
        })
    }
}

/// The twin the command line describes, without its inputs (see [`open_job`]).
fn display_setup(
    display: &DisplayArgs,
    camera: Option<(DVec3, DVec3)>,
) -> Result<ViewerSetup, String> {
    Ok(ViewerSetup {
        layers: Vec::new(),
        buildings: Vec::new(),
        settings: display.settings()?,
        camera,
        building_color: display
            .color_buildings_by
            .clone()
            .map_or(BuildingColor::Model, BuildingColor::Attribute),
        networks: Vec::new(),
        network_style: crate::network::overlay::OverlayStyle {
            xray: display.network_xray,
            ..Default::default()
        },
        project: None,
        project_data: Vec::new(),
    })
}

/// What opens the command line's inputs (converting plain LAS/LAZ into the cache folder).
fn open_job(inputs: &[String], display: &DisplayArgs) -> crate::front::opening::OpenJob {
    let inputs = inputs.to_vec();
    let place = display.place;
    let network = OpenOptions {
        csv_mapping: display.csv_mapping.clone(),
        underground_depth_m: display.underground_depth,
        vertical_datum: display.vertical_datum,
    };
    Box::new(move |progress| {
        open_inputs(
            &inputs,
            &crate::front::paths::cache_dir().join("converted"),
            place.as_ref(),
            &network,
            progress,
        )
    })
}

/// Local inputs that are not there: said at once, before a window opens on nothing.
/// What the inputs of `view` and `render` name: data, and a scenario or project file.
struct ViewInputs {
    /// The data, a scenario file (`.toml`) replaced by its own.
    inputs: Vec<String>,
    /// The view that runs the file's scenarios (none when it has none).
    scenarios: Option<crate::scenario::view::ScenarioView>,
    /// The file as a project (its camera, style, bookmarks… and where Save writes).
    project: Option<(crate::scenario::ScenarioFile, PathBuf)>,
}

impl ViewInputs {
    /// `setup` opening the project, if one was named.
    fn setup(&mut self, setup: ViewerSetup) -> ViewerSetup {
        match self.project.take() {
            Some((file, path)) => setup.with_project(file, path),
            None => setup,
        }
    }
}

/// The inputs with a scenario file (`.toml`) replaced by its data, and the view that runs it.
fn scenario_inputs(inputs: Vec<String>) -> Result<ViewInputs, Box<dyn std::error::Error>> {
    let mut out = ViewInputs {
        inputs: Vec::new(),
        scenarios: None,
        project: None,
    };
    for input in inputs {
        if !input.to_ascii_lowercase().ends_with(".toml") {
            out.inputs.push(input);
            continue;
        }
        let path = PathBuf::from(&input);
        let file = crate::scenario::ScenarioFile::read(&path)?;
        let base = path.parent().map(PathBuf::from).unwrap_or_default();
        out.inputs.extend(file.view_inputs(&base));
        if !file.scenarios.is_empty() {
            let mut scenarios = crate::scenario::view::ScenarioView::with_file(file.clone(), base);
            scenarios.cache = Some(crate::front::paths::cache_dir().join("terrain"));
            out.scenarios = Some(scenarios);
        }
        out.project = Some((file, path));
    }
    Ok(out)
}

fn check_local_inputs(inputs: &[String]) -> Result<(), String> {
    // Globs (`tiles/*.copc.laz`) are expanded when opened, and say there when nothing matches.
    for input in inputs
        .iter()
        .filter(|i| !i.contains("://") && !i.contains(['*', '?', '[']))
    {
        std::fs::metadata(input).map_err(|e| format!("{input}: {e}"))?;
    }
    Ok(())
}

/// Parses `512MiB`, `2GiB`, `1.5GB`, `1000000` into bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (expected e.g. 512MiB)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}` in `{text}`")),
    };
    Ok((value * factor) as u64)
}

mod kiosk;
pub use kiosk::KioskRun;
use kiosk::run_kiosk;

/// Runs a parsed command line; errors are printed by `main`.
pub fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        None => crate::front::app::run_demo_twin(),
        Some(Command::View {
            inputs,
            lang,
            camera,
            display,
        }) => {
            // A scenario file brings its data and its scenarios; a project its view.
            let mut named = scenario_inputs(inputs)?;
            let mut setup = named.setup(display_setup(&display, camera)?);
            let (inputs, scenarios) = (named.inputs, named.scenarios);
            if setup.project.is_none() {
                setup.project_data = inputs.clone();
            }
            check_local_inputs(&inputs)?;
            if !crate::front::app::display_available() {
                return Err("no display (DISPLAY / WAYLAND_DISPLAY unset): use `jumeau render` to make a PNG".into());
            }
            let what = crate::front::opening::describe(&inputs);
            crate::front::app::run_viewer(
                setup,
                lang,
                Some((what, open_job(&inputs, &display))),
                scenarios,
            );
            Ok(())
        }
        Some(Command::Scenario(ScenarioCommand::Run { file, output })) => {
            let started = std::time::Instant::now();
            let cache = crate::front::paths::cache_dir().join("terrain");
            let run = crate::scenario::run::run_file(&file, Some(&cache))?;
            let summary = crate::scenario::run::write_outputs(&run, &output)?;
            for note in run.territory.skipped.iter().chain(&run.territory.notes) {
                eprintln!("note: {note}");
            }
            println!("{}", serde_json::to_string_pretty(&summary)?);
            eprintln!(
                "{} scenario(s) in {:.1} s: {}",
                run.results.len(),
                started.elapsed().as_secs_f64(),
                output.display()
            );
            Ok(())
        }
        Some(Command::Scenario(ScenarioCommand::Check { file })) => {
            let parsed = crate::scenario::ScenarioFile::read(&file)?;
            println!(
                "{}: {} scenario(s), version {}",
                file.display(),
                parsed.scenarios.len(),
                parsed.version
            );
            Ok(())
        }
        Some(Command::Radio(RadioCommand::Link {
            file,
            from,
            to,
            frequency_mhz,
            method,
            step,
            azimuth_deg,
            tilt_deg,
            beamwidth_deg,
            eirp_dbm,
            csv,
            json,
        })) => {
            use crate::scenario::radio;
            let parsed = crate::scenario::ScenarioFile::read(&file)?;
            let base = file.parent().map(PathBuf::from).unwrap_or_default();
            let cache = crate::front::paths::cache_dir().join("terrain");
            let territory = crate::scenario::run::Territory::load(&parsed, &base, Some(&cache))?;
            let end = |(x, y, h): (f64, f64, Option<f64>), default: f64| {
                (bevy::math::DVec2::new(x, y), h.unwrap_or(default))
            };
            let link = radio::link(
                &territory.models,
                end(from, 30.0),
                end(to, 1.5),
                frequency_mhz,
                method,
                step,
            )?;
            if let Some(path) = &csv {
                let mut w = ::csv::Writer::from_path(path)?;
                for p in &link.profile {
                    w.serialize(p)?;
                }
                w.flush()?;
            }
            let antenna = radio::Antenna {
                id: "from".into(),
                position: bevy::math::DVec2::new(from.0, from.1),
                height_m: from.2.unwrap_or(30.0),
                frequency_mhz,
                eirp_dbm: eirp_dbm.unwrap_or(0.0),
                azimuth_deg,
                beamwidth_deg: beamwidth_deg.unwrap_or(radio::Antenna::DEFAULT_BEAMWIDTH_DEG),
                tilt_deg: tilt_deg.unwrap_or(radio::Antenna::DEFAULT_TILT_DEG),
                vertical_beamwidth_deg: radio::Antenna::DEFAULT_VERTICAL_BEAMWIDTH_DEG,
            };
            // The pattern counts once the transmitter is described as a sector or given a power.
            let sector = azimuth_deg.is_some() || tilt_deg.is_some() || eirp_dbm.is_some();
            let pattern_db = if sector {
                link.pattern_db(&antenna, bevy::math::DVec2::new(to.0, to.1))
            } else {
                0.0
            };
            let total_db = link.free_space_db + link.diffraction_db + pattern_db;
            let received_dbm = eirp_dbm.map(|p| p - total_db);
            let mut value = serde_json::to_value(&link)?;
            if let Some(object) = value.as_object_mut() {
                object.remove("profile");
                object.insert("pattern_db".into(), pattern_db.into());
                object.insert("total_db".into(), total_db.into());
                if let Some(dbm) = received_dbm {
                    object.insert("received_dbm".into(), dbm.into());
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                let received =
                    received_dbm.map_or(String::new(), |p| format!("; received {p:.1} dBm"));
                println!(
                    "{:.1} m at {} MHz: free space {:.1} dB + diffraction {:.1} dB ({:?}) + pattern {:.1} dB = {:.1} dB{received}; line of sight: {}; Fresnel clearance {:.2}",
                    link.distance_m,
                    link.frequency_mhz,
                    link.free_space_db,
                    link.diffraction_db,
                    link.method,
                    pattern_db,
                    total_db,
                    if link.line_of_sight { "yes" } else { "no" },
                    link.fresnel_clearance
                );
            }
            Ok(())
        }
        Some(Command::Sun {
            at,
            lon,
            lat,
            elevation,
            pressure,
            temperature,
            delta_t,
            json,
        }) => {
            use crate::scenario::sun;
            let time = sun::parse_time(&at)?;
            let observer = sun::Observer {
                longitude_deg: lon,
                latitude_deg: lat,
                elevation_m: elevation,
                air: Some((pressure, temperature)),
                delta_t_s: delta_t,
            };
            let p = sun::position(&time, &observer)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "zenith_deg": p.zenith_deg,
                        "azimuth_deg": p.azimuth_deg,
                        "altitude_deg": p.altitude_deg(),
                    })
                );
            } else {
                println!(
                    "zenith {:.5}°, azimuth {:.5}° (altitude {:.5}°)",
                    p.zenith_deg,
                    p.azimuth_deg,
                    p.altitude_deg()
                );
            }
            Ok(())
        }
        Some(Command::Consultation(ConsultationCommand::Export { journal, output })) => {
            use crate::scenario::consultation as c;
            let read = c::read_journal(&journal)?;
            for skipped in &read.skipped {
                eprintln!("warning: {}: {skipped}", journal.display());
            }
            let geojson = output.extension().is_some_and(|e| {
                e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json")
            });
            let text = if geojson {
                c::to_geojson(&read.opinions).to_string()
            } else {
                c::to_csv(&read.opinions)
            };
            std::fs::write(&output, text).map_err(|e| format!("{}: {e}", output.display()))?;
            let summary = serde_json::json!({
                "output": output,
                "opinions": read.opinions.len(),
                "skipped": read.skipped,
                "alternatives": c::counts(&read.opinions),
            });
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Some(Command::Consultation(ConsultationCommand::Pin)) => {
            let mut pin = String::new();
            std::io::stdin().read_line(&mut pin)?;
            let hash = crate::scenario::kiosk::hash_pin(pin.trim())?;
            println!("pin_hash = \"{hash}\"");
            Ok(())
        }
        Some(Command::Kiosk {
            project,
            run,
            display,
        }) => run_kiosk(&project, run, &display),
        Some(Command::Consultation(ConsultationCommand::WriteTest {
            journal,
            visit,
            count,
        })) => {
            use std::io::Write;
            let mut log = crate::scenario::consultation::Journal::open(&journal)?;
            let stdout = std::io::stdout();
            for i in 0..count {
                log.append(&crate::scenario::consultation::Opinion {
                    v: crate::scenario::consultation::JOURNAL_VERSION,
                    visit,
                    alternative: format!("alternative-{}", i % 3),
                    value: (i % 5 + 1) as u8,
                    comment: i.to_string(),
                    at: None,
                    time: 0,
                })?;
                let mut out = stdout.lock();
                writeln!(out, "ack {visit} {i}")?;
                out.flush()?;
            }
            Ok(())
        }
        Some(Command::Measure {
            file,
            point,
            line,
            polygon,
            level,
        }) => {
            use crate::terrain::measure;
            use bevy::math::{DVec2, DVec3};
            let parsed = crate::scenario::ScenarioFile::read(&file)?;
            let base = file.parent().map(PathBuf::from).unwrap_or_default();
            let cache = crate::front::paths::cache_dir().join("terrain");
            let territory = crate::scenario::run::Territory::load(&parsed, &base, Some(&cache))?;
            let models = &territory.models;
            let (lo, hi) = models.grid().extent();
            let on_terrain = |p: DVec2| -> Result<(f64, f64), String> {
                match (models.dtm.sample(p), models.dsm.sample(p)) {
                    (Some(g), Some(s)) => Ok((g, s)),
                    _ => Err(format!(
                        "({:.3}, {:.3}) lies outside the terrain ({:.1}..{:.1}, {:.1}..{:.1})",
                        p.x, p.y, lo.x, hi.x, lo.y, hi.y
                    )),
                }
            };
            let frame = territory
                .crs
                .as_ref()
                .and_then(crate::georef::Crs::horizontal_code)
                .and_then(|code| crate::georef::GeoFrame::projected(code).ok())
                .map(|f| {
                    f.with_vertical(crate::georef::VerticalDatum::of_crs(territory.crs.as_ref()).0)
                });
            let mut report = serde_json::Map::new();
            let mut points = Vec::new();
            for (x, y) in point {
                let p = DVec2::new(x, y);
                let (ground, surface) = on_terrain(p)?;
                let mut entry = serde_json::json!({
                    "x": x, "y": y,
                    "ground_m": ground,
                    "surface_m": surface,
                    "height_above_ground_m": surface - ground,
                });
                if let Some(frame) = &frame
                    && let Ok(ecef) = frame.ecef_from_crs(DVec3::new(x, y, surface))
                {
                    let (lon, lat, h) = crate::georef::geodetic_from_ecef(ecef);
                    entry["longitude_deg"] = lon.to_degrees().into();
                    entry["latitude_deg"] = lat.to_degrees().into();
                    entry["ellipsoidal_height_m"] = h.into();
                }
                points.push(entry);
            }
            if !points.is_empty() {
                report.insert("points".into(), points.into());
            }
            if let Some(Ring(line)) = line {
                let vertices = line
                    .iter()
                    .map(|&(x, y)| {
                        let p = DVec2::new(x, y);
                        on_terrain(p).map(|(_, s)| p.extend(s))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let l = measure::lengths(&vertices);
                report.insert(
                    "line".into(),
                    serde_json::json!({
                        "length_3d_m": l.length_3d_m,
                        "horizontal_m": l.horizontal_m,
                        "vertical_m": l.vertical_m,
                    }),
                );
            }
            if let Some(Ring(polygon)) = polygon {
                let ring: Vec<DVec2> = polygon.iter().map(|&(x, y)| DVec2::new(x, y)).collect();
                if ring.len() < 3 {
                    return Err("a polygon needs three vertices or more".into());
                }
                for p in &ring {
                    on_terrain(*p)?;
                }
                let standing =
                    measure::volumes(&models.dsm, measure::Base::Raster(&models.dtm), &ring);
                let mut entry = serde_json::json!({
                    "area_m2": measure::area_m2(&ring),
                    "draped_area_m2": measure::draped_area_m2(&models.dtm, &ring),
                    "above_ground_m3": standing.above_m3,
                });
                if let Some(level) = level {
                    let v = measure::volumes(&models.dtm, measure::Base::Level(level), &ring);
                    entry["level_m"] = level.into();
                    entry["cut_m3"] = v.above_m3.into();
                    entry["fill_m3"] = v.below_m3.into();
                }
                report.insert("polygon".into(), entry);
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Some(Command::Profile {
            inputs,
            from,
            to,
            width,
            output,
            json,
        }) => {
            use crate::terrain::profile::{self, Band};
            let started = std::time::Instant::now();
            let band = Band::new(
                bevy::math::DVec2::new(from.0, from.1),
                bevy::math::DVec2::new(to.0, to.1),
                width,
            )?;
            let mut sources = Vec::new();
            for input in &inputs {
                if input.to_ascii_lowercase().ends_with(".vpc") {
                    let bytes = crate::io::open(input)?.read_all()?;
                    for tile in crate::pointcloud::vpc::read_vpc(&bytes, input)? {
                        sources.push(crate::io::open(&tile.href)?);
                    }
                } else {
                    sources.push(crate::io::open(input)?);
                }
            }
            let found = profile::band_points(&sources, &band)?;
            let las = output
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("las"));
            let bytes = if las {
                profile::to_las(&found)?
            } else {
                profile::to_csv(&found.points).into_bytes()
            };
            std::fs::write(&output, bytes).map_err(|e| format!("{}: {e}", output.display()))?;
            let report = serde_json::json!({
                "points": found.points.len(),
                "points_decoded": found.decoded,
                "length_m": band.length_m(),
                "width_m": width,
                "output": output,
                "seconds": started.elapsed().as_secs_f64(),
            });
            if json {
                println!("{report}");
            } else {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            Ok(())
        }
        Some(Command::Terrain {
            inputs,
            resolution,
            dtm,
            dsm,
            json,
        }) => {
            use crate::terrain::geotiff;
            let started = std::time::Instant::now();
            let sources = inputs
                .iter()
                .map(|i| crate::io::open(i))
                .collect::<Result<Vec<_>, _>>()?;
            let built = crate::terrain::build::from_sources(&sources, resolution)?;
            let seconds = started.elapsed().as_secs_f64();
            let territory = crate::scenario::run::Territory::new(built.models, built.crs);
            let crs = territory.raster_crs();
            if let Some(path) = &dtm {
                geotiff::write_file(path, &territory.models.dtm, crs)?;
            }
            if let Some(path) = &dsm {
                geotiff::write_file(path, &territory.models.dsm, crs)?;
            }
            let g = territory.models.grid();
            let report = serde_json::json!({
                "resolution_m": g.cell_m,
                "cols": g.cols,
                "rows": g.rows,
                "points": built.points,
                "buildings": territory.buildings.len(),
                "crs": territory.crs.as_ref().map(crate::georef::Crs::label),
                "dtm_range_m": territory.models.dtm.range(),
                "dsm_range_m": territory.models.dsm.range(),
                "seconds": seconds,
            });
            if json {
                println!("{report}");
            } else {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            Ok(())
        }
        Some(Command::Render {
            inputs,
            output,
            width,
            height,
            camera,
            timeout_secs,
            timed_frames,
            decorate,
            scenario,
            display,
        }) => {
            let mut named = scenario_inputs(inputs)?;
            let mut setup = named.setup(display_setup(&display, camera)?);
            let (inputs, scenarios) = (named.inputs, named.scenarios);
            let opened = open_job(&inputs, &display)(&indicatif::ProgressBar::new(0))?;
            for warning in setup.add(opened) {
                eprintln!("warning: {warning}");
            }
            let options = RenderOptions {
                width,
                height,
                timeout: std::time::Duration::from_secs(timeout_secs),
                timed_frames,
                decorate,
            };
            let report = crate::front::headless::render_with(setup, options, |app| {
                if let Some(mut view) = scenarios {
                    view.select_id = scenario;
                    app.insert_resource(view);
                }
            })?;
            report
                .image
                .save(&output)
                .map_err(|e| format!("{}: {e}", output.display()))?;
            println!(
                "{}: {width}x{height}, {} points in {} nodes, {} bytes fetched, {} frames, {:.2} s{}",
                output.display(),
                report.stats.points_shown,
                report.stats.nodes_shown,
                report.stats.bytes_fetched,
                report.frames,
                report.seconds,
                if report.settled {
                    ""
                } else {
                    " (streaming had not settled: timeout)"
                }
            );
            println!(
                "points drawn by {}",
                match (report.render_path, report.atomics_64) {
                    (RenderPath::Compute, true) => "the compute rasterizer (64-bit atomics)",
                    (RenderPath::Compute, false) => "the compute rasterizer (32-bit atomics)",
                    (RenderPath::PointList, _) => "hardware points",
                    _ => "splats",
                }
            );
            if let Some((mode, why)) = report.color_choice {
                println!(
                    "points coloured by {} (chosen from the data: {why})",
                    mode.label()
                );
            }
            if let Some(ms) = report.frame_ms {
                println!("frame time (settled view, median of {timed_frames}): {ms:.1} ms");
            }
            let n = &report.networks;
            if n.sites + n.spans > 0 {
                println!(
                    "network: {} sites, {} spans in {} meshes",
                    n.sites, n.spans, n.chunks
                );
            }
            let b = &report.buildings;
            if b.contents_resident > 0 || b.failed > 0 {
                println!(
                    "buildings: {} tile contents shown, {} triangles, {} bytes fetched, {} failed",
                    b.contents_shown, b.triangles_shown, b.bytes_fetched, b.failed
                );
            }
            for message in &report.messages {
                eprintln!("error: {message}");
            }
            // The PNG is written either way; a script must still learn that it is incomplete.
            if !report.settled {
                return Err(format!(
                    "{}: streaming had not settled after {timeout_secs} s: the frame is incomplete",
                    output.display()
                )
                .into());
            }
            if !report.messages.is_empty() {
                return Err(format!(
                    "{}: {} errors while streaming (above): the frame is incomplete",
                    output.display(),
                    report.messages.len()
                )
                .into());
            }
            Ok(())
        }
        Some(Command::Info {
            input,
            json,
            check: true,
            full,
        }) => {
            let report = crate::pointcloud::check::check(io::open(&input)?, full)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            if report.is_valid() {
                Ok(())
            } else {
                Err(format!(
                    "{}: {} violations of the COPC layout",
                    report.source,
                    report.violations.len()
                )
                .into())
            }
        }
        Some(Command::Info { input, json, .. }) => {
            let report = info(io::open(&input)?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(())
        }
        Some(Command::Convert {
            inputs,
            output,
            tiles: true,
            shard,
            assign_crs,
            memory_budget,
            temp_dir,
            json,
        }) => {
            let [folder] = inputs.as_slice() else {
                return Err("--tiles takes one input folder".into());
            };
            let settings = ConvertSettings {
                memory_budget_bytes: parse_bytes(&memory_budget)?,
                assign_crs: assign_crs.map(|c| Crs::from_epsg_str(&c)).transpose()?,
                temp_dir,
                progress: Some(indicatif::ProgressBar::new(0)),
            };
            let report = crate::pointcloud::tiles::convert_tiles(
                std::path::Path::new(folder),
                &output,
                shard.unwrap_or_default(),
                &settings,
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{}: {} converted, {} already converted, {} for other shards; {} lists {} of {} tiles ({} points)",
                    output.display(),
                    report.converted.len(),
                    report.skipped.len(),
                    report.other_shards,
                    report.vpc.display(),
                    report.listed,
                    report.tiles,
                    report.points_listed
                );
                if report.listed < report.tiles {
                    println!(
                        "the other shards' tiles are not converted yet: once every shard is done, run this again (without --shard) to list them all"
                    );
                }
            }
            Ok(())
        }
        Some(Command::Convert {
            inputs,
            output,
            assign_crs,
            memory_budget,
            temp_dir,
            json,
            ..
        }) => {
            let assign_crs = assign_crs.map(|c| Crs::from_epsg_str(&c)).transpose()?;
            let files = inputs
                .iter()
                .map(|i| Ok(LasFile::open(io::open(i)?)?))
                .collect::<Result<Vec<_>, Box<dyn std::error::Error>>>()?;
            let settings = ConvertSettings {
                memory_budget_bytes: parse_bytes(&memory_budget)?,
                assign_crs,
                temp_dir,
                progress: Some(indicatif::ProgressBar::new(0)),
            };
            let started = std::time::Instant::now();
            let report = convert(&files, &output, &settings)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "{}: {} points, {} nodes (levels 0..={}), point format {}, {} bytes, CRS {}, {:.2} s ({:.2} M points/s)",
                    output.display(),
                    report.points,
                    report.nodes,
                    report.max_level,
                    report.point_format,
                    report.bytes_written,
                    report.crs.as_deref().unwrap_or("none"),
                    secs,
                    report.points as f64 / secs / 1e6
                );
            }
            Ok(())
        }
        Some(Command::Demo {
            output,
            points,
            seed,
            kind: _,
            tiles: Some(side),
        }) => {
            let bar = indicatif::ProgressBar::new(points);
            let written = crate::demo::write_demo_tiles(&output, points, side, seed, &bar)?;
            bar.finish_and_clear();
            println!(
                "{}: {points} points in {} tiles",
                output.display(),
                written.len()
            );
            Ok(())
        }
        Some(Command::Demo {
            output,
            points,
            seed,
            kind,
            tiles: None,
        }) => {
            let bar = indicatif::ProgressBar::new(points);
            match kind {
                DemoKind::Town => crate::demo::write_demo_laz(&output, points, seed, &bar)?,
                DemoKind::Survey => crate::demo::write_survey_laz(&output, points, seed, &bar)?,
            }
            bar.finish_and_clear();
            println!("{}: {points} points", output.display());
            Ok(())
        }
        Some(Command::Bench(command)) => crate::bench::run(command),
        Some(Command::Crs(CrsCommand::Transform { from, to, position })) => {
            let print = |p: DVec3| {
                if to.is_geographic() {
                    println!("{:.9} {:.9} {:.4}", p.x, p.y, p.z);
                } else {
                    println!("{:.4} {:.4} {:.4}", p.x, p.y, p.z);
                }
            };
            let parse = |v: &[f64]| match v {
                [x, y] => Ok(DVec3::new(*x, *y, 0.0)),
                [x, y, z] => Ok(DVec3::new(*x, *y, *z)),
                _ => Err(format!("expected X Y [Z], got {v:?}")),
            };
            if !position.is_empty() {
                print(crate::georef::transform::transform(
                    &from,
                    &to,
                    parse(&position)?,
                )?);
                return Ok(());
            }
            for (n, line) in std::io::stdin().lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let values = line
                    .split([' ', '\t', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::parse::<f64>)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("line {}: {e}: {line}", n + 1))?;
                let p = parse(&values).map_err(|e| format!("line {}: {e}", n + 1))?;
                print(crate::georef::transform::transform(&from, &to, p)?);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_bytes("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert!(parse_bytes("lots").unwrap_err().contains("not a size"));
        assert_eq!(
            parse_camera("1,2,3,-4,5.5,6").unwrap(),
            (DVec3::new(1.0, 2.0, 3.0), DVec3::new(-4.0, 5.5, 6.0))
        );
        assert!(parse_camera("1,2,3").unwrap_err().contains("six numbers"));
        assert!(
            parse_bytes("5 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
    }

    #[test]
    fn a_copied_view_opens_the_same_view() {
        use crate::camera::ViewerCamera;
        let mut rig = ViewerCamera::look_at(
            DVec3::new(651_234.567, 6_861_987.654, 180.25),
            DVec3::new(651_600.0, 6_862_100.5, 42.0),
        );
        rig.yaw += 0.3;
        rig.distance *= 1.7;
        let text = crate::front::inputs::camera_text(&rig);
        let (eye, target) = parse_camera(&text).unwrap();
        let again = ViewerCamera::look_at(eye, target);
        assert!((again.eye() - rig.eye()).length() < 2e-3, "{text}");
        assert!((again.focus - rig.focus).length() < 1e-3);
        assert!((again.yaw - rig.yaw).abs() < 1e-6 && (again.pitch - rig.pitch).abs() < 1e-6);
        // And the command line takes it.
        let cli = Cli::try_parse_from(["jumeau", "view", "a.copc.laz", "--camera", &text]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::View {
                camera: Some(_),
                ..
            })
        ));
    }
}
