// The real-browser test of the web bundle: Debian's chromium (headless, WebGL2 through
// SwiftShader) opens the bundle from a local static server with Range support, the twin
// streams the IGN COPC tile (and a 3D Tiles tileset) over HTTP, and the settled frame is
// compared with the native `jumeau render` of the same view. Any panic or console error fails
// the test; a page with broken inputs must name each problem and still show the rest.
//
//   node web/test/browser.mjs --bundle target/web --data DIR --native DIR --out DIR
//
// DIR (--data) holds ign.copc.laz and the shared 3D Tiles folders; --native holds the native
// renders (see web/test/run.sh, which prepares both). Writes the browser screenshots, the
// differences and results.json (timings, bytes) under --out.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serve } from "./serve.mjs";
import { comparePng } from "./png.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith("--")) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const WIDTH = 320;
const HEIGHT = 240;
export const IGN_CAMERA = "292450,6832700,400,292450,6832701,50";

const scenarios = [
  {
    name: "ign",
    query: `copc=/data/ign.copc.laz&color=classification&camera=${IGN_CAMERA}&embed=minimal`,
    native: "ign.png",
  },
  {
    // GeoJSON over HTTP, draped on the tile's ground in the page.
    name: "ign-lines",
    query: `copc=/data/ign.copc.laz&geojson=/data/vector/ign_Lignes_3d_0292_6833.geojson&color=classification&camera=${IGN_CAMERA}&embed=minimal`,
    native: "ign-lines.png",
  },
  {
    name: "tileset",
    query: "tileset=/data/3dtiles/cesium_TilesetWithRequestVolume/tileset.json&embed=minimal",
    native: "tileset.png",
  },
  {
    // Street level over a full-density cloud with a binding budget: no holes ahead.
    name: "street",
    query: "copc=/data/street.copc.laz&color=rgb&budget=400000&camera=350020,6788086,45.96,350220,6788086,43.96&embed=minimal",
    native: "street.png",
  },
  {
    // Nine tiles as one layer from their virtual point cloud, each opened when in view.
    name: "vpc",
    query: "vpc=/data/tiles/tiles.vpc&color=rgb&embed=minimal",
    native: "vpc.png",
  },
  {
    // A scenario file from the page's query: its data opens, its flood runs in the page and
    // its water shows as in the native render.
    name: "scenario",
    query: "scenario=/data/crue.toml&color=classification&camera=292400,6832600,1400,292400,6832601,50&embed=minimal",
    native: "scenario.png",
    expect: (status) => (status?.scenarios ?? []).includes("crue") || `no scenario result: ${JSON.stringify(status?.scenarios)}`,
  },
  {
    // A project file (?project=): its camera, style and clip box as in the native render.
    name: "project",
    query: "project=/data/projet.toml&embed=minimal",
    native: "project.png",
  },
];

/// The `camera` key of a page's address, as six numbers.
const cameraOf = (url) => new URL(url).searchParams.get("camera")?.split(",").map(Number);

mkdirSync(args.out, { recursive: true });
const { server, port, stats, consultation } = await serve(args.bundle, args.data);
// Data servers on other origins: one that allows this page (CORS headers), one that does not.
const open_ = await serve(args.bundle, args.data, 0, { cors: true });
const closed = await serve(args.bundle, args.data, 0, { cors: false });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
});
const failures = [];
const results = { scenarios: {} };

async function open(query, { waitForSettled = true } = {}) {
  const page = await browser.newPage({
    viewport: { width: WIDTH, height: HEIGHT },
    deviceScaleFactor: 1,
  });
  const console_ = [];
  page.on("console", (m) => console_.push({ type: m.type(), text: m.text() }));
  page.on("pageerror", (e) => console_.push({ type: "pageerror", text: String(e) }));
  const before = { requests: stats.requests, bytes: stats.bytes };
  const started = Date.now();
  await page.goto(`http://127.0.0.1:${port}/index.html?${query}`);
  const condition = waitForSettled
    ? "window.jumeau && window.jumeau.settled"
    : "window.jumeau && window.jumeau.frames > 30";
  let timedOut = false;
  try {
    await page.waitForFunction(condition, null, { timeout: 240_000, polling: 250 });
  } catch {
    timedOut = true;
  }
  const status = await page.evaluate("window.jumeau");
  return {
    page,
    console: console_,
    status,
    timedOut,
    wallMs: Date.now() - started,
    served: { requests: stats.requests - before.requests, bytes: stats.bytes - before.bytes },
  };
}

