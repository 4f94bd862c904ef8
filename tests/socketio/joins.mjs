// A Socket.IO client (the official socket.io-client 4.8) that sends room joins one after
// another, each waiting for its acknowledgement, driven by the Rust tests: connects with
// `auth: {token}`, sends every `[event, eventId, bare]` of the JSON list JOINS (`{eventId}`, or
// the bare id when `bare` is true, as the original client does), and prints one JSON line
// per thing that happens (connect; connect_error; each ack, or `no-ack` when none came within
// 3 s, after which it stops; every server event). With LINGER_MS it then prints
// `{type: "joined"}` and keeps listening that long. It ends with `{type: "done"}`.
//
//   node joins.mjs URL TOKEN JOINS [LINGER_MS]
import { io } from "socket.io-client";

const [url, token, joins, lingerMs = "0"] = process.argv.slice(2);
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
const done = () => {
  print({ type: "done" });
  socket.close();
  process.exit(0);
};
setTimeout(done, 60000);
socket.on("connect_error", (err) => {
  print({ type: "connect_error", message: err.message });
  done();
});
socket.onAny((event, data) => print({ type: "event", event, data }));
socket.on("connect", async () => {
  print({ type: "connect", id: socket.id });
  for (const [event, eventId, bare] of JSON.parse(joins)) {
    try {
      const data = await socket.timeout(3000).emitWithAck(event, bare ? eventId : { eventId });
      print({ type: "ack", event, eventId, data });
    } catch {
      print({ type: "no-ack", event, eventId });
      break;
    }
  }
  if (Number(lingerMs) > 0) {
    print({ type: "joined" });
    setTimeout(done, Number(lingerMs));
  } else {
    done();
  }
});
