//! The panel's network section (legend, filters, time slider, the picked feature) and the
//! site labels drawn over the 3D view.

use super::group_digits;
use super::i18n::t;
use crate::network::model::{Day, SiteKind};
use crate::network::overlay::{
    Feature, KIND_NAMES, NetworkColor, STATUS_COLORS, STATUS_NAMES, counts, day_range, place_labels,
};
use crate::network::render::Networks;
use bevy_egui::egui;

/// Labels at most on screen at once.
const MAX_LABELS: usize = 80;

fn color32([r, g, b]: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(r, g, b)
}

/// Draws the symbol the shader draws for `kind` (a line for spans) in `color`.
fn legend_symbol(ui: &mut egui::Ui, kind: usize, color: egui::Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(16.0, 14.0), egui::Sense::hover());
    let painter = ui.painter();
    let c = rect.center();
    let r = 5.5;
    let outline = egui::Stroke::new(1.0, egui::Color32::BLACK);
    match kind {
        0 | 5 => {
            let half = if kind == 0 { r } else { r * 0.75 };
            painter.rect(
                egui::Rect::from_center_size(c, egui::vec2(2.0 * half, 2.0 * half)),
                0.0,
                color,
                outline,
                egui::StrokeKind::Inside,
            );
        }
        1 | 3 => {
            let points = if kind == 1 {
                vec![
                    c + egui::vec2(0.0, -r),
                    c + egui::vec2(r, 0.0),
                    c + egui::vec2(0.0, r),
                    c + egui::vec2(-r, 0.0),
                ]
            } else {
                vec![
                    c + egui::vec2(0.0, -r),
                    c + egui::vec2(r, r),
                    c + egui::vec2(-r, r),
                ]
            };
            painter.add(egui::Shape::convex_polygon(points, color, outline));
        }
        7 => {
            painter.line_segment(
                [c - egui::vec2(7.0, 0.0), c + egui::vec2(7.0, 0.0)],
                egui::Stroke::new(4.0, color),
            );
        }
        _ => {
            let radius = if kind == 2 { r * 0.8 } else { r };
            painter.circle(c, radius, color, outline);
        }
    }
}

