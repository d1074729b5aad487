//! Point Cloud (pnts): positions (float or quantized), RGB / RGBA / RGB565, batch IDs.

use super::*;

pub(super) fn parse_pnts(bytes: &[u8]) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "pnts";
    let w = read_header(bytes, FORMAT, 28)?;
    let ([ft_json, ft_bin, bt_json, bt_bin], _) = sections(
        bytes,
        FORMAT,
        28,
        [
            ("feature table JSON", w[3]),
            ("feature table binary", w[4]),
            ("batch table JSON", w[5]),
            ("batch table binary", w[6]),
        ],
    )?;
    let ft = Table::parse(FORMAT, "feature table", ft_json, ft_bin)?;
    let count = ft
        .global_u32("POINTS_LENGTH")?
        .ok_or(ContentError::MissingField {
            format: FORMAT,
            field: "POINTS_LENGTH",
        })? as usize;
    let rtc = ft.global_vec3("RTC_CENTER")?.map(DVec3::from_array);
    let positions = read_positions(&ft, count, rtc)?;

    let colors = if let Some(rgba) = ft.binary_property("RGBA", &[Ct::U8], 4, count)? {
        Some(
            rgba.chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect(),
        )
    } else if let Some(rgb) = ft.binary_property("RGB", &[Ct::U8], 3, count)? {
        Some(
            rgb.chunks_exact(3)
                .map(|c| [c[0], c[1], c[2], 255])
                .collect(),
        )
    } else if let Some(rgb565) = ft.binary_property("RGB565", &[Ct::U16], 1, count)? {
        Some(
            rgb565
                .chunks_exact(2)
                .map(|c| rgb565_to_rgba8(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        )
    } else {
        ft.global_constant_rgba()?.map(|c| vec![c; count])
    };

    let batch_ids = read_batch_ids(&ft, count)?;
    let batch_length = if batch_ids.is_some() {
        ft.global_u32("BATCH_LENGTH")?
            .ok_or(ContentError::MissingField {
                format: FORMAT,
                field: "BATCH_LENGTH",
            })? as usize
    } else {
        count
    };
    if let Some(ids) = &batch_ids
        && let Some((i, id)) = ids
            .iter()
            .enumerate()
            .find(|(_, id)| **id as usize >= batch_length)
    {
        return Err(ContentError::InvalidField {
            format: FORMAT,
            section: "feature table",
            field: "BATCH_ID".into(),
            reason: format!("point {i} has batch ID {id}, not below BATCH_LENGTH {batch_length}"),
        });
    }
    let batch = parse_batch_table(FORMAT, bt_json, bt_bin, batch_length)?;
    Ok(TileContent::Points {
        positions,
        colors,
        batch_ids,
        batch,
    })
}

/// Expands 5-6-5 bits to 8 bits per channel, rounding to nearest.
pub(super) fn rgb565_to_rgba8(v: u16) -> [u8; 4] {
    let r = u32::from((v >> 11) & 0x1f);
    let g = u32::from((v >> 5) & 0x3f);
    let b = u32::from(v & 0x1f);
    [
        ((r * 255 + 15) / 31) as u8,
        ((g * 255 + 31) / 63) as u8,
        ((b * 255 + 15) / 31) as u8,
        255,
    ]
}
