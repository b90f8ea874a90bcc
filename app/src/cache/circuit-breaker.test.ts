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
});
