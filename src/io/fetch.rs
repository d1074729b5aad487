//! HTTP through the browser's `fetch` (web build): a [`ByteSource`] that never blocks.
//!
//! A read whose bytes have not arrived starts the request and fails with
//! [`SourceError::NotYet`]; callers either wait with [`ByteSource::ready`] (streaming tasks run
//! once their bytes are here) or run again once the requests are answered ([`retry_fetched`]:
//! opening files, a few requests each). The bytes live in one [`FetchCache`] per page.

use super::fetch_cache::{Arrived, FetchCache, MIN_RANGE, State, Want};
use super::{ByteSource, SourceError, check_range};
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Fetched bytes kept for re-reads (the streaming caches keep what is decoded).
const CACHE_BYTES: u64 = 256 * 1024 * 1024;
/// Requests on their way at once.
const MAX_IN_FLIGHT: usize = 6;
/// A request with no complete answer by then is aborted and reported (as native HTTP does,
/// 30 s): a stalled server must not leave the twin waiting.
pub const REQUEST_TIMEOUT_MS: i32 = 30_000;

thread_local! {
    static CACHE: RefCell<FetchCache> = RefCell::new(FetchCache::new(CACHE_BYTES, MAX_IN_FLIGHT));
}

/// Asks the page's cache for `want` of `url`, starting the request when one is needed.
fn ask(url: &str, want: Want) -> State {
    let (state, start) = CACHE.with(|c| c.borrow_mut().ask(url, want));
    if let Some((url, want)) = start {
        wasm_bindgen_futures::spawn_local(async move {
            let answer = fetch(&url, want).await;
            CACHE.with(|c| {
                let mut cache = c.borrow_mut();
                match answer {
                    Ok(arrived) => cache.arrived(&url, want, arrived),
                    Err(error) => cache.failed(&url, want, error),
                }
            });
        });
    }
    state
}

/// Bytes received over HTTP by this page so far.
pub fn total_fetched() -> u64 {
    CACHE.with(|c| c.borrow().total_fetched())
}

/// A URL read through `fetch`: ranges by `Range` requests, whole resources by plain GETs.
#[derive(Debug)]
pub struct FetchSource {
    url: String,
}

impl FetchSource {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }

    /// The error for a want that is not here; a failure is reported once, then forgotten.
    fn state_error(&self, want: Want, state: State) -> SourceError {
        let (offset, len) = match want {
            Want::Range { offset, len } => (offset, len),
            Want::Whole => (0, 0),
        };
        match state {
            State::Failed(error) => {
                CACHE.with(|c| c.borrow_mut().forget_failure(&self.url, want));
                SourceError::Fetch {
                    source_name: self.url.clone(),
                    error,
                }
            }
            State::Here | State::Waiting => SourceError::NotYet {
                source_name: self.url.clone(),
                offset,
                end: offset + len,
            },
        }
    }

    /// The range to ask for a read: small reads are rounded up (a header and what follows it).
    fn want(&self, offset: u64, len: u64) -> Want {
        let total = CACHE.with(|c| c.borrow().len(&self.url));
        let mut len = len.max(MIN_RANGE);
        if let Some(total) = total {
            len = len.min(total.saturating_sub(offset));
        }
        Want::Range { offset, len }
    }
}

impl ByteSource for FetchSource {
    fn name(&self) -> &str {
        &self.url
    }

    fn len(&self) -> Result<u64, SourceError> {
        if let Some(len) = CACHE.with(|c| c.borrow().len(&self.url)) {
            return Ok(len);
        }
        // The first range request tells the size (`Content-Range`).
        let want = self.want(0, MIN_RANGE);
        Err(self.state_error(want, ask(&self.url, want)))
    }

    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, SourceError> {
        if let Some(total) = CACHE.with(|c| c.borrow().len(&self.url)) {
            check_range(&self.url, offset, len, total)?;
        }
        if let Some(bytes) = CACHE.with(|c| c.borrow_mut().read(&self.url, offset, len)) {
            return Ok(bytes);
        }
        let want = self.want(offset, len);
        let state = ask(&self.url, want);
        if state == State::Here {
            // A short answer (the resource ends before the rounded-up range).
            let total = CACHE.with(|c| c.borrow().len(&self.url)).unwrap_or(0);
            check_range(&self.url, offset, len, total)?;
        }
        Err(self.state_error(want, state))
    }

    fn read_all(&self) -> Result<Vec<u8>, SourceError> {
        match ask(&self.url, Want::Whole) {
            State::Here => {
                let len = self.len()?;
                self.read_range(0, len)
            }
            state => Err(self.state_error(Want::Whole, state)),
        }
    }

