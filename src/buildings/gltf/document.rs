//! The document: buffers resolved (GLB BIN chunk, data: URIs, the caller's resolver),
//! meshopt-compressed views decompressed once, then the default scene walked into primitives,
//! materials, textures and feature IDs.

use super::*;

pub(super) enum BufferData<'a> {
    Bytes(Cow<'a, [u8]>),
    Unavailable(String),
}

pub(super) struct Document<'a> {
    pub(super) root: Root,
    pub(super) buffers: Vec<BufferData<'a>>,
    /// `EXT_meshopt_compression` views, decompressed (`None` for plain views).
    pub(super) decoded_views: Vec<Option<Vec<u8>>>,
}

pub(super) struct ViewData<'d> {
    pub(super) bytes: &'d [u8],
    pub(super) stride: Option<usize>,
}

pub(super) fn decode_parts(
    json: &[u8],
    bin: Option<&[u8]>,
    mut resolve: Resolver,
) -> Result<Model, GltfError> {
    // JSON chunks are padded with spaces, but some writers pad with NULs.
    let end = json
        .iter()
        .rposition(|&b| b != 0 && !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let root: Root = serde_json::from_slice(&json[..end])?;

    let version = root
        .asset
        .as_ref()
        .map(|a| a.version.as_str())
        .unwrap_or("");
    if version.split('.').next() != Some("2") {
        return Err(GltfError::AssetVersion(version.to_string()));
    }
    let unsupported: Vec<&str> = root
        .extensions_required
        .iter()
        .map(String::as_str)
        .filter(|name| !SUPPORTED_EXTENSIONS.contains(name))
        .collect();
    if !unsupported.is_empty() {
        return Err(GltfError::UnsupportedExtensions {
            names: unsupported.join(", "),
        });
    }

    let buffers = resolve_buffers(&root, bin, &mut resolve)?;
    let mut doc = Document {
        root,
        buffers,
        decoded_views: Vec::new(),
    };
    doc.decoded_views = doc.decompress_views()?;
    doc.model(&mut resolve)
}

pub(super) fn resolve_buffers<'a>(
    root: &Root,
    bin: Option<&'a [u8]>,
    resolve: &mut Resolver,
) -> Result<Vec<BufferData<'a>>, GltfError> {
    let mut out = Vec::with_capacity(root.buffers.len());
    for (i, buffer) in root.buffers.iter().enumerate() {
        let fallback = buffer
            .extensions
            .meshopt
            .as_ref()
            .is_some_and(|m| m.fallback);
        let data = match (&buffer.uri, bin) {
            (None, Some(bin)) if i == 0 => match bin.get(..buffer.byte_length) {
                Some(bytes) => BufferData::Bytes(Cow::Borrowed(bytes)),
                None => {
                    return Err(GltfError::BufferUnavailable {
                        buffer: i,
                        reason: format!(
                            "its byteLength {} exceeds the {}-byte GLB BIN chunk",
                            buffer.byte_length,
                            bin.len()
                        ),
                    });
                }
            },
            _ if fallback => BufferData::Unavailable(
                "it is an EXT_meshopt_compression fallback buffer and is never read".into(),
            ),
            (None, _) => {
                BufferData::Unavailable("it has no uri and is not the GLB BIN chunk".into())
            }
            (Some(uri), _) => match load_uri(uri, resolve) {
                Ok(mut bytes) => {
                    if bytes.len() < buffer.byte_length {
                        return Err(GltfError::BufferUnavailable {
                            buffer: i,
                            reason: format!(
                                "its byteLength is {} but {uri_short:?} holds {} bytes",
                                buffer.byte_length,
                                bytes.len(),
                                uri_short = short_uri(uri)
                            ),
                        });
                    }
                    bytes.truncate(buffer.byte_length);
                    BufferData::Bytes(Cow::Owned(bytes))
                }
                // Without a resolver an external buffer is only an error if something reads it.
                Err(GltfError::Uri { reason, .. }) if resolve.is_none() => {
                    BufferData::Unavailable(reason)
                }
                Err(e) => return Err(e),
            },
        };
        out.push(data);
    }
    Ok(out)
}

pub(super) fn short_uri(uri: &str) -> &str {
    if uri.starts_with("data:") {
        uri.split(',').next().unwrap_or("data:")
    } else {
        uri
    }
}

