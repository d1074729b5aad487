//! The compact GPU layout of the compute rasterizer: a node's points in spatially coherent
//! batches, positions quantised against each batch's bounds.
//!
//! # Layout
//! A node's points are sorted along a Morton curve of its bounds and cut into batches of at
//! most [`BATCH_POINTS`]: neighbours in a batch are neighbours in space, so a batch has small
//! bounds (culled as a whole on the GPU, quantised finely) and a workgroup reads contiguous
//! memory. Per point:
//! - two *hot* words, read for every point the rasterizer projects:
//!   `x | y << 16` and `z | class << 16 | intensity_hi << 24` (x, y, z: u16 steps of the
//!   batch's extent / 65535, in Bevy's axes relative to the node's origin);
//! - one *cold* word, read only for points inside the view: `r | g << 8 | b << 16 |
//!   intensity_lo << 24` (sRGB, 8 bits per channel).
//!
//! That is 12 bytes per point on the GPU, 8 of them in the projection's hot loop. A batch
//! whose extent is 200 m still places points to 3 mm.
//!
//! Must match `Batch` and the decoding in `shaders/pointcloud/raster.wgsl`.

use crate::pointcloud::copc::PointChunk;

/// Grey for points without RGB (sRGB).
pub(crate) const NO_RGB: [u8; 3] = [200, 200, 200];

/// The chunk's RGB as 8-bit sRGB. RGB is 16-bit in LAS but many writers store 0–255: the
/// values are scaled down only when some exceed 255.
pub(crate) fn rgb8(chunk: &PointChunk) -> Option<Vec<[u8; 3]>> {
    let rgb = chunk.rgb.as_ref()?;
    let shift = if rgb.iter().any(|p| p.iter().any(|&v| v > 255)) {
        8
    } else {
        0
    };
    Some(rgb.iter().map(|c| c.map(|v| (v >> shift) as u8)).collect())
}

/// Point `i`'s sRGB colour (from [`rgb8`]), class and intensity, with defaults where the file
/// has none.
pub(crate) fn point_attributes(
    chunk: &PointChunk,
    rgb: Option<&Vec<[u8; 3]>>,
    i: usize,
) -> ([u8; 3], u8, u16) {
    (
        rgb.map_or(NO_RGB, |c| c[i]),
        chunk.classification.as_ref().map_or(1, |c| c[i]),
        chunk.intensity.as_ref().map_or(0, |v| v[i]),
    )
}

/// Most points per batch: one workgroup of the projection pass.
pub const BATCH_POINTS: usize = 2048;
/// GPU bytes per point (two hot words, one cold word).
pub const BYTES_PER_POINT: u64 = 12;

/// One batch as the GPU reads it (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct Batch {
    /// Lower corner relative to the node's origin (Bevy axes, metres).
    pub min: [f32; 3],
    /// The node's slot in the frame's node table (set when the node is placed on the GPU).
    pub node: u32,
    /// Metres per quantisation step on each axis.
    pub step: [f32; 3],
    pub count: u32,
}

impl Batch {
    /// The 8 words of the GPU layout.
    pub fn words(&self) -> [u32; 8] {
        [
            self.min[0].to_bits(),
            self.min[1].to_bits(),
            self.min[2].to_bits(),
            self.node,
            self.step[0].to_bits(),
            self.step[1].to_bits(),
            self.step[2].to_bits(),
            self.count,
        ]
    }

    /// Where quantised point `q` lies, relative to the node's origin.
    pub fn position(&self, q: [u16; 3]) -> [f32; 3] {
        std::array::from_fn(|a| self.min[a] + f32::from(q[a]) * self.step[a])
    }
}

/// A node packed for the compute rasterizer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackedNode {
    pub batches: Vec<Batch>,
    /// Two words per point, batch after batch (each batch starts at `BATCH_POINTS * index`).
    pub hot: Vec<u32>,
    /// One word per point, same order.
    pub cold: Vec<u32>,
}

