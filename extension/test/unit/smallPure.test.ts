// Small pure helpers: path expansion, the constant finder, run snapshots, gallery cards, env report.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportEnvironment } from '../../src/environmentReport';
import { phaseLabel, toRunCard } from '../../src/webview/galleryCards';
import { expandPath } from '../../src/paths';
import type { Environment, RunSummary } from '../../src/protocol';
import { PERTURBATION_CONSTANT, TTNN_PIPELINE_REL, findConstant } from '../../src/pythonSource';
import { RunSnapshot } from '../../src/run/snapshot';

const ROOT = path.resolve(__dirname, '../../..');

describe('expandPath', () => {
  const ctx = { home: '/home/u', workspaceFolder: '/ws' };
  it('expands ~ and ${workspaceFolder}', () => {
    expect(expandPath('~/tt-scratchpad/tt-animatediff', ctx)).toBe('/home/u/tt-scratchpad/tt-animatediff');
    expect(expandPath('~', ctx)).toBe('/home/u');
    expect(expandPath('${workspaceFolder}/.venv/bin/python', ctx)).toBe('/ws/.venv/bin/python');
    expect(expandPath(' CompVis/stable-diffusion-v1-4 ', ctx)).toBe('CompVis/stable-diffusion-v1-4');
  });
  it('refuses ${workspaceFolder} without a folder', () => {
    expect(() => expandPath('${workspaceFolder}/x', { home: '/h' })).toThrow(/no folder is open/);
  });
});

describe('findConstant', () => {
  it('finds PERTURBATION_STRENGTH in the real ttnn_pipeline.py', () => {
    const source = readFileSync(path.join(ROOT, 'python', 'tt-animatediff', ...TTNN_PIPELINE_REL), 'utf8');
    const at = findConstant(source, PERTURBATION_CONSTANT)!;
    expect(at).toBeDefined();
    const line = source.split('\n')[at.line];
    expect(line.startsWith('PERTURBATION_STRENGTH')).toBe(true);
    expect(Number(line.slice(at.valueStart, at.valueEnd))).not.toBeNaN();
  });
  it('selects only the value, not a comment; ignores indented or longer names', () => {
    const src = 'x = 1\n    PERTURBATION_STRENGTH = 9\nPERTURBATION_STRENGTH_MAX = 2\nPERTURBATION_STRENGTH: float = 0.1  # tweak me\n';
    expect(findConstant(src, 'PERTURBATION_STRENGTH')).toEqual({ line: 3, valueStart: 31, valueEnd: 34, value: '0.1' });
    expect(findConstant('nothing here', 'PERTURBATION_STRENGTH')).toBeUndefined();
  });
});

describe('RunSnapshot', () => {
  it('replays the latest state of the current run in drawing order', () => {
    const s = new RunSnapshot();
    s.record({ type: 'runStarted', phase: 2, label: 'L', totalFrames: 2, totalSteps: 3, estimate: null });
    s.record({ type: 'preview', step: 1, totalSteps: 3, frame: 0, totalFrames: 2, frames: ['a'] });
    s.record({ type: 'preview', step: 2, totalSteps: 3, frame: 0, totalFrames: 2, frames: ['b'] });
    s.record({ type: 'frameDone', frame: 0, totalFrames: 2, png: 'p', step: 3 });
    s.record({ type: 'status', state: 'running', message: 'x' });
    expect(s.replay().map((m) => m.type)).toEqual(['runStarted', 'preview', 'frameDone', 'status']);
    expect(s.replay()[1]).toMatchObject({ frames: ['b'] });
    s.record({ type: 'runStarted', phase: 1, label: 'M', totalFrames: 8, totalSteps: 3, estimate: 'about 4 min' });
    expect(s.replay().map((m) => m.type)).toEqual(['runStarted']);
  });
});