pub(super) fn load_uri(uri: &str, resolve: &mut Resolver) -> Result<Vec<u8>, GltfError> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let (header, payload) = rest.split_once(',').ok_or_else(|| GltfError::Uri {
            uri: short_uri(uri).to_string(),
            reason: "data URI has no ','".into(),
        })?;
        if !header.ends_with(";base64") {
            return Err(GltfError::Uri {
                uri: short_uri(uri).to_string(),
                reason: "only base64 data URIs are supported".into(),
            });
        }
        return decode_base64(payload).map_err(|reason| GltfError::Uri {
            uri: short_uri(uri).to_string(),
            reason,
        });
    }
    match resolve {
        Some(resolve) => resolve(uri).map_err(|source| GltfError::UriLoad {
            uri: uri.to_string(),
            source,
        }),
        None => Err(GltfError::Uri {
            uri: uri.to_string(),
            reason: format!("external file {uri:?} needs decode_gltf with a resolver"),
        }),
    }
}

pub(super) fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    // As browsers and glTF loaders do: whitespace ignored, padding optional, the URL-safe
    // alphabet accepted too.
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let alphabet = if compact.contains(['-', '_']) {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config)
        .decode(compact.trim_end_matches('='))
        .map_err(|error| match error {
            base64::DecodeError::InvalidByte(i, c) => {
                format!("invalid base64 character {:?} at {i}", c as char)
            }
            other => format!("invalid base64: {other}"),
        })
}

/// A glTF accessor component type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ComponentType {
    I8,
    U8,
    I16,
    U16,
    U32,
    F32,
}

impl ComponentType {
    pub(super) fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            5120 => Self::I8,
            5121 => Self::U8,
            5122 => Self::I16,
            5123 => Self::U16,
            5125 => Self::U32,
            5126 => Self::F32,
            _ => return None,
        })
    }

    pub(super) fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::U32 | Self::F32 => 4,
        }
    }

    /// `b` holds exactly `self.size()` bytes.
    pub(super) fn read_f32(self, b: &[u8], normalized: bool) -> f32 {
        let raw = |max: f32, v: f32| if normalized { (v / max).max(-1.0) } else { v };
        match *b {
            [x] if self == Self::I8 => raw(127.0, f32::from(x as i8)),
            [x] => raw(255.0, f32::from(x)),
            [x, y] if self == Self::I16 => raw(32767.0, f32::from(i16::from_le_bytes([x, y]))),
            [x, y] => raw(65535.0, f32::from(u16::from_le_bytes([x, y]))),
            [x, y, z, w] if self == Self::F32 => f32::from_le_bytes([x, y, z, w]),
            [x, y, z, w] => {
                let v = u32::from_le_bytes([x, y, z, w]);
                if normalized {
                    (f64::from(v) / f64::from(u32::MAX)) as f32
                } else {
                    v as f32
                }
            }
            _ => 0.0,
        }
    }

    /// Reads an unsigned integer (index or feature ID); `None` if negative, fractional or huge.
    pub(super) fn read_u32(self, b: &[u8]) -> Option<u32> {
        match *b {
            [x] if self == Self::I8 => u32::try_from(x as i8).ok(),
            [x] => Some(u32::from(x)),
            [x, y] if self == Self::I16 => u32::try_from(i16::from_le_bytes([x, y])).ok(),
            [x, y] => Some(u32::from(u16::from_le_bytes([x, y]))),
            [x, y, z, w] if self == Self::F32 => {
                let f = f32::from_le_bytes([x, y, z, w]);
                let r = f.round();
                ((r - f).abs() < 1e-3 && (0.0..4_294_967_296.0).contains(&r)).then_some(r as u32)
            }
            [x, y, z, w] => Some(u32::from_le_bytes([x, y, z, w])),
            _ => None,
        }
    }
}

pub(super) fn component_count(kind: &str) -> Option<usize> {
    Some(match kind {
        "SCALAR" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" | "MAT2" => 4,
        "MAT3" => 9,
        "MAT4" => 16,
        _ => return None,
    })
}

/// Where one element of an accessor starts, for plain and sparse reads alike.
pub(super) struct Layout<'d> {
    pub(super) ctype: ComponentType,
    pub(super) comps: usize,
    pub(super) count: usize,
    /// `(bytes, first element offset, stride)`; `None` = zeros.
    pub(super) dense: Option<(&'d [u8], usize, usize)>,
}

