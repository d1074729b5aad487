//! `jumeau bench scenario`: the flood's connection levels on 10⁷ cells against a breadth-first
//! fill per level (target ≤ 2 s), a level change (target ≤ 5 ms), a day of sunlight hours on
//! 4 × 10⁶ cells against a per-cell ray march (target ≤ 2 s), and the terrain of the IGN tile
//! against decoding its points (target ≤ 1 s), and a real building tile (3DBAG, 51 062
//! triangles) rasterised into the surface model against reading and baking it; radio: line of
//! sight of one site over 1 km² at 1 m (target ≤ 50 ms), coverage of a three-sector mast over
//! 1 km² at 2 m against a per-cell profile walk (target ≤ 2 s), and moving one site; roll-out:
//! the quarterly shares of a département's buildings (one sort, a binary search per quarter)
//! against a count per quarter, the buildings painted on the terrain and one time-lapse step.

use crate::scenario::flood::{self, FloodMode};
use crate::scenario::sun::{self, Day, GridNorth, Observer, Surface};
use crate::terrain::{Grid, Raster};
use bevy::math::DVec2;
use serde_json::json;
use std::time::Instant;

/// Options of `jumeau bench scenario`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioBench {
    /// Cells of the flood DTM (a square).
    #[arg(long, default_value_t = 10_000_000)]
    pub flood_cells: usize,
    /// Levels of the slider the breadth-first baseline fills one by one.
    #[arg(long, default_value_t = 20)]
    pub levels: usize,
    /// Cells of the sunlight DSM (a square: 4 × 10⁶ = 1 km² at 0.5 m).
    #[arg(long, default_value_t = 4_000_000)]
    pub sun_cells: usize,
    /// Repetitions of the quick measurements (median reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Buildings of the roll-out (a département has about half a million).
    #[arg(long, default_value_t = 500_000)]
    pub premises: usize,
}

