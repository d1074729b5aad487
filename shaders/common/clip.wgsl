// Clipping shared by the point renderers (through `PointStyle`) and the buildings' material
// (registered by `pointcloud::render::plugin`). Must match `ClipUniform` in
// src/pointcloud/render/clip.rs, which turns `spatial::clip::Clipping` (twin CRS) into the
// camera-relative render frame each frame.
#define_import_path jumeau::clip

struct Clip {
    // 0: nothing clipped; bit 0: a box, bit 1: a polygon, bit 2: a section plane,
    // bit 3: keep the outside of the region (box ∩ polygon prism).
    flags: u32,
    polygon_count: u32,
    // The box's six half-spaces: kept where dot(p, xyz) + w >= 0.
    planes: array<vec4<f32>, 6>,
    // Cut away where dot(p, xyz) + w > 0.
    section: vec4<f32>,
    // The polygon's vertices in the render frame's (x, z), two per vec4.
    polygon: array<vec4<f32>, 32>,
};

fn polygon_vertex(clip: Clip, i: u32) -> vec2<f32> {
    let v = clip.polygon[i / 2u];
    return select(v.xy, v.zw, (i & 1u) == 1u);
}

// Whether the render-frame position `p` stays drawn.
fn clip_keeps(clip: Clip, p: vec3<f32>) -> bool {
    if (clip.flags & 4u) != 0u && dot(p, clip.section.xyz) + clip.section.w > 0.0 {
        return false;
    }
    if (clip.flags & 3u) == 0u {
        return true;
    }
    var inside = true;
    if (clip.flags & 1u) != 0u {
        for (var i = 0u; i < 6u; i++) {
            if dot(p, clip.planes[i].xyz) + clip.planes[i].w < 0.0 {
                inside = false;
            }
        }
    }
    if inside && (clip.flags & 2u) != 0u {
        var odd = false;
        let n = clip.polygon_count;
        for (var i = 0u; i < n; i++) {
            let a = polygon_vertex(clip, i);
            let b = polygon_vertex(clip, (i + n - 1u) % n);
            if (a.y > p.z) != (b.y > p.z) && p.x < (b.x - a.x) * (p.z - a.y) / (b.y - a.y) + a.x {
                odd = !odd;
            }
        }
        inside = odd;
    }
    return inside == ((clip.flags & 8u) == 0u);
}
