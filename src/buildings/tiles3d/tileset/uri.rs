//! Tile URIs: every content, subtree and external tileset resolved against its tileset, and
//! never outside the tileset's root (`..`, absolute paths, `file:` from a remote tileset and
//! other hosts are refused).

use super::TilesetError;
use std::path::PathBuf;
use std::sync::Arc;

/// A resolved location of a tileset, content or subtree file, always inside one root: a local
/// folder or an http(s) URL's directory. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TileUri(Arc<UriInner>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct UriInner {
    root: Root,
    /// Path below the root, `/`-separated, percent-encoded as written, normalised (no `.`/`..`);
    /// empty or ending in `/` for a folder.
    rel: String,
    /// Query string (without `?`) of a remote URI.
    query: Option<String>,
    /// The full path or URL, as handed to I/O.
    full: String,
}

#[derive(Debug, PartialEq, Eq, Hash)]
enum Root {
    Local(PathBuf),
    Remote {
        /// `scheme://authority`, scheme and host lower-cased.
        origin: String,
        /// Absolute path of the root directory, starting and ending with `/`.
        prefix: String,
    },
}

impl TileUri {
    /// The root folder of a local tileset; join the tileset file's name onto it.
    pub fn local(root: PathBuf) -> TileUri {
        Self::build(Root::Local(root), String::new(), None)
    }

    /// A remote tileset (or folder, when the path ends in `/`); its directory becomes the root
    /// that every content URI must stay below.
    pub fn remote(url: &str) -> Result<TileUri, TilesetError> {
        let bad = |why: &str| TilesetError::BadLocation {
            location: url.to_owned(),
            why: why.to_owned(),
        };
        let (origin, rest) = split_http_url(url).ok_or_else(|| bad("not an http(s) URL"))?;
        let rest = rest.split('#').next().unwrap_or_default();
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (rest, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        let segments = normalise(&[], path.trim_start_matches('/'))
            .map_err(&bad)?
            .ok_or_else(|| bad("\"..\" climbs above the server root"))?;
        let is_dir = path.ends_with('/') || segments.is_empty();
        let (dir, file) = match (is_dir, segments.split_last()) {
            (false, Some((file, dir))) => (dir, file.clone()),
            _ => (segments.as_slice(), String::new()),
        };
        let mut prefix = String::from("/");
        for segment in dir {
            prefix.push_str(segment);
            prefix.push('/');
        }
        Ok(Self::build(Root::Remote { origin, prefix }, file, query))
    }

    /// A local tileset file: its folder becomes the root.
    pub fn local_file(path: &std::path::Path) -> TileUri {
        let root = path.parent().map(PathBuf::from).unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| percent_encode(&n.to_string_lossy()))
            .unwrap_or_default();
        Self::build(Root::Local(root), name, None)
    }

    fn build(root: Root, rel: String, query: Option<String>) -> TileUri {
        let full = match &root {
            Root::Local(dir) => {
                let mut path = dir.clone();
                for segment in rel.split('/').filter(|s| !s.is_empty()) {
                    let decoded = percent_decode(segment)
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_else(|| segment.to_owned());
                    path.push(decoded);
                }
                path.to_string_lossy().into_owned()
            }
            Root::Remote { origin, prefix } => {
                let mut url = format!("{origin}{prefix}{rel}");
                if let Some(query) = &query {
                    url.push('?');
                    url.push_str(query);
                }
                url
            }
        };
        TileUri(Arc::new(UriInner {
            root,
            rel,
            query,
            full,
        }))
    }

    /// The path (local) or URL (remote) to read.
    pub fn as_str(&self) -> &str {
        &self.0.full
    }

    pub fn is_remote(&self) -> bool {
        matches!(self.0.root, Root::Remote { .. })
    }

    /// The file to open, for a local URI.
    pub fn local_path(&self) -> Option<PathBuf> {
        match &self.0.root {
            Root::Local(_) => Some(PathBuf::from(&self.0.full)),
            Root::Remote { .. } => None,
        }
    }

    /// The root folder or URL directory this URI cannot leave.
    pub fn root(&self) -> String {
        match &self.0.root {
            Root::Local(dir) => dir.to_string_lossy().into_owned(),
            Root::Remote { origin, prefix } => format!("{origin}{prefix}"),
        }
    }

    /// Lower-case file extension of the path, without the query.
    pub fn extension(&self) -> Option<String> {
        let name = self.0.rel.rsplit('/').next().unwrap_or_default();
        let (_, ext) = name.rsplit_once('.')?;
        Some(ext.to_ascii_lowercase())
    }

    /// Resolves `reference` (a relative path, or an absolute URL on the same server) against this
    /// URI's folder, refusing anything that would leave the root.
    pub fn join(&self, reference: &str) -> Result<TileUri, TilesetError> {
        let fail = |why: &str| TilesetError::UnsafeUri {
            reference: reference.to_owned(),
            owner: self.as_str().to_owned(),
            root: self.root(),
            why: why.to_owned(),
        };
        if reference.is_empty() {
            return Err(fail("the URI is empty"));
        }
        if reference.contains('\\') {
            return Err(fail("backslashes are not URI separators"));
        }
        if reference.chars().any(|c| c.is_control()) {
            return Err(fail("control characters in the URI"));
        }
        let without_fragment = reference.split('#').next().unwrap_or_default();
        let (path, query) = match without_fragment.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (without_fragment, None),
        };
        let query = match (&self.0.root, query) {
            (Root::Local(_), _) => None,
            (Root::Remote { .. }, Some(q)) => Some(q.to_owned()),
            // CesiumJS carries the tileset URL's query (often an access token) onto its children.
            (Root::Remote { .. }, None) => self.0.query.clone(),
        };