const panics = (log) =>
  log.filter((m) => m.type === "pageerror" || /panicked at|RuntimeError/.test(m.text));

for (const scenario of scenarios) {
  const run = await open(scenario.query);
  const problems = [];
  if (run.timedOut) problems.push(`did not settle: ${JSON.stringify(run.status)}`);
  const errors = run.console.filter((m) => m.type === "error" || m.type === "pageerror");
  if (errors.length) problems.push(`console errors: ${JSON.stringify(errors.slice(0, 5))}`);
  if (run.status?.errors?.length) problems.push(`twin errors: ${run.status.errors.join("; ")}`);
  const expected = scenario.expect?.(run.status);
  if (typeof expected === "string") problems.push(expected);
  // Frame time once settled: frames the page ran over two seconds.
  const frames = await run.page.evaluate(
    () =>
      new Promise((done) => {
        const times = [];
        let last = performance.now();
        const step = (now) => {
          times.push(now - last);
          last = now;
          if (times.length < 20) requestAnimationFrame(step);
          else done(times.sort((a, b) => a - b)[times.length >> 1]);
        };
        requestAnimationFrame(step);
      }),
  );
  const shot = join(args.out, `${scenario.name}.web.png`);
  await run.page.screenshot({ path: shot });
  const comparison = comparePng(
    readFileSync(join(args.native, scenario.native)),
    readFileSync(shot),
    { tolerance: 24, blur: 1 },
  );
  writeFileSync(join(args.out, `${scenario.name}.diff.png`), comparison.diffPng);
  // The same view: nearly every pixel agrees once both are blurred over 3×3 pixels (the
  // renderers differ in rasterisation details, not in what is where; measured: ≤ 0.2 %).
  if (comparison.differingFraction > 0.01)
    problems.push(
      `differs from the native render: ${(comparison.differingFraction * 100).toFixed(1)} % of pixels`,
    );
  if (comparison.coveredA > 0.02 && comparison.coveredB < comparison.coveredA * 0.8)
    problems.push(
      `shows less than the native render: ${(comparison.coveredB * 100).toFixed(1)} % vs ${(comparison.coveredA * 100).toFixed(1)} % of pixels covered`,
    );
  const nativeLog = (() => {
    try {
      return readFileSync(join(args.native, scenario.native.replace(".png", ".txt")), "utf8");
    } catch {
      return "";
    }
  })();
  const nativeFrameMs = Number(/frame time .*: ([\d.]+) ms/.exec(nativeLog)?.[1] ?? NaN);
  results.scenarios[scenario.name] = {
    nativeFrameMs: Number.isFinite(nativeFrameMs) ? nativeFrameMs : null,
    status: run.status,
    wallMs: run.wallMs,
    served: run.served,
    rafFrameMs: frames,
    differingFraction: comparison.differingFraction,
    coveredNative: comparison.coveredA,
    coveredWeb: comparison.coveredB,
  };
  console.log(`${scenario.name}: ${JSON.stringify(results.scenarios[scenario.name])}`);
  for (const p of problems) failures.push(`${scenario.name}: ${p}`);
  await run.page.close();
}

