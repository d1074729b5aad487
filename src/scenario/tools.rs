//! Radio tools in the 3D view: a point-to-point link between two places clicked on the
//! terrain (its profile, line of sight, first Fresnel zone and loss broken down), and the
//! sites of a coverage result placed, moved, aimed or removed with the mouse (what if): only
//! the changed site's mast is recomputed, off the main thread, and the split view compares the
//! result before and after.

use super::radio::{Antenna, Coverage, Diffraction, Link, link};
use super::run::{ScenarioResult, Territory, coverage_result};
use super::view::{ScenarioView, Split};
use crate::jobs::{Task, WorkerPool};
use crate::network::overlay::Screen;
use crate::terrain::{Raster, TerrainModels};
use bevy::math::{DVec2, DVec3};
use bevy::prelude::*;
use std::sync::Arc;

/// What a click on the terrain does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ToolMode {
    /// Nothing: clicks pick buildings and network features as usual.
    #[default]
    Off,
    /// The first click places the transmitter, the second the receiver.
    Link,
    /// Clicks select, place, move or aim the sites of the coverage shown.
    Sites,
}

/// What the next click does to the sites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SiteAction {
    /// Selects the site nearest the click.
    #[default]
    Select,
    /// Places a new site (the editor's template) there.
    Place,
    /// Moves the selected site there.
    Move,
    /// Turns the selected sector to face there.
    Aim,
}

/// The radio tools' state.
#[derive(Resource)]
pub struct RadioTools {
    pub mode: ToolMode,
    pub link: LinkTool,
    pub sites: SiteEditor,
    /// Where CRS points fall on the screen, for the markers drawn over the view.
    pub screen: Option<Screen>,
    pool: WorkerPool<EditTask>,
}

impl Default for RadioTools {
    fn default() -> Self {
        let workers = if cfg!(target_arch = "wasm32") { 0 } else { 1 };
        Self {
            mode: ToolMode::Off,
            link: LinkTool::default(),
            sites: SiteEditor::default(),
            screen: None,
            pool: WorkerPool::new(workers, "what-if"),
        }
    }
}

/// A point-to-point link.
pub struct LinkTool {
    pub from: Option<DVec2>,
    pub to: Option<DVec2>,
    /// Above the ground, metres.
    pub from_height_m: f64,
    pub to_height_m: f64,
    pub frequency_mhz: f64,
    pub method: Diffraction,
    /// An antenna that transmits from `from` (its height, band, power and pattern), chosen
    /// among the coverage's.
    pub antenna: Option<Antenna>,
    pub report: Option<Result<LinkReport, String>>,
}

impl Default for LinkTool {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            from_height_m: 30.0,
            to_height_m: 1.5,
            frequency_mhz: 3500.0,
            method: Diffraction::default(),
            antenna: None,
            report: None,
        }
    }
}

/// A link and what the transmitter's pattern and power make of it.
#[derive(Clone, Debug)]
pub struct LinkReport {
    pub link: Link,
    /// The antenna pattern's attenuation towards the receiver, dB (0 without an antenna).
    pub pattern_db: f64,
    /// Received power, dBm, when an antenna transmits.
    pub received_dbm: Option<f64>,
}

impl LinkReport {
    /// Total path loss: free space, diffraction and pattern, dB.
    pub fn total_db(&self) -> f64 {
        self.link.free_space_db + self.link.diffraction_db + self.pattern_db
    }
}

impl LinkTool {
    /// A click at `p`: the transmitter first, then the receiver; a third click starts a new
    /// link from there.
    pub fn pick(&mut self, p: DVec2) {
        match (self.from, self.to) {
            (Some(_), None) => self.to = Some(p),
            _ => {
                self.from = Some(p);
                self.to = None;
                self.report = None;
            }
        }
    }

    /// Transmits from `antenna`: its place, height and band.
    pub fn transmit_from(&mut self, antenna: Antenna) {
        self.from = Some(antenna.position);
        self.from_height_m = antenna.height_m;
        self.frequency_mhz = antenna.frequency_mhz;
        self.antenna = Some(antenna);
    }

