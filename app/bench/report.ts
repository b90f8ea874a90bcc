/**
 * What `npm run bench` measured (the shape of `--json`), and its two renderings: a text table and an
 * SVG bar chart of each scenario's throughput as a multiple of the baseline.
 */
import type { CapacityStepEvidence } from "../../infra/scaling/measured-capacity";
import type { LoadResult } from "./load";

/** Scenario keys: the budgets (budgets.json) name scenarios by these. */
export const scenarioKeys = [
  "bareHttp",
  "expressHello",
  "healthz",
  "cachedChatbot",
  "cachedMessages",
  "replicaRead",
  "replicaReadDistinct",
  "postMessage",
  "mixed",
  "sse",
] as const;
export type ScenarioKey = (typeof scenarioKeys)[number];

export interface ScenarioResult extends LoadResult {
  key: ScenarioKey;
  name: string;
  connections: number;
  /**
   * req/s as a multiple of the Express 5 hello baseline: for a scenario with a ratio budget (and the
   * list read with nothing shared, its context), the baseline measured just before and just after it (`baselineRequestsPerSecond`); for the others,
   * the baseline row of the same run.
   */
  ratio: number;
  /** The bracketing baseline's req/s (half the scenario's duration before it, half after); else null. */
  baselineRequestsPerSecond: number | null;
  /** Highest resident set of the app process while this scenario ran (MB, 10^6 bytes). */
  peakAppRssMB: number | null;
  /** CPU the serving process (the app, or the baseline's server) spent per request (ms, user +
   * system, from /proc), a figure less sensitive than req/s to other load on the machine. */
  serverCpuMsPerRequest: number | null;
  /** Cache hits / look-ups during the scenario (parley_cache_requests_total); null when none. */
  cacheHitRatio: number | null;
}

/** One capacity step as infra/scaling/capacity-measurement.json records it. */
export type CapacityStep = CapacityStepEvidence;

export interface BenchReport {
  date: string;
  commit: string;
  machine: string;
  durationMs: number;
  scenarios: ScenarioResult[];
  /** Highest app RSS over the whole run, every app process included (MB). */
  peakAppRssMB: number;
  knowledgeCpuMsPerMessage: number;
  knowledgeBaseBytes: number;
  /** Redis used_memory added by distinct cursor pages of one conversation (MB). */
  cursorRedisMB: number;
  cursorCount: number;
  /** Hot-query p95 (ms) per query, when measured (app/bench/queries.ts). */
  hotQueryP95Ms?: Record<string, number>;
  capacity?: {
    /** The service rate of one core: 1000 / the pinned process's CPU ms per request. */
    requestsPerSecondPerCore: number;
    /** The highest step req/s whose p95 met the objective with zero errors. */
    withinSloRequestsPerSecond: number;
    sloP95Ms: number;
    /** CPU the pinned process spends per second with no load. */
    idleCpuMsPerSecond: number;
    steps: CapacityStep[];
  };
}

const fixed = (value: number | null, digits: number) => (value === null ? "-" : value.toFixed(digits));

export function renderTable(report: BenchReport): string {
  const header = [
    "scenario",
    "conns",
    "req/s",
    "× baseline",
    "baseline around",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "CPU ms/req",
    "RSS MB",
    "cache hit",
  ];
  const rows = report.scenarios.map((s) => [
    s.name,
    String(s.connections),
    s.requestsPerSecond.toFixed(0),
    s.ratio.toFixed(3),
    fixed(s.baselineRequestsPerSecond, 0),
    s.p50Ms.toFixed(2),
    s.p95Ms.toFixed(2),
    s.p99Ms.toFixed(2),
    String(s.errors),
    fixed(s.serverCpuMsPerRequest, 3),
    fixed(s.peakAppRssMB, 0),
    s.cacheHitRatio === null ? "-" : `${(s.cacheHitRatio * 100).toFixed(1)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const lines = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line), ""];
  lines.push(`app peak RSS over the run: ${report.peakAppRssMB.toFixed(0)} MB`);
  lines.push(
    `knowledge provider: ${report.knowledgeCpuMsPerMessage.toFixed(3)} ms CPU per message (${(report.knowledgeBaseBytes / 1000).toFixed(0)} KB knowledge base)`,
  );
  lines.push(
    `Redis: ${report.cursorCount} distinct cursor pages added ${report.cursorRedisMB.toFixed(2)} MB`,
  );
  if (report.hotQueryP95Ms)
    for (const [query, ms] of Object.entries(report.hotQueryP95Ms))
      lines.push(`hot query ${query}: p95 ${ms.toFixed(2)} ms`);
  if (report.capacity) {
    const steps = report.capacity.steps
      .map(
        (s) => `${s.connections} conns ${s.requestsPerSecond.toFixed(0)} req/s p95 ${s.p95Ms.toFixed(1)} ms`,
      )
      .join("; ");
    lines.push(
      `capacity (mixed, app pinned to one core): service rate ${report.capacity.requestsPerSecondPerCore.toFixed(0)} req/s per core (from CPU per request); highest step within p95 ≤ ${report.capacity.sloP95Ms} ms: ${report.capacity.withinSloRequestsPerSecond.toFixed(0)} req/s [${steps}]`,
    );
  }
  return lines.join("\n");
}

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars: each scenario's req/s × baseline, labelled with req/s and p95. */
export function renderSvg(report: BenchReport): string {
  const rows = report.scenarios.filter((s) => s.key !== "sse");
  const barHeight = 26;
  const labelWidth = 300;
  const chartWidth = 520;
  const top = 50;
  const height = top + rows.length * barHeight + 40;
  const maxRatio = Math.max(1, ...rows.map((s) => s.ratio));
  const x = (ratio: number) => labelWidth + (ratio / maxRatio) * chartWidth;
  const bars = rows.map((s, index) => {
    const y = top + index * barHeight;
    const width = Math.max(1, x(s.ratio) - labelWidth);
    const colour =
      s.key === "bareHttp" || s.key === "expressHello" ? "#8a8f98" : s.errors > 0 ? "#c0392b" : "#2e86de";
    return [
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(s.name)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${width.toFixed(1)}" height="${barHeight - 8}" fill="${colour}"/>`,
      `<text x="${(labelWidth + width + 6).toFixed(1)}" y="${y + 17}">${s.ratio.toFixed(2)}× · ${s.requestsPerSecond.toFixed(0)} req/s · p95 ${s.p95Ms.toFixed(1)} ms</text>`,
    ].join("");
  });
  const one = x(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + chartWidth + 260}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">Parley bench ${escapeXml(report.date)} — throughput × Express 5 hello (same run)</text>`,
    `<line x1="${one}" y1="${top - 6}" x2="${one}" y2="${height - 30}" stroke="#555" stroke-dasharray="4 3"/>`,
    `<text x="${one}" y="${top - 10}" text-anchor="middle">1×</text>`,
    ...bars,
    `<text x="10" y="${height - 10}" fill="#555">${escapeXml(report.machine)} · commit ${escapeXml(report.commit.slice(0, 12))} · app peak RSS ${report.peakAppRssMB.toFixed(0)} MB</text>`,
    "</svg>",
    "",
  ].join("\n");
}
