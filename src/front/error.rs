//! The one error of the front ends: what opening inputs into a twin, rendering it or running a
//! command can fail on, by capability, so that an embedding app can match on it. Its text is
//! what the panel, the log and the command line show.

/// What went wrong, as callers of the front ends (the command line, an embedding app) see it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    PointCloud(#[from] crate::pointcloud::open::OpenError),
    #[error(transparent)]
    Buildings(#[from] crate::buildings::open::BuildingsError),
    #[error(transparent)]
    Network(#[from] crate::network::open::NetworkError),
    #[error(transparent)]
    Georef(#[from] crate::georef::GeorefError),
    #[error(transparent)]
    Source(#[from] crate::io::SourceError),
    /// A point cloud's header, hierarchy or points are not what LAS/COPC says.
    #[error(transparent)]
    Las(#[from] crate::pointcloud::las::LasError),
    /// What the front end itself refuses: point clouds in another CRS than the twin's, a
    /// network file it cannot place, a window that cannot render.
    #[error("{0}")]
    Refused(String),
}

/// Errors still told in words below the front (draping, rendering) are refusals.
impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::Refused(message)
    }
}

/// While callers above still speak in strings: `?` turns the error into its text.
impl From<Error> for String {
    fn from(error: Error) -> Self {
        error.to_string()
    }
}
