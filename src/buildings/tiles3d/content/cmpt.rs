//! Composite (cmpt): inner tiles of any format, nested to a bounded depth.

use super::*;

pub(super) fn parse_cmpt(bytes: &[u8], depth: usize) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "cmpt";
    if depth >= MAX_COMPOSITE_DEPTH {
        return Err(ContentError::TooDeep {
            limit: MAX_COMPOSITE_DEPTH,
        });
    }
    let w = read_header(bytes, FORMAT, 16)?;
    let tiles_length = w[3] as usize;
    // Each inner tile has at least a 12-byte header, which bounds the allocation.
    let mut tiles = Vec::with_capacity(tiles_length.min(bytes.len() / 12));
    let mut offset = 16;
    for index in 0..tiles_length {
        let inner = |source: ContentError| ContentError::InnerTile {
            index,
            offset,
            source: Box::new(source),
        };
        let Some(length) = le_u32(bytes, offset + 8) else {
            return Err(inner(ContentError::TooShort {
                format: "tile",
                needed: 12,
                actual: bytes.len().saturating_sub(offset),
            }));
        };
        let end = offset as u64 + u64::from(length);
        if end > bytes.len() as u64 {
            return Err(ContentError::SectionOutOfBounds {
                format: FORMAT,
                section: "inner tile",
                offset: offset as u64,
                length: u64::from(length),
                available: bytes.len(),
            });
        }
        let tile = parse_at_depth(&bytes[offset..end as usize], depth + 1).map_err(inner)?;
        tiles.push(tile);
        offset = end as usize;
    }
    Ok(TileContent::Composite(tiles))
}
