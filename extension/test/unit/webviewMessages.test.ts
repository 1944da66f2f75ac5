import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultForm } from '../../src/params';
import { checkGalleryMessage, checkPreviewMessage } from '../../src/webview/messages';
import { isInside, isOpenableOutput, withFolders } from '../../src/webview/outputRoots';

const form = defaultForm({ numFrames: 8, steps: 25, guidanceScale: 7.5, seed: 42, width: 512, height: 512 });

describe('messages from the preview webview', () => {
  it('accepts the known simple messages', () => {
    for (const m of [{ type: 'ready' }, { type: 'cancel' }, { type: 'refreshEnvironment' }, { type: 'errorAction', index: 1 }, { type: 'openFile', path: '/o/a.gif' }]) {
      expect(checkPreviewMessage(m)).toEqual({ ok: true, message: m });
    }
  });

  it('accepts a run with a valid form', () => {
    const r = checkPreviewMessage({ type: 'run', phase: 2, form });
    expect(r).toEqual({ ok: true, message: { type: 'run', phase: 2, form } });
  });

  it('turns a run with an invalid form into runRejected with the reasons (never a run)', () => {
    const r = checkPreviewMessage({ type: 'run', phase: 1, form: { ...form, steps: 0, prompt: '' } });
    expect(r.ok && r.message.type).toBe('runRejected');
    expect(r.ok && r.message.type === 'runRejected' && r.message.errors).toHaveLength(2);
  });

  it('formChanged carries the form only when it is valid', () => {
    expect(checkPreviewMessage({ type: 'formChanged', form })).toEqual({ ok: true, message: { type: 'formChanged', form } });
    expect(checkPreviewMessage({ type: 'formChanged', form: { ...form, steps: null } })).toEqual({ ok: true, message: { type: 'formChanged', form: null } });
    expect(checkPreviewMessage({ type: 'formChanged' }).ok).toBe(false);
  });

  it('rejects everything else', () => {
    const bad: unknown[] = [
      null,
      'ready',
      42,
      [],
      {},
      { type: 'nope' },
      { type: 'run', phase: 4, form },
      { type: 'run', form },
      { type: 'ready', extra: true },
      { type: 'openFile' },
      { type: 'openFile', path: '' },
      { type: 'openFile', path: 7 },
      { type: 'openFile', path: 'x'.repeat(5000) },
      { type: 'errorAction', index: -1 },
      { type: 'errorAction', index: 1.5 },
      { type: 'errorAction', index: '0' },
      { type: 'errorAction', index: 0, file: '/etc/passwd' },
      { type: 'openGallery' },
    ];
    for (const m of bad) expect(checkPreviewMessage(m).ok, JSON.stringify(m)).toBe(false);
  });

  it('names the offending type without echoing long input', () => {
    const r = checkPreviewMessage({ type: 'x'.repeat(500) });
    expect(!r.ok && r.reason.length).toBeLessThan(100);
  });
});

describe('messages from the gallery webview', () => {
  it('accepts ready, refresh and openFile only', () => {
    expect(checkGalleryMessage({ type: 'refresh' }).ok).toBe(true);
    expect(checkGalleryMessage({ type: 'openFile', path: '/a.gif' }).ok).toBe(true);
    expect(checkGalleryMessage({ type: 'cancel' }).ok).toBe(false);
    expect(checkGalleryMessage({ type: 'run', phase: 1, form }).ok).toBe(false);
  });
});

describe('which files a webview may open', () => {
  const roots = ['/home/u/scratch/output'];

  it('allows outputs inside an output folder', () => {
    expect(isOpenableOutput('/home/u/scratch/output/run.gif', roots)).toBe(true);
    expect(isOpenableOutput('/home/u/scratch/output/sub/run.json', roots)).toBe(true);
  });

  it('refuses other folders, prefix tricks, traversal, relative paths and other file types', () => {
    expect(isOpenableOutput('/home/u/scratch/output-evil/run.gif', roots)).toBe(false);
    expect(isOpenableOutput('/home/u/scratch/output/../secrets.json', roots)).toBe(false);
    expect(isOpenableOutput('output/run.gif', roots)).toBe(false);
    expect(isOpenableOutput('/home/u/scratch/output/run.py', roots)).toBe(false);
    expect(isOpenableOutput('/etc/passwd', roots)).toBe(false);
  });

  it('isInside handles the root itself', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/bc', '/a/b')).toBe(false);
  });

  it('adds a trusted output folder once, and never a folder named by a file elsewhere', () => {
    const trusted = ['/home/u/scratch/output', '/bundle/output'];
    const first = withFolders(roots, ['/bundle/output/a.gif', null, '/home/u/scratch/output/b.gif'], trusted);
    expect(first).toEqual({ roots: ['/home/u/scratch/output', '/bundle/output'], changed: true });
    expect(withFolders(first.roots, ['/bundle/output/c.gif'], trusted).changed).toBe(false);
    // {"outputs": {"gif": "/x.gif"}} in a metadata file must not add "/" to the roots
    expect(withFolders(roots, ['/x.gif', '/elsewhere/out/a.gif'], trusted)).toEqual({ roots, changed: false });
  });

  it('a link inside an output folder that points outside is not inside', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ad-roots-'));
    try {
      const out = path.join(tmp, 'output');
      mkdirSync(out);
      writeFileSync(path.join(tmp, 'secret.json'), '{}');
      writeFileSync(path.join(out, 'run.gif'), 'GIF89a');
      symlinkSync(path.join(tmp, 'secret.json'), path.join(out, 'leak.json'));
      symlinkSync(tmp, path.join(out, 'up'));
      expect(isOpenableOutput(path.join(out, 'run.gif'), [out])).toBe(true);
      expect(isOpenableOutput(path.join(out, 'leak.json'), [out])).toBe(false);
      expect(isOpenableOutput(path.join(out, 'up', 'secret.json'), [out])).toBe(false);
      expect(withFolders([], [path.join(out, 'leak.json')], [out]).changed).toBe(false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
