// The web page in a real browser (Debian's chromium via playwright-core) against the real service on
// the shipped models: draw a 1, upload a digit and a text file, open every view, check accessibility.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { loadConfig } from "../src/config.js";
import { silentLogger } from "../src/service/log.js";
import { type RunningService, startService } from "../src/service/server.js";
import { digitPng, mnistTest, writeReferences } from "./service-fixture.js";
import { startTestService } from "./service-harness.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const MODELS = "models";
/** Screenshots of each view land here (the test's output folder). */
export const OUTPUT = process.env.CGNN_WEB_TEST_OUTPUT ?? join(tmpdir(), "cgnn-web-test");
// Outside CI a developer without Debian's chromium sees why these tests did not run; in CI
// (.ci/run installs chromium) and with the shipped models they always run, and fail if they cannot.
const skip =
  !existsSync(CHROMIUM) && !process.env.CI
    ? `${CHROMIUM} is missing (apt-get install chromium; CI installs it)`
    : false;

let service: RunningService;
let context: BrowserContext;
let profile: string;
let page: Page;
let base: string;

before(async () => {
  if (skip) return;
  await mkdir(OUTPUT, { recursive: true });
  const config = loadConfig([], {
    CGNN_MODELS_DIR: MODELS,
    CGNN_ENGINE: "microbatch",
    PORT: "0",
    HOST: "127.0.0.1",
  });
  service = await startService(config, silentLogger);
  base = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
  profile = await mkdtemp(join(tmpdir(), "cgnn-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    bypassCSP: true, // lets the test inject axe-core; the page itself runs under its CSP
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  assert.equal(await service.loaded, true, "the shipped models load");
  await page.goto(`${base}/`);
  await page.locator("#status[data-kind=ok]").waitFor();
});

after(async () => {
  if (skip) return;
  await context?.close();
  await service?.close();
  await rm(profile, { recursive: true, force: true });
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
}

async function openTab(name: string): Promise<void> {
  await page.getByRole("tab", { name }).click();
  await page.locator(`#view-${name.toLowerCase()}`).waitFor({ state: "visible" });
}

// The page's own code runs in the browser; what the test evaluates there is written as strings,
// so this Node-side file needs no DOM types.

/** Every <img> in `selector` has loaded with real pixels. */
async function imagesLoaded(selector: string): Promise<number> {
  await page.waitForFunction(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].every((i) => i.complete && i.naturalWidth > 0)`,
  );
  return page.locator(selector).count();
}

interface AxeViolation {
  id: string;
  impact: string;
  where: string[];
}

/** axe-core in this page: the serious and critical violations. */
async function axeViolations(): Promise<string[]> {
  const source = await readFile(
    createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
    "utf8",
  );
  await page.evaluate(source);
  const found = (await page.evaluate(`axe.run().then((r) => r.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    where: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  })))`)) as AxeViolation[];
  return found
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}) at ${v.where.join(", ")}`);
}

test("a stroke drawn like a 1 is classified as 1, with references at every level", {
  skip,
}, async () => {
  const box = await page.locator("#pad").boundingBox();
  assert.ok(box);
  const x = box.x + box.width * 0.52;
  await page.mouse.move(x, box.y + box.height * 0.15);
  await page.mouse.down();
  for (let t = 1; t <= 12; t++)
    await page.mouse.move(x - t * 0.5, box.y + box.height * (0.15 + (t / 12) * 0.7));
  await page.mouse.up();
  const label = page.locator("#classify-result [data-testid=label]");
  await label.waitFor();
  assert.equal(await label.textContent(), "1");
  assert.equal(await page.locator("#taylornet-result [data-testid=label]").textContent(), "1");
  assert.equal(
    await page.locator("#classify-result .bars tbody tr").count(),
    10,
    "one bar per class",
  );
  await shot("classify");
  await openTab("Why");
  const levels = page.locator("#why .level");
  assert.equal(await levels.count(), 5, "levels L1…L5");
  for (let i = 0; i < 5; i++) assert.ok((await levels.nth(i).locator("img").count()) >= 1);
  assert.ok((await imagesLoaded("#why img")) >= 6, "reference images and the model's input load");
  assert.equal(
    await levels
      .nth(4)
      .locator(".tile.first span")
      .textContent()
      .then((t) => t?.split(" ")[0]),
    "1",
  );
  await shot("why");
  assert.deepEqual(await axeViolations(), []);
});

test("an uploaded PNG digit is classified as its label", { skip }, async () => {
  await openTab("Classify");
  const data = await mnistTest();
  const index = data.labels.indexOf(7);
  await page.locator("#file").setInputFiles({
    name: "seven.png",
    mimeType: "image/png",
    buffer: await digitPng(index, { scale: 4 }),
  });
  await page.locator("#file-name", { hasText: "seven.png" }).waitFor();
  await page.locator("#classify-result [data-testid=label]", { hasText: "7" }).waitFor();
  assert.equal(await page.locator("#error").isHidden(), true);
});

