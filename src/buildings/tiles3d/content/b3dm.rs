//! Batched 3D Model (b3dm): a GLB with a feature table and a batch table, incl. the two
//! pre-1.0 header layouts.

use super::*;

/// A header word this large cannot be a JSON length: it is the start of a JSON string or of
/// the GLB magic, which is how the two pre-1.0 b3dm header layouts are told apart (the same
/// test as CesiumJS and cesium-native).
pub(super) const LEGACY_HEADER_THRESHOLD: u32 = 0x2200_0000;

pub(super) fn parse_b3dm(bytes: &[u8]) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "b3dm";
    let w = read_header(bytes, FORMAT, 28)?;
    // Legacy layouts: [batchLength][batchTableByteLength] (20-byte header) and
    // [batchTableJsonByteLength][batchTableBinaryByteLength][batchLength] (24-byte header).
    let (header_len, ft_json_len, ft_bin_len, bt_json_len, bt_bin_len, legacy_batch_length) =
        if w[5] >= LEGACY_HEADER_THRESHOLD {
            (20, 0, 0, w[4], 0, Some(w[3]))
        } else if w[6] >= LEGACY_HEADER_THRESHOLD {
            (24, 0, 0, w[3], w[4], Some(w[5]))
        } else {
            (28, w[3], w[4], w[5], w[6], None)
        };
    let ([ft_json, ft_bin, bt_json, bt_bin], body_start) = sections(
        bytes,
        FORMAT,
        header_len,
        [
            ("feature table JSON", ft_json_len),
            ("feature table binary", ft_bin_len),
            ("batch table JSON", bt_json_len),
            ("batch table binary", bt_bin_len),
        ],
    )?;
    let features = Table::parse(FORMAT, "feature table", ft_json, ft_bin)?;
    let batch_length = match legacy_batch_length {
        Some(n) => n,
        None => features
            .global_u32("BATCH_LENGTH")?
            .ok_or(ContentError::MissingField {
                format: FORMAT,
                field: "BATCH_LENGTH",
            })?,
    } as usize;
    let rtc_center = features.global_vec3("RTC_CENTER")?;
    let batch = parse_batch_table(FORMAT, bt_json, bt_bin, batch_length)?;
    let glb = embedded_glb(FORMAT, &bytes[body_start..])?;
    Ok(TileContent::Model {
        glb,
        rtc_center,
        batch,
        batch_length,
    })
}
