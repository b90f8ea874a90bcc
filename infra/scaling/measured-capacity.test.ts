import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { temporaryDirectory } from "../../tests/support/temporary-directory";
import { type MeasuredCapacity, memoryFit, readMeasuredCapacity } from "./measured-capacity";

/** A measurement of the modelled mix: 3 : 2 : 1 in every step, no cached replies, no errors. */
function measurement(change: (m: MeasuredCapacity) => void = () => {}): MeasuredCapacity {
  const step = (connections: number, requestsPerSecond: number, cpuMsPerRequest: number) => ({
    connections,
    requestsPerSecond,
    p95Ms: connections * 5,
    errors: 0,
    cpuMsPerRequest,
    served: { listChatbots: 1500, postMessage: 1000, analytics: 500 },
    cachedReplies: 0,
    // 200 MiB and 0.05 MiB more per req/s: 215, 235 and 240 MiB.
    peakRssMiB: 200 + 0.05 * requestsPerSecond,
  });
  const m: MeasuredCapacity = {
    requestsPerSecondPerCore: 1000,
    withinSloRequestsPerSecond: 800,
    sloP95Ms: 200,
    idleCpuMsPerSecond: 5,
    memory: { baseMiB: 200, miBPerRequestPerSecond: 0.05 },
    method: "pinned mixed user",
    date: "2026-12-01T15:52:04.167Z",
    commit: "cba203165bd253297643f1c7ac00752bdeecabe3",
    machine: "AMD EPYC × 2",
    steps: [step(1, 300, 1.5), step(8, 700, 1.1), step(64, 800, 1)],
  };
  change(m);
  return m;
}

function read(m: unknown): MeasuredCapacity {
  const file = join(temporaryDirectory("parley-capacity-"), "capacity-measurement.json");
  writeFileSync(file, JSON.stringify(m));
  return readMeasuredCapacity(file);
}

