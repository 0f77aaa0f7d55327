/**
 * Driving the demo page in the browser suite: a signed-in tab, the mark that
 * proves a tab recovered without a reload, and where screenshots go.
 */
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { launchChromium, type TestBrowser } from "./chromium.ts";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";

/** Where the browser tests leave their screenshots. */
export const BROWSER_ARTIFACTS = fileURLToPath(new URL("../../test-results/browser/", import.meta.url));

/** How long a tab may take to come back after its connection or the server went away. */
export const RECOVERY_MS = 60_000;

/**
 * A tab with the demo page from `base`, signed in as `userId`, once it shows
 * "open" and with no page error. Its document is marked, so that
 * {@link loadMark} later proves there was no reload.
 */
async function openDemoTab(browser: TestBrowser, userId: string, base: string): Promise<Page> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${base}/`);
  await page.fill("#user", userId);
  await page.click("#connect");
  await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 });
  await page.evaluate(() => ((window as unknown as { loadMark: string }).loadMark = "first load"));
  expect(problems).toEqual([]);
  return page;
}

/** The mark {@link openDemoTab} left on the tab's document: "first load" while it was never reloaded. */
export async function loadMark(page: Page): Promise<string | undefined> {
  return await page.evaluate(() => (window as unknown as { loadMark?: string }).loadMark);
}

/** A browser suite's server and browser (see {@link demoSuite}). */
export interface DemoSuite {
  /** The suite's `wrangler dev` (started before its tests). */
  readonly dev: WranglerDev;
  /** A tab with the demo page from `base` (default the server itself), signed in as `userId`, once it shows "open". */
  tab(userId: string, base?: string): Promise<Page>;
}

/**
 * Starts a `wrangler dev` and Chromium before the calling suite's tests and
 * stops both after them; call it at the top of a browser test file.
 */
export function demoSuite(): DemoSuite {
  let dev: WranglerDev | undefined;
  let browser: TestBrowser | undefined;
  beforeAll(async () => {
    dev = await startWranglerDev();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the suite's ${what} has not started`);
    return value;
  };
  return {
    get dev() {
      return started(dev, "wrangler dev");
    },
    tab: (userId, base) => openDemoTab(started(browser, "browser"), userId, base ?? started(dev, "wrangler dev").url),
  };
}
