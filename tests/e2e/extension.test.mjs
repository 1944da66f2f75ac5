// End to end in a real VS Code (code-server, VS Code 1.139) driven by headless Chromium, with the
// tiny random-weight models: one code-server start for the whole file; the scenarios run in order,
// the walkthrough's order (environment -> deploy -> models -> Phase 1 -> Phase 2 and its edit -> outputs
// -> the motion module -> Phase 3 -> longer and directed clips), then a sidecar crash, and build on each other.
// A screenshot of each state goes to test-artifacts/e2e/NN-*.png.
//
// Inputs (scripts/e2e.sh sets them): E2E_VSIX, E2E_PYTHON (a venv the Deploy step may pip-install
// into), E2E_TINY_MODELS (from `python -m animatediff_testing.tiny_models DIR`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot, startCodeServer, tail } from './lib/codeserver.mjs';
import {
  launchBrowser, lessonHeading, newPage, openWorkbench, runCommand, shot, tab, waitFor, waitForLessonMedia, webviewFrame, artifactsDir,
} from './lib/workbench.mjs';
import { alive, descendants, isLoopback, listeningSockets } from './lib/processes.mjs';

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const extId = `${manifest.publisher}.${manifest.name}`;
const walk = manifest.contributes.walkthroughs[0];
const cmdTitle = (id) => {
  const c = manifest.contributes.commands.find((x) => x.command === id);
  assert.ok(c, `command ${id} is contributed`);
  return `${c.category}: ${c.title}`;
};
const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through scripts/e2e.sh`);
  return path.resolve(v);
};

const SIDECAR_RE = /animatediff_sidecar/;
const TINY = { frames: 4, steps: 3, width: 64, height: 64 };

let cs; let browser; let page;
let scratch; let outputDir; let tmpRoot;
const failed = new Set(); // scenarios that failed; later ones that need them are skipped

/** Run a scenario body; on failure save a screenshot and the server log tail, and remember it. */
function scenario(name, needs, fn, timeout = 240_000) {
  test(name, { timeout }, async (t) => {
    const missing = needs.filter((n) => failed.has(n));
    if (missing.length) { failed.add(name); t.skip(`needs: ${missing.join(', ')}`); return; }
    try {
      await fn(t);
    } catch (e) {
      failed.add(name);
      const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 40);
      await shot(page, `fail-${slug}`).catch(() => {});
      e.message += `\n--- code-server log tail ---\n${tail(cs?.logPath ?? '', 2500)}`;
      throw e;
    }
  });
}

// ---- webview helpers (the DOM contract in extension/TESTING.md) ----------------------------------

/** The preview webview's frame (it may be in a background tab: fine for reading). */
async function preview() { return webviewFrame(page, '#run-form', { timeout: 30_000 }); }

/** The GIF of the run just finished: the panel's final-gif path once it differs from `before` and exists. */
async function newGifPath(before, what) {
  const gif = (await preview()).locator('#final-gif');
  return waitFor(what, async () => {
    const p = await gif.getAttribute('data-path');
    return p && p !== before && fs.existsSync(p) ? p : null;
  }, { timeout: 30_000 });
}

/** Bring the preview to the front (its tab, else the command) and return its frame, for clicking. */
async function showPreview() {
  const previewTab = tab(page, 'AnimateDiff Preview');
  if (await previewTab.count()) await previewTab.first().click();
  else await runCommand(page, cmdTitle('animatediff.openPreview'));
  const f = await preview();
  await f.locator('#run-form').waitFor({ state: 'visible', timeout: 15_000 });
  return f;
}

async function status(f) {
  const el = f.locator('#status');
  const state = (await el.getAttribute('data-state')) ?? '';
  const text = (await el.innerText()).trim();
  return { state: state || text.split(/\s/)[0].toLowerCase(), text };
}

/**
 * Record every change of #status inside the preview webview from now on, so that a run's end is
 * told apart from the status the previous run left behind (and fast runs are not missed).
 */
async function armStatusLog(f) {
  await f.evaluate(() => {
    const w = window;
    const el = document.getElementById('status');
    w.__e2eStates = [];
    w.__e2eStatusObserver?.disconnect();
    w.__e2eStatusObserver = new MutationObserver(() => {
      const last = w.__e2eStates[w.__e2eStates.length - 1];
      const now = { state: el.dataset.state, text: el.textContent.trim() };
      if (!last || last.state !== now.state || last.text !== now.text) w.__e2eStates.push(now);
    });
    w.__e2eStatusObserver.observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
  });
}

/** Wait until the preview has shown `running` and then one of `ends` since armStatusLog. */
async function waitRun(what, ends = ['completed'], { timeout = 180_000, started = false } = {}) {
  return waitFor(`${what}: ${started ? 'running' : ends.join('/')}`, async () => {
    const f = await preview();
    const log = await f.evaluate(() => window.__e2eStates);
    if (!log) throw Object.assign(new Error('the preview webview was reloaded during the run'), { fatal: true });
    const i = log.findIndex((x) => x.state === 'running');
    if (i < 0) return null;
    if (started) return log[i];
    const end = log.slice(i + 1).find((x) => x.state !== 'running');
    if (!end) return null;
    if (!ends.includes(end.state)) {
      const err = await f.locator('#error').innerText().catch(() => '');
      throw Object.assign(new Error(`${what} ended ${end.state}: ${end.text} ${err}`), { fatal: true });
    }
    return end;
  }, { timeout, interval: 200 });
}

async function setForm(f, values) {
  for (const [id, v] of Object.entries(values)) {
    const el = f.locator(`#${id}`);
    const tag = await el.evaluate((n) => n.tagName.toLowerCase());
    if (tag === 'select') await el.selectOption(String(v));
    else await el.fill(String(v));
  }
}

