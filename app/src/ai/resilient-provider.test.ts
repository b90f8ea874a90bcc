/**
 * Retries of the AI call: a retryable failure before any token is retried with backoff; once a
 * token has reached the client a retry would repeat or contradict it, so the failure is final.
 * Once the circuit is open, calls are refused with the time left until its half-open probe.
 */
import { getEventListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CircuitOpenError } from "../cache/circuit-breaker";
import { createMetrics } from "../telemetry/metrics";
import {
  type AiProvider,
  type Completion,
  type CompletionRequest,
  type GenerateOptions,
  RetryableProviderError,
} from "./provider";
import { AiTimeoutError, ResilientProvider } from "./resilient-provider";

const request: CompletionRequest = { systemPrompt: "s", knowledge: [], history: [], userMessage: "hi" };
const reply: Completion = { text: "hello there", promptTokens: 3, completionTokens: 2 };

/** A provider that plays one scripted attempt per call: tokens to stream, then a reply or an error. */
function scripted(attempts: Array<{ tokens?: string[]; fail?: Error }>) {
  let calls = 0;
  const provider: AiProvider = {
    name: "scripted",
    model: "m",
    routable: false,
    usesHistory: false,
    async generate(_request, { onToken }: GenerateOptions) {
      const attempt = attempts[calls++] ?? {};
      for (const token of attempt.tokens ?? []) onToken?.(token);
      if (attempt.fail) throw attempt.fail;
      return reply;
    },
  };
  return { provider, calls: () => calls };
}

const resilient = (inner: AiProvider) =>
  new ResilientProvider(inner, {
    timeoutMs: 5000,
    maxRetries: 2,
    backoffMs: 1,
    metrics: createMetrics({ version: "t", commit: "t" }),
  });

describe("ResilientProvider retries", () => {
  it("retries a retryable failure that came before any token", async () => {
    const { provider, calls } = scripted([
      { fail: new RetryableProviderError("503") },
      { tokens: ["hello "] },
    ]);
    const tokens: string[] = [];
    const completion = await resilient(provider).generate(request, {
      signal: new AbortController().signal,
      onToken: (text) => tokens.push(text),
    });
    expect(completion).toEqual(reply);
    expect(calls()).toBe(2);
    expect(tokens).toEqual(["hello "]);
  });

  it("does not retry once a token has been streamed: the client already has it", async () => {
    const { provider, calls } = scripted([
      { tokens: ["hel"], fail: new RetryableProviderError("connection reset") },
      { tokens: ["hello there"] },
    ]);
    const tokens: string[] = [];
    await expect(
      resilient(provider).generate(request, {
        signal: new AbortController().signal,
        onToken: (text) => tokens.push(text),
      }),
    ).rejects.toThrow("connection reset");
    expect(calls()).toBe(1);
    expect(tokens).toEqual(["hel"]);
  });

  it("gives up after maxRetries retries, and never retries a final error", async () => {
    const failing = scripted(Array.from({ length: 5 }, () => ({ fail: new RetryableProviderError("503") })));
    await expect(
      resilient(failing.provider).generate(request, { signal: new AbortController().signal }),
    ).rejects.toThrow("503");
    expect(failing.calls()).toBe(3);
    const final = scripted([{ fail: new Error("400 bad request") }, {}]);
    await expect(
      resilient(final.provider).generate(request, { signal: new AbortController().signal }),
    ).rejects.toThrow("400 bad request");
    expect(final.calls()).toBe(1);
  });
});

/** A provider that answers only when its signal aborts: with that abort's reason. */
function hanging() {
  const reasons: unknown[] = [];
  const provider: AiProvider = {
    name: "hanging",
    model: "m",
    routable: false,
    usesHistory: false,
    generate: (_request, { signal }: GenerateOptions) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener("abort", () => {
          reasons.push(signal.reason);
          reject(signal.reason);
        }),
      ),
  };
  return { provider, reasons };
}

describe("ResilientProvider timeout", () => {
  it("aborts each attempt after timeoutMs, retries it, then answers with AiTimeoutError", async () => {
    const { provider, reasons } = hanging();
    const quick = new ResilientProvider(provider, {
      timeoutMs: 30,
      maxRetries: 1,
      backoffMs: 1,
      metrics: createMetrics({ version: "t", commit: "t" }),
    });
    await expect(quick.generate(request, { signal: new AbortController().signal })).rejects.toThrow(
      AiTimeoutError,
    );
    expect(reasons.map((reason) => (reason as Error).name)).toEqual(["TimeoutError", "TimeoutError"]);
  });

  it("passes the caller's abort on to the attempt and does not retry it", async () => {
    const { provider, reasons } = hanging();
    const caller = new AbortController();
    const answer = resilient(provider).generate(request, { signal: caller.signal });
    caller.abort(new Error("client gone"));
    await expect(answer).rejects.toThrow("client gone");
    expect(reasons).toHaveLength(1);
  });

  it("ends the attempt's timer and its listener on the caller's signal once answered", async () => {
    let attemptSignal: AbortSignal | undefined;
    const provider: AiProvider = {
      ...scripted([]).provider,
      async generate(_request, { signal }: GenerateOptions) {
        attemptSignal = signal;
        return reply;
      },
    };
    const caller = new AbortController();
    const quick = new ResilientProvider(provider, {
      timeoutMs: 30,
      maxRetries: 0,
      metrics: createMetrics({ version: "t", commit: "t" }),
    });
    await quick.generate(request, { signal: caller.signal });
    await sleep(80);
    // With AbortSignal.timeout its timer ran on (and aborted the attempt's signal) after the answer.
    expect(attemptSignal?.aborted).toBe(false);
    expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
  });
});

describe("ResilientProvider circuit", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("refuses calls while open, saying how long until the half-open probe", async () => {
    // Only the clock is faked: the breaker reads Date.now, the backoff still sleeps for real.
    vi.useFakeTimers({ toFake: ["Date"], now: 0 });
    const failing = scripted(Array.from({ length: 5 }, () => ({ fail: new Error("400 bad request") })));
    const provider = resilient(failing.provider);
    const call = () => provider.generate(request, { signal: new AbortController().signal });
    for (let failure = 0; failure < 5; failure++) await expect(call()).rejects.toThrow("400 bad request");
    expect(provider.breaker.state).toBe("open");
    vi.setSystemTime(2_500);
    const refused = await call().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    // A 10 s cool-down opened at 0: 7.5 s left, rounded up.
    expect(refused).toMatchObject({ retryAfterSeconds: 8 });
    expect(failing.calls()).toBe(5);
  });
});
