//! The planner's side panel (bevy_egui): layers, point budget and size, colour mode, per-class
//! visibility with counts, buildings (colour by attribute, the picked building's attributes),
//! live statistics and the errors of nodes and tiles that failed to load.

pub mod i18n;
pub mod kiosk;
mod measure;
mod network;
mod profile;
mod project;
mod radio;
mod scenario;

use i18n::t;

use crate::buildings::streaming::{BuildingColor, Buildings};
use crate::camera::{CameraInput, ViewInset};
use crate::pointcloud::info::class_name;
use crate::pointcloud::streaming::{PointCloudSettings, PointClouds, RenderPath};
use crate::pointcloud::style::{ColorMode, class_color};
use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

/// The side panel (egui): layers, colouring, budgets, buildings, networks, adding data, in a
/// language. Optional: an app with its own UI leaves it out.
pub struct PanelPlugin {
    pub lang: crate::front::embed::Lang,
}

impl Plugin for PanelPlugin {
    fn build(&self, app: &mut App) {
        plugin(app, self.lang);
    }
}

pub(crate) fn plugin(app: &mut App, lang: crate::front::embed::Lang) {
    app.insert_resource(i18n::PanelLang(lang));
    app.add_plugins((EguiPlugin::default(), FrameTimeDiagnosticsPlugin::default()))
        .add_systems(EguiPrimaryContextPass, (set_panel_lang, side_panel).chain())
        .add_systems(
            PostUpdate,
            let_the_panel_take_the_pointer.before(crate::camera::CameraSystems::Input),
        );
}

fn set_panel_lang(mut contexts: EguiContexts, lang: Res<i18n::PanelLang>) -> Result {
    i18n::set(contexts.ctx_mut()?, lang.0);
    Ok(())
}

/// The camera ignores the mouse while it is over the panel or dragging a slider. The panel is
/// drawn on egui's background layer, which egui does not count as an area under the pointer:
/// without the cursor test the wheel scrolled the panel *and* zoomed the view.
fn let_the_panel_take_the_pointer(
    wants: Res<EguiWantsInput>,
    inset: Res<ViewInset>,
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut input: ResMut<CameraInput>,
) {
    let over_panel = windows
        .iter()
        .next()
        .and_then(Window::physical_cursor_position)
        .is_some_and(|cursor| cursor.x < inset.left_px);
    input.captured_by_ui =
        over_panel || wants.wants_any_pointer_input() || wants.wants_any_keyboard_input();
}

/// What the panel reads besides the layers: diagnostics, the opening in progress, the data
/// asked for, the scenarios.
type PanelInputs<'w> = (
    Res<'w, DiagnosticsStore>,
    Option<Res<'w, crate::front::opening::Opening>>,
    ResMut<'w, crate::front::opening::AddRequests>,
    Option<ResMut<'w, crate::scenario::view::ScenarioView>>,
    Option<ResMut<'w, crate::scenario::tools::RadioTools>>,
    Option<ResMut<'w, crate::front::profile::ProfileTool>>,
    Option<ResMut<'w, crate::front::measure::MeasureTool>>,
);

/// What the panel reads of the view: its inset, the twin's frame, the cameras, the project
/// and the clip.
type ViewInputs<'w, 's> = (
    ResMut<'w, ViewInset>,
    Option<Res<'w, crate::front::opening::TwinFrame>>,
    Query<'w, 's, &'static crate::camera::ViewerCamera>,
    Option<ResMut<'w, crate::front::project::Project>>,
    Option<ResMut<'w, crate::camera::ClipVolume>>,
);