/// Layers, legend with counts, colour mode, filters, time slider, picked feature, notes.
pub fn network_ui(ui: &mut egui::Ui, networks: &mut Networks) {
    ui.label(egui::RichText::new(t(ui, "Network")).strong());
    if networks.stats.loading > 0 {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!(
                "{} {}",
                networks.stats.loading,
                t(ui, "loading layer(s): reading, draping…")
            ));
        });
    }
    for shown in &mut networks.layers {
        ui.checkbox(&mut shown.layer.visible, &shown.layer.name);
        for note in &shown.layer.notes {
            ui.label(egui::RichText::new(note).small());
        }
    }
    // First, so that a click's answer is on screen without scrolling.
    picked_ui(ui, networks);
    ui.horizontal(|ui| {
        ui.label(t(ui, "colour by"));
        for mode in NetworkColor::ALL {
            ui.radio_value(&mut networks.style.color, mode, t(ui, mode.label()));
        }
    });
    ui.add(
        egui::Slider::new(&mut networks.style.line_width_px, 1.0..=12.0)
            .text(t(ui, "line width (px)")),
    );
    ui.add(
        egui::Slider::new(&mut networks.style.symbol_scale, 0.5..=3.0).text(t(ui, "symbol size")),
    );
    ui.checkbox(&mut networks.style.sectors, t(ui, "antenna sectors"));
    ui.checkbox(
        &mut networks.style.xray,
        t(ui, "x-ray: show through buildings, trees and ground"),
    );

    // Legend and filters: counts are of what the other filters leave shown.
    let (mut kinds, mut statuses) = ([0usize; 8], [0usize; 4]);
    for shown in networks.layers.iter().filter(|l| l.layer.visible) {
        let filter = shown.filter(networks);
        let (k, s) = counts(&shown.layer.network, &filter, &shown.operators);
        kinds.iter_mut().zip(k).for_each(|(a, b)| *a += b);
        statuses.iter_mut().zip(s).for_each(|(a, b)| *a += b);
    }
    egui::CollapsingHeader::new(t(ui, "Legend and filters"))
        .default_open(true)
        .show(ui, |ui| {
            ui.label(egui::RichText::new(t(ui, "status")).weak());
            for (i, name) in STATUS_NAMES.iter().enumerate() {
                ui.horizontal(|ui| {
                    legend_symbol(ui, 7, color32(STATUS_COLORS[i]));
                    ui.checkbox(&mut networks.filter.statuses[i], t(ui, name));
                    ui.label(group_digits(statuses[i] as u64));
                });
            }
            ui.label(egui::RichText::new(t(ui, "kind")).weak());
            for (i, name) in KIND_NAMES.iter().enumerate() {
                ui.horizontal(|ui| {
                    legend_symbol(ui, i, egui::Color32::from_gray(200));
                    ui.checkbox(&mut networks.filter.kinds[i], t(ui, name));
                    ui.label(group_digits(kinds[i] as u64));
                });
            }
            let operators = networks.operator_names();
            if operators.len() > 1 {
                ui.label(egui::RichText::new(t(ui, "operator")).weak());
                for name in operators {
                    let mut shown = !networks.hidden_operators.contains(&name);
                    if ui.checkbox(&mut shown, &name).changed() {
                        if shown {
                            networks.hidden_operators.remove(&name);
                        } else {
                            networks.hidden_operators.insert(name);
                        }
                    }
                }
            }
        });
    time_slider(ui, networks);
    ui.label(format!(
        "{} {}, {} {}, {} {} ({:.1} MiB), {:.2} {}",
        group_digits(networks.stats.sites as u64),
        t(ui, "sites"),
        group_digits(networks.stats.spans as u64),
        t(ui, "spans"),
        networks.stats.chunks,
        t(ui, "meshes"),
        networks.stats.gpu_bytes as f64 / 1048576.0,
        networks.stats.main_thread_ms,
        t(ui, "ms per frame")
    ));
}

/// Roll-out over time: only what is in service on the chosen day (undated features stay).
fn time_slider(ui: &mut egui::Ui, networks: &mut Networks) {
    let Some((first, last)) = day_range(networks.layers.iter().map(|l| &l.layer.network)) else {
        return;
    };
    let mut on = networks.filter.until.is_some();
    ui.checkbox(&mut on, t(ui, "roll-out by date"));
    if !on {
        networks.filter.until = None;
        return;
    }
    let mut day = networks
        .filter
        .until
        .unwrap_or(last)
        .0
        .clamp(first.0, last.0);
    ui.add(
        egui::Slider::new(&mut day, first.0..=last.0)
            .custom_formatter(|d, _| Day(d as i32).to_string())
            .text(t(ui, "in service by")),
    );
    networks.filter.until = Some(Day(day));
}

