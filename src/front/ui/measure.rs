//! The panel's measure tool: what clicks measure, finish and undo, each measurement's figures
//! with a delete button, the export as GeoJSON; the measurements drawn over the 3D view with
//! their labels.

use super::i18n::t;
use crate::front::measure::{MeasureKind, MeasureTool};
use crate::georef::GeoFrame;
use bevy_egui::egui;

pub fn measure_ui(ui: &mut egui::Ui, tool: &mut MeasureTool, frame: Option<&GeoFrame>) {
    ui.label(egui::RichText::new(t(ui, "Measure")).strong());
    let before = tool.kind;
    ui.horizontal_wrapped(|ui| {
        for (kind, name) in [
            (MeasureKind::Off, "off"),
            (MeasureKind::Point, "point"),
            (MeasureKind::Distance, "distance"),
            (MeasureKind::Polyline, "polyline"),
            (MeasureKind::Polygon, "polygon"),
        ] {
            ui.selectable_value(&mut tool.kind, kind, t(ui, name));
        }
    });
    if tool.kind != before {
        tool.current.clear();
        tool.editing = None;
    }
    ui.horizontal(|ui| {
        if matches!(tool.kind, MeasureKind::Polyline | MeasureKind::Polygon)
            && ui.button(t(ui, "finish")).clicked()
        {
            tool.finish();
        }
        if ui.button(t(ui, "undo")).clicked() {
            tool.undo();
        }
        if !tool.done.is_empty() && ui.button(t(ui, "delete all")).clicked() {
            tool.done.clear();
        }
    });
    match &tool.terrain_state {
        crate::front::measure::TerrainState::Building(_) if tool.terrain.is_none() => {
            ui.label(t(ui, "building the terrain for heights and volumes…"));
        }
        crate::front::measure::TerrainState::Failed(e) => {
            ui.colored_label(egui::Color32::from_rgb(230, 120, 60), e);
        }
        _ => {}
    }
    if let Some(message) = &tool.message {
        ui.colored_label(egui::Color32::from_rgb(230, 120, 60), message);
    }
    let mut delete = None;
    let mut edit = None;
    for (i, m) in tool.done.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.small_button("✖").clicked() {
                delete = Some(i);
            }
            let editing = tool.editing == Some(i);
            if ui
                .selectable_label(editing, "✏")
                .on_hover_text(t(
                    ui,
                    "click where a vertex goes: the nearest one moves there",
                ))
                .clicked()
            {
                edit = Some((!editing).then_some(i));
            }
            let figures: Vec<String> = m
                .figures(frame, tool.terrain.as_deref())
                .iter()
                .map(|(name, v)| format!("{} {v:.3}", t(ui, name)))
                .collect();
            ui.label(format!(
                "{}: {}",
                t(ui, &format!("{:?}", m.kind).to_lowercase()),
                figures.join(" · ")
            ));
        });
    }
    if let Some(editing) = edit {
        tool.editing = editing;
        tool.kind = MeasureKind::Off;
    }
    if let Some(i) = delete {
        tool.done.remove(i);
        tool.editing = None;
    }
    #[cfg(not(target_arch = "wasm32"))]
    if !tool.done.is_empty() && ui.button(t(ui, "Export as GeoJSON")).clicked() {
        let path = std::path::PathBuf::from("measurements.geojson");
        let text = tool.geojson(frame).to_string();
        tool.message = Some(match std::fs::write(&path, text) {
            Ok(()) => format!("{} {}", t(ui, "written:"), path.display()),
            Err(e) => format!("{}: {e}", path.display()),
        });
    }
}

/// The measurements and the one being drawn, over the 3D view right of the panel.
pub fn draw_measurements(ctx: &egui::Context, tool: &MeasureTool, left_px: f32) {
    let Some(screen) = tool.screen else {
        return;
    };
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Middle,
        egui::Id::new("measurements"),
    ));
    let ppp = f64::from(ctx.pixels_per_point());
    let at = |p: bevy::math::DVec3| {
        let px = screen.project(p)?;
        (px.x > f64::from(left_px)).then(|| egui::pos2((px.x / ppp) as f32, (px.y / ppp) as f32))
    };
    let colour = egui::Color32::from_rgb(120, 220, 255);
    let current = crate::front::measure::Measurement {
        kind: tool.kind,
        points: tool.current.clone(),
    };
    for m in tool.done.iter().chain(std::iter::once(&current)) {
        let mut points: Vec<egui::Pos2> = m.points.iter().filter_map(|p| at(*p)).collect();
        if m.kind == MeasureKind::Polygon && points.len() > 2 {
            points.push(points[0]);
        }
        for w in points.windows(2) {
            painter.line_segment([w[0], w[1]], egui::Stroke::new(2.0, colour));
        }
        for p in &points {
            painter.circle_filled(*p, 4.0, colour);
        }
        let label = m.label();
        if let (Some(last), false) = (points.last(), label.is_empty() || m.points.is_empty()) {
            let galley = painter.layout_no_wrap(
                label,
                egui::FontId::proportional(13.0),
                egui::Color32::WHITE,
            );
            let rect = egui::Align2::LEFT_BOTTOM
                .anchor_size(*last + egui::vec2(8.0, -6.0), galley.size())
                .expand(2.0);
            painter.rect_filled(rect, 3.0, egui::Color32::from_black_alpha(170));
            painter.galley(
                rect.min + egui::vec2(2.0, 2.0),
                galley,
                egui::Color32::WHITE,
            );
        }
    }
}
