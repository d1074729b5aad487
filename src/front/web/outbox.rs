//! The page kiosk's opinions on their way to the consultation server: each kept in the
//! browser's storage (`localStorage`) before the visitor is thanked, POSTed as JSON to the
//! project's `consultation_url`, oldest first, retried with back-off
//! ([`crate::scenario::consultation::Outbox`]) and dropped only once the server answers 2xx.
//! A reload (or a crash of the tab) finds them in the storage and sends them on.

use crate::front::kiosk::OpinionSink;
use crate::io::fetch::js_error;
use crate::scenario::consultation::{Opinion, Outbox};
use std::sync::Mutex;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The page's outbox: where it sends, its storage key, the opinions waiting.
struct Shared {
    url: String,
    key: String,
    outbox: Outbox,
    sent: u64,
    last_error: Option<String>,
}

static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

/// How the outbox is doing, for `window.jumeau.kiosk`.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct OutboxStatus {
    pub queued: usize,
    pub sent: u64,
    pub failures: u32,
    pub last_error: Option<String>,
}

pub fn status() -> OutboxStatus {
    let shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    shared
        .as_ref()
        .map(|s| OutboxStatus {
            queued: s.outbox.pending.len(),
            sent: s.sent,
            failures: s.outbox.failures,
            last_error: s.last_error.clone(),
        })
        .unwrap_or_default()
}

/// The sink the page's kiosk keeps opinions with.
pub struct PageOutbox;

impl OpinionSink for PageOutbox {
    fn keep(&mut self, opinion: &Opinion) -> Result<(), String> {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        let s = shared.as_mut().ok_or(
            "this consultation names no `consultation_url` in its [kiosk]: opinions have nowhere to go",
        )?;
        s.outbox.push(opinion.clone());
        if let Err(e) = store(&s.key, &s.outbox.to_json()) {
            // Not in the storage: not kept, and not thanked.
            s.outbox.pending.pop();
            return Err(e);
        }
        Ok(())
    }
}

/// Starts sending to `url` (absolute) what the storage holds and what comes.
pub fn start(url: String) {
    let key = format!("jumeau.opinions:{url}");
    let outbox = match load(&key) {
        Some(text) => Outbox::from_json(&text).unwrap_or_else(|e| {
            web_sys::console::error_1(&JsValue::from_str(&e));
            Outbox::default()
        }),
        None => Outbox::default(),
    };
    *SHARED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Shared {
        url,
        key,
        outbox,
        sent: 0,
        last_error: None,
    });
    wasm_bindgen_futures::spawn_local(send_forever());
}

async fn send_forever() {
    loop {
        crate::io::fetch::sleep_ms(200).await;
        let now = now_ms();
        let due = {
            let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
            shared
                .as_mut()
                .and_then(|s| s.outbox.due(now).map(|o| (s.url.clone(), o)))
        };
        let Some((url, opinion)) = due else { continue };
        let sent = post(&url, &opinion).await;
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = shared.as_mut() else { continue };
        match sent {
            Ok(()) => {
                s.outbox.acknowledged(&opinion);
                s.sent += 1;
                s.last_error = None;
                if let Err(e) = store(&s.key, &s.outbox.to_json()) {
                    web_sys::console::warn_1(&JsValue::from_str(&e));
                }
            }
            Err(e) => {
                let wait = s.outbox.failed(now_ms());
                let message = format!("{url}: {e} (next try in {:.0} s)", wait / 1000.0);
                web_sys::console::warn_1(&JsValue::from_str(&message));
                s.last_error = Some(message);
            }
        }
    }
}

/// POSTs one opinion; a 2xx answer acknowledges it.
async fn post(url: &str, opinion: &Opinion) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let body = serde_json::to_string(opinion).map_err(|e| e.to_string())?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(js_error)?;
    headers
        .set("Content-Type", "application/json")
        .map_err(js_error)?;
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&body));
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(js_error)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("unreachable ({})", js_error(e)))?
        .dyn_into()
        .map_err(js_error)?;
    if response.ok() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// `localStorage`, reached through JavaScript's own names.
fn local_storage() -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    js_sys::Reflect::get(&window, &JsValue::from_str("localStorage"))
        .map_err(js_error)
        .and_then(|s| {
            if s.is_null() || s.is_undefined() {
                Err("this browser keeps no local storage".into())
            } else {
                Ok(s)
            }
        })
}

fn call(storage: &JsValue, method: &str, args: &[&str]) -> Result<JsValue, String> {
    let function: js_sys::Function = js_sys::Reflect::get(storage, &JsValue::from_str(method))
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)?;
    let args: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
    function.apply(storage, &args).map_err(js_error)
}

fn store(key: &str, value: &str) -> Result<(), String> {
    let storage = local_storage()?;
    call(&storage, "setItem", &[key, value])
        .map(|_| ())
        .map_err(|e| format!("the browser's storage refused the opinion ({e})"))
}

fn load(key: &str) -> Option<String> {
    let storage = local_storage().ok()?;
    call(&storage, "getItem", &[key]).ok()?.as_string()
}
