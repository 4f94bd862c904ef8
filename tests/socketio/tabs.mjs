// The original Tiketi React client's waiting room, as it behaves during a sale, with the
// official socket.io-client 4.8, driven by the Rust tests. Its EventDetail page re-renders every
// second and the waiting-room modal's effect (useQueueUpdates) runs again each time: it
// disconnects the tab's socket and opens a NEW one, which sends `join-queue {eventId}` on
// connect. This runs TABS such tabs of one fan for SECONDS seconds, one new socket per tab per
// second, and prints one JSON line per thing that happens: each join's ack (`{type: "ack", tab,
// data}`, or `no-ack`), every `request-refused` and `queue-updated` (`{type: "event", tab, event,
// data}`), each connect_error; then `{type: "done"}`. (The original emits without an ack; asking
// for one only lets the test see each answer.)
//
//   node tabs.mjs URL TOKEN EVENT_ID TABS SECONDS
import { io } from "socket.io-client";

const [url, token, eventId, tabs, seconds] = process.argv.slice(2);
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const open = (tab) => {
  const socket = io(url, {
    auth: { token },
    transports: ["websocket"],
    reconnection: false,
    // Each render's `io()` gets its own connection, as the original's did once the previous
    // one was disconnected.
    forceNew: true,
  });
  socket.on("connect", async () => {
    try {
      const data = await socket.timeout(3000).emitWithAck("join-queue", { eventId });
      print({ type: "ack", tab, data });
    } catch {
      print({ type: "no-ack", tab });
    }
  });
  socket.on("connect_error", (err) => print({ type: "connect_error", tab, message: err.message }));
  for (const event of ["request-refused", "queue-updated", "queue-cleared"]) {
    socket.on(event, (data) => print({ type: "event", tab, event, data }));
  }
  return socket;
};

const run = (tab) =>
  new Promise((resolve) => {
    let socket = open(tab);
    let renders = 1;
    const timer = setInterval(() => {
      // The effect's cleanup, then the effect again.
      socket.disconnect();
      if (renders >= Number(seconds)) {
        clearInterval(timer);
        resolve();
        return;
      }
      socket = open(tab);
      renders += 1;
    }, 1000);
  });

// The tabs were opened a moment apart, not in the same millisecond.
await Promise.all(
  Array.from({ length: Number(tabs) }, (_, tab) =>
    new Promise((r) => setTimeout(r, tab * 150)).then(() => run(tab)),
  ),
);
print({ type: "done" });
process.exit(0);
