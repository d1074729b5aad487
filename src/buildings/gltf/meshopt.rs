//! The `EXT_meshopt_compression` codecs (meshoptimizer vertex codec v0, index codecs v0/v1 and
//! the four filters), in safe Rust so that they also build for `wasm32-unknown-unknown`.
//!
//! Mirrors meshoptimizer's `vertexcodec.cpp` / `indexcodec.cpp` / `vertexfilter.cpp` as specified
//! in the extension's README; every read is bounds-checked and a bad stream is an `Err`.

pub(super) enum Mode {
    Attributes,
    Triangles,
    Indices,
}

pub(super) enum Filter {
    None,
    Octahedral,
    Quaternion,
    Exponential,
}

const VERTEX_HEADER: u8 = 0xa0;
const INDEX_HEADER: u8 = 0xe0;
const SEQUENCE_HEADER: u8 = 0xd0;
const BYTE_GROUP_SIZE: usize = 16;
const BYTE_GROUP_DECODE_LIMIT: usize = 24;
const TAIL_MAX_SIZE: usize = 32;

/// Decodes `count` elements of `stride` bytes; the output is `count * stride` bytes.
pub(super) fn decode(
    data: &[u8],
    count: usize,
    stride: usize,
    mode: Mode,
    filter: Filter,
) -> Result<Vec<u8>, String> {
    match mode {
        Mode::Attributes => {
            if stride == 0 || stride > 256 || !stride.is_multiple_of(4) {
                return Err(format!(
                    "ATTRIBUTES byteStride {stride} is not a multiple of 4 in 4..=256"
                ));
            }
            // Each block of up to 256 vertices costs at least one header byte per vertex
            // byte, so a short stream cannot claim a huge count.
            let blocks = count.div_ceil(vertex_block_size(stride));
            let minimum = blocks
                .checked_mul(stride)
                .and_then(|n| n.checked_add(1 + stride.max(TAIL_MAX_SIZE)));
            if minimum.is_none_or(|n| n > data.len()) {
                return Err(format!(
                    "{} bytes are too few for {count} vertices of {stride} bytes",
                    data.len()
                ));
            }
            let size = count
                .checked_mul(stride)
                .ok_or_else(|| format!("{count} vertices of {stride} bytes overflow"))?;
            let mut out = vec![0u8; size];
            decode_vertex_buffer(&mut out, count, stride, data)?;
            apply_filter(&mut out, stride, filter)?;
            Ok(out)
        }
        Mode::Triangles | Mode::Indices => {
            if !matches!(filter, Filter::None) {
                return Err("filters apply only to ATTRIBUTES".into());
            }
            if stride != 2 && stride != 4 {
                return Err(format!("index byteStride {stride} is not 2 or 4"));
            }
            let indices = if matches!(mode, Mode::Triangles) {
                decode_index_buffer(count, data)?
            } else {
                decode_index_sequence(count, data)?
            };
            let mut out = Vec::with_capacity(count * stride);
            for i in indices {
                if stride == 2 {
                    out.extend_from_slice(&(i as u16).to_le_bytes());
                } else {
                    out.extend_from_slice(&i.to_le_bytes());
                }
            }
            Ok(out)
        }
    }
}

fn vertex_block_size(stride: usize) -> usize {
    ((8192 / stride) & !(BYTE_GROUP_SIZE - 1)).min(256)
}

fn unzigzag8(v: u8) -> u8 {
    (0u8.wrapping_sub(v & 1)) ^ (v >> 1)
}

