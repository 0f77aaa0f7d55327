import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as root from "../../src/index.ts";

const source = readFileSync(new URL("../../src/index.ts", import.meta.url), "utf8");
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** Every name src/index.ts exports, values and types (its `export { … }` and `export type { … }` lists). */
function exportedNames(): string[] {
  const names: string[] = [];
  for (const [, list] of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of list!.split(",")) {
      const name = item.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop()!.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

describe("userhub's root export", () => {
  it("is what a deployer uses: about thirty names, as many as the README says", () => {
    const names = exportedNames();
    const said = /`userhub` \(what a deployer uses, (\d+)\s+names/.exec(readme);
    expect(said, "README names the root export's size").not.toBeNull();
    expect(names).toHaveLength(Number(said![1]));
    expect(names.length).toBeLessThanOrEqual(32);
    expect(new Set(names).size).toBe(names.length);
  });

  it("exports at run time only names its lists declare (nothing through `export *`)", () => {
    const names = new Set(exportedNames());
    for (const key of Object.keys(root)) expect(names, key).toContain(key);
    expect(source).not.toMatch(/export\s+\*/);
  });
});
