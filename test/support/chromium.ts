/**
 * A Chromium for the browser suite, driven by playwright-core with a fresh
 * profile that is deleted on close. Nothing is downloaded at run time. The
 * browser is found in this order:
 *
 * 1. `CHROMIUM_PATH`, when set (an error if it is not an executable file:
 *    an explicit choice that does not work should not be replaced silently);
 * 2. a system Chromium or Chrome (Debian's `/usr/bin/chromium`, the other
 *    usual names on PATH, macOS's application bundles);
 * 3. the Chromium inside the npm package `@sparticuz/chromium` (a
 *    devDependency, so `npm install` brings it; Linux x64 only),
 *    unpacked once into a per-version folder under the temp directory with
 *    the NSS, NSPR and expat libraries it ships for Amazon Linux, so it runs
 *    on a machine that has none of them.
 *
 * Where none of these exists, {@link findChromium} answers `undefined` and the
 * suite is skipped with {@link HOW_TO_PROVIDE_CHROMIUM} (see
 * test/support/chromium-probe.ts and test/run-all.mjs).
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform, tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";

/** One line for a machine with no usable browser: the three ways to give the suite one. */
export const HOW_TO_PROVIDE_CHROMIUM =
  "no Chromium found: set CHROMIUM_PATH to a Chromium or Chrome binary, install one (e.g. apt-get install chromium), " +
  "or run `npm install` on Linux x64 to get the devDependency @sparticuz/chromium";

/** Where a system Chromium or Chrome usually is, tried in this order after the same names on PATH. */
const SYSTEM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"];
const SYSTEM_PATHS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser that can be launched: its binary, extra flags and environment, and where it came from. */
export interface FoundChromium {
  readonly executablePath: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** `CHROMIUM_PATH`, `system` or `@sparticuz/chromium <version>`. */
  readonly source: string;
}

/** `CHROMIUM_PATH` names something that cannot be run. */
export class ChromiumPathError extends Error {
  constructor(path: string, options?: ErrorOptions) {
    super(`CHROMIUM_PATH is set to ${path}, which is not an executable file`, options);
    this.name = "ChromiumPathError";
  }
}

/** The bundled Chromium could not be unpacked. */
export class BundledChromiumError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BundledChromiumError";
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function systemChromium(): Promise<string | undefined> {
  const onPath = (process.env.PATH ?? "").split(delimiter).filter(Boolean)
    .flatMap((dir) => SYSTEM_NAMES.map((name) => join(dir, name)));
  for (const candidate of [...onPath, ...SYSTEM_PATHS]) {
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** `execFile` as a promise that keeps stderr in its error. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new BundledChromiumError(`${error.message}\n${stderr}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/**
 * The package unpacks into `os.tmpdir()` and takes an existing file there as
 * done, so two runs unpacking at once could launch half a binary. It unpacks
 * here in a child process whose TMPDIR is a private staging folder, which is
 * then renamed into place in one step: the folder exists only when complete.
 */
async function bundledChromium(): Promise<FoundChromium | undefined> {
  if (platform() !== "linux" || arch() !== "x64") return undefined; // the npm tarball ships the x64 build only
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve("@sparticuz/chromium");
  } catch {
    return undefined; // not installed (e.g. npm install --omit=dev)
  }
  const root = dirname(dirname(entry)); // the entry is build/index.js
  const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
  const dir = join(tmpdir(), `userhub-chromium-${version}`);
  if (!(await isExecutableFile(join(dir, "chromium")))) {
    const staging = await mkdtemp(join(tmpdir(), "userhub-chromium-unpacking-"));
    try {
      const bin = join(root, "bin");
      const unpack = `const { default: chromium, inflate } = await import(${JSON.stringify(pathToFileURL(entry).href)});
        await chromium.executablePath(${JSON.stringify(bin)});
        await inflate(${JSON.stringify(join(bin, "al2023.tar.br"))});`;
      await run(process.execPath, ["--input-type=module", "-e", unpack], { ...process.env, TMPDIR: staging });
      await writeFile(join(staging, "fonts.conf"), fontsConf(dir));
      await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
        // Another run finished first: its folder is complete, use it.
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const { default: sparticuz } = await import("@sparticuz/chromium");
  return {
    executablePath: join(dir, "chromium"),
    // Its flags, minus its `--headless='shell'` (playwright sets headless) and `--single-process`,
    // which would put every tab of the demo test into one renderer.
    args: sparticuz.args.filter((flag) => !flag.startsWith("--headless") && flag !== "--single-process"),
    env: {
      LD_LIBRARY_PATH: [join(dir, "al2023", "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter),
      FONTCONFIG_FILE: join(dir, "fonts.conf"),
    },
    source: `@sparticuz/chromium ${version}`,
  };
}

/** Its fonts.conf names the folders of a serverless function; this one names the unpacked fonts. */
function fontsConf(dir: string): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${join(dir, "fonts")}</dir>
  <dir>/usr/share/fonts</dir>
  <cachedir>${join(dir, "fonts-cache")}</cachedir>
</fontconfig>
`;
}

/**
 * The browser to test with, in the order described above, or `undefined` when
 * none can be had here.
 *
 * @throws {ChromiumPathError} `CHROMIUM_PATH` is set but not an executable file.
 * @throws {BundledChromiumError} the bundled Chromium is installed but could not be unpacked.
 */
export async function findChromium(): Promise<FoundChromium | undefined> {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) {
    if (!(await isExecutableFile(explicit))) throw new ChromiumPathError(explicit);
    return { executablePath: explicit, args: [], env: {}, source: "CHROMIUM_PATH" };
  }
  const system = await systemChromium();
  if (system) return { executablePath: system, args: [], env: {}, source: "system" };
  return await bundledChromium();
}

/** A browser with its own throwaway profile; `close()` ends the browser and deletes the profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  readonly found: FoundChromium;
  close(): Promise<void>;
}

/**
 * Launches the browser {@link findChromium} finds.
 *
 * @throws {Error} none can be had here (the message says how to provide one).
 */
export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<TestBrowser> {
  const found = await findChromium();
  if (!found) throw new Error(HOW_TO_PROVIDE_CHROMIUM);
  const profile = await mkdtemp(join(tmpdir(), "userhub-chromium-profile-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: found.executablePath,
      args: [...new Set([...FLAGS, ...found.args])],
      env: { ...process.env, ...found.env } as Record<string, string>,
      viewport: { width: options.width ?? 900, height: options.height ?? 640 },
    });
    return {
      context,
      found,
      async close() {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

