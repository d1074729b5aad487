//! The panel's scenario section: run (progress, cancel), choose the result shown, the flood
//! level slider, the figures, the legend, a histogram of the result and the export of the
//! files `jumeau scenario run` writes.

use super::i18n::t;
use crate::scenario::file::ScenarioKind;
use crate::scenario::view::{ScenarioView, histogram};
use bevy_egui::egui;
use std::sync::atomic::Ordering;

pub fn scenario_ui(ui: &mut egui::Ui, view: &mut ScenarioView) {
    let Some((file, base)) = view.file.clone() else {
        return;
    };
    ui.label(egui::RichText::new(t(ui, "Scenarios")).strong());
    ui.label(&file.name);
    match &view.running {
        Some(running) => {
            let done = running.done.load(Ordering::Relaxed);
            let fraction = done as f32 / running.total.max(1) as f32;
            let text = format!("{done} / {} {}", running.total, t(ui, "scenario(s)"));
            ui.add(egui::ProgressBar::new(fraction).animate(true).text(text));
            if ui.button(t(ui, "Cancel")).clicked() {
                view.cancel();
            }
        }
        None => {
            if ui.button(t(ui, "Run the scenarios")).clicked() {
                view.start_run();
            }
        }
    }
    if let Some(message) = &view.message {
        ui.colored_label(egui::Color32::from_rgb(230, 120, 60), message);
    }
    let mut selected = view.selected;
    for (i, r) in view.results.iter().chain(&view.comparison).enumerate() {
        let label = if i < view.results.len() {
            format!("{} ({})", r.title, t(ui, r.kind.name()))
        } else {
            format!("{} ({})", r.title, t(ui, "difference"))
        };
        if ui.selectable_label(selected == Some(i), label).clicked() {
            selected = if selected == Some(i) { None } else { Some(i) };
        }
    }
    if selected != view.selected {
        view.selected = selected;
        view.day = None;
        view.playing = None;
    }
    split_ui(ui, view);
    let Some(result) = view.selected_result().cloned() else {
        return;
    };
    if result.kind == ScenarioKind::Flood && result.connection.is_some() {
        let (lo, hi) = view.level_range();
        let mut level = view.level_m;
        ui.add(egui::Slider::new(&mut level, lo..=hi).text(t(ui, "water level (m)")));
        if level != view.level_m {
            view.level_m = level;
        }
    }
    if let Some(timeline) = &result.timeline
        && view.split.is_none()
    {
        rollout_ui(ui, view, timeline);
    }
    egui::Grid::new("scenario_figures")
        .striped(true)
        .show(ui, |ui| {
            for (key, value) in &result.figures {
                if key == "kind" || key == "title" {
                    continue;
                }
                ui.label(t(ui, key));
                ui.label(match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                ui.end_row();
            }
        });
    legend_ui(ui, &result.legend);
    let (start, width, counts) = histogram(&result, 24);
    let bars: Vec<egui_plot::Bar> = counts
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            egui_plot::Bar::new(f64::from(start + width * (k as f32 + 0.5)), n as f64)
                .width(f64::from(width))
        })
        .collect();
    let name = t(ui, "cells").to_owned();
    egui_plot::Plot::new("scenario_histogram")
        .height(110.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.bar_chart(egui_plot::BarChart::new(name, bars));
        });
    #[cfg(not(target_arch = "wasm32"))]
    {
        let out = base.join(format!("{}-results", file_stem(&file.name)));
        if ui
            .button(format!("{} {}", t(ui, "Export to"), out.display()))
            .clicked()
            && let Some(territory) = view.territory.clone()
        {
            let run = crate::scenario::run::Run::new(file.clone(), territory, view.results.clone());
            view.message = Some(match crate::scenario::run::write_outputs(&run, &out) {
                Ok(_) => format!("{} {}", t(ui, "written:"), out.display()),
                Err(e) => e.to_string(),
            });
        }
    }
    #[cfg(target_arch = "wasm32")]
    let _ = base;
}

/// Seconds between two quarters of the time-lapse.
const PLAY_STEP_S: f64 = 0.6;

