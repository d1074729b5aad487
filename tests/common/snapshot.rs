//! Golden images: `tests/snapshots/NAME.png`, rewritten by `UPDATE_SNAPSHOTS=1`; a mismatch
//! writes `NAME.actual.png` next to the golden.

use image::RgbaImage;
use std::path::PathBuf;

pub fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Compares with the golden image: per-channel difference ≤ `tol` on all but `max_frac` pixels.
pub fn assert_matches_snapshot(name: &str, image: &RgbaImage) {
    let golden = snapshot_dir().join(format!("{name}.png"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        image.save(&golden).unwrap();
        eprintln!("wrote {}", golden.display());
        return;
    }
    if !golden.exists() {
        let actual = snapshot_dir().join(format!("{name}.actual.png"));
        image.save(&actual).unwrap();
        panic!(
            "{name}: no golden image {} (see {}; UPDATE_SNAPSHOTS=1 to accept it)",
            golden.display(),
            actual.display()
        );
    }
    let expected = image::open(&golden).unwrap().to_rgba8();
    let result = compare(&expected, image, 12, 0.01);
    if let Err(problem) = result {
        let actual = snapshot_dir().join(format!("{name}.actual.png"));
        image.save(&actual).unwrap();
        panic!(
            "{name}: {problem} (see {}; UPDATE_SNAPSHOTS=1 to accept)",
            actual.display()
        );
    }
}

pub fn compare(a: &RgbaImage, b: &RgbaImage, tol: u8, max_frac: f64) -> Result<f64, String> {
    if a.dimensions() != b.dimensions() {
        return Err(format!("size {:?} vs {:?}", a.dimensions(), b.dimensions()));
    }
    let frac = differing(a, b, tol, 0, 0);
    if frac > max_frac {
        Err(format!("{:.2}% of pixels differ", frac * 100.0))
    } else {
        Ok(frac)
    }
}

/// Fraction of pixels of `a` that differ from `b` shifted by (dx, dy), over the overlap.
pub fn differing(a: &RgbaImage, b: &RgbaImage, tol: u8, dx: i32, dy: i32) -> f64 {
    let (w, h) = a.dimensions();
    let mut diff = 0u64;
    let mut total = 0u64;
    for y in 1..h as i32 - 1 {
        for x in 1..w as i32 - 1 {
            let p = a.get_pixel(x as u32, y as u32);
            let q = b.get_pixel((x + dx) as u32, (y + dy) as u32);
            total += 1;
            if p.0
                .iter()
                .zip(q.0.iter())
                .any(|(u, v)| u.abs_diff(*v) > tol)
            {
                diff += 1;
            }
        }
    }
    diff as f64 / total.max(1) as f64
}
