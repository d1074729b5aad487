//! The panel's project section: Save and Open, bookmarks (add, go, delete) and the tour,
//! notes pinned by a click, the clip (a box around the focus, the last measured polygon, a
//! section plane, keep inside or outside); the notes and the tour's caption over the 3D view.

use super::i18n::t;
use crate::camera::{ClipVolume, ViewerCamera};
use crate::front::measure::{MeasureKind, MeasureTool};
use crate::front::project::{FLIGHT_SECONDS, HOLD_SECONDS, Project, Tour, camera_spec, fly_to};
use crate::scenario::project::Bookmark;
use crate::spatial::clip::{ClipBox, Keep, Section};
use bevy_egui::egui;

pub fn project_ui(
    ui: &mut egui::Ui,
    project: &mut Project,
    clip: &mut ClipVolume,
    measure: Option<&MeasureTool>,
    rig: Option<&ViewerCamera>,
) {
    ui.label(egui::RichText::new(t(ui, "Project")).strong());
    #[cfg(not(target_arch = "wasm32"))]
    {
        ui.horizontal(|ui| {
            if ui.button(t(ui, "Save")).clicked() {
                project.save_requested = true;
            }
            if ui.button(t(ui, "Screenshot")).clicked() {
                project.screenshot_requested = true;
            }
            if let Some(path) = &project.path {
                ui.label(path.display().to_string());
            }
        });
        ui.horizontal(|ui| {
            ui.text_edit_singleline(&mut project.typed_path);
            if ui.button(t(ui, "Open project")).clicked() && !project.typed_path.trim().is_empty() {
                project.open_requested = Some(project.typed_path.trim().to_owned());
            }
        });
    }
    if let Some(message) = &project.message {
        ui.label(message.as_str());
    }
    bookmarks_ui(ui, project, rig);
    notes_ui(ui, project);
    clip_ui(ui, project, clip, measure, rig);
}

fn bookmarks_ui(ui: &mut egui::Ui, project: &mut Project, rig: Option<&ViewerCamera>) {
    egui::CollapsingHeader::new(t(ui, "Bookmarks"))
        .default_open(!project.bookmarks.is_empty())
        .show(ui, |ui| {
            let now = project.clock;
            let mut go = None;
            let mut delete = None;
            for (i, b) in project.bookmarks.iter().enumerate() {
                ui.horizontal(|ui| {
                    if ui.small_button(t(ui, "go")).clicked() {
                        go = Some(i);
                    }
                    if ui.small_button("✖").clicked() {
                        delete = Some(i);
                    }
                    ui.label(&b.name).on_hover_text(&b.caption);
                });
            }
            if let (Some(i), Some(rig)) = (go, rig) {
                let to = project.bookmarks[i].camera();
                fly_to(project, rig, to, now);
            }
            if let Some(i) = delete {
                project.bookmarks.remove(i);
                project.tour = None;
            }
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut project.typed_name)
                        .hint_text(t(ui, "name"))
                        .desired_width(120.0),
                );
                if let Some(rig) = rig
                    && ui.button(t(ui, "Add bookmark")).clicked()
                {
                    let camera = camera_spec(rig);
                    let name = match project.typed_name.trim() {
                        "" => format!("{} {}", t(ui, "Bookmarks"), project.bookmarks.len() + 1),
                        typed => typed.to_owned(),
                    };
                    project.bookmarks.push(Bookmark {
                        name,
                        caption: String::new(),
                        eye: camera.eye,
                        target: camera.target,
                    });
                    project.typed_name.clear();
                }
            });
            if project.bookmarks.is_empty() {
                return;
            }
            ui.horizontal(|ui| {
                ui.label(t(ui, "Tour"));
                match project.tour {
                    None => {
                        if ui.button(t(ui, "Play")).clicked() {
                            // The first leg flies to bookmark 0 at once.
                            project.tour = Some(Tour {
                                index: project.bookmarks.len() - 1,
                                next_at: now,
                                paused: false,
                            });
                        }
                    }
                    Some(mut tour) => {
                        let label = if tour.paused { "resume" } else { "Pause" };
                        if ui.button(t(ui, label)).clicked() {
                            tour.paused = !tour.paused;
                            // A resumed tour holds the current view again before moving on.
                            tour.next_at = now + HOLD_SECONDS;
                            project.tour = Some(tour);
                        }
                        if ui.button(t(ui, "stop")).clicked() {
                            project.tour = None;
                            project.flight = None;
                        }
                    }
                }
            });
            ui.label(format!(
                "{FLIGHT_SECONDS:.1} s + {HOLD_SECONDS:.0} s / {}",
                t(ui, "Bookmarks").to_lowercase()
            ));
        });
}

fn notes_ui(ui: &mut egui::Ui, project: &mut Project) {
    egui::CollapsingHeader::new(t(ui, "Annotations"))
        .default_open(!project.annotations.is_empty())
        .show(ui, |ui| {
            let mut delete = None;
            for (i, note) in project.annotations.iter().enumerate() {
                ui.horizontal(|ui| {
                    if ui.small_button("✖").clicked() {
                        delete = Some(i);
                    }
                    ui.label(&note.text);
                });
            }
            if let Some(i) = delete {
                project.annotations.remove(i);
            }
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut project.typed_note).desired_width(140.0));
                if ui.button(t(ui, "Pin a note")).clicked() && !project.typed_note.trim().is_empty()
                {
                    project.pinning = Some(project.typed_note.trim().to_owned());
                    project.typed_note.clear();
                }
            });
            if project.pinning.is_some() {
                ui.label(t(ui, "click where the note goes"));
            }
        });
}

