//! Point record layouts of LAS formats 0–10 and the conversion of any of them to the COPC
//! formats 6/7/8 (legacy fields moved, wave packets kept as extra bytes).

use super::las::{ExtraBytesDim, ExtraBytesType, FormatTraits, base_record_len, fixed_str};
use byteorder::{ByteOrder, LittleEndian as LE};

/// Byte offsets of the optional fields of a point format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLayout {
    pub format: u8,
    pub gps_time: Option<usize>,
    pub rgb: Option<usize>,
    pub nir: Option<usize>,
    pub wave_packet: Option<usize>,
    /// Size of the standard part; extra bytes follow.
    pub base_len: usize,
}

impl RecordLayout {
    pub fn of(format: u8) -> Option<Self> {
        let base_len = usize::from(base_record_len(format)?);
        let (gps_time, rgb, nir, wave_packet) = match format {
            0 => (None, None, None, None),
            1 => (Some(20), None, None, None),
            2 => (None, Some(20), None, None),
            3 => (Some(20), Some(28), None, None),
            4 => (Some(20), None, None, Some(28)),
            5 => (Some(20), Some(28), None, Some(34)),
            6 => (Some(22), None, None, None),
            7 => (Some(22), Some(30), None, None),
            8 => (Some(22), Some(30), Some(36), None),
            9 => (Some(22), None, None, Some(30)),
            10 => (Some(22), Some(30), Some(36), Some(38)),
            _ => return None,
        };
        Some(Self {
            format,
            gps_time,
            rgb,
            nir,
            wave_packet,
            base_len,
        })
    }

    pub fn extended(&self) -> bool {
        self.format >= 6
    }

    pub fn intensity(&self, r: &[u8]) -> u16 {
        LE::read_u16(&r[12..])
    }

    /// (return number, number of returns)
    pub fn returns(&self, r: &[u8]) -> (u8, u8) {
        if self.extended() {
            (r[14] & 0x0f, r[14] >> 4)
        } else {
            (r[14] & 0x07, (r[14] >> 3) & 0x07)
        }
    }

    pub fn classification(&self, r: &[u8]) -> u8 {
        if self.extended() { r[16] } else { r[15] & 0x1f }
    }

    pub fn gps_time(&self, r: &[u8]) -> Option<f64> {
        self.gps_time.map(|at| LE::read_f64(&r[at..]))
    }

    pub fn rgb(&self, r: &[u8]) -> Option<[u16; 3]> {
        self.rgb.map(|at| {
            [
                LE::read_u16(&r[at..]),
                LE::read_u16(&r[at + 2..]),
                LE::read_u16(&r[at + 4..]),
            ]
        })
    }
}

/// The COPC point format that holds everything `format` has.
pub fn copc_format_for(format: u8) -> u8 {
    let traits = FormatTraits::of(format);
    if traits.nir {
        8
    } else if traits.rgb {
        7
    } else {
        6
    }
}

/// Size of a wave packet descriptor, kept as extra bytes when converting to COPC.
pub const WAVE_PACKET_LEN: usize = 29;

/// Extra-bytes descriptors that keep a wave packet descriptor's seven fields.
pub fn wave_packet_dims() -> Vec<ExtraBytesDim> {
    let fields: [(&str, ExtraBytesType, u8); 7] = [
        ("wave_packet_index", ExtraBytesType::U8, 1),
        ("wave_byte_offset", ExtraBytesType::U64, 7),
        ("wave_packet_size", ExtraBytesType::U32, 5),
        ("wave_return_location", ExtraBytesType::F32, 9),
        ("wave_x_t", ExtraBytesType::F32, 9),
        ("wave_y_t", ExtraBytesType::F32, 9),
        ("wave_z_t", ExtraBytesType::F32, 9),
    ];
    fields
        .into_iter()
        .map(|(name, data_type, code)| {
            let description = "wave packet descriptor field (kept from LAS 4/5/9/10)";
            let mut descriptor = vec![0u8; 192];
            descriptor[2] = code;
            descriptor[4..36].copy_from_slice(&fixed_str::<32>(name));
            descriptor[160..192].copy_from_slice(&fixed_str::<32>(description));
            ExtraBytesDim {
                name: name.to_owned(),
                description: description.to_owned(),
                data_type,
                descriptor,
            }
        })
        .collect()
}

/// How to turn records of one input file into records of the output format.
#[derive(Debug, Clone, Copy)]
pub struct RecordConverter {
    pub src: RecordLayout,
    pub src_len: usize,
    pub dst: RecordLayout,
    pub dst_len: usize,
    /// Extra bytes of the source, copied after the destination's standard fields.
    pub extra_len: usize,
    /// Re-quantisation `(scale, offset)` pairs for x, y, z when the output grid differs.
    pub requantize: Option<[(f64, f64, f64, f64); 3]>,
}