impl<'a> Document<'a> {
    pub(super) fn decompress_views(&self) -> Result<Vec<Option<Vec<u8>>>, GltfError> {
        let mut out = Vec::with_capacity(self.root.buffer_views.len());
        for (i, view) in self.root.buffer_views.iter().enumerate() {
            let Some(m) = &view.extensions.meshopt else {
                out.push(None);
                continue;
            };
            let err = |reason: String| GltfError::Meshopt { view: i, reason };
            let source = self.buffer(m.buffer, &format!("bufferView {i}"))?;
            let compressed = m
                .byte_offset
                .checked_add(m.byte_length)
                .and_then(|end| source.get(m.byte_offset..end))
                .ok_or_else(|| {
                    err(format!(
                        "compressed bytes {}..+{} lie outside buffer {} of {} bytes",
                        m.byte_offset,
                        m.byte_length,
                        m.buffer,
                        source.len()
                    ))
                })?;
            let mode = match m.mode.as_str() {
                "ATTRIBUTES" => meshopt::Mode::Attributes,
                "TRIANGLES" => meshopt::Mode::Triangles,
                "INDICES" => meshopt::Mode::Indices,
                other => return Err(err(format!("unknown mode {other:?}"))),
            };
            let filter = match m.filter.as_deref().unwrap_or("NONE") {
                "NONE" => meshopt::Filter::None,
                "OCTAHEDRAL" => meshopt::Filter::Octahedral,
                "QUATERNION" => meshopt::Filter::Quaternion,
                "EXPONENTIAL" => meshopt::Filter::Exponential,
                other => return Err(err(format!("unknown filter {other:?}"))),
            };
            let mut decoded =
                meshopt::decode(compressed, m.count, m.byte_stride, mode, filter).map_err(err)?;
            if decoded.len() < view.byte_length {
                return Err(err(format!(
                    "{} elements of {} bytes decode to {} bytes, less than the bufferView's byteLength {}",
                    m.count,
                    m.byte_stride,
                    decoded.len(),
                    view.byte_length
                )));
            }
            decoded.truncate(view.byte_length);
            out.push(Some(decoded));
        }
        Ok(out)
    }

    pub(super) fn buffer(&self, index: usize, referrer: &str) -> Result<&[u8], GltfError> {
        match self.buffers.get(index) {
            Some(BufferData::Bytes(bytes)) => Ok(bytes),
            Some(BufferData::Unavailable(reason)) => Err(GltfError::BufferUnavailable {
                buffer: index,
                reason: format!("{reason} (read by {referrer})"),
            }),
            None => Err(missing(referrer, "buffer", index, self.buffers.len())),
        }
    }

