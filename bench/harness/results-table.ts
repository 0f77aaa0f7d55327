/**
 * The results table: one row per headline metric, one column per target,
 * each cell the median with its ratio to the floor. Rendered as aligned text
 * for the terminal and as Markdown for latest.md.
 */
import type { BenchResults } from "./bench-results.ts";
import { metricsFor } from "./metrics.ts";
import type { TargetName } from "./targets.ts";

export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function formatRatio(ratio: number | undefined): string {
  return ratio !== undefined && Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "";
}

/** Header row and body rows of the table (strings), shared by both renderings. */
export function tableRows(results: BenchResults): { header: string[]; rows: string[][] } {
  const names = echoedTargets(results);
  const metrics = metricsFor(results.options.echoConnections, results.options.fanOutSockets);
  const header = ["metric (median of rounds)", ...names];
  const rows = metrics.map((metric) => [
    `${metric.label} (${metric.unit}, ${metric.better} is better)`,
    ...names.map((name: TargetName) => {
      const summary = results.summary[name];
      const value = summary ? metric.value(summary) : null;
      const ratio = name === "floor" ? undefined : results.ratios[name]?.[metric.id];
      const text = formatValue(value);
      const r = formatRatio(ratio);
      return r ? `${text} (${r})` : text;
    }),
  ]);
  return { header, rows };
}

export function textTable(results: BenchResults): string {
  const { header, rows } = tableRows(results);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" │ ");
  return [line(header), widths.map((w) => "─".repeat(w)).join("─┼─"), ...rows.map(line)].join("\n");
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ("l" | "r")[] = []): string {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const sep = header.map((_, i) => ((align[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : ":---"));
  return [header, sep, ...rows].map((row) => `| ${row.map(escape).join(" | ")} |`).join("\n");
}

/** The targets the round workloads ran (every one but those that only take a cold message apart, shown in their own table). */
export function echoedTargets(results: BenchResults): TargetName[] {
  return results.targets.map((t) => t.name).filter((name) => Object.keys(results.summary[name]?.echo ?? {}).length > 0);
}
