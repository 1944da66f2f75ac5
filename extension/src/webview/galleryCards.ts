// Turns studio/runs summaries into gallery cards. The metadata's params/timings come from Python
// (snake_case) or the sidecar (camelCase), so both spellings are read. Pure.
import { formatDuration } from '../format';
import type { RunSummary } from '../protocol';
import type { RunCard } from './outbound';

function pick(record: Record<string, unknown>, ...keys: string[]): unknown {
  for (const k of keys) if (record[k] !== undefined && record[k] !== null) return record[k];
  return undefined;
}

function show(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  return JSON.stringify(value);
}

export function phaseLabel(phase: 1 | 2 | 3, backend: string): string {
  if (phase === 1) return 'Phase 1 (diffusers AnimateDiff)';
  if (phase === 3) return backend === 'blackhole' ? 'Phase 3 on Blackhole (TTNN frame loop)' : `Phase 3 frame loop in ${backend}`;
  return backend === 'blackhole' ? 'Phase 2 on Blackhole (TTNN)' : `Phase 2 algorithm in ${backend} (no Blackhole)`;
}

export function toRunCard(run: RunSummary, uriOf: (file: string) => string | null): RunCard {
  const p = run.params;
  const params: { label: string; value: string }[] = [];
  const add = (label: string, value: unknown) => {
    const text = show(value);
    if (text !== undefined && text !== '') params.push({ label, value: text });
  };
  add('frames', pick(p, 'numFrames', 'num_frames'));
  add('steps', pick(p, 'steps'));
  add('guidance', pick(p, 'guidanceScale', 'guidance_scale'));
  add('seed', pick(p, 'seed'));
  const w = pick(p, 'width');
  const h = pick(p, 'height');
  if (w !== undefined && h !== undefined) add('size', `${show(w)}×${show(h)}`);
  add('negative', pick(p, 'negativePrompt', 'negative_prompt'));
  if (run.perturbationStrength !== null) add('perturbation', run.perturbationStrength);

  const t = run.timings;
  const timings: { label: string; value: string }[] = [];
  const time = (label: string, value: unknown) => {
    if (typeof value === 'number') timings.push({ label, value: formatDuration(value) });
  };
  time('total', pick(t, 'totalS', 'total_s'));
  time('load', pick(t, 'loadS', 'load_s'));
  time('denoise', pick(t, 'denoiseS', 'denoise_s'));
  time('decode', pick(t, 'decodeS', 'decode_s'));
  const steps = pick(t, 'stepsS', 'steps_s');
  if (Array.isArray(steps) && steps.length > 0 && steps.every((s) => typeof s === 'number')) {
    const mean = (steps as number[]).reduce((a, b) => a + b, 0) / steps.length;
    timings.push({ label: 'per step', value: `${mean.toFixed(2)} s` });
  }

  const gif = run.outputs.gif ?? null;
  return {
    runId: run.runId,
    phase: run.phase,
    phaseLabel: phaseLabel(run.phase, run.backend),
    prompt: run.prompt,
    created: run.created,
    thumbUri: gif ? uriOf(gif) : null,
    gifPath: gif,
    metadataPath: run.metadataPath,
    params,
    timings,
    backend: run.backend,
    device: run.device,
    perturbationStrength: run.perturbationStrength,
    coherence: coherenceRows(run.coherence),
  };
}

/** One line each: what the measure says (outputs/coherence.py explains them; the lesson's Phase 3 step too). */
const COHERENCE_LABELS: [string, string, number][] = [
  ['similarity', 'frame-to-frame SSIM (1 = identical)', 3],
  ['motion_px', 'motion, px per frame (block matching)', 2],
  ['residual', 'left after motion (0-255; flicker is high)', 2],
];

export function coherenceRows(figure: Record<string, number> | null): { label: string; value: string }[] {
  if (!figure) return [];
  return COHERENCE_LABELS.filter(([key]) => typeof figure[key] === 'number').map(([key, label, digits]) => ({
    label,
    value: figure[key].toFixed(digits),
  }));
}
