/** AI provider: reply latency, outcomes, tokens, spend and circuit breakers. */
import { metrics } from "../../contracts/metrics";
import { circuitStateText } from "./circuit";
import { appSelector as app, type DashboardSpec, quantile, rateInterval } from "./panels";

const reply = metrics.aiResponseDuration.name;

export function aiDashboard(): DashboardSpec {
  return {
    uid: "parley-ai",
    title: "Parley / AI provider",
    description: "The assistant's provider: reply latency, outcomes, token usage and circuit breakers.",
    tags: ["parley", "ai"],
    rows: [
      {
        title: "Replies",
        panels: [
          {
            kind: "timeseries",
            title: "Reply time p50 / p95",
            description: "Time for the provider to produce a full reply, by provider and model.",
            unit: "s",
            redAbove: 10,
            queries: [0.5, 0.95].map((q) => ({
              expr: quantile(q, reply, ["provider", "model"], app),
              legend: `p${q * 100} {{provider}}/{{model}}`,
            })),
          },
          {
            kind: "timeseries",
            title: "Replies by outcome",
            description: "Provider replies per second by provider and outcome.",
            unit: "ops",
            queries: [
              {
                expr: `sum by (provider, outcome) (rate(${reply}_count{${app}}[${rateInterval}]))`,
                legend: "{{provider}} {{outcome}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Tokens per second",
            description: "Prompt and completion tokens exchanged with the provider, per second.",
            unit: "short",
            queries: [
              {
                expr: `sum by (provider, model, kind) (rate(${metrics.aiTokens.name}{${app}}[${rateInterval}]))`,
                legend: "{{provider}}/{{model}} {{kind}}",
              },
            ],
          },
          {
            kind: "stat",
            title: "Circuit breakers",
            description: "State of each dependency's circuit breaker (closed, half-open, open).",
            unit: "none",
            width: 24,
            valueText: circuitStateText,
            queries: [
              {
                expr: `max by (dependency) (${metrics.circuitState.name}{${app}})`,
                legend: "{{dependency}}",
              },
            ],
          },
        ],
      },
      {
        title: "Spend",
        panels: [
          {
            kind: "timeseries",
            title: "AI spend (USD per day)",
            description:
              "Spend on provider replies at the current pace, in US dollars per day, by model (priced with app/src/ai/prices.ts). ParleyAISpendOverBudget projects the last day's pace over the month.",
            unit: "currencyUSD",
            width: 24,
            queries: [
              {
                expr: `sum by (model) (rate(${metrics.aiCost.name}{${app}}[${rateInterval}])) * 86400`,
                legend: "{{model}}",
              },
            ],
          },
        ],
      },
    ],
  };
}
