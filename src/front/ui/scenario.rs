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
    }
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

/// A file-name-safe form of a scenario file's name.
#[cfg(not(target_arch = "wasm32"))]
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    stem.trim_matches('-').to_lowercase()
}

fn legend_ui(ui: &mut egui::Ui, legend: &crate::scenario::map::Legend) {
    ui.horizontal_wrapped(|ui| {
        for &(value, [r, g, b, _]) in &legend.stops {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 2.0, egui::Color32::from_rgb(r, g, b));
            ui.label(format!("{value}{}", legend.unit.to_lowercase()));
        }
    });
}
