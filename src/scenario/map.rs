//! Result maps (pure): a scenario's raster drawn over the shaded surface, seen from above,
//! with its legend, as an RGBA image (`view.png` of `jumeau scenario run`).

use crate::terrain::Raster;
use image::{Rgba, RgbaImage};

/// How values map to colours: stops of (value, colour) with linear blends between them, or
/// classes (each colour from its value up to the next).
#[derive(Clone, Debug, PartialEq)]
pub struct Legend {
    pub title: String,
    pub stops: Vec<(f32, [u8; 4])>,
    /// Classes instead of a ramp.
    pub classes: bool,
    /// Values the map leaves uncoloured (dry cells, cells in the sun…), below this.
    pub transparent_below: Option<f32>,
    /// Unit written after the stop values.
    pub unit: &'static str,
    /// Names of the classes, one per stop (English; the panel translates them).
    pub labels: Vec<&'static str>,
}

impl Legend {
    /// The colour of `v`, `None` where the surface shows through.
    pub fn color(&self, v: f32) -> Option<[u8; 4]> {
        if !v.is_finite() || self.transparent_below.is_some_and(|t| v < t) {
            return None;
        }
        let first = self.stops.first()?;
        if v <= first.0 {
            return Some(first.1);
        }
        for pair in self.stops.windows(2) {
            let ((a, ca), (b, cb)) = (pair[0], pair[1]);
            if v < b {
                if self.classes {
                    return Some(ca);
                }
                let t = (v - a) / (b - a).max(f32::EPSILON);
                return Some(std::array::from_fn(|k| {
                    (f32::from(ca[k]) * (1.0 - t) + f32::from(cb[k]) * t).round() as u8
                }));
            }
        }
        self.stops.last().map(|s| s.1)
    }
}

/// Water depth, 0 to `max_m` metres: light to deep blue.
pub fn depth_legend(max_m: f32) -> Legend {
    let max_m = max_m.max(0.1);
    Legend {
        title: "DEPTH M".into(),
        stops: vec![
            (0.0, [170, 215, 255, 200]),
            (max_m / 2.0, [40, 120, 220, 220]),
            (max_m, [10, 40, 130, 235]),
        ],
        classes: false,
        transparent_below: Some(1.0e-3),
        unit: "",
        labels: Vec::new(),
    }
}

/// Shadow (1) or sun (0).
pub fn shadow_legend() -> Legend {
    Legend {
        title: "SHADOW".into(),
        stops: vec![(0.0, [250, 220, 90, 90]), (1.0, [30, 30, 80, 190])],
        classes: true,
        transparent_below: None,
        unit: "",
        labels: Vec::new(),
    }
}

/// Hours of sun, in EN 17037's classes (under 1.5 h, 1.5–3, 3–4, 4 h and more).
pub fn sunlight_legend() -> Legend {
    let [low, medium, high] = super::sun::EN17037_HOURS;
    Legend {
        title: "SUN H".into(),
        stops: vec![
            (0.0, [120, 20, 40, 210]),
            (low, [230, 110, 40, 200]),
            (medium, [240, 210, 60, 190]),
            (high, [90, 190, 80, 170]),
        ],
        classes: true,
        transparent_below: None,
        unit: "H",
        labels: Vec::new(),
    }
}

/// Received power in four classes (none, fair, good, very good) above the `thresholds`
/// (lower bounds of very good, good and fair, dBm, falling).
pub fn coverage_legend(thresholds: [f64; 3]) -> Legend {
    let [good, fair, poor] = thresholds.map(|t| t as f32);
    Legend {
        title: "DBM INDICATIVE".into(),
        stops: vec![
            (poor - 20.0, [150, 150, 150, 150]),
            (poor, [230, 120, 40, 190]),
            (fair, [240, 210, 60, 190]),
            (good, [40, 150, 70, 200]),
        ],
        classes: true,
        transparent_below: None,
        unit: "",
        labels: vec!["none", "fair", "good", "very good"],
    }
}

