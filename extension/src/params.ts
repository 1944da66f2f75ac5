// The run form: its fields, defaults, validation and translation into a studio/generate request.
// Pure (no vscode import) so it is unit-tested. Fields, limits and defaults come from the one
// parameter definition (python/tt-animatediff/animatediff_ttnn/params.py, generated into
// ./generated/parameters.ts); the form is keyed by the wire names.
import { PARAMETERS, PRESETS } from './generated/parameters';
import type { Dtype, GenerateParams, ModelSources, Preset, TorchDevice } from './protocol';

/** Phase 1 presets (animatediff_ttnn/models/presets.py, generated): each sets the form's steps and guidance. */
export type PresetSpec = (typeof PRESETS)[number];
export const PRESET_NAMES = PRESETS.map((p) => p.name) as readonly Preset[];

/** `{preset: 'lightning'}` as a command argument (a failed run's "Download Models"), else undefined. */
export function presetArg(arg: unknown): Preset | undefined {
  const preset = typeof arg === 'object' && arg !== null ? (arg as { preset?: unknown }).preset : undefined;
  return (PRESET_NAMES as readonly unknown[]).includes(preset) ? (preset as Preset) : undefined;
}
export const presetSpec = (name: Preset): PresetSpec => PRESETS.find((p) => p.name === name) ?? PRESETS[0];
export const PRESETS_FOR_FORM: readonly PresetSpec[] = PRESETS;

/** Phase 2 backend as the user picks it: the Blackhole card, or the same algorithm in torch on CPU. */
export type Phase2Backend = 'blackhole' | 'cpu';
export const PHASE2_BACKENDS: readonly Phase2Backend[] = ['blackhole', 'cpu'];

type Spec = (typeof PARAMETERS)[number];
export type FormSpec = Extract<Spec, { form: true }>;
type NumberSpec = Extract<FormSpec, { kind: 'int' | 'float' }>;
type TextSpec = Extract<FormSpec, { kind: 'str' }>;
export type NumberField = NumberSpec['wire'];
export type SettingField = Extract<Spec, { setting: true; form: true }>['wire'];

export type RunForm = { [S in TextSpec as S['wire']]: string } & { [S in NumberSpec as S['wire']]: number } & {
  backend: Phase2Backend;
  preset: Preset;
};

/** The form's inputs, in order. */
export const FORM_PARAMS: readonly FormSpec[] = PARAMETERS.filter((p): p is FormSpec => p.form);

