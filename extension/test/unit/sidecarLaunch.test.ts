import { describe, expect, it } from 'vitest';
import { buildLaunch } from '../../src/sidecar/launch';
import { StderrTail } from '../../src/sidecar/stderrTail';

describe('sidecar launch', () => {
  const base = { interpreter: '/venv/bin/python', extensionRoot: '/ext', scratchpad: '/home/u/tt-scratchpad/tt-animatediff', delimiter: ':' };

  it('runs the packaged module with the scratchpad and bundle folders', () => {
    const spec = buildLaunch({ ...base, baseEnv: {} });
    expect(spec.command).toBe('/venv/bin/python');
    expect(spec.args).toEqual(['-m', 'animatediff_sidecar', '--scratchpad', base.scratchpad, '--bundle', '/ext/python/tt-animatediff']);
  });

  it('is unbuffered and puts the packaged sidecar first on PYTHONPATH', () => {
    const spec = buildLaunch({ ...base, baseEnv: { PYTHONPATH: '/user/lib', HOME: '/home/u' } });
    expect(spec.env.PYTHONUNBUFFERED).toBe('1');
    expect(spec.env.PYTHONPATH).toBe('/ext/python/sidecar:/user/lib');
    expect(spec.env.HOME).toBe('/home/u');
    expect(buildLaunch({ ...base, baseEnv: {} }).env.PYTHONPATH).toBe('/ext/python/sidecar');
  });

  it('sets TT_METAL_HOME only when the setting has a value', () => {
    expect(buildLaunch({ ...base, ttMetalHome: '/opt/tt-metal', baseEnv: { TT_METAL_HOME: '/old' } }).env.TT_METAL_HOME).toBe('/opt/tt-metal');
    expect(buildLaunch({ ...base, ttMetalHome: '', baseEnv: { TT_METAL_HOME: '/old' } }).env.TT_METAL_HOME).toBe('/old');
  });
});

describe('stderr tail', () => {
  it('keeps the last N complete lines, across chunks', () => {
    const tail = new StderrTail(3);
    expect(tail.push('one\ntw')).toEqual(['one']);
    expect(tail.push('o\nthree\nfour\n')).toEqual(['two', 'three', 'four']);
    expect(tail.snapshot()).toEqual(['two', 'three', 'four']);
  });

  it('treats carriage returns (progress bars) as line ends and flushes the last partial line', () => {
    const tail = new StderrTail(10);
    tail.push('10%\r20%\r\nTraceback');
    expect(tail.snapshot()).toEqual(['10%', '20%', 'Traceback']);
    expect(tail.flush()).toEqual(['Traceback']);
    expect(tail.flush()).toEqual([]);
  });

  it('does not grow without bound on a line that never ends', () => {
    const tail = new StderrTail(2);
    tail.push('x'.repeat(5000));
    expect(tail.snapshot()).toHaveLength(1);
    tail.push('y');
    expect(tail.snapshot()).toEqual(['x'.repeat(5000), 'y']);
  });
});