/// The roll-out: the share of buildings served by quarter, the quarter the map shows (a slider
/// and a time-lapse that plays the quarters in turn).
fn rollout_ui(
    ui: &mut egui::Ui,
    view: &mut ScenarioView,
    timeline: &crate::scenario::rollout::Timeline,
) {
    use crate::network::model::Day;
    use crate::scenario::rollout::decimal_year;
    let quarters = &timeline.quarters;
    if quarters.is_empty() {
        return;
    }
    let day = view.day.map_or(timeline.at, Day);
    let mut k = quarters
        .iter()
        .position(|q| q.end >= day)
        .unwrap_or(quarters.len() - 1);
    let before = k;
    ui.horizontal(|ui| {
        let playing = view.playing.is_some();
        if ui
            .button(t(ui, if playing { "Pause" } else { "Play" }))
            .clicked()
        {
            view.playing = if playing {
                None
            } else {
                if k + 1 == quarters.len() {
                    k = 0;
                }
                Some(ui.input(|i| i.time))
            };
        }
        let label = quarters[k].label.clone();
        ui.add(
            egui::Slider::new(&mut k, 0..=quarters.len() - 1)
                .show_value(false)
                .text(label),
        );
    });
    if let Some(last) = view.playing {
        let now = ui.input(|i| i.time);
        if now - last >= PLAY_STEP_S {
            if k + 1 < quarters.len() {
                k += 1;
                view.playing = Some(now);
            } else {
                view.playing = None;
            }
        }
        ui.ctx().request_repaint();
    }
    if k != before {
        view.day = Some(quarters[k].end.0);
    }
    let q = &quarters[k];
    ui.label(format!(
        "{} {}: {} / {} ({:.1} %)",
        t(ui, "served"),
        q.end,
        q.served,
        q.total,
        q.share() * 100.0
    ));
    let points: Vec<[f64; 2]> = quarters
        .iter()
        .map(|q| [decimal_year(q.end), q.share() * 100.0])
        .collect();
    let now = decimal_year(q.end);
    let name = t(ui, "share of buildings served").to_owned();
    let marker = t(ui, "quarter").to_owned();
    egui_plot::Plot::new("rollout_share")
        .height(130.0)
        .include_y(0.0)
        .include_y(100.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .y_axis_label("%")
        .show(ui, |plot| {
            plot.line(egui_plot::Line::new(name, points));
            plot.vline(egui_plot::VLine::new(marker, now));
        });
}

/// The split view: two results side by side under one camera, the divider dragged on the
/// view or set here.
fn split_ui(ui: &mut egui::Ui, view: &mut ScenarioView) {
    let count = view.results.len() + usize::from(view.comparison.is_some());
    if count < 2 {
        return;
    }
    let mut on = view.split.is_some();
    ui.checkbox(&mut on, t(ui, "split view"));
    let mut split = match (on, view.split) {
        (false, _) => {
            if view.split.is_some() {
                view.split = None;
            }
            return;
        }
        (true, Some(split)) => split,
        (true, None) => crate::scenario::view::Split {
            left: 0,
            right: 1,
            divider: 0.5,
        },
    };
    let title = |i: usize| view.result(i).map_or(String::new(), |r| r.title.clone());
    for (label, index) in [
        (t(ui, "left"), &mut split.left),
        (t(ui, "right"), &mut split.right),
    ] {
        egui::ComboBox::from_label(label)
            .selected_text(title(*index))
            .show_ui(ui, |ui| {
                for i in 0..count {
                    ui.selectable_value(index, i, title(i));
                }
            });
    }
    ui.add(egui::Slider::new(&mut split.divider, 0.05..=0.95).text(t(ui, "divider")));
    if view.split != Some(split) {
        view.split = Some(split);
    }
}

/// The split view's divider drawn over the 3D view, right of the panel (`left_px`, physical
/// pixels); dragging it moves it.
pub fn divider_ui(ctx: &egui::Context, view: &mut ScenarioView, left_px: f32) {
    let Some(mut split) = view.split else {
        return;
    };
    let rect = ctx.content_rect();
    let left = left_px / ctx.pixels_per_point();
    let x = left + split.divider * (rect.width() - left);
    let response = egui::Area::new("split_divider".into())
        .fixed_pos(egui::pos2(x - 6.0, rect.top()))
        .show(ctx, |ui| {
            let (handle, response) =
                ui.allocate_exact_size(egui::vec2(12.0, rect.height()), egui::Sense::drag());
            let stroke = egui::Stroke::new(2.0, egui::Color32::WHITE);
            ui.painter()
                .vline(handle.center().x, handle.y_range(), stroke);
            ui.painter()
                .circle_filled(handle.center(), 7.0, egui::Color32::WHITE);
            response
        })
        .inner;
    if response.dragged() {
        let width = (rect.width() - left).max(1.0);
        split.divider = (split.divider + response.drag_delta().x / width).clamp(0.05, 0.95);
        view.split = Some(split);
    }
}

/// A file-name-safe form of a scenario file's name.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    stem.trim_matches('-').to_lowercase()
}

fn legend_ui(ui: &mut egui::Ui, legend: &crate::scenario::map::Legend) {
    ui.horizontal_wrapped(|ui| {
        for (k, &(value, [r, g, b, _])) in legend.stops.iter().enumerate() {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 2.0, egui::Color32::from_rgb(r, g, b));
            match legend.labels.get(k) {
                // A class is named; its lower bound follows (the lowest has none).
                Some(label) if k == 0 => ui.label(t(ui, label)),
                Some(label) => ui.label(format!("{} ≥ {value}", t(ui, label))),
                None => ui.label(format!("{value}{}", legend.unit.to_lowercase())),
            };
        }
    });
}