/// A roll-out of `count` buildings over the synthetic town of `cells` cells, dated over 2015–
/// 2030 (one in ten without a date).
fn bench_rollout(
    count: usize,
    cells: usize,
    runs: usize,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use crate::network::model::{Day, Status};
    use crate::scenario::rollout::{self, Premise, Timeline};
    let models = synthetic_models(cells);
    let grid = models.grid();
    let (lo, hi) = grid.extent();
    let first = Day::from_ymd(2015, 1, 1).ok_or("date")?.0;
    let premises: Vec<Premise> = (0..count as u64)
        .map(|i| {
            let h = |salt: u64| {
                let x = (i ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (x >> 11) as f64 / (1u64 << 53) as f64
            };
            let dated = h(1) > 0.1;
            Premise {
                id: i.to_string(),
                position: lo + (hi - lo) * DVec2::new(h(2), h(3)),
                status: [Status::Planned, Status::Built, Status::Lit][(h(4) * 3.0) as usize % 3]
                    .clone(),
                in_service: dated.then_some(Day(first + (h(5) * 5844.0) as i32)),
                phase: String::new(),
            }
        })
        .collect();
    let timeline_s = median(
        (0..runs)
            .map(|_| timed(|| std::hint::black_box(rollout::timeline(&premises, None))).1)
            .collect(),
    );
    let quarters = rollout::timeline(&premises, None);
    let (_, per_quarter_s) = timed(|| {
        for q in &quarters {
            std::hint::black_box(rollout::served_count(&premises, q.end));
        }
    });
    let buildings = crate::scenario::buildings::buildings_of(&models, None);
    let at = quarters.last().map_or(Day(first), |q| q.end);
    let (timeline, paint_s) = timed(|| Timeline::new(&premises, grid, &buildings, at));
    let legend = crate::scenario::map::rollout_legend();
    let step_ms = median(
        (0..runs * 2)
            .map(|k| {
                let day = quarters[k % quarters.len()].end;
                timed(|| {
                    std::hint::black_box(crate::scenario::map::OverlayImage::of_raster(
                        &timeline.served_on(day),
                        &legend,
                        crate::scenario::map::OVERLAY_MAX_SIDE,
                    ))
                })
                .1 * 1e3
            })
            .collect(),
    );
    Ok(json!({
        "buildings": premises.len(),
        "quarters": quarters.len(),
        "timeline_s": timeline_s,
        "count_per_quarter_s": per_quarter_s,
        "timeline_speedup": per_quarter_s / timeline_s,
        "terrain_cells": grid.len(),
        "terrain_buildings": buildings.len(),
        "paint_on_terrain_s": paint_s,
        "time_lapse_step_ms": step_ms,
    }))
}

/// The synthetic town's terrain: its DTM, its DSM, building cells where the DSM stands above.
fn synthetic_models(cells: usize) -> crate::terrain::TerrainModels {
    let dtm = synthetic_dtm(cells);
    let dsm = synthetic_dsm(cells);
    let top_class = dsm
        .values
        .iter()
        .zip(&dtm.values)
        .map(|(s, g)| if s > g { 6 } else { 2 })
        .collect();
    crate::terrain::TerrainModels {
        dtm,
        dsm,
        top_class,
    }
}

/// Radio over the synthetic town of `cells` half-metre cells (1 km² by default).
fn bench_radio(cells: usize, runs: usize) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use crate::scenario::radio::{
        Antenna, Coverage, CoverageSpec, Diffraction, RadioTerrain, line_of_sight, mast_loss,
        mast_loss_per_cell,
    };
    let models = synthetic_models(cells);
    let (lo, hi) = models.grid().extent();
    let centre = (lo + hi) / 2.0 + DVec2::new(1.0, 1.0);
    let (at_1m, resample_1m_s) = timed(|| RadioTerrain::new(&models, 1.0));
    let los_s = median(
        (0..runs)
            .map(|_| timed(|| std::hint::black_box(line_of_sight(&at_1m, centre, 30.0, 1.5))).1)
            .collect(),
    );
    let (at_2m, resample_2m_s) = timed(|| RadioTerrain::new(&models, 2.0));
    let spec = CoverageSpec {
        resolution_m: 2.0,
        receiver_height_m: 1.5,
        method: Diffraction::Deygout,
        indoor_loss_db: 0.0,
    };
    let sector = |azimuth: f64, position: DVec2| Antenna {
        id: format!("s{azimuth}"),
        position,
        height_m: 30.0,
        frequency_mhz: 3500.0,
        eirp_dbm: 60.0,
        azimuth_deg: Some(azimuth),
        beamwidth_deg: 65.0,
        tilt_deg: 4.0,
        vertical_beamwidth_deg: 10.0,
    };
    let sectors: Vec<Antenna> = [0.0, 120.0, 240.0].map(|a| sector(a, centre)).to_vec();
    let full_s = median(
        (0..runs.min(3))
            .map(|_| timed(|| Coverage::new(at_2m.clone(), spec.clone(), sectors.clone())).1)
            .collect(),
    );
    let mast_s = median(
        (0..runs.min(3))
            .map(|_| {
                timed(|| std::hint::black_box(mast_loss(&at_2m, &spec, centre, 30.0, 3500.0))).1
            })
            .collect(),
    );
    let (_, per_cell_s) =
        timed(|| std::hint::black_box(mast_loss_per_cell(&at_2m, &spec, centre, 30.0, 3500.0)));
    // A second mast, then one of the first mast's sectors moved next to it.
    let mut with_two = sectors.clone();
    with_two.push(sector(45.0, lo + DVec2::new(200.0, 200.0)));
    let (two, full_two_s) = timed(|| Coverage::new(at_2m.clone(), spec.clone(), with_two));
    let mut coverage = two?;
    let moved = sector(0.0, lo + DVec2::new(700.0, 300.0));
    let (moved, move_s) = timed(|| coverage.replace_site(0, moved));
    moved?;
    Ok(json!({
        "cells_1m": at_1m.grid().len(),
        "cells_2m": at_2m.grid().len(),
        "resample_1m_s": resample_1m_s,
        "resample_2m_s": resample_2m_s,
        "line_of_sight_1km2_1m_s": los_s,
        "coverage_3_sectors_1km2_2m_s": full_s,
        "one_mast_path_loss_s": mast_s,
        "per_cell_walk_one_mast_s": per_cell_s,
        "shared_profiles_speedup": per_cell_s / mast_s,
        "coverage_two_masts_4_antennas_s": full_two_s,
        "move_one_site_s": move_s,
        "move_in_full_two_mast_runs": move_s / full_two_s,
        "threads": rayon::current_num_threads(),
    }))
}

