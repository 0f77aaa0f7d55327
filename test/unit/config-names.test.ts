// The variables a hub reads, named where a deployer looks them up: the
// `UserHubEnv` interface (what a TypeScript Worker's Env extends) and the
// README's configuration table. Read at run time, by what readHubConfig and
// readAuthOptions actually ask of their variables, so a new variable that
// one of them forgets fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readAuthOptions, readHubConfig } from "../../src/index.ts";

const userHubSource = readFileSync(new URL("../../durable-objects/user-hub.ts", import.meta.url), "utf8");
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The names `read` asks of its variables (none set). */
function namesRead(read: (vars: Readonly<Record<string, unknown>>) => unknown): string[] {
  const asked = new Set<string>();
  read(new Proxy({}, { get: (_, name) => void (typeof name === "string" && asked.add(name)) }));
  return [...asked];
}

describe("the variables a UserHub reads", () => {
  const names = [...namesRead(readHubConfig), ...namesRead(readAuthOptions)];

  it("are found by reading (the hub's and the auth options')", () => {
    expect(names).toEqual(expect.arrayContaining(["HEARTBEAT_TIMEOUT_MS", "RATE_LIMIT_FRAME_BURST", "MAX_MESSAGE_BACKLOG", "JWT_SECRET", "JWKS_UNKNOWN_KID_REFETCH_MS"]));
  });

  it("are each in UserHubEnv and in the README's configuration table", () => {
    const env = /export interface UserHubEnv \{([\s\S]*?)\n\}/.exec(userHubSource)?.[1] ?? "";
    for (const name of names) {
      expect(env, `UserHubEnv lacks ${name}`).toMatch(new RegExp(`\\b${name}\\?: string;`));
      expect(readme, `the README's table lacks ${name}`).toMatch(new RegExp(`^\\| \`${name}\` \\|`, "m"));
    }
  });
});
