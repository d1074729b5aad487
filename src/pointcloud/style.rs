//! How points are coloured and sized: colour modes, the classification palette (ASPRS and IGN
//! LiDAR HD codes), and per-class visibility. Pure data; the render module turns it into a uniform.

use serde::{Deserialize, Serialize};

/// What a point's colour shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// The RGB stored in the file (grey where there is none).
    #[default]
    Rgb,
    /// Return intensity, as grey levels stretched over the intensities loaded.
    Intensity,
    /// Height above the lowest point, as a colour ramp.
    Elevation,
    /// ASPRS / IGN LiDAR HD classification codes.
    Classification,
}

impl ColorMode {
    pub const ALL: [ColorMode; 4] = [
        ColorMode::Rgb,
        ColorMode::Intensity,
        ColorMode::Elevation,
        ColorMode::Classification,
    ];

    /// The index the shader switches on (see `shaders/pointcloud/points.wgsl`).
    pub fn shader_index(self) -> u32 {
        match self {
            ColorMode::Rgb => 0,
            ColorMode::Intensity => 1,
            ColorMode::Elevation => 2,
            ColorMode::Classification => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ColorMode::Rgb => "RGB",
            ColorMode::Intensity => "Intensity",
            ColorMode::Elevation => "Elevation",
            ColorMode::Classification => "Classification",
        }
    }
}

/// The colour of a classification code (sRGB): ASPRS LAS 1.4 codes 0–18, IGN LiDAR HD 64–67,
/// and a stable hashed colour for any other code so that user classes stay distinguishable.
pub fn class_color(code: u8) -> [u8; 3] {
    match code {
        0 | 1 => [170, 170, 170], // never classified / unclassified
        2 => [166, 118, 72],      // ground
        3 => [140, 205, 110],     // low vegetation
        4 => [64, 170, 64],       // medium vegetation
        5 => [20, 110, 30],       // high vegetation
        6 => [220, 60, 50],       // building
        7 => [255, 0, 255],       // low point (noise)
        8 => [255, 200, 0],       // model key / reserved
        9 => [40, 110, 230],      // water
        10 => [130, 80, 40],      // rail
        11 => [90, 90, 90],       // road surface
        12 => [255, 170, 200],    // overlap / reserved
        13 => [240, 230, 60],     // wire guard
        14 => [250, 210, 40],     // wire conductor
        15 => [200, 100, 250],    // transmission tower
        16 => [250, 130, 40],     // wire connector
        17 => [160, 160, 220],    // bridge deck
        18 => [255, 0, 128],      // high noise
        64 => [255, 140, 0],      // IGN: permanent above-ground structures
        65 => [200, 200, 255],    // IGN: artefacts
        66 => [120, 50, 160],     // IGN: virtual points
        67 => [0, 200, 200],      // IGN: miscellaneous built structures
        other => {
            let h = u32::from(other).wrapping_mul(2_654_435_761);
            [
                (h >> 24) as u8 | 0x40,
                (h >> 16) as u8 | 0x40,
                (h >> 8) as u8 | 0x40,
            ]
        }
    }
}

/// The elevation ramp (sRGB) at `t` in 0..1: blue, cyan, green, yellow, red.
pub fn elevation_ramp(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [0.19, 0.21, 0.58],
        [0.13, 0.57, 0.77],
        [0.35, 0.72, 0.29],
        [0.98, 0.85, 0.22],
        [0.84, 0.19, 0.15],
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f32;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f32;
    let c = [0, 1, 2].map(|k| STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f);
    c.map(|v| (v * 255.0).round() as u8)
}

/// Which classification codes are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassFilter([u32; 8]);

impl Default for ClassFilter {
    fn default() -> Self {
        Self([u32::MAX; 8])
    }
}

impl ClassFilter {
    pub fn is_visible(&self, code: u8) -> bool {
        self.0[usize::from(code / 32)] & (1 << (code % 32)) != 0
    }

    pub fn set_visible(&mut self, code: u8, visible: bool) {
        let bit = 1 << (code % 32);
        if visible {
            self.0[usize::from(code / 32)] |= bit;
        } else {
            self.0[usize::from(code / 32)] &= !bit;
        }
    }

    /// The bit words as the shader reads them (code `c` is bit `c % 32` of word `c / 32`).
    pub fn words(&self) -> [u32; 8] {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_tells_the_main_classes_apart() {
        let main = [2u8, 3, 4, 5, 6, 9, 17, 64, 65, 66, 67];
        for (i, a) in main.iter().enumerate() {
            for b in &main[i + 1..] {
                assert_ne!(class_color(*a), class_color(*b), "classes {a} and {b}");
            }
        }
        assert_eq!(class_color(200), class_color(200));
    }

    #[test]
    fn class_filter_hides_only_what_was_turned_off() {
        let mut f = ClassFilter::default();
        f.set_visible(66, false);
        assert!(!f.is_visible(66));
        assert!(f.is_visible(65) && f.is_visible(67) && f.is_visible(2));
        f.set_visible(66, true);
        assert_eq!(f, ClassFilter::default());
    }

    #[test]
    fn elevation_ramp_runs_from_blue_to_red() {
        let low = elevation_ramp(0.0);
        let high = elevation_ramp(1.0);
        assert!(low[2] > low[0] && high[0] > high[2]);
        assert_eq!(elevation_ramp(-3.0), low);
        assert_eq!(elevation_ramp(7.0), high);
    }
}