/** Sends `png` to the page as a dropped file (on the pad) or a pasted one (anywhere), as a browser would. */
async function dropOrPaste(how: "drop" | "paste", png: Buffer, name: string): Promise<void> {
  await page.evaluate(`(() => {
    const bytes = Uint8Array.from(atob(${JSON.stringify(png.toString("base64"))}), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], ${JSON.stringify(name)}, { type: "image/png" }));
    const event = ${JSON.stringify(how)} === "drop"
      ? new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true })
      : new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
    (${JSON.stringify(how)} === "drop" ? document.getElementById("drop-zone") : document.body).dispatchEvent(event);
  })()`);
}

test("a dropped and a pasted image are classified too", { skip }, async () => {
  const data = await mnistTest();
  const label = page.locator("#classify-result [data-testid=label]");
  await dropOrPaste("drop", await digitPng(data.labels.indexOf(2), { scale: 3 }), "two.png");
  await page.locator("#file-name", { hasText: "two.png" }).waitFor();
  await page.locator("#classify-result [data-testid=label]", { hasText: "2" }).waitFor();
  await dropOrPaste("paste", await digitPng(data.labels.indexOf(0), { scale: 3 }), "zero.png");
  await page.locator("#file-name", { hasText: "zero.png" }).waitFor();
  await page.locator("#classify-result [data-testid=label]", { hasText: "0" }).waitFor();
  assert.equal(await label.textContent(), "0");
});

test("a text file shows the API's own error message", { skip }, async () => {
  const bytes = Buffer.from("not an image, just some text\n");
  const form = new FormData();
  form.append("image", new Blob([bytes], { type: "text/plain" }), "notes.txt");
  const direct = await fetch(`${base}/classify`, { method: "POST", body: form });
  assert.ok(direct.status >= 400 && direct.status < 500);
  const { error } = (await direct.json()) as { error: { message: string } };
  await page
    .locator("#file")
    .setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: bytes });
  const alert = page.locator("#error");
  await alert.waitFor({ state: "visible" });
  assert.match(
    (await alert.textContent()) ?? "",
    new RegExp(error.message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
  );
  await shot("error");
});

test("the References gallery shows every served level", { skip }, async () => {
  await openTab("References");
  const sheets = page.locator("#references .level-sheet");
  await sheets.first().waitFor();
  assert.equal(await sheets.count(), 5);
  assert.equal(await imagesLoaded("#references .level-sheet img"), 5);
  assert.match((await page.locator("#references .facts").textContent()) ?? "", /mnist-s1-/);
  await shot("references");
  assert.deepEqual(await axeViolations(), []);
});

test("the TaylorNet view shows heat maps, the expanded polynomial and Fig. 3", {
  skip,
}, async () => {
  await openTab("TaylorNet");
  await page.locator("#served-polynomial canvas.heat").first().waitFor();
  assert.equal(
    await page.locator("#served-polynomial canvas.heat").count(),
    2,
    "linear and pairwise maps",
  );
  assert.ok((await page.locator("#tiny-polynomial tbody tr").count()) >= 5);
  assert.equal(await imagesLoaded("#fig3 img"), 1);
  await page.getByLabel("Class", { exact: true }).selectOption("3");
  await shot("taylornet");
  assert.deepEqual(await axeViolations(), []);
});

test("the page reads on a phone and the tabs work from the keyboard", { skip }, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("tab", { name: "TaylorNet" }).focus();
  await page.keyboard.press("Home");
  assert.equal(
    await page.getByRole("tab", { name: "Classify" }).getAttribute("aria-selected"),
    "true",
  );
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate("document.activeElement?.id"), "tab-why");
  await page.keyboard.press("ArrowLeft");
  const overflow = (await page.evaluate(
    "document.documentElement.scrollWidth - window.innerWidth",
  )) as number;
  assert.ok(overflow <= 0, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
  await page.getByRole("tab", { name: "Classify" }).click();
  const data = await mnistTest();
  const index = data.labels.indexOf(4);
  await page.locator("#file").setInputFiles({
    name: "four.png",
    mimeType: "image/png",
    buffer: await digitPng(index, { scale: 4 }),
  });
  await page.locator("#classify-result [data-testid=label]", { hasText: "4" }).waitFor();
  await shot("classify-phone");
});

test("the References view follows a hot reload without reloading the page", { skip }, async () => {
  const svc = await startTestService({ engine: "microbatch" });
  const server = svc.app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const tab = await context.newPage();
  try {
    assert.equal(await svc.load(), true);
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await tab.getByRole("tab", { name: "References" }).click();
    const facts = tab.locator("#references .facts");
    await facts.getByText("v1", { exact: true }).waitFor();
    await writeReferences(svc.fixture.dir, "v2");
    assert.equal(await svc.reloader.reload("test", true), true);
    await facts.getByText("v2", { exact: true }).waitFor({ timeout: 15_000 });
    assert.match((await tab.locator("#status").textContent()) ?? "", /Reloaded: references v2/);
  } finally {
    await tab.close();
    server.close();
    server.closeAllConnections();
    await svc.stop();
  }
});
