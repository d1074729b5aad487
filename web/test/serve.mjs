// A static server for the web bundle and test data, with HTTP Range support (what COPC
// streaming needs), like any web server a territory would use.
//
//   node web/test/serve.mjs BUNDLE_DIR DATA_DIR [PORT]
//
// `/…` serves BUNDLE_DIR, `/data/…` serves DATA_DIR, `/norange/…` serves DATA_DIR ignoring
// Range headers (a server without range support), `/stall/…` never answers (a stalled
// server), `POST /consultation` is a consultation server that can be made to fail. With
// `cors`, any origin may read it (the headers a data server on another origin needs). Prints
// the port on its first line.
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".geojson": "application/geo+json",
  ".png": "image/png",
};

const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "Range",
  "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges",
};

export function serve(bundleDir, dataDir, port = 0, { cors = false } = {}) {
  const stats = { requests: 0, bytes: 0 };
  const consultation = { failing: false, tries: 0, received: [] };
  const server = createServer((request, response) => {
    stats.requests += 1;
    if (cors) for (const [k, v] of Object.entries(CORS)) response.setHeader(k, v);
    if (request.method === "OPTIONS") {
      response.writeHead(cors ? 204 : 405);
      response.end();
      return;
    }
    const url = new URL(request.url, "http://localhost");
    // A consultation server: POST /consultation takes an opinion (JSON) and answers 200, or
    // 500 while `consultation.failing` is set; every try is counted.
    if (url.pathname === "/consultation" && request.method === "POST") {
      const chunks = [];
      request.on("data", (c) => chunks.push(c));
      request.on("end", () => {
        consultation.tries += 1;
        if (consultation.failing) {
          response.writeHead(500, { "Content-Type": "text/plain" });
          response.end("the consultation server is down");
          return;
        }
        try {
          consultation.received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          response.writeHead(200, { "Content-Type": "application/json" });
          response.end('{"ok":true}');
        } catch {
          response.writeHead(400, { "Content-Type": "text/plain" });
          response.end("not JSON");
        }
      });
      return;
    }
    // A stalled server: the request stays open until the client gives up.
    if (url.pathname.startsWith("/stall/")) return;
    let root = resolve(bundleDir);
    let path = decodeURIComponent(url.pathname);
    let ranges = true;
    for (const [prefix, withRanges] of [["/data/", true], ["/norange/", false]]) {
      if (path.startsWith(prefix)) {
        root = resolve(dataDir);
        path = path.slice(prefix.length - 1);
        ranges = withRanges;
      }
    }
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(root, path));
    let size;
    try {
      if (!file.startsWith(root)) throw new Error("outside");
      size = statSync(file).size;
    } catch {
      response.writeHead(404, { "Content-Type": "text/plain" });
      response.end("not found");
      return;
    }
    const headers = {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Cache-Control": "no-store",
    };
    if (ranges) headers["Accept-Ranges"] = "bytes";
    const asked = ranges && /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (asked) {
      start = Number(asked[1]);
      end = asked[2] === "" ? size - 1 : Math.min(Number(asked[2]), size - 1);
      if (start >= size || end < start) {
        response.writeHead(416, { "Content-Range": `bytes */${size}` });
        response.end();
        return;
      }
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["Content-Length"] = String(end - start + 1);
    response.writeHead(status, headers);
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    stats.bytes += end - start + 1;
    createReadStream(file, { start, end }).pipe(response);
  });
  return new Promise((done) =>
    server.listen(port, "127.0.0.1", () =>
      done({ server, port: server.address().port, stats, consultation }),
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [bundleDir, dataDir, port] = process.argv.slice(2);
  const { port: bound } = await serve(bundleDir, dataDir, Number(port ?? 0));
  console.log(`http://127.0.0.1:${bound}/`);
}