fn side_panel(
    mut contexts: EguiContexts,
    mut clouds: ResMut<PointClouds>,
    mut buildings: ResMut<Buildings>,
    mut networks: ResMut<crate::network::render::Networks>,
    mut settings: ResMut<PointCloudSettings>,
    (mut inset, frame, cameras, mut project, mut clip): ViewInputs<'_, '_>,
    (diagnostics, opening, mut requests, mut scenarios, mut tools, mut profile, mut measure): PanelInputs<'_>,
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
                if let Some(opening) = &opening {
                    opening_ui(ui, opening);
                    ui.separator();
                }
                layers_ui(ui, &mut clouds);
                #[cfg(not(target_arch = "wasm32"))]
                add_data_ui(ui, &mut requests);
                #[cfg(target_arch = "wasm32")]
                let _ = &mut requests;
                ui.separator();
                display_ui(ui, &mut settings, clouds.color_choice);
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
                if let Some(view) = scenarios.as_mut().filter(|v| v.file.is_some()) {
                    ui.separator();
                    scenario::scenario_ui(ui, view);
                    if let Some(tools) = tools.as_mut() {
                        ui.separator();
                        radio::radio_ui(ui, tools, view);
                    }
                }
                if let Some(profile) = profile.as_mut()
                    && !clouds.layers.is_empty()
                {
                    ui.separator();
                    if let Some(measure) = measure.as_mut()
                        && profile.profile.is_some()
                    {
                        measure.wants_terrain = true;
                    }
                    let terrain = measure.as_ref().and_then(|m| m.terrain.clone());
                    profile::profile_ui(ui, profile, &clouds, terrain.as_deref());
                }
                if let Some(measure) = measure.as_mut() {
                    ui.separator();
                    measure::measure_ui(ui, measure, frame.as_ref().map(|f| &f.0));
                }
                if let (Some(project), Some(clip)) = (project.as_mut(), clip.as_mut()) {
                    ui.separator();
                    project::project_ui(
                        ui,
                        project,
                        clip,
                        measure.as_deref(),
                        cameras.iter().next(),
                    );
                }
                ui.separator();
                stats_ui(ui, &clouds, &settings, &diagnostics);
                if let Some(frame) = &frame {
                    // The CRS and the vertical datum the twin's heights are in (IGN69 assumed
                    // for Lambert-93 clouds that declare none).
                    ui.label(format!("{}: {}", t(ui, "frame"), frame.0.label()));
                }
                if let Some(link) = project.as_ref().and_then(|p| p.link.clone()) {
                    // The page's address with the current view: it opens the same view.
                    if ui.button(t(ui, "Copy link")).on_hover_text(&link).clicked() {
                        ui.ctx().copy_text(link);
                    }
                } else if let Some(rig) = cameras.iter().next() {
                    // The view as command-line text: `jumeau view … --camera …` opens it again.
                    let text = format!("--camera {}", crate::front::inputs::camera_text(rig));
                    if ui.button(t(ui, "Copy view")).on_hover_text(&text).clicked() {
                        ui.ctx().copy_text(text);
                    }
                }
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
    if let Some(profile) = &profile {
        profile::draw_line(ctx, profile, left_px);
    }
    if let Some(measure) = &measure {
        measure::draw_measurements(ctx, measure, left_px);
    }
    if let Some(project) = &project {
        project::draw_notes(ctx, project, left_px);
    }
    if let Some(view) = scenarios.as_mut() {
        scenario::divider_ui(ctx, view, left_px);
        if let Some(tools) = &tools {
            radio::draw_markers(ctx, tools, view, left_px);
        }
    }
    if (inset.left_px - left_px).abs() > 0.5 {
        inset.left_px = left_px;
    }
    Ok(())
}

/// Inputs still being opened: the stage, how far it has got, for how long.
fn opening_ui(ui: &mut egui::Ui, opening: &crate::front::opening::Opening) {
    ui.label(
        egui::RichText::new(format!("{}: {}", t(ui, "Opening"), t(ui, &opening.what))).strong(),
    );
    let (stage, step) = opening.stage();
    if !stage.is_empty() {
        ui.label(t(ui, &stage));
    }
    let mut text = t(ui, &step).to_owned();
    let bar = match opening.done() {
        Some(done) => {
            text.push_str(&format!(" {:.0} %", done * 100.0));
            egui::ProgressBar::new(done)
        }
        None => egui::ProgressBar::new(0.0).animate(true),
    };
    ui.add(bar.text(text));
    ui.label(format!("{:.0} s", opening.started.elapsed().as_secs_f64()));
}

/// A path or URL to add to the twin (files dropped on the window go the same way).
#[cfg(not(target_arch = "wasm32"))]
fn add_data_ui(ui: &mut egui::Ui, requests: &mut crate::front::opening::AddRequests) {
    egui::CollapsingHeader::new(t(ui, "Add data")).show(ui, |ui| {
        ui.label(t(
            ui,
            "a path or URL (LAS/LAZ/COPC, tileset, glTF, GeoJSON, CSV), or drop files on the window",
        ));
        let field = ui.text_edit_singleline(&mut requests.typed);
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button(t(ui, "Open")).clicked() || entered) && !requests.typed.trim().is_empty() {
            let input = requests.typed.trim().to_owned();
            requests.inputs.push(input);
            requests.typed.clear();
        }
    });
}

fn layers_ui(ui: &mut egui::Ui, clouds: &mut PointClouds) {
    ui.label(egui::RichText::new(t(ui, "Layers")).strong());
    // The compute rasterizer keeps one opaque point a pixel: opacity is the splats' alone.
    let compute = clouds.render_path() == RenderPath::Compute;
    for layer in &mut clouds.layers {
        ui.horizontal(|ui| {
            ui.checkbox(&mut layer.visible, &layer.name);
        });
        ui.add(egui::Slider::new(&mut layer.opacity, 0.05..=1.0).text(t(ui, "opacity")));
        if compute && layer.opacity < 1.0 {
            ui.colored_label(
                egui::Color32::from_rgb(230, 120, 60),
                t(ui, "opacity needs the splat path (--render-path splats)"),
            );
        }
        ui.label(format!(
            "{} {}, {} {}",
            layer.sources.len(),
            t(ui, "source(s)"),
            group_digits(layer.total_points()),
            t(ui, "points")
        ));
    }
}

