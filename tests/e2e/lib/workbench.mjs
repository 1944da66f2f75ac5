// Drive the VS Code workbench (served by code-server) from headless Chromium with playwright-core.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot, toolsDir } from './codeserver.mjs';

const require = createRequire(path.join(toolsDir, 'driver', 'package.json'));
const { chromium } = require('playwright-core');

export const chromiumPath = process.env.E2E_CHROMIUM || '/usr/bin/chromium';

// Keep the browser off the network: only 127.0.0.1 resolves.
export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-default-apps',
  '--disable-extensions', '--no-default-browser-check', '--metrics-recording-only', '--mute-audio',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

export async function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

export async function newPage(browser, { width = 1600, height = 1200 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

/** Poll fn() until it returns a truthy value; rethrow its last error with `what` on timeout. */
export async function waitFor(what, fn, { timeout = 30_000, interval = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e.fatal) throw e;
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Open the workbench and wait until it is interactive. */
export async function openWorkbench(page, url) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
}

/**
 * Run a command from the palette by its title as shown there ("AnimateDiff: Run Phase 1").
 * Contributed commands reach the palette some seconds after the workbench appears, so retry:
 * F1, type, wait for a row whose label is the title, click it; otherwise Escape and try again.
 */
export async function runCommand(page, title, { timeout = 60_000 } = {}) {
  const widget = page.locator('.quick-input-widget');
  const deadline = Date.now() + timeout;
  let attempt = 0;
  for (;;) {
    attempt += 1;
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    try {
      await widget.waitFor({ state: 'visible', timeout: 5_000 });
      const input = widget.locator('input');
      await input.fill(`>${title}`);
      const row = widget.locator('.monaco-list-row', {
        has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(title)}\\s*$`) }),
      }).first();
      await row.waitFor({ state: 'visible', timeout: 4_000 });
      await row.click();
      await widget.waitFor({ state: 'hidden', timeout: 5_000 });
      return;
    } catch (e) {
      await page.keyboard.press('Escape').catch(() => {});
      if (Date.now() > deadline) throw new Error(`palette: could not run "${title}" after ${attempt} tries: ${e.message}`);
      await page.waitForTimeout(1_000);
    }
  }
}

export function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The frame of a webview whose content matches `selector`. Webview content sits two iframes deep
 * (iframe.webview > iframe#active-frame); several webviews may exist, so look through all frames.
 */
export async function webviewFrame(page, selector, { timeout = 30_000 } = {}) {
  return waitFor(`a webview containing ${selector}`, async () => {
    for (const f of page.frames()) {
      if (f === page.mainFrame() || f.isDetached()) continue;
      try {
        if (await f.locator(selector).count()) return f;
      } catch { /* frame navigating */ }
    }
    return null;
  }, { timeout });
}

/** Editor tab by its label. */
export function tab(page, label) {
  return page.locator('.tabs-container .tab[role="tab"]:visible').filter({ hasText: label });
}

/** Notification toasts currently shown, as text. */
export async function notifications(page) {
  return page.locator('.notifications-toasts .notification-toast').allInnerTexts().catch(() => []);
}

/** Wait for a notification whose text matches re; returns its text. */
export async function waitForNotification(page, re, opts = {}) {
  return waitFor(`a notification matching ${re}`, async () => {
    const texts = await page.locator('.notifications-toasts .notification-list-item').allInnerTexts();
    return texts.find((t) => re.test(t));
  }, opts);
}

export async function dismissNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => {});
}

export const artifactsDir = path.join(repoRoot, 'test-artifacts', 'e2e');

/** Save a screenshot (of the page, or of one element) as test-artifacts/e2e/<name>.png; returns its path. */
export async function shot(page, name, { locator } = {}) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const p = path.join(artifactsDir, `${name}.png`);
  if (locator) await locator.screenshot({ path: p });
  else await page.screenshot({ path: p });
  return p;
}

/**
 * Wait until the open walkthrough step shows its lesson markdown (a webview beside the steps) with
 * `heading` in it, on screen (not squeezed to zero width). Returns the webview's frame.
 */
export async function waitForLessonMedia(page, heading, { timeout = 30_000 } = {}) {
  const frame = await waitFor(`the lesson text "${heading}" in the walkthrough`, async () => {
    for (const f of page.frames()) {
      if (f === page.mainFrame() || f.isDetached()) continue;
      try {
        if (await f.locator('h1, h2', { hasText: heading }).count()) return f;
      } catch { /* navigating */ }
    }
    return null;
  }, { timeout });
  await waitFor('the walkthrough media column on screen', async () => {
    const box = await page.locator('.gettingStartedContainer .getting-started-media').first().boundingBox();
    return box && box.width > 200 && box.height > 200;
  }, { timeout: 10_000 });
  return frame;
}

/** The first markdown heading of a walkthrough step's media file. */
export function lessonHeading(mdPath) {
  const m = /^#\s+(.+)$/m.exec(fs.readFileSync(mdPath, 'utf8'));
  if (!m) throw new Error(`no heading in ${mdPath}`);
  return m[1].trim();
}
