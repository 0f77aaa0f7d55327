/**
 * The chart the README embeds (bench/results/chart.svg): for each headline
 * metric, each target's standing relative to the floor of the same run, with
 * "better" always to the right (a throughput ratio as it is; a time, CPU or
 * memory ratio inverted), on a log scale centred on the floor (1×).
 * Hand-written SVG: no dependencies, readable in any browser or on GitHub.
 */
import type { BenchResults } from "./bench-results.ts";
import { metricsFor } from "./metrics.ts";
import { echoedTargets } from "./results-table.ts";

const COLORS: Record<string, string> = {
  userhub: "#e8590c",
  "userhub-signal": "#f59f00",
  "floor-again": "#ced4da",
  "floor-log": "#868e96",
  partyserver: "#1c7ed6",
  "hono-do": "#7048e8",
  "node-ws": "#2f9e44",
};

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function renderChart(results: BenchResults): string {
  const metrics = metricsFor(results.options.echoConnections, results.options.fanOutSockets).filter((metric) => {
    const floor = results.summary.floor;
    const base = floor ? metric.value(floor) : null;
    // A metric the floor scores 0 on (its wakes) has no ratio; the table shows it instead.
    return base !== null && Number.isFinite(base) && base > 0;
  });
  // userhub, its peers and the run's own baselines; the targets that take userhub apart (floor + JSON, its row) are in the table and the goals.
  const others = echoedTargets(results).filter((name) => name !== "floor" && Object.hasOwn(COLORS, name));
  const barHeight = 12;
  const groupGap = 14;
  const labelWidth = 250;
  const plotWidth = 520;
  const top = 84;
  const groupHeight = others.length * barHeight + groupGap;
  const height = top + metrics.length * groupHeight + 56;
  const width = labelWidth + plotWidth + 90;
  const minLog = -4; // 1/16×
  const maxLog = 4; // 16×
  const xOf = (relative: number) => {
    const clamped = Math.min(maxLog, Math.max(minLog, Math.log2(relative)));
    return labelWidth + ((clamped - minLog) / (maxLog - minLog)) * plotWidth;
  };
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">userhub and its peers against the platform floor (same run, medians of ${results.options.rounds} rounds)</text>`,
    `<text x="12" y="40" fill="#495057">Each target relative to the hand-written hibernating Durable Object; right is better (times, CPU, memory inverted); log scale.</text>`,
    `<text x="12" y="56" fill="#495057">${escapeXml(results.startedAt.slice(0, 10))}, ${results.machine.cpus} cores, workerd ${escapeXml(results.machine.workerd)}, driven on the Worker's own socket; bench/results/latest.md has the numbers.</text>`,
  );
  for (let exp = minLog; exp <= maxLog; exp++) {
    const x = xOf(2 ** exp);
    const label = exp >= 0 ? `${2 ** exp}×` : `1/${2 ** -exp}×`;
    parts.push(
      `<line x1="${x}" y1="${top - 8}" x2="${x}" y2="${height - 44}" stroke="${exp === 0 ? "#212529" : "#e9ecef"}" stroke-width="${exp === 0 ? 1.5 : 1}"/>`,
      `<text x="${x}" y="${height - 30}" text-anchor="middle" fill="#495057">${label}</text>`,
    );
  }
  parts.push(`<text x="${xOf(1)}" y="${top - 12}" text-anchor="middle" fill="#212529">floor</text>`);
  metrics.forEach((metric, m) => {
    const y0 = top + m * groupHeight;
    parts.push(`<text x="${labelWidth - 10}" y="${y0 + (others.length * barHeight) / 2 + 4}" text-anchor="end">${escapeXml(metric.label)}</text>`);
    others.forEach((name, i) => {
      const ratio = results.ratios[name]?.[metric.id];
      if (ratio === undefined || !Number.isFinite(ratio) || ratio <= 0) return;
      const relative = metric.better === "higher" ? ratio : 1 / ratio;
      const y = y0 + i * barHeight;
      const x1 = xOf(1);
      const x2 = xOf(relative);
      const color = COLORS[name] ?? "#495057";
      parts.push(
        `<rect x="${Math.min(x1, x2)}" y="${y + 1}" width="${Math.max(1, Math.abs(x2 - x1))}" height="${barHeight - 2}" fill="${color}"><title>${escapeXml(`${name}: ${metric.label} ${ratio.toFixed(2)}× the floor`)}</title></rect>`,
        `<text x="${Math.max(x1, x2) + 4}" y="${y + barHeight - 2}" font-size="10" fill="#495057">${relative.toFixed(2)}×</text>`,
      );
    });
  });
  let legendX = labelWidth;
  for (const name of others) {
    parts.push(
      `<rect x="${legendX}" y="${height - 18}" width="10" height="10" fill="${COLORS[name] ?? "#495057"}"/>`,
      `<text x="${legendX + 14}" y="${height - 9}">${escapeXml(name)}</text>`,
    );
    legendX += 22 + name.length * 7;
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
