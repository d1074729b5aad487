//! The consultation kiosk in the viewer: the session of [`crate::scenario::kiosk`] driven by
//! touches and the clock. On the attract loop the tour of the project's bookmarks plays; a
//! touch starts a visit; the visitor picks chapters and alternatives, compares two in the split
//! view and gives an opinion on each, kept by an [`OpinionSink`] (the desktop's journal, the
//! page's outbox) before the thanks show. After the idle time a countdown warns; when it runs
//! out the kiosk returns to exactly its start state (checked by its state hash) and the attract
//! loop. The UI ([`crate::front::ui::kiosk`]) and the soak run send the same [`Request`]s.

use crate::camera::{CameraInput, ViewerCamera};
use crate::front::embed::Lang;
use crate::front::project::{Project, Tour, apply_layers, apply_state, capture_state, fly_to};
use crate::scenario::consultation::{JOURNAL_VERSION, Opinion};
use crate::scenario::kiosk::{Change, KioskSpec, Phase, Session, state_hash};
use crate::scenario::project::ProjectState;
use crate::scenario::view::{ScenarioView, Split};
use bevy::prelude::*;
use serde::Serialize;

/// Seconds the thanks show after an opinion is kept.
pub const THANKS_SECONDS: f64 = 4.0;

/// Where opinions go: the desktop's journal, the page's outbox.
pub trait OpinionSink: Send + Sync {
    /// Keeps `opinion` safe before returning: the visitor is thanked after.
    fn keep(&mut self, opinion: &Opinion) -> Result<(), String>;
}

#[cfg(not(target_arch = "wasm32"))]
impl OpinionSink for crate::scenario::consultation::Journal {
    fn keep(&mut self, opinion: &Opinion) -> Result<(), String> {
        self.append(opinion)
    }
}

/// What the visitor (through the UI) or the soak run asks of the kiosk.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// A touch anywhere: starts a visit on the attract loop, extends it on the warning.
    Touch,
    /// Shows alternative `i`.
    Alternative(usize),
    /// The split view on or off.
    Split(bool),
    /// Flies to chapter (bookmark) `i`.
    Chapter(usize),
    Lang(Lang),
    /// Pauses or resumes the attract loop's tour (not a touch: the loop stays).
    PauseTour(bool),
    /// Gives the draft's opinion on the alternative shown.
    Give,
    /// The staff's PIN, to leave the kiosk.
    StaffPin(String),
}

/// What the kiosk tells the visitor (the screen says it in the kiosk's language).
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    ChooseAlternative,
    ChooseValue,
    AlreadyGiven,
    /// The opinion could not be kept (the sink's error): the visitor may try again.
    NotKept(String),
    WrongPin,
    NothingToPin,
}

/// The opinion being written.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Draft {
    pub value: Option<u8>,
    pub comment: String,
    /// Where the comment is pinned (twin CRS).
    pub at: Option<[f64; 3]>,
    /// The next tap on the view pins the comment.
    pub pinning: bool,
    /// The on-screen keyboard is open.
    pub typing: bool,
}

/// What the kiosk has done since it started.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KioskCounts {
    pub visits: u64,
    pub warnings: u64,
    pub extensions: u64,
    pub resets: u64,
    /// Resets after which the state hash differed from the start's (should stay 0).
    pub resets_off_start: u64,
    pub opinions: u64,
    /// Opinions refused: a second on the same alternative in a visit, or none chosen.
    pub opinions_refused: u64,
    pub failed_pins: u64,
}

/// The state the kiosk starts in and returns to.
#[derive(Clone)]
pub struct Start {
    pub view: ProjectState,
    rig: ViewerCamera,
    pub hash: u64,
}

