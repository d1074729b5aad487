//! The panel's radio tools: a point-to-point link (its profile with the line of sight and the
//! first Fresnel zone, its loss broken down) and the sites of the coverage shown, edited with
//! the mouse (what if); their markers are drawn over the 3D view.

use super::i18n::t;
use crate::scenario::radio::Diffraction;
use crate::scenario::tools::{Edit, RadioTools, SiteAction, ToolMode};
use crate::scenario::view::ScenarioView;
use bevy::math::{DVec2, DVec3};
use bevy_egui::egui;

pub fn radio_ui(ui: &mut egui::Ui, tools: &mut RadioTools, view: &mut ScenarioView) {
    let Some(territory) = view.territory.clone() else {
        return;
    };
    ui.label(egui::RichText::new(t(ui, "Radio tools")).strong());
    let coverage = tools.coverage(view);
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut tools.mode, ToolMode::Off, t(ui, "off"));
        ui.selectable_value(&mut tools.mode, ToolMode::Link, t(ui, "link"));
        if coverage.is_some() {
            ui.selectable_value(&mut tools.mode, ToolMode::Sites, t(ui, "sites (what if)"));
        }
    });
    match tools.mode {
        ToolMode::Off => {}
        ToolMode::Link => link_ui(ui, tools, coverage.as_deref(), &territory.models),
        ToolMode::Sites => sites_ui(ui, tools, view),
    }
}

fn link_ui(
    ui: &mut egui::Ui,
    tools: &mut RadioTools,
    coverage: Option<&crate::scenario::radio::Coverage>,
    models: &crate::terrain::TerrainModels,
) {
    let link = &mut tools.link;
    ui.label(t(
        ui,
        "click the transmitter's place on the terrain, then the receiver's",
    ));
    let mut changed = false;
    if let Some(coverage) = coverage {
        let chosen = link
            .antenna
            .as_ref()
            .map_or_else(|| t(ui, "a place clicked").to_owned(), |a| a.id.clone());
        egui::ComboBox::from_label(t(ui, "transmitter"))
            .selected_text(chosen)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(link.antenna.is_none(), t(ui, "a place clicked"))
                    .clicked()
                {
                    link.antenna = None;
                    changed = true;
                }
                for a in &coverage.antennas {
                    let on = link.antenna.as_ref().is_some_and(|b| b.id == a.id);
                    if ui.selectable_label(on, &a.id).clicked() {
                        link.transmit_from(a.clone());
                        changed = true;
                    }
                }
            });
    }
    egui::Grid::new("link_inputs").show(ui, |ui| {
        for (label, value, range) in [
            (
                "transmitter height (m)",
                &mut link.from_height_m,
                0.0..=300.0,
            ),
            ("receiver height (m)", &mut link.to_height_m, 0.0..=300.0),
            ("frequency (MHz)", &mut link.frequency_mhz, 30.0..=50_000.0),
        ] {
            ui.label(t(ui, label));
            changed |= ui
                .add(egui::DragValue::new(value).range(range).speed(0.5))
                .changed();
            ui.end_row();
        }
    });
    ui.horizontal(|ui| {
        for (method, name) in [
            (Diffraction::Deygout, "Deygout"),
            (Diffraction::Bullington, "Bullington"),
        ] {
            changed |= ui
                .selectable_value(&mut link.method, method, name)
                .changed();
        }
    });
    if changed {
        if link.antenna.as_ref().is_some_and(|a| {
            a.height_m != link.from_height_m || a.frequency_mhz != link.frequency_mhz
        }) {
            // Another height or band is no longer that antenna.
            link.antenna = None;
        }
        link.update(models);
    }
    let Some(report) = &link.report else {
        return;
    };
    let report = match report {
        Ok(r) => r.clone(),
        Err(e) => {
            ui.colored_label(egui::Color32::from_rgb(230, 120, 60), e);
            return;
        }
    };
    let l = &report.link;
    let sight = t(ui, if l.line_of_sight { "yes" } else { "no" }).to_owned();
    egui::Grid::new("link_report").striped(true).show(ui, |ui| {
        let mut row = |label: &str, value: String| {
            ui.label(t(ui, label));
            ui.label(value);
            ui.end_row();
        };
        row("distance (m)", format!("{:.1}", l.distance_m));
        row("free space (dB)", format!("{:.1}", l.free_space_db));
        row("diffraction (dB)", format!("{:.1}", l.diffraction_db));
        row("pattern (dB)", format!("{:.1}", report.pattern_db));
        row("total loss (dB)", format!("{:.1}", report.total_db()));
        if let Some(dbm) = report.received_dbm {
            row("received (dBm)", format!("{dbm:.1}"));
        }
        row("line of sight", sight);
        if l.fresnel_clearance.is_finite() {
            row(
                "Fresnel zone clear (%)",
                format!("{:.0}", (l.fresnel_clearance * 100.0).min(999.0)),
            );
        }
    });
    let series = |value: fn(&crate::scenario::radio::ProfilePoint) -> f64| -> Vec<[f64; 2]> {
        l.profile.iter().map(|p| [p.distance_m, value(p)]).collect()
    };
    let ends = |inner: Vec<[f64; 2]>| -> Vec<[f64; 2]> {
        let mut all = vec![[0.0, l.tx_m]];
        all.extend(inner);
        all.push([l.distance_m, l.rx_m]);
        all
    };
    let names =
        ["ground", "surface", "line of sight", "first Fresnel zone"].map(|n| t(ui, n).to_owned());
    let ground = series(|p| p.ground_m);
    let surface = series(|p| p.surface_m);
    let line = ends(series(|p| p.line_m));
    let (lower, upper) = (
        ends(series(|p| p.line_m - p.fresnel_m)),
        ends(series(|p| p.line_m + p.fresnel_m)),
    );
    egui_plot::Plot::new("link_profile")
        .height(160.0)
        .legend(egui_plot::Legend::default())
        .x_axis_label("m")
        .y_axis_label("m")
        .show(ui, |plot| {
            let [ground_name, surface_name, line_name, fresnel_name] = names;
            plot.line(
                egui_plot::Line::new(ground_name, ground)
                    .color(egui::Color32::from_rgb(150, 110, 60)),
            );
            plot.line(
                egui_plot::Line::new(surface_name, surface)
                    .color(egui::Color32::from_rgb(120, 160, 120)),
            );
            plot.line(
                egui_plot::Line::new(line_name, line).color(egui::Color32::from_rgb(60, 120, 230)),
            );
            for zone in [lower, upper] {
                plot.line(
                    egui_plot::Line::new(fresnel_name.clone(), zone)
                        .color(egui::Color32::from_rgb(120, 170, 255))
                        .style(egui_plot::LineStyle::dashed_dense()),
                );
            }
        });
}

