/** Domain and framework errors mapped to HTTP in one place, checked through a real Express app. */
import type { AddressInfo } from "node:net";
import express from "express";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { BudgetExceededError } from "../ai/usage";
import { DatabaseUnavailableError } from "../db/database";
import { CursorError } from "../domain/cursor";
import { NotFoundError } from "../domain/errors";
import { createMetrics } from "../telemetry/metrics";
import { requestContext } from "./context";
import { errorBody, errorHandler, HttpError, parse } from "./errors";

const unexpected: unknown[] = [];
/** The request lines of the app's request context. */
const requestLines: Array<{ level: number; msg: string; status: number }> = [];
let base: string;
let close: () => void;
/** The error the next request to /throw raises. */
let next: unknown;

beforeAll(async () => {
  const app = express();
  const log = pino({ level: "info" }, { write: (line: string) => requestLines.push(JSON.parse(line)) });
  app.use(requestContext(log, createMetrics({ version: "t", commit: "t" })));
  app.use(express.json({ limit: "100b" }));
  app.get("/throw", () => {
    throw next;
  });
  app.post("/echo", (request, response) => {
    response.json(request.body);
  });
  app.use(errorHandler((error) => unexpected.push(error)));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(() => close?.());

async function raise(error: unknown) {
  next = error;
  unexpected.length = 0;
  requestLines.length = 0;
  const response = await fetch(`${base}/throw`);
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: await response.json(),
  };
}

describe("error mapping", () => {
  it("an HttpError keeps its status, code, message and Retry-After", async () => {
    expect(await raise(new HttpError(429, "rate_limited", "slow down", { retryAfterSeconds: 7 }))).toEqual({
      status: 429,
      retryAfter: "7",
      body: { error: { code: "rate_limited", message: "slow down" } },
    });
    expect(await raise(new NotFoundError("chatbot"))).toEqual({
      status: 404,
      retryAfter: null,
      body: { error: { code: "not_found", message: "chatbot not found" } },
    });
    expect(unexpected).toEqual([]);
  });

  it("an AI budget exhausted is a 429 until the budget renews", async () => {
    const now = new Date("2026-03-31T23:59:00Z");
    const result = await raise(new BudgetExceededError(1000, 1000, now));
    expect(result.status).toBe(429);
    expect(result.retryAfter).toBe("60");
    expect(result.body.error.code).toBe("ai_budget_exceeded");
    expect(result.body.error.message).toContain("renews on 2026-04-01");
  });

  it("a bad cursor is a 400 naming the query parameter", async () => {
    expect((await raise(new CursorError("cursor is not one this API returned"))).body).toEqual({
      error: { code: "invalid_cursor", message: "query.cursor: cursor is not one this API returned" },
    });
  });

  it("the database down is a 503 with Retry-After, not reported as unexpected", async () => {
    const result = await raise(new DatabaseUnavailableError("primary down"));
    expect(result).toEqual({
      status: 503,
      retryAfter: "2",
      body: {
        error: { code: "database_unavailable", message: "the database is unavailable; retry shortly" },
      },
    });
    expect(unexpected).toEqual([]);
    // A known state, logged once where it is detected: each refused request's line is info, not error.
    await vi.waitFor(() =>
      expect(requestLines).toEqual([expect.objectContaining({ status: 503, level: 30 })]),
    );
  });

  it("a PostgreSQL data exception (SQLSTATE class 22) is the client's 400; other SQLSTATEs are 500s", async () => {
    for (const code of ["22021", "22P05", "22008", "22P02"]) {
      const result = await raise(Object.assign(new Error("bad value"), { code }));
      expect(result.status, code).toBe(400);
      expect(result.body.error.code).toBe("invalid_input");
    }
    for (const code of ["23505", "22", "122021", "2202", "XX000"]) {
      const result = await raise(Object.assign(new Error("db"), { code }));
      expect(result.status, code).toBe(500);
      expect(result.body).toEqual({ error: { code: "internal", message: "internal error" } });
      expect(unexpected).toHaveLength(1);
    }
  });

  it("an unexpected error is a 500 saying only 'internal error', and is reported", async () => {
    const error = new Error("secret detail");
    expect(await raise(error)).toEqual({
      status: 500,
      retryAfter: null,
      body: { error: { code: "internal", message: "internal error" } },
    });
    expect(unexpected).toEqual([error]);
    await vi.waitFor(() =>
      expect(requestLines).toEqual([
        expect.objectContaining({ status: 500, level: 50, msg: "request failed" }),
      ]),
    );
    // A 5xx HttpError without Retry-After is a failure too; its cause is what gets reported.
    const cause = new Error("root cause");
    await raise(new HttpError(502, "bad_gateway", "upstream failed", { cause }));
    expect(unexpected).toEqual([cause]);
    const plain = new HttpError(500, "boom", "boom");
    await raise(plain);
    expect(unexpected).toEqual([plain]);
  });

  it("body-parser errors: too large is 413, malformed JSON is 400, other 4xx keep their status", async () => {
    const post = (body: string) =>
      fetch(`${base}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const large = await post(JSON.stringify({ text: "x".repeat(200) }));
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({
      error: { code: "payload_too_large", message: "request body is too large" },
    });
    const malformed = await post("{not json");
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error).toEqual({
      code: "invalid_json",
      message: "request body is not valid JSON",
    });
    expect((await raise(Object.assign(new Error("gone"), { status: 410 }))).body).toEqual({
      error: { code: "bad_request", message: "gone" },
    });
    expect((await raise(Object.assign(new Error("teapot"), { status: 499 }))).status).toBe(499);
    expect((await raise(Object.assign(new Error("odd"), { status: 500 }))).status).toBe(500);
    expect((await raise(Object.assign(new Error("odd"), { status: 399 }))).status).toBe(500);
  });

  it("errorBody hides unexpected errors", () => {
    expect(errorBody(new Error("x"))).toEqual({ error: { code: "internal", message: "internal error" } });
  });
});

describe("parse", () => {
  const schema = z.object({ email: z.email(), limit: z.number().int().max(100) });

  it("returns the parsed value", () => {
    expect(parse(schema, { email: "a@example.com", limit: 5 }, "body")).toEqual({
      email: "a@example.com",
      limit: 5,
    });
  });

  it("throws a 400 naming every field that failed, with where it came from", () => {
    let caught: unknown;
    try {
      parse(schema, { email: "nope", limit: 500 }, "query");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HttpError);
    const error = caught as HttpError;
    expect(error.status).toBe(400);
    expect(error.code).toBe("validation_failed");
    expect(error.name).toBe("HttpError");
    expect(error.message).toMatch(/^query\.email: .+; query\.limit: .+$/);
  });
});