// Broken inputs (missing, no ranges, stalled, blocked by CORS, a bad setting): each named in
// the page, nothing panics, the good input (from another origin that allows it) still shows.
{
  const query = [
    `copc=http://localhost:${open_.port}/data/ign.copc.laz`,
    `copc=http://localhost:${closed.port}/data/ign.copc.laz`,
    "copc=/data/missing.copc.laz",
    "copc=/norange/ign.copc.laz",
    "copc=/stall/ign.copc.laz",
    "color=rainbow",
    `camera=${IGN_CAMERA}`,
    "embed=minimal",
  ].join("&");
  const run = await open(query);
  const errors = run.status?.errors ?? [];
  const expect = [
    [/missing\.copc\.laz.*HTTP 404/, "the missing file"],
    [/norange\/ign\.copc\.laz.*ignored the range request/, "the server without ranges"],
    [/stall\/ign\.copc\.laz.*no complete answer within 30 s/, "the stalled server"],
    [/color=rainbow/, "the bad colour"],
    [new RegExp(`localhost:${closed.port}.*CORS`), "the server on another origin without CORS"],
  ];
  for (const [pattern, what] of expect)
    if (!errors.some((e) => pattern.test(e))) failures.push(`broken inputs: ${what} is not named: ${JSON.stringify(errors)}`);
  if (panics(run.console).length) failures.push(`broken inputs: panic ${JSON.stringify(panics(run.console))}`);
  if (!(run.status?.pointsShown > 0)) failures.push(`broken inputs: the good tile is not shown: ${JSON.stringify(run.status)}`);
  const box = await run.page.textContent(".jumeau-messages");
  if (!/HTTP 404/.test(box ?? "")) failures.push(`broken inputs: the page shows no message: ${box}`);
  await run.page.screenshot({ path: join(args.out, "broken.web.png") });
  results.broken = { errors, box };
  await run.page.close();
}

// The view in the address: the page writes the project's camera into its URL, a drag moves it
// there as the user orbits, and the address opens the same view again.
{
  const run = await open("project=/data/projet.toml&embed=minimal");
  const first = cameraOf(run.page.url());
  const expected = [292450, 6832700, 700, 292450, 6832701, 50];
  if (!first || first.some((v, i) => Math.abs(v - expected[i]) > 0.01))
    failures.push(`url state: the project's camera is not in the address: ${run.page.url()}`);
  await run.page.mouse.move(WIDTH / 2, HEIGHT / 2);
  await run.page.mouse.down();
  await run.page.mouse.move(WIDTH / 2 + 60, HEIGHT / 2 + 20, { steps: 6 });
  await run.page.mouse.up();
  await run.page.waitForTimeout(1500);
  const moved = cameraOf(run.page.url());
  if (!moved || moved.every((v, i) => Math.abs(v - first[i]) < 0.01))
    failures.push(`url state: a drag did not change the address: ${run.page.url()}`);
  const link = run.page.url();
  await run.page.close();
  const again = await open(link.split("?")[1]);
  await again.page.waitForTimeout(500);
  const reopened = cameraOf(again.page.url());
  if (!reopened || reopened.some((v, i) => Math.abs(v - moved[i]) > 0.01))
    failures.push(`url state: the link does not open the same view: ${link} -> ${again.page.url()}`);
  results.urlState = { first, moved, reopened };
  await again.page.close();
}