    /// Computes the link over `models` once both ends are placed.
    pub fn update(&mut self, models: &TerrainModels) {
        let (Some(from), Some(to)) = (self.from, self.to) else {
            self.report = None;
            return;
        };
        let step = models.grid().cell_m;
        let report = link(
            models,
            (from, self.from_height_m),
            (to, self.to_height_m),
            self.frequency_mhz,
            self.method,
            step,
        )
        .map(|link| {
            let antenna = self.antenna.as_ref().filter(|a| a.position == from);
            let pattern_db = antenna.map_or(0.0, |a| link.pattern_db(a, to));
            let received_dbm =
                antenna.map(|a| a.eirp_dbm - link.free_space_db - link.diffraction_db - pattern_db);
            LinkReport {
                link,
                pattern_db,
                received_dbm,
            }
        })
        .map_err(|e| e.to_string());
        self.report = Some(report);
    }
}

/// The sites of a coverage result, edited.
pub struct SiteEditor {
    /// Id of the coverage result edited.
    pub base_id: Option<String>,
    /// The edited coverage (the base's until a first edit lands).
    pub edited: Option<Arc<Coverage>>,
    /// Index of the selected antenna in `edited`.
    pub selected: Option<usize>,
    pub action: SiteAction,
    /// What a placed site is.
    pub template: Antenna,
    /// An edit is being computed.
    pub busy: bool,
    /// Edits landed.
    pub edits: usize,
    pub message: Option<String>,
    placed: usize,
}

impl Default for SiteEditor {
    fn default() -> Self {
        Self {
            base_id: None,
            edited: None,
            selected: None,
            action: SiteAction::Select,
            template: Antenna {
                id: String::new(),
                position: DVec2::ZERO,
                height_m: 30.0,
                frequency_mhz: 3500.0,
                eirp_dbm: 60.0,
                azimuth_deg: None,
                beamwidth_deg: Antenna::DEFAULT_BEAMWIDTH_DEG,
                tilt_deg: Antenna::DEFAULT_TILT_DEG,
                vertical_beamwidth_deg: Antenna::DEFAULT_VERTICAL_BEAMWIDTH_DEG,
            },
            busy: false,
            edits: 0,
            message: None,
            placed: 0,
        }
    }
}

/// A change to the sites.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    Add(Antenna),
    Replace(usize, Antenna),
    Remove(usize),
}

/// The suffix of a what-if result's id.
pub const WHAT_IF_SUFFIX: &str = "-whatif";

/// The id of the what-if result of coverage result `id`.
pub fn what_if_id(id: &str) -> String {
    format!("{id}{WHAT_IF_SUFFIX}")
}

impl RadioTools {
    /// The coverage the editor works on: its edited state, else that of the result shown
    /// (a what-if result edits its base).
    pub fn coverage(&self, view: &ScenarioView) -> Option<Arc<Coverage>> {
        if let Some(c) = &self.sites.edited {
            return Some(c.clone());
        }
        view.selected_result().and_then(|r| r.coverage.clone())
    }

    /// Starts computing `edit` on the coverage being edited (off the main thread): only the
    /// mast it changes is computed.
    pub fn apply(&mut self, view: &ScenarioView, edit: Edit) {
        let (Some(territory), Some(base)) = (view.territory.clone(), self.base(view)) else {
            self.sites.message = Some("show a coverage result to edit its sites".into());
            return;
        };
        let Some(coverage) = self.sites.edited.clone().or(base.coverage.clone()) else {
            return;
        };
        if self.sites.base_id.as_deref() != Some(base.id.as_str()) {
            self.sites.base_id = Some(base.id.clone());
        }
        self.sites.busy = true;
        self.sites.message = None;
        self.pool.replace_queue(vec![EditTask {
            key: self.sites.edits as u64,
            territory,
            base,
            coverage,
            edit,
        }]);
    }

    /// The coverage result being edited: the one the editor began on, else the one shown
    /// (its base when it is a what-if).
    fn base(&self, view: &ScenarioView) -> Option<ScenarioResult> {
        let id = match &self.sites.base_id {
            Some(id) => id.clone(),
            None => {
                let shown = view.selected_result()?;
                shown
                    .id
                    .strip_suffix(WHAT_IF_SUFFIX)
                    .unwrap_or(&shown.id)
                    .to_owned()
            }
        };
        view.results
            .iter()
            .find(|r| r.id == id && r.coverage.is_some())
            .cloned()
    }