        // Segments of the base folder, measured from the server root (remote) or the root folder.
        let (root_segments, base_dir): (Vec<&str>, &str) = match &self.0.root {
            Root::Local(_) => (Vec::new(), dir_of(&self.0.rel)),
            Root::Remote { prefix, .. } => (
                prefix.split('/').filter(|s| !s.is_empty()).collect(),
                dir_of(&self.0.rel),
            ),
        };

        let resolved: Vec<String> = if let Some(scheme) = scheme_of(path) {
            let scheme = scheme.to_ascii_lowercase();
            match &self.0.root {
                Root::Remote { origin, .. } if scheme == "http" || scheme == "https" => {
                    let (other_origin, rest) =
                        split_http_url(path).ok_or_else(|| fail("malformed URL"))?;
                    if &other_origin != origin {
                        return Err(fail("it points to another server"));
                    }
                    normalise(&[], rest.trim_start_matches('/'))
                        .map_err(fail)?
                        .ok_or_else(|| fail("\"..\" climbs above the server root"))?
                }
                Root::Remote { .. } if scheme == "file" => {
                    return Err(fail("a remote tileset may not point to local files"));
                }
                Root::Local(_) if scheme == "file" => {
                    return Err(fail("absolute file: URIs are refused"));
                }
                Root::Local(_) if scheme == "http" || scheme == "https" => {
                    return Err(fail("a local tileset may not point to a server"));
                }
                _ => return Err(fail(&format!("unsupported URI scheme \"{scheme}:\""))),
            }
        } else if path.starts_with("//") {
            return Err(fail("network-path references (//host/...) are refused"));
        } else if let Some(absolute) = path.strip_prefix('/') {
            match &self.0.root {
                Root::Local(_) => return Err(fail("absolute paths are refused")),
                Root::Remote { .. } => normalise(&[], absolute)
                    .map_err(fail)?
                    .ok_or_else(|| fail("\"..\" climbs above the server root"))?,
            }
        } else {
            let mut start: Vec<String> = root_segments.iter().map(|s| (*s).to_owned()).collect();
            start.extend(
                base_dir
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
            normalise(&start, path)
                .map_err(fail)?
                .ok_or_else(|| fail("\"..\" climbs above it"))?
        };

        if resolved.len() < root_segments.len()
            || resolved
                .iter()
                .zip(&root_segments)
                .any(|(a, b)| a.as_str() != *b)
        {
            return Err(fail("it lies outside"));
        }
        let mut rel = resolved[root_segments.len()..].join("/");
        if path.ends_with('/') && !rel.is_empty() {
            rel.push('/');
        }
        if rel.is_empty() {
            return Err(fail("it names the root folder, not a file"));
        }
        let root = match &self.0.root {
            Root::Local(dir) => Root::Local(dir.clone()),
            Root::Remote { origin, prefix } => Root::Remote {
                origin: origin.clone(),
                prefix: prefix.clone(),
            },
        };
        Ok(Self::build(root, rel, query))
    }

    pub(super) fn same_root(&self, other: &TileUri) -> bool {
        self.0.root == other.0.root
    }
}

impl std::fmt::Display for TileUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The folder part of a relative path: everything up to and including the last `/`.
fn dir_of(rel: &str) -> &str {
    match rel.rfind('/') {
        Some(i) => &rel[..=i],
        None => "",
    }
}

/// `scheme` of `scheme:rest`, when the text starts with a URI scheme.
fn scheme_of(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let scheme = &text[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Splits `http(s)://authority/rest` into the lower-cased origin and `/rest`.
fn split_http_url(url: &str) -> Option<(String, &str)> {
    let scheme = scheme_of(url)?.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let after = url[scheme.len() + 1..].strip_prefix("//")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    if authority.is_empty() || authority.contains('\\') {
        return None;
    }
    Some((
        format!("{scheme}://{}", authority.to_ascii_lowercase()),
        &after[end..],
    ))
}

/// Appends the segments of relative `path` to `start`, applying `.` and `..`. `Ok(None)` when
/// `..` climbs above `start`'s first segment; an error for percent-encoded tricks.
fn normalise(start: &[String], path: &str) -> Result<Option<Vec<String>>, &'static str> {
    let mut out = start.to_vec();
    for segment in path.split('/') {
        let decoded = percent_decode(segment).ok_or("malformed percent-encoding")?;
        if decoded.iter().any(|&b| b == b'/' || b == b'\\' || b == 0) {
            return Err("percent-encoded separator or NUL");
        }
        let is_dot = decoded == b".";
        let is_dot_dot = decoded == b"..";
        if (is_dot || is_dot_dot) && segment.contains('%') {
            return Err("percent-encoded dot segment");
        }
        if segment.is_empty() || is_dot {
            continue;
        }
        if is_dot_dot {
            if out.pop().is_none() {
                return Ok(None);
            }
            continue;
        }
        out.push(segment.to_owned());
    }
    Ok(Some(out))
}

/// The bytes `text` percent-encodes; `None` when a `%` is not followed by two hex digits.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    well_formed.then(|| percent_encoding::percent_decode(bytes).collect())
}

/// What a path segment may hold as it is: RFC 3986's unreserved characters, sub-delimiters,
/// `:` and `@`; everything else is percent-encoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}
