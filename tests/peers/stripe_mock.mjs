// stripe-stateful-mock (pinned in package.json) bound to 127.0.0.1 only, with
// a journal: every request it receives is appended to $JOURNAL as a JSON line
// (method, path, idempotency key), so that a test can count what reached it.
//   PORT=8000 JOURNAL=/tmp/j.jsonl node stripe_mock.mjs
import { appendFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const log = require("loglevel");
const { createExpressApp } = require("stripe-stateful-mock");

log.setLevel(process.env.LOG_LEVEL || "warn");
const journal = process.env.JOURNAL;
const inner = createExpressApp();
const express = require("express");
const app = express();
app.use((req, res, next) => {
  if (journal) {
    appendFileSync(journal, JSON.stringify({
      method: req.method,
      path: req.originalUrl,
      idempotency_key: req.get("Idempotency-Key") || null,
      content_type: req.get("Content-Type") || null,
    }) + "\n");
  }
  next();
});
app.use(inner);
const port = Number(process.env.PORT || 8000);
app.listen(port, "127.0.0.1", () => console.log(`stripe-stateful-mock on 127.0.0.1:${port}`));
