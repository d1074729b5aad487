//! The LAS public header block: read (validated against the file, each step named) and written
//! through one type, so that no writer spells byte offsets of its own.

use super::{EVLR_HEADER_LEN, LasError, VLR_HEADER_LEN, base_record_len, fixed_str, read_str};
use byteorder::{ByteOrder, LittleEndian as LE};

/// Byte offsets of the header's fields (LAS 1.4 R15, table 3).
mod at {
    pub const FILE_SOURCE_ID: usize = 4;
    pub const GLOBAL_ENCODING: usize = 6;
    pub const GUID: usize = 8;
    pub const VERSION: usize = 24;
    pub const SYSTEM_IDENTIFIER: usize = 26;
    pub const GENERATING_SOFTWARE: usize = 58;
    pub const CREATION_DAY: usize = 90;
    pub const CREATION_YEAR: usize = 92;
    pub const HEADER_SIZE: usize = 94;
    pub const OFFSET_TO_POINT_DATA: usize = 96;
    pub const NUMBER_OF_VLRS: usize = 100;
    pub const POINT_FORMAT: usize = 104;
    pub const RECORD_LEN: usize = 105;
    pub const LEGACY_POINT_COUNT: usize = 107;
    pub const LEGACY_BY_RETURN: usize = 111;
    pub const SCALE: usize = 131;
    pub const OFFSET: usize = 155;
    /// Max x, min x, max y, min y, max z, min z.
    pub const BOUNDS: usize = 179;
    pub const START_OF_WAVEFORM: usize = 227;
    pub const START_OF_FIRST_EVLR: usize = 235;
    pub const NUMBER_OF_EVLRS: usize = 243;
    pub const POINT_COUNT: usize = 247;
    pub const BY_RETURN: usize = 255;
}

/// Size of the LAS 1.0–1.2, 1.3 and 1.4 headers.
const HEADER_LEN_1_2: u16 = 227;
const HEADER_LEN_1_3: u16 = 235;
/// What Jumeau writes: the LAS 1.4 header.
pub const HEADER_LEN_1_4: u16 = 375;

/// The public header block, validated against the file size.
#[derive(Debug, Clone, PartialEq)]
pub struct LasHeader {
    pub file_source_id: u16,
    pub global_encoding: u16,
    pub guid: [u8; 16],
    pub version: (u8, u8),
    pub system_identifier: String,
    pub generating_software: String,
    pub creation_day: u16,
    pub creation_year: u16,
    pub header_size: u16,
    pub offset_to_point_data: u32,
    pub number_of_vlrs: u32,
    /// Point format without the LAZ compression bits.
    pub point_format: u8,
    pub compressed: bool,
    pub point_record_len: u16,
    pub point_count: u64,
    pub points_by_return: [u64; 15],
    pub scale: [f64; 3],
    pub offset: [f64; 3],
    pub min: [f64; 3],
    pub max: [f64; 3],
    pub start_of_waveform: u64,
    pub start_of_first_evlr: u64,
    pub number_of_evlrs: u32,
}

