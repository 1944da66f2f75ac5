// A deploy manifest is a file in the scratchpad anyone can edit: every path in it must resolve inside
// the scratchpad, or the manifest is refused (deploy then asks about every changed file and removes
// nothing). Real files and links in a temp folder.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashExisting, readManifest, sha256File } from '../../src/deploy/files';
import { MANIFEST_FILE, isInsideRel, parseManifest, planDeploy } from '../../src/deploy/manifest';

const HASH = 'a'.repeat(64);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ad-manifest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a deploy manifest naming a path outside the scratchpad', () => {
  it('is refused, so nothing outside is planned: the file beside the scratchpad is not obsolete', async () => {
    const pad = path.join(tmp, 'pad');
    mkdirSync(pad);
    writeFileSync(path.join(tmp, 'somefile'), 'the user\'s');
    const hash = await sha256File(path.join(tmp, 'somefile'));
    writeFileSync(path.join(pad, MANIFEST_FILE), JSON.stringify({ version: 1, files: { 'pkg/a.py': HASH, '../somefile': hash } }));
    // what deploy.ts does first
    const read = await readManifest(pad);
    expect(read.manifest).toBeUndefined();
    expect(read.refused).toMatch(/"\.\.\/somefile", which is not a path inside the scratchpad/);
    const current = await hashExisting(pad, Object.keys(read.manifest?.files ?? {}));
    expect(planDeploy({}, current, read.manifest).obsolete).toEqual([]);
  });

  it('refuses every path that leaves the scratchpad as written', () => {
    for (const rel of ['../x', 'a/../../x', 'a/../b', '/etc/passwd', './a.py', 'a//b', '', 'a\\..\\x', 'C:/x', 'a\0b']) {
      expect(isInsideRel(rel), rel).toBe(false);
      expect(parseManifest(JSON.stringify({ version: 1, files: { [rel]: HASH } })), rel).toBeUndefined();
    }
    for (const rel of ['a.py', 'animatediff_ttnn/outputs/export.py', '.hidden', 'a..b/c']) expect(isInsideRel(rel), rel).toBe(true);
  });

  it('is refused when a folder it names is a link out of the scratchpad', async () => {
    const outside = path.join(tmp, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'a.py'), 'not the lesson\'s');
    const pad = path.join(tmp, 'pad-link');
    mkdirSync(pad);
    symlinkSync(outside, path.join(pad, 'pkg'));
    writeFileSync(path.join(pad, MANIFEST_FILE), JSON.stringify({ version: 1, files: { 'pkg/a.py': await sha256File(path.join(outside, 'a.py')) } }));
    const read = await readManifest(pad);
    expect(read.manifest).toBeUndefined();
    expect(read.refused).toMatch(/"pkg\/a\.py", whose folder is a link to .*outside the scratchpad/);
  });
});