fn picked_ui(ui: &mut egui::Ui, networks: &mut Networks) {
    let Some(picked) = networks.picked.clone() else {
        ui.label(egui::RichText::new(t(ui, "Click a site or span to see its attributes.")).weak());
        return;
    };
    let Some(shown) = networks.layers.get(picked.layer) else {
        return;
    };
    let network = &shown.layer.network;
    let mut rows: Vec<(String, String)> = Vec::new();
    let (title, properties) = match picked.feature {
        Feature::Site(i) => {
            let Some(site) = network.sites.get(i) else {
                return;
            };
            rows.push(("id".into(), site.id.clone()));
            rows.push(("kind".into(), kind_label(&site.kind)));
            rows.push(("status".into(), status_label(&site.status)));
            let p = site.position;
            rows.push((
                "position".into(),
                format!("{:.1}, {:.1}, {:.1}", p.x, p.y, p.z),
            ));
            push_common(&mut rows, &site.operator, site.in_service);
            ("Picked site", &site.properties)
        }
        Feature::Span(i) => {
            let Some(span) = network.spans.get(i) else {
                return;
            };
            rows.push(("id".into(), span.id.clone()));
            rows.push(("status".into(), status_label(&span.status)));
            let length: f64 = span.path.windows(2).map(|w| w[0].distance(w[1])).sum();
            rows.push(("length".into(), format!("{length:.1} m")));
            if let Some(fibres) = span.capacity_fibres {
                rows.push(("fibres".into(), fibres.to_string()));
            }
            push_common(&mut rows, &span.operator, span.in_service);
            ("Picked span", &span.properties)
        }
    };
    for (key, value) in properties {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let text = if text.chars().count() > 80 {
            format!("{}…", text.chars().take(80).collect::<String>())
        } else {
            text
        };
        // A source property already shown as read (same name, same text) is not repeated.
        let shown = rows
            .iter()
            .any(|(k, v)| *v == text && k.replace(' ', "_").eq_ignore_ascii_case(key));
        if !shown {
            rows.push((key.clone(), text));
        }
    }
    let mut clear = false;
    egui::CollapsingHeader::new(t(ui, title))
        .default_open(true)
        .show(ui, |ui| {
            ui.label(egui::RichText::new(&shown.layer.name).weak());
            super::attribute_grid(ui, "picked_network", &rows);
            clear = ui.button(t(ui, "clear")).clicked();
        });
    if clear {
        networks.picked = None;
    }
}

fn push_common(rows: &mut Vec<(String, String)>, operator: &Option<String>, day: Option<Day>) {
    if let Some(operator) = operator {
        rows.push(("operator".into(), operator.clone()));
    }
    if let Some(day) = day {
        rows.push(("in service".into(), day.to_string()));
    }
}

fn kind_label(kind: &SiteKind) -> String {
    match kind {
        SiteKind::Other(name) if !name.is_empty() => format!("other ({name})"),
        kind => KIND_NAMES[crate::network::overlay::kind_index(kind) as usize].to_owned(),
    }
}

fn status_label(status: &crate::network::model::Status) -> String {
    match status {
        crate::network::model::Status::Unknown(text) if !text.is_empty() => {
            format!("unknown ({text})")
        }
        status => STATUS_NAMES[crate::network::overlay::status_index(status) as usize].to_owned(),
    }
}

/// Names of offices, cabinets and masts beside their symbols, decluttered.
pub fn draw_labels(ctx: &egui::Context, networks: &Networks, panel_px: f64) {
    let Some(screen) = networks.screen else {
        return;
    };
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Middle,
        egui::Id::new("network_labels"),
    ));
    let ppp = f64::from(ctx.pixels_per_point());
    let font = egui::FontId::proportional(12.0);
    let mut left = MAX_LABELS;
    for shown in networks.layers.iter().filter(|l| l.layer.visible) {
        let filter = shown.filter(networks);
        let labels = place_labels(
            &shown.layer.network,
            &filter,
            &shown.operators,
            &screen,
            networks.eye,
            (7.0 * ppp, 14.0 * ppp),
            left,
        );
        left -= labels.len();
        for label in labels.into_iter().filter(|l| l.at_px.x > panel_px) {
            let kind =
                crate::network::overlay::kind_index(&shown.layer.network.sites[label.site].kind);
            let offset =
                f64::from(crate::network::overlay::KIND_SIZE_PX[kind as usize]) * 0.5 + 3.0;
            let at = egui::pos2(
                ((label.at_px.x + offset) / ppp) as f32,
                (label.at_px.y / ppp) as f32,
            );
            let galley = painter.layout_no_wrap(label.text, font.clone(), egui::Color32::WHITE);
            let rect = egui::Align2::LEFT_CENTER
                .anchor_size(at, galley.size())
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