/// Fibre roll-out: not served yet (0) or served (1).
pub fn rollout_legend() -> Legend {
    Legend {
        title: "FIBRE SERVED".into(),
        stops: vec![(0.0, [230, 120, 40, 200]), (1.0, [40, 150, 70, 210])],
        classes: true,
        transparent_below: None,
        unit: "",
        labels: vec!["not served", "served"],
    }
}

/// A difference, from minus to plus its largest magnitude: red below, blue above.
pub fn difference_legend(diff: &Raster) -> Legend {
    let max = diff
        .range()
        .map_or(1.0, |(lo, hi)| lo.abs().max(hi.abs()))
        .max(0.1);
    Legend {
        title: "DIFFERENCE".into(),
        stops: vec![
            (-max, [200, 40, 40, 230]),
            (0.0, [245, 245, 245, 60]),
            (max, [40, 80, 200, 230]),
        ],
        classes: false,
        transparent_below: None,
        unit: "",
        labels: Vec::new(),
    }
}

/// Largest side of an overlay texture in the 3D view, texels.
pub const OVERLAY_MAX_SIDE: usize = 1024;

/// An overlay's texture: RGBA8, north-up, at most `max_side` texels a side (nearest cell).
#[derive(Clone, Debug, PartialEq)]
pub struct OverlayImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl OverlayImage {
    /// Values of a grid's cells sampled at the texels of a north-up texture of at most
    /// `max_side` texels a side (nearest cell): (width, height, values).
    pub fn sample<T: Send + Copy + Default>(
        grid: &crate::terrain::Grid,
        max_side: usize,
        value: impl Fn(usize) -> T + Sync,
    ) -> (u32, u32, Vec<T>) {
        use rayon::prelude::*;
        let step = (grid.cols.max(grid.rows) as f64 / max_side.max(1) as f64).max(1.0);
        let width = ((grid.cols as f64 / step).ceil() as usize).max(1);
        let height = ((grid.rows as f64 / step).ceil() as usize).max(1);
        let mut out = vec![T::default(); width * height];
        out.par_chunks_mut(width)
            .enumerate()
            .for_each(|(ty, line)| {
                let row = grid.rows - 1 - (((ty as f64 + 0.5) * step) as usize).min(grid.rows - 1);
                for (tx, v) in line.iter_mut().enumerate() {
                    let col = (((tx as f64 + 0.5) * step) as usize).min(grid.cols - 1);
                    *v = value(grid.index(col, row));
                }
            });
        (width as u32, height as u32, out)
    }

    /// `raster` coloured by `legend`, transparent where the legend leaves it.
    pub fn of_raster(raster: &Raster, legend: &Legend, max_side: usize) -> Self {
        let (width, height, texels) = Self::sample(&raster.grid, max_side, |i| {
            legend.color(raster.values[i]).unwrap_or([0; 4])
        });
        Self {
            width,
            height,
            rgba: texels.concat(),
        }
    }
}

/// Largest side of a map, pixels.
const MAX_SIDE_PX: u32 = 480;
const LEGEND_PX: u32 = 54;
/// Glyphs are 3 × 5 cells of this many pixels.
const GLYPH_SCALE: u32 = 3;

/// `raster` coloured by `legend` over the hillshade of `surface` (same grid), north up, with
/// the legend underneath.
pub fn draw(surface: &Raster, raster: &Raster, legend: &Legend) -> RgbaImage {
    let g = surface.grid;
    let scale = (MAX_SIDE_PX as f64 / g.cols.max(g.rows) as f64).min(4.0);
    let (w, h) = (
        ((g.cols as f64 * scale).round() as u32).max(160),
        ((g.rows as f64 * scale).round() as u32).max(1),
    );
    let mut img = RgbaImage::from_pixel(w, h + LEGEND_PX, Rgba([255, 255, 255, 255]));
    let shade = hillshade(surface);
    for py in 0..h {
        let row = g.rows - 1 - ((py as f64 / scale) as usize).min(g.rows - 1);
        for px in 0..w {
            let col = ((px as f64 / scale) as usize).min(g.cols - 1);
            let i = g.index(col, row);
            let grey = (shade[i] * 255.0) as u8;
            let mut c = [grey, grey, grey];
            if let Some(over) = legend.color(raster.values[i]) {
                let a = f32::from(over[3]) / 255.0;
                c = std::array::from_fn(|k| {
                    (f32::from(over[k]) * a + f32::from(c[k]) * (1.0 - a)).round() as u8
                });
            }
            img.put_pixel(px, py, Rgba([c[0], c[1], c[2], 255]));
        }
    }
    draw_legend(&mut img, h, legend);
    img
}