impl PackedNode {
    /// Packs a decoded node; `positions` are the points in Bevy's axes relative to the node's
    /// origin (as the splat path uses them). Batches are full except the last; the point
    /// arrays are padded to whole batches so that batch `i` starts at `i * BATCH_POINTS`.
    pub fn pack(chunk: &PointChunk, positions: &[[f32; 3]]) -> Self {
        let n = positions.len();
        if n == 0 {
            return Self::default();
        }
        let order = morton_order(positions);
        let rgb = rgb8(chunk);
        let batch_count = n.div_ceil(BATCH_POINTS);
        let mut packed = Self {
            batches: Vec::with_capacity(batch_count),
            hot: vec![0; 2 * batch_count * BATCH_POINTS],
            cold: vec![0; batch_count * BATCH_POINTS],
        };
        for (b, members) in order.chunks(BATCH_POINTS).enumerate() {
            let mut min = [f32::INFINITY; 3];
            let mut max = [f32::NEG_INFINITY; 3];
            for &i in members {
                for a in 0..3 {
                    min[a] = min[a].min(positions[i][a]);
                    max[a] = max[a].max(positions[i][a]);
                }
            }
            let step: [f32; 3] = std::array::from_fn(|a| (max[a] - min[a]).max(0.0) / 65535.0);
            for (k, &i) in members.iter().enumerate() {
                let q: [u32; 3] = std::array::from_fn(|a| {
                    if step[a] > 0.0 {
                        ((positions[i][a] - min[a]) / step[a])
                            .round()
                            .clamp(0.0, 65535.0) as u32
                    } else {
                        0
                    }
                });
                let ([r, g, bl], class, intensity) = point_attributes(chunk, rgb.as_ref(), i);
                let slot = b * BATCH_POINTS + k;
                packed.hot[2 * slot] = q[0] | (q[1] << 16);
                packed.hot[2 * slot + 1] =
                    q[2] | (u32::from(class) << 16) | (u32::from(intensity >> 8) << 24);
                packed.cold[slot] = u32::from(r)
                    | (u32::from(g) << 8)
                    | (u32::from(bl) << 16)
                    | (u32::from(intensity & 0xff) << 24);
            }
            packed.batches.push(Batch {
                min,
                node: 0,
                step,
                count: members.len() as u32,
            });
        }
        packed
    }

    /// Points packed (not counting the padding).
    pub fn points(&self) -> u64 {
        self.batches.iter().map(|b| u64::from(b.count)).sum()
    }

    /// Point `k` of batch `b`: position relative to the node's origin, class, intensity, sRGB.
    pub fn point(&self, b: usize, k: usize) -> ([f32; 3], u8, u16, [u8; 3]) {
        let slot = b * BATCH_POINTS + k;
        let (h0, h1, c) = (self.hot[2 * slot], self.hot[2 * slot + 1], self.cold[slot]);
        let q = [
            (h0 & 0xffff) as u16,
            (h0 >> 16) as u16,
            (h1 & 0xffff) as u16,
        ];
        let class = ((h1 >> 16) & 0xff) as u8;
        let intensity = (((h1 >> 24) << 8) | (c >> 24)) as u16;
        let rgb = [c as u8, (c >> 8) as u8, (c >> 16) as u8];
        (self.batches[b].position(q), class, intensity, rgb)
    }
}