    pub(super) fn view(&self, index: usize, referrer: &str) -> Result<ViewData<'_>, GltfError> {
        let view =
            self.root.buffer_views.get(index).ok_or_else(|| {
                missing(referrer, "bufferView", index, self.root.buffer_views.len())
            })?;
        let stride = view.byte_stride.filter(|&s| s > 0);
        if let Some(Some(decoded)) = self.decoded_views.get(index) {
            return Ok(ViewData {
                bytes: decoded,
                stride,
            });
        }
        let buffer = self.buffer(view.buffer, &format!("bufferView {index}"))?;
        let bytes = view
            .byte_offset
            .checked_add(view.byte_length)
            .and_then(|end| buffer.get(view.byte_offset..end))
            .ok_or(GltfError::BufferViewOutOfRange {
                view: index,
                buffer: view.buffer,
                offset: view.byte_offset,
                length: view.byte_length,
                buffer_len: buffer.len(),
            })?;
        Ok(ViewData { bytes, stride })
    }

    pub(super) fn accessor(&self, index: usize, referrer: &str) -> Result<&Accessor, GltfError> {
        self.root
            .accessors
            .get(index)
            .ok_or_else(|| missing(referrer, "accessor", index, self.root.accessors.len()))
    }

    /// Validates an accessor and finds its bytes; `kinds` lists the accepted `type`s.
    pub(super) fn layout(
        &self,
        index: usize,
        referrer: &str,
        kinds: &[&str],
    ) -> Result<Layout<'_>, GltfError> {
        let acc = self.accessor(index, referrer)?;
        let err = |reason: String| GltfError::Accessor {
            accessor: index,
            reason,
        };
        if !kinds.contains(&acc.kind.as_str()) {
            return Err(err(format!(
                "type is {}, expected {} (used as {referrer})",
                acc.kind,
                kinds.join(" or ")
            )));
        }
        let comps = component_count(&acc.kind)
            .ok_or_else(|| err(format!("unknown type {:?}", acc.kind)))?;
        let ctype = ComponentType::from_code(acc.component_type)
            .ok_or_else(|| err(format!("unknown componentType {}", acc.component_type)))?;
        let element = comps * ctype.size();
        let dense = match acc.buffer_view {
            Some(v) => {
                let view = self.view(v, &format!("accessor {index}"))?;
                let stride = view.stride.unwrap_or(element);
                if stride < element {
                    return Err(err(format!(
                        "bufferView {v} byteStride {stride} is smaller than one {element}-byte element"
                    )));
                }
                if acc.count > 0 {
                    let needed = (acc.count - 1)
                        .checked_mul(stride)
                        .and_then(|n| n.checked_add(element))
                        .and_then(|n| n.checked_add(acc.byte_offset));
                    if needed.is_none_or(|n| n > view.bytes.len()) {
                        return Err(err(format!(
                            "{} elements of {element} bytes (stride {stride}) from byteOffset {} do not fit in the {} bytes of bufferView {v}",
                            acc.count,
                            acc.byte_offset,
                            view.bytes.len()
                        )));
                    }
                }
                Some((view.bytes, acc.byte_offset, stride))
            }
            None => {
                if acc
                    .count
                    .checked_mul(element)
                    .is_none_or(|n| n > MAX_UNBACKED_ACCESSOR_BYTES)
                {
                    return Err(err(format!(
                        "{} elements without a bufferView exceed the {MAX_UNBACKED_ACCESSOR_BYTES}-byte limit",
                        acc.count
                    )));
                }
                None
            }
        };
        Ok(Layout {
            ctype,
            comps,
            count: acc.count,
            dense,
        })
    }

    /// Reads every component of an accessor (sparse substitution included), flattened.
    pub(super) fn read<T: Copy + Default>(
        &self,
        index: usize,
        referrer: &str,
        kinds: &[&str],
        convert: impl Fn(ComponentType, &[u8]) -> Result<T, String>,
    ) -> Result<(Vec<T>, usize), GltfError> {
        let layout = self.layout(index, referrer, kinds)?;
        let err = |reason: String| GltfError::Accessor {
            accessor: index,
            reason,
        };
        let size = layout.ctype.size();
        let comps = layout.comps;
        let mut out = Vec::with_capacity(layout.count * comps);
        match layout.dense {
            Some((bytes, start, stride)) => {
                for i in 0..layout.count {
                    let base = start + i * stride;
                    for c in 0..comps {
                        let at = base + c * size;
                        out.push(convert(layout.ctype, &bytes[at..at + size]).map_err(&err)?);
                    }
                }
            }
            None => out.resize(layout.count * comps, T::default()),
        }

        if let Some(sparse) = &self.accessor(index, referrer)?.sparse {
            if sparse.count > layout.count {
                return Err(err(format!(
                    "sparse count {} exceeds the accessor count {}",
                    sparse.count, layout.count
                )));
            }
            let itype = ComponentType::from_code(sparse.indices.component_type)
                .filter(|t| {
                    matches!(
                        t,
                        ComponentType::U8 | ComponentType::U16 | ComponentType::U32
                    )
                })
                .ok_or_else(|| {
                    err(format!(
                        "sparse indices componentType {} is not an unsigned integer",
                        sparse.indices.component_type
                    ))
                })?;
            let referrer = format!("accessor {index} (sparse)");
            let indices = self.view(sparse.indices.buffer_view, &referrer)?.bytes;
            let values = self.view(sparse.values.buffer_view, &referrer)?.bytes;
            let element = comps * size;
            let fits = |bytes: &[u8], offset: usize, each: usize| {
                sparse
                    .count
                    .checked_mul(each)
                    .and_then(|n| n.checked_add(offset))
                    .is_some_and(|n| n <= bytes.len())
            };
            if !fits(indices, sparse.indices.byte_offset, itype.size()) {
                return Err(err(format!(
                    "{} sparse indices do not fit in bufferView {}",
                    sparse.count, sparse.indices.buffer_view
                )));
            }
            if !fits(values, sparse.values.byte_offset, element) {
                return Err(err(format!(
                    "{} sparse values do not fit in bufferView {}",
                    sparse.count, sparse.values.buffer_view
                )));
            }
            for k in 0..sparse.count {
                let at = sparse.indices.byte_offset + k * itype.size();
                let target = itype
                    .read_u32(&indices[at..at + itype.size()])
                    .unwrap_or(u32::MAX) as usize;
                if target >= layout.count {
                    return Err(err(format!(
                        "sparse index {target} (entry {k}) is out of range of {} elements",
                        layout.count
                    )));
                }
                for c in 0..comps {
                    let at = sparse.values.byte_offset + k * element + c * size;
                    out[target * comps + c] =
                        convert(layout.ctype, &values[at..at + size]).map_err(&err)?;
                }
            }
        }
        Ok((out, comps))
    }

    pub(super) fn read_floats(
        &self,
        index: usize,
        referrer: &str,
        kinds: &[&str],
        force_normalized: bool,
    ) -> Result<(Vec<f32>, usize), GltfError> {
        let normalized = force_normalized || self.accessor(index, referrer)?.normalized;
        self.read(index, referrer, kinds, |t, b| {
            Ok(t.read_f32(b, normalized && t != ComponentType::F32))
        })
    }

    pub(super) fn read_vec3(
        &self,
        index: usize,
        referrer: &str,
    ) -> Result<Vec<[f32; 3]>, GltfError> {
        let (flat, _) = self.read_floats(index, referrer, &["VEC3"], false)?;
        Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
    }

    pub(super) fn read_uints(&self, index: usize, referrer: &str) -> Result<Vec<u32>, GltfError> {
        let (values, _) = self.read(index, referrer, &["SCALAR"], |t, b| {
            t.read_u32(b).ok_or_else(|| {
                format!(
                    "value {} is not a non-negative integer (used as {referrer})",
                    t.read_f32(b, false)
                )
            })
        })?;
        Ok(values)
    }

    // -----------------------------------------------------------------------------------------
    // Scene walk.

    pub(super) fn model(&self, resolve: &mut Resolver) -> Result<Model, GltfError> {
        let root = &self.root;
        let mut decoded: Vec<(Primitive, Option<usize>)> = Vec::new();
        let mut visited = vec![false; root.nodes.len()];
        let (mut scene_vertices, mut scene_indices) = (0usize, 0usize);
        let mut stack: Vec<(usize, DMat4)> = self
            .scene_roots()?
            .into_iter()
            .rev()
            .map(|n| (n, DMat4::IDENTITY))
            .collect();
        while let Some((node_index, parent)) = stack.pop() {
            let node = root
                .nodes
                .get(node_index)
                .ok_or_else(|| missing("the scene graph", "node", node_index, root.nodes.len()))?;
            if std::mem::replace(&mut visited[node_index], true) {
                return Err(GltfError::Node {
                    node: node_index,
                    reason: "is reached twice: the node hierarchy is not a tree".into(),
                });
            }
            let world = parent * local_matrix(node);
            if let Some(mesh_index) = node.mesh {
                let mesh = root.meshes.get(mesh_index).ok_or_else(|| {
                    missing(
                        &format!("node {node_index}"),
                        "mesh",
                        mesh_index,
                        root.meshes.len(),
                    )
                })?;
                for (p, prim) in mesh.primitives.iter().enumerate() {
                    // Check the budget from the JSON counts before anything is decoded.
                    let count = |a: Option<&usize>| {
                        a.and_then(|&a| self.root.accessors.get(a))
                            .map_or(0, |a| a.count)
                    };
                    let vertices = count(prim.attributes.get("POSITION"));
                    scene_vertices = scene_vertices.saturating_add(vertices);
                    scene_indices = scene_indices.saturating_add(
                        count(prim.indices.as_ref()).max(vertices).saturating_mul(3),
                    );
                    if scene_vertices > MAX_SCENE_VERTICES || scene_indices > 9 * MAX_SCENE_VERTICES
                    {
                        return Err(GltfError::Node {
                            node: node_index,
                            reason: format!(
                                "mesh {mesh_index} takes the scene past {MAX_SCENE_VERTICES} vertices or {} indices",
                                9 * MAX_SCENE_VERTICES
                            ),
                        });
                    }
                    if let Some(out) = self.primitive(mesh_index, p, prim, world)? {
                        decoded.push(out);
                    }
                }
            }
            stack.extend(node.children.iter().rev().map(|&c| (c, world)));
        }

        // One property table per model: the first that a primitive's feature IDs point into.
        let table_index = decoded.iter().find_map(|(_, t)| *t);
        let properties = match table_index {
            Some(t) => self.property_table(t)?,
            None => None,
        };
        let primitives = decoded
            .into_iter()
            .map(|(mut p, t)| {
                // IDs into another table would show the wrong attributes.
                if t.is_some() && t != table_index {
                    p.feature_ids = None;
                }
                p
            })
            .collect();

        let (materials, textures) = self.materials_and_textures(resolve)?;
        Ok(Model {
            primitives,
            materials,
            textures,
            properties,
            rtc_center: root.extensions.rtc.as_ref().map(|r| r.center),
        })
    }

    pub(super) fn scene_roots(&self) -> Result<Vec<usize>, GltfError> {
        let root = &self.root;
        if let Some(s) = root.scene {
            let scene = root
                .scenes
                .get(s)
                .ok_or_else(|| missing("the root 'scene'", "scene", s, root.scenes.len()))?;
            return Ok(scene.nodes.clone());
        }
        if let Some(scene) = root.scenes.first() {
            return Ok(scene.nodes.clone());
        }
        let mut is_child = vec![false; root.nodes.len()];
        for node in &root.nodes {
            for &c in &node.children {
                if let Some(flag) = is_child.get_mut(c) {
                    *flag = true;
                }
            }
        }
        Ok((0..root.nodes.len()).filter(|&n| !is_child[n]).collect())
    }

    /// Decodes one primitive; `None` for points and lines. The second value is the property
    /// table its feature IDs point into.
    pub(super) fn primitive(
        &self,
        mesh: usize,
        index: usize,
        prim: &PrimitiveJson,
        model_from_mesh: DMat4,
    ) -> Result<Option<(Primitive, Option<usize>)>, GltfError> {
        let err = |reason: String| GltfError::Primitive {
            mesh,
            primitive: index,
            reason,
        };
        match prim.mode {
            0..=3 => return Ok(None),
            4..=6 => {}
            m => return Err(err(format!("mode {m} is not a glTF primitive mode"))),
        }
        let referrer = |attr: &str| format!("mesh {mesh} primitive {index} {attr}");
        let position = *prim
            .attributes
            .get("POSITION")
            .ok_or_else(|| err("has no POSITION attribute".into()))?;
        let positions = self.read_vec3(position, &referrer("POSITION"))?;
        let n = positions.len();
        let same_count = |what: &str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(err(format!(
                    "{what} has {len} elements but POSITION has {n}"
                )))
            }
        };

        let normals = match prim.attributes.get("NORMAL") {
            Some(&a) => {
                let v = self.read_vec3(a, &referrer("NORMAL"))?;
                same_count("NORMAL", v.len())?;
                Some(v)
            }
            None => None,
        };
        let uvs = match prim.attributes.get("TEXCOORD_0") {
            Some(&a) => {
                let (flat, _) = self.read_floats(a, &referrer("TEXCOORD_0"), &["VEC2"], false)?;
                let v: Vec<[f32; 2]> = flat.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
                same_count("TEXCOORD_0", v.len())?;
                Some(v)
            }
            None => None,
        };
        let colors = match prim.attributes.get("COLOR_0") {
            Some(&a) => {
                // Integer colours are always normalised (glTF 2.0 §3.7.2.1).
                let (flat, comps) =
                    self.read_floats(a, &referrer("COLOR_0"), &["VEC3", "VEC4"], true)?;
                let v: Vec<[f32; 4]> = flat
                    .chunks_exact(comps)
                    .map(|c| [c[0], c[1], c[2], c.get(3).copied().unwrap_or(1.0)])
                    .collect();
                same_count("COLOR_0", v.len())?;
                Some(v)
            }
            None => None,
        };

        let vertex_count =
            u32::try_from(n).map_err(|_| err(format!("{n} vertices exceed u32 indices")))?;
        let indices = match prim.indices {
            Some(a) => {
                let indices = self.read_uints(a, &referrer("indices"))?;
                if let Some((i, &v)) = indices
                    .iter()
                    .enumerate()
                    .find(|&(_, &v)| v >= vertex_count)
                {
                    return Err(err(format!(
                        "index {i} of accessor {a} is {v}, out of range of {n} vertices"
                    )));
                }
                indices
            }
            None => (0..vertex_count).collect(),
        };
        let indices = triangle_list(prim.mode, indices).map_err(err)?;

        let (feature_ids, table) = self.feature_ids(prim, n, &referrer, &err)?;
        if let Some(ids) = &feature_ids {
            same_count("the feature ID attribute", ids.len())?;
        }
        if let Some(m) = prim.material
            && m >= self.root.materials.len()
        {
            return Err(missing(
                &format!("mesh {mesh} primitive {index}"),
                "material",
                m,
                self.root.materials.len(),
            ));
        }

        Ok(Some((
            Primitive {
                model_from_mesh,
                positions,
                normals,
                uvs,
                colors,
                indices,
                feature_ids,
                material: prim.material,
            },
            table,
        )))
    }

    pub(super) fn feature_ids(
        &self,
        prim: &PrimitiveJson,
        vertex_count: usize,
        referrer: &dyn Fn(&str) -> String,
        err: &dyn Fn(String) -> GltfError,
    ) -> Result<(Option<Vec<u32>>, Option<usize>), GltfError> {
        if let Some(features) = &prim.extensions.mesh_features {
            // Feature ID textures are not decoded; attribute and implicit sets are.
            let mut usable = features.feature_ids.iter().filter(|s| s.texture.is_none());
            let chosen = usable
                .clone()
                .find(|s| s.property_table.is_some())
                .or_else(|| usable.next());
            let Some(set) = chosen else {
                return Ok((None, None));
            };
            let mut ids = match set.attribute {
                Some(k) => {
                    let name = format!("_FEATURE_ID_{k}");
                    let a = *prim.attributes.get(&name).ok_or_else(|| {
                        err(format!(
                            "EXT_mesh_features names {name}, which the primitive lacks"
                        ))
                    })?;
                    self.read_uints(a, &referrer(&name))?
                }
                None if set.offset.is_some() || set.repeat.is_some() => {
                    let offset = set.offset.unwrap_or(0);
                    let repeat = set.repeat.unwrap_or(0);
                    (0..vertex_count as u64)
                        .map(|v| {
                            let id = offset.saturating_add(v.checked_div(repeat).unwrap_or(0));
                            u32::try_from(id).unwrap_or(u32::MAX)
                        })
                        .collect()
                }
                None => (0..vertex_count as u64).map(|v| v as u32).collect(),
            };
            if let Some(null) = set.null_feature_id {
                ids.iter_mut()
                    .filter(|id| u64::from(**id) == null)
                    .for_each(|id| *id = u32::MAX);
            }
            return Ok((Some(ids), set.property_table));
        }
        let batch = prim
            .attributes
            .get("_BATCHID")
            .or_else(|| prim.attributes.get("BATCHID"));
        match batch {
            Some(&a) => Ok((Some(self.read_uints(a, &referrer("_BATCHID"))?), None)),
            None => Ok((None, None)),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Materials and textures.

    pub(super) fn materials_and_textures(
        &self,
        resolve: &mut Resolver,
    ) -> Result<(Vec<Material>, Vec<Texture>), GltfError> {
        let root = &self.root;
        // Only base-colour images are decoded; `Model::textures` holds them in image order.
        let mut image_of_material = Vec::with_capacity(root.materials.len());
        for (i, m) in root.materials.iter().enumerate() {
            let texture = m
                .pbr_metallic_roughness
                .as_ref()
                .and_then(|p| p.base_color_texture.as_ref());
            let image = match texture {
                Some(t) => {
                    let tex = root.textures.get(t.index).ok_or_else(|| {
                        missing(
                            &format!("material {i}"),
                            "texture",
                            t.index,
                            root.textures.len(),
                        )
                    })?;
                    // A texture without `source` uses an extension image (WebP, KTX2): none here.
                    match tex.source {
                        Some(s) if s < root.images.len() => Some(s),
                        Some(s) => {
                            return Err(missing(
                                &format!("texture {}", t.index),
                                "image",
                                s,
                                root.images.len(),
                            ));
                        }
                        None => None,
                    }
                }
                None => None,
            };
            image_of_material.push(image);
        }
        let images: BTreeSet<usize> = image_of_material.iter().flatten().copied().collect();
        let mut textures = Vec::with_capacity(images.len());
        for &image in &images {
            textures.push(self.texture(image, resolve)?);
        }
        let slot = |image: usize| images.iter().position(|&i| i == image);

        let materials = root
            .materials
            .iter()
            .zip(image_of_material)
            .map(|(m, image)| {
                let pbr = m.pbr_metallic_roughness.as_ref();
                Material {
                    base_color: pbr.and_then(|p| p.base_color_factor).unwrap_or([1.0; 4]),
                    base_color_texture: image.and_then(slot),
                    metallic: pbr.and_then(|p| p.metallic_factor).unwrap_or(1.0),
                    roughness: pbr.and_then(|p| p.roughness_factor).unwrap_or(1.0),
                    double_sided: m.double_sided,
                    alpha_mode: match m.alpha_mode.as_deref() {
                        Some("MASK") => AlphaMode::Mask(m.alpha_cutoff.unwrap_or(0.5)),
                        Some("BLEND") => AlphaMode::Blend,
                        _ => AlphaMode::Opaque,
                    },
                    unlit: m.extensions.unlit.is_some(),
                }
            })
            .collect();
        Ok((materials, textures))
    }

    pub(super) fn texture(
        &self,
        index: usize,
        resolve: &mut Resolver,
    ) -> Result<Texture, GltfError> {
        let image = self
            .root
            .images
            .get(index)
            .ok_or_else(|| missing("a material", "image", index, self.root.images.len()))?;
        let bytes: Cow<[u8]> = match (&image.buffer_view, &image.uri) {
            (Some(v), _) => Cow::Borrowed(self.view(*v, &format!("image {index}"))?.bytes),
            (None, Some(uri)) => Cow::Owned(load_uri(uri, resolve)?),
            (None, None) => {
                return Err(GltfError::Image {
                    image: index,
                    reason: "has neither bufferView nor uri".into(),
                });
            }
        };
        let format = image::guess_format(&bytes).map_err(|source| GltfError::ImageDecode {
            image: index,
            source,
        })?;
        if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
            return Err(GltfError::Image {
                image: index,
                reason: format!("is {format:?}; only PNG and JPEG are supported"),
            });
        }
        let rgba = image::load_from_memory_with_format(&bytes, format)
            .map_err(|source| GltfError::ImageDecode {
                image: index,
                source,
            })?
            .to_rgba8();
        Ok(Texture {
            width: rgba.width(),
            height: rgba.height(),
            rgba8: rgba.into_raw(),
        })
    }

    // -----------------------------------------------------------------------------------------
    // EXT_structural_metadata.

    pub(super) fn property_table(&self, index: usize) -> Result<Option<PropertyTable>, GltfError> {
        let Some(meta) = &self.root.extensions.metadata else {
            return Err(missing("EXT_mesh_features", "property table", index, 0));
        };
        let table = meta.property_tables.get(index).ok_or_else(|| {
            missing(
                "EXT_mesh_features",
                "property table",
                index,
                meta.property_tables.len(),
            )
        })?;
        // An external schema (`schemaUri`) is not fetched: no properties then.
        let Some(schema) = &meta.schema else {
            return Ok(None);
        };
        let err = |property: &str, reason: String| GltfError::Metadata {
            table: index,
            property: property.to_string(),
            reason,
        };
        let class = schema
            .classes
            .get(&table.class)
            .ok_or_else(|| err("", format!("class {:?} is not in the schema", table.class)))?;
        if let Some((name, _)) = table
            .properties
            .0
            .iter()
            .find(|(n, _)| class.properties.get(n).is_none())
        {
            return Err(err(
                name,
                format!("is not a property of class {:?}", table.class),
            ));
        }
        let mut columns = Vec::new();
        for (name, class_property) in &class.properties.0 {
            if let Some(table_property) = table.properties.get(name) {
                let column = ColumnReader {
                    doc: self,
                    table: index,
                    name,
                    count: table.count,
                    class: class_property,
                    property: table_property,
                    schema,
                };
                columns.push(PropertyColumn {
                    name: name.clone(),
                    values: column.read()?,
                });
            }
        }
        Ok(Some(PropertyTable {
            class: table.class.clone(),
            count: table.count,
            columns,
        }))
    }
}

