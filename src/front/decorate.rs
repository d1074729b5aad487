//! What an exported screenshot carries besides the 3D view: the measurements with their labels,
//! the notes, a legend of what the colours mean, a scale bar at the focus and a north arrow
//! (`jumeau render --decorate`, the panel's Screenshot). Drawn on the image in egui's own font,
//! so the PNG says the same as the viewer.

use crate::camera::ViewerCamera;
use crate::network::overlay::Screen;
use crate::pointcloud::style::{ColorMode, class_color, elevation_ramp};
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use bevy::math::{DVec2, DVec3};
use bevy::prelude::*;
use image::RgbaImage;

/// A line drawn over the view with its label (a measurement).
#[derive(Clone, Debug, PartialEq)]
pub struct Overlay {
    /// Vertices in pixels (origin top-left).
    pub points: Vec<DVec2>,
    pub closed: bool,
    pub label: String,
}

/// A legend: its title and its entries (colour swatch, text).
pub type Legend = (String, Vec<([u8; 3], String)>);

/// Everything drawn over the view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decorations {
    /// The legend's title and its entries (colour swatch, text).
    pub legend: Option<Legend>,
    /// Metres a pixel covers at the focus (none: no scale bar).
    pub metres_per_px: Option<f64>,
    /// Where north points on the screen, as a unit vector in pixels (y down).
    pub north: Option<DVec2>,
    pub overlays: Vec<Overlay>,
    /// Notes: where (pixels) and what.
    pub notes: Vec<(DVec2, String)>,
}

/// Measurement lines and labels.
const MEASURE: [u8; 3] = [120, 220, 255];
/// Notes' background.
const NOTE: [u8; 3] = [255, 236, 160];

/// The decorations of the view the world's first camera shows, in pixels of an image of
/// `size` (the offscreen target), with the project's `notes`.
pub fn decorations_of(
    world: &mut World,
    size: UVec2,
    notes: &[crate::scenario::project::Annotation],
) -> Decorations {
    let Some(rig) = world.query::<&ViewerCamera>().iter(world).next().copied() else {
        return Decorations::default();
    };
    let Some(view) = world
        .get_resource::<crate::camera::StreamingView>()
        .copied()
    else {
        return Decorations::default();
    };
    let screen = Screen {
        clip_from_world: view.view.clip_from_world,
        size_px: DVec2::new(f64::from(size.x), f64::from(size.y)),
    };
    let metres_per_px = rig.distance * 2.0 * (rig.fov_y * 0.5).tan() / f64::from(size.y.max(1));
    // North: from the focus to a point north of it, on screen.
    let north = screen
        .project(rig.focus)
        .zip(screen.project(rig.focus + DVec3::Y * rig.distance * 0.05));
    let north = north
        .map(|(a, b)| b - a)
        .filter(|v| v.length() > 1e-6)
        .map(DVec2::normalize);
    let mut overlays = Vec::new();
    if let Some(tool) = world.get_resource::<crate::front::measure::MeasureTool>() {
        for m in &tool.done {
            let points: Vec<DVec2> = m.points.iter().filter_map(|p| screen.project(*p)).collect();
            if points.len() == m.points.len() && !points.is_empty() {
                overlays.push(Overlay {
                    points,
                    closed: m.kind == crate::front::measure::MeasureKind::Polygon,
                    label: m.label(),
                });
            }
        }
    }
    let notes = notes
        .iter()
        .filter_map(|n| Some((screen.project(DVec3::from_array(n.at))?, n.text.clone())))
        .collect();
    Decorations {
        legend: legend_of(world),
        metres_per_px: Some(metres_per_px).filter(|m| m.is_finite() && *m > 0.0),
        north,
        overlays,
        notes,
    }
}

