import { Writable } from "node:stream";
import { pino } from "pino";
import { expect, it } from "vitest";
import { createLogger, isoTimeOncePerMs, serializeError } from "./logger";

it("serializes errors without the objects libraries attach to them", () => {
  const error = Object.assign(new Error("terminating connection"), {
    code: "57P01",
    client: { secret: "pw" },
  });
  const serialized = serializeError(error);
  expect(serialized).toMatchObject({ type: "Error", message: "terminating connection", code: "57P01" });
  expect(serialized).not.toHaveProperty("client");
  expect(serializeError("plain")).toEqual({ message: "plain" });
});

it("writes JSON lines with secrets redacted wherever a caller logs them", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ logLevel: "info", appVersion: "9.9.9" }, sink);
  log.info(
    { body: { password: "hunter2", access_token: "eyJ.secret" }, headers: { authorization: "Bearer x" } },
    "x",
  );
  log.error({ err: Object.assign(new Error("boom"), { client: { password: "pw" } }) }, "failed");
  const [first, second] = lines.map((line) => JSON.parse(line));
  expect(first).toMatchObject({
    service: "parley",
    version: "9.9.9",
    msg: "x",
    body: { password: "[redacted]" },
  });
  expect(second.err).toMatchObject({ type: "Error", message: "boom" });
  const all = lines.join("");
  for (const secret of ["hunter2", "eyJ.secret", "Bearer x", '"pw"']) expect(all).not.toContain(secret);
});

it("stamps the same time text as pino's ISO timestamp, formatted anew whenever the millisecond changes", () => {
  let now = Date.parse("2026-12-01T17:00:00.000Z");
  const stamp = isoTimeOncePerMs(() => now);
  const realNow = Date.now;
  try {
    for (const step of [0, 0, 1, 1, 999, 1, 60_000, 0, 86_400_000]) {
      now += step;
      Date.now = () => now;
      expect(stamp()).toBe(pino.stdTimeFunctions.isoTime());
    }
  } finally {
    Date.now = realNow;
  }
});
