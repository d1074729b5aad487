//! The profile tool of the viewer: two clicks on what the twin draws (points, buildings)
//! place a line, a width makes it a band, and every point of the loaded clouds in the band is
//! read at full resolution off the main thread ([`crate::terrain::profile::band_points`], as
//! `jumeau profile` does), for the panel's plot and its CSV and LAS export.

use crate::jobs::{Task, WorkerPool};
use crate::network::overlay::Screen;
use crate::pointcloud::streaming::PointClouds;
use crate::terrain::profile::{Band, Profile, band_points};
use bevy::math::DVec3;
use bevy::prelude::*;
use std::sync::Arc;

/// The profile tool's state.
#[derive(Resource)]
pub struct ProfileTool {
    /// Clicks place the line's ends.
    pub on: bool,
    pub from: Option<DVec3>,
    pub to: Option<DVec3>,
    /// Width of the band, metres.
    pub width_m: f64,
    /// The last profile read.
    pub profile: Option<Arc<Profile>>,
    pub busy: bool,
    pub message: Option<String>,
    /// Where CRS points fall on the screen, for the line drawn over the view.
    pub screen: Option<Screen>,
    /// Where the export buttons write.
    pub export_stem: String,
    /// Places clicked in the plot (distance along, height): two measure between them.
    pub marks: Vec<[f64; 2]>,
    pool: WorkerPool<ProfileTask>,
    requests: u64,
}

impl Default for ProfileTool {
    fn default() -> Self {
        let workers = if cfg!(target_arch = "wasm32") { 0 } else { 1 };
        Self {
            on: false,
            from: None,
            to: None,
            width_m: 2.0,
            profile: None,
            busy: false,
            message: None,
            screen: None,
            export_stem: "profile".into(),
            marks: Vec::new(),
            pool: WorkerPool::new(workers, "profile"),
            requests: 0,
        }
    }
}

impl ProfileTool {
    /// A click at `p`: the line's start, then its end (which reads the band); a third click
    /// starts a new line.
    pub fn pick(&mut self, p: DVec3, clouds: &PointClouds) {
        match (self.from, self.to) {
            (Some(_), None) => {
                self.to = Some(p);
                self.read(clouds);
            }
            _ => {
                self.from = Some(p);
                self.to = None;
            }
        }
    }

    /// Reads the band of the placed line from every source of the visible layers.
    pub fn read(&mut self, clouds: &PointClouds) {
        let (Some(from), Some(to)) = (self.from, self.to) else {
            return;
        };
        self.marks.clear();
        let band = match Band::new(from.truncate(), to.truncate(), self.width_m) {
            Ok(band) => band,
            Err(e) => {
                self.message = Some(e);
                return;
            }
        };
        let sources: Vec<Arc<dyn crate::io::ByteSource>> = clouds
            .layers
            .iter()
            .filter(|l| l.visible)
            .flat_map(|l| l.sources.iter().map(|s| s.reader.file.source.clone()))
            .collect();
        if sources.is_empty() {
            self.message = Some("no point cloud is shown".into());
            return;
        }
        self.requests += 1;
        self.busy = true;
        self.message = None;
        self.pool.replace_queue(vec![ProfileTask {
            key: self.requests,
            band,
            sources,
        }]);
    }
}

struct ProfileTask {
    key: u64,
    band: Band,
    sources: Vec<Arc<dyn crate::io::ByteSource>>,
}

impl Task for ProfileTask {
    type Key = u64;
    type Output = Result<Profile, String>;

    fn key(&self) -> u64 {
        self.key
    }

    fn run(self) -> Self::Output {
        band_points(&self.sources, &self.band).map_err(|e| e.to_string())
    }
}

/// The profile tool, for the viewer.
pub struct ProfilePlugin;

impl Plugin for ProfilePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ProfileTool>().add_systems(
            PostUpdate,
            (click_to_profile, collect_profiles, track_screen)
                .chain()
                .after(crate::camera::CameraSystems::Apply),
        );
    }
}

/// With the tool on, a click places an end on what the twin draws under the cursor.
fn click_to_profile(
    mut commands: Commands,
    mut clicks: crate::camera::Clicks,
    tool: Res<ProfileTool>,
) {
    if !tool.on {
        return;
    }
    let rays = clicks.rays();
    crate::camera::pick_along(&mut commands, rays, |world, hit| {
        let Some(hit) = hit else {
            return;
        };
        world.resource_scope(|world, mut tool: Mut<ProfileTool>| {
            if let Some(clouds) = world.get_resource::<PointClouds>() {
                tool.pick(hit, clouds);
            }
        });
    });
}

fn collect_profiles(mut tool: ResMut<ProfileTool>) {
    tool.pool.run_inline_if_single_threaded();
    for output in tool.pool.try_results() {
        tool.busy = false;
        match output {
            Ok(profile) => tool.profile = Some(Arc::new(profile)),
            Err(e) => tool.message = Some(e),
        }
    }
}

/// Where CRS points fall on the screen this frame (for the line over the view).
fn track_screen(screen: crate::network::render::ScreenNow, mut tool: ResMut<ProfileTool>) {
    if tool.on
        && let Some(screen) = screen.get()
    {
        tool.screen = Some(screen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointcloud::layer::{Layer, StreamSource};
    use crate::pointcloud::streaming::RenderPath;

    #[test]
    fn two_picks_read_the_band_of_the_visible_clouds() {
        let Some(path) = crate::testdata::shared_data("lidar/lion_takanawa.copc.laz") else {
            return;
        };
        let name = path.display().to_string();
        let bytes = crate::io::open(&name).unwrap();
        let source = StreamSource::open(&name, bytes.clone()).unwrap();
        let h = source.reader.file.header.clone();
        let mut clouds = PointClouds::new(
            vec![Layer::new("lion", vec![source])],
            1 << 28,
            RenderPath::Auto,
        );
        let mut tool = ProfileTool {
            pool: WorkerPool::new(0, "profile-test"),
            ..ProfileTool::default()
        };
        let (lo, hi) = (DVec3::from_array(h.min), DVec3::from_array(h.max));
        let (a, b) = (lo.lerp(hi, 0.2), lo.lerp(hi, 0.8));
        tool.pick(a, &clouds);
        assert!(tool.profile.is_none() && !tool.busy);
        tool.pick(b, &clouds);
        assert!(tool.busy);
        tool.pool.run_inline_if_single_threaded();
        let profile = tool.pool.try_results().pop().unwrap().unwrap();
        // What `jumeau profile` reads of the same band.
        let band = Band::new(a.truncate(), b.truncate(), tool.width_m).unwrap();
        let direct = band_points(&[bytes], &band).unwrap();
        assert!(!profile.points.is_empty());
        assert_eq!(profile.points, direct.points);
        // A third pick starts a new line; hidden clouds are not read.
        tool.pick(a, &clouds);
        assert_eq!((tool.from, tool.to), (Some(a), None));
        clouds.layers[0].visible = false;
        tool.busy = false;
        tool.pick(b, &clouds);
        assert!(!tool.busy);
        assert_eq!(tool.message.as_deref(), Some("no point cloud is shown"));
    }
}