/** Record, inside the preview webview, every preview frame step it shows (survives fast runs). */
async function watchPreviews(f) {
  await f.evaluate(() => {
    const w = window;
    w.__e2eSeen = [];
    w.__e2eObserver?.disconnect();
    const record = () => {
      const imgs = [...document.querySelectorAll('#preview-grid img.preview-frame[data-step]')]
        .filter((i) => i.src.startsWith('data:image/png'));
      if (imgs.length) w.__e2eSeen.push({ n: imgs.length, steps: imgs.map((i) => i.dataset.step) });
    };
    w.__e2eObserver = new MutationObserver(record);
    w.__e2eObserver.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['src', 'data-step'] });
  });
}
const seenPreviews = (f) => f.evaluate(() => window.__e2eSeen ?? []);

async function waitForNotificationText(re, timeout = 30_000) {
  return waitFor(`a notification matching ${re}`, async () => {
    const texts = await page.locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item').allInnerTexts();
    return texts.find((t) => re.test(t));
  }, { timeout });
}

function outputs(ext) {
  if (!fs.existsSync(outputDir)) return [];
  return fs.readdirSync(outputDir).filter((n) => n.endsWith(ext)).sort();
}

function sidecars() { return descendants(cs.proc.pid, SIDECAR_RE); }

/** The AnimateDiff output channel as the extension host wrote it to disk. */
function extensionLog() {
  const root = path.join(cs.runDir, 'user-data', 'logs');
  const found = [];
  const walkDir = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walkDir(p);
      else if (/AnimateDiff\.log$/.test(e.name)) found.push(p);
    }
  };
  if (fs.existsSync(root)) walkDir(root);
  return found.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

function readJson(p) { return JSON.parse(fs.readFileSync(p, 'utf8')); }

// ---- suite ---------------------------------------------------------------------------------------

