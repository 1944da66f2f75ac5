import { describe, expect, it } from 'vitest';
import { DEFAULT_INTERPRETER, resolveInterpreter } from '../../src/interpreter';

describe('interpreter resolution order: setting → ms-python → python3', () => {
  it('the setting wins, and the Python extension is not even asked', async () => {
    let asked = false;
    const r = await resolveInterpreter({ setting: '/venv/bin/python', msPython: async () => ((asked = true), '/other') });
    expect(r).toEqual({ path: '/venv/bin/python', source: 'setting' });
    expect(asked).toBe(false);
  });

  it('an empty setting falls through to the Python extension', async () => {
    expect(await resolveInterpreter({ setting: '  ', msPython: async () => '/ms/python' })).toEqual({ path: '/ms/python', source: 'ms-python' });
  });

  it('no setting and no Python extension (or no environment in it) gives python3', async () => {
    expect(await resolveInterpreter({})).toEqual({ path: DEFAULT_INTERPRETER, source: 'default' });
    expect(await resolveInterpreter({ msPython: async () => undefined })).toEqual({ path: 'python3', source: 'default' });
  });

  it('a failing Python extension does not block: python3', async () => {
    const r = await resolveInterpreter({ msPython: async () => Promise.reject(new Error('activation failed')) });
    expect(r.source).toBe('default');
  });
});