/// The legend of the points' colours: the classes shown (most points first), or the
/// elevation ramp's ends.
fn legend_of(world: &World) -> Option<Legend> {
    let settings = world.get_resource::<crate::pointcloud::streaming::PointCloudSettings>()?;
    let clouds = world.get_resource::<crate::pointcloud::streaming::PointClouds>()?;
    match settings.color_mode {
        ColorMode::Classification => {
            let counts = clouds.class_counts();
            let mut shown: Vec<(u8, u64)> = (0..=255u8)
                .filter(|&c| counts[usize::from(c)] > 0 && settings.classes.is_visible(c))
                .map(|c| (c, counts[usize::from(c)]))
                .collect();
            shown.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
            shown.truncate(8);
            let entries = shown
                .into_iter()
                .map(|(c, _)| {
                    (
                        class_color(c),
                        format!("{c} {}", crate::pointcloud::info::class_name(c)),
                    )
                })
                .collect();
            Some(("Classification".into(), entries))
        }
        ColorMode::Elevation => {
            let b = clouds.bounds()?;
            Some((
                "Elevation".into(),
                vec![
                    (elevation_ramp(1.0), format!("{:.1} m", b.max.z)),
                    (
                        elevation_ramp(0.5),
                        format!("{:.1} m", 0.5 * (b.min.z + b.max.z)),
                    ),
                    (elevation_ramp(0.0), format!("{:.1} m", b.min.z)),
                ],
            ))
        }
        ColorMode::Rgb | ColorMode::Intensity => None,
    }
}

/// A round length (1, 2 or 5 × 10ⁿ m) whose bar is at most `max_px` pixels, and its pixels.
pub fn scale_bar(metres_per_px: f64, max_px: f64) -> (f64, f64) {
    let most = metres_per_px * max_px;
    let base = 10f64.powf(most.log10().floor());
    let length = [5.0, 2.0, 1.0]
        .into_iter()
        .map(|k| k * base)
        .find(|l| *l <= most)
        .unwrap_or(base);
    (length, length / metres_per_px)
}

/// Draws `d` on `image`.
pub fn draw(image: &mut RgbaImage, d: &Decorations) {
    let Ok(font) = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT) else {
        return;
    };
    let (w, h) = (f64::from(image.width()), f64::from(image.height()));
    for o in &d.overlays {
        let mut points = o.points.clone();
        if o.closed && points.len() > 2 {
            points.push(points[0]);
        }
        for pair in points.windows(2) {
            line(image, pair[0], pair[1], 2.0, MEASURE);
        }
        for p in &o.points {
            disc(image, *p, 3.5, MEASURE);
        }
        if let Some(last) = o.points.last() {
            label(
                image,
                &font,
                *last + DVec2::new(8.0, -20.0),
                &o.label,
                13.0,
                [255; 3],
                Some([20, 24, 30]),
            );
        }
    }
    for (at, text) in &d.notes {
        disc(image, *at, 4.5, [255, 210, 60]);
        label(
            image,
            &font,
            *at + DVec2::new(8.0, -22.0),
            text,
            14.0,
            [0; 3],
            Some(NOTE),
        );
    }
    if let Some((title, entries)) = &d.legend {
        // As many entries as a third of the height holds, most common first.
        let row = 16.0;
        let entries = &entries[..entries.len().min(((h / 3.0 / row) as usize).max(1))];
        let box_h = row * (entries.len() as f64 + 1.0) + 8.0;
        let (x0, y0) = (8.0, 8.0);
        let box_w = entries
            .iter()
            .map(|(_, text)| 24.0 + text_width(&font, text, 12.0))
            .fold(text_width(&font, title, 13.0), f64::max)
            + 12.0;
        rect(
            image,
            DVec2::new(x0, y0),
            DVec2::new(x0 + box_w, y0 + box_h),
            [20, 24, 30],
            0.75,
        );
        label(
            image,
            &font,
            DVec2::new(x0 + 6.0, y0 + 3.0),
            title,
            13.0,
            [255; 3],
            None,
        );
        for (i, (colour, text)) in entries.iter().enumerate() {
            let y = y0 + 4.0 + row * (i as f64 + 1.0);
            rect(
                image,
                DVec2::new(x0 + 6.0, y + 3.0),
                DVec2::new(x0 + 18.0, y + 13.0),
                *colour,
                1.0,
            );
            label(
                image,
                &font,
                DVec2::new(x0 + 24.0, y),
                text,
                12.0,
                [235; 3],
                None,
            );
        }
    }
    if let Some(m) = d.metres_per_px {
        let (length, px) = scale_bar(m, (w * 0.25).min(200.0));
        let (x0, y) = (12.0, h - 14.0);
        rect(
            image,
            DVec2::new(x0 - 4.0, y - 22.0),
            DVec2::new(x0 + px + 4.0, y + 6.0),
            [20, 24, 30],
            0.6,
        );
        rect(
            image,
            DVec2::new(x0, y - 2.0),
            DVec2::new(x0 + px, y + 2.0),
            [255; 3],
            1.0,
        );
        for x in [x0, x0 + px] {
            rect(
                image,
                DVec2::new(x - 1.0, y - 6.0),
                DVec2::new(x + 1.0, y + 2.0),
                [255; 3],
                1.0,
            );
        }
        let text = if length >= 1000.0 {
            format!("{} km", length / 1000.0)
        } else {
            format!("{length} m")
        };
        label(
            image,
            &font,
            DVec2::new(x0, y - 21.0),
            &text,
            12.0,
            [255; 3],
            None,
        );
    }
    if let Some(north) = d.north {
        let centre = DVec2::new(w - 28.0, 48.0);
        disc(image, centre, 20.0, [20, 24, 30]);
        let (tip, tail) = (centre + north * 15.0, centre - north * 11.0);
        let side = DVec2::new(-north.y, north.x) * 6.0;
        triangle(image, tip, centre + side, centre - side, [230, 60, 50]);
        triangle(image, tail, centre + side, centre - side, [235; 3]);
        label(
            image,
            &font,
            centre + north * 30.0 - DVec2::new(4.0, 8.0),
            "N",
            13.0,
            [255; 3],
            None,
        );
    }
}

