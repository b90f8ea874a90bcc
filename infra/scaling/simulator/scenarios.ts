/**
 * The load scenarios the scaling policy must meet. Load is concurrent users over time; one user is a load-test
 * virtual user (see capacity.ts). Times are in seconds.
 */

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

/** A ramp up, a hold and a ramp down to zero, then ten quiet minutes to watch the scale-down. */
function rampHoldRelease(
  name: ScenarioName,
  description: string,
  stages: Point[],
  rampDownSeconds: number,
): Scenario {
  const end = stages[stages.length - 1][0];
  const released = end + rampDownSeconds;
  const points: Point[] = [[0, 0], [minute, 0], ...stages.map(([t, u]): Point => [t + minute, u])];
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

function growth(): Scenario {
  const shape = piecewise(dailyShape);
  const monthlyFactor = (growthEndUsers / growthStartUsers) ** (1 / (growthMonths - 1));
  const peakOf = (month: number) => growthStartUsers * monthlyFactor ** month;
  return {
    name: "growth",
    description: `12-month plan: one peak day per month, ${growthStartUsers} → ${growthEndUsers.toLocaleString("en-US")} users at the daily peak`,
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

export function scenario(name: ScenarioName): Scenario {
  switch (name) {
    case "baseline":
      return rampHoldRelease(
        "baseline",
        "50 users for 10 minutes",
        [
          [30, 50],
          [30 + 10 * minute, 50],
        ],
        30,
      );
    case "load":
      return rampHoldRelease(
        "load",
        "ramp to 200 users over 2 min, hold 10 min",
        [
          [2 * minute, 200],
          [12 * minute, 200],
        ],
        minute,
      );
    case "stress":
      return rampHoldRelease(
        "stress",
        "steps of 100 users every 2 min up to 500, hold 5 min",
        [1, 2, 3, 4, 5]
          .flatMap((step): Point[] => [
            [(step - 1) * 2 * minute + 1, step * 100],
            [step * 2 * minute, step * 100],
          ])
          .concat([[15 * minute, 500]]),
        minute,
      );
    case "spike":
      return rampHoldRelease(
        "spike",
        "1000 users arriving at 50/s, hold 5 min, all leave at once",
        [
          [20, 1000],
          [20 + 5 * minute, 1000],
        ],
        0,
      );
    case "growth":
      return growth();
  }
}

/** A spike of `users` arriving at `arrivalsPerSecond` from idle: the invariants' reachability check. */
export function spikeOf(users: number, arrivalsPerSecond = 50): Scenario {
  const rampSeconds = Math.max(1, Math.ceil(users / arrivalsPerSecond));
  return rampHoldRelease(
    "spike",
    `${users} users arriving at ${arrivalsPerSecond}/s`,
    [
      [rampSeconds, users],
      [rampSeconds + 5 * minute, users],
    ],
    0,
  );
}