fn clip_ui(
    ui: &mut egui::Ui,
    project: &mut Project,
    clip: &mut ClipVolume,
    measure: Option<&MeasureTool>,
    rig: Option<&ViewerCamera>,
) {
    egui::CollapsingHeader::new(t(ui, "Clip"))
        .default_open(clip.0.is_active())
        .show(ui, |ui| {
            let mut wanted = clip.0.clone();
            let mut outside = wanted.keep == Keep::Outside;
            ui.checkbox(&mut outside, t(ui, "keep outside"));
            wanted.keep = if outside { Keep::Outside } else { Keep::Inside };
            if project.box_size_m <= 0.0 {
                project.box_size_m = 100.0;
            }
            ui.add(
                egui::Slider::new(&mut project.box_size_m, 5.0..=2000.0)
                    .logarithmic(true)
                    .text(t(ui, "size (m)")),
            );
            if let Some(rig) = rig
                && ui.button(t(ui, "box around the focus")).clicked()
            {
                let (c, h) = (rig.focus, project.box_size_m * 0.5);
                wanted.clip_box = Some(ClipBox {
                    min: [c.x - h, c.y - h, c.z - h],
                    max: [c.x + h, c.y + h, c.z + h],
                });
            }
            if ui
                .button(t(ui, "clip to the last measured polygon"))
                .clicked()
            {
                let polygon = measure.and_then(|m| {
                    m.done
                        .iter()
                        .rev()
                        .find(|m| m.kind == MeasureKind::Polygon && m.points.len() >= 3)
                });
                match polygon {
                    Some(m) => wanted.polygon = m.points.iter().map(|p| [p.x, p.y]).collect(),
                    None => project.message = Some(t(ui, "no measured polygon yet").to_owned()),
                }
            }
            let mut section = wanted.section.is_some();
            let mut height = wanted
                .section
                .map_or_else(|| rig.map_or(0.0, |r| r.focus.z + 10.0), |s| s.point[2]);
            ui.horizontal(|ui| {
                ui.checkbox(&mut section, t(ui, "section plane at height (m)"));
                ui.add(egui::DragValue::new(&mut height).speed(0.25));
            });
            wanted.section = section.then(|| Section {
                point: [
                    rig.map_or(0.0, |r| r.focus.x),
                    rig.map_or(0.0, |r| r.focus.y),
                    height,
                ],
                normal: [0.0, 0.0, 1.0],
            });
            if wanted.is_active() && ui.button(t(ui, "clear clip")).clicked() {
                wanted = Default::default();
            }
            if let Err(e) = wanted.check() {
                project.message = Some(e);
            } else if wanted != clip.0 {
                clip.0 = wanted;
            }
        });
}

/// Text pinned at places (twin CRS), drawn where they fall on `screen` right of `left_px`
/// physical pixels, in type of `size` points.
pub fn draw_pinned<'a>(
    painter: &egui::Painter,
    screen: &crate::network::overlay::Screen,
    notes: impl IntoIterator<Item = (&'a str, [f64; 3])>,
    (left_px, size): (f32, f32),
) {
    let ppp = painter.ctx().pixels_per_point();
    for (text, at) in notes {
        let Some(px) = screen.project(bevy::math::DVec3::from_array(at)) else {
            continue;
        };
        if px.x <= f64::from(left_px) {
            continue;
        }
        let at = egui::pos2(px.x as f32 / ppp, px.y as f32 / ppp);
        painter.circle_filled(at, size * 0.4, egui::Color32::from_rgb(255, 210, 60));
        let galley = painter.layout(
            text.to_owned(),
            egui::FontId::proportional(size),
            egui::Color32::BLACK,
            size * 16.0,
        );
        let rect = egui::Align2::LEFT_BOTTOM
            .anchor_size(at + egui::vec2(8.0, -8.0), galley.size())
            .expand(3.0);
        painter.rect_filled(rect, 4.0, egui::Color32::from_rgb(255, 236, 160));
        painter.galley(
            rect.min + egui::vec2(3.0, 3.0),
            galley,
            egui::Color32::BLACK,
        );
    }
}

/// The notes over the 3D view right of the panel, and the tour's caption at the bottom.
pub fn draw_notes(ctx: &egui::Context, project: &Project, left_px: f32) {
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Middle,
        egui::Id::new("notes"),
    ));
    let ppp = ctx.pixels_per_point();
    if let Some(screen) = project.screen {
        let notes = project.annotations.iter().map(|n| (n.text.as_str(), n.at));
        draw_pinned(&painter, &screen, notes, (left_px, 14.0));
    }
    if let Some(bookmark) = project.caption() {
        let text = if bookmark.caption.is_empty() {
            bookmark.name.clone()
        } else {
            format!("{} — {}", bookmark.name, bookmark.caption)
        };
        let view = ctx.content_rect();
        let galley = painter.layout(
            text,
            egui::FontId::proportional(22.0),
            egui::Color32::WHITE,
            (view.width() - left_px / ppp - 60.0).max(200.0),
        );
        let centre_x = (left_px / ppp + view.right()) * 0.5;
        let rect = egui::Align2::CENTER_BOTTOM
            .anchor_size(egui::pos2(centre_x, view.bottom() - 24.0), galley.size())
            .expand(10.0);
        painter.rect_filled(rect, 8.0, egui::Color32::from_black_alpha(190));
        painter.galley(
            rect.min + egui::vec2(10.0, 10.0),
            galley,
            egui::Color32::WHITE,
        );
    }
}
