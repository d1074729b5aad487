//! The planner's side panel (bevy_egui): layers, point budget and size, colour mode, per-class
//! visibility with counts, buildings (colour by attribute, the picked building's attributes),
//! live statistics and the errors of nodes and tiles that failed to load.

mod network;

use crate::buildings::streaming::{BuildingColor, Buildings};
use crate::camera::{CameraInput, ViewInset};
use crate::pointcloud::info::class_name;
use crate::pointcloud::streaming::{PointCloudSettings, PointClouds};
use crate::pointcloud::style::{ColorMode, class_color};
use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

pub(crate) fn plugin(app: &mut App) {
    app.add_plugins((EguiPlugin::default(), FrameTimeDiagnosticsPlugin::default()))
        .add_systems(EguiPrimaryContextPass, side_panel)
        .add_systems(
            PostUpdate,
            let_the_panel_take_the_pointer.before(crate::camera::CameraSystems::Input),
        );
}

/// The camera ignores the mouse while it is over the panel or dragging a slider.
fn let_the_panel_take_the_pointer(wants: Res<EguiWantsInput>, mut input: ResMut<CameraInput>) {
    input.captured_by_ui = wants.wants_any_pointer_input() || wants.wants_any_keyboard_input();
}

fn side_panel(
    mut contexts: EguiContexts,
    mut clouds: ResMut<PointClouds>,
    mut buildings: ResMut<Buildings>,
    mut networks: ResMut<crate::network::render::Networks>,
    mut settings: ResMut<PointCloudSettings>,
    diagnostics: Res<DiagnosticsStore>,
    mut inset: ResMut<ViewInset>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let mut root = egui::Ui::new(
        ctx.clone(),
        "viewport".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let panel = egui::Panel::left("jumeau_panel")
        .resizable(true)
        .default_size(300.0)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Jumeau");
                layers_ui(ui, &mut clouds);
                ui.separator();
                display_ui(ui, &mut settings);
                ui.separator();
                classes_ui(ui, &clouds, &mut settings);
                if !buildings.layers.is_empty() {
                    ui.separator();
                    buildings_ui(ui, &mut buildings);
                }
                if !networks.layers.is_empty() || networks.stats.loading > 0 {
                    ui.separator();
                    network::network_ui(ui, &mut networks);
                }
                ui.separator();
                stats_ui(ui, &clouds, &settings, &diagnostics);
                messages_ui(
                    ui,
                    clouds
                        .messages
                        .iter()
                        .chain(&buildings.messages)
                        .chain(&networks.messages),
                );
            });
        });
    let left_px = panel.response.rect.width() * ctx.pixels_per_point();
    network::draw_labels(ctx, &networks, f64::from(left_px));
    if (inset.left_px - left_px).abs() > 0.5 {
        inset.left_px = left_px;
    }
    Ok(())
}

fn layers_ui(ui: &mut egui::Ui, clouds: &mut PointClouds) {
    ui.label(egui::RichText::new("Layers").strong());
    for layer in &mut clouds.layers {
        ui.horizontal(|ui| {
            ui.checkbox(&mut layer.visible, &layer.name);
        });
        ui.add(egui::Slider::new(&mut layer.opacity, 0.05..=1.0).text("opacity"));
        ui.label(format!(
            "{} source(s), {} points",
            layer.sources.len(),
            group_digits(layer.total_points())
        ));
    }
}

fn display_ui(ui: &mut egui::Ui, settings: &mut PointCloudSettings) {
    ui.label(egui::RichText::new("Display").strong());
    ui.add(
        egui::Slider::new(&mut settings.point_budget, 100_000..=30_000_000)
            .logarithmic(true)
            .text("point budget"),
    );
    ui.add(egui::Slider::new(&mut settings.point_size_px, 1.0..=10.0).text("point size (px)"));
    ui.checkbox(&mut settings.adaptive_size, "adaptive size");
    ui.checkbox(&mut settings.edl, "eye-dome lighting");
    ui.horizontal_wrapped(|ui| {
        for mode in ColorMode::ALL {
            ui.radio_value(&mut settings.color_mode, mode, mode.label());
        }
    });
}

fn classes_ui(ui: &mut egui::Ui, clouds: &PointClouds, settings: &mut PointCloudSettings) {
    egui::CollapsingHeader::new("Classes (points loaded)")
        .default_open(settings.color_mode == ColorMode::Classification)
        .show(ui, |ui| {
            let counts = clouds.class_counts();
            for code in 0..=255u8 {
                let count = counts[usize::from(code)];
                if count == 0 {
                    continue;
                }
                ui.horizontal(|ui| {
                    let [r, g, b] = class_color(code);
                    ui.colored_label(egui::Color32::from_rgb(r, g, b), "■");
                    let mut visible = settings.classes.is_visible(code);
                    if ui
                        .checkbox(&mut visible, format!("{code} {}", class_name(code)))
                        .changed()
                    {
                        settings.classes.set_visible(code, visible);
                    }
                    ui.label(group_digits(count));
                });
            }
        });
}

