//! The kiosk's screen (egui), touch first: every target at least [`MIN_TARGET_PX`] on a side
//! (WCAG 2.5.5), large type, French by default with English on a button. The attract loop
//! (the tour's caption, "Touchez pour commencer", a pause button), the visit (chapters,
//! alternatives as big buttons, the split view, the opinion with a comment typed on an
//! on-screen keyboard and pinned at a place), the idle warning with its countdown, and the
//! staff's PIN pad. It sends [`Request`]s; the kiosk ([`crate::front::kiosk`]) answers them.

use crate::camera::CameraInput;
use crate::front::embed::Lang;
use crate::front::kiosk::{Kiosk, Notice, Request};
use crate::front::project::Project;
use crate::scenario::kiosk::{MIN_TARGET_PX, OpinionScale, Phase};
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

/// The kiosk's screen.
pub struct KioskUiPlugin;

impl Plugin for KioskUiPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(EguiPlugin::default())
            .add_systems(EguiPrimaryContextPass, kiosk_screen);
    }
}

/// What the screen shows besides the kiosk: the chapters and the tour.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The chapters (bookmarks): name and caption.
    pub chapters: Vec<(String, String)>,
    /// The caption the tour shows now.
    pub tour_caption: Option<(String, String)>,
    pub tour_paused: bool,
    /// Scenarios are still being computed.
    pub computing: bool,
}

impl Facts {
    pub fn of(project: &Project, computing: bool) -> Self {
        Self {
            chapters: project
                .bookmarks
                .iter()
                .map(|b| (b.name.clone(), b.caption.clone()))
                .collect(),
            tour_caption: project
                .caption()
                .map(|b| (b.name.clone(), b.caption.clone())),
            tour_paused: project.tour.is_some_and(|t| t.paused),
            computing,
        }
    }
}

fn kiosk_screen(
    mut contexts: EguiContexts,
    kiosk: Option<ResMut<Kiosk>>,
    project: Option<Res<Project>>,
    view: Option<Res<crate::scenario::view::ScenarioView>>,
    mut input: ResMut<CameraInput>,
    published: Option<ResMut<KioskTargets>>,
    screen_now: crate::network::render::ScreenNow,
) -> Result {
    let (Some(mut kiosk), Some(project)) = (kiosk, project) else {
        return Ok(());
    };
    let ctx = contexts.ctx_mut()?;
    let computing = view.is_some_and(|v| v.running.is_some());
    let facts = Facts::of(&project, computing);
    let Screen {
        requests,
        free,
        targets,
    } = screen(ctx, &mut kiosk, &facts);
    // The project's notes and the comments pinned in this visit, over the view.
    if let Some(on_screen) = screen_now.get() {
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Middle,
            egui::Id::new("kiosk_pins"),
        ));
        let notes = project
            .annotations
            .iter()
            .map(|n| (n.text.as_str(), n.at))
            .chain(kiosk.pins.iter().map(|(text, at)| (text.as_str(), *at)));
        super::project::draw_pinned(&painter, &on_screen, notes, (0.0, 22.0));
    }
    kiosk.requests.extend(requests);
    if let Some(mut published) = published {
        published.0 = targets
            .into_iter()
            .map(|(label, r)| (label, [r.min.x, r.min.y, r.width(), r.height()]))
            .collect();
    }
    // The panels are on egui's background layer, which egui does not count as under the
    // pointer: the view is what they leave free.
    let over_panels = ctx
        .input(|i| i.pointer.latest_pos())
        .is_some_and(|p| !free.contains(p));
    input.captured_by_ui = over_panels || ctx.egui_wants_pointer_input();
    Ok(())
}

/// `fr` or `en`, as the kiosk speaks now.
fn say<'a>(lang: Lang, fr: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

/// Large type and touch-sized targets.
fn kiosk_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        use egui::{FontId, TextStyle};
        style.text_styles = [
            (TextStyle::Heading, FontId::proportional(36.0)),
            (TextStyle::Body, FontId::proportional(24.0)),
            (TextStyle::Button, FontId::proportional(26.0)),
            (TextStyle::Small, FontId::proportional(20.0)),
            (TextStyle::Monospace, FontId::monospace(24.0)),
        ]
        .into();
        style.spacing.interact_size = egui::vec2(MIN_TARGET_PX, MIN_TARGET_PX);
        style.spacing.button_padding = egui::vec2(18.0, 12.0);
        style.spacing.item_spacing = egui::vec2(12.0, 12.0);
        // Scroll bars a finger can hold.
        style.spacing.scroll.floating = false;
        style.spacing.scroll.bar_width = MIN_TARGET_PX;
        style.spacing.scroll.handle_min_length = MIN_TARGET_PX;
        // A finger selecting text is a mistake, and a small target.
        style.interaction.selectable_labels = false;
    });
}

