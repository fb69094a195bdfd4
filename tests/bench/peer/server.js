// server.js: the Socket.IO peer the Chatr benchmark races (tests/bench, issue 7). One process,
// rooms, the same work as the hub's scenarios:
//   join      ack'd join of a room                       42<id>["join","g1"]       -> 43<id>[true]
//   send      to a room, sender included (like sendToGroup without noEcho)
//             42["send",{"room":"g1","data":{...}}]      -> 42["msg",{"room":"g1","data":{...}}]
//   echo      a server handler answers the sender        42["echo",{...}]          -> 42["echo",{...}]
//   toUser    to every socket of a user (?user=<id> in the handshake URL)
//             42["toUser",{"user":"u1","data":{...}}]    -> 42["msg",{"data":{...}}]
//   HTTP      POST /users/<id>/send with a JSON body: the same from the server side (like the
//             REST send-to-user of Web PubSub), 202      -> 42["msg",{"data":<body>}]
// Usage: node server.js <port>   (listens on 127.0.0.1; prints "listening <port>" when ready)
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const MAX_BODY = 1e6; // bytes of one HTTP send, as the hub's REST limit
const USER_SEND = /^\/users\/([^/?]{1,1024})\/send$/;

// Server-side send to a user (POST /users/<id>/send, JSON body), answered 202 like the REST API.
function userSend(req, res, user) {
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > MAX_BODY) {
      res.writeHead(413);
      res.end();
      req.destroy();
    } else chunks.push(c);
  });
  req.on("end", () => {
    if (size > MAX_BODY) return;
    let data;
    try {
      data = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    io.to("user:" + decodeURIComponent(user)).emit("msg", { data });
    res.writeHead(202, { "Content-Length": "0" });
    res.end();
  });
}

const httpServer = http.createServer((req, res) => {
  const m = req.method === "POST" ? USER_SEND.exec(req.url) : null;
  if (m) return userSend(req, res, m[1]);
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1e6,
});

io.on("connection", (socket) => {
  const user = socket.handshake.query.user;
  if (typeof user === "string" && user) socket.join("user:" + user);
  socket.on("join", (room, ack) => {
    if (typeof room === "string") socket.join("room:" + room);
    if (typeof ack === "function") ack(typeof room === "string");
  });
  socket.on("send", (m) => {
    if (m && typeof m.room === "string") io.to("room:" + m.room).emit("msg", m);
  });
  socket.on("echo", (m, ack) => {
    if (typeof ack === "function") ack(m);
    else socket.emit("echo", m);
  });
  socket.on("toUser", (m) => {
    if (m && typeof m.user === "string") io.to("user:" + m.user).emit("msg", m);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log("listening " + httpServer.address().port);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
