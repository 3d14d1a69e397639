// Preloaded (`node --require`) into third-party Node servers started by the tests: a server that asks to listen
// on a bare port (server-everything calls `app.listen(PORT)`, which binds every interface) binds 127.0.0.1 instead.
"use strict";
const dns = require("node:dns");
const net = require("node:net");

// Given a host, Node binds only after looking it up, a tick later, where a bare port binds at once: servers that
// read server.address() right after listen(port) (the conformance suite's) would read null. The lookup of
// 127.0.0.1, as net's listen asks it, answers at once, so the bind stays as immediate as the server expects.
const lookup = dns.lookup;
dns.lookup = function (host, ...rest) {
  if (host === "127.0.0.1" && rest.length === 1 && typeof rest[0] === "function") {
    return rest[0](null, host, 4);
  }
  return lookup.call(this, host, ...rest);
};

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  const barePort = typeof port === "number" || (typeof port === "string" && /^\d+$/.test(port));
  if (barePort && typeof args[1] !== "string") {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
