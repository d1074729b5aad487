//! The panel's profile: the tool switched on, the band's width, the points of the band plotted
//! along the line (coloured by class, as in 3D) with the ground line, the pointer's distance
//! and height, two clicks in the plot measuring between them, and the export as CSV or LAS;
//! the line drawn over the 3D view.

use super::i18n::t;
use crate::front::profile::ProfileTool;
use crate::pointcloud::info::class_name;
use crate::pointcloud::streaming::PointClouds;
use crate::pointcloud::style::class_color;
use bevy_egui::egui;
use std::collections::BTreeMap;

/// Most points plotted (every n-th beyond; the exports keep them all).
const MAX_PLOTTED: usize = 200_000;

pub fn profile_ui(
    ui: &mut egui::Ui,
    tool: &mut ProfileTool,
    clouds: &PointClouds,
    terrain: Option<&crate::terrain::TerrainModels>,
) {
    ui.label(egui::RichText::new(t(ui, "Profile")).strong());
    ui.checkbox(
        &mut tool.on,
        t(ui, "draw a profile: click its start, then its end"),
    );
    if !tool.on && tool.profile.is_none() {
        return;
    }
    let width = ui.add(
        egui::DragValue::new(&mut tool.width_m)
            .range(0.1..=100.0)
            .speed(0.1)
            .suffix(" m"),
    );
    if width.drag_stopped() || (width.changed() && !width.dragged()) {
        tool.read(clouds);
    }
    if tool.busy {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(t(ui, "reading the band…"));
        });
    }
    if let Some(message) = &tool.message {
        ui.colored_label(egui::Color32::from_rgb(230, 120, 60), message);
    }
    let Some(profile) = tool.profile.clone() else {
        return;
    };
    ui.label(format!(
        "{} {} · {:.1} m × {:.1} m",
        profile.points.len(),
        t(ui, "points"),
        profile.band.length_m(),
        profile.band.width_m
    ));
    let stride = profile.points.len().div_ceil(MAX_PLOTTED).max(1);
    let mut by_class: BTreeMap<u8, Vec<[f64; 2]>> = BTreeMap::new();
    for p in profile.points.iter().step_by(stride) {
        by_class
            .entry(p.classification)
            .or_default()
            .push([p.distance_m, p.position.z]);
    }
    let (t_ground, t_measure) = (
        t(ui, "ground (DTM)").to_owned(),
        t(ui, "measured").to_owned(),
    );
    let names: Vec<(u8, String)> = by_class
        .keys()
        .map(|&c| (c, t(ui, class_name(c)).to_owned()))
        .collect();
    let ground = terrain.map(|t| profile.band.ground_line(&t.dtm));
    let response = egui_plot::Plot::new("point_profile")
        .height(200.0)
        .data_aspect(1.0)
        .legend(egui_plot::Legend::default())
        .x_axis_label("m")
        .y_axis_label("z (m)")
        .show(ui, |plot| {
            for (class, name) in names {
                let [r, g, b] = class_color(class);
                let points = by_class.remove(&class).unwrap_or_default();
                plot.points(
                    egui_plot::Points::new(name, points)
                        .radius(1.2)
                        .color(egui::Color32::from_rgb(r, g, b)),
                );
            }
            if let Some(ground) = ground {
                plot.line(
                    egui_plot::Line::new(t_ground, ground)
                        .color(egui::Color32::from_rgb(250, 250, 250))
                        .width(1.5),
                );
            }
            if tool.marks.len() == 2 {
                plot.line(
                    egui_plot::Line::new(t_measure, tool.marks.clone())
                        .color(egui::Color32::from_rgb(120, 220, 255))
                        .width(2.0),
                );
            }
            plot.pointer_coordinate()
        });
    if let Some(at) = response.inner {
        ui.label(format!(
            "{}: {:.2} m · z {:.2} m",
            t(ui, "along the line"),
            at.x,
            at.y
        ));
        if response.response.clicked() {
            // Two clicks measure; a third starts over.
            if tool.marks.len() == 2 {
                tool.marks.clear();
            }
            tool.marks.push([at.x, at.y]);
        }
    }
    if let [a, b] = tool.marks[..] {
        let (along, dz) = (b[0] - a[0], b[1] - a[1]);
        ui.label(format!(
            "Δ {:.2} m · Δz {:+.2} m · {:+.1} %",
            along.abs(),
            dz,
            if along.abs() > 1e-9 {
                100.0 * dz / along.abs()
            } else {
                f64::NAN
            }
        ));
    } else {
        ui.label(t(
            ui,
            "click twice in the plot to measure between two places",
        ));
    }
    #[cfg(not(target_arch = "wasm32"))]
    ui.horizontal(|ui| {
        ui.text_edit_singleline(&mut tool.export_stem);
        for (label, extension) in [("CSV", "csv"), ("LAS", "las")] {
            if ui.button(label).clicked() {
                let path = std::path::PathBuf::from(format!("{}.{extension}", tool.export_stem));
                let bytes = if extension == "las" {
                    crate::terrain::profile::to_las(&profile)
                } else {
                    Ok(crate::terrain::profile::to_csv(&profile.points).into_bytes())
                };
                tool.message = Some(
                    match bytes.and_then(|b| {
                        std::fs::write(&path, b).map_err(|e| format!("{}: {e}", path.display()))
                    }) {
                        Ok(()) => format!("{} {}", t(ui, "written:"), path.display()),
                        Err(e) => e,
                    },
                );
            }
        }
    });
}

/// The line and the band's edges drawn over the 3D view, right of the panel (`left_px`).
pub fn draw_line(ctx: &egui::Context, tool: &ProfileTool, left_px: f32) {
    let (Some(screen), Some(from)) = (tool.screen, tool.from) else {
        return;
    };
    if !tool.on {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Middle,
        egui::Id::new("profile_line"),
    ));
    let ppp = f64::from(ctx.pixels_per_point());
    let at = |p: bevy::math::DVec3| {
        let px = screen.project(p)?;
        (px.x > f64::from(left_px)).then(|| egui::pos2((px.x / ppp) as f32, (px.y / ppp) as f32))
    };
    let colour = egui::Color32::from_rgb(255, 220, 60);
    if let Some(a) = at(from) {
        painter.circle_filled(a, 5.0, colour);
    }
    let Some(to) = tool.to else {
        return;
    };
    if let (Some(a), Some(b)) = (at(from), at(to)) {
        painter.line_segment([a, b], egui::Stroke::new(2.0, colour));
        painter.circle_filled(b, 5.0, colour);
    }
    // The band's edges, at the ends' heights.
    let axis = (to - from).truncate().normalize_or_zero();
    let side = axis.perp().extend(0.0) * tool.width_m / 2.0;
    for s in [side, -side] {
        if let (Some(a), Some(b)) = (at(from + s), at(to + s)) {
            painter.line_segment([a, b], egui::Stroke::new(1.0, colour.gamma_multiply(0.7)));
        }
    }
}