/// The kiosk.
#[derive(Resource)]
pub struct Kiosk {
    pub spec: KioskSpec,
    pub session: Session,
    /// The kiosk's clock, seconds: real time, or the soak run's simulated time.
    pub clock: f64,
    pub simulated: bool,
    /// Seconds since 1970 when the clock read 0 (opinions are dated with it).
    pub unix_at_zero: f64,
    pub start: Option<Start>,
    /// The alternative shown (index into `spec.alternatives`).
    pub alternative: Option<usize>,
    pub split: bool,
    pub lang: Lang,
    pub start_lang: Lang,
    /// The chapter flown to last.
    pub chapter: Option<usize>,
    pub draft: Draft,
    /// Comments pinned in this visit (text, place), drawn over the view.
    pub pins: Vec<(String, [f64; 3])>,
    pub requests: Vec<Request>,
    /// Until when the thanks show.
    pub thanks_until: Option<f64>,
    pub notice: Option<Notice>,
    /// The staff's PIN pad is open.
    pub staff_open: bool,
    pub counts: KioskCounts,
    /// The staff's PIN was right: the app exits.
    pub exit: bool,
    sink: Box<dyn OpinionSink>,
}

impl Kiosk {
    /// A kiosk of `spec` whose opinions go to `sink`, in `lang`; `seed` draws the visits'
    /// numbers.
    pub fn new(spec: KioskSpec, sink: Box<dyn OpinionSink>, lang: Lang, seed: u64) -> Self {
        let session = Session::new(spec.timing(), seed);
        Self {
            alternative: (!spec.alternatives.is_empty()).then_some(0),
            spec,
            session,
            clock: 0.0,
            simulated: false,
            unix_at_zero: unix_seconds(),
            start: None,
            split: false,
            lang,
            start_lang: lang,
            chapter: None,
            draft: Draft::default(),
            pins: Vec::new(),
            requests: Vec::new(),
            thanks_until: None,
            notice: None,
            staff_open: false,
            counts: KioskCounts::default(),
            exit: false,
            sink,
        }
    }

    /// The id of the alternative shown.
    pub fn alternative_id(&self) -> Option<&str> {
        self.alternative
            .and_then(|i| self.spec.alternatives.get(i))
            .map(|a| a.id())
    }

    /// Whether the thanks show now.
    pub fn thanking(&self) -> bool {
        self.thanks_until.is_some_and(|t| self.clock < t)
    }

    /// Keeps the draft's opinion on the alternative shown; the visitor is thanked once it is
    /// safe. Refused when there is no visit, no value, or this visit already gave one.
    fn give(&mut self) {
        let Some(id) = self.alternative_id().map(str::to_owned) else {
            self.notice = Some(Notice::ChooseAlternative);
            self.counts.opinions_refused += 1;
            return;
        };
        let Some(value) = self
            .draft
            .value
            .filter(|v| self.spec.opinion.values().contains(v))
        else {
            self.notice = Some(Notice::ChooseValue);
            self.counts.opinions_refused += 1;
            return;
        };
        if !self.session.may_give(&id) {
            self.notice = Some(Notice::AlreadyGiven);
            self.counts.opinions_refused += 1;
            return;
        }
        let comment: String = self
            .draft
            .comment
            .trim()
            .chars()
            .take(self.spec.comment_max_chars)
            .collect();
        let opinion = Opinion {
            v: JOURNAL_VERSION,
            visit: self.session.visit,
            alternative: id.clone(),
            value,
            comment: comment.clone(),
            at: self.draft.at,
            time: (self.unix_at_zero + self.clock).max(0.0) as u64,
        };
        match self.sink.keep(&opinion) {
            Ok(()) => {
                // `may_give` said yes: this cannot fail.
                let _ = self.session.gave(&id);
                self.counts.opinions += 1;
                self.thanks_until = Some(self.clock + THANKS_SECONDS);
                self.notice = None;
                if let (Some(at), false) = (self.draft.at, comment.is_empty()) {
                    self.pins.push((comment, at));
                }
                self.draft = Draft::default();
            }
            // Not thanked: the visitor may try again.
            Err(e) => self.notice = Some(Notice::NotKept(e)),
        }
    }

    /// The kiosk's state as the hash sees it: the view (layers by name), the alternative, the
    /// split view, the language, the chapter, the draft and the pins.
    fn snapshot(&self, mut view: ProjectState) -> u64 {
        view.layers.sort_by(|a, b| a.name.cmp(&b.name));
        #[derive(Serialize)]
        struct Snapshot<'a> {
            view: ProjectState,
            alternative: Option<usize>,
            split: bool,
            lang: &'static str,
            chapter: Option<usize>,
            draft: &'a Draft,
            pins: &'a [(String, [f64; 3])],
        }
        state_hash(&Snapshot {
            view,
            alternative: self.alternative,
            split: self.split,
            lang: match self.lang {
                Lang::En => "en",
                Lang::Fr => "fr",
            },
            chapter: self.chapter,
            draft: &self.draft,
            pins: &self.pins,
        })
    }
}

