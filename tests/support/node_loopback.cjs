// Preloaded (`node --require`) into third-party Node servers started by the tests: a server that asks to listen
// on a bare port (server-everything calls `app.listen(PORT)`, which binds every interface) binds 127.0.0.1 instead.
"use strict";
const net = require("node:net");

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  const barePort = typeof port === "number" || (typeof port === "string" && /^\d+$/.test(port));
  if (barePort && typeof args[1] !== "string") {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
