import { describe, expect, it } from 'vitest';
import { DEFAULT_PROMPT, defaultForm, mergeRemembered, presetArg, presetForHardware, presetNote, runLabel, toGenerateParams, validateRunForm, withoutCard, type RunForm } from '../../src/params';
import { asksFor } from '../../src/run/estimates';

const settings = { numFrames: 8, steps: 25, guidanceScale: 7.5, seed: 42, width: 512, height: 512 };
const form: RunForm = { ...defaultForm(settings), prompt: 'a cat', negativePrompt: '' };

describe('run form defaults', () => {
  it('comes from the settings, with a default prompt and Blackhole as the Phase 2 choice', () => {
    const f = defaultForm(settings);
    expect(f).toMatchObject({ prompt: DEFAULT_PROMPT, numFrames: 8, steps: 25, guidanceScale: 7.5, seed: 42, width: 512, height: 512, backend: 'blackhole' });
    expect(validateRunForm(f).ok).toBe(true);
  });

  it('keeps valid remembered fields and drops invalid or unknown ones', () => {
    const merged = mergeRemembered(form, { prompt: 'remembered', steps: 3, width: 100, backend: 'gpu', bogus: 1 });
    expect(merged.prompt).toBe('remembered');
    expect(merged.steps).toBe(3);
    expect(merged.width).toBe(512); // 100 is not a multiple of 8
    expect(merged.backend).toBe('blackhole');
    expect(mergeRemembered(form, 'garbage')).toEqual(form);
    expect(mergeRemembered(form, undefined)).toEqual(form);
  });

  it('a preset setting brings that preset\'s steps and guidance; a remembered preset keeps its steps', () => {
    expect(defaultForm(settings, 'lightning')).toMatchObject({ preset: 'lightning', steps: 4, guidanceScale: 1 });
    expect(defaultForm(settings, 'animatelcm')).toMatchObject({ preset: 'animatelcm', steps: 6, guidanceScale: 2 });
    const merged = mergeRemembered(form, { preset: 'lightning', steps: 2, guidanceScale: 1 });
    expect(merged).toMatchObject({ preset: 'lightning', steps: 2, guidanceScale: 1 });
    expect(mergeRemembered(form, { preset: 'lightning', steps: 25 }).preset).toBe('quality'); // 25 fits no checkpoint
    // The hardware's first preset (Fast on a CPU) must not drop a remembered Quality form's steps.
    const fast = defaultForm(settings, 'lightning');
    expect(mergeRemembered(fast, { ...form, preset: 'quality', steps: 200 })).toMatchObject({ preset: 'quality', steps: 200 });
  });
});

describe('the first preset follows the hardware (params.py device_defaults)', () => {
  it('is Fast where torch sees no GPU or the device setting is cpu, Quality with a GPU or unknown devices', () => {
    expect(presetForHardware('auto', ['cpu'])).toBe('lightning');
    expect(presetForHardware('cpu', ['cpu', 'cuda:0'])).toBe('lightning');
    expect(presetForHardware('auto', ['cpu', 'cuda:0'])).toBe('quality');
    expect(presetForHardware('auto', ['cpu', 'mps'])).toBe('quality');
    expect(presetForHardware('cuda', ['cpu', 'cuda:0'])).toBe('quality');
    expect(presetForHardware('auto', undefined)).toBe('quality');
    expect(defaultForm(settings, presetForHardware('auto', ['cpu']))).toMatchObject({ preset: 'lightning', steps: 4, guidanceScale: 1 });
  });

  it('says so in the form, unless the user chose the preset', () => {
    expect(presetNote(undefined, 'auto', ['cpu'])).toMatch(/no GPU .* Fast: AnimateDiff-Lightning .*Quality is one click away/);
    expect(presetNote('lightning', 'auto', ['cpu'])).toBeNull();
    expect(presetNote(undefined, 'auto', ['cpu', 'cuda:0'])).toBeNull();
  });

  it('the estimates cover every run button, and Quality when the form is on a faster preset', () => {
    const fast = { ...defaultForm(settings, 'lightning'), prompt: 'a cat' };
    const asks = asksFor(fast, false);
    expect(asks.map((a) => [a.request, a.form.preset, a.form.steps])).toEqual([
      [{ phase: 1 }, 'lightning', 4], [{ phase: 1 }, 'quality', 25], [{ phase: 2, backend: 'cpu' }, 'lightning', 4], [{ phase: 3 }, 'lightning', 4]]);
    expect(asksFor(form, true).map((a) => a.request)).toEqual([{ phase: 1 }, { phase: 2, backend: 'blackhole' }, { phase: 3 }]);
  });
});