/// Seconds since 1970.
pub fn unix_seconds() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() / 1000.0
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// The kiosk's systems; insert a [`Kiosk`] to start it.
pub struct KioskPlugin;

impl Plugin for KioskPlugin {
    fn build(&self, app: &mut App) {
        add_systems(app);
    }
}

/// The kiosk's systems, in an app that may have finished adding plugins (the offscreen app of
/// the soak run).
pub fn add_systems(app: &mut App) {
    {
        app.add_systems(
            PostUpdate,
            kiosk_step.before(crate::camera::CameraSystems::Input),
        )
        .add_systems(
            PostUpdate,
            pin_comment_on_click.in_set(crate::camera::CameraSystems::Input),
        );
    }
}

/// The kiosk's state hash now.
pub fn state_hash_now(world: &mut World) -> Option<u64> {
    let view = capture_state(world);
    world.get_resource::<Kiosk>().map(|k| k.snapshot(view))
}

fn kiosk_step(world: &mut World) {
    let Some(mut kiosk) = world.remove_resource::<Kiosk>() else {
        return;
    };
    step(world, &mut kiosk);
    world.insert_resource(kiosk);
}

/// One frame of the kiosk: the clock, the start state once the camera exists, the requests,
/// the idle rules.
fn step(world: &mut World, kiosk: &mut Kiosk) {
    if !kiosk.simulated {
        kiosk.clock = world.resource::<Time<Real>>().elapsed_secs_f64();
    }
    let now = kiosk.clock;
    world.init_resource::<Project>();
    world.resource_mut::<Project>().simulated_clock = kiosk.simulated.then_some(now);
    if kiosk.start.is_none() {
        let Some(rig) = world.query::<&ViewerCamera>().iter(world).next().copied() else {
            return;
        };
        let view = capture_state(world);
        kiosk.start = Some(Start {
            hash: kiosk.snapshot(view.clone()),
            view,
            rig,
        });
        start_tour(world, now);
    }
    if kiosk.session.phase != Phase::Attract && touched(world) {
        kiosk.requests.insert(0, Request::Touch);
    }
    for request in std::mem::take(&mut kiosk.requests) {
        answer(world, kiosk, request);
    }
    match kiosk.session.tick(now) {
        Some(Change::Warned) => kiosk.counts.warnings += 1,
        Some(Change::Reset) => reset(world, kiosk),
        _ => {}
    }
    sync_scenarios(world, kiosk);
    if let Some(mut input) = world.get_resource_mut::<CameraInput>() {
        input.enabled = kiosk.session.phase != Phase::Attract;
    }
    if kiosk.exit {
        world.write_message(AppExit::Success);
    }
}

/// A finger or a mouse button went down, or the wheel turned, this frame.
fn touched(world: &World) -> bool {
    let touch = world
        .get_resource::<bevy::input::touch::Touches>()
        .is_some_and(|t| t.any_just_pressed());
    let mouse = world
        .get_resource::<ButtonInput<MouseButton>>()
        .is_some_and(|b| b.get_just_pressed().next().is_some());
    let wheel = world
        .get_resource::<bevy::input::mouse::AccumulatedMouseScroll>()
        .is_some_and(|s| s.delta != Vec2::ZERO);
    touch || mouse || wheel
}