describe("the measured capacity file", () => {
  it("the committed file is a measurement of the modelled mix", () => {
    const committed = readMeasuredCapacity();
    expect(committed.requestsPerSecondPerCore).toBeGreaterThan(0);
    expect(committed.method).toMatch(/desynchronised/);
  });

  it("accepts a run of the mixed user whose rate is 1000 / the busiest error-free step's CPU per request", () => {
    expect(read(measurement()).requestsPerSecondPerCore).toBe(1000);
  });

  it("refuses a step that did not serve 3 : 2 : 1 (a lockstep run: mostly chatbot lists)", () => {
    expect(() =>
      read(measurement((m) => (m.steps[0]!.served = { listChatbots: 929, postMessage: 0, analytics: 0 }))),
    ).toThrow(
      /capacity-measurement\.json: the 1-connection step served 100% listChatbots, 0% postMessage, 0% analytics, not the mixed user's 3 : 2 : 1 \(± 3%\)$/,
    );
  });

  it("refuses a step whose messages were answered from a cache (repeated questions)", () => {
    expect(() => read(measurement((m) => (m.steps[2]!.cachedReplies = 295)))).toThrow(
      /the 64-connection step answered 295 messages from a cache \(repeated questions\): its CPU per request is not the mix's$/,
    );
  });

  it("takes the rate from the busiest step without errors, and refuses any other figure", () => {
    const failing = measurement((m) => {
      m.steps[2]!.errors = 12;
      m.requestsPerSecondPerCore = Math.floor(1000 / 1.1);
    });
    expect(read(failing).requestsPerSecondPerCore).toBe(909);
    expect(() => read(measurement((m) => (m.requestsPerSecondPerCore = 2329)))).toThrow(
      /requestsPerSecondPerCore 2329 is not 1000 \/ the 1 CPU ms per request of the busiest error-free step \(64 connections\): 1000$/,
    );
    expect(() =>
      read(
        measurement((m) => {
          for (const step of m.steps) step.errors = 1;
        }),
      ),
    ).toThrow(/no step finished without errors$/);
  });

  it("takes the busiest step wherever it stands, and the first of two equally busy ones", () => {
    const busiestFirst = measurement((m) => {
      m.steps = [m.steps[2]!, m.steps[0]!, m.steps[1]!];
    });
    expect(read(busiestFirst).requestsPerSecondPerCore).toBe(1000);
    const tied = measurement((m) => {
      m.steps[1]!.requestsPerSecond = 800;
      m.steps[1]!.peakRssMiB = 240;
      m.requestsPerSecondPerCore = Math.floor(1000 / 1.1);
    });
    expect(read(tied).requestsPerSecondPerCore).toBe(909);
  });

  it("allows 1% between the rate and 1000 / the CPU per request, and no more", () => {
    expect(read(measurement((m) => (m.requestsPerSecondPerCore = 1010))).requestsPerSecondPerCore).toBe(1010);
    expect(read(measurement((m) => (m.requestsPerSecondPerCore = 990))).requestsPerSecondPerCore).toBe(990);
    expect(() => read(measurement((m) => (m.requestsPerSecondPerCore = 1010.5)))).toThrow(
      /requestsPerSecondPerCore 1010\.5 is not 1000/,
    );
  });

  it("allows each share 3 points off 3 : 2 : 1, and refuses a step that served nothing", () => {
    // 52.9% lists, 33.1% messages, 14% analytics: every share within 3 points.
    const within = measurement(
      (m) => (m.steps[0]!.served = { listChatbots: 529, postMessage: 331, analytics: 140 }),
    );
    expect(read(within).requestsPerSecondPerCore).toBe(1000);
    // 54% lists is 4 points over half.
    const over = measurement(
      (m) => (m.steps[0]!.served = { listChatbots: 540, postMessage: 320, analytics: 140 }),
    );
    expect(() => read(over)).toThrow(/served 54% listChatbots, 32% postMessage, 14% analytics/);
    expect(() =>
      read(measurement((m) => (m.steps[1]!.served = { listChatbots: 0, postMessage: 0, analytics: 0 }))),
    ).toThrow(/capacity-measurement\.json: the 8-connection step served none of the mixed user's requests$/);
  });

  it("models memory as the steps' least-squares line, raised through the step furthest above it", () => {
    expect(read(measurement()).memory).toEqual({ baseMiB: 200, miBPerRequestPerSecond: 0.05 });
    // One step 6 MiB above the line: the slope is the fit's, the base moves up until it covers that step.
    const spiky = measurement((m) => (m.steps[1]!.peakRssMiB = 241));
    const fit = memoryFit(spiky.steps);
    expect(fit.miBPerRequestPerSecond).toBe(0.0543);
    expect(fit.baseMiB).toBe(203);
    for (const step of spiky.steps)
      expect(fit.baseMiB + fit.miBPerRequestPerSecond * step.requestsPerSecond).toBeGreaterThanOrEqual(
        step.peakRssMiB,
      );
    // Memory that falls as load rises (a heap grown by the warm-up, collected later) is flat at its peak.
    const falling = memoryFit(measurement((m) => (m.steps[0]!.peakRssMiB = 260)).steps);
    expect(falling).toEqual({ baseMiB: 260, miBPerRequestPerSecond: 0 });
  });

  it("refuses a memory model that is not the fit of its steps", () => {
    expect(() => read(measurement((m) => (m.memory.baseMiB = 120)))).toThrow(
      /memory \{"baseMiB":120,"miBPerRequestPerSecond":0.05\} is not the fit of the steps' peak RSS: \{"baseMiB":200,"miBPerRequestPerSecond":0.05\}$/,
    );
  });

  it("names the first schema problem with its path, or (root) for a value that is not an object", () => {
    expect(() => read(42)).toThrow(/capacity-measurement\.json: \(root\): /);
    expect(() => read(measurement((m) => (m.steps = [])))).toThrow(/capacity-measurement\.json: steps: /);
  });

  it("refuses a file written before steps recorded their mix, naming the field", () => {
    const old = measurement() as unknown as { steps: Array<Record<string, unknown>> };
    for (const step of old.steps) {
      delete step.served;
      delete step.cachedReplies;
    }
    expect(() => read(old)).toThrow(/capacity-measurement\.json: steps\.0\.served: /);
    const beforeMemory = measurement() as unknown as { steps: Array<Record<string, unknown>> };
    delete beforeMemory.steps[0]!.peakRssMiB;
    expect(() => read(beforeMemory)).toThrow(/capacity-measurement\.json: steps\.0\.peakRssMiB: /);
    expect(() => readMeasuredCapacity("/nonexistent/capacity-measurement.json")).toThrow(
      /write it with `npm run bench -- --write-capacity`/,
    );
  });
});