/// Rasterising a tileset's finest contents on a 0.5 m grid, against reading and baking them.
fn bench_building_raster(
    input: &str,
    runs: usize,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use crate::buildings::contents::for_each_finest_content;
    use crate::buildings::open::{choose_frame, open_buildings};
    use crate::terrain::mesh::MeshSurface;
    let load = || -> Result<_, Box<dyn std::error::Error>> {
        let opened = open_buildings(input)?;
        let frame = choose_frame(None, None, &[opened.centre()])?;
        let (mut layer, _) = opened.into_layer(frame.as_ref(), None, None)?;
        let mut contents = Vec::new();
        let walk = for_each_finest_content(&mut layer, 100_000, &mut |b| contents.push(b.clone()));
        Ok((walk, contents))
    };
    let mut load_s = Vec::new();
    let mut loaded = None;
    for _ in 0..runs {
        let started = Instant::now();
        loaded = Some(load()?);
        load_s.push(started.elapsed().as_secs_f64());
    }
    let (walk, contents) = loaded.ok_or("no run")?;
    let (mut lo, mut hi) = (DVec2::INFINITY, DVec2::NEG_INFINITY);
    for c in &contents {
        for p in c.parts.iter().flat_map(|p| &p.positions) {
            let xy = c.origin.truncate() + DVec2::new(f64::from(p[0]), f64::from(p[1]));
            (lo, hi) = (lo.min(xy), hi.max(xy));
        }
    }
    let grid = Grid::covering(lo, hi, 0.5).ok_or("the tile's grid")?;
    let mut covered = 0;
    let raster_s = median(
        (0..runs)
            .map(|_| {
                timed(|| {
                    let mut surface = MeshSurface::new(grid);
                    let mut uses = Vec::new();
                    for c in &contents {
                        crate::scenario::meshes::add_content(&mut surface, &mut uses, c);
                    }
                    covered = surface.covered();
                })
                .1
            })
            .collect(),
    );
    let load_s = median(load_s);
    let allocate_s = median(
        (0..runs)
            .map(|_| timed(|| std::hint::black_box(MeshSurface::new(grid))).1)
            .collect(),
    );
    Ok(json!({
        "input": input,
        "triangles": walk.triangles,
        "cells": grid.len(),
        "cells_covered": covered,
        "rasterise_s": raster_s,
        "of_which_allocating_the_grid_s": allocate_s,
        "read_and_bake_s": load_s,
        "ratio_to_read_and_bake": raster_s / load_s,
    }))
}

/// A rolling terrain with valleys, 0.5 m cells, deterministic.
fn synthetic_dtm(cells: usize) -> Raster {
    let side = (cells as f64).sqrt().round().max(2.0) as usize;
    let grid = Grid {
        min_xy: DVec2::new(650_000.0, 6_860_000.0),
        cell_m: 0.5,
        cols: side,
        rows: side,
    };
    let mut dtm = Raster::filled(grid, 0.0);
    for (i, v) in dtm.values.iter_mut().enumerate() {
        let (c, r) = grid.col_row(i);
        let (x, y) = (c as f64 * 0.5, r as f64 * 0.5);
        *v = (50.0
            + 10.0 * (x / 150.0).sin() * (y / 170.0).cos()
            + 4.0 * (x / 37.0 + y / 53.0).sin()
            + 0.5 * (x / 3.1).sin() * (y / 2.7).cos()) as f32;
    }
    dtm
}