fn decode_vertex_buffer(
    out: &mut [u8],
    count: usize,
    stride: usize,
    data: &[u8],
) -> Result<(), String> {
    let tail_size = stride.max(TAIL_MAX_SIZE);
    if data.len() < 1 + tail_size {
        return Err(format!(
            "vertex stream of {} bytes is shorter than its tail",
            data.len()
        ));
    }
    if data[0] & 0xf0 != VERTEX_HEADER {
        return Err(format!(
            "header byte 0x{:02x} is not a vertex stream",
            data[0]
        ));
    }
    if data[0] & 0x0f != 0 {
        return Err(format!(
            "vertex codec version {} is not supported",
            data[0] & 0x0f
        ));
    }
    let mut last = [0u8; 256];
    last[..stride].copy_from_slice(&data[data.len() - stride..]);
    let block_size = vertex_block_size(stride);
    let mut buffer = [0u8; 256];
    let mut pos = 1;
    let mut first = 0;
    while first < count {
        let n = block_size.min(count - first);
        let aligned = n.div_ceil(BYTE_GROUP_SIZE) * BYTE_GROUP_SIZE;
        let header_size = (aligned / BYTE_GROUP_SIZE).div_ceil(4);
        for k in 0..stride {
            if data.len() - pos < header_size {
                return Err(format!("vertex block header at byte {pos} is truncated"));
            }
            let header = &data[pos..pos + header_size];
            pos += header_size;
            for group in 0..aligned / BYTE_GROUP_SIZE {
                if data.len() - pos < BYTE_GROUP_DECODE_LIMIT {
                    return Err(format!("vertex byte group at byte {pos} is truncated"));
                }
                let bits = (header[group / 4] >> ((group % 4) * 2)) & 3;
                let dst = &mut buffer[group * BYTE_GROUP_SIZE..(group + 1) * BYTE_GROUP_SIZE];
                pos += decode_byte_group(&data[pos..pos + BYTE_GROUP_DECODE_LIMIT], dst, bits);
            }
            let mut p = last[k];
            for (i, &delta) in buffer[..n].iter().enumerate() {
                p = unzigzag8(delta).wrapping_add(p);
                out[(first + i) * stride + k] = p;
            }
            last[k] = p;
        }
        first += n;
    }
    if data.len() - pos != tail_size {
        return Err(format!(
            "vertex stream ends at byte {pos}, {} bytes before the end instead of {tail_size}",
            data.len() - pos
        ));
    }
    Ok(())
}

/// Decodes one group of 16 bytes from `src` (at least 24 bytes); returns the bytes consumed.
fn decode_byte_group(src: &[u8], dst: &mut [u8], bits: u8) -> usize {
    match bits {
        0 => {
            dst.fill(0);
            0
        }
        1 | 2 => {
            let width = if bits == 1 { 2 } else { 4 };
            let per_byte = 8 / width;
            let escape = (1u8 << width) - 1;
            let mut extra = BYTE_GROUP_SIZE / per_byte;
            for (j, out) in dst.iter_mut().enumerate() {
                let shift = 8 - width * (j % per_byte + 1);
                let enc = (src[j / per_byte] >> shift) & escape;
                *out = if enc == escape {
                    extra += 1;
                    src[extra - 1]
                } else {
                    enc
                };
            }
            extra
        }
        _ => {
            dst.copy_from_slice(&src[..BYTE_GROUP_SIZE]);
            BYTE_GROUP_SIZE
        }
    }
}

struct Reader<'d> {
    data: &'d [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| format!("index stream ends early at byte {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn vbyte(&mut self) -> Result<u32, String> {
        let lead = self.byte()?;
        if lead < 128 {
            return Ok(u32::from(lead));
        }
        let mut result = u32::from(lead & 127);
        let mut shift = 7;
        for _ in 0..4 {
            let group = self.byte()?;
            result |= u32::from(group & 127) << shift;
            shift += 7;
            if group < 128 {
                break;
            }
        }
        Ok(result)
    }

    fn index(&mut self, last: u32) -> Result<u32, String> {
        let v = self.vbyte()?;
        let d = (v >> 1) ^ 0u32.wrapping_sub(v & 1);
        Ok(last.wrapping_add(d))
    }
}

