/** An SVG chart of one run: load, replicas and nodes, and modelled p95 over time. */
import type { ScalingPolicy } from "../policy";
import type { RunSummary } from "./evaluate";
import type { Sample, SimulationResult } from "./simulate";

interface Series {
  label: string;
  color: string;
  value: (s: Sample) => number;
  dashed?: boolean;
}

interface Panel {
  title: string;
  unit: string;
  series: Series[];
  /** Log scale (p95 spans milliseconds to seconds). */
  log?: boolean;
  threshold?: { value: number; label: string };
}

const width = 960;
const panelHeight = 200;
const margin = { left: 70, right: 170, top: 56, gap: 46, bottom: 40 };
const maxPoints = 1200;

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Keep at most `maxPoints` samples, taking each bucket's maximum so spikes stay visible. */
function downsample(samples: Sample[], value: (s: Sample) => number): Array<[number, number]> {
  const bucket = Math.max(1, Math.ceil(samples.length / maxPoints));
  const points: Array<[number, number]> = [];
  for (let i = 0; i < samples.length; i += bucket) {
    const slice = samples.slice(i, i + bucket);
    points.push([slice[0].t, slice.reduce((m, s) => Math.max(m, value(s)), Number.NEGATIVE_INFINITY)]);
  }
  return points;
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}

/** Ticks every 1, 2, 5, 10, 15, 30 or 60 minutes: the finest step giving at most eight. */
function minuteTicks(duration: number): number[] {
  const stepMinutes = [1, 2, 5, 10, 15, 30, 60].find((m) => duration / (m * 60) <= 8) ?? 120;
  return Array.from(
    { length: Math.floor(duration / (stepMinutes * 60)) + 1 },
    (_, i) => i * stepMinutes * 60,
  );
}

function formatTime(seconds: number, multiDay: boolean): string {
  if (multiDay) return `month ${Math.floor(seconds / 86400) + 1}`;
  return `${Math.round(seconds / 60)} min`;
}

function renderPanel(
  panel: Panel,
  samples: Sample[],
  top: number,
  duration: number,
  result: SimulationResult,
): string {
  const plotWidth = width - margin.left - margin.right;
  const x = (t: number) => margin.left + (t / duration) * plotWidth;
  let highest = panel.threshold?.value ?? 0;
  for (const series of panel.series)
    for (const sample of samples) highest = Math.max(highest, series.value(sample));
  const logMin = 10;
  const yMax = panel.log ? 10 ** Math.ceil(Math.log10(Math.max(highest, logMin * 10))) : niceMax(highest);
  const y = (v: number) => {
    const fraction = panel.log
      ? (Math.log10(Math.max(v, logMin)) - Math.log10(logMin)) / (Math.log10(yMax) - Math.log10(logMin))
      : v / yMax;
    return top + panelHeight - fraction * panelHeight;
  };
  const parts: string[] = [];
  parts.push(`<text x="${margin.left}" y="${top - 10}" class="title">${escapeXml(panel.title)}</text>`);
  parts.push(
    `<rect x="${margin.left}" y="${top}" width="${plotWidth}" height="${panelHeight}" class="plot"/>`,
  );
  const ticks = panel.log
    ? Array.from({ length: Math.log10(yMax) - Math.log10(logMin) + 1 }, (_, i) => logMin * 10 ** i)
    : [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  for (const tick of ticks) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(tick)}" y2="${y(tick)}" class="grid"/>`,
    );
    parts.push(
      `<text x="${margin.left - 6}" y="${y(tick) + 4}" class="axis" text-anchor="end">${tick.toLocaleString("en-US")}</text>`,
    );
  }
  parts.push(
    `<text x="16" y="${top + panelHeight / 2}" class="axis" transform="rotate(-90 16 ${top + panelHeight / 2})" text-anchor="middle">${escapeXml(panel.unit)}</text>`,
  );
  const multiDay = result.scenario.dayStarts !== undefined;
  const xTicks = result.scenario.dayStarts ?? minuteTicks(duration);
  for (const t of xTicks) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${top + panelHeight}" class="grid"/>`);
    parts.push(
      `<text x="${x(t)}" y="${top + panelHeight + 14}" class="axis" text-anchor="middle">${formatTime(t, multiDay)}</text>`,
    );
  }
  if (panel.threshold) {
    const ty = y(panel.threshold.value);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${ty}" y2="${ty}" class="threshold"/>`,
    );
    parts.push(
      `<text x="${margin.left + plotWidth - 4}" y="${ty - 4}" class="axis" text-anchor="end">${escapeXml(panel.threshold.label)}</text>`,
    );
  }
  panel.series.forEach((series, index) => {
    const points = downsample(samples, series.value)
      .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join(" ");
    const dash = series.dashed ? ' stroke-dasharray="5 3"' : "";
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${series.color}" stroke-width="1.6"${dash}/>`,
    );
    const ly = top + 14 + index * 18;
    const lx = margin.left + plotWidth + 12;
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${lx + 24}" y="${ly}" class="legend">${escapeXml(series.label)}</text>`);
  });
  return parts.join("\n");
}

