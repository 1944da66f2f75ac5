// The run form: its fields, defaults, validation and translation into a studio/generate request.
// Pure (no vscode import) so it is unit-tested; limits mirror animatediff_ttnn/params.py.
import type { GenerateParams, ModelSources, TorchDevice } from './protocol';

/** Phase 2 backend as the user picks it: the Blackhole card, or the same algorithm in torch on CPU. */
export type Phase2Backend = 'blackhole' | 'cpu';
export const PHASE2_BACKENDS: readonly Phase2Backend[] = ['blackhole', 'cpu'];

export interface RunForm {
  prompt: string;
  negativePrompt: string;
  frames: number;
  steps: number;
  guidance: number;
  seed: number;
  width: number;
  height: number;
  backend: Phase2Backend;
}

export interface FieldError {
  field: keyof RunForm | 'form';
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export const DEFAULT_PROMPT = 'a red panda walking through a bamboo forest, soft morning light, highly detailed';
export const DEFAULT_NEGATIVE_PROMPT = 'blurry, low quality, distorted';
export const MAX_PROMPT_LENGTH = 2000;

export const LIMITS = {
  frames: { min: 1, max: 64 },
  steps: { min: 1, max: 1000 },
  guidance: { min: 0, max: 50 },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER },
  width: { min: 8, max: 2048 },
  height: { min: 8, max: 2048 },
} as const;

/** Defaults that come from settings (animatediff.frames, …). */
export interface SettingDefaults {
  frames: number;
  steps: number;
  guidanceScale: number;
  seed: number;
  width: number;
  height: number;
}

export function defaultForm(s: SettingDefaults): RunForm {
  return {
    prompt: DEFAULT_PROMPT,
    negativePrompt: DEFAULT_NEGATIVE_PROMPT,
    frames: s.frames,
    steps: s.steps,
    guidance: s.guidanceScale,
    seed: s.seed,
    width: s.width,
    height: s.height,
    backend: 'blackhole',
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkInt(errors: FieldError[], field: keyof typeof LIMITS, value: unknown): number {
  const { min, max } = LIMITS[field];
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    errors.push({ field, message: `${field} must be a whole number` });
    return 0;
  }
  if (value < min || value > max) errors.push({ field, message: `${field} must be between ${min} and ${max}` });
  return value;
}

/** Validates a complete form (e.g. from the webview). Unknown keys are rejected, not ignored. */
export function validateRunForm(raw: unknown): Validated<RunForm> {
  if (!isObject(raw)) return { ok: false, errors: [{ field: 'form', message: 'form must be an object' }] };
  const errors: FieldError[] = [];
  const known = new Set(['prompt', 'negativePrompt', 'frames', 'steps', 'guidance', 'seed', 'width', 'height', 'backend']);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) errors.push({ field: 'form', message: `unknown field ${key}` });
  }
  const { prompt, negativePrompt, guidance, backend } = raw;
  if (typeof prompt !== 'string' || prompt.trim() === '') errors.push({ field: 'prompt', message: 'prompt must not be empty' });
  else if (prompt.length > MAX_PROMPT_LENGTH) errors.push({ field: 'prompt', message: `prompt is longer than ${MAX_PROMPT_LENGTH} characters` });
  if (typeof negativePrompt !== 'string') errors.push({ field: 'negativePrompt', message: 'negative prompt must be text' });
  else if (negativePrompt.length > MAX_PROMPT_LENGTH) errors.push({ field: 'negativePrompt', message: `negative prompt is longer than ${MAX_PROMPT_LENGTH} characters` });
  const frames = checkInt(errors, 'frames', raw.frames);
  const steps = checkInt(errors, 'steps', raw.steps);
  const seed = checkInt(errors, 'seed', raw.seed);
  const width = checkInt(errors, 'width', raw.width);
  const height = checkInt(errors, 'height', raw.height);
  for (const [field, value] of [['width', width], ['height', height]] as const) {
    if (value % 8 !== 0) errors.push({ field, message: `${field} must be a multiple of 8 (the VAE works on 8×8 pixel blocks)` });
  }
  if (typeof guidance !== 'number' || !Number.isFinite(guidance)) errors.push({ field: 'guidance', message: 'guidance must be a number' });
  else if (guidance < LIMITS.guidance.min || guidance > LIMITS.guidance.max) errors.push({ field: 'guidance', message: `guidance must be between ${LIMITS.guidance.min} and ${LIMITS.guidance.max}` });
  if (!PHASE2_BACKENDS.includes(backend as Phase2Backend)) errors.push({ field: 'backend', message: `backend must be one of ${PHASE2_BACKENDS.join(', ')}` });
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    value: { prompt: prompt as string, negativePrompt: negativePrompt as string, frames, steps, guidance: guidance as number, seed, width, height, backend: backend as Phase2Backend },
  };
}

/** The remembered form, field by field: anything missing or invalid (old versions, hand edits) falls back to the default. */
export function mergeRemembered(defaults: RunForm, remembered: unknown): RunForm {
  if (!isObject(remembered)) return { ...defaults };
  const merged: RunForm = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof RunForm)[]) {
    if (!(key in remembered)) continue;
    const candidate = { ...merged, [key]: remembered[key] };
    const checked = validateRunForm(candidate);
    if (checked.ok) Object.assign(merged, { [key]: checked.value[key] });
  }
  return merged;
}

export interface RunRequest {
  phase: 1 | 2;
  /** Phase 2 only. */
  backend?: Phase2Backend;
}

export interface GenerateContext {
  device: TorchDevice; // Phase 1's torch device (setting animatediff.device)
  models: ModelSources; // from settings; empty strings already dropped
}

/** Translates the form into studio/generate params. Phase 2 "cpu" = the torch backend pinned to the CPU. */
export function toGenerateParams(form: RunForm, req: RunRequest, ctx: GenerateContext): GenerateParams {
  const params = {
    prompt: form.prompt,
    negativePrompt: form.negativePrompt,
    numFrames: form.frames,
    steps: form.steps,
    guidanceScale: form.guidance,
    seed: form.seed,
    width: form.width,
    height: form.height,
  };
  if (req.phase === 1) {
    return { phase: 1, device: ctx.device, models: { ...ctx.models }, params };
  }
  // Phase 2 uses a plain SD UNet: the motion adapter is not part of it.
  const models = ctx.models.sd ? { sd: ctx.models.sd } : {};
  const backend = req.backend ?? form.backend;
  return backend === 'blackhole'
    ? { phase: 2, backend: 'blackhole', models, params }
    : { phase: 2, backend: 'torch', device: 'cpu', models, params };
}

/** How each run kind is named in the UI, everywhere (the CPU variant must never look like Blackhole). */
export function runLabel(req: RunRequest): string {
  if (req.phase === 1) return 'Phase 1 (diffusers AnimateDiff)';
  return req.backend === 'cpu' ? 'the Phase 2 algorithm on CPU (torch, no Blackhole)' : 'Phase 2 on Blackhole (TTNN)';
}