fn decode_index_buffer(count: usize, data: &[u8]) -> Result<Vec<u32>, String> {
    if !count.is_multiple_of(3) {
        return Err(format!("TRIANGLES count {count} is not a multiple of 3"));
    }
    let triangles = count / 3;
    if data.len() < 1 + triangles + 16 {
        return Err(format!(
            "{} bytes are too few for {triangles} triangles",
            data.len()
        ));
    }
    if data[0] & 0xf0 != INDEX_HEADER {
        return Err(format!(
            "header byte 0x{:02x} is not an index stream",
            data[0]
        ));
    }
    let version = data[0] & 0x0f;
    if version > 1 {
        return Err(format!("index codec version {version} is not supported"));
    }
    let codes = &data[1..1 + triangles];
    let safe_end = data.len() - 16;
    let codeaux_table = &data[safe_end..];
    let mut reader = Reader {
        data: &data[..safe_end],
        pos: 1 + triangles,
    };

    let mut edges = [[u32::MAX; 2]; 16];
    let mut vertices = [u32::MAX; 16];
    let mut edge_offset = 0usize;
    let mut vertex_offset = 0usize;
    let mut next = 0u32;
    let mut last = 0u32;
    let fecmax = if version >= 1 { 13 } else { 15 };
    let mut out = Vec::with_capacity(count);

    let push_vertex = |fifo: &mut [u32; 16], offset: &mut usize, v: u32, cond: bool| {
        fifo[*offset] = v;
        *offset = (*offset + usize::from(cond)) & 15;
    };
    let push_edge = |fifo: &mut [[u32; 2]; 16], offset: &mut usize, a: u32, b: u32| {
        fifo[*offset] = [a, b];
        *offset = (*offset + 1) & 15;
    };

    for &codetri in codes {
        if codetri < 0xf0 {
            let fe = usize::from(codetri >> 4);
            let [a, b] = edges[edge_offset.wrapping_sub(1 + fe) & 15];
            let fec = usize::from(codetri & 15);
            let c;
            if fec < fecmax {
                let fec0 = fec == 0;
                c = if fec0 {
                    next
                } else {
                    vertices[vertex_offset.wrapping_sub(1 + fec) & 15]
                };
                next = next.wrapping_add(u32::from(fec0));
                push_vertex(&mut vertices, &mut vertex_offset, c, fec0);
            } else {
                // fec - (fec ^ 3) decodes 13, 14 into -1, 1.
                c = if fec != 15 {
                    last.wrapping_add((fec as u32).wrapping_sub(fec as u32 ^ 3))
                } else {
                    reader.index(last)?
                };
                last = c;
                push_vertex(&mut vertices, &mut vertex_offset, c, true);
            }
            out.extend_from_slice(&[a, b, c]);
            push_edge(&mut edges, &mut edge_offset, c, b);
            push_edge(&mut edges, &mut edge_offset, a, c);
        } else {
            let (a, b, c, feb, fec);
            if codetri < 0xfe {
                let codeaux = codeaux_table[usize::from(codetri & 15)];
                feb = usize::from(codeaux >> 4);
                fec = usize::from(codeaux & 15);
                a = next;
                next = next.wrapping_add(1);
                b = if feb == 0 {
                    next
                } else {
                    vertices[vertex_offset.wrapping_sub(feb) & 15]
                };
                next = next.wrapping_add(u32::from(feb == 0));
                c = if fec == 0 {
                    next
                } else {
                    vertices[vertex_offset.wrapping_sub(fec) & 15]
                };
                next = next.wrapping_add(u32::from(fec == 0));
            } else {
                let codeaux = reader.byte()?;
                let fea = if codetri == 0xfe { 0 } else { 15 };
                feb = usize::from(codeaux >> 4);
                fec = usize::from(codeaux & 15);
                if codeaux == 0 {
                    next = 0;
                }
                let mut take_next = || {
                    let v = next;
                    next = next.wrapping_add(1);
                    v
                };
                let mut a0 = if fea == 0 { take_next() } else { 0 };
                let mut b0 = if feb == 0 {
                    take_next()
                } else {
                    vertices[vertex_offset.wrapping_sub(feb) & 15]
                };
                let mut c0 = if fec == 0 {
                    take_next()
                } else {
                    vertices[vertex_offset.wrapping_sub(fec) & 15]
                };
                if fea == 15 {
                    a0 = reader.index(last)?;
                    last = a0;
                }
                if feb == 15 {
                    b0 = reader.index(last)?;
                    last = b0;
                }
                if fec == 15 {
                    c0 = reader.index(last)?;
                    last = c0;
                }
                (a, b, c) = (a0, b0, c0);
            }
            out.extend_from_slice(&[a, b, c]);
            push_vertex(&mut vertices, &mut vertex_offset, a, true);
            push_vertex(&mut vertices, &mut vertex_offset, b, feb == 0 || feb == 15);
            push_vertex(&mut vertices, &mut vertex_offset, c, fec == 0 || fec == 15);
            push_edge(&mut edges, &mut edge_offset, b, a);
            push_edge(&mut edges, &mut edge_offset, c, b);
            push_edge(&mut edges, &mut edge_offset, a, c);
        }
    }
    if reader.pos != safe_end {
        return Err(format!(
            "index stream data ends at byte {}, expected {safe_end}",
            reader.pos
        ));
    }
    Ok(out)
}