fn blend(image: &mut RgbaImage, x: i64, y: i64, colour: [u8; 3], alpha: f64) {
    if x < 0 || y < 0 || x >= i64::from(image.width()) || y >= i64::from(image.height()) {
        return;
    }
    let p = image.get_pixel_mut(x as u32, y as u32);
    for (channel, c) in p.0.iter_mut().zip(colour) {
        *channel = (f64::from(*channel) * (1.0 - alpha) + f64::from(c) * alpha).round() as u8;
    }
    p.0[3] = 255;
}

fn rect(image: &mut RgbaImage, lo: DVec2, hi: DVec2, colour: [u8; 3], alpha: f64) {
    for y in lo.y.round() as i64..hi.y.round() as i64 {
        for x in lo.x.round() as i64..hi.x.round() as i64 {
            blend(image, x, y, colour, alpha);
        }
    }
}

fn disc(image: &mut RgbaImage, c: DVec2, r: f64, colour: [u8; 3]) {
    for y in (c.y - r).floor() as i64..=(c.y + r).ceil() as i64 {
        for x in (c.x - r).floor() as i64..=(c.x + r).ceil() as i64 {
            let d = DVec2::new(x as f64 + 0.5, y as f64 + 0.5).distance(c);
            blend(image, x, y, colour, (r + 0.5 - d).clamp(0.0, 1.0));
        }
    }
}

fn line(image: &mut RgbaImage, a: DVec2, b: DVec2, width: f64, colour: [u8; 3]) {
    let (lo, hi) = (a.min(b) - width, a.max(b) + width);
    let ab = b - a;
    let len2 = ab.length_squared().max(1e-12);
    // Lines far off screen are clipped to it first.
    let (x0, x1) = (lo.x.max(-1.0), hi.x.min(f64::from(image.width()) + 1.0));
    let (y0, y1) = (lo.y.max(-1.0), hi.y.min(f64::from(image.height()) + 1.0));
    for y in y0.floor() as i64..=y1.ceil() as i64 {
        for x in x0.floor() as i64..=x1.ceil() as i64 {
            let p = DVec2::new(x as f64 + 0.5, y as f64 + 0.5);
            let t = ((p - a).dot(ab) / len2).clamp(0.0, 1.0);
            let d = p.distance(a + ab * t);
            blend(image, x, y, colour, (width * 0.5 + 0.5 - d).clamp(0.0, 1.0));
        }
    }
}