fn stats_ui(
    ui: &mut egui::Ui,
    clouds: &PointClouds,
    settings: &PointCloudSettings,
    diagnostics: &DiagnosticsStore,
) {
    let s = &clouds.stats;
    ui.label(egui::RichText::new("Statistics").strong());
    ui.add(egui::ProgressBar::new(s.progress).text(format!(
        "loading {}/{} nodes",
        s.nodes_shown, s.nodes_wanted
    )));
    ui.label(format!("points shown: {}", group_digits(s.points_shown)));
    ui.label(format!(
        "nodes resident: {}  (queued {}, in flight {}, to upload {})",
        s.nodes_resident, s.queued, s.in_flight, s.pending_uploads
    ));
    ui.label(format!(
        "memory: {:.0} / {:.0} MiB",
        s.bytes_resident as f64 / 1048576.0,
        settings.memory_budget_bytes as f64 / 1048576.0
    ));
    ui.label(format!(
        "fetched: {:.1} MiB",
        s.bytes_fetched as f64 / 1048576.0
    ));
    if let Some(ms) = diagnostics
        .get(&FrameTimeDiagnosticsPlugin::FRAME_TIME)
        .and_then(|d| d.smoothed())
    {
        ui.label(format!(
            "frame time: {ms:.1} ms (streaming {:.2} ms)",
            s.streaming_ms
        ));
    }
    if s.failed > 0 {
        ui.colored_label(
            egui::Color32::from_rgb(230, 120, 60),
            format!("{} node(s) failed, retried later", s.failed),
        );
    }
}

fn messages_ui<'a>(ui: &mut egui::Ui, messages: impl DoubleEndedIterator<Item = &'a String>) {
    let latest: Vec<&String> = messages.rev().take(8).collect();
    if latest.is_empty() {
        return;
    }
    egui::CollapsingHeader::new("Errors")
        .default_open(true)
        .show(ui, |ui| {
            for message in latest {
                ui.label(egui::RichText::new(message).small());
            }
        });
}

const SERVICE_LABEL: &str = "service status (network)";

/// Building layers, colour by attribute, the picked building and the tile statistics.
fn buildings_ui(ui: &mut egui::Ui, buildings: &mut Buildings) {
    ui.label(egui::RichText::new("Buildings").strong());
    for layer in &mut buildings.layers {
        ui.checkbox(&mut layer.visible, &layer.name);
    }
    let names = buildings.attribute_names();
    let current = match &buildings.color {
        BuildingColor::Model => "materials".to_owned(),
        BuildingColor::Attribute(name) => name.clone(),
        BuildingColor::Service => SERVICE_LABEL.to_owned(),
    };
    egui::ComboBox::from_label("colour by")
        .selected_text(current)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut buildings.color, BuildingColor::Model, "materials");
            if !buildings.service.points.is_empty() {
                ui.selectable_value(&mut buildings.color, BuildingColor::Service, SERVICE_LABEL);
            }
            for name in names {
                let value = BuildingColor::Attribute(name.clone());
                ui.selectable_value(&mut buildings.color, value, name);
            }
        });
    let s = &buildings.stats;
    ui.label(format!(
        "tiles shown {} / resident {}  (queued {}, in flight {})",
        s.contents_shown, s.contents_resident, s.queued, s.in_flight
    ));
    ui.label(format!(
        "triangles: {}   memory: {:.0} MiB   fetched: {:.1} MiB",
        group_digits(s.triangles_shown as u64),
        s.bytes_resident as f64 / 1048576.0,
        s.bytes_fetched as f64 / 1048576.0
    ));
    if s.failed > 0 {
        ui.colored_label(
            egui::Color32::from_rgb(230, 120, 60),
            format!("{} tile(s) failed, retried later", s.failed),
        );
    }
    match &buildings.picked {
        None => {
            ui.label(egui::RichText::new("Click a building to see its attributes.").weak());
        }
        Some(picked) => {
            let mut clear = false;
            egui::CollapsingHeader::new("Picked building")
                .default_open(true)
                .show(ui, |ui| {
                    ui.label(format!(
                        "at {:.1}, {:.1}, {:.1}",
                        picked.point.x, picked.point.y, picked.point.z
                    ));
                    if picked.attributes.is_empty() {
                        ui.label("no attributes");
                    }
                    attribute_grid(ui, "picked_attributes", &picked.attributes);
                    clear = ui.button("clear").clicked();
                });
            if clear {
                buildings.picked = None;
            }
        }
    }
}

/// Name / value rows of a picked feature, striped.
fn attribute_grid(ui: &mut egui::Ui, id: &str, rows: &[(String, String)]) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for (name, value) in rows {
            ui.label(name);
            ui.label(value);
            ui.end_row();
        }
    });
}

/// 12345678 → "12 345 678".
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(super::group_digits(0), "0");
        assert_eq!(super::group_digits(999), "999");
        assert_eq!(super::group_digits(1_234_567), "1\u{202f}234\u{202f}567");
    }
}