fn decode_index_sequence(count: usize, data: &[u8]) -> Result<Vec<u32>, String> {
    if data.len() < 1 + count + 4 {
        return Err(format!(
            "{} bytes are too few for {count} indices",
            data.len()
        ));
    }
    if data[0] & 0xf0 != SEQUENCE_HEADER {
        return Err(format!(
            "header byte 0x{:02x} is not an index sequence",
            data[0]
        ));
    }
    let version = data[0] & 0x0f;
    if version > 1 {
        return Err(format!("index sequence version {version} is not supported"));
    }
    let safe_end = data.len() - 4;
    let mut reader = Reader {
        data: &data[..safe_end],
        pos: 1,
    };
    let mut last = [0u32; 2];
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let v = reader.vbyte()?;
        let current = (v & 1) as usize;
        let v = v >> 1;
        let d = (v >> 1) ^ 0u32.wrapping_sub(v & 1);
        let index = last[current].wrapping_add(d);
        last[current] = index;
        out.push(index);
    }
    if reader.pos != safe_end {
        return Err(format!(
            "index sequence ends at byte {}, expected {safe_end}",
            reader.pos
        ));
    }
    Ok(out)
}

fn round_to_int(v: f32) -> i32 {
    (v + if v >= 0.0 { 0.5 } else { -0.5 }) as i32
}

fn apply_filter(data: &mut [u8], stride: usize, filter: Filter) -> Result<(), String> {
    match filter {
        Filter::None => {}
        Filter::Octahedral if stride == 4 => {
            for e in data.chunks_exact_mut(4) {
                let [x, y, z] = octahedral(
                    f32::from(e[0] as i8),
                    f32::from(e[1] as i8),
                    f32::from(e[2] as i8),
                    127.0,
                );
                e[0] = x as i8 as u8;
                e[1] = y as i8 as u8;
                e[2] = z as i8 as u8;
            }
        }
        Filter::Octahedral if stride == 8 => {
            for e in data.chunks_exact_mut(8) {
                let c = |i: usize| f32::from(i16::from_le_bytes([e[2 * i], e[2 * i + 1]]));
                let xyz = octahedral(c(0), c(1), c(2), 32767.0);
                for (i, v) in xyz.into_iter().enumerate() {
                    e[2 * i..2 * i + 2].copy_from_slice(&(v as i16).to_le_bytes());
                }
            }
        }
        Filter::Octahedral => {
            return Err(format!(
                "OCTAHEDRAL filter needs byteStride 4 or 8, not {stride}"
            ));
        }
        Filter::Quaternion if stride == 8 => {
            let scale = 1.0 / 2f32.sqrt();
            for e in data.chunks_exact_mut(8) {
                let q = [0, 1, 2, 3].map(|i| i16::from_le_bytes([e[2 * i], e[2 * i + 1]]));
                let ss = scale / (i32::from(q[3]) | 3) as f32;
                let x = f32::from(q[0]) * ss;
                let y = f32::from(q[1]) * ss;
                let z = f32::from(q[2]) * ss;
                let w = (1.0 - x * x - y * y - z * z).max(0.0).sqrt();
                let qc = (q[3] & 3) as usize;
                for (slot, v) in [(qc + 1, x), (qc + 2, y), (qc + 3, z), (qc, w)] {
                    let i = slot & 3;
                    e[2 * i..2 * i + 2]
                        .copy_from_slice(&(round_to_int(v * 32767.0) as i16).to_le_bytes());
                }
            }
        }
        Filter::Quaternion => {
            return Err(format!(
                "QUATERNION filter needs byteStride 8, not {stride}"
            ));
        }
        Filter::Exponential => {
            if !stride.is_multiple_of(4) {
                return Err(format!(
                    "EXPONENTIAL filter needs a byteStride multiple of 4, not {stride}"
                ));
            }
            for e in data.chunks_exact_mut(4) {
                let v = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                let m = ((v << 8) as i32) >> 8;
                let exp = (v as i32) >> 24;
                let f = f32::from_bits(((exp + 127) as u32) << 23) * m as f32;
                e.copy_from_slice(&f.to_bits().to_le_bytes());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) fn decode_filter_for_test(data: &mut [u8], stride: usize, name: &str) {
    let filter = match name {
        "OCTAHEDRAL" => Filter::Octahedral,
        "QUATERNION" => Filter::Quaternion,
        "EXPONENTIAL" => Filter::Exponential,
        _ => Filter::None,
    };
    apply_filter(data, stride, filter).unwrap();
}

/// Reconstructs a unit vector from octahedral x/y (z holds 1.0 at the same scale `max`).
fn octahedral(mut x: f32, mut y: f32, z_one: f32, max: f32) -> [i32; 3] {
    let z = z_one - x.abs() - y.abs();
    let t = z.min(0.0);
    x += if x >= 0.0 { t } else { -t };
    y += if y >= 0.0 { t } else { -t };
    let s = max / (x * x + y * y + z * z).sqrt();
    [
        round_to_int(x * s),
        round_to_int(y * s),
        round_to_int(z * s),
    ]
}
