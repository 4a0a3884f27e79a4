// Node's http-proxy (pinned in node/package-lock.json, installed there by
// `make proxies-deps` with `npm ci`) as a reverse proxy for the chain matrix
// (matrix/proxies.py): listens on 127.0.0.1:PORT and passes every request to the
// origin on 127.0.0.1:ORIGIN. Usage: node http-proxy.js PORT ORIGIN
//
// http-proxy's defaults: the client's Host kept (changeOrigin false),
// X-Forwarded-* not added (xfwd false), no agent: a new connection to the origin
// for each request, sent with `Connection: close`. The one addition a deployment needs:
// an `error` handler, without which http-proxy throws and the process exits on
// the first origin that fails; it answers 502 the way most deployments do.
// Each request is logged on stdout, which matrix/proxies.py keeps in its run
// directory.
"use strict";
const path = require("node:path");
const httpProxy = require(path.join(__dirname, "node", "node_modules", "http-proxy"));

const [port, origin] = process.argv.slice(2).map(Number);
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${origin}` });

proxy.on("error", (err, req, res) => {
  console.log(`${new Date().toISOString()} error ${req.method} ${req.url}: ${err.code || err.message}`);
  if (typeof res.writeHead !== "function") {
    res.destroy(); // an upgrade's socket
  } else if (!res.headersSent) {
    res.writeHead(502, { "Content-Type": "text/plain", "Content-Length": 12 });
    res.end("bad gateway\n");
  } else {
    res.destroy();
  }
});
proxy.on("proxyRes", (proxyRes, req) => {
  console.log(`${new Date().toISOString()} ${req.method} ${req.url} HTTP/${req.httpVersion} ${proxyRes.statusCode}`);
});

proxy.listen(port, "127.0.0.1");
