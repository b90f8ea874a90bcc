import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitOpenError, type CircuitState } from "./circuit-breaker";

function breaker() {
  let now = 0;
  const states: CircuitState[] = [];
  const instance = new CircuitBreaker({
    failureThreshold: 2,
    cooldownMs: 1000,
    now: () => now,
    onStateChange: (state) => states.push(state),
  });
  return { instance, states, advance: (ms: number) => (now += ms) };
}

describe("CircuitBreaker", () => {
  it("opens after consecutive failures and skips calls while open", async () => {
    const { instance, states } = breaker();
    instance.failure();
    expect(instance.state).toBe("closed");
    instance.failure();
    expect(instance.state).toBe("open");
    let called = false;
    await expect(
      instance.run("redis", async () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
    expect(states).toEqual(["open"]);
  });

  it("lets one probe through after the cool-down; success closes it", () => {
    const { instance, states, advance } = breaker();
    instance.open();
    advance(1000);
    expect(instance.allow()).toBe(true);
    expect(instance.state).toBe("halfOpen");
    expect(instance.allow()).toBe(false);
    instance.success();
    expect(instance.state).toBe("closed");
    expect(states).toEqual(["open", "halfOpen", "closed"]);
  });

  it("re-opens when the probe fails", () => {
    const { instance, advance } = breaker();
    instance.open();
    advance(1000);
    instance.allow();
    instance.failure();
    expect(instance.state).toBe("open");
    expect(instance.allow()).toBe(false);
  });

  it("resets the failure count on success", () => {
    const { instance } = breaker();
    instance.failure();
    instance.success();
    instance.failure();
    expect(instance.state).toBe("closed");
  });

  it("lets every call through while closed and counts the outcome of run()", async () => {
    const { instance, states } = breaker();
    expect(instance.allow()).toBe(true);
    expect(instance.allow()).toBe(true);
    expect(await instance.run("redis", async () => 42)).toBe(42);
    await expect(
      instance.run("redis", async () => {
        throw new Error("down");
      }),
    ).rejects.toThrow("down");
    // One failure after the success: still closed; a second consecutive one opens it.
    expect(instance.state).toBe("closed");
    await expect(instance.run("redis", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(instance.state).toBe("open");
    await expect(instance.run("redis", async () => 1)).rejects.toThrow("redis is unavailable (circuit open)");
    expect(states).toEqual(["open"]);
  });

  it("a successful run() clears earlier failures; a probe through run() closes the circuit", async () => {
    const { instance, advance } = breaker();
    instance.failure();
    await instance.run("redis", async () => "ok");
    instance.failure();
    expect(instance.state).toBe("closed");
    instance.open();
    advance(1000);
    expect(await instance.run("redis", async () => "probe")).toBe("probe");
    expect(instance.state).toBe("closed");
    expect(instance.allow()).toBe(true);
  });

  it("reports each state change once, and names the error after the dependency", () => {
    const { instance, states } = breaker();
    instance.success();
    instance.open();
    instance.open();
    expect(states).toEqual(["open"]);
    const error = new CircuitOpenError("the AI provider", 3);
    expect(error.name).toBe("CircuitOpenError");
    expect(error.dependency).toBe("the AI provider");
    expect(error.retryAfterSeconds).toBe(3);
    expect(error.message).toBe("the AI provider is unavailable (circuit open)");
  });

  it("works without a state listener", () => {
    const quiet = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10, now: () => 0 });
    quiet.failure();
    expect(quiet.state).toBe("open");
  });

  it("tells a refused call the seconds until its probe, rounded up, at least 1", async () => {
    let now = 0;
    const instance = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10_000, now: () => now });
    const refusal = () =>
      instance.run("the AI provider", async () => "called").catch((error: CircuitOpenError) => error);
    instance.open();
    expect(await refusal()).toMatchObject({ name: "CircuitOpenError", retryAfterSeconds: 10 });
    now = 2_500;
    expect(await refusal()).toMatchObject({ retryAfterSeconds: 8 });
    now = 9_999;
    expect(await refusal()).toMatchObject({ retryAfterSeconds: 1 });
    // Half-open with its probe in flight: the next call is refused, and may retry in a second.
    now = 10_000;
    expect(instance.allow()).toBe(true);
    expect(await refusal()).toMatchObject({ retryAfterSeconds: 1 });
  });

  it("half-open after a failed probe waits a full cool-down again", () => {
    const { instance, advance } = breaker();
    instance.open();
    advance(1000);
    expect(instance.allow()).toBe(true);
    instance.failure();
    advance(999);
    expect(instance.allow()).toBe(false);
    advance(1);
    expect(instance.allow()).toBe(true);
  });
});
