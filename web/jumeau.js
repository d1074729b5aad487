// Jumeau's loader: embeds the twin in a page's <canvas>.
//
//   <canvas id="twin" data-copc="tiles/0292_6833.copc.laz" data-color="classification"></canvas>
//   <script type="module">
//     import { start } from "https://twin.example.org/jumeau/jumeau.js";
//     start(document.getElementById("twin"));
//   </script>
//
// Settings come from the canvas' data-* attributes, the page's query string (?copc=…&embed=
// minimal) and an optional project file (data-project / ?project=): see the README. The WebGPU
// bundle is used where the browser has WebGPU, the WebGL2 one elsewhere (?backend= forces one).
// Errors are shown over the canvas; `window.jumeau` tells how the twin is doing.

const BUNDLES = ["webgl2", "webgpu"];

const TEXTS = {
  en: { loading: "Loading the twin…", failed: "The twin could not start" },
  fr: { loading: "Chargement du jumeau…", failed: "Le jumeau n'a pas pu démarrer" },
};

async function webgpuAvailable() {
  try {
    return !!(navigator.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

function setting(canvas, key) {
  return new URLSearchParams(location.search).get(key) ?? canvas.dataset[key] ?? null;
}

/// Shows the twin's errors (and the loading line) in a box over the canvas.
function messageBox(canvas, texts) {
  const box = document.createElement("div");
  box.className = "jumeau-messages";
  box.setAttribute("role", "status");
  box.style.cssText =
    "position:absolute;left:8px;bottom:8px;max-width:60%;font:13px/1.4 system-ui,sans-serif;" +
    "color:#fff;background:rgba(20,23,28,.85);padding:6px 10px;border-radius:4px;" +
    "white-space:pre-wrap;pointer-events:none;z-index:10";
  box.textContent = texts.loading;
  const parent = canvas.parentElement ?? document.body;
  if (getComputedStyle(parent).position === "static") parent.style.position = "relative";
  parent.appendChild(box);
  let shown = "";
  const timer = setInterval(() => {
    const status = window.jumeau;
    if (!status) return;
    const errors = status.errors ?? [];
    const text = errors.slice(-6).join("\n");
    const loading = !status.frames;
    const next = loading ? [texts.loading, text].filter(Boolean).join("\n") : text;
    if (next !== shown) {
      shown = next;
      box.textContent = next;
    }
    box.style.display = next ? "block" : "none";
  }, 250);
  return { box, stop: () => clearInterval(timer) };
}

/// The consultation kiosk's page stays where it is: no context menu, no text selection, no
/// swipe or pull to navigate or reload, no back button or gesture (the history entry comes
/// back), no dragging the canvas away.
function lockPage(canvas) {
  const stop = (event) => event.preventDefault();
  for (const type of ["contextmenu", "selectstart", "dragstart", "gesturestart"])
    document.addEventListener(type, stop, { capture: true });
  for (const element of [document.documentElement, document.body]) {
    element.style.overscrollBehavior = "none";
    element.style.userSelect = "none";
    element.style.webkitUserSelect = "none";
    element.style.webkitTouchCallout = "none";
  }
  canvas.style.touchAction = "none";
  history.pushState({ jumeauKiosk: true }, "");
  addEventListener("popstate", () => history.pushState({ jumeauKiosk: true }, ""));
  addEventListener(
    "keydown",
    (event) => {
      const back = event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowRight");
      if (back || event.key === "BrowserBack" || event.key === "BrowserForward") stop(event);
    },
    { capture: true },
  );
  // A second finger on some browsers zooms the page itself: the twin takes it instead.
  document.addEventListener("touchmove", (event) => event.touches.length > 1 && stop(event), {
    passive: false,
    capture: true,
  });
}

export async function start(canvas, { base } = {}) {
  if (!canvas) throw new Error("jumeau: no canvas given to start()");
  if (!canvas.id) canvas.id = "jumeau-canvas";
  canvas.tabIndex = canvas.tabIndex >= 0 ? canvas.tabIndex : 0;
  globalThis.jumeauCanvas = `#${CSS.escape(canvas.id)}`;
  const kiosk = setting(canvas, "embed") === "kiosk";
  if (kiosk) lockPage(canvas);
  const texts = TEXTS[(setting(canvas, "lang") ?? (kiosk ? "fr" : "en")).slice(0, 2)] ?? TEXTS.en;
  const messages = messageBox(canvas, texts);
  const root = new URL(".", base ?? import.meta.url);
  const forced = setting(canvas, "backend");
  let bundle = "webgl2";
  if (forced && BUNDLES.includes(forced)) bundle = forced;
  else if (BUNDLES.includes("webgpu") && (await webgpuAvailable())) bundle = "webgpu";
  try {
    const module = await import(new URL(`${bundle}/jumeau.js`, root).href);
    await module.default({ module_or_path: new URL(`${bundle}/jumeau_bg.wasm`, root) });
  } catch (error) {
    // winit leaves the JS event loop by throwing this on purpose.
    if (String(error).includes("Using exceptions for control flow")) return;
    messages.box.textContent = `${texts.failed}: ${error}`;
    messages.stop();
    throw error;
  }
}
