/**
 * The app's environment variables: names, parsing and defaults. The app's config (app/src/config.ts)
 * parses the process environment with this schema; the workload component (infra/components/workload/)
 * builds the container's environment from the same names.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { aiProviders, logLevels } from "./enums";

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `an integer from ${min} to ${max}`)
        .max(max, `an integer from ${min} to ${max}`),
    );

const url = (protocols: string[]) => {
  const expected = `a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`;
  return z.string({ error: expected }).refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, expected);
};

/** A comma-separated list, each item checked by `item`; empty items are ignored. */
const list = (item: z.ZodType<string, string>, expected: string) =>
  z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1, expected));

/** Names Express's `trust proxy` knows for the loopback, link-local and unique-local ranges. */
const proxyRangeNames = ["loopback", "linklocal", "uniquelocal"];

/** An IPv4/IPv6 address, optionally with a prefix length, or one of the range names above. */
function isProxyAddress(value: string): boolean {
  if (proxyRangeNames.includes(value)) return true;
  const [address = "", prefix, extra] = value.split("/");
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

const trustedProxiesExpected = `comma-separated IP addresses or CIDRs (e.g. 10.0.0.0/16) or ${proxyRangeNames.join(", ")}`;

/** The HTTP port when PORT is unset: the local platform's app URL and the container port in the cluster. */
export const defaultPort = 3000;

const environmentVariablesSchema = z.object({
  PORT: integer(0, 65535).default(defaultPort),
  METRICS_PORT: integer(0, 65535).optional(),
  DATABASE_URL: url(["postgres:", "postgresql:"]),
  DATABASE_REPLICA_URL: url(["postgres:", "postgresql:"]).optional(),
  DATABASE_REPLICA_URLS: list(
    url(["postgres:", "postgresql:"]),
    "comma-separated URLs starting with postgres:// or postgresql://",
  ).optional(),
  TRUSTED_PROXY_CIDRS: list(
    z.string().refine(isProxyAddress, trustedProxiesExpected),
    trustedProxiesExpected,
  ).default(["loopback"]),
  RATE_LIMIT_IP_PER_MINUTE: integer(1, 1_000_000).default(1200),
  RATE_LIMIT_USER_PER_MINUTE: integer(1, 1_000_000).default(600),
  RATE_LIMIT_LOGIN_PER_MINUTE: integer(1, 1_000_000).default(10),
  RATE_LIMIT_REGISTER_PER_HOUR: integer(1, 1_000_000).default(20),
  REDIS_URL: url(["redis:", "rediss:"]),
  JWT_SECRET: z
    .string({ error: "a secret of at least 32 characters" })
    .min(32, "a secret of at least 32 characters"),
  DB_POOL_MAX: integer(1, 1000).default(10),
  DB_REPLICA_POOL_MAX: integer(1, 1000).default(10),
  LOG_LEVEL: z.enum(logLevels, { error: `one of ${logLevels.join(", ")}` }).default("info"),
  SHUTDOWN_GRACE_MS: integer(0, 600_000).default(25_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(1_000, 3_600_000).default(125_000),
  HTTP_HEADERS_TIMEOUT_MS: integer(1_000, 600_000).default(20_000),
  HTTP_REQUEST_TIMEOUT_MS: integer(1_000, 3_600_000).default(60_000),
  AI_PROVIDER: z.enum(aiProviders, { error: aiProviders.join(" or ") }).default("knowledge"),
  OPENAI_BASE_URL: url(["http:", "https:"]).default("https://api.openai.com/v1"),
  OPENAI_API_KEY: z.string().min(1, "a non-empty API key").optional(),
  OPENAI_MODEL: z.string().min(1, "a model name").default("gpt-4o-mini"),
  AI_SIMULATED_LATENCY_MS: integer(0, 60_000).default(0),
  APP_VERSION: z.string().min(1).default("dev"),
  APP_COMMIT: z.string().min(1).default("unknown"),
});

/** The names of the app's environment variables: the app parses them, the workload sets them. */
export const envVar = environmentVariablesSchema.keyof().enum;
export type EnvironmentVariable = keyof typeof envVar;

/** The app's environment as parsed: values typed and defaulted, cross-variable rules checked. */
export const environmentSchema = environmentVariablesSchema.superRefine((env, context) => {
  // Node refuses a server whose headers timeout outlasts its request timeout.
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS)
    context.addIssue({
      code: "custom",
      path: ["HTTP_HEADERS_TIMEOUT_MS"],
      message: `at most HTTP_REQUEST_TIMEOUT_MS (${env.HTTP_REQUEST_TIMEOUT_MS})`,
    });
  if (env.AI_PROVIDER === "openai" && !env.OPENAI_API_KEY)
    context.addIssue({
      code: "custom",
      path: ["OPENAI_API_KEY"],
      message: "a non-empty API key (required when AI_PROVIDER=openai)",
    });
});

/** Variables whose values never appear in an error message. */
export const secretVariables: ReadonlySet<string> = new Set<EnvironmentVariable>([
  "JWT_SECRET",
  "OPENAI_API_KEY",
]);