export interface FieldError {
  field: keyof RunForm | 'form';
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const spec = <W extends FormSpec['wire']>(wire: W) => FORM_PARAMS.find((p) => p.wire === wire) as Extract<FormSpec, { wire: W }>;
export const DEFAULT_PROMPT: string = spec('prompt').initial;
export const DEFAULT_NEGATIVE_PROMPT: string = spec('negativePrompt').initial;
export const MAX_PROMPT_LENGTH: number = spec('prompt').maxLength;

export interface Limit {
  min: number;
  max: number;
  multipleOf?: number;
}
export const LIMITS = Object.fromEntries(
  FORM_PARAMS.filter((p): p is NumberSpec => p.kind !== 'str').map((p) => [
    p.wire,
    { min: p.minimum, max: p.maximum, ...('multipleOf' in p ? { multipleOf: p.multipleOf } : {}) },
  ]),
) as Record<NumberField, Limit>;

/** Defaults that come from settings (animatediff.numFrames, …). */
export type SettingDefaults = Record<SettingField, number>;
export const SETTING_DEFAULTS = Object.fromEntries(
  PARAMETERS.filter((p) => p.setting && p.form).map((p) => [p.wire, p.initial]),
) as SettingDefaults;

const PRESET_PARAM = PARAMETERS.find((p) => p.name === 'preset')!;
const PRESET_BY_HARDWARE: Readonly<Record<string, Preset>> = 'deviceDefaults' in PRESET_PARAM ? PRESET_PARAM.deviceDefaults : {};

/**
 * The preset the run form starts with when the setting animatediff.preset is unset: params.py's
 * `device_defaults` for the hardware Phase 1 will run on ("cpu" when the device setting says so, or when
 * it is auto and torch sees no GPU). `devices` is studio/environment's torch.devices; undefined = unknown.
 */
export function presetForHardware(device: TorchDevice, devices: readonly string[] | undefined): Preset {
  const fallback = PRESET_PARAM.default as Preset;
  if (device === 'auto' && devices === undefined) return fallback;
  const onCpu = device === 'cpu' || (device === 'auto' && !devices!.some((d) => d !== 'cpu'));
  return onCpu ? (PRESET_BY_HARDWARE.cpu ?? fallback) : fallback;
}

/** What the form says about a preset it chose by hardware (null when the user chose it, or it is the default). */
export function presetNote(setting: Preset | undefined, device: TorchDevice, devices: readonly string[] | undefined): string | null {
  const preset = presetForHardware(device, devices);
  if (setting !== undefined || preset === PRESET_PARAM.default) return null;
  return `Torch has no GPU to use here, so the form starts with ${presetSpec(preset).title}: a 512x512 clip in minutes on a CPU. ` +
    `Quality is one click away in this list; its time is below.`;
}

/** The settings' defaults; a preset other than quality brings its own steps and guidance. */
export function defaultForm(s: SettingDefaults, preset: Preset = 'quality'): RunForm {
  const form: Record<string, unknown> = { backend: 'blackhole' };
  for (const p of FORM_PARAMS) form[p.wire] = p.setting ? s[p.wire as SettingField] : p.initial;
  form.preset = preset; // last: a remembered preset is merged after the steps it needs (mergeRemembered)
  if (preset !== 'quality') {
    form.steps = presetSpec(preset).steps;
    form.guidanceScale = presetSpec(preset).guidanceScale;
  }
  return form as RunForm;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkField(errors: FieldError[], p: FormSpec, value: unknown): void {
  const field = p.wire;
  const label = p.label;
  if (p.kind === 'str') {
    if (typeof value !== 'string') errors.push({ field, message: `${label} must be text` });
    else if (p.required && value.trim() === '') errors.push({ field, message: `${label} must not be empty` });
    else if (value.length > p.maxLength) errors.push({ field, message: `${label} is longer than ${p.maxLength} characters` });
    return;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    errors.push({ field, message: `${label} must be a number` });
    return;
  }
  if (p.kind === 'int' && !Number.isInteger(value)) errors.push({ field, message: `${label} must be a whole number` });
  else if (value < p.minimum || value > p.maximum) errors.push({ field, message: `${label} must be between ${p.minimum} and ${p.maximum}` });
  else if ('multipleOf' in p && value % p.multipleOf !== 0) errors.push({ field, message: `${label} must be a multiple of ${p.multipleOf} (${p.why})` });
}

/** Validates a complete form (e.g. from the webview). Unknown keys are rejected, not ignored. */
export function validateRunForm(raw: unknown): Validated<RunForm> {
  if (!isObject(raw)) return { ok: false, errors: [{ field: 'form', message: 'form must be an object' }] };
  const errors: FieldError[] = [];
  const known = new Set<string>([...FORM_PARAMS.map((p) => p.wire), 'backend', 'preset']);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) errors.push({ field: 'form', message: `unknown field ${key}` });
  }
  for (const p of FORM_PARAMS) checkField(errors, p, raw[p.wire]);
  if (!PHASE2_BACKENDS.includes(raw.backend as Phase2Backend)) errors.push({ field: 'backend', message: `backend must be one of ${PHASE2_BACKENDS.join(', ')}` });
  if (!PRESET_NAMES.includes(raw.preset as Preset)) errors.push({ field: 'preset', message: `preset must be one of ${PRESET_NAMES.join(', ')}` });
  else {
    const allowed = presetSpec(raw.preset as Preset).allowedSteps as readonly number[] | null;
    if (allowed && typeof raw.steps === 'number' && !allowed.includes(raw.steps)) {
      errors.push({ field: 'steps', message: `Steps must be ${allowed.join(', ')} for ${raw.preset}: its checkpoints are distilled for exactly those` });
    }
  }
  if (errors.length) return { ok: false, errors };
  const value: Record<string, unknown> = { backend: raw.backend, preset: raw.preset };
  for (const p of FORM_PARAMS) value[p.wire] = raw[p.wire];
  return { ok: true, value: value as RunForm };
}