    /// A click at `p` in the sites mode.
    pub fn click_site(&mut self, view: &ScenarioView, p: DVec2, near_m: f64) {
        let Some(coverage) = self.coverage(view) else {
            return;
        };
        let selected = self
            .sites
            .selected
            .and_then(|i| coverage.antennas.get(i).map(|a| (i, a.clone())));
        match (self.sites.action, selected) {
            (SiteAction::Place, _) => {
                self.sites.placed += 1;
                let antenna = Antenna {
                    id: format!("new-{}", self.sites.placed),
                    position: p,
                    ..self.sites.template.clone()
                };
                self.sites.selected = Some(coverage.antennas.len());
                self.sites.action = SiteAction::Select;
                self.apply(view, Edit::Add(antenna));
            }
            (SiteAction::Move, Some((i, mut a))) => {
                a.position = p;
                self.sites.action = SiteAction::Select;
                self.apply(view, Edit::Replace(i, a));
            }
            (SiteAction::Aim, Some((i, mut a))) => {
                let v = p - a.position;
                a.azimuth_deg = Some(v.x.atan2(v.y).to_degrees().rem_euclid(360.0).round());
                self.apply(view, Edit::Replace(i, a));
            }
            _ => {
                self.sites.selected = coverage
                    .antennas
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (i, a.position.distance(p)))
                    .filter(|(_, d)| *d <= near_m)
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i);
            }
        }
    }

    /// The view's scenario file with the edits as a scenario of its own (`<id>-whatif`,
    /// replacing one of that id): the sites placed, moved or turned, the network antennas
    /// removed or changed excluded. Parsing its text back gives the same file.
    pub fn what_if_file(&self, view: &ScenarioView) -> Result<super::ScenarioFile, String> {
        let (Some((file, _)), Some(base), Some(edited)) =
            (&view.file, self.base(view), &self.sites.edited)
        else {
            return Err("no edit to save: place, move, aim or remove a site first".into());
        };
        let spec = file
            .scenarios
            .iter()
            .find(|s| s.id == base.id)
            .ok_or_else(|| format!("scenario `{}` is not in the file", base.id))?;
        let before = base.coverage.as_ref().map_or(&[][..], |c| &c.antennas[..]);
        let id = what_if_id(&base.id);
        let scenario = super::sites::what_if_scenario(spec, before, &edited.antennas, &id);
        let mut file = file.clone();
        file.scenarios.retain(|s| s.id != id);
        file.scenarios.push(scenario);
        // What the file says must read back: the same checks as a file from disk.
        super::ScenarioFile::parse("what-if", &file.to_toml()).map_err(|e| e.to_string())
    }

    /// Forgets the edits (a new run, or the user starting over).
    pub fn reset_sites(&mut self) {
        self.sites = SiteEditor {
            template: self.sites.template.clone(),
            ..SiteEditor::default()
        };
    }
}

struct EditTask {
    key: u64,
    territory: Arc<Territory>,
    base: ScenarioResult,
    coverage: Arc<Coverage>,
    edit: Edit,
}

impl Task for EditTask {
    type Key = u64;
    type Output = Result<ScenarioResult, String>;

    fn key(&self) -> u64 {
        self.key
    }

    fn run(self) -> Self::Output {
        let mut coverage = Coverage::clone(&self.coverage);
        match self.edit {
            Edit::Add(a) => coverage.add_site(a),
            Edit::Replace(i, a) => coverage.replace_site(i, a),
            Edit::Remove(i) => {
                coverage.remove_site(i);
                Ok(())
            }
        }
        .map_err(|e| e.to_string())?;
        let id = what_if_id(&self.base.id);
        let title = format!("{} (what if)", self.base.title);
        Ok(coverage_result(
            &self.territory,
            &self.base,
            coverage,
            &id,
            &title,
        ))
    }
}