describe('gallery cards', () => {
  const run: RunSummary = {
    runId: 'r1',
    phase: 2,
    prompt: 'a cat',
    created: '2026-11-25T10:00:00',
    outputs: { gif: '/o/r1.gif' },
    metadataPath: '/o/r1.json',
    params: { numFrames: 8, steps: 25, guidanceScale: 7.5, seed: 42, width: 512, height: 256, negativePrompt: '' },
    backend: 'torch',
    device: 'cpu',
    timings: { totalS: 75, loadS: 5, denoiseS: 60, decodeS: 8, stepsS: [1, 2, 3] },
    perturbationStrength: 0.2,
    coherence: { similarity: 0.98765, motion_px: 0.125, residual: 2.5 },
  };

  it('shows params, timings and the thumbnail URI; labels Phase 2 on torch as not Blackhole', () => {
    const card = toRunCard(run, (f) => `uri:${f}`);
    expect(card.thumbUri).toBe('uri:/o/r1.gif');
    expect(card.phaseLabel).toMatch(/no Blackhole/);
    expect(card.params).toEqual([
      { label: 'frames', value: '8' },
      { label: 'steps', value: '25' },
      { label: 'guidance', value: '7.5' },
      { label: 'seed', value: '42' },
      { label: 'size', value: '512×256' },
      { label: 'perturbation', value: '0.2' },
    ]);
    expect(card.timings).toEqual([
      { label: 'total', value: '1:15' },
      { label: 'load', value: '5 s' },
      { label: 'denoise', value: '1:00' },
      { label: 'decode', value: '8 s' },
      { label: 'per step', value: '2.00 s' },
    ]);
  });

  it('copes with snake_case metadata and a run without a GIF', () => {
    const card = toRunCard({ ...run, outputs: {}, params: { num_frames: 4 }, timings: { total_s: 3 } }, () => 'never');
    expect(card.thumbUri).toBeNull();
    expect(card.params[0]).toEqual({ label: 'frames', value: '4' });
    expect(card.timings).toEqual([{ label: 'total', value: '3 s' }]);
    expect(phaseLabel(2, 'blackhole')).toBe('Phase 2 on Blackhole (TTNN)');
  });

  it('shows the temporal-coherence figure, one explained row per measure; none for older runs', () => {
    expect(toRunCard(run, () => 'u').coherence).toEqual([
      { label: 'frame-to-frame SSIM (1 = identical)', value: '0.988' },
      { label: 'motion, px per frame (block matching)', value: '0.13' },
      { label: 'left after motion (0-255; flicker is high)', value: '2.50' },
    ]);
    expect(toRunCard({ ...run, coherence: null }, () => 'u').coherence).toEqual([]);
    expect(phaseLabel(3, 'torch')).toBe('Phase 3 frame loop in torch');
  });
});

describe('environment report', () => {
  const env: Environment = {
    python: { version: '3.11.2', executable: '/v/bin/python' },
    torch: { version: '2.13.0', devices: ['cpu'], error: null },
    diffusers: '0.42.1',
    transformers: '4.57.0',
    ttnn: { importable: false, version: null, error: "No module named 'ttnn'" },
    blackhole: { available: false, deviceCount: 0, reason: 'no /dev/tenstorrent' },
    ttMetalHome: { value: null, valid: false, demoPath: null, error: 'TT_METAL_HOME is not set' },
    scratchpad: { path: '/h/tt-scratchpad/tt-animatediff', deployed: true, version: '0.1.0' },
    models: [{ role: 'sd', source: 'CompVis/stable-diffusion-v1-4', kind: 'hub', available: false, path: null, sizeBytes: null, fix: 'Download Models' }],
    ttnnCheck: { python: null, command: 'python examples/make_ttnn_venv.py   # then: .venv-ttnn/bin/python examples/check_ttnn_port.py' },
  };
  it('summarises in one line and reports each part', () => {
    const r = reportEnvironment(env);
    expect(r.summary).toBe('Python 3.11.2 · torch 2.13.0 (cpu) · diffusers 0.42.1 · Blackhole: not available, Phase 2 runs its algorithm on CPU');
    expect(r.deployed).toBe(true);
    expect(r.modelsReady).toBe(false);
    expect(r.lines.join('\n')).toContain('no /dev/tenstorrent');
    expect(r.lines.join('\n')).toContain('missing: Download Models');
    expect(r.lines.join('\n')).toContain('ttnn check   no ttnn venv yet — in the scratchpad: python examples/make_ttnn_venv.py');
    const ready = reportEnvironment({ ...env, ttnnCheck: { python: '/h/.venv-ttnn/bin/python', command: '.venv-ttnn/bin/python examples/check_ttnn_port.py' } });
    expect(ready.lines.join('\n')).toContain('ttnn check   ready — in the scratchpad: .venv-ttnn/bin/python examples/check_ttnn_port.py');
  });
});
