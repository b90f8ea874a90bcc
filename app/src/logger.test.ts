import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, isoTimeOncePerMs, serializeError, TurnBufferedDestination } from "./logger";

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

describe("TurnBufferedDestination", () => {
  it("hands the lines of one event-loop turn to its target in one write, at the end of that turn", async () => {
    const writes: string[] = [];
    const log = createLogger(
      { logLevel: "info", appVersion: "t" },
      new TurnBufferedDestination({ write: (chunk: string) => writes.push(chunk) }),
    );
    log.info("one");
    log.info("two");
    log.info("three");
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    expect(
      writes[0]!
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line).msg),
    ).toEqual(["one", "two", "three"]);
    log.info("next turn");
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.map((chunk) => chunk.match(/"msg":"([^"]+)"/g)?.length)).toEqual([3, 1]);
  });

  it("hands pending lines over at once on logger.flush()", () => {
    const writes: string[] = [];
    const log = createLogger(
      { logLevel: "info", appVersion: "t" },
      new TurnBufferedDestination({ write: (chunk: string) => writes.push(chunk) }),
    );
    log.info("flushed");
    log.flush();
    expect(writes.join("")).toContain('"msg":"flushed"');
  });

  // The lines a process logs in its last turn, ended early by process.exit or an uncaught error. Some
  // hundred kilobytes of them: more than an asynchronous write to stdout finishes before the exit.
  it.each([
    ["process.exit(3)", 3],
    ["throw new Error('crashed')", 1],
  ])("writes the last turn's lines to stdout when the process ends with %s", (ending, code) => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(join(__dirname, "logger.ts"))});
      const log = createLogger({ logLevel: "info", appVersion: "t" });
      log.info("first");
      for (let line = 0; line < 500; line++) log.info({ filler: "x".repeat(500) }, "filler");
      log.error("last words");
      ${ending};`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(child.status).toBe(code);
    const messages = child.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line).msg);
    expect(messages).toEqual(["first", ...Array(500).fill("filler"), "last words"]);
  });
});