/// The first point of `surface` along the ray from `eye` in unit `direction` (CRS): the ray
/// is clipped to the grid, then marched by half a cell.
pub fn surface_hit(surface: &Raster, eye: DVec3, direction: DVec3) -> Option<DVec3> {
    let (lo, hi) = surface.grid.extent();
    let (mut t0, mut t1) = (0.0f64, f64::INFINITY);
    for (o, d, lo, hi) in [
        (eye.x, direction.x, lo.x, hi.x),
        (eye.y, direction.y, lo.y, hi.y),
    ] {
        if d.abs() < 1e-12 {
            if o < lo || o >= hi {
                return None;
            }
            continue;
        }
        let (a, b) = ((lo - o) / d, (hi - o) / d);
        t0 = t0.max(a.min(b));
        t1 = t1.min(a.max(b));
    }
    // Below the lowest surface the ray has missed it (this bounds a vertical ray).
    let lowest = f64::from(surface.range()?.0);
    if direction.z < 0.0 {
        t1 = t1.min((eye.z - lowest) / -direction.z);
    }
    if t0 > t1 || !t1.is_finite() {
        return None;
    }
    let step = surface.grid.cell_m / 2.0;
    let mut t = t0;
    while t <= t1 {
        let p = eye + direction * t;
        if let Some((c, r)) = surface.grid.cell_of(p.truncate()) {
            let z = f64::from(surface.at(c, r));
            if z.is_finite() && p.z <= z {
                return Some(p.truncate().extend(z));
            }
        }
        t += step;
    }
    None
}

/// Clicks on the terrain go to the tool in use.
fn click_on_terrain(
    mut clicks: crate::camera::Clicks,
    view: Option<Res<ScenarioView>>,
    mut tools: ResMut<RadioTools>,
) {
    if tools.mode == ToolMode::Off {
        return;
    }
    let Some(view) = view else {
        return;
    };
    let Some(territory) = view.territory.clone() else {
        return;
    };
    let distance = clicks.distance().unwrap_or(100.0);
    let rays = clicks.rays();
    for (eye, direction) in rays {
        let Some(hit) = surface_hit(&territory.models.dsm, eye, direction) else {
            continue;
        };
        match tools.mode {
            ToolMode::Link => {
                tools.link.pick(hit.truncate());
                tools.link.update(&territory.models);
            }
            ToolMode::Sites => {
                // Within 2 % of the view's distance (at least 10 m) of a site selects it.
                let near_m = (distance * 0.02).max(10.0);
                tools.click_site(&view, hit.truncate(), near_m);
            }
            ToolMode::Off => {}
        }
    }
}

/// Edits that finished become the what-if result, shown beside the base in the split view.
fn collect_edits(mut tools: ResMut<RadioTools>, mut view: ResMut<ScenarioView>) {
    tools.pool.run_inline_if_single_threaded();
    for output in tools.pool.try_results() {
        tools.sites.busy = false;
        match output {
            Ok(result) => {
                tools.sites.edits += 1;
                tools.sites.edited = result.coverage.clone();
                let Some(base) = tools
                    .sites
                    .base_id
                    .as_ref()
                    .and_then(|id| view.results.iter().position(|r| &r.id == id))
                else {
                    continue;
                };
                let at = match view.results.iter().position(|r| r.id == result.id) {
                    Some(at) => {
                        view.results[at] = result;
                        at
                    }
                    None => {
                        view.results.push(result);
                        view.results.len() - 1
                    }
                };
                view.split = Some(Split {
                    left: base,
                    right: at,
                    divider: view.split.map_or(0.5, |s| s.divider),
                });
                view.refresh();
            }
            Err(e) => tools.sites.message = Some(e),
        }
    }
    // A new run replaced the results: the edits were of the old ones.
    if let Some(id) = &tools.sites.base_id
        && !view
            .results
            .iter()
            .any(|r| &r.id == id && r.coverage.is_some())
    {
        tools.reset_sites();
    }
}

/// Where CRS points fall on the screen this frame.
fn track_screen(screen: crate::network::render::ScreenNow, mut tools: ResMut<RadioTools>) {
    if tools.mode != ToolMode::Off
        && let Some(screen) = screen.get()
    {
        tools.screen = Some(screen);
    }
}

/// The radio tools, for an app with the [`super::view::ScenarioPlugin`].
pub struct RadioToolsPlugin;