/// A touch target: at least `MIN_TARGET_PX` high and wide (more for short words).
fn big(ui: &mut egui::Ui, text: &str, selected: bool) -> egui::Response {
    let response = ui.add(
        egui::Button::new(text)
            .selected(selected)
            .min_size(egui::vec2(MIN_TARGET_PX.max(96.0), MIN_TARGET_PX + 12.0)),
    );
    note_target(ui.ctx(), text, response.rect);
    response
}

/// A key of the on-screen keyboard or the PIN pad.
fn key(ui: &mut egui::Ui, text: &str) -> bool {
    let response = ui.add(
        egui::Button::new(egui::RichText::new(text).size(26.0))
            .min_size(egui::vec2(MIN_TARGET_PX + 8.0, MIN_TARGET_PX + 8.0)),
    );
    note_target(ui.ctx(), text, response.rect);
    response.clicked()
}

fn targets_id() -> egui::Id {
    egui::Id::new("kiosk_targets")
}

/// Keeps a target's label and place for [`Screen::targets`].
fn note_target(ctx: &egui::Context, label: &str, rect: egui::Rect) {
    ctx.data_mut(|d| {
        d.get_temp_mut_or_default::<Vec<(String, egui::Rect)>>(targets_id())
            .push((label.to_owned(), rect))
    });
}

/// What a frame of the screen gives back.
pub struct Screen {
    /// What the visitor asked.
    pub requests: Vec<Request>,
    /// The part of the screen the panels leave to the view.
    pub free: egui::Rect,
    /// Every touch target drawn: its label and rectangle (logical pixels). The page publishes
    /// them (`window.jumeau.kiosk.targets`) for tests and audits.
    pub targets: Vec<(String, egui::Rect)>,
}

/// The targets of the last frame, for the page's status.
#[derive(Resource, Default, Clone, Debug)]
pub struct KioskTargets(pub Vec<(String, [f32; 4])>);

/// Draws the kiosk's screen.
pub fn screen(ctx: &egui::Context, kiosk: &mut Kiosk, facts: &Facts) -> Screen {
    kiosk_style(ctx);
    ctx.data_mut(|d| d.remove::<Vec<(String, egui::Rect)>>(targets_id()));
    let mut requests = Vec::new();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "kiosk".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let lang = kiosk.lang;
    match kiosk.session.phase {
        Phase::Attract => attract(ctx, lang, facts, &mut requests),
        Phase::Active | Phase::Warning { .. } => {
            visit(&mut root, kiosk, facts, &mut requests);
            if let Some(left) = kiosk.session.seconds_left(kiosk.clock) {
                warning(ctx, kiosk, left, &mut requests);
            }
        }
    }
    staff(ctx, kiosk, &mut requests);
    Screen {
        requests,
        free: root.available_rect_before_wrap(),
        targets: ctx
            .data_mut(|d| d.remove_temp::<Vec<(String, egui::Rect)>>(targets_id()))
            .unwrap_or_default(),
    }
}

