/**
 * Writes a run's results: latest.json (everything), latest.md (the report)
 * and chart.svg. Each file is written as `<name>.tmp` first and renamed, so
 * an interrupted run never leaves half a file (the .tmp files are ignored by
 * git).
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BenchResults } from "./bench-results.ts";
import { renderChart } from "./results-chart.ts";
import { renderMarkdown } from "./results-markdown.ts";

export const CHART_FILE = "chart.svg";

export async function writeResults(results: BenchResults, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ["latest.json", `${JSON.stringify(results, (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? null : value), 2)}\n`],
    ["latest.md", renderMarkdown(results, { chartFile: CHART_FILE })],
    [CHART_FILE, renderChart(results)],
  ];
  const written: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
    written.push(path);
  }
  return written;
}
