// Load generator for scripts/bench-holds (Node, no dependencies). Modes:
//   node bench-holds.mjs keygen DIR
//       writes DIR/public.pem and DIR/private.pem (an Ed25519 key the bench server trusts)
//   node bench-holds.mjs run --url URL --event ID --seats FILE --key DIR
//                            [--concurrency 64] [--seats-per-hold 1] [--max-seconds 60]
//       every request is a new fan (a token minted here) holding the next seats of a shuffled
//       list, so each seat is asked for once; prints holds/s, seats/s and latency percentiles.
//       With --probe auth each request sends an empty seat list instead: the server verifies the
//       token, parses the body and answers 400 without touching Redis or Postgres, which
//       measures the floor this client, HTTP and token checking set on this machine.
// It only ever talks to 127.0.0.1 and stops when the seats run out or the time bound is hit.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const [mode, ...rest] = process.argv.slice(2);

if (mode === "keygen") {
  const dir = rest[0];
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  fs.writeFileSync(path.join(dir, "public.pem"), publicKey.export({ type: "spki", format: "pem" }));
  fs.writeFileSync(path.join(dir, "private.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
  process.exit(0);
}
if (mode !== "run") {
  console.error("usage: bench-holds.mjs keygen DIR | run --url URL --event ID --seats FILE --key DIR");
  process.exit(2);
}

const opts = { concurrency: 64, "seats-per-hold": 1, "max-seconds": 60 };
for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, "")] = rest[i + 1];
const url = new URL(opts.url);
if (url.hostname !== "127.0.0.1") {
  console.error("bench-holds only runs against 127.0.0.1");
  process.exit(2);
}
const concurrency = Number(opts.concurrency);
const perHold = Number(opts["seats-per-hold"]);
const maxMs = Number(opts["max-seconds"]) * 1000;
const privateKey = crypto.createPrivateKey(fs.readFileSync(path.join(opts.key, "private.pem")));
const seats = fs.readFileSync(opts.seats, "utf8").split("\n").map((s) => s.trim()).filter(Boolean);
for (let i = seats.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [seats[i], seats[j]] = [seats[j], seats[i]];
}

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
function fanToken() {
  const id = crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const header = b64({ alg: "EdDSA", typ: "JWT", kid: "bench" });
  const claims = b64({
    sub: id, userId: id, email: `${id}@bench.tiketi.example`, role: "user",
    iss: "tiketi-auth", aud: "tiketi", iat: now, exp: now + 3600, jti: crypto.randomUUID(),
  });
  const signature = crypto.sign(null, Buffer.from(`${header}.${claims}`), privateKey).toString("base64url");
  return `${header}.${claims}.${signature}`;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
function post(body, token) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      {
        host: url.hostname, port: url.port, path: "/api/seats/reserve", method: "POST", agent,
        headers: {
          "content-type": "application/json", "content-length": Buffer.byteLength(data),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

// Tokens are minted up front so signing does not count against the server.
const jobs = [];
for (let i = 0; i + perHold <= seats.length; i += perHold) {
  jobs.push({ seatIds: seats.slice(i, i + perHold), token: fanToken() });
}
const latencies = [];
const statuses = {};
let next = 0;
let heldSeats = 0;
const started = process.hrtime.bigint();
const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;

async function worker() {
  while (next < jobs.length && elapsedMs() < maxMs) {
    const job = jobs[next++];
    const t0 = process.hrtime.bigint();
    const seatIds = opts.probe === "auth" ? [] : job.seatIds;
    const status = await post({ eventId: opts.event, seatIds }, job.token);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    statuses[status] = (statuses[status] || 0) + 1;
    if (status === 201) heldSeats += job.seatIds.length;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = elapsedMs() / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
const holds = statuses[201] || 0;
console.log(JSON.stringify({
  concurrency, seatsPerHold: perHold, requests: latencies.length, statuses,
  seconds: Number(seconds.toFixed(2)),
  holdsPerSecond: Math.round(holds / seconds), seatsHeldPerSecond: Math.round(heldSeats / seconds),
  latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1).toFixed(1) },
}, null, 1));
agent.destroy();
