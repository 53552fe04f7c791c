// A cStar webhook endpoint in Node (standard library only): it checks the
// Cstar-Signature header over the raw body, refuses timestamps more than 5
// minutes off (replays), and ignores event ids it has handled already
// (deliveries are at least once).
//   CSTAR_WEBHOOK_SECRET=whsec_… PORT=3000 node webhook-receiver.mjs
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const TOLERANCE_SECONDS = 5 * 60;

// verify returns true when one v1 signature of header is the HMAC-SHA256 of
// "<t>.<rawBody>" under secret (the whole "whsec_…" string), and t is recent.
export function verify(secret, header, rawBody, nowSeconds = Date.now() / 1000) {
  let t = NaN;
  const signatures = [];
  for (const part of (header ?? "").split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t") t = Number(value);
    else if (key === "v1" && value) signatures.push(value);
  }
  if (!Number.isInteger(t) || signatures.length === 0) return false;
  if (Math.abs(nowSeconds - t) > TOLERANCE_SECONDS) return false;
  const expected = createHmac("sha256", secret).update(`${t}.`).update(rawBody).digest();
  return signatures.some((s) => {
    const got = Buffer.from(s, "hex");
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

const secret = process.env.CSTAR_WEBHOOK_SECRET;
const handled = new Set(); // in production: your database, keyed by event id

createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks); // the exact bytes: never re-serialise before verifying
    if (!verify(secret, req.headers["cstar-signature"], raw)) {
      console.log("rejected", req.headers["cstar-event-id"] ?? "-");
      res.writeHead(400).end("bad signature");
      return;
    }
    const event = JSON.parse(raw.toString("utf8"));
    if (!handled.has(event.id)) {
      handled.add(event.id);
      console.log("verified", event.type, event.id); // handle event.data here, quickly
    }
    res.writeHead(200).end("ok"); // a 2xx within 10 s, or cStar retries
  });
}).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