// The consultation kiosk (embed=kiosk): the page is locked (no context menu), every touch
// target is at least 44 px, a tap starts a visit, an opinion is kept in the browser's storage
// while the consultation server answers 500, retried, kept through a reload, and sent once the
// server is back.
{
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const log = [];
  page.on("console", (m) => log.push({ type: m.type(), text: m.text() }));
  page.on("pageerror", (e) => log.push({ type: "pageerror", text: String(e) }));
  consultation.failing = true;
  const status = () => page.evaluate("window.jumeau && window.jumeau.kiosk");
  const waitFor = async (what, test, timeout = 180_000) => {
    const started = Date.now();
    for (;;) {
      const s = await status();
      if (s && test(s)) return s;
      if (Date.now() - started > timeout) throw new Error(`kiosk: no ${what}: ${JSON.stringify(s)?.slice(0, 600)}`);
      await page.waitForTimeout(250);
    }
  };
  const tap = async (label) => {
    const s = await status();
    const target = s.targets.find(([l]) => l.startsWith(label));
    if (!target) throw new Error(`kiosk: no target "${label}" among ${JSON.stringify(s.targets.map(([l]) => l))}`);
    const [x, y, w, h] = target[1];
    await page.mouse.move(x + w / 2, y + h / 2);
    await page.mouse.down();
    await page.waitForTimeout(150);
    await page.mouse.up();
    await page.waitForTimeout(400);
  };
  const small = (s) => s.targets.filter(([, [, , w, h]]) => w < 44 || h < 44);
  const stored = () =>
    page.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith("jumeau.opinions:"))
        .map((k) => JSON.parse(localStorage.getItem(k)).pending.length)
        .reduce((a, b) => a + b, 0),
    );
  const result = {};
  try {
    await page.goto(`http://127.0.0.1:${port}/index.html?project=/data/kiosque.toml&embed=kiosk`);
    let s = await waitFor("attract loop", (s) => s.phase === "attract" && s.targets.length >= 2);
    if (s.lang !== "fr") failures.push(`kiosk: speaks ${s.lang}, not French, by default`);
    if (small(s).length) failures.push(`kiosk: small targets on the attract loop: ${JSON.stringify(small(s))}`);
    const menu = await page.evaluate(() => {
      const event = new MouseEvent("contextmenu", { bubbles: true, cancelable: true });
      document.querySelector("canvas").dispatchEvent(event);
      return event.defaultPrevented;
    });
    if (!menu) failures.push("kiosk: the context menu is not prevented");
    await tap("Touchez pour commencer");
    s = await waitFor("visit", (s) => s.phase === "active" && s.targets.some(([l]) => l.startsWith("Crue")));
    if (small(s).length) failures.push(`kiosk: small targets in a visit: ${JSON.stringify(small(s))}`);
    result.targets = s.targets.length;
    // The panels take their places over a frame or two.
    await page.waitForTimeout(1500);
    await tap("Crue");
    await waitFor("flood shown", (s) => s.alternative === "crue", 30_000);
    await tap("4");
    await tap("Envoyer mon avis");
    s = await waitFor("opinion kept", (s) => s.counts.opinions === 1 && s.outbox.queued === 1);
    const retried = Date.now();
    while (consultation.tries < 2 && Date.now() - retried < 30_000) await page.waitForTimeout(250);
    if (consultation.tries < 2) failures.push(`kiosk: no retry after a 500 (${consultation.tries} tries)`);
    if ((await stored()) !== 1) failures.push(`kiosk: the opinion is not in the browser's storage`);
    await page.screenshot({ path: join(args.out, "kiosk.web.png") });
    await page.reload();
    s = await waitFor("queue after a reload", (s) => s.outbox.queued === 1);
    result.triesWhileDown = consultation.tries;
    consultation.failing = false;
    s = await waitFor("opinion sent", (s) => s.outbox.queued === 0 && s.outbox.sent === 1, 90_000);
    const got = consultation.received;
    if (got.length !== 1 || got[0].alternative !== "crue" || got[0].value !== 4 || !(got[0].visit > 0))
      failures.push(`kiosk: the server received ${JSON.stringify(got)}`);
    if ((await stored()) !== 0) failures.push("kiosk: the sent opinion is still stored");
    result.received = got;
  } catch (error) {
    failures.push(String(error));
    await page.screenshot({ path: join(args.out, "kiosk-failed.web.png") });
  }
  if (panics(log).length) failures.push(`kiosk: panic ${JSON.stringify(panics(log))}`);
  results.kiosk = result;
  console.log(`kiosk: ${JSON.stringify(result)}`);
  await page.close();
}

await browser.close();
for (const s of [server, open_.server, closed.server]) {
  s.closeAllConnections?.();
  s.close();
}
writeFileSync(join(args.out, "results.json"), JSON.stringify(results, null, 2));
if (failures.length) {
  console.error(`FAILED:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log("web bundle: all browser checks passed");
