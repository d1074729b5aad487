//! The web front end: the twin embedded in a page's `<canvas>`, configured by the canvas'
//! `data-*` attributes, the page's query string and an optional project file
//! ([`crate::front::embed`]), its data fetched over HTTP ([`crate::io::fetch`]).
//!
//! The page learns how the twin is doing from `window.jumeau` (a plain object updated every
//! frame): `frames`, `firstFrameMs`, `firstPointsMs`, `settled`, `settledMs`, `pointsShown`,
//! `nodesShown`, `bytesFetched`, `frameMs`, `backend`, `scenarios` (the ids of the scenario
//! results shown, with `?scenario=`) and `errors` (what failed, in words).
//! The page's loader (`web/jumeau.js`) shows the errors over the canvas.
//!
//! The page keeps the current view in its URL as the user moves (`history.replaceState`, the
//! `camera` key): reloading or sharing the address opens the same view; the panel's *Copy
//! link* gives it. `?project=projet.toml` opens a project file as `jumeau view` does.

use crate::buildings::streaming::BuildingColor;
use crate::front::app::viewer_app;
use crate::front::embed::EmbedConfig;
use crate::front::inputs::{OpenOptions, open_inputs};
use crate::front::twin::ViewerSetup;
use crate::io::fetch::retry_fetched;
use crate::pointcloud::streaming::{PointCloudSettings, PointClouds};
use bevy::prelude::*;
use std::path::Path;
use wasm_bindgen::JsValue;

mod outbox;

/// The canvas the twin draws into when the page's loader names none.
const DEFAULT_CANVAS: &str = "#jumeau";

/// Starts the twin in the page (the wasm module's `main`).
pub fn start() {
    wasm_bindgen_futures::spawn_local(async {
        let mut status = PageStatus::default();
        if let Err(error) = run(&mut status).await {
            status.errors.push(error);
            status.publish();
        }
    });
}

/// What the page reads from `window.jumeau`.
#[derive(Debug, Default, Clone, Resource, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PageStatus {
    frames: u64,
    first_frame_ms: Option<f64>,
    first_points_ms: Option<f64>,
    settled: bool,
    settled_ms: Option<f64>,
    points_shown: u64,
    nodes_shown: usize,
    bytes_fetched: u64,
    frame_ms: Option<f64>,
    backend: &'static str,
    /// Ids of the scenario results the panel holds.
    scenarios: Vec<String>,
    /// Errors of opening, then of streaming (newest last).
    errors: Vec<String>,
    /// The consultation kiosk (`embed=kiosk`).
    kiosk: Option<KioskStatus>,
    #[serde(skip)]
    opening_errors: Vec<String>,
    #[serde(skip)]
    streaming_errors_logged: usize,
    #[serde(skip)]
    calm_frames: u32,
    #[serde(skip)]
    frame_times: Vec<f64>,
}

/// What the page tells of its kiosk (`window.jumeau.kiosk`).
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct KioskStatus {
    /// `attract`, `active` or `warning`.
    phase: &'static str,
    lang: &'static str,
    /// The id of the alternative shown (`today` or a scenario's).
    alternative: Option<String>,
    counts: crate::front::kiosk::KioskCounts,
    outbox: outbox::OutboxStatus,
    /// Every touch target on the screen: label, x, y, width, height (CSS pixels).
    targets: Vec<(String, [f32; 4])>,
}

impl PageStatus {
    fn publish(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let Ok(json) = serde_json::to_string(self) else {
            return;
        };
        if let Ok(value) = js_sys::JSON::parse(&json) {
            let _ = js_sys::Reflect::set(&window, &JsValue::from_str("jumeau"), &value);
        }
    }
}