describe('validateRunForm', () => {
  const errorsOf = (patch: Record<string, unknown>) => {
    const r = validateRunForm({ ...form, ...patch });
    return r.ok ? [] : r.errors.map((e) => e.field).sort();
  };

  it('accepts a good form', () => expect(errorsOf({})).toEqual([]));
  it('needs a prompt', () => expect(errorsOf({ prompt: '   ' })).toEqual(['prompt']));
  it('needs whole numbers in range', () => {
    expect(errorsOf({ numFrames: 0 })).toEqual(['numFrames']);
    expect(errorsOf({ numFrames: 257 })).toEqual(['numFrames']);
    expect(errorsOf({ numFrames: 2.5 })).toEqual(['numFrames']);
    expect(errorsOf({ steps: null })).toEqual(['steps']);
    expect(errorsOf({ seed: -1 })).toEqual(['seed']);
    expect(errorsOf({ steps: '5' })).toEqual(['steps']);
  });
  it('needs sizes that are multiples of 8', () => expect(errorsOf({ width: 500, height: 4096 })).toEqual(['height', 'width']));
  it('bounds the guidance scale', () => expect(errorsOf({ guidanceScale: 51 })).toEqual(['guidanceScale']));
  it('knows only the two Phase 2 backends', () => expect(errorsOf({ backend: 'auto' })).toEqual(['backend']));
  it('knows the presets, and Lightning only at the step counts it was distilled for', () => {
    expect(errorsOf({ preset: 'turbo' })).toEqual(['preset']);
    expect(errorsOf({ preset: 'lightning', steps: 4, guidanceScale: 1 })).toEqual([]);
    expect(errorsOf({ preset: 'lightning', steps: 5 })).toEqual(['steps']);
    expect(errorsOf({ preset: 'animatelcm', steps: 5 })).toEqual([]);
  });
  it('rejects unknown fields and non-objects', () => {
    expect(errorsOf({ extra: 1 })).toEqual(['form']);
    expect(validateRunForm(null).ok).toBe(false);
    expect(validateRunForm([]).ok).toBe(false);
  });
});