fn display_ui(
    ui: &mut egui::Ui,
    settings: &mut PointCloudSettings,
    chosen: Option<(ColorMode, &'static str)>,
) {
    ui.label(egui::RichText::new(t(ui, "Display")).strong());
    // The compute rasterizer draws billions of points; splats tens of millions.
    let most = if settings.render_path == RenderPath::Compute {
        2_000_000_000
    } else {
        30_000_000
    }
    .max(settings.point_budget);
    ui.add(
        egui::Slider::new(&mut settings.point_budget, 100_000..=most)
            .logarithmic(true)
            .text(t(ui, "point budget")),
    );
    ui.add(
        egui::Slider::new(&mut settings.point_size_px, 1.0..=10.0).text(t(ui, "point size (px)")),
    );
    ui.checkbox(&mut settings.adaptive_size, t(ui, "adaptive size"));
    ui.checkbox(&mut settings.edl, t(ui, "eye-dome lighting"));
    ui.horizontal_wrapped(|ui| {
        for mode in ColorMode::ALL {
            if ui
                .radio_value(&mut settings.color_mode, mode, t(ui, mode.label()))
                .clicked()
            {
                // The user's choice is final: the data no longer decides.
                settings.color_from_data = false;
            }
        }
    });
    if let Some((mode, why)) = chosen.filter(|(mode, _)| *mode == settings.color_mode) {
        ui.label(format!(
            "{} {}: {}",
            t(ui, "colour chosen from the data:"),
            t(ui, mode.label()),
            t(ui, why)
        ));
    }
}

fn classes_ui(ui: &mut egui::Ui, clouds: &PointClouds, settings: &mut PointCloudSettings) {
    egui::CollapsingHeader::new(t(ui, "Classes (points loaded)"))
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
                        .checkbox(&mut visible, format!("{code} {}", t(ui, class_name(code))))
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
    ui.label(egui::RichText::new(t(ui, "Statistics")).strong());
    ui.add(egui::ProgressBar::new(s.progress).text(format!(
        "{}/{} {}",
        s.nodes_shown,
        s.nodes_wanted,
        t(ui, "loading nodes")
    )));
    ui.label(format!(
        "{}: {}",
        t(ui, "points shown"),
        group_digits(s.points_shown)
    ));
    ui.label(format!(
        "{}: {}  ({} {}, {} {}, {} {})",
        t(ui, "nodes resident"),
        s.nodes_resident,
        t(ui, "queued"),
        s.queued,
        t(ui, "in flight"),
        s.in_flight,
        t(ui, "to upload"),
        s.pending_uploads
    ));
    ui.label(format!(
        "{}: {:.0} / {:.0} MiB",
        t(ui, "memory"),
        s.bytes_resident as f64 / 1048576.0,
        settings.memory_budget_bytes as f64 / 1048576.0
    ));
    ui.label(format!(
        "{}: {}",
        t(ui, "render path"),
        match (settings.render_path, settings.atomics_64) {
            (RenderPath::Compute, true) => t(ui, "compute rasterizer, 64-bit atomics"),
            (RenderPath::Compute, false) => t(ui, "compute rasterizer, 32-bit atomics"),
            (RenderPath::PointList, _) => t(ui, "hardware points"),
            _ => t(ui, "splats"),
        }
    ));
    ui.label(format!(
        "{}: {:.1} MiB",
        t(ui, "fetched"),
        s.bytes_fetched as f64 / 1048576.0
    ));
    if let Some(ms) = diagnostics
        .get(&FrameTimeDiagnosticsPlugin::FRAME_TIME)
        .and_then(|d| d.smoothed())
    {
        ui.label(format!(
            "{}: {ms:.1} ms ({} {:.2} ms)",
            t(ui, "frame time"),
            t(ui, "streaming"),
            s.streaming_ms
        ));
    }
    if s.failed > 0 {
        ui.colored_label(
            egui::Color32::from_rgb(230, 120, 60),
            format!("{} {}", s.failed, t(ui, "node(s) failed, retried later")),
        );
    }
}

fn messages_ui<'a>(ui: &mut egui::Ui, messages: impl DoubleEndedIterator<Item = &'a String>) {
    let latest: Vec<&String> = messages.rev().take(8).collect();
    if latest.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(t(ui, "Errors"))
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
    ui.label(egui::RichText::new(t(ui, "Buildings")).strong());
    for layer in &mut buildings.layers {
        ui.checkbox(&mut layer.visible, &layer.name);
    }
    let names = buildings.attribute_names();
    let current = match &buildings.color {
        BuildingColor::Model => t(ui, "materials").to_owned(),
        BuildingColor::Attribute(name) => name.clone(),
        BuildingColor::Service => t(ui, SERVICE_LABEL).to_owned(),
    };
    egui::ComboBox::from_label(t(ui, "colour by"))
        .selected_text(current)
        .show_ui(ui, |ui| {
            let materials = t(ui, "materials");
            ui.selectable_value(&mut buildings.color, BuildingColor::Model, materials);
            if !buildings.service.points.is_empty() {
                let service = t(ui, SERVICE_LABEL);
                ui.selectable_value(&mut buildings.color, BuildingColor::Service, service);
            }
            for name in names {
                let value = BuildingColor::Attribute(name.clone());
                ui.selectable_value(&mut buildings.color, value, name);
            }
        });
    let s = &buildings.stats;
    ui.label(format!(
        "{} {} / {} {}  ({} {}, {} {})",
        t(ui, "tiles shown"),
        s.contents_shown,
        t(ui, "resident"),
        s.contents_resident,
        t(ui, "queued"),
        s.queued,
        t(ui, "in flight"),
        s.in_flight
    ));
    ui.label(format!(
        "{}: {}   {}: {:.0} MiB   {}: {:.1} MiB",
        t(ui, "triangles"),
        group_digits(s.triangles_shown as u64),
        t(ui, "memory"),
        s.bytes_resident as f64 / 1048576.0,
        t(ui, "fetched"),
        s.bytes_fetched as f64 / 1048576.0
    ));
    if s.failed > 0 {
        ui.colored_label(
            egui::Color32::from_rgb(230, 120, 60),
            format!("{} {}", s.failed, t(ui, "tile(s) failed, retried later")),
        );
    }
    match &buildings.picked {
        None => {
            ui.label(egui::RichText::new(t(ui, "Click a building to see its attributes.")).weak());
        }
        Some(picked) => {
            let mut clear = false;
            egui::CollapsingHeader::new(t(ui, "Picked building"))
                .default_open(true)
                .show(ui, |ui| {
                    ui.label(format!(
                        "{} {:.1}, {:.1}, {:.1}",
                        t(ui, "at"),
                        picked.point.x,
                        picked.point.y,
                        picked.point.z
                    ));
                    if picked.attributes.is_empty() {
                        ui.label(t(ui, "no attributes"));
                    }
                    attribute_grid(ui, "picked_attributes", &picked.attributes);
                    clear = ui.button(t(ui, "clear")).clicked();
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
    use super::*;
    use crate::camera::ViewerCamera;
    use bevy::input::mouse::AccumulatedMouseScroll;

    /// The wheel over the panel is the panel's (it scrolls it); over the view it zooms.
    #[test]
    fn the_wheel_over_the_panel_does_not_zoom_the_view() {
        let mut app = crate::camera::test_app_with_input();
        app.init_resource::<EguiWantsInput>().add_systems(
            PostUpdate,
            let_the_panel_take_the_pointer.before(crate::camera::CameraSystems::Input),
        );
        app.world_mut().resource_mut::<ViewInset>().left_px = 300.0;
        let camera = app
            .world_mut()
            .spawn((
                ViewerCamera::look_at(
                    bevy::math::DVec3::new(0.0, -100.0, 100.0),
                    bevy::math::DVec3::ZERO,
                ),
                Camera::default(),
                Transform::default(),
                Projection::Perspective(PerspectiveProjection::default()),
            ))
            .id();
        let window = app
            .world_mut()
            .spawn((Window::default(), bevy::window::PrimaryWindow))
            .id();
        app.update();
        let distance = |app: &App| app.world().get::<ViewerCamera>(camera).unwrap().distance;
        let start = distance(&app);
        let wheel_at = |app: &mut App, x: f64| {
            app.world_mut()
                .get_mut::<Window>(window)
                .unwrap()
                .set_physical_cursor_position(Some(bevy::math::DVec2::new(x, 200.0)));
            app.world_mut()
                .resource_mut::<AccumulatedMouseScroll>()
                .delta = Vec2::new(0.0, 2.0);
            app.update();
        };
        wheel_at(&mut app, 120.0);
        assert_eq!(distance(&app), start, "the wheel over the panel zoomed");
        wheel_at(&mut app, 600.0);
        assert!(
            distance(&app) < start * 0.9,
            "the wheel over the view zooms"
        );
    }

    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(super::group_digits(0), "0");
        assert_eq!(super::group_digits(999), "999");
        assert_eq!(super::group_digits(1_234_567), "1\u{202f}234\u{202f}567");
    }
}