/// A town: ground with 12 m blocks of 20 m every 50 m.
fn synthetic_dsm(cells: usize) -> Raster {
    let mut dsm = synthetic_dtm(cells);
    let grid = dsm.grid;
    for (i, v) in dsm.values.iter_mut().enumerate() {
        let (c, r) = grid.col_row(i);
        let (x, y) = ((c as f64 * 0.5) % 50.0, (r as f64 * 0.5) % 50.0);
        if x > 15.0 && x < 35.0 && y > 15.0 && y < 35.0 {
            *v += 12.0;
        }
    }
    dsm
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

/// The naive shadow of one cell: march towards the sun cell by cell until the ray clears the
/// highest surface.
fn ray_marched_shadow(
    dsm: &Raster,
    top: f32,
    (col, row): (usize, usize),
    azimuth_deg: f64,
    altitude_deg: f64,
) -> bool {
    let g = dsm.grid;
    let (sin, cos) = azimuth_deg.to_radians().sin_cos();
    let rise = altitude_deg.to_radians().tan() * g.cell_m;
    let z0 = dsm.at(col, row);
    let (mut x, mut y, mut z) = (col as f64 + 0.5, row as f64 + 0.5, f64::from(z0));
    loop {
        x += sin;
        y += cos;
        z += rise;
        if x < 0.0 || y < 0.0 || x >= g.cols as f64 || y >= g.rows as f64 || z > f64::from(top) {
            return false;
        }
        if f64::from(dsm.at(x as usize, y as usize)) > z + 0.01 {
            return true;
        }
    }
}

pub fn run(options: &ScenarioBench) -> Result<(), Box<dyn std::error::Error>> {
    let runs = options.runs.max(1);
    // Flood: one connection-level raster against a breadth-first fill per level.
    let dtm = synthetic_dtm(options.flood_cells);
    let g = dtm.grid;
    let seed = g.index(g.cols / 2, g.rows / 2);
    let (levels, connection_s) = timed(|| flood::connection_levels(&dtm, &[seed]));
    let (lo, hi) = dtm.range().unwrap_or((0.0, 1.0));
    let slider: Vec<f32> = (0..options.levels)
        .map(|k| lo + (hi - lo) * (k as f32 + 0.5) / options.levels as f32)
        .collect();
    let (_, bfs_s) = timed(|| {
        for &level in &slider {
            std::hint::black_box(flood::fill_at_level(&dtm, &[seed], level));
        }
    });
    let bfs_per_level_s = bfs_s / slider.len().max(1) as f64;
    let mid = slider[slider.len() / 2];
    let level_change_ms = median(
        (0..runs * 4)
            .map(|k| {
                let level = mid + (k % 3) as f32 * 0.1;
                timed(|| {
                    std::hint::black_box(flood::depths(&dtm, &levels, level, FloodMode::Connected))
                })
                .1 * 1e3
            })
            .collect(),
    );

    let legend = crate::scenario::map::depth_legend(5.0);
    let side = crate::scenario::map::OVERLAY_MAX_SIDE;
    let display = flood::WaterDisplay::new(&dtm, &levels, side);
    let level_change_display_ms = median(
        (0..runs * 4)
            .map(|k| {
                let level = mid + (k % 3) as f32 * 0.1;
                timed(|| std::hint::black_box(display.image(level, &legend))).1 * 1e3
            })
            .collect(),
    );

    // Sunlight: a day of 15-minute steps at the equinox (48 with the sun up) in Paris.
    let dsm = synthetic_dsm(options.sun_cells);
    let surface = Surface::new(&dsm);
    let day = Day {
        date: sun::parse_date("2026-03-20")?,
        offset: chrono::FixedOffset::east_opt(3600).ok_or("offset")?,
        step_minutes: 15,
    };
    let paris = Observer::at(2.35, 48.85, 35.0);
    let steps = (sun::day_length_h(&day, &paris)? * 4.0).round() as usize;
    let sunlight_s = median(
        (0..runs.min(3))
            .map(|_| {
                timed(|| sun::sunlight_hours(&surface, &day, &paris, GridNorth(0.0), &|| false)).1
            })
            .collect(),
    );
    let (_, sweep_s) = timed(|| std::hint::black_box(surface.shadow(200.0, 25.0)));
    // The baseline marches a ray from a sample of cells (every 97th) and scales up.
    let sample: Vec<usize> = (0..dsm.grid.len()).step_by(97).collect();
    let top = dsm.range().map_or(0.0, |r| r.1);
    let (_, march_sample_s) = timed(|| {
        for &i in &sample {
            std::hint::black_box(ray_marched_shadow(
                &dsm,
                top,
                dsm.grid.col_row(i),
                200.0,
                25.0,
            ));
        }
    });
    let march_s = march_sample_s * dsm.grid.len() as f64 / sample.len() as f64;

    // Terrain from the IGN tile, against decoding its points.
    let ign = crate::testdata::shared_data("lidar/test_semis_2023_0292_6833_LA93_IGN69.laz");
    let terrain = match &ign {
        Some(path) => {
            let source = crate::io::open(&path.display().to_string())?;
            let terrain_s = median(
                (0..runs)
                    .map(|_| {
                        timed(|| {
                            crate::terrain::build::from_sources(std::slice::from_ref(&source), None)
                        })
                        .1
                    })
                    .collect(),
            );
            let file = crate::pointcloud::las::LasFile::open(source.clone())?;
            let decode_s = median(
                (0..runs)
                    .map(|_| timed(|| crate::terrain::ground::las_points(&file)).1)
                    .collect(),
            );
            json!({ "input": path, "terrain_s": terrain_s, "decode_s": decode_s, "ratio_to_decode": terrain_s / decode_s })
        }
        None => json!("the IGN tile is not in ../shared/data"),
    };

    let buildings = match crate::testdata::shared_data("3dtiles/3dbag_tile_128/tileset.json") {
        Some(path) => bench_building_raster(&path.display().to_string(), runs)?,
        None => json!("the 3DBAG tile is not in ../shared/data"),
    };

    let radio = bench_radio(options.sun_cells, runs)?;
    let rollout = bench_rollout(options.premises, options.sun_cells, runs)?;

    let report = json!({
        "flood": {
            "cells": g.len(),
            "connection_levels_s": connection_s,
            "bfs_fill_per_level_s": bfs_per_level_s,
            "connection_in_bfs_fills": connection_s / bfs_per_level_s,
            "slider_levels": slider.len(),
            "bfs_slider_s": bfs_s,
            "level_change_full_raster_ms": level_change_ms,
            "level_change_display_ms": level_change_display_ms,
            "display_texels": crate::scenario::map::OVERLAY_MAX_SIDE.pow(2),
        },
        "sunlight": {
            "cells": dsm.grid.len(),
            "steps_with_sun": steps,
            "day_s": sunlight_s,
            "one_sweep_s": sweep_s,
            "ray_march_one_step_s": march_s,
            "sweep_speedup_over_ray_march": march_s / sweep_s,
        },
        "terrain_ign_tile": terrain,
        "buildings_into_dsm": buildings,
        "radio": radio,
        "rollout": rollout,
        "threads": rayon::current_num_threads(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