/// The attract loop: a tap anywhere starts; the pause button only pauses.
fn attract(ctx: &egui::Context, lang: Lang, facts: &Facts, requests: &mut Vec<Request>) {
    let screen = ctx.viewport_rect();
    egui::Area::new("kiosk_attract".into())
        .fixed_pos(screen.min)
        .order(egui::Order::Middle)
        .show(ctx, |ui| {
            let (rect, response) = ui.allocate_exact_size(screen.size(), egui::Sense::click());
            note_target(
                ctx,
                say(lang, "Touchez pour commencer", "Touch to start"),
                rect,
            );
            ui.painter()
                .rect_filled(rect, 0.0, egui::Color32::from_black_alpha(60));
            let centre = rect.center_bottom() - egui::vec2(0.0, rect.height() * 0.22);
            ui.painter().text(
                centre,
                egui::Align2::CENTER_CENTER,
                say(lang, "Touchez pour commencer", "Touch to start"),
                egui::FontId::proportional(64.0),
                egui::Color32::WHITE,
            );
            if let Some((name, caption)) = &facts.tour_caption {
                let top = rect.center_top() + egui::vec2(0.0, 60.0);
                ui.painter().text(
                    top,
                    egui::Align2::CENTER_CENTER,
                    name,
                    egui::FontId::proportional(44.0),
                    egui::Color32::WHITE,
                );
                ui.painter().text(
                    top + egui::vec2(0.0, 56.0),
                    egui::Align2::CENTER_CENTER,
                    caption,
                    egui::FontId::proportional(28.0),
                    egui::Color32::WHITE,
                );
            }
            if response.clicked() {
                requests.push(Request::Touch);
            }
        });
    // WCAG 2.2.2: the moving tour can be paused.
    egui::Area::new("kiosk_pause".into())
        .anchor(egui::Align2::LEFT_BOTTOM, egui::vec2(24.0, -24.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            let text = if facts.tour_paused {
                say(lang, "▶ Reprendre la visite", "▶ Resume the tour")
            } else {
                say(lang, "⏸ Pause", "⏸ Pause")
            };
            if big(ui, text, false).clicked() {
                requests.push(Request::PauseTour(!facts.tour_paused));
            }
        });
}

/// A visit: chapters and alternatives at the bottom, the opinion on the right.
fn visit(root: &mut egui::Ui, kiosk: &mut Kiosk, facts: &Facts, requests: &mut Vec<Request>) {
    let lang = kiosk.lang;
    egui::Panel::bottom("kiosk_bottom")
        .resizable(false)
        .show(root, |ui| {
            ui.add_space(8.0);
            if !facts.chapters.is_empty() {
                egui::ScrollArea::horizontal()
                    .id_salt("kiosk_chapters")
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.label(say(lang, "Chapitres", "Chapters"));
                            for (i, (name, _)) in facts.chapters.iter().enumerate() {
                                if big(ui, name, kiosk.chapter == Some(i)).clicked() {
                                    requests.push(Request::Chapter(i));
                                }
                            }
                        });
                    });
            }
            ui.horizontal(|ui| {
                for (i, alternative) in kiosk.spec.alternatives.iter().enumerate() {
                    if big(ui, &alternative.name, kiosk.alternative == Some(i)).clicked() {
                        requests.push(Request::Alternative(i));
                    }
                }
                let with_scenario = kiosk
                    .spec
                    .alternatives
                    .iter()
                    .filter(|a| a.scenario.is_some())
                    .count();
                if with_scenario >= 2
                    && big(ui, say(lang, "Comparer", "Compare"), kiosk.split).clicked()
                {
                    requests.push(Request::Split(!kiosk.split));
                }
                let other = match lang {
                    Lang::Fr => (Lang::En, "English"),
                    Lang::En => (Lang::Fr, "Français"),
                };
                if big(ui, other.1, false).clicked() {
                    requests.push(Request::Lang(other.0));
                }
            });
            if facts.computing {
                ui.label(say(
                    lang,
                    "Calcul des projets en cours…",
                    "The projects are being computed…",
                ));
            }
            ui.add_space(8.0);
        });
    egui::Panel::right("kiosk_opinion")
        .resizable(false)
        .default_size(420.0)
        .show(root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                opinion(ui, kiosk, requests);
            });
        });
    if let Some((name, caption)) = kiosk.chapter.and_then(|i| facts.chapters.get(i)) {
        egui::Panel::top("kiosk_caption")
            .resizable(false)
            .show(root, |ui| {
                ui.heading(name);
                if !caption.is_empty() {
                    ui.label(caption);
                }
            });
    }
}