/// Lambertian shade of a surface lit from the north-west at 45°, 0.25 to 1.
fn hillshade(surface: &Raster) -> Vec<f32> {
    let g = surface.grid;
    let at = |c: usize, r: usize| {
        let v = surface.at(c.min(g.cols - 1), r.min(g.rows - 1));
        if v.is_finite() { v } else { 0.0 }
    };
    let light = bevy::math::Vec3::new(-1.0, 1.0, 1.4).normalize();
    let cell = g.cell_m as f32;
    (0..g.len())
        .map(|i| {
            let (c, r) = g.col_row(i);
            let dzdx = (at(c + 1, r) - at(c.saturating_sub(1), r)) / (2.0 * cell);
            let dzdy = (at(c, r + 1) - at(c, r.saturating_sub(1))) / (2.0 * cell);
            let n = bevy::math::Vec3::new(-dzdx, -dzdy, 1.0).normalize();
            0.25 + 0.75 * n.dot(light).max(0.0)
        })
        .collect()
}

fn draw_legend(img: &mut RgbaImage, top: u32, legend: &Legend) {
    let w = img.width();
    let text = Rgba([20, 20, 20, 255]);
    draw_text(img, 6, top + 4, &legend.title, text);
    let (bar_x, bar_y, bar_w, bar_h) = (6, top + 24, w - 12, 8);
    let (lo, hi) = (
        legend.stops.first().map_or(0.0, |s| s.0),
        legend.stops.last().map_or(1.0, |s| s.0),
    );
    let span = if legend.classes {
        (hi - lo) * 1.25
    } else {
        hi - lo
    };
    for x in 0..bar_w {
        let v = lo + span.max(f32::EPSILON) * x as f32 / bar_w as f32;
        let c = legend.color(v).unwrap_or([255, 255, 255, 255]);
        for y in 0..bar_h {
            img.put_pixel(bar_x + x, bar_y + y, Rgba([c[0], c[1], c[2], 255]));
        }
    }
    let right_edge = bar_x + bar_w;
    let mut next_free = 0;
    for &(v, _) in &legend.stops {
        let x = bar_x + ((v - lo) / span.max(f32::EPSILON) * bar_w as f32) as u32;
        let label = format!("{}{}", trim_number(v), legend.unit);
        let width = text_width(&label);
        let x = x.min(right_edge.saturating_sub(width));
        if x < next_free {
            continue;
        }
        draw_text(img, x, bar_y + bar_h + 2, &label, text);
        next_free = x + width + 6;
    }
}

fn trim_number(v: f32) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

fn text_width(text: &str) -> u32 {
    text.chars().count() as u32 * 4 * GLYPH_SCALE
}

/// Writes `text` (digits, `.-<>=%` and the capitals the legends use) at (`x`, `y`).
fn draw_text(img: &mut RgbaImage, x: u32, y: u32, text: &str, color: Rgba<u8>) {
    for (k, ch) in text.chars().enumerate() {
        let Some(rows) = glyph(ch.to_ascii_uppercase()) else {
            continue;
        };
        let gx = x + k as u32 * 4 * GLYPH_SCALE;
        for (r, bits) in rows.iter().enumerate() {
            for (c, bit) in bits.bytes().enumerate() {
                if bit != b'1' {
                    continue;
                }
                for dy in 0..GLYPH_SCALE {
                    for dx in 0..GLYPH_SCALE {
                        let (px, py) = (
                            gx + c as u32 * GLYPH_SCALE + dx,
                            y + r as u32 * GLYPH_SCALE + dy,
                        );
                        if px < img.width() && py < img.height() {
                            img.put_pixel(px, py, color);
                        }
                    }
                }
            }
        }
    }
}