fn sites_ui(ui: &mut egui::Ui, tools: &mut RadioTools, view: &mut ScenarioView) {
    let Some(coverage) = tools.coverage(view) else {
        return;
    };
    let sites = &mut tools.sites;
    ui.label(t(
        ui,
        "click a site to select it; only the site changed is recomputed",
    ));
    egui::ScrollArea::vertical()
        .id_salt("sites_list")
        .max_height(120.0)
        .show(ui, |ui| {
            for (i, a) in coverage.antennas.iter().enumerate() {
                let azimuth = a
                    .azimuth_deg
                    .map_or_else(|| "omni".to_owned(), |az| format!("{az:.0}°"));
                let label = format!(
                    "{} · {azimuth} · {:.0} m · {:.0} MHz",
                    a.id, a.height_m, a.frequency_mhz
                );
                if ui
                    .selectable_label(sites.selected == Some(i), label)
                    .clicked()
                {
                    sites.selected = Some(i);
                }
            }
        });
    let mut edit = None;
    ui.horizontal_wrapped(|ui| {
        let placing = sites.action == SiteAction::Place;
        if ui
            .selectable_label(placing, t(ui, "place a site"))
            .clicked()
        {
            sites.action = if placing {
                SiteAction::Select
            } else {
                SiteAction::Place
            };
        }
        if let Some(i) = sites.selected.filter(|&i| i < coverage.antennas.len()) {
            for (action, name) in [(SiteAction::Move, "move"), (SiteAction::Aim, "aim")] {
                let on = sites.action == action;
                if ui.selectable_label(on, t(ui, name)).clicked() {
                    sites.action = if on { SiteAction::Select } else { action };
                }
            }
            if ui.button(t(ui, "remove")).clicked() {
                edit = Some(Edit::Remove(i));
                sites.selected = None;
            }
        }
    });
    match sites.action {
        SiteAction::Place => {
            ui.label(t(ui, "click where the new site stands"));
            egui::Grid::new("site_template").show(ui, |ui| {
                let a = &mut sites.template;
                for (label, value, range) in [
                    ("height (m)", &mut a.height_m, 0.0..=300.0),
                    ("frequency (MHz)", &mut a.frequency_mhz, 30.0..=50_000.0),
                    ("EIRP (dBm)", &mut a.eirp_dbm, 0.0..=90.0),
                ] {
                    ui.label(t(ui, label));
                    ui.add(egui::DragValue::new(value).range(range).speed(0.5));
                    ui.end_row();
                }
            });
        }
        SiteAction::Move => {
            ui.label(t(ui, "click the site's new place"));
        }
        SiteAction::Aim => {
            ui.label(t(ui, "click where the sector should face"));
        }
        SiteAction::Select => {}
    }
    if let Some(i) = sites.selected.filter(|&i| i < coverage.antennas.len()) {
        let mut a = coverage.antennas[i].clone();
        if let Some(mut azimuth) = a.azimuth_deg {
            let response = ui.add(
                egui::Slider::new(&mut azimuth, 0.0..=359.0)
                    .step_by(1.0)
                    .text(t(ui, "azimuth (°)")),
            );
            // Recomputed when the slider is let go (turning a sector recomputes no mast).
            if response.drag_stopped() || (response.changed() && !response.dragged()) {
                a.azimuth_deg = Some(azimuth);
                edit = Some(Edit::Replace(i, a));
            }
        }
    }
    if sites.busy {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(t(ui, "computing…"));
        });
    }
    if let Some(message) = &sites.message {
        ui.colored_label(egui::Color32::from_rgb(230, 120, 60), message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    if sites.edits > 0 && ui.button(t(ui, "save as a scenario")).clicked() {
        let saved = tools.what_if_file(view).and_then(|file| {
            let (_, base) = view.file.clone().ok_or("no scenario file")?;
            let path = base.join(format!(
                "{}-whatif.toml",
                super::scenario::file_stem(&file.name)
            ));
            std::fs::write(&path, file.to_toml())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            view.file = Some((file, base));
            Ok(path)
        });
        tools.sites.message = Some(match saved {
            Ok(path) => format!("{} {}", t(ui, "written:"), path.display()),
            Err(e) => e,
        });
        return;
    }
    let sites = &mut tools.sites;
    if sites.edits > 0 && ui.button(t(ui, "start over")).clicked() {
        let id = sites.base_id.clone();
        tools.reset_sites();
        if let Some(id) = id {
            let what_if = crate::scenario::tools::what_if_id(&id);
            view.results.retain(|r| r.id != what_if);
            view.split = None;
            view.selected = view.results.iter().position(|r| r.id == id);
            view.refresh();
        }
        return;
    }
    if let Some(edit) = edit {
        tools.apply(view, edit);
    }
}

/// The link's ends and the edited sites drawn over the 3D view, right of the panel
/// (`left_px`, physical pixels).
pub fn draw_markers(ctx: &egui::Context, tools: &RadioTools, view: &ScenarioView, left_px: f32) {
    let (Some(screen), Some(territory)) = (tools.screen, view.territory.as_ref()) else {
        return;
    };
    if tools.mode == ToolMode::Off {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Middle,
        egui::Id::new("radio_markers"),
    ));
    let ppp = f64::from(ctx.pixels_per_point());
    let models = &territory.models;
    let at = |p: DVec2, above_m: f64| -> Option<egui::Pos2> {
        let ground = models.dtm.sample(p)?;
        let px = screen.project(DVec3::new(p.x, p.y, ground + above_m))?;
        (px.x > f64::from(left_px)).then(|| egui::pos2((px.x / ppp) as f32, (px.y / ppp) as f32))
    };
    match tools.mode {
        ToolMode::Link => {
            let link = &tools.link;
            let from = link.from.and_then(|p| at(p, link.from_height_m));
            let to = link.to.and_then(|p| at(p, link.to_height_m));
            let clear = link
                .report
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .is_some_and(|r| r.link.line_of_sight);
            let colour = if clear {
                egui::Color32::from_rgb(60, 200, 90)
            } else {
                egui::Color32::from_rgb(230, 80, 60)
            };
            if let (Some(a), Some(b)) = (from, to) {
                painter.line_segment([a, b], egui::Stroke::new(2.5, colour));
            }
            for (p, label) in [(from, "Tx"), (to, "Rx")] {
                if let Some(p) = p {
                    painter.circle_filled(p, 6.0, egui::Color32::WHITE);
                    painter.text(
                        p + egui::vec2(8.0, -8.0),
                        egui::Align2::LEFT_BOTTOM,
                        label,
                        egui::FontId::proportional(13.0),
                        egui::Color32::WHITE,
                    );
                }
            }
        }
        ToolMode::Sites => {
            let Some(coverage) = tools.coverage(view) else {
                return;
            };
            for (i, a) in coverage.antennas.iter().enumerate() {
                let Some(p) = at(a.position, a.height_m) else {
                    continue;
                };
                let selected = tools.sites.selected == Some(i);
                let colour = if selected {
                    egui::Color32::from_rgb(255, 220, 60)
                } else {
                    egui::Color32::WHITE
                };
                painter.circle_stroke(
                    p,
                    if selected { 9.0 } else { 6.0 },
                    egui::Stroke::new(2.0, colour),
                );
                if let Some(az) = a.azimuth_deg {
                    let (s, c) = az.to_radians().sin_cos();
                    let ahead = a.position + DVec2::new(s, c) * 40.0;
                    if let Some(q) = at(ahead, a.height_m) {
                        painter.line_segment([p, q], egui::Stroke::new(2.0, colour));
                    }
                }
            }
        }
        ToolMode::Off => {}
    }
}