/**
 * The remembered form, field by field: anything missing or invalid (old versions, hand edits) falls back to
 * the default. Two passes, since fields depend on each other: a remembered preset may be what makes its
 * remembered steps valid (Lightning's defaults refuse Quality's 25 steps until Quality is merged).
 */
export function mergeRemembered(defaults: RunForm, remembered: unknown): RunForm {
  if (!isObject(remembered)) return { ...defaults };
  const merged: RunForm = { ...defaults };
  for (let pass = 0; pass < 2; pass++) {
    for (const key of Object.keys(defaults) as (keyof RunForm)[]) {
      if (!(key in remembered) || merged[key] === remembered[key]) continue;
      const candidate = { ...merged, [key]: remembered[key] };
      const checked = validateRunForm(candidate);
      if (checked.ok) Object.assign(merged, { [key]: checked.value[key] });
    }
  }
  return merged;
}

export interface RunRequest {
  phase: 1 | 2 | 3;
  /** Phase 2: the form's choice. Phase 3: 'blackhole' for the TTNN port, else torch (Phase 1's device). */
  backend?: Phase2Backend;
}

export interface GenerateContext {
  device: TorchDevice; // Phase 1's torch device (setting animatediff.device)
  dtype?: Dtype; // setting animatediff.dtype; absent = the sidecar's default (auto)
  models: ModelSources; // from settings; empty strings already dropped
}

/** Translates the form into studio/generate params. Phase 2 "cpu" = the torch backend pinned to the CPU. */
export function toGenerateParams(form: RunForm, req: RunRequest, ctx: GenerateContext): GenerateParams {
  const params: GenerateParams['params'] = { prompt: form.prompt };
  for (const p of FORM_PARAMS) Object.assign(params, { [p.wire]: form[p.wire] });
  const dtype = ctx.dtype && ctx.dtype !== 'auto' ? { dtype: ctx.dtype } : {};
  if (req.phase === 1) {
    return { phase: 1, device: ctx.device, preset: form.preset, ...dtype, models: { ...ctx.models }, params };
  }
  // Phase 3: the frame-loop motion UNet with the torch backend, on Phase 1's device setting, or on a card.
  if (req.phase === 3) {
    return req.backend === 'blackhole'
      ? { phase: 3, backend: 'blackhole', models: { ...ctx.models }, params }
      : { phase: 3, backend: 'torch', device: ctx.device, ...dtype, models: { ...ctx.models }, params };
  }
  // Phase 2 uses a plain SD UNet: the motion adapter is not part of it.
  const models = ctx.models.sd ? { sd: ctx.models.sd } : {};
  const backend = req.backend ?? form.backend;
  return backend === 'blackhole'
    ? { phase: 2, backend: 'blackhole', models, params }
    : { phase: 2, backend: 'torch', device: 'cpu', ...dtype, models, params };
}

/** What a Blackhole run offers when there is no card: the same algorithm in torch, under its own name. */
export function withoutCard(req: RunRequest): { title: string; request: RunRequest } | undefined {
  if (req.backend !== 'blackhole') return undefined;
  if (req.phase === 2) return { title: 'Run the Phase 2 Algorithm on CPU', request: { phase: 2, backend: 'cpu' } };
  if (req.phase === 3) return { title: 'Run Phase 3 in torch instead', request: { phase: 3 } };
  return undefined;
}

/** How each run kind is named in the UI, everywhere (the CPU variant must never look like Blackhole). */
export function runLabel(req: RunRequest): string {
  if (req.phase === 1) return 'Phase 1 (diffusers AnimateDiff)';
  if (req.phase === 3) {
    return req.backend === 'blackhole' ? 'Phase 3 on Blackhole (TTNN, not yet run on a card by us)' : 'Phase 3 (motion modules in the frame loop, torch)';
  }
  return req.backend === 'cpu' ? 'the Phase 2 algorithm on CPU (torch, no Blackhole)' : 'Phase 2 on Blackhole (TTNN)';
}