/// Milliseconds since the page started loading.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The page's settings: the canvas' `data-*` attributes, then the project file, then the query
/// string (later ones win).
async fn read_config(canvas: &str) -> Result<EmbedConfig, String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let mut config = EmbedConfig::default();
    let element = document
        .query_selector(canvas)
        .ok()
        .flatten()
        .ok_or_else(|| format!("the page has no element `{canvas}` to draw the twin in"))?;
    config.apply(crate::front::embed::KEYS.iter().filter_map(|key| {
        element
            .get_attribute(&format!("data-{key}"))
            .map(|value| (*key, value))
    }));
    let search = window.location().search().unwrap_or_default();
    let query: Vec<(String, String)> = web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .map(|params| {
            js_sys::try_iter(&params)
                .ok()
                .flatten()
                .into_iter()
                .flatten()
                .filter_map(|entry| {
                    let pair = js_sys::Array::from(&entry.ok()?);
                    Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let project = query
        .iter()
        .rev()
        .find(|(k, _)| k == "project")
        .map(|(_, v)| v.clone())
        .or(config.project.clone());
    if let Some(project) = project.filter(|p| !crate::front::embed::is_toml_project(p)) {
        let url = resolve(&project)?;
        let bytes = retry_fetched(|| crate::io::open(&url).and_then(|s| s.read_all()))
            .await
            .map_err(|e| format!("project file: {e}"))?;
        config.apply(EmbedConfig::project_pairs(&url, &bytes)?);
    }
    config.apply(query);
    Ok(config)
}

/// What a scenario or project file (`?scenario=`, `?project=….toml`) brings to the page.
struct PageFile {
    /// The view running its scenarios (none when it has none), with the territory built
    /// here, where the page can still wait for requests.
    view: Option<crate::scenario::view::ScenarioView>,
    /// Its data URLs for the twin to open.
    data: Vec<String>,
    file: crate::scenario::ScenarioFile,
    url: String,
}

/// The scenario or project file at `url`.
async fn open_scenario(url: &str) -> Result<PageFile, String> {
    use crate::scenario::{ScenarioFile, run::Territory, view::ScenarioView};
    let url = resolve(url)?;
    let bytes = retry_fetched(|| crate::io::open(&url).and_then(|s| s.read_all()))
        .await
        .map_err(|e| format!("scenario file: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{url}: not UTF-8 text"))?;
    let file = ScenarioFile::parse(&url, &text).map_err(|e| e.to_string())?;
    let base = std::path::PathBuf::from(url.rsplit_once('/').map_or("", |(dir, _)| dir));
    let data = file.view_inputs(&base);
    let view = if file.scenarios.is_empty() {
        None
    } else {
        let territory = retry_fetched(|| Territory::load(&file, &base, None))
            .await
            .map_err(|e| e.to_string())?;
        Some(
            ScenarioView::with_file(file.clone(), base)
                .with_territory(std::sync::Arc::new(territory)),
        )
    };
    Ok(PageFile {
        view,
        data,
        file,
        url,
    })
}

/// Keeps the current view in the page's URL (`camera=…`, replacing the history entry, a few
/// times a second at most) and the link for the panel's *Copy link*.
fn keep_view_in_url(
    cameras: Query<&crate::camera::ViewerCamera>,
    project: Option<ResMut<crate::front::project::Project>>,
    time: Res<Time<Real>>,
    mut last: Local<(String, f64)>,
) {
    let Some(rig) = cameras.iter().next() else {
        return;
    };
    let now = time.elapsed_secs_f64();
    let text = crate::front::inputs::camera_text(rig);
    if text == last.0 || now - last.1 < 0.25 {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let query =
        crate::front::embed::query_with_camera(&location.search().unwrap_or_default(), &text);
    let url = format!(
        "{}{query}{}",
        location.pathname().unwrap_or_default(),
        location.hash().unwrap_or_default()
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
    if let Some(mut project) = project {
        project.link = location.href().ok();
    }
    *last = (text, now);
}

/// A URL relative to the page made absolute.
fn resolve(url: &str) -> Result<String, String> {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    web_sys::Url::new_with_base(url, &base)
        .map(|u| u.href())
        .map_err(|_| format!("`{url}` is not a URL"))
}

/// The canvas selector the page's loader chose (`globalThis.jumeauCanvas`).
fn canvas_selector() -> String {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("jumeauCanvas")).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| DEFAULT_CANVAS.to_owned())
}

async fn run(status: &mut PageStatus) -> Result<(), String> {
    status.backend = if cfg!(feature = "webgpu") {
        "webgpu"
    } else {
        "webgl2"
    };
    status.publish();
    let canvas = canvas_selector();
    let config = read_config(&canvas).await?;
    status
        .opening_errors
        .extend(config.warnings.iter().cloned());
    let mut inputs = Vec::new();
    let mut scenarios = None;
    let mut project = None;
    let toml_project = config
        .project
        .as_ref()
        .filter(|p| crate::front::embed::is_toml_project(p));
    for (file, is_project) in [(&config.scenario, false), (&toml_project.cloned(), true)] {
        let Some(file) = file else { continue };
        match open_scenario(file).await {
            Ok(page) => {
                inputs.extend(page.data);
                scenarios = page.view.or(scenarios);
                if is_project {
                    project = Some((page.file, std::path::PathBuf::from(page.url)));
                }
            }
            Err(error) => status.opening_errors.push(error),
        }
    }
    for input in &config.inputs {
        match resolve(input) {
            Ok(url) => inputs.push(url),
            Err(error) => status.opening_errors.push(error),
        }
    }
    let network = OpenOptions::default();
    let no_cache = Path::new("");
    // Nothing is converted on the web: no progress to show.
    let hidden = indicatif::ProgressBar::hidden();
    // Each input alone first: one that fails is named and the others still open.
    let mut good = Vec::new();
    for input in inputs {
        let single = std::slice::from_ref(&input);
        match retry_fetched(|| {
            open_inputs(single, no_cache, config.place.as_ref(), &network, &hidden)
        })
        .await
        {
            Ok(_) => good.push(input),
            Err(error) => status.opening_errors.push(error.to_string()),
        }
    }
    let opened =
        retry_fetched(|| open_inputs(&good, no_cache, config.place.as_ref(), &network, &hidden))
            .await?;
    // Networks are read and draped once the twin runs, on the main thread: bring their bytes
    // and the ground's here first, since nothing can wait for a request there.
    if !opened.networks.is_empty() {
        let sources = crate::pointcloud::layer::layers_sources(&opened.clouds);
        for input in good
            .iter()
            .filter(|i| crate::network::open::is_network_input(i))
        {
            if let Err(error) =
                retry_fetched(|| crate::io::open(input).and_then(|s| s.read_all())).await
            {
                status.opening_errors.push(error.to_string());
            }
        }
        if let Err(error) = retry_fetched(|| crate::network::open::ground_of(&sources)).await {
            status.opening_errors.push(error);
        }
    }
    status
        .opening_errors
        .extend(opened.warnings.iter().cloned());
    for error in &status.opening_errors {
        web_sys::console::error_1(&JsValue::from_str(error));
    }
    let defaults = PointCloudSettings::default();
    let setup = ViewerSetup {
        layers: opened.clouds,
        buildings: opened.buildings,
        settings: PointCloudSettings {
            point_budget: config.budget.unwrap_or(defaults.point_budget),
            point_size_px: config.point_size.unwrap_or(defaults.point_size_px),
            color_mode: config.color.unwrap_or(defaults.color_mode),
            color_from_data: config.color.is_none(),
            edl: config.edl,
            // The browser's memory, not a desktop GPU's.
            memory_budget_bytes: 512 * 1024 * 1024,
            // The page's budget (or the default) even where the compute rasterizer runs: a
            // browser tab's memory is not the GPU's.
            budget_set_by_user: true,
            ..defaults
        },
        camera: config.camera,
        building_color: config
            .color_buildings_by
            .clone()
            .map_or(BuildingColor::Model, BuildingColor::Attribute),
        networks: opened.networks,
        network_style: Default::default(),
        project: None,
        project_data: Vec::new(),
    };
    let kiosk = if config.kiosk {
        match kiosk_of(project.as_ref(), config.lang_given.then_some(config.lang)) {
            Ok(kiosk) => Some(kiosk),
            Err(error) => {
                status.opening_errors.push(error);
                None
            }
        }
    } else {
        None
    };
    let setup = match project {
        Some((file, url)) => setup.with_project(file, url),
        None => setup,
    };
    let window = Window {
        title: "Jumeau".into(),
        canvas: Some(canvas),
        fit_canvas_to_parent: true,
        // The wheel zooms the twin instead of scrolling the page, as in any map widget (the
        // page's own keys still work while the canvas does not have the focus).
        prevent_default_event_handling: true,
        ..default()
    };
    let (width, height) = canvas_size();
    let panel = (!config.minimal).then_some(config.lang);
    let free_width = if panel.is_some() {
        (width - 300.0).max(1.0)
    } else {
        width
    };
    let mut app = viewer_app(setup, window, free_width / height.max(1.0), panel);
    app.insert_resource(status.clone())
        .add_systems(Last, publish_status);
    match kiosk {
        Some(kiosk) => {
            app.add_plugins((
                crate::front::kiosk::KioskPlugin,
                crate::front::ui::kiosk::KioskUiPlugin,
            ))
            .insert_resource(kiosk)
            .init_resource::<crate::front::ui::kiosk::KioskTargets>();
        }
        // A kiosk's address stays as the staff set it.
        None => {
            app.add_systems(Last, keep_view_in_url);
        }
    }
    if let Some(view) = scenarios {
        app.insert_resource(view);
    }
    // On the web the event loop is spawned and this returns at once.
    app.run();
    Ok(())
}

/// The kiosk of the page's project: its `[kiosk]`, opinions POSTed to its
/// `consultation_url` (relative to the project file), in French unless the page says.
fn kiosk_of(
    project: Option<&(crate::scenario::ScenarioFile, std::path::PathBuf)>,
    lang: Option<crate::front::embed::Lang>,
) -> Result<crate::front::kiosk::Kiosk, String> {
    let (file, url) = project.ok_or("embed=kiosk needs a project file (?project=….toml)")?;
    let spec = file
        .kiosk
        .clone()
        .ok_or_else(|| format!("embed=kiosk: {} has no [kiosk] table", url.display()))?;
    match &spec.consultation_url {
        Some(to) => {
            let absolute = web_sys::Url::new_with_base(to, &url.display().to_string())
                .map(|u| u.href())
                .map_err(|_| format!("kiosk.consultation_url: `{to}` is not a URL"))?;
            outbox::start(absolute);
        }
        None => web_sys::console::warn_1(&JsValue::from_str(
            "the project's [kiosk] names no consultation_url: opinions cannot be given",
        )),
    }
    let seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    Ok(crate::front::kiosk::Kiosk::new(
        spec,
        Box::new(outbox::PageOutbox),
        lang.unwrap_or(crate::front::embed::Lang::Fr),
        seed,
    ))
}

/// The CSS size of the canvas' parent (what the canvas is fitted to).
fn canvas_size() -> (f64, f64) {
    web_sys::window().map_or((800.0, 600.0), |w| {
        let width = w
            .inner_width()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(800.0);
        let height = w
            .inner_height()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(600.0);
        (width, height)
    })
}

/// Frames in a row with nothing left to stream before the twin counts as settled.
const CALM_FRAMES: u32 = 3;

fn publish_status(world: &mut World) {
    let settled_now = crate::front::twin::twin_settled(world);
    let delta_ms = world.resource::<Time<Real>>().delta_secs_f64() * 1e3;
    let (scenarios, scenario_error) = world
        .get_resource::<crate::scenario::view::ScenarioView>()
        .map(|v| {
            let ids = v.results.iter().map(|r| r.id.clone()).collect();
            (ids, v.message.clone())
        })
        .unwrap_or_default();
    let (points, nodes, fetched, streaming_errors) = {
        let clouds = world.resource::<PointClouds>();
        let buildings = world.get_resource::<crate::buildings::streaming::Buildings>();
        let networks = world.get_resource::<crate::network::render::Networks>();
        let errors: Vec<String> = clouds
            .messages
            .iter()
            .chain(buildings.iter().flat_map(|b| &b.messages))
            .chain(networks.iter().flat_map(|n| &n.messages))
            .cloned()
            .collect();
        (
            clouds.stats.points_shown,
            clouds.stats.nodes_shown,
            crate::io::fetch::total_fetched(),
            errors,
        )
    };
    let kiosk = world.get_resource::<crate::front::kiosk::Kiosk>().map(|k| {
        use crate::scenario::kiosk::Phase;
        KioskStatus {
            phase: match k.session.phase {
                Phase::Attract => "attract",
                Phase::Active => "active",
                Phase::Warning { .. } => "warning",
            },
            lang: match k.lang {
                crate::front::embed::Lang::En => "en",
                crate::front::embed::Lang::Fr => "fr",
            },
            alternative: k.alternative_id().map(str::to_owned),
            counts: k.counts.clone(),
            outbox: outbox::status(),
            targets: world
                .get_resource::<crate::front::ui::kiosk::KioskTargets>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
        }
    });
    let mut status = world.resource_mut::<PageStatus>();
    status.kiosk = kiosk;
    let now = now_ms();
    status.frames += 1;
    status.first_frame_ms.get_or_insert(now);
    if points > 0 {
        status.first_points_ms.get_or_insert(now);
    }
    status.calm_frames = if settled_now {
        status.calm_frames + 1
    } else {
        0
    };
    status.settled = status.calm_frames >= CALM_FRAMES;
    if status.settled {
        status.settled_ms.get_or_insert(now);
    }
    status.points_shown = points;
    status.nodes_shown = nodes;
    status.bytes_fetched = fetched;
    if status.frames > 1 {
        status.frame_times.push(delta_ms);
        if status.frame_times.len() > 120 {
            status.frame_times.remove(0);
        }
        let mut sorted = status.frame_times.clone();
        sorted.sort_by(f64::total_cmp);
        status.frame_ms = sorted.get(sorted.len() / 2).copied();
    }
    let logged = status.streaming_errors_logged.min(streaming_errors.len());
    for error in &streaming_errors[logged..] {
        web_sys::console::error_1(&JsValue::from_str(error));
    }
    status.streaming_errors_logged = streaming_errors.len();
    status.scenarios = scenarios;
    status.errors = status.opening_errors.clone();
    status.errors.extend(streaming_errors);
    status.errors.extend(scenario_error);
    status.publish();
}
