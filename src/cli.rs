//! The command line: `jumeau [view|render|info|convert|demo|bench]`.

use crate::app::ViewerSetup;
use crate::buildings::open::{Place, choose_frame, is_building_input, open_buildings};
use crate::buildings::streaming::{BuildingColor, BuildingLayer};
use crate::georef::Crs;
use crate::headless::RenderOptions;
use crate::io;
use crate::network::drape::DrapeSettings;
use crate::network::open::{Ground, NetworkTarget, is_network_input, open_network};
use crate::network::render::LoadLayer;
use crate::pointcloud::convert::{ConvertSettings, convert};
use crate::pointcloud::info::info;
use crate::pointcloud::las::LasFile;
use crate::pointcloud::open::open_layer;
use crate::pointcloud::streaming::{Layer, PointCloudSettings};
use crate::pointcloud::style::ColorMode;
use clap::{Parser, Subcommand};
use glam::DVec3;
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
    Info {
        /// Path or http(s) URL.
        input: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Convert LAS/LAZ files (tiles of one area) into one COPC file.
    Convert {
        /// Input paths or URLs.
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Output file, e.g. town.copc.laz.
        #[arg(short, long)]
        output: PathBuf,
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
    /// Generate the demo town (a synthetic airborne scan) as LAZ.
    Demo {
        #[arg(short, long)]
        output: PathBuf,
        /// Number of points.
        #[arg(long, default_value_t = 2_000_000)]
        points: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Open the 3D viewer on LAS/LAZ/COPC paths or URLs (several tiles form one layer), 3D Tiles
    /// `tileset.json` paths or URLs, glTF models (`.glb`/`.gltf`) and network layers (GeoJSON
    /// incl. Open Fibre Data Standard, CSV with a mapping file), draped on the LiDAR ground.
    View {
        #[arg(required = true)]
        inputs: Vec<String>,
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
        #[command(flatten)]
        display: DisplayArgs,
    },
    /// Benchmarks that report ratios against baselines measured in the same run.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

/// How points are shown (shared by `view` and `render`).
#[derive(Debug, Clone, clap::Args)]
pub struct DisplayArgs {
    /// Colour by rgb, intensity, elevation or classification.
    #[arg(long, value_enum, default_value_t = ColorMode::Rgb)]
    pub color: ColorMode,
    /// Most points shown at once.
    #[arg(long, default_value_t = 3_000_000)]
    pub budget: u64,
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
}

impl DisplayArgs {
    pub fn settings(&self) -> Result<PointCloudSettings, String> {
        Ok(PointCloudSettings {
            point_budget: self.budget,
            point_size_px: self.point_size,
            color_mode: self.color,
            edl: !self.no_edl,
            memory_budget_bytes: parse_bytes(&self.memory_budget)?,
            ..PointCloudSettings::default()
        })
    }
}

/// Parses `X,Y,Z,TX,TY,TZ`.
pub fn parse_camera(text: &str) -> Result<(DVec3, DVec3), String> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{text}`: {e} (expected X,Y,Z,TX,TY,TZ)"))?;
    match v.as_slice() {
        [x, y, z, tx, ty, tz] if v.iter().all(|c| c.is_finite()) => {
            Ok((DVec3::new(*x, *y, *z), DVec3::new(*tx, *ty, *tz)))
        }
        _ => Err(format!("`{text}`: expected six numbers X,Y,Z,TX,TY,TZ")),
    }
}

/// What the inputs of a command line became.
pub struct OpenedInputs {
    pub clouds: Vec<Layer>,
    pub buildings: Vec<BuildingLayer>,
    /// Network layers, read and draped off the main thread once the viewer runs.
    pub networks: Vec<(String, LoadLayer)>,
    /// Things the user should know (e.g. a model placed by guess).
    pub warnings: Vec<String>,
}

/// Opens the inputs: point clouds as one layer named after the first, each tileset or model as
/// a building layer placed in the twin's frame, each network file as a layer to load (read,
/// ingest, drape on the clouds' ground) once the viewer runs.
pub fn open_inputs(
    inputs: &[String],
    place: Option<&Place>,
    network: &NetworkOptions,
) -> Result<OpenedInputs, String> {
    let (network_inputs, inputs): (Vec<String>, Vec<String>) =
        inputs.iter().cloned().partition(|i| is_network_input(i));
    let (building_inputs, cloud_inputs): (Vec<&String>, Vec<&String>) =
        inputs.iter().partition(|i| is_building_input(i));
    let mut layers = Vec::new();
    if !cloud_inputs.is_empty() {
        let cloud_inputs: Vec<String> = cloud_inputs.into_iter().cloned().collect();
        let name = cloud_inputs
            .first()
            .map(|i| i.rsplit('/').next().unwrap_or(i).to_owned())
            .unwrap_or_default();
        layers.push(open_layer(
            &name,
            &cloud_inputs,
            &crate::bench::cache_dir().join("converted"),
            true,
        )?);
    }
    let opened = building_inputs
        .into_iter()
        .map(|i| open_buildings(i))
        .collect::<Result<Vec<_>, _>>()?;
    let cloud_epsg = layers
        .iter()
        .flat_map(|l| &l.sources)
        .find_map(|s| crate::georef::crs_from_vlrs(&s.reader.file.vlrs)?.horizontal_code());
    let centres: Vec<DVec3> = opened.iter().map(|o| o.centre()).collect();
    let frame = choose_frame(cloud_epsg, place, &centres)?;
    let fallback = crate::pointcloud::streaming::layers_bounds(&layers).map(|b| {
        let c = b.center();
        DVec3::new(c.x, c.y, b.min.z)
    });
    let mut buildings = Vec::new();
    let mut warnings = Vec::new();
    for o in opened {
        let (layer, warning) = o.into_layer(frame.as_ref(), place, fallback)?;
        buildings.push(layer);
        warnings.extend(warning);
    }
    let networks = if network_inputs.is_empty() {
        Vec::new()
    } else {
        let frame = match frame {
            Some(frame) => frame,
            None => network_frame(&network_inputs[0])?,
        };
        let extent = crate::pointcloud::streaming::layers_bounds(&layers)
            .into_iter()
            .chain(buildings.iter().filter_map(|b| b.bounds))
            .reduce(|a, b| a.union(&b));
        let target = NetworkTarget {
            frame,
            ground: Ground::new(
                layers
                    .iter()
                    .flat_map(|l| &l.sources)
                    .map(|s| s.reader.file.source.clone())
                    .collect(),
            ),
            extent,
            drape: DrapeSettings {
                underground_depth_m: network.underground_depth_m,
                ..DrapeSettings::default()
            },
        };
        network_inputs
            .into_iter()
            .map(|input| {
                let target = target.clone();
                let mapping = network.csv_mapping.clone();
                let name = input
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(&input)
                    .to_owned();
                let load: LoadLayer =
                    Box::new(move || open_network(&input, &target, mapping.as_deref()));
                (name, load)
            })
            .collect()
    };
    Ok(OpenedInputs {
        clouds: layers,
        buildings,
        networks,
        warnings,
    })
}

/// How network inputs are read and draped.
#[derive(Debug, Clone)]
pub struct NetworkOptions {
    pub csv_mapping: Option<PathBuf>,
    pub underground_depth_m: f64,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        Self {
            csv_mapping: None,
            underground_depth_m: DrapeSettings::default().underground_depth_m,
        }
    }
}

/// The twin's frame when networks are all there is: the file's projected CRS, else the UTM
/// zone of its first position.
fn network_frame(input: &str) -> Result<crate::georef::GeoFrame, String> {
    use crate::network::ingest::SourcePoint;
    let bytes = io::open(input)
        .and_then(|s| s.read_all())
        .map_err(|e| e.to_string())?;
    let first = std::cell::Cell::new(None);
    let _ = crate::network::ingest::read_geojson(&bytes, input, &|p| {
        if first.get().is_none() {
            first.set(Some(p));
        }
        Ok(DVec3::ZERO)
    });
    let code = match first.get() {
        Some(SourcePoint::Projected { epsg, .. }) => epsg,
        Some(SourcePoint::Geographic {
            lon_deg, lat_deg, ..
        }) => {
            let zone = (((lon_deg + 180.0) / 6.0).floor() as u32).clamp(0, 59) + 1;
            if lat_deg >= 0.0 {
                32600 + zone
            } else {
                32700 + zone
            }
        }
        None => {
            return Err(format!(
                "{input}: no position to place the twin by; open it with a point cloud or a \
                 tileset"
            ));
        }
    };
    crate::georef::GeoFrame::projected(code)
}

/// The twin described by the command line.
fn open_setup(
    inputs: &[String],
    display: &DisplayArgs,
    camera: Option<(DVec3, DVec3)>,
) -> Result<ViewerSetup, String> {
    let opened = open_inputs(
        inputs,
        display.place.as_ref(),
        &NetworkOptions {
            csv_mapping: display.csv_mapping.clone(),
            underground_depth_m: display.underground_depth,
        },
    )?;
    for warning in &opened.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ViewerSetup {
        layers: opened.clouds,
        buildings: opened.buildings,
        settings: display.settings()?,
        camera,
        building_color: display
            .color_buildings_by
            .clone()
            .map_or(BuildingColor::Model, BuildingColor::Attribute),
        networks: opened.networks,
        network_style: crate::network::overlay::OverlayStyle {
            xray: display.network_xray,
            ..Default::default()
        },
    })
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

/// Runs a parsed command line; errors are printed by `main`.
pub fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        None => crate::app::run_demo_twin(),
        Some(Command::View { inputs, display }) => {
            let setup = open_setup(&inputs, &display, None)?;
            if !crate::app::display_available() {
                return Err("no display (DISPLAY / WAYLAND_DISPLAY unset): use `jumeau render` to make a PNG".into());
            }
            crate::app::run_viewer(setup);
            Ok(())
        }
        Some(Command::Render {
            inputs,
            output,
            width,
            height,
            camera,
            timeout_secs,
            display,
        }) => {
            let setup = open_setup(&inputs, &display, camera)?;
            let report = crate::headless::render(
                setup,
                RenderOptions {
                    width,
                    height,
                    timeout: std::time::Duration::from_secs(timeout_secs),
                },
            )?;
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
            Ok(())
        }
        Some(Command::Info { input, json }) => {
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
            assign_crs,
            memory_budget,
            temp_dir,
            json,
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
                progress: true,
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
        }) => {
            let bar = indicatif::ProgressBar::new(points);
            crate::demo::write_demo_laz(&output, points, seed, &bar)?;
            bar.finish_and_clear();
            println!("{}: {points} points", output.display());
            Ok(())
        }
        Some(Command::Bench(command)) => crate::bench::run(command),
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
}
