// package.json is part of the product: its commands, walkthrough and settings must match the code.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandIds } from '../../src/commandIds';
import { listFiles } from '../../src/deploy/files';
import { SETTING_DEFAULTS } from '../../src/params';
import { SIDECAR_REQUIREMENTS } from '../../src/deploy/pip';
import { DONE_KEYS, WALKTHROUGH_ID } from '../../src/walkthroughKeys';

const ROOT = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contributed: { command: string; title: string; category: string }[] = pkg.contributes.commands;
const walkthrough = pkg.contributes.walkthroughs.find((w: { id: string }) => w.id === WALKTHROUGH_ID);
const extensionSource = readFileSync(path.join(ROOT, 'extension', 'src', 'extension.ts'), 'utf8');

describe('package.json', () => {
  it('contributes exactly the commands the code registers, all under "AnimateDiff"', () => {
    expect(contributed.map((c) => c.command).sort()).toEqual(Object.values(CommandIds).sort());
    for (const c of contributed) expect(c.category).toBe('AnimateDiff');
    for (const key of Object.keys(CommandIds)) expect(extensionSource).toContain(`register(CommandIds.${key},`);
  });

  it('activates lazily (never "*"); contributed commands activate it implicitly', () => {
    expect(pkg.activationEvents).not.toContain('*');
    expect(pkg.activationEvents).toContain(`onWalkthrough:${WALKTHROUGH_ID}`);
    expect(pkg.engines.vscode).toMatch(/^\^1\.(9\d|1\d\d)\./); // >= 1.74: onCommand is implied
  });

  it('labels the CPU variant of Phase 2 as such, and Phase 3 on Blackhole as not yet run on a card', () => {
    const title = contributed.find((c) => c.command === CommandIds.runPhase2Cpu)!.title;
    expect(title).toMatch(/Phase 2 Algorithm on CPU/);
    expect(contributed.find((c) => c.command === CommandIds.runPhase3Blackhole)!.title).toMatch(/Phase 3 on Blackhole.*not yet run on a card/);
  });

  it('walkthrough: ten steps, each with a command button, a lesson file and a success-only completion key', () => {
    expect(walkthrough.steps).toHaveLength(10);
    const keys = new Set<string>();
    for (const step of walkthrough.steps) {
      const links = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]);
      expect(links.length, step.id).toBeGreaterThan(0);
      for (const id of links) expect(Object.values(CommandIds), `${step.id} → ${id}`).toContain(id);
      expect(existsSync(path.join(ROOT, step.media.markdown)), step.media.markdown).toBe(true);
      expect(step.completionEvents).toHaveLength(1);
      const m = /^onContext:animatediff\.(\w+)$/.exec(step.completionEvents[0]);
      expect(m, step.completionEvents[0]).not.toBeNull();
      keys.add(m![1]);
    }
    expect([...keys].sort()).toEqual([...DONE_KEYS].sort());
  });

  it('every command link in lessons/ names a contributed command (or a built-in one)', () => {
    const lessons = walkthrough.steps.map((s: { media: { markdown: string } }) => readFileSync(path.join(ROOT, s.media.markdown), 'utf8')).join('\n');
    for (const [, id] of lessons.matchAll(/\(command:([\w.]+)/g)) {
      if (id.startsWith('workbench.')) continue;
      expect(Object.values(CommandIds)).toContain(id);
    }
  });

  it('declares every setting the code reads', () => {
    const props = Object.keys(pkg.contributes.configuration.properties);
    const configSource = readFileSync(path.join(ROOT, 'extension', 'src', 'config.ts'), 'utf8');
    const read = [...configSource.matchAll(/(?:str|num)\('([\w.]+)'/g), ...configSource.matchAll(/get<\w+>\('([\w.]+)'/g)].map((m) => `animatediff.${m[1]}`);
    read.push(...Object.keys(SETTING_DEFAULTS).map((k) => `animatediff.${k}`)); // read in a loop
    expect(read.length).toBeGreaterThan(10);
    for (const key of read) expect(props, key).toContain(key);
    expect(pkg.contributes.configuration.properties['animatediff.scratchpadPath'].default).toBe('~/tt-scratchpad/tt-animatediff');
  });

  it("installs the sidecar's requirements as pyproject.toml lists them", () => {
    const toml = readFileSync(path.join(ROOT, 'pyproject.toml'), 'utf8');
    const deps = /^dependencies = \[(.*)\]$/m.exec(toml)![1];
    expect(SIDECAR_REQUIREMENTS).toEqual([...deps.matchAll(/"([^"]+)"/g)].map((m) => m[1]));
  });
});

describe('the .vsix contents (vsce ls)', () => {
  const packed = execFileSync(process.execPath, [path.join(ROOT, 'extension', 'scripts', 'package.mjs'), '--ls'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

  it('holds every deployable bundle file and every sidecar file, and no caches or outputs', async () => {
    for (const dir of ['python/tt-animatediff', 'python/sidecar']) {
      for (const rel of await listFiles(path.join(ROOT, dir))) expect(packed, `${dir}/${rel}`).toContain(`${dir}/${rel}`);
    }
    expect(packed.filter((f) => /__pycache__|\.egg-info|\/output\/|\.pyc$/.test(f))).toEqual([]);
  });

  it('holds the webview assets and lessons, and no sources, tests or node_modules', () => {
    for (const f of ['media/preview.js', 'media/gallery.js', 'media/common.css', 'media/preview.css', 'media/gallery.css', 'media/icon.svg', 'lessons/01-environment.md']) expect(packed).toContain(f);
    // The bundle exists only after `npm run build`; vsce ls lists existing files.
    if (existsSync(path.join(ROOT, 'out', 'extension.js'))) expect(packed).toContain('out/extension.js');
    expect(packed.filter((f) => /^(extension\/src|extension\/test|node_modules|tests|media\/screenshots)\//.test(f))).toEqual([]);
  });
});
