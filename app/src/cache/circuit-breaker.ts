/**
 * A circuit breaker: after `failureThreshold` consecutive failures it opens and callers skip the
 * dependency (no per-request timeout) until `cooldownMs` has passed; then one probe is let through
 * (half-open): success closes it, failure opens it again.
 */
import type { circuitStateValue } from "../../../contracts/metrics";

export type CircuitState = keyof typeof circuitStateValue;

export interface CircuitBreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  onStateChange?: (state: CircuitState) => void;
  now?: () => number;
}

export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor(
    readonly dependency: string,
    /** When to try again: the seconds until the breaker lets a probe through. */
    readonly retryAfterSeconds: number,
  ) {
    super(`${dependency} is unavailable (circuit open)`);
  }
}

export class CircuitBreaker {
  private currentState: CircuitState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    return this.currentState;
  }

  /** Whether a call may go to the dependency now; in half-open only one probe at a time may. */
  allow(): boolean {
    if (this.currentState === "closed") return true;
    if (this.currentState === "open") {
      if (this.now() - this.openedAt < this.options.cooldownMs) return false;
      this.transition("halfOpen");
    }
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /**
   * Seconds until the cool-down ends and a probe may go through, rounded up; at least 1, also while
   * a half-open probe is in flight (its outcome is due within a call's time).
   */
  secondsUntilProbe(): number {
    const remainingMs = this.openedAt + this.options.cooldownMs - this.now();
    return Math.max(1, Math.ceil(remainingMs / 1000));
  }

  success(): void {
    this.failures = 0;
    this.probeInFlight = false;
    if (this.currentState !== "closed") this.transition("closed");
  }

  failure(): void {
    this.probeInFlight = false;
    this.failures += 1;
    if (this.currentState === "halfOpen" || this.failures >= this.options.failureThreshold) this.open();
  }

  /** Opens at once (e.g. the connection is known to be lost). */
  open(): void {
    this.openedAt = this.now();
    this.probeInFlight = false;
    if (this.currentState !== "open") this.transition("open");
  }

  /** Runs `call` through the breaker: throws CircuitOpenError without calling when open. */
  async run<T>(dependency: string, call: () => Promise<T>): Promise<T> {
    if (!this.allow()) throw new CircuitOpenError(dependency, this.secondsUntilProbe());
    try {
      const result = await call();
      this.success();
      return result;
    } catch (error) {
      this.failure();
      throw error;
    }
  }

  private transition(state: CircuitState): void {
    this.currentState = state;
    this.options.onStateChange?.(state);
  }
}
