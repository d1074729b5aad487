//! Space shared by every capability: the one box ([`Aabb`]), the one camera model ([`View`]:
//! frustum, screen-space error), the byte-bounded LRU ([`LruCache`]) that keeps them under one
//! memory budget, the back-off of what failed to load ([`Failure`]), and a seeded generator
//! ([`random::SplitMix64`]).

pub mod aabb;
pub mod clip;
pub mod lru;
pub mod random;
pub mod retry;
pub mod view;

pub use aabb::Aabb;
pub use clip::Clipping;
pub use lru::LruCache;
pub use retry::{Failure, retry_delay};
pub use view::View;