/// The opinion on the alternative shown: the scale, a comment, its place, send.
fn opinion(ui: &mut egui::Ui, kiosk: &mut Kiosk, requests: &mut Vec<Request>) {
    let lang = kiosk.lang;
    let Some(alternative) = kiosk
        .alternative
        .and_then(|i| kiosk.spec.alternatives.get(i))
        .cloned()
    else {
        ui.heading(say(lang, "Votre avis", "Your opinion"));
        ui.label(say(
            lang,
            "Choisissez un projet en bas de l'écran.",
            "Choose a project at the bottom of the screen.",
        ));
        return;
    };
    ui.heading(&alternative.name);
    if !alternative.caption.is_empty() {
        ui.label(&alternative.caption);
    }
    ui.separator();
    if kiosk.thanking() {
        ui.heading(say(lang, "Merci !", "Thank you!"));
        ui.label(say(
            lang,
            "Votre avis est enregistré.",
            "Your opinion is recorded.",
        ));
        return;
    }
    if !kiosk.session.may_give(alternative.id()) {
        ui.label(say(
            lang,
            "Votre avis sur ce projet est enregistré. Merci !",
            "Your opinion on this project is recorded. Thank you!",
        ));
        return;
    }
    ui.label(say(lang, "Qu'en pensez-vous ?", "What do you think?"));
    ui.horizontal_wrapped(|ui| match kiosk.spec.opinion {
        OpinionScale::Scale => {
            for v in 1..=5u8 {
                let face = ["1 😞", "2 🙁", "3 😐", "4 🙂", "5 😀"][usize::from(v - 1)];
                if big(ui, face, kiosk.draft.value == Some(v)).clicked() {
                    kiosk.draft.value = Some(v);
                }
            }
        }
        OpinionScale::Agree => {
            for (v, fr, en) in [(1u8, "D'accord", "Agree"), (0, "Pas d'accord", "Disagree")] {
                if big(ui, say(lang, fr, en), kiosk.draft.value == Some(v)).clicked() {
                    kiosk.draft.value = Some(v);
                }
            }
        }
    });
    ui.separator();
    ui.label(say(
        lang,
        "Un commentaire ? (facultatif, sans nom ni coordonnées)",
        "A comment? (optional, no name or contact details)",
    ));
    let shown = if kiosk.draft.comment.is_empty() {
        "…".to_owned()
    } else {
        kiosk.draft.comment.clone()
    };
    ui.label(egui::RichText::new(shown).monospace());
    let typing = kiosk.draft.typing;
    if big(
        ui,
        if typing {
            say(lang, "⌨ Fermer le clavier", "⌨ Close the keyboard")
        } else {
            say(lang, "⌨ Écrire un commentaire", "⌨ Write a comment")
        },
        typing,
    )
    .clicked()
    {
        kiosk.draft.typing = !typing;
    }
    if kiosk.draft.typing {
        keyboard(ui, &mut kiosk.draft.comment, kiosk.spec.comment_max_chars);
    }
    let pin_text = match (kiosk.draft.pinning, kiosk.draft.at.is_some()) {
        (true, _) => say(
            lang,
            "Touchez l'endroit dans la vue…",
            "Touch the place in the view…",
        ),
        (false, true) => say(
            lang,
            "📍 Épinglé — changer l'endroit",
            "📍 Pinned — change the place",
        ),
        (false, false) => say(lang, "📍 Épingler à un endroit", "📍 Pin it at a place"),
    };
    if big(ui, pin_text, kiosk.draft.pinning).clicked() {
        kiosk.draft.pinning = !kiosk.draft.pinning;
    }
    ui.separator();
    let ready = kiosk.draft.value.is_some();
    let send = say(lang, "Envoyer mon avis", "Send my opinion");
    let response = ui.add_enabled(
        ready,
        egui::Button::new(egui::RichText::new(send).size(30.0))
            .min_size(egui::vec2(260.0, MIN_TARGET_PX + 20.0)),
    );
    note_target(ui.ctx(), send, response.rect);
    if response.clicked() {
        requests.push(Request::Give);
    }
    if let Some(notice) = &kiosk.notice {
        ui.colored_label(
            egui::Color32::from_rgb(200, 60, 40),
            notice_text(lang, notice),
        );
    }
}

/// The notice in the kiosk's language.
fn notice_text(lang: Lang, notice: &Notice) -> String {
    match notice {
        Notice::ChooseAlternative => say(
            lang,
            "Choisissez d'abord un projet.",
            "Choose a project first.",
        )
        .into(),
        Notice::ChooseValue => say(
            lang,
            "Choisissez d'abord votre avis.",
            "Choose your opinion first.",
        )
        .into(),
        Notice::AlreadyGiven => say(
            lang,
            "Votre avis sur ce projet est déjà enregistré.",
            "Your opinion on this project is already recorded.",
        )
        .into(),
        Notice::NotKept(why) => format!(
            "{} ({why})",
            say(
                lang,
                "Votre avis n'a pas pu être enregistré, réessayez",
                "Your opinion could not be recorded, try again"
            )
        ),
        Notice::WrongPin => say(lang, "Code incorrect.", "Wrong code.").into(),
        Notice::NothingToPin => say(
            lang,
            "Rien n'est dessiné à cet endroit : touchez un bâtiment ou le sol.",
            "Nothing is drawn there: touch a building or the ground.",
        )
        .into(),
    }
}

