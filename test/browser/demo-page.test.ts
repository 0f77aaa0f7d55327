// The demo page in real Chromium against a real `wrangler dev`: two tabs of
// one user and one tab of another; the server stopped and started again while
// they are open, and every tab recovers by itself, without a reload.
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { launchChromium, type TestBrowser } from "../support/chromium.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.ts";

const ARTIFACTS = fileURLToPath(new URL("../../test-results/browser/", import.meta.url));
const RECOVERY_MS = 60_000;

let dev: WranglerDev;
let browser: TestBrowser;

beforeAll(async () => {
  dev = await startWranglerDev();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

/** A tab with the demo page, signed in as `userId`, once it shows "open". */
async function tab(userId: string): Promise<Page> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${dev.url}/`);
  await page.fill("#user", userId);
  await page.click("#connect");
  await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 });
  // Marks this document: after the restart, the same mark proves there was no reload.
  await page.evaluate(() => ((window as unknown as { loadMark: string }).loadMark = "first load"));
  expect(problems).toEqual([]);
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.click("#send");
}

const messages = (page: Page) => page.locator("#messages li .text").allTextContents();

/** Records every state the page shows from now on. */
async function watchStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const state = document.getElementById("state")!;
    const seen: string[] = [];
    (window as unknown as { seenStates: string[] }).seenStates = seen;
    new MutationObserver(() => seen.push(state.dataset.state ?? "")).observe(state, { attributes: true, attributeFilter: ["data-state"] });
  });
}

test("two tabs of one user see each other's messages and device count; another user's tab sees none", async () => {
  const [alice1, alice2] = [await tab("alice"), await tab("alice")];
  const bob = await tab("bob");

  await expect.poll(() => alice1.textContent("#devices")).toBe("2");
  await expect.poll(() => alice2.textContent("#devices")).toBe("2");
  expect(await bob.textContent("#devices")).toBe("1");

  await say(alice1, "hello from the first tab");
  await expect.poll(() => messages(alice2)).toEqual(["hello from the first tab"]);
  await say(alice2, "and hi from the second");
  await expect.poll(() => messages(alice1)).toEqual(["hello from the first tab", "and hi from the second"]);
  expect(await alice1.locator("#messages li.mine .text").allTextContents()).toEqual(["hello from the first tab"]);

  // bob's own message arrives, and it is the only one he ever sees.
  await say(bob, "bob here");
  await expect.poll(() => messages(bob)).toEqual(["bob here"]);
  expect(await bob.textContent("#seq")).toBe("1");

  await mkdir(ARTIFACTS, { recursive: true });
  await alice1.screenshot({ path: `${ARTIFACTS}demo-page.png` });

  // Closing one of alice's tabs tells the other.
  await alice2.close();
  await expect.poll(() => alice1.textContent("#devices")).toBe("1");
  await alice1.close();
  await bob.close();
});

test("every tab recovers by itself when the server stops and starts again, without a reload", async () => {
  const tabs = [await tab("carol"), await tab("carol"), await tab("dave")];
  for (const page of tabs) await watchStates(page);

  await dev.restart();

  for (const page of tabs) {
    await page.waitForSelector('#state[data-state="open"]', { timeout: RECOVERY_MS });
    expect(await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates)).toContain("reconnecting");
    expect(await page.evaluate(() => (window as unknown as { loadMark?: string }).loadMark)).toBe("first load");
  }
  await say(tabs[0]!, "after the restart");
  await expect.poll(() => messages(tabs[1]!), { timeout: 10_000 }).toEqual(["after the restart"]);
  expect(await messages(tabs[2]!)).toEqual([]);
  await tabs[0]!.screenshot({ path: `${ARTIFACTS}after-restart.png` });
  for (const page of tabs) await page.close();
}, RECOVERY_MS * 2);