fn answer(world: &mut World, kiosk: &mut Kiosk, request: Request) {
    let now = kiosk.clock;
    // Anything the visitor does is a touch, but pausing the attract loop and the staff's PIN.
    if !matches!(request, Request::PauseTour(_) | Request::StaffPin(_)) {
        match kiosk.session.touch(now) {
            Some(Change::VisitStarted) => {
                kiosk.counts.visits += 1;
                let mut project = world.resource_mut::<Project>();
                project.tour = None;
                project.flight = None;
            }
            Some(Change::Extended) => kiosk.counts.extensions += 1,
            _ => {}
        }
    }
    match request {
        Request::Touch => {}
        Request::Alternative(i) if i < kiosk.spec.alternatives.len() => {
            kiosk.alternative = Some(i);
            kiosk.draft = Draft::default();
            kiosk.notice = None;
            let layers = kiosk.spec.alternatives[i].layers.clone();
            apply_layers(world, &layers);
        }
        Request::Alternative(_) => {}
        Request::Split(on) => kiosk.split = on,
        Request::Chapter(i) => {
            let rig = world.query::<&ViewerCamera>().iter(world).next().copied();
            let mut project = world.resource_mut::<Project>();
            if let (Some(bookmark), Some(rig)) = (project.bookmarks.get(i).cloned(), rig) {
                fly_to(&mut project, &rig, bookmark.camera(), now);
                kiosk.chapter = Some(i);
            }
        }
        Request::Lang(lang) => kiosk.lang = lang,
        Request::PauseTour(paused) => {
            if let Some(tour) = world.resource_mut::<Project>().tour.as_mut() {
                tour.paused = paused;
            }
        }
        Request::Give => kiosk.give(),
        Request::StaffPin(pin) => {
            let right = kiosk
                .spec
                .pin_hash
                .as_deref()
                .is_some_and(|hash| crate::scenario::kiosk::pin_matches(hash, &pin));
            if right {
                kiosk.exit = true;
            } else {
                kiosk.counts.failed_pins += 1;
                kiosk.notice = Some(Notice::WrongPin);
            }
        }
    }
}

/// The tour of the bookmarks from the first, looping.
fn start_tour(world: &mut World, now: f64) {
    let mut project = world.resource_mut::<Project>();
    let n = project.bookmarks.len();
    project.tour = (n > 0).then_some(Tour {
        index: n - 1,
        next_at: now,
        paused: false,
    });
}

/// Back to the start state and the attract loop; counts a reset whose state hash differs
/// from the start's.
fn reset(world: &mut World, kiosk: &mut Kiosk) {
    let Some(start) = kiosk.start.clone() else {
        return;
    };
    {
        let mut project = world.resource_mut::<Project>();
        project.tour = None;
        project.flight = None;
        project.bookmarks = start.view.bookmarks.clone();
        project.annotations = start.view.annotations.clone();
        project.pinning = None;
    }
    apply_state(world, &start.view);
    apply_layers(world, &start.view.layers);
    // The camera as it was, bit for bit (eye and target would round).
    for mut camera in world.query::<&mut ViewerCamera>().iter_mut(world) {
        *camera = start.rig;
    }
    kiosk.alternative = (!kiosk.spec.alternatives.is_empty()).then_some(0);
    kiosk.split = false;
    kiosk.lang = kiosk.start_lang;
    kiosk.chapter = None;
    kiosk.draft = Draft::default();
    kiosk.pins.clear();
    kiosk.thanks_until = None;
    kiosk.notice = None;
    kiosk.staff_open = false;
    kiosk.counts.resets += 1;
    let view = capture_state(world);
    if kiosk.snapshot(view) != start.hash {
        kiosk.counts.resets_off_start += 1;
        warn!("the kiosk's state after a reset differs from its start state");
    }
    sync_scenarios(world, kiosk);
    start_tour(world, kiosk.clock);
}

/// The scenario view shows the alternative chosen, or the split view of two alternatives.
fn sync_scenarios(world: &mut World, kiosk: &Kiosk) {
    let Some(mut view) = world.get_resource_mut::<ScenarioView>() else {
        return;
    };
    let index_of =
        |id: Option<&str>| id.and_then(|id| view.results.iter().position(|r| r.id == id));
    let selected = index_of(kiosk.alternative_id());
    let split = kiosk.split.then(|| {
        // The alternative shown on the left, the next one with a result on the right.
        let ids: Vec<usize> = kiosk
            .spec
            .alternatives
            .iter()
            .filter_map(|a| index_of(a.scenario.as_deref()))
            .collect();
        let left = selected.or(ids.first().copied())?;
        let right = ids.iter().copied().find(|&i| i != left)?;
        Some((left, right))
    });
    let split = split.flatten();
    if view.selected != selected {
        view.selected = selected;
    }
    let now = view.split.map(|s| (s.left, s.right));
    if now != split {
        view.split = split.map(|(left, right)| Split {
            left,
            right,
            divider: 0.5,
        });
    }
}

