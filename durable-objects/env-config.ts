import { type AuthOptions, type HubConfig, readAuthOptions, readHubConfig } from "../src/index.ts";

/**
 * The hub configuration a Worker's `env` describes (`readHubConfig`), read
 * once per `env` object: what every `UserHub` of that Worker runs with, and
 * what `userhubWorker` checks before it reaches a hub, so that a variable
 * that cannot be used is answered once, by name, at the edge.
 *
 * @throws {ConfigError} naming the variable that cannot be used (read afresh on every call until it can).
 */
export function hubConfigOf(env: object): HubConfig {
  return readOnce(configsRead, env, readHubConfig);
}

/** How a Worker's `env` says tokens are verified (`readAuthOptions`), read once per `env` object. */
export function authOptionsOf(env: object): AuthOptions {
  return readOnce(authOptionsRead, env, readAuthOptions);
}

/**
 * What was read from an `env` object, kept for as long as that object lives:
 * a hub woken from hibernation is a new instance, and reading every variable
 * again was part of what each cold message cost. The runtime hands every
 * instance of a class in an isolate the same `env` (it changes only with a
 * deploy, which starts a new isolate); when it does not, this reads afresh.
 */
const configsRead = new WeakMap<object, HubConfig>();
const authOptionsRead = new WeakMap<object, AuthOptions>();

function readOnce<T>(cache: WeakMap<object, T>, env: object, read: (vars: Readonly<Record<string, unknown>>) => T): T {
  let value = cache.get(env);
  if (value === undefined) {
    value = read(env as Readonly<Record<string, unknown>>);
    cache.set(env, value);
  }
  return value;
}