/// Indices of `positions` sorted along a Morton curve of their bounds (10 bits per axis).
fn morton_order(positions: &[[f32; 3]]) -> Vec<usize> {
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for p in positions {
        for a in 0..3 {
            min[a] = min[a].min(p[a]);
            max[a] = max[a].max(p[a]);
        }
    }
    let scale: [f32; 3] = std::array::from_fn(|a| {
        let extent = max[a] - min[a];
        if extent > 0.0 { 1023.0 / extent } else { 0.0 }
    });
    let mut keyed: Vec<(u32, usize)> = positions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cell: [u32; 3] =
                std::array::from_fn(|a| ((p[a] - min[a]) * scale[a]).clamp(0.0, 1023.0) as u32);
            (
                spread(cell[0]) | (spread(cell[1]) << 1) | (spread(cell[2]) << 2),
                i,
            )
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Spreads the 10 low bits of `v` to every third bit.
fn spread(v: u32) -> u32 {
    let mut x = v & 0x3ff;
    x = (x | (x << 16)) & 0x0300_00ff;
    x = (x | (x << 8)) & 0x0300_f00f;
    x = (x | (x << 4)) & 0x030c_30c3;
    x = (x | (x << 2)) & 0x0924_9249;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::math::DVec3;

    fn chunk(n: usize) -> (PointChunk, Vec<[f32; 3]>) {
        // A 300 m × 40 m × 200 m block filled at random (a fixed LCG), in no spatial order.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let positions: Vec<[f32; 3]> = (0..n)
            .map(|_| {
                [
                    next() * 300.0 - 150.0,
                    next() * 40.0,
                    next() * 200.0 - 100.0,
                ]
            })
            .collect();
        let chunk = PointChunk {
            key: None,
            origin: DVec3::ZERO,
            positions: positions.clone(),
            intensity: Some((0..n).map(|i| (i * 37 % 65536) as u16).collect()),
            classification: Some((0..n).map(|i| (i % 19) as u8).collect()),
            returns: None,
            rgb: Some((0..n).map(|i| [(i % 256) as u16, 7, 250]).collect()),
            gps_time: None,
        };
        (chunk, positions)
    }

    #[test]
    fn every_point_comes_back_with_its_attributes_within_a_few_millimetres() {
        let (chunk, positions) = chunk(5000);
        let packed = PackedNode::pack(&chunk, &positions);
        assert_eq!(packed.points(), 5000);
        assert_eq!(packed.batches.len(), 3);
        assert_eq!(packed.batches[2].count as usize, 5000 - 2 * BATCH_POINTS);
        assert_eq!(packed.hot.len(), 2 * 3 * BATCH_POINTS);
        assert_eq!(packed.cold.len(), 3 * BATCH_POINTS);
        // Match each unpacked point to its original by its unique intensity/class/red.
        let mut seen = vec![false; 5000];
        for (b, batch) in packed.batches.iter().enumerate() {
            for k in 0..batch.count as usize {
                let (p, class, intensity, rgb) = packed.point(b, k);
                let i = (0..5000)
                    .find(|&i| {
                        !seen[i]
                            && chunk.intensity.as_ref().unwrap()[i] == intensity
                            && chunk.classification.as_ref().unwrap()[i] == class
                            && rgb == [(i % 256) as u8, 7, 250]
                            && (0..3).all(|a| (positions[i][a] - p[a]).abs() < 0.01)
                    })
                    .unwrap_or_else(|| panic!("point {k} of batch {b} matches no input point"));
                seen[i] = true;
                for a in 0..3 {
                    let extent = batch.step[a] * 65535.0;
                    assert!(
                        (positions[i][a] - p[a]).abs() <= extent / 65535.0 * 0.5 + 1e-4,
                        "axis {a}: {} vs {}",
                        positions[i][a],
                        p[a]
                    );
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn batches_are_spatially_coherent() {
        let (chunk, positions) = chunk(8 * BATCH_POINTS);
        let packed = PackedNode::pack(&chunk, &positions);
        let volume = |b: &Batch| b.step.iter().map(|s| s * 65535.0).product::<f32>();
        let node_volume = 300.0 * 40.0 * 200.0;
        // In input order each of the 8 batches would span the whole node (8 node volumes in
        // all); in Morton order each is about one octant, two where it straddles a boundary.
        let total: f32 = packed.batches.iter().map(volume).sum();
        assert!(
            total < 2.5 * node_volume,
            "batch volumes add up to {total} m³ of {node_volume}"
        );
    }

    #[test]
    fn a_flat_or_single_point_node_packs() {
        let (mut chunk, mut positions) = chunk(1);
        positions[0] = [1.0, 2.0, 3.0];
        chunk.rgb = None;
        let packed = PackedNode::pack(&chunk, &positions);
        let (p, _, _, rgb) = packed.point(0, 0);
        assert_eq!(p, [1.0, 2.0, 3.0]);
        assert_eq!(rgb, NO_RGB);
        assert_eq!(PackedNode::pack(&chunk, &[]).points(), 0);
    }

    #[test]
    fn morton_bits_interleave() {
        assert_eq!(spread(0b111), 0b1001001);
        assert_eq!(spread(0x3ff).count_ones(), 10);
    }
}
