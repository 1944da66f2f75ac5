// What Deploy copies to the scratchpad is lesson code only: the test fixtures (tiny random-weight
// models, python/testing) stay in the repo. Runs the extension's own deploy file rules on the real bundle.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles } from '../../src/deploy/files';
import { sidecarPaths } from '../../src/sidecar/launch';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURE = /tiny_models|animatediff_testing|(^|\/)(tests?|testing|conftest)(\/|\.py$)/;

describe('the deployed bundle', () => {
  it('holds no test fixtures, and nothing in it imports them', async () => {
    const bundle = sidecarPaths(ROOT).bundleDir;
    const files = await listFiles(bundle);
    expect(files).toContain('animatediff_ttnn/studio_api.py'); // the real bundle, not an empty folder
    expect(files.filter((rel) => FIXTURE.test(rel))).toEqual([]);
    const importing = files.filter((rel) => rel.endsWith('.py'))
      .filter((rel) => /^\s*(from|import)\s+animatediff_testing\b/m.test(readFileSync(path.join(bundle, rel), 'utf8')));
    expect(importing).toEqual([]);
  });

  it('the .vsix packs only the sidecar and the lesson package of python/', () => {
    const packed = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n')
      .filter((line) => line.startsWith('!python/'));
    expect(packed.length).toBeGreaterThan(0);
    expect(packed.filter((line) => !/^!python\/(sidecar\/animatediff_sidecar|tt-animatediff)\//.test(line))).toEqual([]);
  });
});