describe('toGenerateParams', () => {
  const ctx = { device: 'auto' as const, models: { sd: '/m/sd', motionAdapter: '/m/ma' } };

  it('Phase 1 uses the device setting and both models', () => {
    expect(toGenerateParams(form, { phase: 1 }, ctx)).toEqual({
      phase: 1,
      device: 'auto',
      preset: 'quality',
      models: { sd: '/m/sd', motionAdapter: '/m/ma' },
      params: { prompt: 'a cat', negativePrompt: '', promptSchedule: '', motionLoras: '', numFrames: 8, steps: 25, guidanceScale: 7.5,
        seed: 42, width: 512, height: 512, contextLength: 0 },
    });
  });

  it('Phase 2 on Blackhole asks for the blackhole backend and only the SD model', () => {
    const p = toGenerateParams(form, { phase: 2, backend: 'blackhole' }, ctx);
    expect(p).toMatchObject({ phase: 2, backend: 'blackhole', models: { sd: '/m/sd' } });
    expect(p.device).toBeUndefined();
  });

  it('"Phase 2 on CPU" is the torch backend pinned to the CPU', () => {
    expect(toGenerateParams(form, { phase: 2, backend: 'cpu' }, ctx)).toMatchObject({ phase: 2, backend: 'torch', device: 'cpu' });
    expect(toGenerateParams({ ...form, backend: 'cpu' }, { phase: 2 }, { ...ctx, models: {} })).toMatchObject({ backend: 'torch', models: {} });
  });

  it('Phase 3 runs torch on the device setting, or the blackhole backend when asked (whatever the Phase 2 form says)', () => {
    expect(toGenerateParams(form, { phase: 3 }, ctx)).toMatchObject({ phase: 3, backend: 'torch', device: 'auto', models: ctx.models });
    const onCard = toGenerateParams({ ...form, backend: 'cpu' }, { phase: 3, backend: 'blackhole' }, ctx);
    expect(onCard).toMatchObject({ phase: 3, backend: 'blackhole', models: { sd: '/m/sd', motionAdapter: '/m/ma' } });
    expect(onCard.device).toBeUndefined();
  });

  it('a Blackhole run without a card offers the same algorithm in torch, under its own name', () => {
    expect(withoutCard({ phase: 2, backend: 'blackhole' })).toEqual({ title: 'Run the Phase 2 Algorithm on CPU', request: { phase: 2, backend: 'cpu' } });
    expect(withoutCard({ phase: 3, backend: 'blackhole' })).toEqual({ title: 'Run Phase 3 in torch instead', request: { phase: 3 } });
    expect(withoutCard({ phase: 3 })).toBeUndefined();
    expect(withoutCard({ phase: 2, backend: 'cpu' })).toBeUndefined();
  });

  it('sends the preset with Phase 1 and a dtype setting other than auto with every phase (the torch ones)', () => {
    const lightning = { ...form, preset: 'lightning' as const, steps: 4, guidanceScale: 1 };
    expect(toGenerateParams(lightning, { phase: 1 }, { ...ctx, dtype: 'float32' })).toMatchObject({ preset: 'lightning', dtype: 'float32' });
    expect(toGenerateParams(lightning, { phase: 1 }, { ...ctx, dtype: 'auto' })).not.toHaveProperty('dtype');
    expect(toGenerateParams(form, { phase: 2, backend: 'cpu' }, { ...ctx, dtype: 'bfloat16' })).toMatchObject({ dtype: 'bfloat16' });
    expect(toGenerateParams(form, { phase: 2, backend: 'cpu' }, ctx)).not.toHaveProperty('preset');
    // Phase 3 too: lesson 09 compares it with Phase 1 pixel for pixel in float32 (the setting)
    expect(toGenerateParams(form, { phase: 3 }, { ...ctx, dtype: 'float32' })).toMatchObject({ phase: 3, dtype: 'float32' });
    expect(toGenerateParams(form, { phase: 3 }, ctx)).not.toHaveProperty('dtype');
  });

  it('labels the CPU variant so it can never be mistaken for Blackhole', () => {
    expect(runLabel({ phase: 2, backend: 'cpu' })).toMatch(/Phase 2 algorithm on CPU/);
    expect(runLabel({ phase: 2, backend: 'cpu' })).toMatch(/no Blackhole/);
    expect(runLabel({ phase: 2, backend: 'blackhole' })).toMatch(/Blackhole/);
    expect(runLabel({ phase: 1 })).toMatch(/Phase 1/);
    expect(runLabel({ phase: 3 })).toMatch(/torch/);
    expect(runLabel({ phase: 3, backend: 'blackhole' })).toMatch(/Phase 3 on Blackhole .*not yet run on a card/);
  });
});

describe('presetArg', () => {
  it('reads {preset} of a failed run\'s "Download Models" and ignores anything else', () => {
    expect(presetArg({ preset: 'lightning' })).toBe('lightning');
    expect(presetArg({ preset: 'quality' })).toBe('quality');
    for (const arg of [undefined, null, 'lightning', { preset: 'turbo' }, { preset: 1 }, {}]) expect(presetArg(arg)).toBeUndefined();
  });
});
