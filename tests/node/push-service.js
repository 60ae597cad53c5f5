// A real Web Push service for the tests: web-push-testing's server (subscribe, receive,
// decrypt and check VAPID, expire, list what arrived), listening on 127.0.0.1 only.
// Usage: node push-service.js PORT   (prints "ready" when it listens; stop it with SIGTERM)
"use strict";

const http = require("http");
const TestingServer = require("web-push-testing/src/server.js");
const { PushApiModel } = require("web-push-testing/src/PushApiModel.js");

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node push-service.js PORT");
  process.exit(2);
}
const model = new PushApiModel();
const server = new TestingServer(model, port);
model.notifyUrl = `http://127.0.0.1:${port}/notify/`;
// The package listens on every interface; ours listens on the loopback address only.
server._app.listen = (p, callback) => http.createServer(server._app).listen(p, "127.0.0.1", callback);
server._app.listen = server._app.listen.bind(server._app);
const originalLog = console.log;
console.log = (...args) => {
  originalLog(...args);
  if (String(args[0]).startsWith("Server running")) originalLog("ready");
};
server.startServer();
process.on("SIGTERM", () => process.exit(0));