impl RecordConverter {
    /// Converts a run of source records into a new buffer of destination records.
    pub fn convert_all(&self, records: &[u8]) -> Vec<u8> {
        let n = records.len() / self.src_len;
        let mut out = vec![0u8; n * self.dst_len];
        for (r, o) in records
            .chunks_exact(self.src_len)
            .zip(out.chunks_exact_mut(self.dst_len))
        {
            self.convert(r, o);
        }
        out
    }

    /// Writes the converted record into `out` (exactly `dst_len` bytes).
    pub fn convert(&self, r: &[u8], out: &mut [u8]) {
        out.fill(0);
        match self.requantize {
            None => out[..12].copy_from_slice(&r[..12]),
            Some(q) => {
                for (axis, (src_scale, src_offset, dst_scale, dst_offset)) in
                    q.into_iter().enumerate()
                {
                    let value = f64::from(LE::read_i32(&r[4 * axis..])) * src_scale + src_offset;
                    let raw = ((value - dst_offset) / dst_scale).round();
                    LE::write_i32(
                        &mut out[4 * axis..],
                        raw.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32,
                    );
                }
            }
        }
        out[12..14].copy_from_slice(&r[12..14]);
        if self.src.extended() {
            out[14..self.src.gps_time.map_or(22, |g| g + 8)]
                .copy_from_slice(&r[14..self.src.gps_time.map_or(22, |g| g + 8)]);
        } else {
            let (return_number, returns) = self.src.returns(r);
            out[14] = return_number | (returns << 4);
            // synthetic/key-point/withheld move to the class-flags bits; scan direction and edge stay on top.
            out[15] = ((r[15] >> 5) & 0x07) | (r[14] & 0xc0);
            out[16] = r[15] & 0x1f;
            out[17] = r[17];
            // Scan angle rank (whole degrees) becomes the 0.006° steps of LAS 1.4.
            let degrees = f64::from(r[16] as i8);
            LE::write_i16(&mut out[18..], (degrees / 0.006).round() as i16);
            out[20..22].copy_from_slice(&r[18..20]);
            if let Some(at) = self.src.gps_time {
                out[22..30].copy_from_slice(&r[at..at + 8]);
            }
        }
        if let (Some(s), Some(d)) = (self.src.rgb, self.dst.rgb) {
            out[d..d + 6].copy_from_slice(&r[s..s + 6]);
        }
        if let (Some(s), Some(d)) = (self.src.nir, self.dst.nir) {
            out[d..d + 2].copy_from_slice(&r[s..s + 2]);
        }
        let d = self.dst.base_len;
        let s = self.src.base_len;
        out[d..d + self.extra_len].copy_from_slice(&r[s..s + self.extra_len]);
        if let Some(at) = self.src.wave_packet {
            let w = d + self.extra_len;
            out[w..w + WAVE_PACKET_LEN].copy_from_slice(&r[at..at + WAVE_PACKET_LEN]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_maps_to_a_copc_format_that_keeps_colour_and_nir() {
        assert_eq!(copc_format_for(0), 6);
        assert_eq!(copc_format_for(1), 6);
        assert_eq!(copc_format_for(3), 7);
        assert_eq!(copc_format_for(5), 7);
        assert_eq!(copc_format_for(8), 8);
        assert_eq!(copc_format_for(10), 8);
        for f in 0..=10 {
            let l = RecordLayout::of(f).unwrap();
            assert_eq!(l.base_len, usize::from(base_record_len(f).unwrap()));
        }
        assert_eq!(
            wave_packet_dims()
                .iter()
                .map(|d| d.data_type.size() as usize)
                .sum::<usize>(),
            WAVE_PACKET_LEN
        );
    }

    #[test]
    fn legacy_record_fields_land_in_their_las14_places() {
        let src = RecordLayout::of(3).unwrap();
        let dst = RecordLayout::of(7).unwrap();
        let mut r = vec![0u8; 34];
        LE::write_i32(&mut r[0..], 11);
        LE::write_u16(&mut r[12..], 500);
        r[14] = 2 | (3 << 3) | 0x40; // return 2 of 3, scan direction
        r[15] = 6 | 0x20; // building, synthetic
        r[16] = (-12i8) as u8;
        r[17] = 9;
        LE::write_u16(&mut r[18..], 77);
        LE::write_f64(&mut r[20..], 123.5);
        LE::write_u16(&mut r[28..], 1000);
        let c = RecordConverter {
            src,
            src_len: 34,
            dst,
            dst_len: 36,
            extra_len: 0,
            requantize: None,
        };
        let mut out = vec![0u8; 36];
        c.convert(&r, &mut out);
        assert_eq!(dst.returns(&out), (2, 3));
        assert_eq!(dst.classification(&out), 6);
        assert_eq!(out[15], 0x01 | 0x40);
        assert_eq!(LE::read_i16(&out[18..]), -2000);
        assert_eq!(LE::read_u16(&out[20..]), 77);
        assert_eq!(dst.gps_time(&out), Some(123.5));
        assert_eq!(dst.rgb(&out).unwrap()[0], 1000);
        assert_eq!(dst.intensity(&out), 500);
        assert_eq!(LE::read_i32(&out[0..]), 11);
    }
}
