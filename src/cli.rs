//! The command line: `jumeau [info|convert|demo|bench]`.

use crate::georef::Crs;
use crate::io;
use crate::pointcloud::convert::{ConvertSettings, convert};
use crate::pointcloud::info::info;
use crate::pointcloud::las::LasFile;
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
    /// Benchmarks that report ratios against baselines measured in the same run.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
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
        None => crate::bench::run_default_job(),
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
        assert!(
            parse_bytes("5 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
    }
}