fn triangle(image: &mut RgbaImage, a: DVec2, b: DVec2, c: DVec2, colour: [u8; 3]) {
    let (lo, hi) = (a.min(b).min(c), a.max(b).max(c));
    let edge = |p: DVec2, q: DVec2, r: DVec2| (q - p).perp_dot(r - p);
    let area = edge(a, b, c);
    for y in lo.y.floor() as i64..=hi.y.ceil() as i64 {
        for x in lo.x.floor() as i64..=hi.x.ceil() as i64 {
            let p = DVec2::new(x as f64 + 0.5, y as f64 + 0.5);
            let (u, v, w) = (edge(b, c, p), edge(c, a, p), edge(a, b, p));
            if (u * area >= 0.0) && (v * area >= 0.0) && (w * area >= 0.0) {
                blend(image, x, y, colour, 1.0);
            }
        }
    }
}

/// The width of `text` in pixels.
fn text_width(font: &FontRef<'_>, text: &str, size_px: f32) -> f64 {
    let scaled = font.as_scaled(PxScale::from(size_px));
    f64::from(
        text.chars()
            .map(|c| scaled.h_advance(font.glyph_id(c)))
            .sum::<f32>(),
    )
}

/// Text with its top-left at `at`, on a rounded background when `background` is given.
fn label(
    image: &mut RgbaImage,
    font: &FontRef<'_>,
    at: DVec2,
    text: &str,
    size_px: f32,
    colour: [u8; 3],
    background: Option<[u8; 3]>,
) {
    let scaled = font.as_scaled(PxScale::from(size_px));
    let width = text_width(font, text, size_px);
    if let Some(bg) = background {
        rect(
            image,
            at - DVec2::splat(2.0),
            at + DVec2::new(width + 2.0, f64::from(scaled.height()) + 2.0),
            bg,
            0.85,
        );
    }
    let mut x = at.x as f32;
    let baseline = at.y as f32 + scaled.ascent();
    for c in text.chars() {
        let id = font.glyph_id(c);
        let glyph =
            id.with_scale_and_position(PxScale::from(size_px), ab_glyph::point(x, baseline));
        x += scaled.h_advance(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                blend(
                    image,
                    bounds.min.x as i64 + i64::from(gx),
                    bounds.min.y as i64 + i64::from(gy),
                    colour,
                    f64::from(coverage),
                );
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn the_scale_bar_is_a_round_length_that_fits() {
        assert_eq!(scale_bar(1.0, 200.0), (200.0, 200.0));
        assert_eq!(scale_bar(0.37, 200.0).0, 50.0);
        let (length, px) = scale_bar(12.5, 150.0);
        assert_eq!(length, 1000.0);
        assert!((px - 80.0).abs() < 1e-9);
    }

    #[test]
    fn drawn_decorations_land_where_they_are_said_to() {
        let mut image = RgbaImage::from_pixel(320, 240, Rgba([20, 23, 28, 255]));
        let d = Decorations {
            legend: Some((
                "Classification".into(),
                vec![(class_color(6), "6 building".into())],
            )),
            metres_per_px: Some(2.0),
            north: Some(DVec2::new(0.0, -1.0)),
            overlays: vec![Overlay {
                points: vec![DVec2::new(100.0, 150.0), DVec2::new(200.0, 150.0)],
                closed: false,
                label: "100.00 m".into(),
            }],
            notes: vec![(DVec2::new(60.0, 200.0), "ici".into())],
        };
        draw(&mut image, &d);
        let px = |x: u32, y: u32| image.get_pixel(x, y).0;
        // The measurement's line, the legend's swatch, the north arrow's red tip.
        assert_eq!(&px(150, 150)[..3], &MEASURE);
        let [r, g, b] = class_color(6);
        assert_eq!(&px(20, 36)[..3], &[r, g, b]);
        let tip = px(320 - 28, 48 - 10);
        assert!(tip[0] > 200 && tip[1] < 100, "{tip:?}");
        // The label's text (thin glyphs): light pixels right of the line's end, none below.
        let blank = (208..260)
            .flat_map(|x| (160..180).map(move |y| (x, y)))
            .filter(|&(x, y)| px(x, y)[0] > 200)
            .count();
        assert_eq!(blank, 0);
        let light = (208..260)
            .flat_map(|x| (128..148).map(move |y| (x, y)))
            .filter(|&(x, y)| px(x, y)[0] > 200)
            .count();
        assert!(light > 8, "{light} light pixels in the label");
    }
}
