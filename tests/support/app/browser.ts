/**
 * Debian's Chromium driven by playwright-core (no browser download can work on these machines): the
 * package is installed like the platform's servers (scripts/platform/binaries.ts). Each page records
 * what the budgets need — Largest Contentful Paint, Cumulative Layout Shift, CSP violations, console
 * errors — and which controls keyboard focus reached, with or without a visible focus indicator.
 */
import { readFileSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ensureBinaries } from "../../../scripts/platform/binaries";

/**
 * `launch` runs the browser on a fresh temporary `--user-data-dir` of its own and removes it on close
 * (it refuses one passed in `args`); `headless` adds `--headless`.
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium: executablePath } = ensureBinaries(["chromium"], (line) => console.log(line));
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

declare global {
  interface Window {
    parleyProbe: {
      lcp: number;
      cls: number;
      violations: string[];
    };
  }
}

/** Runs in every document before the page's own script (not subject to the page's CSP). */
function probe(): void {
  window.parleyProbe = { lcp: 0, cls: 0, violations: [] };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.parleyProbe.lcp = entry.startTime;
  }).observe({ type: "largest-contentful-paint", buffered: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as Array<
      PerformanceEntry & { value: number; hadRecentInput: boolean }
    >)
      if (!entry.hadRecentInput) window.parleyProbe.cls += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  document.addEventListener("securitypolicyviolation", (event) =>
    window.parleyProbe.violations.push(`${event.violatedDirective} ${event.blockedURI}`),
  );
  // Kept across reloads of the tab: which controls keyboard focus reached, and how they showed it.
  document.addEventListener("focusin", (event) => {
    const element = event.target as HTMLElement;
    const key = element.id ? `#${element.id}` : `.${element.className || element.tagName.toLowerCase()}`;
    const focused = JSON.parse(sessionStorage.getItem("probe-focused") ?? "{}") as Record<string, boolean>;
    const visible = element.matches(":focus-visible") && getComputedStyle(element).outlineStyle !== "none";
    focused[key] = (focused[key] ?? true) && visible;
    sessionStorage.setItem("probe-focused", JSON.stringify(focused));
  });
}

export interface ProbedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions so far. */
  errors: string[];
}

export async function openProbedPage(
  browser: Browser,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<ProbedPage> {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 800 },
    extraHTTPHeaders: options.headers,
  });
  await context.addInitScript(probe);
  if (options.token)
    await context.addInitScript((token) => {
      if (!sessionStorage.getItem("parley-token")) sessionStorage.setItem("parley-token", token);
    }, options.token);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  return { context, page, errors };
}

export const measures = (page: Page) => page.evaluate(() => window.parleyProbe);

/** Controls keyboard focus reached, each with whether a focus indicator was visible every time. */
export const focusedControls = (page: Page) =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem("probe-focused") ?? "{}") as Record<string, boolean>);

/** Keys (as the probe names them) of every control currently shown in the page. */
export const shownControls = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("a[href], button, input, select, textarea, [tabindex]")]
      .filter((element) => element.checkVisibility() && !(element as HTMLButtonElement).disabled)
      .map((element) =>
        element.id ? `#${element.id}` : `.${element.className || element.tagName.toLowerCase()}`,
      ),
  );

/** Presses Tab until focus is on `selector`; fails when 40 presses never get there. */
export async function tabTo(page: Page, selector: string): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    if (await page.evaluate((wanted) => document.activeElement?.matches(wanted) ?? false, selector)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${selector}`);
}

const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations in the page as it is now. */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: typeof import("axe-core") }).axe;
    const results = await axe.run(document, { resultTypes: ["violations"] });
    return results.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map(
        (violation) =>
          `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target).join(", ")})`,
      );
  });
}
