// A fan's Socket.IO client (the official socket.io-client 4.8), driven by the Rust tests:
// connects with `auth: {token}`, joins the queue and event rooms of EVENT_ID, and prints one JSON
// line per thing that happens (connect, with the transport in use; connect_error; disconnect;
// every server event). It exits after EXIT_ON arrives, or after TIMEOUT_MS, or on connect_error
// or disconnect. TRANSPORT is `websocket` (the default) or `polling`.
//
//   node watch.mjs URL TOKEN EVENT_ID [EXIT_ON] [TIMEOUT_MS] [TRANSPORT]
import { io } from "socket.io-client";

const [url, token, eventId, exitOn = "queue-entry-allowed", timeoutMs = "20000", transport = "websocket"] =
  process.argv.slice(2);
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const polling = transport === "polling";
const socket = io(url, {
  auth: { token },
  transports: polling ? ["polling"] : ["websocket"],
  // A browser sends its cookies (a load balancer's stickiness cookie among them) with every
  // same-origin polling request; under node, engine.io-client keeps a cookie jar only with
  // withCredentials, so this makes it behave like the browser.
  withCredentials: polling,
  reconnection: false,
});
const done = (code) => {
  socket.close();
  process.exit(code);
};
setTimeout(() => {
  print({ type: "timeout" });
  done(0);
}, Number(timeoutMs));
socket.on("connect", () => {
  print({ type: "connect", id: socket.id, transport: socket.io.engine.transport.name });
  socket.emit("join-queue", { eventId });
  socket.emit("join-event", { eventId });
});
socket.on("connect_error", (err) => {
  print({ type: "connect_error", message: err.message });
  done(0);
});
socket.on("disconnect", (reason) => {
  print({ type: "disconnect", reason });
  done(0);
});
socket.onAny((event, data) => {
  print({ type: "event", event, data, at: Date.now() });
  if (event === exitOn) done(0);
});