/// The on-screen keyboard (AZERTY, French accents), typing into `text` up to `max` chars.
fn keyboard(ui: &mut egui::Ui, text: &mut String, max: usize) {
    const ROWS: [&str; 4] = ["azertyuiop", "qsdfghjklm", "wxcvbn',.?", "éèàçêù-!0123"];
    for (r, row) in ROWS.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing = egui::vec2(4.0, 4.0);
            for c in row.chars() {
                if key(ui, &c.to_string()) && text.chars().count() < max {
                    text.push(c);
                }
            }
            if r == ROWS.len() - 1 && key(ui, "⌫") {
                text.pop();
            }
        });
    }
    ui.horizontal(|ui| {
        let space = ui.add(egui::Button::new("␣").min_size(egui::vec2(240.0, MIN_TARGET_PX + 8.0)));
        note_target(ui.ctx(), "␣", space.rect);
        if space.clicked() && text.chars().count() < max {
            text.push(' ');
        }
    });
}

/// The idle warning: the countdown and a big button to stay.
fn warning(ctx: &egui::Context, kiosk: &Kiosk, left: f64, requests: &mut Vec<Request>) {
    let lang = kiosk.lang;
    egui::Window::new("kiosk_warning")
        .title_bar(false)
        .resizable(false)
        .collapsible(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            ui.heading(say(lang, "Êtes-vous toujours là ?", "Are you still there?"));
            ui.label(format!(
                "{} {:.0} s",
                say(lang, "Retour à l'accueil dans", "Back to the start in"),
                left.ceil()
            ));
            let left_taps = kiosk.session.extensions_left();
            if left_taps > 0 {
                if big(ui, say(lang, "Je continue", "Keep going"), false).clicked() {
                    requests.push(Request::Touch);
                }
            } else {
                ui.label(say(
                    lang,
                    "La visite se termine : merci de votre participation !",
                    "The visit is ending: thank you for taking part!",
                ));
            }
        });
}

