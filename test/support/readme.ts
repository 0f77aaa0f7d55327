/**
 * The README as tests read it: its sections and fenced code blocks, so that a
 * test runs exactly what the README shows.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const README_PATH = fileURLToPath(new URL("../../README.md", import.meta.url));

/** A README section heading that is not there, or a block it lacks. */
export class ReadmeSectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReadmeSectionError";
  }
}

/** The section under `heading` (e.g. `### Connect from other languages`), up to the next heading of its level or above. */
export function readmeSection(heading: string): string {
  const readme = readFileSync(README_PATH, "utf8");
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new ReadmeSectionError(`README.md has no "${heading}" heading`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = readme.slice(start + heading.length + 2);
  // Headings inside code blocks (a `# comment` in a shell block) are not headings.
  let inCode = false;
  let offset = 0;
  for (const line of rest.split("\n")) {
    if (line.startsWith("```")) inCode = !inCode;
    const marks = /^(#+) /.exec(line);
    if (!inCode && marks && marks[1]!.length <= level) break;
    offset += line.length + 1;
  }
  return rest.slice(0, offset);
}

/** Every fenced block of `language` in `text`, in order. */
export function codeBlocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "gm"))].map((match) => match[1]!);
}

/** The one fenced block of `language` in `text`. */
export function codeBlock(text: string, language: string): string {
  const blocks = codeBlocks(text, language);
  if (blocks.length !== 1) throw new ReadmeSectionError(`expected one ${language} block, found ${blocks.length}`);
  return blocks[0]!;
}

/**
 * Where the README's examples reach the local server: the `ip:port` that
 * `npm start` serves, read from wrangler.toml's `[dev]` table. A test that
 * runs an example swaps it for the server it started on a free port.
 */
export const README_DEV_HOST: string = devHost();

function devHost(): string {
  const toml = readFileSync(fileURLToPath(new URL("../../wrangler.toml", import.meta.url)), "utf8");
  const table = /^\[dev\]\n((?:[^[\n].*\n?|\n)*)/m.exec(toml)?.[1] ?? "";
  const ip = /^ip = "([^"]+)"/m.exec(table)?.[1];
  const port = /^port = (\d+)/m.exec(table)?.[1];
  if (!ip || !port) throw new ReadmeSectionError('wrangler.toml has no [dev] table with an ip = "…" and a port = …');
  return `${ip}:${port}`;
}
