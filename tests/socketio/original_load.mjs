// The original Tiketi load script's protocol (scripts/queue-load-test.js of the Node.js
// Tiketi), told in our own words and driven by the Rust tests (tests/tests/original_client_queue.rs)
// with the libraries it used: axios for HTTP and the official socket.io-client 4.8.
//
// Every fan signs up (`POST /api/auth/register {email, password, name, phone}`; a 400 or 409 for
// an existing account is ignored, as the original did) and signs in (`POST /api/auth/login`,
// reading `token`), then all fans at once: open a socket with `auth: {token}` and send
// `join-queue {eventId}` on connect, join the waiting room with `POST /api/queue/check/:eventId`
// (reading `queued`, `position`, `threshold`, `currentUsers`) and wait for `queue-entry-allowed`.
// On every `queue-updated` a fan re-reads `GET /api/queue/status/:eventId`, as the original React
// client's waiting room does. (The original opened the socket after the check; opening it first
// means an admission decided in between cannot be missed, which the original only covered with
// its 5 s status poll.) With LEAVE, an admitted fan gives its slot back
// (`POST /api/queue/leave/:eventId`, as the original's dynamic test does), so the line moves.
//
// Prints `{type: "summary", ...}` as one JSON line when every fan is admitted or TIMEOUT_MS
// has passed: counts, every error, the positions the joins answered, the fans told
// `queue-entry-allowed` (and how often), and the arrival times of `queue-updated` per socket.
//
//   node original_load.mjs '{"apiUrl", "socketUrl", "eventId", "users", "emailPrefix",
//                            "leave", "timeoutMs", "concurrency"}'
import axios from "axios";
import { io } from "socket.io-client";

const opts = JSON.parse(process.argv[2]);
const { apiUrl, socketUrl, eventId, users } = opts;
const concurrency = opts.concurrency ?? 8;
const started = Date.now();
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const http = axios.create({ baseURL: apiUrl, timeout: 30000 });
const auth = (token) => ({ headers: { Authorization: `Bearer ${token}` } });

const errors = [];
const fail = (fan, step, err) =>
  errors.push({
    fan,
    step,
    status: err?.response?.status ?? null,
    body: err?.response?.data ?? String(err?.message ?? err),
  });

// Step 1: accounts, a few at a time (each sign-up and sign-in is a password hash).
async function signUpAndIn(index) {
  const email = `${opts.emailPrefix}${index}@test.com`;
  const password = "Test1234!";
  try {
    await http.post("/api/auth/register", {
      email,
      password,
      name: `LoadTestUser${index}`,
      phone: `010-0000-${String(index).padStart(4, "0")}`,
    });
  } catch (err) {
    const status = err?.response?.status;
    if (status !== 400 && status !== 409) {
      fail(index, "register", err);
      return null;
    }
  }
  try {
    const { data } = await http.post("/api/auth/login", { email, password });
    return { index, token: data.token, userId: data.user?.userId ?? data.user?.id };
  } catch (err) {
    fail(index, "login", err);
    return null;
  }
}

const fans = [];
{
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, users) }, async () => {
      while (next < users) {
        const fan = await signUpAndIn(next++);
        if (fan) fans.push(fan);
      }
    }),
  );
}
const ready = fans.length;

// Step 2: every fan at once.
const joins = [];
const told = {}; // fan index -> queue-entry-allowed count
const updates = {}; // fan index -> arrival times of queue-updated
const updatePayloads = [];
let statusReads = 0;
const sockets = [];
let settled = 0;
let finish;
const allSettled = new Promise((resolve) => {
  finish = resolve;
});
const settle = (fan) => {
  if (fan.settled) return;
  fan.settled = true;
  settled += 1;
  if (settled === fans.length) finish();
};

// With LEAVE, fans admitted while others are still joining keep their slot until every join
// was answered (so the places handed out are exactly the line at the end of the surge), then
// give it back; fans admitted later give it back at once.
let joinsDone = false;
const pendingLeaves = [];
async function leave(fan) {
  try {
    await http.post(`/api/queue/leave/${eventId}`, {}, auth(fan.token));
  } catch (err) {
    fail(fan.index, "leave", err);
  }
}
async function admitted(fan) {
  settle(fan);
  if (!opts.leave) return;
  if (joinsDone) await leave(fan);
  else pendingLeaves.push(fan);
}

async function run(fan) {
  const socket = io(socketUrl, {
    auth: { token: fan.token },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  socket.on("queue-entry-allowed", (data) => {
    told[fan.index] = (told[fan.index] ?? 0) + 1;
    if (data?.eventId !== eventId || (fan.userId && data?.userId !== fan.userId)) {
      errors.push({ fan: fan.index, step: "queue-entry-allowed", body: data });
    }
    if (fan.queued && told[fan.index] === 1) admitted(fan);
  });
  socket.on("queue-updated", async (data) => {
    (updates[fan.index] ??= []).push(Date.now());
    if (updatePayloads.length < 5) updatePayloads.push(data);
    try {
      statusReads += 1;
      await http.get(`/api/queue/status/${eventId}`, auth(fan.token));
    } catch (err) {
      fail(fan.index, "status", err);
    }
  });
  socket.on("connect_error", (err) => {
    fail(fan.index, "connect_error", err);
    settle(fan);
  });
  await new Promise((resolve) => {
    socket.on("connect", () => {
      socket.emit("join-queue", { eventId });
      resolve();
    });
    socket.on("connect_error", resolve);
  });
  if (!socket.connected) return;
  try {
    const { data } = await http.post(`/api/queue/check/${eventId}`, {}, auth(fan.token));
    joins.push({
      fan: fan.index,
      queued: data.queued,
      position: data.position ?? null,
      threshold: data.threshold,
      currentUsers: data.currentUsers,
    });
    fan.queued = data.queued;
    if (!data.queued) {
      await admitted(fan);
    } else if (told[fan.index]) {
      // Told before the answer arrived.
      await admitted(fan);
    }
  } catch (err) {
    fail(fan.index, "check", err);
    settle(fan);
  }
}

if (fans.length === 0) finish();
await Promise.all(fans.map(run));
joinsDone = true;
await Promise.all(pendingLeaves.splice(0).map(leave));
const timedOut = await Promise.race([
  allSettled.then(() => false),
  new Promise((r) => setTimeout(() => r(true), Number(opts.timeoutMs ?? 60000))),
]);

// One last status read, as the original did with its first fan.
let sample = null;
if (fans.length > 0) {
  try {
    sample = (await http.get(`/api/queue/status/${eventId}`, auth(fans[0].token))).data;
  } catch (err) {
    fail(0, "final-status", err);
  }
}
for (const s of sockets) s.close();
print({
  type: "summary",
  total: users,
  ready,
  allowedImmediately: joins.filter((j) => !j.queued).length,
  queued: joins.filter((j) => j.queued).length,
  positions: joins.filter((j) => j.queued).map((j) => j.position),
  joins: joins.length,
  thresholds: [...new Set(joins.map((j) => j.threshold))],
  told,
  notAdmitted: fans.filter((f) => !f.settled).map((f) => f.index),
  queuedFans: joins.filter((j) => j.queued).map((j) => j.fan),
  updates,
  updatePayloads,
  statusReads,
  sample,
  errors,
  timedOut,
  durationMs: Date.now() - started,
});
process.exit(0);