/// The staff's corner: a PIN pad that leaves the kiosk (on the desktop, with a PIN in the
/// project).
fn staff(ctx: &egui::Context, kiosk: &mut Kiosk, requests: &mut Vec<Request>) {
    // A page is left through the browser's own kiosk mode: leaving would stop the twin.
    if kiosk.spec.pin_hash.is_none() || cfg!(target_arch = "wasm32") {
        return;
    }
    let lang = kiosk.lang;
    egui::Area::new("kiosk_staff".into())
        .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-8.0, 8.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            if key(ui, "⚙") {
                kiosk.staff_open = !kiosk.staff_open;
            }
        });
    if !kiosk.staff_open {
        return;
    }
    let typed_id = egui::Id::new("kiosk_pin_typed");
    let mut typed: String = ctx.data(|d| d.get_temp(typed_id)).unwrap_or_default();
    egui::Window::new("kiosk_pin")
        .title_bar(false)
        .resizable(false)
        .collapsible(false)
        .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-8.0, 72.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            ui.label(say(lang, "Code du personnel", "Staff code"));
            ui.label("•".repeat(typed.chars().count()));
            for row in ["123", "456", "789"] {
                ui.horizontal(|ui| {
                    for c in row.chars() {
                        if key(ui, &c.to_string()) && typed.len() < 12 {
                            typed.push(c);
                        }
                    }
                });
            }
            ui.horizontal(|ui| {
                if key(ui, "⌫") {
                    typed.pop();
                }
                if key(ui, "0") && typed.len() < 12 {
                    typed.push('0');
                }
                if key(ui, "OK") {
                    requests.push(Request::StaffPin(std::mem::take(&mut typed)));
                }
            });
        });
    ctx.data_mut(|d| d.insert_temp(typed_id, typed));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::kiosk::OpinionSink;
    use crate::scenario::consultation::Opinion;
    use crate::scenario::kiosk::{Alternative, KioskSpec};

    struct Kept;
    impl OpinionSink for Kept {
        fn keep(&mut self, _: &Opinion) -> Result<(), String> {
            Ok(())
        }
    }

    fn kiosk() -> Kiosk {
        let alternative = |name: &str, scenario: Option<&str>| Alternative {
            name: name.into(),
            caption: "Une digue de 2 m le long du fleuve".into(),
            scenario: scenario.map(str::to_owned),
            layers: Vec::new(),
        };
        let spec = KioskSpec {
            alternatives: vec![
                alternative("Aujourd'hui", None),
                alternative("Projet A", Some("a")),
                alternative("Projet B", Some("b")),
            ],
            pin_hash: Some(crate::scenario::kiosk::hash_pin("2468").unwrap()),
            ..Default::default()
        };
        Kiosk::new(spec, Box::new(Kept), Lang::Fr, 5)
    }

    /// Runs two passes of the screen at 1920×1080 (the second lays out with the first's
    /// sizes) and gives the clickable widgets' rectangles and the requests of a click at
    /// `click`.
    fn draw(
        kiosk: &mut Kiosk,
        facts: &Facts,
        click: Option<egui::Pos2>,
    ) -> (Vec<egui::Rect>, Vec<Request>) {
        let ctx = egui::Context::default();
        let input = |events: Vec<egui::Event>| egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1920.0, 1080.0),
            )),
            events,
            ..Default::default()
        };
        let mut pass = |raw: egui::RawInput| {
            ctx.begin_pass(raw);
            let requests = screen(&ctx, kiosk, facts).requests;
            let _ = ctx.end_pass();
            requests
        };
        let mut requests = Vec::new();
        for _ in 0..2 {
            requests = pass(input(Vec::new()));
        }
        if let Some(at) = click {
            let press = |pressed| egui::Event::PointerButton {
                pos: at,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: Default::default(),
            };
            let _ = pass(input(vec![egui::Event::PointerMoved(at), press(true)]));
            requests = pass(input(vec![press(false)]));
        }
        let rects = ctx.viewport(|v| {
            let widgets = &v.prev_pass.widgets;
            widgets
                .layer_ids()
                .flat_map(|layer| widgets.get_layer(layer))
                // Whole targets: one a scroll area cuts is whole once scrolled to.
                .filter(|w| w.enabled && w.sense.senses_click() && w.interact_rect.is_positive())
                .map(|w| w.rect)
                .collect()
        });
        (rects, requests)
    }

    fn facts() -> Facts {
        Facts {
            chapters: vec![
                ("La mairie".into(), "Le parvis rénové".into()),
                ("Les berges".into(), "La digue proposée".into()),
            ],
            tour_caption: Some(("La mairie".into(), "Le parvis rénové".into())),
            tour_paused: false,
            computing: false,
        }
    }

    #[test]
    fn every_touch_target_is_at_least_44_pixels_in_every_phase() {
        let mut k = kiosk();
        let mut seen = 0;
        // The attract loop, a visit with the keyboard and the PIN pad open, the warning.
        let (rects, _) = draw(&mut k, &facts(), None);
        seen += rects.len();
        assert!(
            rects
                .iter()
                .all(|r| r.width() >= MIN_TARGET_PX && r.height() >= MIN_TARGET_PX),
            "{rects:?}"
        );
        k.session.touch(0.0);
        k.staff_open = true;
        k.draft.typing = true;
        let (rects, _) = draw(&mut k, &facts(), None);
        assert!(
            rects.len() > 40,
            "chapters, alternatives, scale, keyboard, PIN pad: {}",
            rects.len()
        );
        seen += rects.len();
        for r in &rects {
            assert!(
                r.width() >= MIN_TARGET_PX && r.height() >= MIN_TARGET_PX,
                "a target of {}×{} at {:?}",
                r.width(),
                r.height(),
                r.min
            );
        }
        k.session.tick(200.0);
        k.clock = 200.0;
        assert!(k.session.seconds_left(200.0).is_some());
        let (rects, _) = draw(&mut k, &facts(), None);
        seen += rects.len();
        assert!(
            rects
                .iter()
                .all(|r| r.width() >= MIN_TARGET_PX && r.height() >= MIN_TARGET_PX)
        );
        assert!(seen > 45);
    }

    #[test]
    fn a_tap_on_the_attract_loop_starts_and_the_pause_button_only_pauses() {
        let mut k = kiosk();
        let (_, requests) = draw(&mut k, &facts(), Some(egui::pos2(900.0, 400.0)));
        assert_eq!(requests, vec![Request::Touch]);
        // The pause button sits in the bottom-left corner.
        let (_, requests) = draw(&mut k, &facts(), Some(egui::pos2(60.0, 1030.0)));
        assert_eq!(requests, vec![Request::PauseTour(true)]);
    }
}