/// A field that is wrong, for [`LasError::Field`].
type FieldError = (&'static str, u64, String);

impl LasHeader {
    /// A LAS 1.4 header for a file Jumeau writes: point format `point_format` (6–8) of
    /// `point_record_len` bytes, LAZ-compressed when `compressed`; the rest is zero, to be set.
    pub fn new_1_4(point_format: u8, point_record_len: u16, compressed: bool) -> Self {
        Self {
            file_source_id: 0,
            global_encoding: 0,
            guid: [0; 16],
            version: (1, 4),
            system_identifier: String::new(),
            generating_software: String::new(),
            creation_day: 0,
            creation_year: 0,
            header_size: HEADER_LEN_1_4,
            offset_to_point_data: u32::from(HEADER_LEN_1_4),
            number_of_vlrs: 0,
            point_format,
            compressed,
            point_record_len,
            point_count: 0,
            points_by_return: [0; 15],
            scale: [0.01; 3],
            offset: [0.0; 3],
            min: [0.0; 3],
            max: [0.0; 3],
            start_of_waveform: 0,
            start_of_first_evlr: 0,
            number_of_evlrs: 0,
        }
    }

    /// Bytes of each record beyond the point format's standard fields.
    pub fn extra_bytes_len(&self) -> u16 {
        self.point_record_len
            .saturating_sub(base_record_len(self.point_format).unwrap_or(0))
    }

    /// Parses the fixed header from the first bytes of a file of `file_len` bytes.
    pub fn parse(bytes: &[u8], file_len: u64, source_name: &str) -> Result<Self, LasError> {
        if bytes.len() < 4 || &bytes[..4] != b"LASF" {
            return Err(LasError::NotLas {
                source_name: source_name.to_owned(),
                found: String::from_utf8_lossy(&bytes[..bytes.len().min(4)]).into_owned(),
            });
        }
        let field = |(field, offset, problem): FieldError| LasError::Field {
            source_name: source_name.to_owned(),
            field,
            offset,
            problem,
        };
        check_length(bytes).map_err(field)?;
        let header = read_fields(bytes);
        header.check_values(file_len).map_err(field)?;
        // Which count a lie about the points is blamed on: the 1.4 one when it says otherwise.
        let legacy_count = u64::from(LE::read_u32(&bytes[at::LEGACY_POINT_COUNT..]));
        let count_field = if header.version.1 >= 4 && header.point_count != legacy_count {
            ("number_of_point_records", at::POINT_COUNT)
        } else {
            ("legacy_number_of_point_records", at::LEGACY_POINT_COUNT)
        };
        header.check_layout(file_len, count_field).map_err(field)?;
        Ok(header)
    }

    /// The header's bytes: `header_size` bytes, the fields of its version. Legacy point counts
    /// are written for point formats 0–5 when they fit, zero otherwise (as LAS 1.4 asks).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut h = vec![0u8; usize::from(self.header_size)];
        h[0..4].copy_from_slice(b"LASF");
        LE::write_u16(&mut h[at::FILE_SOURCE_ID..], self.file_source_id);
        LE::write_u16(&mut h[at::GLOBAL_ENCODING..], self.global_encoding);
        h[at::GUID..at::GUID + 16].copy_from_slice(&self.guid);
        h[at::VERSION] = self.version.0;
        h[at::VERSION + 1] = self.version.1;
        h[at::SYSTEM_IDENTIFIER..at::SYSTEM_IDENTIFIER + 32]
            .copy_from_slice(&fixed_str::<32>(&self.system_identifier));
        h[at::GENERATING_SOFTWARE..at::GENERATING_SOFTWARE + 32]
            .copy_from_slice(&fixed_str::<32>(&self.generating_software));
        LE::write_u16(&mut h[at::CREATION_DAY..], self.creation_day);
        LE::write_u16(&mut h[at::CREATION_YEAR..], self.creation_year);
        LE::write_u16(&mut h[at::HEADER_SIZE..], self.header_size);
        LE::write_u32(
            &mut h[at::OFFSET_TO_POINT_DATA..],
            self.offset_to_point_data,
        );
        LE::write_u32(&mut h[at::NUMBER_OF_VLRS..], self.number_of_vlrs);
        h[at::POINT_FORMAT] = self.point_format | if self.compressed { 0x80 } else { 0 };
        LE::write_u16(&mut h[at::RECORD_LEN..], self.point_record_len);
        let legacy = self.point_format < 6 && self.point_count <= u64::from(u32::MAX);
        if legacy {
            LE::write_u32(&mut h[at::LEGACY_POINT_COUNT..], self.point_count as u32);
            for (i, n) in self.points_by_return.iter().take(5).enumerate() {
                let n = u32::try_from(*n).unwrap_or(0);
                LE::write_u32(&mut h[at::LEGACY_BY_RETURN + 4 * i..], n);
            }
        }
        for a in 0..3 {
            LE::write_f64(&mut h[at::SCALE + 8 * a..], self.scale[a]);
            LE::write_f64(&mut h[at::OFFSET + 8 * a..], self.offset[a]);
            LE::write_f64(&mut h[at::BOUNDS + 16 * a..], self.max[a]);
            LE::write_f64(&mut h[at::BOUNDS + 8 + 16 * a..], self.min[a]);
        }
        if self.version.1 >= 3 && h.len() >= usize::from(HEADER_LEN_1_3) {
            LE::write_u64(&mut h[at::START_OF_WAVEFORM..], self.start_of_waveform);
        }
        if self.version.1 >= 4 && h.len() >= usize::from(HEADER_LEN_1_4) {
            LE::write_u64(&mut h[at::START_OF_FIRST_EVLR..], self.start_of_first_evlr);
            LE::write_u32(&mut h[at::NUMBER_OF_EVLRS..], self.number_of_evlrs);
            LE::write_u64(&mut h[at::POINT_COUNT..], self.point_count);
            for (i, n) in self.points_by_return.iter().enumerate() {
                LE::write_u64(&mut h[at::BY_RETURN + 8 * i..], *n);
            }
        }
        h
    }

    /// The header size, point data offset, point format, scales and offsets make sense.
    fn check_values(&self, file_len: u64) -> Result<(), FieldError> {
        let (header_size, minor) = (self.header_size, self.version.1);
        let min_header = min_header_len(minor);
        if header_size < min_header {
            return Err((
                "header_size",
                at::HEADER_SIZE as u64,
                format!(
                    "{header_size} is smaller than the {min_header} bytes of a LAS 1.{minor} header"
                ),
            ));
        }
        let data_start = self.offset_to_point_data;
        if data_start < u32::from(header_size) || u64::from(data_start) > file_len {
            return Err((
                "offset_to_point_data",
                at::OFFSET_TO_POINT_DATA as u64,
                format!(
                    "{data_start} is outside the file (header ends at {header_size}, file has {file_len} bytes)"
                ),
            ));
        }
        let point_format = self.point_format;
        let Some(base_len) = base_record_len(point_format) else {
            return Err((
                "point_data_format",
                at::POINT_FORMAT as u64,
                format!("unknown point format {point_format}"),
            ));
        };
        let record_len = self.point_record_len;
        if record_len < base_len {
            return Err((
                "point_data_record_length",
                at::RECORD_LEN as u64,
                format!(
                    "{record_len} bytes is shorter than the {base_len} bytes of point format {point_format}"
                ),
            ));
        }
        for (axis, s) in self.scale.iter().enumerate() {
            if !s.is_finite() || *s == 0.0 {
                return Err((
                    "scale_factor",
                    (at::SCALE + 8 * axis) as u64,
                    format!("{s} is not a usable scale"),
                ));
            }
        }
        for (axis, o) in self.offset.iter().enumerate() {
            if !o.is_finite() {
                return Err((
                    "offset",
                    (at::OFFSET + 8 * axis) as u64,
                    format!("{o} is not finite"),
                ));
            }
        }
        Ok(())
    }

    /// Point data, VLRs, EVLRs and (uncompressed) points fit in a file of `file_len` bytes.
    fn check_layout(
        &self,
        file_len: u64,
        (count_field, count_at): (&'static str, usize),
    ) -> Result<(), FieldError> {
        let (header_size, data_start) = (self.header_size, self.offset_to_point_data);
        // VLRs must fit between the header and the point data.
        let vlr_space = u64::from(data_start) - u64::from(header_size);
        if u64::from(self.number_of_vlrs) * VLR_HEADER_LEN > vlr_space {
            return Err((
                "number_of_vlrs",
                at::NUMBER_OF_VLRS as u64,
                format!(
                    "{} VLRs cannot fit in the {vlr_space} bytes before the point data",
                    self.number_of_vlrs
                ),
            ));
        }
        if self.number_of_evlrs > 0 {
            let evlr_start = self.start_of_first_evlr;
            if evlr_start < u64::from(data_start)
                || evlr_start > file_len
                || u64::from(self.number_of_evlrs) * EVLR_HEADER_LEN > file_len - evlr_start
            {
                return Err((
                    "start_of_first_evlr",
                    at::START_OF_FIRST_EVLR as u64,
                    format!(
                        "{} EVLRs at offset {evlr_start} do not fit in a file of {file_len} bytes",
                        self.number_of_evlrs
                    ),
                ));
            }
        }
        // Uncompressed point data must really be there.
        if !self.compressed {
            let record_len = self.point_record_len;
            let room =
                (self.point_data_end(file_len) - u64::from(data_start)) / u64::from(record_len);
            if self.point_count > room {
                return Err((
                    count_field,
                    count_at as u64,
                    format!(
                        "header claims {} points of {record_len} bytes, but the file has room for only {room}",
                        self.point_count
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Where the point data ends: the first EVLR (or waveform data) after it, else the file end.
    pub fn point_data_end(&self, file_len: u64) -> u64 {
        let start = u64::from(self.offset_to_point_data);
        let mut end = file_len;
        for candidate in [self.start_of_first_evlr, self.start_of_waveform] {
            if candidate >= start
                && candidate < end
                && (self.number_of_evlrs > 0 || candidate == self.start_of_waveform)
            {
                end = candidate;
            }
        }
        end
    }
}

/// The LAS 1.`minor` header's size.
fn min_header_len(minor: u8) -> u16 {
    match minor {
        0..=2 => HEADER_LEN_1_2,
        3 => HEADER_LEN_1_3,
        _ => HEADER_LEN_1_4,
    }
}

/// The file holds its version's whole header.
fn check_length(bytes: &[u8]) -> Result<(), FieldError> {
    let truncated = |needed: String| ("header", 0, needed);
    if bytes.len() < usize::from(HEADER_LEN_1_2) {
        return Err(truncated(format!(
            "file is truncated: {} bytes, a LAS header needs at least {HEADER_LEN_1_2}",
            bytes.len()
        )));
    }
    let (major, minor) = (bytes[at::VERSION], bytes[at::VERSION + 1]);
    if major != 1 || minor > 4 {
        return Err((
            "version",
            at::VERSION as u64,
            format!("unsupported LAS version {major}.{minor}"),
        ));
    }
    let needed = min_header_len(minor);
    let header_size = LE::read_u16(&bytes[at::HEADER_SIZE..]);
    if header_size >= needed && bytes.len() < usize::from(needed) {
        return Err(truncated(format!(
            "file is truncated: {} bytes, the LAS 1.{minor} header needs {needed}",
            bytes.len()
        )));
    }
    Ok(())
}

/// The fields as the file has them (1.3 and 1.4 fields where its version has them).
fn read_fields(bytes: &[u8]) -> LasHeader {
    let version = (bytes[at::VERSION], bytes[at::VERSION + 1]);
    let read3 = |at: usize| std::array::from_fn(|a| LE::read_f64(&bytes[at + 8 * a..]));
    let bound =
        |min: usize| std::array::from_fn(|a| LE::read_f64(&bytes[at::BOUNDS + min + 16 * a..]));
    let format_byte = bytes[at::POINT_FORMAT];
    let mut header = LasHeader {
        file_source_id: LE::read_u16(&bytes[at::FILE_SOURCE_ID..]),
        global_encoding: LE::read_u16(&bytes[at::GLOBAL_ENCODING..]),
        guid: bytes[at::GUID..at::GUID + 16]
            .try_into()
            .unwrap_or_default(),
        version,
        system_identifier: read_str(&bytes[at::SYSTEM_IDENTIFIER..at::SYSTEM_IDENTIFIER + 32]),
        generating_software: read_str(
            &bytes[at::GENERATING_SOFTWARE..at::GENERATING_SOFTWARE + 32],
        ),
        creation_day: LE::read_u16(&bytes[at::CREATION_DAY..]),
        creation_year: LE::read_u16(&bytes[at::CREATION_YEAR..]),
        header_size: LE::read_u16(&bytes[at::HEADER_SIZE..]),
        offset_to_point_data: LE::read_u32(&bytes[at::OFFSET_TO_POINT_DATA..]),
        number_of_vlrs: LE::read_u32(&bytes[at::NUMBER_OF_VLRS..]),
        point_format: format_byte & 0x3f,
        compressed: format_byte & 0x80 != 0,
        point_record_len: LE::read_u16(&bytes[at::RECORD_LEN..]),
        point_count: u64::from(LE::read_u32(&bytes[at::LEGACY_POINT_COUNT..])),
        points_by_return: std::array::from_fn(|i| {
            if i < 5 {
                u64::from(LE::read_u32(&bytes[at::LEGACY_BY_RETURN + 4 * i..]))
            } else {
                0
            }
        }),
        scale: read3(at::SCALE),
        offset: read3(at::OFFSET),
        min: bound(8),
        max: bound(0),
        start_of_waveform: 0,
        start_of_first_evlr: 0,
        number_of_evlrs: 0,
    };
    let room = bytes.len();
    if version.1 >= 3 && room >= usize::from(HEADER_LEN_1_3) {
        header.start_of_waveform = LE::read_u64(&bytes[at::START_OF_WAVEFORM..]);
    }
    if version.1 >= 4 && room >= usize::from(HEADER_LEN_1_4) {
        header.start_of_first_evlr = LE::read_u64(&bytes[at::START_OF_FIRST_EVLR..]);
        header.number_of_evlrs = LE::read_u32(&bytes[at::NUMBER_OF_EVLRS..]);
        let count = LE::read_u64(&bytes[at::POINT_COUNT..]);
        if count != 0 || header.point_format >= 6 {
            header.point_count = count;
            header.points_by_return =
                std::array::from_fn(|i| LE::read_u64(&bytes[at::BY_RETURN + 8 * i..]));
        }
    }
    header
}
