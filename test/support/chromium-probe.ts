// Run by test/run-all.mjs before the browser suite (`node test/support/chromium-probe.ts`
// on the Node 22 of the `node` devDependency). It finds the browser the suite
// will use (unpacking the bundled one if that is the one), starts it once and
// prints one line saying which. Exit codes:
//   0  a browser is there and starts;
//   3  none can be had here: the line says how to provide one (the suite is skipped);
//   1  a browser was named or found but does not work (the suite counts as failed).
import { findChromium, HOW_TO_PROVIDE_CHROMIUM, launchChromium } from "./chromium.ts";

const UNAVAILABLE = 3;

try {
  const found = await findChromium();
  if (!found) {
    console.log(HOW_TO_PROVIDE_CHROMIUM);
    process.exit(UNAVAILABLE);
  }
  try {
    const browser = await launchChromium();
    await browser.close();
  } catch (error) {
    // The bundled build is the fallback of a machine that has no browser of its
    // own: if it cannot start here, this machine has none to offer.
    if (found.source.startsWith("@sparticuz/chromium")) {
      console.log(`${HOW_TO_PROVIDE_CHROMIUM} (the bundled ${found.source} does not start here: ${String(error).split("\n")[0]})`);
      process.exit(UNAVAILABLE);
    }
    throw error;
  }
  console.log(`Chromium from ${found.source}: ${found.executablePath}`);
} catch (error) {
  console.log(String(error instanceof Error ? `${error.name}: ${error.message}` : error));
  process.exit(1);
}
