/**
 * The sections the attribution tools (`bench/hot-path.ts`,
 * `bench/in-process.ts`) append with `--out` to a file
 * (bench/results/attribution.md): each headed by when and how it was run.
 */
import { appendFile } from "node:fs/promises";

/** How a tool was asked for, as its sections name it: `node <script>` and its arguments, `--out` and its file left out. */
export function commandLine(script: string, args: readonly string[] = process.argv.slice(2)): string {
  return [`node ${script}`, ...args.filter((arg, i, all) => arg !== "--out" && all[i - 1] !== "--out")].join(" ");
}

/** Appends one section to `file`: a heading with the time and the command, a sentence on how it was measured, then the table. */
export async function appendSection(file: string, command: string, how: string, table: readonly string[], at: Date = new Date()): Promise<void> {
  await appendFile(file, `\n## ${at.toISOString()}: \`${command}\`\n\n${how}\n\n${table.join("\n")}\n`);
}