export function renderChart(
  policy: ScalingPolicy,
  result: SimulationResult,
  summary: RunSummary,
  pass: boolean,
): string {
  const { samples, scenario } = result;
  const duration = scenario.durationSeconds;
  const panels: Panel[] = [
    {
      title: "Load",
      unit: "req/s",
      series: [
        { label: "offered req/s", color: "#1f77b4", value: (s) => s.offeredRps },
        { label: "served req/s", color: "#2ca02c", value: (s) => s.servedRps, dashed: true },
      ],
    },
    {
      title: "Replicas and nodes",
      unit: "count",
      series: [
        { label: "replicas (HPA)", color: "#ff7f0e", value: (s) => s.replicas },
        { label: "ready pods", color: "#2ca02c", value: (s) => s.readyPods },
        { label: "pods needed for SLO", color: "#7f7f7f", value: (s) => s.requiredPods, dashed: true },
        { label: "app nodes", color: "#9467bd", value: (s) => s.nodes },
      ],
    },
    {
      title: "Modelled p95 latency",
      unit: "ms (log)",
      log: true,
      series: [{ label: "p95", color: "#d62728", value: (s) => s.p95Ms }],
      threshold: {
        value: policy.objectives.p95LatencyMs,
        label: `objective ${policy.objectives.p95LatencyMs} ms`,
      },
    },
  ];
  const height = margin.top + panels.length * (panelHeight + margin.gap) + margin.bottom - margin.gap;
  const status = pass ? "meets objectives" : "MISSES objectives";
  const heading = `Parley ${result.stack} — ${scenario.name}: ${scenario.description}`;
  const sub = `${status} · time to capacity ${summary.timeToCapacitySeconds} s · ${summary.minutesOutsideSlo.toFixed(1)} min outside SLO · peak ${summary.maxReplicas} replicas / ${summary.maxNodes} nodes · ~$${Math.round(summary.monthlyEquivalentUsd).toLocaleString("en-US")}/month at this load`;
  const body = panels
    .map((panel, i) =>
      renderPanel(panel, samples, margin.top + 20 + i * (panelHeight + margin.gap), duration, result),
    )
    .join("\n");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 20}" viewBox="0 0 ${width} ${height + 20}" font-family="sans-serif">`,
    "<style>.title{font-size:13px;font-weight:bold}.axis{font-size:10px;fill:#444}.legend{font-size:11px}.plot{fill:#fafafa;stroke:#ccc}.grid{stroke:#e5e5e5}.threshold{stroke:#d62728;stroke-dasharray:2 3}</style>",
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="15" font-weight="bold">${escapeXml(heading)}</text>`,
    `<text x="${margin.left}" y="40" font-size="11" fill="${pass ? "#2ca02c" : "#d62728"}">${escapeXml(sub)}</text>`,
    body,
    "</svg>",
    "",
  ].join("\n");
}
