/**
 * A README example's application, as printed: the first TypeScript block of
 * a README section, with `from "userhub"` pointed at src/, written into a
 * scratch folder inside the repository (so that packages such as `valibot`
 * resolve from node_modules), imported, and the folder removed again.
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { HubApp } from "../../src/index.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The first ```ts block under `heading` (a whole README heading line, e.g. "### Messages between users"). */
export function readmeTsBlock(heading: string): string {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README.md has no "${heading}" section`);
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1));
  const block = /^```ts\n([\s\S]*?)^```/m.exec(section);
  if (!block) throw new Error("the section has no ts block");
  return block[1]!;
}

/**
 * The application the block under `heading` exports as `name`. Imported, not
 * type-checked here (`deno check` of it takes half a minute); the typed-frames
 * block's typing is held to tsc by test/workerd/typed-frames-types.test.ts.
 */
export async function importReadmeApp(heading: string, name: string): Promise<HubApp> {
  const code = readmeTsBlock(heading).replace('from "userhub"', `from ${JSON.stringify(join(ROOT, "src/index.ts"))}`);
  const scratch = await Deno.makeTempDir({ dir: join(ROOT, "test/deno"), prefix: ".readme-" });
  try {
    const file = join(scratch, `${name}.ts`);
    await Deno.writeTextFile(file, code);
    const module = (await import(pathToFileURL(file).href)) as Record<string, HubApp | undefined>;
    const app = module[name];
    if (!app) throw new Error(`the block under "${heading}" exports no ${name}`);
    return app;
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}
