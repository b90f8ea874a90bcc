/**
 * The load scenarios the scaling policy must meet. Load is concurrent users over time; one user is a
 * load-test virtual user (see capacity.ts). Times are in seconds.
 *
 * A scenario is sized in multiples of the pod's measured service rate, not in fixed users: its levels
 * are written as users at `sizedAtRequestsPerSecondPerCore` and scale with the policy's measured
 * per-core rate (policy.capacity), so a spike asks for the same number of pods, arriving as fast, and
 * a weak policy fails it, whatever the bench measured. Where a level is a requirement (the spike's
 * peak is the objectives' concurrent users; the growth plan ends at 10,000 users) it never falls
 * below those users: a capacity under the sized rate makes the scenario harder, never easier.
 */
import type { ScalingPolicy } from "../policy";

/**
 * The per-core rate the scenarios' user counts were written for: at this rate they are exactly the
 * users they name (spike 1000, growth 10,000), at twice it twice as many.
 */
export const sizedAtRequestsPerSecondPerCore = 550;

export interface Scenario {
  name: ScenarioName;
  description: string;
  durationSeconds: number;
  /** Simulation step; must divide the HPA sync period (15 s). */
  stepSeconds: number;
  /** Concurrent users at time t. */
  users(t: number): number;
  /** Times at which the load has just fallen to a lower level that then holds (scale-down checks). */
  settleChecks: number[];
  /** Day boundaries for multi-day scenarios (chart labels), in seconds. */
  dayStarts?: number[];
}

export const scenarioNames = ["baseline", "load", "stress", "spike", "growth"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

type Point = [seconds: number, users: number];

/** Piecewise-linear users over time through the given points (flat after the last). */
function piecewise(points: Point[]): (t: number) => number {
  return (t) => {
    for (let i = 1; i < points.length; i++) {
      const [t1, u1] = points[i];
      if (t <= t1) {
        const [t0, u0] = points[i - 1];
        return t1 === t0 ? u1 : u0 + ((u1 - u0) * (t - t0)) / (t1 - t0);
      }
    }
    return points[points.length - 1][1];
  };
}

const minute = 60;
const hour = 3600;
const day = 24 * hour;

/**
 * How many users each sized user becomes for `policy`: its measured per-core rate over the sized
 * one, raised so that `sizedPeak` users become at least `requiredPeak`.
 */
function loadScale(policy: ScalingPolicy, sizedPeak: number, requiredPeak = 0): number {
  const byCapacity = policy.capacity.requestsPerSecondPerCore / sizedAtRequestsPerSecondPerCore;
  return Math.max(byCapacity, requiredPeak / sizedPeak);
}

const usersText = (users: number) => Math.round(users).toLocaleString("en-US");

/** A ramp up, a hold and a ramp down to zero, then ten quiet minutes to watch the scale-down. */
function rampHoldRelease(
  name: ScenarioName,
  description: string,
  stages: Point[],
  rampDownSeconds: number,
  scale: number,
): Scenario {
  const end = stages[stages.length - 1][0];
  const released = end + rampDownSeconds;
  const points: Point[] = [[0, 0], [minute, 0], ...stages.map(([t, u]): Point => [t + minute, u * scale])];
  points.push([released + minute, 0]);
  return {
    name,
    description,
    durationSeconds: released + minute + 10 * minute,
    stepSeconds: 1,
    users: piecewise(points),
    settleChecks: [released + minute],
  };
}

/** Growth plan: 10 users in month 1 to 10,000 in month 12, geometric month over month. */
export const growthStartUsers = 10;
export const growthEndUsers = 10_000;
export const growthMonths = 12;

/** One day's shape as a fraction of the day's peak: a quiet night, a morning ramp, an office-hours plateau. */
const dailyShape: Point[] = [
  [0, 0.2],
  [6 * hour, 0.2],
  [10 * hour, 1],
  [17 * hour, 1],
  [22 * hour, 0.2],
  [day, 0.2],
];

function growth(scale: number): Scenario {
  const shape = piecewise(dailyShape);
  const monthlyFactor = (growthEndUsers / growthStartUsers) ** (1 / (growthMonths - 1));
  const peakOf = (month: number) => scale * growthStartUsers * monthlyFactor ** month;
  return {
    name: "growth",
    description: `12-month plan: one peak day per month, ${usersText(peakOf(0))} → ${usersText(peakOf(growthMonths - 1))} users at the daily peak`,
    durationSeconds: growthMonths * day,
    stepSeconds: 5,
    users: (t) => {
      const month = Math.min(Math.floor(t / day), growthMonths - 1);
      const timeOfDay = t - month * day;
      // The night carries the previous month's level over to this month's, so days join smoothly.
      const night = dailyShape[1][0];
      const peak =
        month > 0 && timeOfDay < night
          ? peakOf(month - 1) + ((peakOf(month) - peakOf(month - 1)) * timeOfDay) / night
          : peakOf(month);
      return Math.round(peak * shape(timeOfDay));
    },
    settleChecks: Array.from({ length: growthMonths }, (_, m) => m * day + 22 * hour),
    dayStarts: Array.from({ length: growthMonths }, (_, m) => m * day),
  };
}

/** The scenario `name` at `policy`'s measured capacity (and, for the spike, its objectives). */
export function scenario(name: ScenarioName, policy: ScalingPolicy): Scenario {
  switch (name) {
    case "baseline": {
      const scale = loadScale(policy, 50);
      return rampHoldRelease(
        "baseline",
        `${usersText(50 * scale)} users for 10 minutes`,
        [
          [30, 50],
          [30 + 10 * minute, 50],
        ],
        30,
        scale,
      );
    }
    case "load": {
      const scale = loadScale(policy, 200);
      return rampHoldRelease(
        "load",
        `ramp to ${usersText(200 * scale)} users over 2 min, hold 10 min`,
        [
          [2 * minute, 200],
          [12 * minute, 200],
        ],
        minute,
        scale,
      );
    }
    case "stress": {
      const scale = loadScale(policy, 500);
      return rampHoldRelease(
        "stress",
        `steps of ${usersText(100 * scale)} users every 2 min up to ${usersText(500 * scale)}, hold 5 min`,
        [1, 2, 3, 4, 5]
          .flatMap((step): Point[] => [
            [(step - 1) * 2 * minute + 1, step * 100],
            [step * 2 * minute, step * 100],
          ])
          .concat([[15 * minute, 500]]),
        minute,
        scale,
      );
    }
    case "spike":
      return spikeOf(policy, 1000);
    case "growth":
      return growth(loadScale(policy, growthEndUsers, growthEndUsers));
  }
}

/**
 * A spike from idle: `sizedUsers` (users at the sized rate, scaled like every level, never below the
 * objectives' concurrent users) arriving within ⌈sizedUsers / 50⌉ s — 50/s at the sized rate — held
 * 5 minutes, then all leaving at once. The invariants check the objectives' own peak this way.
 */
export function spikeOf(policy: ScalingPolicy, sizedUsers: number): Scenario {
  const rampSeconds = Math.max(1, Math.ceil(sizedUsers / 50));
  const scale = loadScale(policy, sizedUsers, policy.objectives.peakConcurrentUsers);
  const users = sizedUsers * scale;
  return rampHoldRelease(
    "spike",
    `${usersText(users)} users arriving at ${usersText(users / rampSeconds)}/s, hold 5 min, all leave at once`,
    [
      [rampSeconds, sizedUsers],
      [rampSeconds + 5 * minute, sizedUsers],
    ],
    0,
    scale,
  );
}
