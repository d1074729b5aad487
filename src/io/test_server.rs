//! A tiny HTTP/1.1 server on loopback that serves one buffer or a folder with range requests,
//! and can misbehave on purpose (404, 500, stalls, short bodies). For tests and benchmarks.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Honest range answers (206).
    Ranges,
    /// Always this status, no body.
    Status(u16),
    /// Accepts the connection and never answers.
    Stall,
    /// Announces the full range but sends only half of the body, then closes.
    ShortBody,
    /// Ignores `Range` and sends the whole file with 200.
    NoRanges,
}

/// A running server; stops with the process (threads are detached).
pub struct TestServer {
    pub url: String,
    pub requests: Arc<AtomicU64>,
    pub bytes_sent: Arc<AtomicU64>,
}

/// What the server serves.
#[derive(Clone)]
enum Content {
    /// One buffer, whatever the path.
    One(Arc<[u8]>),
    /// The files under a folder (`..` refused, missing files are 404).
    Folder(Arc<std::path::Path>),
}

/// Serves `bytes` at `http://127.0.0.1:PORT/data` with the given behaviour.
pub fn serve(bytes: Arc<[u8]>, behaviour: Behaviour) -> std::io::Result<TestServer> {
    serve_content(Content::One(bytes), behaviour, "data")
}

/// Serves the files under `root` at `http://127.0.0.1:PORT/` (the returned URL ends with `/`).
pub fn serve_folder(root: &std::path::Path, behaviour: Behaviour) -> std::io::Result<TestServer> {
    serve_content(Content::Folder(root.into()), behaviour, "")
}

fn serve_content(
    content: Content,
    behaviour: Behaviour,
    path: &str,
) -> std::io::Result<TestServer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/{path}", listener.local_addr()?);
    let requests = Arc::new(AtomicU64::new(0));
    let bytes_sent = Arc::new(AtomicU64::new(0));
    let (r, s) = (requests.clone(), bytes_sent.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (content, r, s) = (content.clone(), r.clone(), s.clone());
            std::thread::spawn(move || {
                let _ = handle(stream, &content, behaviour, &r, &s);
            });
        }
    });
    Ok(TestServer {
        url,
        requests,
        bytes_sent,
    })
}

/// The bytes at a request path, or `None` (404).
fn resolve(content: &Content, request_line: &str) -> Option<Arc<[u8]>> {
    match content {
        Content::One(bytes) => Some(bytes.clone()),
        Content::Folder(root) => {
            let path = request_line.split_whitespace().nth(1)?;
            let path = path.split(['?', '#']).next()?.trim_start_matches('/');
            if path
                .split('/')
                .any(|part| part == ".." || part.contains('%'))
            {
                return None;
            }
            std::fs::read(root.join(path)).ok().map(Arc::from)
        }
    }
}

fn handle(
    stream: TcpStream,
    content: &Content,
    behaviour: Behaviour,
    requests: &AtomicU64,
    sent: &AtomicU64,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let Some(bytes) = resolve(content, &line) else {
            // Drain the headers, then say 404.
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                    break;
                }
            }
            requests.fetch_add(1, Ordering::Relaxed);
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            )?;
            continue;
        };
        let bytes = &*bytes;
        let mut range = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("range: bytes=") {
                let mut parts = value.trim().splitn(2, '-');
                let start: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let end: u64 = parts
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(bytes.len() as u64 - 1);
                range = Some((start, end.min(bytes.len() as u64 - 1)));
            }
        }
        requests.fetch_add(1, Ordering::Relaxed);
        // A plain GET (no Range) gets the whole file with 200, as from any static server.
        let behaviour = if behaviour == Behaviour::Ranges && range.is_none() {
            Behaviour::NoRanges
        } else {
            behaviour
        };
        match behaviour {
            Behaviour::Stall => {
                std::thread::sleep(Duration::from_secs(60));
                return Ok(());
            }
            Behaviour::Status(code) => {
                write!(stream, "HTTP/1.1 {code} Nope\r\nContent-Length: 0\r\n\r\n")?;
            }
            Behaviour::NoRanges => {
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    bytes.len()
                )?;
                stream.write_all(bytes)?;
                sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            Behaviour::Ranges | Behaviour::ShortBody => {
                let (start, end) = range.unwrap_or((0, bytes.len() as u64 - 1));
                if start > end || start >= bytes.len() as u64 {
                    write!(
                        stream,
                        "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\n\r\n",
                        bytes.len()
                    )?;
                    continue;
                }
                let body = &bytes[start as usize..=end as usize];
                write!(
                    stream,
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{end}/{}\r\nContent-Length: {}\r\n\r\n",
                    bytes.len(),
                    body.len()
                )?;
                if behaviour == Behaviour::ShortBody && body.len() > 1 {
                    stream.write_all(&body[..body.len() / 2])?;
                    sent.fetch_add(body.len() as u64 / 2, Ordering::Relaxed);
                    return Ok(());
                }
                stream.write_all(body)?;
                sent.fetch_add(body.len() as u64, Ordering::Relaxed);
            }
        }
    }
}