pub(super) fn missing(referrer: &str, kind: &'static str, index: usize, len: usize) -> GltfError {
    GltfError::MissingIndex {
        referrer: referrer.to_string(),
        kind,
        index,
        len,
    }
}

pub(super) fn local_matrix(node: &Node) -> DMat4 {
    if let Some(m) = node.matrix {
        return DMat4::from_cols_array(&m);
    }
    let translation = node.translation.map_or(DVec3::ZERO, DVec3::from_array);
    let scale = node.scale.map_or(DVec3::ONE, DVec3::from_array);
    let rotation = node
        .rotation
        .map(|[x, y, z, w]| DQuat::from_xyzw(x, y, z, w))
        .filter(|q| q.length() > 1e-12)
        .map_or(DQuat::IDENTITY, DQuat::normalize);
    DMat4::from_scale_rotation_translation(scale, rotation, translation)
}

/// Expands triangles (4), strips (5) and fans (6) into a triangle list.
pub(super) fn triangle_list(mode: u32, indices: Vec<u32>) -> Result<Vec<u32>, String> {
    let n = indices.len();
    match mode {
        5 | 6 if n < 3 => Ok(Vec::new()),
        5 => Ok((0..n - 2)
            .flat_map(|i| {
                let odd = i % 2;
                [indices[i], indices[i + 1 + odd], indices[i + 2 - odd]]
            })
            .collect()),
        6 => Ok((0..n - 2)
            .flat_map(|i| [indices[i + 1], indices[i + 2], indices[0]])
            .collect()),
        _ if !n.is_multiple_of(3) => Err(format!("{n} triangle indices are not a multiple of 3")),
        _ => Ok(indices),
    }
}