/// With a comment to pin, a tap on the view pins it where the twin is drawn.
fn pin_comment_on_click(
    mut commands: Commands,
    mut clicks: crate::camera::Clicks,
    kiosk: Option<Res<Kiosk>>,
) {
    if !kiosk.is_some_and(|k| k.draft.pinning) {
        return;
    }
    let rays = clicks.rays();
    crate::camera::pick_along(&mut commands, rays, |world, hit| {
        if let Some(mut kiosk) = world.get_resource_mut::<Kiosk>() {
            kiosk.draft.pinning = false;
            match hit {
                Some(at) => kiosk.draft.at = Some(at.to_array()),
                None => kiosk.notice = Some(Notice::NothingToPin),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::kiosk::Alternative;
    use crate::scenario::project::Bookmark;
    use bevy::math::DVec3;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<Opinion>>>);

    impl OpinionSink for Kept {
        fn keep(&mut self, opinion: &Opinion) -> Result<(), String> {
            self.0.lock().unwrap().push(opinion.clone());
            Ok(())
        }
    }

    fn app(kept: Kept) -> App {
        let mut app = crate::camera::test_app_with_input();
        app.add_plugins((crate::front::project::ProjectPlugin, KioskPlugin));
        app.init_resource::<Time<Real>>();
        app.insert_resource(crate::pointcloud::streaming::PointCloudSettings::default());
        app.world_mut().spawn((
            ViewerCamera::look_at(DVec3::new(10.0, -100.0, 80.0), DVec3::new(0.0, 0.0, 5.0)),
            Camera::default(),
            Transform::default(),
            Projection::Perspective(PerspectiveProjection::default()),
        ));
        let bookmark = |name: &str, x: f64| Bookmark {
            name: name.into(),
            caption: format!("{name}, vu du sud"),
            eye: [x, -50.0, 40.0],
            target: [x, 0.0, 0.0],
        };
        app.insert_resource(Project {
            bookmarks: vec![bookmark("Mairie", 0.0), bookmark("Berges", 200.0)],
            ..Default::default()
        });
        let alternative = |name: &str, scenario: Option<&str>| Alternative {
            name: name.into(),
            caption: String::new(),
            scenario: scenario.map(str::to_owned),
            layers: Vec::new(),
        };
        let spec = KioskSpec {
            idle_seconds: 60.0,
            warning_seconds: 20.0,
            alternatives: vec![
                alternative("Aujourd'hui", None),
                alternative("Projet A", Some("a")),
            ],
            ..Default::default()
        };
        let mut kiosk = Kiosk::new(spec, Box::new(kept), Lang::Fr, 11);
        kiosk.simulated = true;
        app.insert_resource(kiosk);
        app
    }

    fn at(app: &mut App, clock: f64, requests: &[Request]) {
        let mut kiosk = app.world_mut().resource_mut::<Kiosk>();
        kiosk.clock = clock;
        kiosk.requests.extend_from_slice(requests);
        app.update();
    }

    fn rig(app: &mut App) -> ViewerCamera {
        *app.world_mut()
            .query::<&ViewerCamera>()
            .single(app.world())
            .unwrap()
    }

    #[test]
    fn a_visit_changes_everything_and_the_reset_puts_back_the_start_exactly() {
        let kept = Kept::default();
        let mut app = app(kept.clone());
        at(&mut app, 0.0, &[]);
        let start = app.world().resource::<Kiosk>().start.clone().unwrap();
        let start_rig = rig(&mut app);
        assert!(
            app.world().resource::<Project>().tour.is_some(),
            "the attract loop plays"
        );
        // The tour flies: the camera leaves the start view.
        at(&mut app, 1.0, &[]);
        assert_ne!(rig(&mut app), start_rig);

        at(&mut app, 10.0, &[Request::Touch]);
        assert!(
            app.world().resource::<Project>().tour.is_none(),
            "a touch stops the tour"
        );
        let visit = app.world().resource::<Kiosk>().session.visit;
        at(
            &mut app,
            12.0,
            &[
                Request::Alternative(1),
                Request::Lang(Lang::En),
                Request::Chapter(1),
            ],
        );
        {
            let mut kiosk = app.world_mut().resource_mut::<Kiosk>();
            kiosk.draft.value = Some(4);
            kiosk.draft.comment = "  trop près de l'école  ".into();
            kiosk.draft.at = Some([5.0, 6.0, 7.0]);
        }
        at(&mut app, 15.0, &[Request::Give]);
        {
            let kiosk = app.world().resource::<Kiosk>();
            assert!(kiosk.thanking());
            assert_eq!(kiosk.pins.len(), 1);
        }
        // A second opinion on the same alternative in the same visit is refused.
        app.world_mut().resource_mut::<Kiosk>().draft.value = Some(1);
        at(&mut app, 16.0, &[Request::Give]);
        let kiosk = app.world().resource::<Kiosk>();
        assert_eq!(kiosk.notice, Some(Notice::AlreadyGiven));
        assert_eq!(kiosk.counts.opinions, 1);
        let opinions = kept.0.lock().unwrap().clone();
        assert_eq!(opinions.len(), 1);
        assert_eq!(opinions[0].alternative, "a");
        assert_eq!(opinions[0].visit, visit);
        assert_eq!(opinions[0].comment, "trop près de l'école");
        assert_eq!(opinions[0].at, Some([5.0, 6.0, 7.0]));
        assert!(state_hash_now(app.world_mut()) != Some(start.hash));

        // Idle: warned at 60 s, reset 20 s later.
        at(&mut app, 76.0, &[]);
        assert!(matches!(
            app.world().resource::<Kiosk>().session.phase,
            Phase::Warning { .. }
        ));
        at(&mut app, 96.0, &[]);
        let kiosk = app.world().resource::<Kiosk>();
        assert_eq!(kiosk.session.phase, Phase::Attract);
        assert_eq!(kiosk.counts.resets, 1);
        assert_eq!(kiosk.counts.resets_off_start, 0);
        assert_eq!(kiosk.lang, Lang::Fr);
        assert!(kiosk.pins.is_empty());
        assert_eq!(state_hash_now(app.world_mut()), Some(start.hash));
        assert_eq!(
            rig(&mut app),
            start_rig,
            "the camera exactly where it started"
        );
        assert!(
            app.world().resource::<Project>().tour.is_some(),
            "the attract loop again"
        );
        // The next visit may give its opinion on the same alternative.
        at(&mut app, 100.0, &[Request::Touch, Request::Alternative(1)]);
        app.world_mut().resource_mut::<Kiosk>().draft.value = Some(2);
        at(&mut app, 101.0, &[Request::Give]);
        let opinions = kept.0.lock().unwrap().clone();
        assert_eq!(opinions.len(), 2);
        assert_ne!(opinions[1].visit, visit);
    }

    #[test]
    fn the_pause_button_and_a_wrong_pin_are_not_visits() {
        let mut app = app(Kept::default());
        at(&mut app, 0.0, &[Request::PauseTour(true)]);
        assert!(app.world().resource::<Project>().tour.unwrap().paused);
        at(&mut app, 1.0, &[Request::StaffPin("0000".into())]);
        let kiosk = app.world().resource::<Kiosk>();
        assert_eq!(kiosk.session.phase, Phase::Attract);
        assert_eq!(kiosk.counts.failed_pins, 1);
        assert!(
            !kiosk.exit,
            "no PIN in the project: nobody leaves from the screen"
        );
        app.world_mut().resource_mut::<Kiosk>().spec.pin_hash =
            Some(crate::scenario::kiosk::hash_pin("2468").unwrap());
        at(&mut app, 2.0, &[Request::StaffPin("2469".into())]);
        assert!(!app.world().resource::<Kiosk>().exit);
        at(&mut app, 3.0, &[Request::StaffPin("2468".into())]);
        assert!(app.world().resource::<Kiosk>().exit);
        let exits = app.world().resource::<Messages<AppExit>>();
        assert!(!exits.is_empty(), "the app is asked to exit");
    }
}
