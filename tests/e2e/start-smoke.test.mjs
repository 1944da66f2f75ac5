// Smoke test for README command 1 (scripts/start.sh): start it as a user would, load the URL it
// prints in headless Chromium, see the lesson walkthrough open, then stop it with Ctrl-C (SIGINT to
// its process group) and see the server gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, repoRoot } from './lib/codeserver.mjs';
import { isLoopback, listeningSockets } from './lib/processes.mjs';
import { artifactsDir, launchBrowser, lessonHeading, newPage, shot, waitFor, waitForLessonMedia } from './lib/workbench.mjs';

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const walkthroughTitle = manifest.contributes.walkthroughs[0].title;

test('scripts/start.sh serves VS Code on 127.0.0.1 with the lesson walkthrough open, and stops on Ctrl-C', { timeout: 600_000 }, async () => {
  // Short: code-server puts a socket in its state folder (~107-character limit on socket paths).
  const runRoot = fs.mkdtempSync(path.join('/tmp', 'ad-smoke-'));
  const logs = path.join(artifactsDir, 'logs-start-smoke');
  const port = await freePort();
  const env = {
    ...process.env,
    STUDIO_PORT: String(port),
    STUDIO_STATE_DIR: path.join(runRoot, 'state'),
    STUDIO_NO_DESKTOP: '1',
  };
  // Reuse the suite's interpreter and .vsix when scripts/e2e.sh made them (start.sh would otherwise
  // build its own venv; that path is the same script with another folder).
  if (process.env.E2E_PYTHON) env.STUDIO_PYTHON = process.env.E2E_PYTHON;
  if (process.env.E2E_VSIX) env.STUDIO_VSIX = process.env.E2E_VSIX;

  const out = fs.openSync(path.join(runRoot, 'start.log'), 'w');
  const proc = spawn(path.join(repoRoot, 'scripts', 'start.sh'), [], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', out] });
  let stdout = '';
  proc.stdout.on('data', (d) => { stdout += d; fs.appendFileSync(path.join(runRoot, 'start.log'), d); });
  let exit = null;
  const exited = new Promise((r) => proc.on('exit', (code, signal) => { exit = { code, signal }; r(exit); }));
  const browser = await launchBrowser();
  try {
    const url = await waitFor('start.sh to print its URL', () => {
      if (exit) throw new Error(`start.sh exited: ${JSON.stringify(exit)}\n${fs.readFileSync(path.join(runRoot, 'start.log'), 'utf8').slice(-3000)}`);
      return stdout.match(/http:\/\/127\.0\.0\.1:\d+\/\S*/)?.[0];
    }, { timeout: 540_000, interval: 500 });
    assert.equal(url, `http://127.0.0.1:${port}/`);
    const listening = listeningSockets(proc.pid);
    assert.ok(listening.some((l) => l.port === port), `code-server listens on ${port}: ${JSON.stringify(listening)}`);
    assert.deepEqual(listening.filter((l) => !isLoopback(l.addr)), [], 'nothing listens beyond loopback');

    const page = await newPage(browser);
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // Opened by start.sh without any input from us.
    const walk = page.locator('.gettingStartedContainer .getting-started-category-title, .gettingStartedContainer h2', { hasText: walkthroughTitle });
    await walk.first().waitFor({ state: 'visible', timeout: 60_000 });
    const steps = page.locator('.gettingStartedContainer button.getting-started-step');
    assert.equal(await steps.count(), manifest.contributes.walkthroughs[0].steps.length);
    // The first step's lesson text (lessons/*.md) is shown beside the steps.
    await waitForLessonMedia(page, lessonHeading(path.join(repoRoot, manifest.contributes.walkthroughs[0].steps[0].media.markdown)));
    await shot(page, '00-start-sh-walkthrough');
    // Again with the window open (extension host, language servers, the opener running).
    assert.deepEqual(listeningSockets(proc.pid).filter((l) => !isLoopback(l.addr)), [], 'nothing listens beyond loopback');
    await page.close();
  } finally {
    await browser.close();
    if (!exit) process.kill(-proc.pid, 'SIGINT'); // what Ctrl-C in its terminal sends
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (!exit) process.kill(-proc.pid, 'SIGKILL');
    fs.rmSync(logs, { recursive: true, force: true });
    fs.mkdirSync(logs, { recursive: true });
    for (const f of ['start.log', 'state/code-server.log']) {
      if (fs.existsSync(path.join(runRoot, f))) fs.copyFileSync(path.join(runRoot, f), path.join(logs, path.basename(f)));
    }
    fs.rmSync(runRoot, { recursive: true, force: true });
  }
  assert.equal(exit.code, 0, `start.sh exit after Ctrl-C: ${JSON.stringify(exit)}`);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'code-server still answers after Ctrl-C');
});

test('scripts/start.sh installs the .vsix into desktop VS Code when `code` is on PATH', { timeout: 300_000 }, async () => {
  const vsix = process.env.E2E_VSIX;
  if (!vsix) return; // the .vsix comes from scripts/e2e.sh; building one here would only repeat it
  const bin = fs.mkdtempSync(path.join('/tmp', 'ad-code-'));
  const calls = path.join(bin, 'calls.txt');
  // A stand-in for VS Code's CLI that records how it was called.
  fs.writeFileSync(path.join(bin, 'code'), `#!/bin/sh\nprintf '%s\\n' "$@" >> "${calls}"\n`);
  fs.chmodSync(path.join(bin, 'code'), 0o755);
  try {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(path.join(repoRoot, 'scripts', 'start.sh'), [], {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, STUDIO_VSIX: vsix, STUDIO_NO_DESKTOP: '' },
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(calls, 'utf8').trim().split('\n'), ['--install-extension', vsix, '--force']);
    assert.match(r.stdout, /Open Lesson Walkthrough/);
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
});
