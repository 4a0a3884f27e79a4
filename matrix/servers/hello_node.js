// The hello app that `make matrix` runs on Node's built-in http module:
// 200 and a short text on /hello, 404 elsewhere. HEAD, bodies, framing and
// everything else are left to the module. Usage: node hello_node.js PORT
// (binds 127.0.0.1).
"use strict";
const http = require("node:http");

function pathOf(target) {
  try {
    return new URL(target, "http://localhost").pathname;
  } catch {
    return null;
  }
}

http
  .createServer((req, res) => {
    const found = pathOf(req.url) === "/hello";
    const body = found ? "hello\n" : "not found\n";
    res.writeHead(found ? 200 : 404, {
      "Content-Type": "text/plain",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  })
  .listen(Number(process.argv[2]), "127.0.0.1");
