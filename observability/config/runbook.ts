/** Where each alert's `runbook_url` points: its own section of docs/runbook.md. */

/** docs/runbook.md as published with the repository (GitHub renders headings as anchors). */
export const runbookBaseUrl = "https://github.com/parley/parley/blob/main/docs/runbook.md";

/** The anchor GitHub gives a Markdown heading: lower case, spaces to dashes, punctuation dropped. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Every alert has a section headed by its name. */
export const runbookUrl = (alert: string): string => `${runbookBaseUrl}#${headingAnchor(alert)}`;
