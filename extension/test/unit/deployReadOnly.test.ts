// Deploying onto a read-only mount, into a folder that does not exist yet: Node's recursive mkdir
// reports ENOENT for the first missing folder and hides the real reason (EROFS). A real read-only
// tmpfs; needs root and mount rights, else the test is skipped saying so.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyRel } from '../../src/deploy/files';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ad-ro-'));
const ro = path.join(tmp, 'ro');
mkdirSync(ro);
let mounted = '';
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { stdio: 'pipe' });
} catch (err) {
  mounted = `cannot mount a read-only tmpfs here (${(err as Error).message.split('\n')[0]})`;
}
afterAll(() => {
  if (!mounted) execFileSync('umount', [ro]);
  rmSync(tmp, { recursive: true, force: true });
});

describe('deploy onto a read-only mount', () => {
  it.skipIf(mounted !== '')(`says the file system is read-only, not ENOENT ${mounted}`, async () => {
    const src = path.join(tmp, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'a.py'), 'A');
    const target = path.join(ro, 'tt-scratchpad', 'tt-animatediff'); // neither folder exists yet
    const err = await copyRel(src, target, 'a.py').then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).toBe('EROFS');
    expect(err?.message).toMatch(/read-only file system/);
    expect(err?.message).toContain(path.join(ro, 'tt-scratchpad'));
  });
});