describe('AnimateDiff Lesson Studio in a real VS Code (code-server + headless Chromium, tiny models)', () => {
  before(async () => {
    const vsix = need('E2E_VSIX');
    const python = need('E2E_PYTHON');
    const models = need('E2E_TINY_MODELS');
    // Short: code-server puts sockets under its user-data folder (~107-character limit).
    tmpRoot = fs.mkdtempSync(path.join('/tmp', 'ad-e2e-'));
    scratch = path.join(tmpRoot, 'scratchpad', 'tt-animatediff');
    outputDir = path.join(scratch, 'output');
    const workspace = path.join(tmpRoot, 'workspace');
    fs.mkdirSync(workspace, { recursive: true });
    cs = await startCodeServer({
      runDir: path.join(tmpRoot, 'cs'),
      vsix,
      workspace,
      guardPython: true,
      // the presets' hub ids (Lightning, AnimateLCM) resolve to the tiny models' cache, offline
      env: { HF_HUB_CACHE: path.join(models, 'hf-cache') },
      userSettings: {
        'workbench.colorTheme': 'Default Dark Modern',
        'animatediff.pythonPath': python,
        'animatediff.scratchpadPath': scratch,
        'animatediff.models.sd': path.join(models, 'sd'),
        'animatediff.models.motionAdapter': path.join(models, 'motion-adapter'),
        'animatediff.numFrames': TINY.frames,
        'animatediff.steps': TINY.steps,
        'animatediff.width': TINY.width,
        'animatediff.height': TINY.height,
        'animatediff.seed': 7,
        'animatediff.device': 'cpu',
        'animatediff.deploy.pipInstall': true,
      },
    });
    browser = await launchBrowser();
    page = await newPage(browser);
    await openWorkbench(page, cs.url);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await cs?.stop();
    // Keep the server's and the extension host's logs (the AnimateDiff output channel among them).
    if (cs) {
      const logs = path.join(artifactsDir, 'logs');
      fs.rmSync(logs, { recursive: true, force: true });
      fs.mkdirSync(logs, { recursive: true });
      fs.copyFileSync(cs.logPath, path.join(logs, 'code-server.log'));
      fs.cpSync(path.join(cs.runDir, 'user-data', 'logs'), path.join(logs, 'vscode'), { recursive: true });
    }
    if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  });

  scenario('the .vsix is installed and the lesson walkthrough opens', [], async () => {
    const installed = fs.readdirSync(path.join(cs.runDir, 'extensions'));
    assert.ok(installed.some((d) => d.startsWith(`${extId}-`)), `${extId} in ${installed}`);
    await runCommand(page, cmdTitle('animatediff.openWalkthrough'));
    const title = page.locator('.gettingStartedContainer .getting-started-category-title, .gettingStartedContainer h2', { hasText: walk.title });
    await title.first().waitFor({ state: 'visible', timeout: 30_000 });
    const steps = page.locator('.gettingStartedContainer button.getting-started-step');
    assert.equal(await steps.count(), walk.steps.length);
    await waitForLessonMedia(page, lessonHeading(path.join(repoRoot, walk.steps[0].media.markdown)));
    await shot(page, '01-walkthrough');
  });

  scenario('the walkthrough shows the lessons 1..10 in their order, each step with its hardware, status and time', ['the .vsix is installed and the lesson walkthrough opens'], async () => {
    // One order, one numbering (issue #21): the n-th step shows lesson n, whose heading carries n.
    for (const [i, s] of walk.steps.entries()) {
      const button = page.locator(`button.getting-started-step[data-step-id="${extId}#${walk.id}#${s.id}"]`);
      await button.click();
      const heading = lessonHeading(path.join(repoRoot, s.media.markdown));
      assert.ok(heading.startsWith(`${i + 1}. `), `step ${i + 1} shows "${heading}"`);
      await waitForLessonMedia(page, heading);
      // The media frame may be re-rendered while it settles: read the status line from whichever frame shows it.
      const status = await waitFor(`the status line of step ${i + 1}`, async () => {
        for (const f of page.frames()) {
          if (f === page.mainFrame() || f.isDetached()) continue;
          try {
            const quote = f.locator('blockquote', { hasText: 'Status:' });
            if (await f.locator('h1, h2', { hasText: heading }).count() && await quote.count()) return await quote.first().innerText();
          } catch { /* navigating */ }
        }
        return null;
      }, { timeout: 30_000 });
      assert.match(status, /Hardware:.*Status:.*(validated on|draft: not yet run on).*Time: about \d+ min/s);
      assert.match(await button.innerText(), /Status: .*Time: about \d+ min/s, `step ${s.id} says its status`);
      if ([0, 3, 4, 8].includes(i)) await shot(page, `01a-walkthrough-step-${String(i + 1).padStart(2, '0')}-${s.id}`);
    }
    await page.locator(`button.getting-started-step[data-step-id="${extId}#${walk.id}#${walk.steps[0].id}"]`).click();
  });

  scenario('Check Environment from the walkthrough uses the configured interpreter and scratchpad', ['the .vsix is installed and the lesson walkthrough opens'], async () => {
    const step = page.locator(`button.getting-started-step[data-step-id="${extId}#${walk.id}#environment"]`);
    await step.click();
    await step.locator('a.monaco-button', { hasText: /check environment/i }).first().click();
    await waitFor('the environment step to tick off', async () => (await step.getAttribute('aria-checked')) === 'true', { timeout: 90_000 });
    await waitForNotificationText(/AnimateDiff environment/i);
    const log = await waitFor('the interpreter line in the extension log', () => /Python interpreter: .*/.exec(extensionLog())?.[0], { timeout: 10_000 });
    // The deploy step pip-installs into this interpreter: it must be the suite's own venv.
    assert.ok(log.includes(need('E2E_PYTHON')), `extension uses ${need('E2E_PYTHON')}: ${log}`);
    // ... and Deploy writes here: the temp scratchpad, never the home folder's default.
    const started = /Starting sidecar: .*/.exec(extensionLog())?.[0] ?? '';
    assert.ok(started.includes(`--scratchpad ${scratch}`), `sidecar started on the temp scratchpad: ${started}`);
    await shot(page, '01b-environment-checked');
  });

  scenario('Deploy from the walkthrough copies the project into the scratchpad and pip-installs it', ['Check Environment from the walkthrough uses the configured interpreter and scratchpad'], async () => {
    const step = page.locator(`button.getting-started-step[data-step-id="${extId}#${walk.id}#deploy"]`);
    await step.click();
    const deployMd = walk.steps.find((x) => x.id === 'deploy').media.markdown;
    await waitForLessonMedia(page, lessonHeading(path.join(repoRoot, deployMd)));
    await step.locator('a.monaco-button', { hasText: /deploy/i }).first().click();
    const pipeline = path.join(scratch, 'animatediff_ttnn', 'ttnn_pipeline.py');
    await waitFor('the deployed files in the scratchpad', () => fs.existsSync(pipeline) && fs.existsSync(path.join(scratch, 'pyproject.toml')), { timeout: 60_000 });
    // The step ticks off when the whole deploy (copy + pip install -e) has succeeded.
    await waitFor('the deploy step to tick off', async () => (await step.getAttribute('aria-checked')) === 'true', { timeout: 180_000 });
    const where = execFileSync(need('E2E_PYTHON'), ['-c', 'import animatediff_ttnn, os; print(os.path.realpath(animatediff_ttnn.__file__))'], { encoding: 'utf8' }).trim();
    assert.ok(where.startsWith(fs.realpathSync(scratch)), `the interpreter imports the scratchpad copy (got ${where})`);
    // The learner opens the scratchpad and sees the lesson's files at the top, the machinery in folders (issue 19):
    // the deployed package's top level is the repository's (tests/python/test_package_layout.py checks that one).
    const topLevel = (dir) => fs.readdirSync(dir).filter((n) => n !== '__pycache__').sort();
    const shipped = path.join(repoRoot, 'python', 'tt-animatediff', 'animatediff_ttnn');
    assert.deepEqual(topLevel(path.join(scratch, 'animatediff_ttnn')), topLevel(shipped), 'the scratchpad shows the lesson package as shipped');
    await shot(page, '02-deployed');
  });

  scenario('Download Models from the walkthrough checks what the run form\'s preset needs: Fast on this CPU (issue #21)', ['Deploy from the walkthrough copies the project into the scratchpad and pip-installs it'], async () => {
    const step = page.locator(`button.getting-started-step[data-step-id="${extId}#${walk.id}#models"]`);
    await step.click();
    await step.locator('a.monaco-button', { hasText: /download models/i }).first().click();
    // The tiny models are local folders, and the tiny Lightning checkpoint sits in the suite's HF cache:
    // nothing to fetch, and the report names the Fast preset's checkpoint beside the settings' models.
    const ready = await waitForNotificationText(/models are ready/i, 90_000);
    assert.match(ready, /AnimateDiff-Lightning/, 'the preset the form starts with on a CPU (no GPU) is Fast');
    await waitFor('the models step to tick off', async () => (await step.getAttribute('aria-checked')) === 'true', { timeout: 10_000 });
    await shot(page, '02b-models-ready');
  });

  scenario('Run Phase 1 shows live previews, then the final GIF', ['Deploy from the walkthrough copies the project into the scratchpad and pip-installs it'], async () => {
    const f = await showPreview();
    // The first click on a machine without a GPU (the suite's device setting is cpu): the form starts with
    // the Fast preset, its 4 steps and no guidance, and says so (issue #21).
    await f.locator('#form-fields:not([disabled])').waitFor({ state: 'attached', timeout: 60_000 });
    assert.equal(await f.locator('#preset').inputValue(), 'lightning');
    assert.equal(await f.locator('[data-param="steps"]').inputValue(), '4');
    assert.equal(Number(await f.locator('[data-param="guidanceScale"]').inputValue()), 1);
    assert.match(await f.locator('#preset-note').innerText(), /no GPU .*Quality is one click away/);
    await setForm(f, { prompt: 'a tiny test animation', 'num-frames': TINY.frames, width: TINY.width, height: TINY.height, seed: 7 });
    // How long, before the run: no run record here yet, so a guess, and it says so.
    const estimate = f.locator('#estimates li[data-phase="1"][data-preset="lightning"]');
    await waitFor('the Phase 1 estimate', async () => /about .* on this machine/.test(await estimate.innerText().catch(() => '')), { timeout: 60_000 });
    assert.equal(await estimate.getAttribute('data-guess'), 'true');
    assert.match(await estimate.innerText(), /a guess: no Phase 1 run here yet/);
    assert.match(await f.locator('#estimates li[data-phase="1"][data-preset="quality"]').innerText(), /one click away: about .* on this machine/);
    await f.locator('#estimates').scrollIntoViewIfNeeded();
    await shot(page, '03a-estimate-before-the-first-run');
    await watchPreviews(f);
    await armStatusLog(f);
    await f.locator('#run-phase1').click();
    // Try to catch a live preview on screen for the screenshot; the record above proves it either way.
    await waitFor('a live preview frame', async () => (await f.locator('#preview-grid img.preview-frame[data-step][src^="data:image/png"]').count()) > 0
      && (await status(f)).state === 'running', { timeout: 120_000, interval: 50 })
      .then(() => shot(page, '03-phase1-live-preview')).catch(() => { /* too quick to catch on screen */ });
    await waitRun('Phase 1');
    const states = await f.evaluate(() => window.__e2eStates);
    assert.ok(states.some((s) => s.state === 'running' && /starting \(about .* on this machine\)/.test(s.text)),
      `the run said how long before it started: ${JSON.stringify(states.slice(0, 3))}`);
    const seen = await seenPreviews(f);
    assert.ok(seen.length >= 1, 'at least one live preview update reached the webview');
    assert.ok(seen.some((x) => x.n === TINY.frames), `previews of all ${TINY.frames} frames: ${JSON.stringify(seen.slice(0, 5))}`);
    const gif = (await preview()).locator('#final-gif');
    await gif.waitFor({ state: 'visible', timeout: 30_000 });
    const gifPath = await gif.getAttribute('data-path');
    assert.ok(gifPath && fs.existsSync(gifPath), `final GIF on disk: ${gifPath}`);
    assert.equal(fs.readFileSync(gifPath).subarray(0, 6).toString('latin1'), 'GIF89a');
    await waitFor('the GIF to load in the webview', () => gif.evaluate((img) => img.complete && img.naturalWidth > 0), { timeout: 15_000 });
    const meta = readJson(gifPath.replace(/\.gif$/, '.json'));
    assert.equal(meta.phase, 1);
    assert.equal(meta.params.num_frames, TINY.frames);
    assert.equal(meta.preset.name, 'lightning');
    assert.equal(meta.params.steps, 4);
    await shot(page, '04-phase1-final-gif');
    // The run's own record now gives this job's estimate (the models stay loaded: no load time).
    await waitFor('the estimate from this run\'s record', async () => (await estimate.getAttribute('data-basis')) === 'job', { timeout: 60_000 });
    assert.match(await estimate.innerText(), /about .* on this machine \(from your 1 run of this job here\)/);
    await f.locator('#estimates').scrollIntoViewIfNeeded();
    await shot(page, '04a-estimate-from-the-first-run');
    // The preview panel alone, without toasts: the picture README shows (media/screenshots/).
    await runCommand(page, 'Notifications: Clear All Notifications');
    await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => {});
    await shot(page, '04b-preview-panel', { locator: page.locator('.part.editor') });
  });

  scenario('Quality is one click away: choosing it sets its steps and guidance and runs DDIM (issues #11, #21)', ['Run Phase 1 shows live previews, then the final GIF'], async () => {
    const f = await showPreview();
    const before = await f.locator('#final-gif').getAttribute('data-path');
    await f.locator('#preset').selectOption('quality');
    assert.equal(await f.locator('[data-param="steps"]').inputValue(), '25', 'the preset sets its own step count');
    assert.equal(Number(await f.locator('[data-param="guidanceScale"]').inputValue()), 7.5, 'and guidance 7.5 (CFG)');
    await setForm(f, { steps: TINY.steps }); // later scenarios run Quality's sampler at the tiny step count
    await armStatusLog(f);
    await f.locator('#run-phase1').click();
    await waitRun('Phase 1 with the Quality preset');
    const gifPath = await newGifPath(before, 'the Quality run\'s GIF');
    const meta = readJson(gifPath.replace(/\.gif$/, '.json'));
    assert.equal(meta.preset.name, 'quality');
    assert.equal(meta.params.steps, TINY.steps);
    assert.equal(meta.scheduler.class, 'DDIMScheduler');
    await shot(page, '04d-phase1-quality-preset');
  });

  scenario('a second run can be cancelled and stops', ['Run Phase 1 shows live previews, then the final GIF'], async () => {
    const f = await showPreview();
    const gifsBefore = outputs('.gif');
    await setForm(f, { steps: 200 });
    await armStatusLog(f);
    await f.locator('#run-phase1').click();
    await waitRun('second run', [], { started: true });
    // Let it reach the denoising loop so cancelling has something to stop.
    await waitFor('the step counter to move', async () => /\b[1-9]\d*\s*\/\s*\d+/.test(await (await preview()).locator('#step-counter').innerText()), { timeout: 120_000 });
    await shot(page, '05-second-run-running');
    await (await preview()).locator('#cancel-run').click();
    await waitRun('second run', ['cancelled'], { timeout: 60_000 });
    await waitFor('the extension log to record the cancel', () => /\bcancelled \(/.test(extensionLog()), { timeout: 30_000 });
    // Stopped: the progress bar stays put and no new output appears.
    const progressAtCancel = await (await preview()).locator('#run-progress').evaluate((p) => p.value);
    assert.ok(progressAtCancel < 1, `stopped part-way (progress ${progressAtCancel})`);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await (await preview()).locator('#run-progress').evaluate((p) => p.value), progressAtCancel, 'no progress after cancel');
    assert.deepEqual(outputs('.gif'), gifsBefore, 'a cancelled run leaves no output');
    await shot(page, '06-cancelled');
    await setForm(await showPreview(), { steps: TINY.steps });
  });

  scenario('Phase 2 on CPU picks up an edit of PERTURBATION_STRENGTH without restarting the sidecar', ['Run Phase 1 shows live previews, then the final GIF'], async () => {
    const pipelineFile = path.join(scratch, 'animatediff_ttnn', 'ttnn_pipeline.py');
    // First run from the palette, the rerun from the preview's button with the CPU backend.
    const runPhase2Cpu = async (how) => {
      const before = new Set(outputs('.json'));
      await armStatusLog(await preview());
      if (how === 'palette') {
        await runCommand(page, cmdTitle('animatediff.runPhase2Cpu'));
      } else {
        const f = await showPreview();
        await setForm(f, { backend: 'cpu' });
        const button = f.locator('#run-phase2');
        assert.equal(await button.getAttribute('data-backend'), 'cpu');
        assert.match(await button.innerText(), /on CPU/i, 'labelled as the CPU algorithm');
        await button.click();
      }
      await waitRun(`Phase 2 on CPU from the ${how}`);
      const added = outputs('.json').filter((n) => !before.has(n));
      assert.equal(added.length, 1, `one new metadata file (${added})`);
      return readJson(path.join(outputDir, added[0]));
    };
    const first = await runPhase2Cpu('palette');
    assert.equal(first.phase, 2);
    assert.equal(first.backend, 'torch');
    assert.equal(first.params.steps, TINY.steps);
    assert.equal(first.params.num_frames, TINY.frames);
    const [sidecar] = sidecars();
    assert.ok(sidecar, 'a sidecar process runs under code-server');

    // Edit in the editor the extension opens at the constant, and save.
    const source = fs.readFileSync(pipelineFile, 'utf8');
    const lineNo = source.split('\n').findIndex((l) => /^PERTURBATION_STRENGTH\s*=/.test(l)) + 1;
    assert.ok(lineNo > 0, 'PERTURBATION_STRENGTH is defined at module level');
    await runCommand(page, cmdTitle('animatediff.openTtnnPipeline'));
    await tab(page, 'ttnn_pipeline.py').first().waitFor({ state: 'visible' });
    await page.locator('.statusbar', { hasText: new RegExp(`Ln ${lineNo}, Col`) }).waitFor({ state: 'visible', timeout: 15_000 });
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await page.keyboard.type('PERTURBATION_STRENGTH = 0.321');
    await page.keyboard.press('Control+s');
    await waitFor('the edit saved to disk', () => /^PERTURBATION_STRENGTH = 0\.321\s*$/m.test(fs.readFileSync(pipelineFile, 'utf8')), { timeout: 15_000 });
    assert.equal((fs.readFileSync(pipelineFile, 'utf8').match(/^PERTURBATION_STRENGTH\s*=/gm) || []).length, 1, 'exactly one definition after the edit');
    await shot(page, '07-edited-ttnn-pipeline');

    const second = await runPhase2Cpu('button');
    assert.notEqual(first.perturbation_strength, 0.321);
    assert.equal(second.perturbation_strength, 0.321, 'the rerun used the edited constant');
    assert.ok(alive(sidecar.pid), 'the same sidecar process is still running');
    assert.deepEqual(sidecars().map((p) => p.pid), [sidecar.pid], 'no sidecar restart');
    const f = await showPreview();
    await f.locator('#final-gif').waitFor({ state: 'visible' });
    assert.match(await f.locator('#run-summary').innerText(), /ttnn_pipeline/, 'the summary names the reloaded module');
    await f.locator('#output-links').scrollIntoViewIfNeeded();
    await shot(page, '08-phase2-cpu-rerun');
  });

  scenario('the outputs gallery lists the runs with thumbnails', ['Run Phase 1 shows live previews, then the final GIF'], async () => {
    // A hand-broken metadata file: listed as skipped, with the reason, and the runs still appear.
    const broken = path.join(outputDir, 'hand-edited.json');
    fs.writeFileSync(broken, JSON.stringify({ phase: 'one', outputs: {} }));
    await runCommand(page, cmdTitle('animatediff.openOutputs'));
    const g = await webviewFrame(page, '.run-card[data-run-id]');
    await waitFor('run cards for every finished run', async () => (await g.locator('.run-card[data-run-id]').count()) >= outputs('.json').length - 1);
    assert.ok(await g.locator('.run-card img.thumb').count() >= 1);
    await g.locator('#skipped').waitFor({ state: 'visible' });
    assert.match(await g.locator('#skipped-files li[data-file="hand-edited.json"]').textContent(), /phase is 'one'/);
    fs.rmSync(broken);
    await shot(page, '11-outputs-gallery');
    // Compare a Phase 1 and a Phase 2 run side by side.
    const p1 = g.locator('.run-card[data-phase="1"]').first();
    const p2 = g.locator('.run-card[data-phase="2"]').first();
    await p1.locator('.compare-pick').check();
    await p2.locator('.compare-pick').check();
    await g.locator('#compare').click();
    const view = g.locator('#compare-view');
    await view.waitFor({ state: 'visible' });
    assert.equal(await view.locator('.compare-column[data-run-id]').count(), 2);
    assert.equal(await view.locator('img.compare-gif').count(), 2);
    assert.equal(await view.locator('dl.coherence').count(), 2, 'both runs show their temporal-coherence figure');
    await view.scrollIntoViewIfNeeded();
    await shot(page, '11b-outputs-compare');
  });

  scenario('Inside the motion module: the walkthrough opens the scratchpad\'s temporal_module.py', ['Deploy from the walkthrough copies the project into the scratchpad and pip-installs it'], async () => {
    const step = page.locator(`button.getting-started-step[data-step-id="${extId}#${walk.id}#motionModule"]`);
    await runCommand(page, cmdTitle('animatediff.openWalkthrough'));
    await step.click();
    await step.locator('a.monaco-button', { hasText: /temporal_module/i }).first().click();
    await tab(page, 'temporal_module.py').first().waitFor({ state: 'visible', timeout: 30_000 });
    await shot(page, '09a-motion-module-opened');
    await runCommand(page, cmdTitle('animatediff.openWalkthrough')); // the editor took the walkthrough's place
    await waitFor('the motion module step to tick off', async () => (await step.getAttribute('aria-checked')) === 'true', { timeout: 10_000 });
  });

  scenario('Run Phase 3 shows previews and the final GIF; a long Phase 3 run cancels', ['a second run can be cancelled and stops'], async () => {
    const f = await showPreview();
    await setForm(f, { 'num-frames': TINY.frames, steps: TINY.steps });
    await watchPreviews(f);
    await armStatusLog(f);
    const before = new Set(outputs('.json'));
    await f.locator('#run-phase3').click();
    await waitRun('Phase 3');
    const seen = await seenPreviews(f);
    assert.ok(seen.some((x) => x.n === TINY.frames), `previews of all ${TINY.frames} frames: ${JSON.stringify(seen.slice(0, 5))}`);
    const gif = (await preview()).locator('#final-gif');
    await gif.waitFor({ state: 'visible', timeout: 30_000 });
    const gifPath = await gif.getAttribute('data-path');
    assert.ok(gifPath && fs.existsSync(gifPath), `final GIF on disk: ${gifPath}`);
    const added = outputs('.json').filter((n) => !before.has(n));
    assert.equal(added.length, 1, `one new metadata file (${added})`);
    const meta = readJson(path.join(outputDir, added[0]));
    assert.equal(meta.phase, 3);
    assert.equal(meta.backend, 'torch');
    assert.deepEqual(Object.keys(meta.coherence).sort(), ['motion_px', 'residual', 'similarity']);
    await shot(page, '06b-phase3-final-gif');
    // Cancel: a long run stops, leaves no output.
    const gifsBefore = outputs('.gif');
    await setForm(f, { steps: 200 });
    await armStatusLog(f);
    await f.locator('#run-phase3').click();
    await waitRun('long Phase 3 run', [], { started: true });
    await waitFor('the step counter to move', async () => /\b[1-9]\d*\s*\/\s*\d+/.test(await (await preview()).locator('#step-counter').innerText()), { timeout: 120_000 });
    await (await preview()).locator('#cancel-run').click();
    await waitRun('long Phase 3 run', ['cancelled'], { timeout: 60_000 });
    assert.deepEqual(outputs('.gif'), gifsBefore, 'a cancelled Phase 3 run leaves no output');
    await setForm(await showPreview(), { steps: TINY.steps });
  });

  scenario('Run Phase 3 on Blackhole without a card says why and offers the torch run, which completes', ['Run Phase 3 shows previews and the final GIF; a long Phase 3 run cancels'], async () => {
    const before = new Set(outputs('.json'));
    await armStatusLog(await preview());
    await runCommand(page, cmdTitle('animatediff.runPhase3Blackhole'));
    const toast = page.locator('.notifications-toasts .notification-toast').filter({ hasText: /Phase 3 on Blackhole is not available here/ });
    await toast.first().waitFor({ state: 'visible', timeout: 60_000 });
    assert.equal(outputs('.json').length, before.size, 'nothing runs before the learner picks');
    await shot(page, '06c-phase3-blackhole-no-card');
    await toast.first().locator('.monaco-button', { hasText: 'Run Phase 3 in torch instead' }).click();
    await waitRun('Phase 3 in torch, picked from the no-card warning');
    const added = outputs('.json').filter((n) => !before.has(n));
    assert.equal(added.length, 1, `one new metadata file (${added})`);
    const meta = readJson(path.join(outputDir, added[0]));
    assert.equal(meta.phase, 3);
    assert.equal(meta.backend, 'torch');
  });

  scenario('a prompt schedule from the run form travels from one prompt to the other (issue #14)', ['Run Phase 1 shows live previews, then the final GIF'], async () => {
    const f = await showPreview();
    const schedule = '0: a tiny red fox | 2: a tiny white owl';
    await setForm(f, { 'prompt-schedule': schedule, 'context-length': 0 });
    const before = await f.locator('#final-gif').getAttribute('data-path');
    await armStatusLog(f);
    await f.locator('#run-phase1').click();
    await waitRun('Phase 1 with a prompt schedule');
    const gifPath = await newGifPath(before, 'the new run\'s GIF');
    const meta = readJson(gifPath.replace(/\.gif$/, '.json'));
    assert.equal(meta.params.prompt_schedule, schedule);
    assert.deepEqual(meta.creative.prompt_schedule.map((r) => [r.from_frame, r.to_frame, r.prompt]),
      [[0, 1, 'a tiny red fox'], [2, TINY.frames - 1, 'a tiny white owl']]);
    assert.equal(meta.creative.context_windows.context_length, TINY.frames); // one window over the clip
    const rows = (await preview()).locator('#schedule-rows li');
    await waitFor('the schedule rows in the panel', async () => (await rows.count()) === 2, { timeout: 10_000 });
    assert.equal(await rows.nth(1).innerText(), `frames 2\u2013${TINY.frames - 1}: a tiny white owl`);
    await shot(page, '04c-phase1-prompt-schedule');
    await setForm(f, { 'prompt-schedule': '' }); // later scenarios run with the plain prompt
  });

  scenario('a killed sidecar is reported and the next run recovers', ['Run Phase 1 shows live previews, then the final GIF'], async () => {
    const [sidecar] = await waitFor('a running sidecar', () => { const s = sidecars(); return s.length ? s : null; });
    process.kill(sidecar.pid, 'SIGKILL');
    await waitFor('the sidecar to be gone', () => !alive(sidecar.pid));
    const report = await waitFor('the extension to report the crash', async () => {
      const texts = await page.locator('.notifications-toasts .notification-list-item, .notification-center .notification-list-item').allInnerTexts();
      return texts.find((t) => /sidecar|python|exit|crash|stopped/i.test(t));
    }, { timeout: 30_000 });
    assert.match(report, /sidecar|python/i);
    await shot(page, '09-sidecar-killed-reported');

    assert.match(extensionLog(), /sidecar stopped.*SIGKILL/i, 'the log names the kill');
    const gifsBefore = outputs('.gif').length;
    const f = await showPreview();
    await armStatusLog(f);
    await f.locator('#run-phase1').click();
    await waitRun('the run after the crash');
    assert.equal(outputs('.gif').length, gifsBefore + 1, 'a new GIF');
    const now = sidecars();
    assert.equal(now.length, 1);
    assert.notEqual(now[0].pid, sidecar.pid, 'a new sidecar process');
    await shot(page, '10-recovered-after-crash');
    // With the server, the extension host and the sidecar all up: nothing listens beyond loopback.
    const listening = listeningSockets(cs.proc.pid);
    assert.ok(listening.some((l) => l.port === cs.port));
    assert.deepEqual(listening.filter((l) => !isLoopback(l.addr)), [], 'nothing listens beyond loopback');
  });

  scenario('the walkthrough ticks off the steps done above', ['Download Models from the walkthrough checks what the run form\'s preset needs: Fast on this CPU (issue #21)', 'Phase 2 on CPU picks up an edit of PERTURBATION_STRENGTH without restarting the sidecar', 'the outputs gallery lists the runs with thumbnails', 'Inside the motion module: the walkthrough opens the scratchpad\'s temporal_module.py', 'Run Phase 3 shows previews and the final GIF; a long Phase 3 run cancels', 'a prompt schedule from the run form travels from one prompt to the other (issue #14)'], async () => {
    await runCommand(page, cmdTitle('animatediff.openWalkthrough'));
    for (const id of walk.steps.map((s) => s.id)) { // every step, in the walkthrough's order
      const step = page.locator(`button.getting-started-step[data-step-id="${extId}#${walk.id}#${id}"]`);
      await waitFor(`walkthrough step ${id} ticked`, async () => (await step.getAttribute('aria-checked')) === 'true', { timeout: 10_000 });
    }
    await shot(page, '12-walkthrough-progress');
  });
});