impl Plugin for RadioToolsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<RadioTools>().add_systems(
            PostUpdate,
            (click_on_terrain, collect_edits, track_screen)
                .chain()
                .after(crate::camera::CameraSystems::Apply),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terrain::Grid;

    fn plane_with_tower() -> Raster {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 100,
            rows: 100,
        };
        let mut r = Raster::filled(grid, 10.0);
        for row in 40..50 {
            for col in 60..70 {
                r.values[grid.index(col, row)] = 40.0;
            }
        }
        r
    }

    #[test]
    fn a_ray_hits_the_surface_where_it_first_meets_it() {
        let s = plane_with_tower();
        // Straight down from above the plane.
        let hit = surface_hit(&s, DVec3::new(20.5, 20.5, 500.0), DVec3::NEG_Z).unwrap();
        assert_eq!(hit, DVec3::new(20.5, 20.5, 10.0));
        // From far outside the grid, slanting down towards the tower: its wall stops the ray
        // before the ground behind it.
        let eye = DVec3::new(-200.0, 45.0, 30.0);
        let target = DVec3::new(80.0, 45.0, 10.0);
        let hit = surface_hit(&s, eye, (target - eye).normalize()).unwrap();
        assert!((59.5..=60.5).contains(&hit.x), "{hit}");
        assert_eq!(hit.z, 40.0);
        // Looking up, or away from the grid: nothing.
        assert!(surface_hit(&s, DVec3::new(20.0, 20.0, 50.0), DVec3::Z).is_none());
        assert!(surface_hit(&s, eye, DVec3::NEG_X).is_none());
    }

    /// A viewer app whose scenario view ran `text` on a flat 300 m square at 10 m.
    fn app_of(text: &str) -> App {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 300,
            rows: 300,
        };
        let territory = Territory::new(
            TerrainModels::from_rasters(Raster::filled(grid, 10.0), None),
            None,
        );
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Image>()
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>()
            .add_plugins((super::super::view::ScenarioPlugin, RadioToolsPlugin));
        let file = super::super::ScenarioFile::parse("flat.toml", text).unwrap();
        let view = ScenarioView::with_file(file, std::path::PathBuf::new())
            .with_territory(Arc::new(territory))
            .on_main_thread();
        app.insert_resource(view);
        app.world_mut().resource_mut::<RadioTools>().pool = WorkerPool::new(0, "what-if-test");
        app.update();
        app
    }

    #[test]
    fn a_site_placed_moved_and_removed_recomputes_only_itself_beside_the_base() {
        let mut app = app_of(
            r#"version = 1
name = "flat"
[[scenarios]]
id = "cov"
kind = "coverage"
resolution_m = 2.0
[[scenarios.site]]
id = "west"
position = [50.0, 150.0]
height_m = 20.0
frequency_mhz = 3500.0
eirp_dbm = 60.0
"#,
        );
        let place = |app: &mut App, action: SiteAction, p: DVec2| {
            app.world_mut()
                .resource_scope(|world, mut tools: Mut<RadioTools>| {
                    let view = world.resource::<ScenarioView>();
                    tools.mode = ToolMode::Sites;
                    tools.sites.action = action;
                    tools.click_site(view, p, 10.0);
                });
            app.update();
        };
        // A low site with no down-tilt, so that the ground beside it sees its main lobe.
        {
            let mut tools = app.world_mut().resource_mut::<RadioTools>();
            tools.sites.template.height_m = 3.0;
            tools.sites.template.tilt_deg = 0.0;
        }
        let east = DVec2::new(250.0, 150.0);
        place(&mut app, SiteAction::Place, east);
        let dbm_at = |r: &ScenarioResult, p: DVec2| {
            let (c, row) = r.raster.grid.cell_of(p).unwrap();
            r.raster.at(c, row)
        };
        {
            let view = app.world().resource::<ScenarioView>();
            assert_eq!(view.results.len(), 2);
            let (base, what_if) = (&view.results[0], &view.results[1]);
            assert_eq!(what_if.id, "cov-whatif");
            assert_eq!(view.split.map(|s| (s.left, s.right)), Some((0, 1)));
            let computed = |r: &ScenarioResult| r.coverage.as_ref().unwrap().masts_computed;
            assert_eq!(computed(base), 1);
            assert_eq!(computed(what_if), 2, "the new site's mast alone was added");
            // Near the new site the signal rises; where the old site still serves best
            // nothing changes; nowhere does it fall.
            assert!(
                dbm_at(what_if, east + DVec2::X * 10.0)
                    > dbm_at(base, east + DVec2::X * 10.0) + 10.0
            );
            let (before, after) = (
                base.coverage.as_ref().unwrap(),
                what_if.coverage.as_ref().unwrap(),
            );
            let kept: Vec<usize> = (0..after.best_server.len())
                .filter(|&i| after.best_server[i] == 0)
                .collect();
            assert!(!kept.is_empty());
            assert!(
                kept.iter()
                    .all(|&i| after.best_dbm.values[i] == before.best_dbm.values[i])
            );
            let values = |r: &ScenarioResult| r.raster.values.clone();
            assert!(
                values(what_if)
                    .iter()
                    .zip(values(base))
                    .all(|(a, b)| *a >= b)
            );
            let tools = app.world().resource::<RadioTools>();
            assert_eq!(tools.sites.selected, Some(1));
            assert_eq!(tools.sites.edits, 1);
        }
        // Move the new site north; the what-if result is replaced, not added.
        let north = DVec2::new(250.0, 280.0);
        place(&mut app, SiteAction::Move, north);
        {
            let view = app.world().resource::<ScenarioView>();
            assert_eq!(view.results.len(), 2);
            let what_if = &view.results[1];
            assert_eq!(
                what_if.coverage.as_ref().unwrap().antennas[1].position,
                north
            );
            assert_eq!(what_if.coverage.as_ref().unwrap().masts_computed, 3);
        }
        // Selecting by a click near a site, then removing it: back to the base.
        place(&mut app, SiteAction::Select, DVec2::new(52.0, 148.0));
        assert_eq!(app.world().resource::<RadioTools>().sites.selected, Some(0));
        app.world_mut()
            .resource_scope(|world, mut tools: Mut<RadioTools>| {
                tools.apply(world.resource::<ScenarioView>(), Edit::Remove(0));
            });
        app.update();
        let view = app.world().resource::<ScenarioView>();
        let what_if = &view.results[1];
        let ids: Vec<&str> = what_if
            .coverage
            .as_ref()
            .unwrap()
            .antennas
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(ids, ["new-1"]);
        // The base never changed.
        assert_eq!(view.results[0].coverage.as_ref().unwrap().antennas.len(), 1);
        // Saved in the scenario file, the edits run to the same coverage.
        let tools = app.world().resource::<RadioTools>();
        let file = tools.what_if_file(view).unwrap();
        let scenario = file
            .scenarios
            .iter()
            .find(|s| s.id == "cov-whatif")
            .unwrap();
        assert_eq!(scenario.site.len(), 1);
        assert_eq!(scenario.site[0].position, [250.0, 280.0]);
        let territory = view.territory.as_ref().unwrap();
        let rerun = super::super::run::run_scenario(territory, scenario, &|| false).unwrap();
        assert_eq!(rerun.raster, what_if.raster);
    }

    #[test]
    fn the_link_tool_takes_two_clicks_then_starts_again() {
        let models = TerrainModels::from_rasters(plane_with_tower(), None);
        let mut tool = LinkTool::default();
        tool.pick(DVec2::new(10.0, 45.0));
        tool.update(&models);
        assert!(tool.report.is_none());
        tool.pick(DVec2::new(90.0, 45.0));
        tool.update(&models);
        let report = tool.report.clone().unwrap().unwrap();
        assert!((report.link.distance_m - 80.0).abs() < 1e-9);
        assert_eq!(report.pattern_db, 0.0);
        assert!(report.received_dbm.is_none());
        tool.pick(DVec2::new(5.0, 5.0));
        assert_eq!((tool.from, tool.to), (Some(DVec2::new(5.0, 5.0)), None));
        // Off the terrain: the error names the end.
        tool.pick(DVec2::new(500.0, 5.0));
        tool.update(&models);
        let err = tool.report.clone().unwrap().unwrap_err();
        assert!(
            err.contains("`to`") && err.contains("outside the terrain"),
            "{err}"
        );
    }
}