    fn ready(&self, offset: u64, len: u64) -> bool {
        CACHE.with(|c| c.borrow().has(&self.url, offset, len))
            || !matches!(ask(&self.url, self.want(offset, len)), State::Waiting)
    }

    fn ready_all(&self) -> bool {
        !matches!(ask(&self.url, Want::Whole), State::Waiting)
    }

    fn bytes_fetched(&self) -> u64 {
        CACHE.with(|c| c.borrow().traffic(&self.url).0)
    }

    fn requests(&self) -> u64 {
        CACHE.with(|c| c.borrow().traffic(&self.url).1)
    }
}

/// Runs `attempt` until it no longer stops on bytes still on their way: each failed attempt
/// that asked for missing bytes waits for the requests, then runs again. Opening a COPC file
/// this way takes a few requests (header and records, hierarchy); the first real error is
/// returned as is.
pub async fn retry_fetched<T, E>(mut attempt: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let mut tries = 0;
    loop {
        let misses = CACHE.with(|c| c.borrow().misses());
        let result = attempt();
        let missed = CACHE.with(|c| c.borrow().misses()) > misses;
        tries += 1;
        match result {
            Err(_) if missed && tries < 1000 => wait_for_requests().await,
            done => return done,
        }
    }
}

/// Waits until no request is on its way.
async fn wait_for_requests() {
    while CACHE.with(|c| c.borrow().in_flight()) > 0 {
        sleep_ms(4).await;
    }
}

/// A timer as a future.
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// One request through `fetch`.
async fn fetch(url: &str, want: Want) -> Result<Arrived, String> {
    let window = web_sys::window().ok_or("no window to fetch from")?;
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    let headers = web_sys::Headers::new().map_err(js_error)?;
    if let Want::Range { offset, len } = want {
        headers
            .set(
                "Range",
                &format!("bytes={}-{}", offset, offset + len.max(1) - 1),
            )
            .map_err(js_error)?;
    }
    init.set_headers(&headers);
    // The timer aborts the request, body included; after the answer it aborts nothing.
    let controller = web_sys::AbortController::new().map_err(js_error)?;
    let signal = controller.signal();
    init.set_signal(Some(&signal));
    let abort = wasm_bindgen::closure::Closure::once_into_js(move || controller.abort());
    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
        abort.unchecked_ref(),
        REQUEST_TIMEOUT_MS,
    );
    let timed_out = |error: wasm_bindgen::JsValue| {
        if signal.aborted() {
            format!(
                "no complete answer within {} s (the server stalled)",
                REQUEST_TIMEOUT_MS / 1000
            )
        } else {
            js_error(error)
        }
    };
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(js_error)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| {
            if signal.aborted() {
                return timed_out(e);
            }
            format!(
                "could not fetch it ({}): the server is unreachable, or it does not allow this \
                 page to read it (CORS: it must send Access-Control-Allow-Origin, allow the \
                 Range header and expose Content-Range)",
                js_error(e)
            )
        })?
        .dyn_into()
        .map_err(js_error)?;
    let status = response.status();
    let body = async {
        let buffer = JsFuture::from(response.array_buffer().map_err(js_error)?)
            .await
            .map_err(timed_out)?;
        Ok::<_, String>(js_sys::Uint8Array::new(&buffer).to_vec())
    };
    match (want, status) {
        (Want::Whole, 200..=299) => {
            let bytes = body.await?;
            Ok(Arrived {
                offset: 0,
                total_len: Some(bytes.len() as u64),
                bytes,
            })
        }
        (Want::Range { offset, .. }, 206) => {
            let range = response
                .headers()
                .get("Content-Range")
                .map_err(js_error)?
                .ok_or(
                    "the answer has no Content-Range header (a server on another origin must \
                     expose it: Access-Control-Expose-Headers: Content-Range)",
                )?;
            let total_len = range.rsplit('/').next().and_then(|t| t.parse().ok());
            Ok(Arrived {
                offset,
                bytes: body.await?,
                total_len,
            })
        }
        (Want::Range { .. }, 200) => Err(
            "the server ignored the range request (answered 200 instead of 206): streaming \
             COPC needs a server with HTTP Range support"
                .into(),
        ),
        (_, status) => Err(format!("HTTP {status}")),
    }
}

/// A JavaScript error in words.
pub fn js_error(error: wasm_bindgen::JsValue) -> String {
    error
        .as_string()
        .or_else(|| {
            error
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{error:?}"))
}
