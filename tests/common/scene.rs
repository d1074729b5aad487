//! The analytic scene of the scenario and kiosk tests, written as a LAS file: two bowls
//! separated by a ridge and a box building on a plateau, in Lambert-93 near Paris.

use las::{Builder, Point, Writer, point::Classification, point::Format};
use std::path::Path;

/// South-west corner of the scene, Lambert-93.
pub const X0: f64 = 652_000.0;
pub const Y0: f64 = 6_862_000.0;
/// Bowls: centres 100 m apart, z = 30 + min(d, 70)² / 80; the ridge between them is at
/// 30 + 50²/80 = 61.25 m, the plateau beyond 70 m at 91.25 m.
pub const BOWL_A: (f64, f64) = (60.0, 100.0);
pub const BOWL_B: (f64, f64) = (160.0, 100.0);
/// A 20 m × 20 m box, 15 m high, on the plateau.
pub const BOX_CENTRE: (f64, f64) = (250.0, 100.0);
pub const BOX_HEIGHT: f64 = 15.0;

pub fn ground(x: f64, y: f64) -> f64 {
    let d = |(cx, cy): (f64, f64)| ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
    let d = d(BOWL_A).min(d(BOWL_B)).min(70.0);
    30.0 + d * d / 80.0
}

pub fn in_box(x: f64, y: f64) -> bool {
    (x - BOX_CENTRE.0).abs() < 10.0 && (y - BOX_CENTRE.1).abs() < 10.0
}

/// The scene as LAS 1.4 points every 0.5 m: ground (class 2), the box's roof (class 6).
pub fn write_scene(path: &Path) {
    let mut builder = Builder::from((1, 4));
    builder.point_format = Format::new(6).unwrap();
    builder.transforms = las::Vector {
        x: las::Transform {
            scale: 0.01,
            offset: X0,
        },
        y: las::Transform {
            scale: 0.01,
            offset: Y0,
        },
        z: las::Transform {
            scale: 0.01,
            offset: 0.0,
        },
    };
    let mut writer = Writer::from_path(path, builder.into_header().unwrap()).unwrap();
    for j in 0..400 {
        for i in 0..600 {
            let (x, y) = (i as f64 * 0.5 + 0.25, j as f64 * 0.5 + 0.25);
            let (z, class) = if in_box(x, y) {
                (ground(x, y) + BOX_HEIGHT, 6)
            } else {
                (ground(x, y), 2)
            };
            writer
                .write_point(Point {
                    x: X0 + x,
                    y: Y0 + y,
                    z,
                    classification: Classification::new(class).unwrap(),
                    return_number: 1,
                    number_of_returns: 1,
                    gps_time: Some(0.0),
                    ..Default::default()
                })
                .unwrap();
        }
    }
    writer.close().unwrap();
}
