// A fan's Socket.IO client (the official socket.io-client 4.8) driven line by line by the Rust
// tests: connects with `auth: {token}` and prints `{type: "connect"}`; then, for each line
// `[event, eventId]` read from stdin, sends `event` with `{eventId}` and prints its ack (`{type:
// "ack", event, data}`, or `{type: "no-ack", event}` after 3 s). Every server event, a
// connect_error and a disconnect are printed as one JSON line each. It exits on stdin's end, on
// disconnect or connect_error, or after 30 s.
//
//   node session.mjs URL TOKEN
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, token] = process.argv.slice(2);
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
const done = () => {
  socket.close();
  process.exit(0);
};
setTimeout(() => {
  print({ type: "timeout" });
  done();
}, 30000);
socket.on("connect", () => print({ type: "connect", id: socket.id }));
socket.on("connect_error", (err) => {
  print({ type: "connect_error", message: err.message });
  done();
});
socket.on("disconnect", (reason) => {
  print({ type: "disconnect", reason });
  // Let the lines printed before it reach the test, then end.
  setTimeout(done, 100);
});
socket.onAny((event, data) => print({ type: "event", event, data }));
const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const [event, eventId] = JSON.parse(line);
  try {
    const data = await socket.timeout(3000).emitWithAck(event, { eventId });
    print({ type: "ack", event, data });
  } catch {
    print({ type: "no-ack", event });
  }
});
lines.on("close", () => setTimeout(done, 500));
