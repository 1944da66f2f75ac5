import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupRel, copyRel, hashExisting, isExcluded, listFiles, readManifest, writeManifest } from '../../src/deploy/files';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ad-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string) {
  const file = path.join(tmp, 'src', rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

describe('deploy files', () => {
  it('skips caches, build products, outputs, backups and the manifest', () => {
    expect(isExcluded('animatediff_ttnn/__pycache__/x.cpython-311.pyc')).toBe(true);
    expect(isExcluded('tt_animatediff.egg-info/PKG-INFO')).toBe(true);
    expect(isExcluded('output/run.gif')).toBe(true);
    expect(isExcluded('animatediff_ttnn/ttnn_pipeline.py.20261125-090503.bak')).toBe(true);
    expect(isExcluded('.animatediff-deploy.json')).toBe(true);
    expect(isExcluded('animatediff_ttnn/output.py')).toBe(false);
    expect(isExcluded('examples/output/keep.py')).toBe(false); // only the package root's output/
  });

  it('lists, hashes and copies', async () => {
    write('pkg/a.py', 'A');
    write('pkg/__pycache__/a.pyc', 'x');
    write('output/r.gif', 'x');
    write('README.md', 'R');
    const files = await listFiles(path.join(tmp, 'src'));
    expect(files).toEqual(['README.md', 'pkg/a.py']);
    const hashes = await hashExisting(path.join(tmp, 'src'), [...files, 'missing.py']);
    expect(Object.keys(hashes)).toEqual(['README.md', 'pkg/a.py']);
    expect(hashes['pkg/a.py']).toBe('559aead08264d5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd'); // sha256("A")
    await copyRel(path.join(tmp, 'src'), path.join(tmp, 'dst'), 'pkg/a.py');
    expect(await hashExisting(path.join(tmp, 'dst'), ['pkg/a.py'])).toEqual({ 'pkg/a.py': hashes['pkg/a.py'] });
  });

  it('two backups in the same second keep both edits', async () => {
    const pad = path.join(tmp, 'pad-backups');
    mkdirSync(path.join(pad, 'pkg'), { recursive: true });
    const when = new Date(2026, 0, 2, 3, 4, 5);
    writeFileSync(path.join(pad, 'pkg/a.py'), 'first edit');
    const one = await backupRel(pad, 'pkg/a.py', when);
    writeFileSync(path.join(pad, 'pkg/a.py'), 'second edit');
    const two = await backupRel(pad, 'pkg/a.py', when);
    expect([one, two]).toEqual(['pkg/a.py.20260102-030405.bak', 'pkg/a.py.20260102-030405-2.bak']);
    expect(readFileSync(path.join(pad, one), 'utf8')).toBe('first edit');
    expect(readFileSync(path.join(pad, two), 'utf8')).toBe('second edit');
  });

  it('a file replaced by a symlink is replaced, not written through', async () => {
    write('pkg/b.py', 'bundle version');
    const outside = path.join(tmp, 'outside.py');
    writeFileSync(outside, 'not the scratchpad');
    const pad = path.join(tmp, 'pad-link');
    mkdirSync(path.join(pad, 'pkg'), { recursive: true });
    symlinkSync(outside, path.join(pad, 'pkg/b.py'));
    await copyRel(path.join(tmp, 'src'), pad, 'pkg/b.py');
    expect(readFileSync(outside, 'utf8')).toBe('not the scratchpad');
    expect(lstatSync(path.join(pad, 'pkg/b.py')).isSymbolicLink()).toBe(false);
    expect(readFileSync(path.join(pad, 'pkg/b.py'), 'utf8')).toBe('bundle version');
    expect(readdirSync(path.join(pad, 'pkg'))).toEqual(['b.py']); // no temp file left
  });

  it('a folder replaced by a symlink is refused: nothing is written outside', async () => {
    write('pkg/c.py', 'bundle version');
    const outsideDir = path.join(tmp, 'outside-dir');
    mkdirSync(outsideDir);
    const pad = path.join(tmp, 'pad-dirlink');
    mkdirSync(pad);
    symlinkSync(outsideDir, path.join(pad, 'pkg'));
    await expect(copyRel(path.join(tmp, 'src'), pad, 'pkg/c.py')).rejects.toThrow(/a link/);
    await expect(backupRel(pad, 'pkg/c.py', new Date())).rejects.toThrow(/a link/);
    expect(readdirSync(outsideDir)).toEqual([]);
  });

  it('writes and reads the manifest', async () => {
    const m = { version: 1 as const, deployedAt: 'now', extensionVersion: '0.1.0', files: { 'a.py': 'a'.repeat(64) } };
    await writeManifest(tmp, m);
    expect(await readManifest(tmp)).toEqual({ manifest: m });
    expect(await readManifest(path.join(tmp, 'nowhere'))).toEqual({});
  });
});
