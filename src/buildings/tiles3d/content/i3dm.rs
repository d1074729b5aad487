//! Instanced 3D Model (i3dm): one model (embedded or by URI) drawn at many positions,
//! with rotations from up/right vectors, octahedral normals or east-north-up.

use super::*;

pub(super) fn parse_i3dm(bytes: &[u8]) -> Result<TileContent, ContentError> {
    const FORMAT: &str = "i3dm";
    let w = read_header(bytes, FORMAT, 32)?;
    let ([ft_json, ft_bin, bt_json, bt_bin], body_start) = sections(
        bytes,
        FORMAT,
        32,
        [
            ("feature table JSON", w[3]),
            ("feature table binary", w[4]),
            ("batch table JSON", w[5]),
            ("batch table binary", w[6]),
        ],
    )?;
    let body = &bytes[body_start..];
    let model = match w[7] {
        0 => {
            let text = std::str::from_utf8(body).map_err(|e| ContentError::InvalidField {
                format: FORMAT,
                section: "body",
                field: "glTF URI".into(),
                reason: format!("not UTF-8: {e}"),
            })?;
            InstanceModel::Uri(text.trim_end_matches([' ', '\0']).to_owned())
        }
        1 => InstanceModel::Embedded(embedded_glb(FORMAT, body)?),
        value => {
            return Err(ContentError::InvalidGltfFormat {
                format: FORMAT,
                value,
            });
        }
    };

    let ft = Table::parse(FORMAT, "feature table", ft_json, ft_bin)?;
    let count = ft
        .global_u32("INSTANCES_LENGTH")?
        .ok_or(ContentError::MissingField {
            format: FORMAT,
            field: "INSTANCES_LENGTH",
        })? as usize;
    let rtc = ft.global_vec3("RTC_CENTER")?.map(DVec3::from_array);
    let positions = read_positions(&ft, count, rtc)?;

    let pair = |up: Option<Vec<DVec3>>, right: Option<Vec<DVec3>>, names: &str| match (up, right) {
        (Some(u), Some(r)) => Ok(Some((u, r))),
        (None, None) => Ok(None),
        _ => Err(ContentError::InvalidField {
            format: FORMAT,
            section: "feature table",
            field: names.to_owned(),
            reason: "one of the pair is present without the other".into(),
        }),
    };
    let normals = match pair(
        read_vec3_f32(&ft, "NORMAL_UP", count)?,
        read_vec3_f32(&ft, "NORMAL_RIGHT", count)?,
        "NORMAL_UP / NORMAL_RIGHT",
    )? {
        Some(normals) => Some(normals),
        None => pair(
            read_oct32p(&ft, "NORMAL_UP_OCT32P", count)?,
            read_oct32p(&ft, "NORMAL_RIGHT_OCT32P", count)?,
            "NORMAL_UP_OCT32P / NORMAL_RIGHT_OCT32P",
        )?,
    };
    let east_north_up = ft.global_bool("EAST_NORTH_UP")?.unwrap_or(false);

    let scale = read_scalar_f32(&ft, "SCALE", count)?;
    let scale_non_uniform = read_vec3_f32(&ft, "SCALE_NON_UNIFORM", count)?;
    let batch_ids = read_batch_ids(&ft, count)?;

    let mut instances = Vec::with_capacity(count);
    for (i, p) in positions.iter().enumerate() {
        let rotation = match &normals {
            Some((up, right)) => rotation_from_up_right(up[i], right[i]).ok_or_else(|| {
                ContentError::InvalidField {
                    format: FORMAT,
                    section: "feature table",
                    field: "NORMAL_UP / NORMAL_RIGHT".into(),
                    reason: format!(
                        "instance {i}: up {:?} and right {:?} are not two non-zero, \
                         non-parallel vectors",
                        up[i], right[i]
                    ),
                }
            })?,
            None if east_north_up => east_north_up_rotation(DVec3::from_array(*p)),
            None => DQuat::IDENTITY,
        };
        let mut s = DVec3::ONE;
        if let Some(uniform) = &scale {
            s *= uniform[i];
        }
        if let Some(non_uniform) = &scale_non_uniform {
            s *= non_uniform[i];
        }
        instances.push(Instance {
            position: *p,
            rotation,
            scale: s.to_array(),
            batch_id: batch_ids.as_ref().map(|ids| ids[i]),
        });
    }

    let batch_length = match &batch_ids {
        Some(ids) => ids.iter().max().map_or(0, |m| *m as usize + 1),
        None => count,
    };
    let batch = parse_batch_table(FORMAT, bt_json, bt_bin, batch_length)?;
    Ok(TileContent::Instances {
        model,
        instances,
        batch,
    })
}

/// Rotation whose columns are (right, up, right × up), as CesiumJS builds it.
pub(super) fn rotation_from_up_right(up: DVec3, right: DVec3) -> Option<DQuat> {
    let up = up.try_normalize()?;
    let right = right.try_normalize()?;
    let forward = right.cross(up).try_normalize()?;
    // Re-orthogonalise so slightly off (quantized) inputs still give a rotation.
    let right = up.cross(forward);
    let q = DQuat::from_mat3(&DMat3::from_cols(right, up, forward)).normalize();
    q.is_finite().then_some(q)
}

/// East-north-up frame at an ECEF position on WGS84 (columns east, north, up); identity at the
/// centre of the Earth.
pub(super) fn east_north_up_rotation(p: DVec3) -> DQuat {
    if p.length_squared() < 1.0 {
        return DQuat::IDENTITY;
    }
    let (lon, lat, _) = crate::georef::geodetic_from_ecef(p);
    let ecef_from_enu = crate::georef::enu_from_ecef_rotation(lon, lat).transpose();
    DQuat::from_mat3(&ecef_from_enu).normalize()
}

/// Oct-decodes one 2-component unit vector stored in `[0, range_max]` per component.
pub(super) fn oct_decode(x: u16, y: u16, range_max: f64) -> DVec3 {
    let mut x = f64::from(x) / range_max * 2.0 - 1.0;
    let mut y = f64::from(y) / range_max * 2.0 - 1.0;
    let z = 1.0 - x.abs() - y.abs();
    if z < 0.0 {
        let old_x = x;
        x = (1.0 - y.abs()) * sign_not_zero(old_x);
        y = (1.0 - old_x.abs()) * sign_not_zero(y);
    }
    DVec3::new(x, y, z).normalize_or_zero()
}

pub(super) fn sign_not_zero(v: f64) -> f64 {
    if v < 0.0 { -1.0 } else { 1.0 }
}
