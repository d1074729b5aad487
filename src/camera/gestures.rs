//! Touch gestures (pure): one finger orbits, two pan, pinch zooms, twist turns the view; a
//! quick second tap near the first is a double tap (focus on what lies under it).

use bevy::math::Vec2;

/// What the fingers did since the last frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gesture {
    /// One finger's motion, pixels.
    pub orbit: Vec2,
    /// Two fingers' mean motion, pixels.
    pub pan: Vec2,
    /// The distance factor (< 1 zooms in: the fingers spread).
    pub zoom: f32,
    /// The turn of the line between two fingers, radians (clockwise on the screen, whose y
    /// points down).
    pub twist: f32,
}

/// The gesture of fingers given as (previous position, position).
pub fn gesture(fingers: &[(Vec2, Vec2)]) -> Gesture {
    match fingers {
        [] => Gesture {
            zoom: 1.0,
            ..Default::default()
        },
        [(before, after)] => Gesture {
            orbit: *after - *before,
            zoom: 1.0,
            ..Default::default()
        },
        [(a0, a1), (b0, b1), ..] => {
            let (line0, line1) = (*b0 - *a0, *b1 - *a1);
            let (d0, d1) = (line0.length(), line1.length());
            let zoom = if d0 > 1.0 && d1 > 1.0 { d0 / d1 } else { 1.0 };
            let twist = if d0 > 1.0 && d1 > 1.0 {
                line0.angle_to(line1)
            } else {
                0.0
            };
            Gesture {
                orbit: Vec2::ZERO,
                pan: ((*a1 - *a0) + (*b1 - *b0)) * 0.5,
                zoom,
                twist,
            }
        }
    }
}

/// A tap is a touch lifted within this many seconds...
pub const TAP_SECONDS: f64 = 0.3;
/// ... that moved less than this many pixels.
pub const TAP_SLOP_PX: f32 = 12.0;
/// Two taps this close in time and place are a double tap.
pub const DOUBLE_TAP_SECONDS: f64 = 0.4;
pub const DOUBLE_TAP_PX: f32 = 40.0;

/// Finds double taps among lifted touches.
#[derive(Clone, Copy, Debug, Default)]
pub struct Taps {
    last: Option<(f64, Vec2)>,
}

impl Taps {
    /// A touch that began at `start` (seconds, pixels) was lifted at `end`: the place of a
    /// double tap when it completes one.
    pub fn lifted(&mut self, start: (f64, Vec2), end: (f64, Vec2)) -> Option<Vec2> {
        let is_tap = end.0 - start.0 <= TAP_SECONDS && start.1.distance(end.1) < TAP_SLOP_PX;
        if !is_tap {
            self.last = None;
            return None;
        }
        let double = self.last.is_some_and(|(t, p)| {
            end.0 - t <= DOUBLE_TAP_SECONDS && p.distance(end.1) < DOUBLE_TAP_PX
        });
        if double {
            self.last = None;
            Some(end.1)
        } else {
            self.last = Some(end);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_finger_orbits_two_pan_pinch_and_twist() {
        let one = gesture(&[(Vec2::new(10.0, 10.0), Vec2::new(25.0, 5.0))]);
        assert_eq!(one.orbit, Vec2::new(15.0, -5.0));
        assert_eq!((one.pan, one.zoom, one.twist), (Vec2::ZERO, 1.0, 0.0));

        // Both fingers move right by 20: a pan, no zoom, no twist.
        let a = Vec2::new(100.0, 100.0);
        let b = Vec2::new(200.0, 100.0);
        let d = Vec2::new(20.0, 0.0);
        let pan = gesture(&[(a, a + d), (b, b + d)]);
        assert_eq!(pan.pan, d);
        assert_eq!(pan.orbit, Vec2::ZERO);
        assert!((pan.zoom - 1.0).abs() < 1e-6 && pan.twist.abs() < 1e-6);

        // Fingers spread from 100 to 200 px apart around their middle: zoom in by half.
        let pinch = gesture(&[(a, Vec2::new(50.0, 100.0)), (b, Vec2::new(250.0, 100.0))]);
        assert!((pinch.zoom - 0.5).abs() < 1e-6, "{}", pinch.zoom);
        assert!(pinch.pan.length() < 1e-6);

        // The line between the fingers turns by 10° around its middle.
        let mid = (a + b) * 0.5;
        let turn = |p: Vec2| mid + Vec2::from_angle(10f32.to_radians()).rotate(p - mid);
        let twist = gesture(&[(a, turn(a)), (b, turn(b))]);
        assert!(
            (twist.twist - 10f32.to_radians()).abs() < 1e-4,
            "{}",
            twist.twist
        );
        assert!((twist.zoom - 1.0).abs() < 1e-4 && twist.pan.length() < 1e-3);
    }

    #[test]
    fn two_quick_taps_near_each_other_are_a_double_tap() {
        let p = Vec2::new(300.0, 200.0);
        let mut taps = Taps::default();
        assert_eq!(taps.lifted((0.0, p), (0.1, p)), None);
        assert_eq!(
            taps.lifted((0.3, p + Vec2::X * 5.0), (0.4, p + Vec2::X * 5.0)),
            Some(p + Vec2::X * 5.0)
        );
        // Too slow between taps, too far apart, or a drag: none.
        assert_eq!(taps.lifted((1.0, p), (1.1, p)), None);
        assert_eq!(taps.lifted((1.7, p), (1.8, p)), None, "0.6 s after");
        assert_eq!(
            taps.lifted((1.9, p + Vec2::X * 100.0), (2.0, p + Vec2::X * 100.0)),
            None
        );
        let mut taps = Taps::default();
        assert_eq!(taps.lifted((0.0, p), (0.1, p)), None);
        assert_eq!(
            taps.lifted((0.2, p), (0.3, p + Vec2::Y * 30.0)),
            None,
            "a drag"
        );
    }
}