/// A 3 × 5 bitmap glyph.
fn glyph(ch: char) -> Option<[&'static str; 5]> {
    Some(match ch {
        '0' | 'O' => ["111", "101", "101", "101", "111"],
        '1' => ["010", "110", "010", "010", "111"],
        '2' => ["111", "001", "111", "100", "111"],
        '3' => ["111", "001", "111", "001", "111"],
        '4' => ["101", "101", "111", "001", "001"],
        '5' | 'S' => ["111", "100", "111", "001", "111"],
        '6' => ["111", "100", "111", "101", "111"],
        '7' => ["111", "001", "010", "010", "010"],
        '8' => ["111", "101", "111", "101", "111"],
        '9' => ["111", "101", "111", "001", "111"],
        '.' => ["000", "000", "000", "000", "010"],
        '-' => ["000", "000", "111", "000", "000"],
        '<' => ["001", "010", "100", "010", "001"],
        '>' => ["100", "010", "001", "010", "100"],
        '=' => ["000", "111", "000", "111", "000"],
        '%' => ["101", "001", "010", "100", "101"],
        'A' => ["010", "101", "111", "101", "101"],
        'C' => ["111", "100", "100", "100", "111"],
        'D' => ["110", "101", "101", "101", "110"],
        'E' => ["111", "100", "110", "100", "111"],
        'F' => ["111", "100", "110", "100", "100"],
        'G' => ["111", "100", "101", "101", "111"],
        'H' => ["101", "101", "111", "101", "101"],
        'I' => ["111", "010", "010", "010", "111"],
        'L' => ["100", "100", "100", "100", "111"],
        'M' => ["101", "111", "111", "101", "101"],
        'N' => ["110", "101", "101", "101", "101"],
        'P' => ["111", "101", "111", "100", "100"],
        'R' => ["110", "101", "110", "101", "101"],
        'T' => ["111", "010", "010", "010", "010"],
        'U' => ["101", "101", "101", "101", "111"],
        'W' => ["101", "101", "111", "111", "101"],
        'B' => ["110", "101", "110", "101", "110"],
        'V' => ["101", "101", "101", "101", "010"],
        ' ' => ["000", "000", "000", "000", "000"],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terrain::Grid;
    use bevy::math::DVec2;

    #[test]
    fn legends_colour_what_they_show_and_leave_the_rest() {
        let depth = depth_legend(4.0);
        assert_eq!(depth.color(0.0), None);
        assert_eq!(depth.color(4.0), Some([10, 40, 130, 235]));
        assert_eq!(depth.color(2.0), Some([40, 120, 220, 220]));
        let sun = sunlight_legend();
        assert_eq!(sun.color(1.0), Some([120, 20, 40, 210]));
        assert_eq!(sun.color(3.5), Some([240, 210, 60, 190]));
        assert_eq!(sun.color(9.0), Some([90, 190, 80, 170]));
    }

    #[test]
    fn maps_are_north_up_with_the_legend_below() {
        let grid = Grid {
            min_xy: DVec2::ZERO,
            cell_m: 1.0,
            cols: 100,
            rows: 50,
        };
        let surface = Raster::filled(grid, 0.0);
        let mut water = Raster::filled(grid, 0.0);
        // Water in the northern half only.
        for (i, v) in water.values.iter_mut().enumerate() {
            if grid.col_row(i).1 >= 25 {
                *v = 4.0;
            }
        }
        let img = draw(&surface, &water, &depth_legend(4.0));
        assert_eq!(img.width(), 400);
        assert_eq!(img.height(), 200 + LEGEND_PX);
        let top = img.get_pixel(200, 10).0;
        let bottom = img.get_pixel(200, 190).0;
        assert!(top[2] > top[0] + 50, "water is blue at the top: {top:?}");
        assert_eq!(
            bottom[0], bottom[2],
            "dry ground is grey at the bottom: {bottom:?}"
        );
        // The legend has dark text on white.
        let legend_dark = (0..img.width())
            .flat_map(|x| (200..img.height()).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 60)
            .count();
        assert!(legend_dark > 100, "{legend_dark}");
    }
}
