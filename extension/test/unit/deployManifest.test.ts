import { describe, expect, it } from 'vitest';
import { backupName, nextManifest, parseManifest, planDeploy, type DeployManifest } from '../../src/deploy/manifest';

const h = (c: string) => c.repeat(64);
const meta = { deployedAt: '2026-01-01T00:00:00.000Z', extensionVersion: '0.1.0' };

describe('planDeploy', () => {
  it('first deploy into an empty folder adds everything', () => {
    const plan = planDeploy({ 'a.py': h('a'), 'b.py': h('b') }, {}, undefined);
    expect(plan.add).toEqual(['a.py', 'b.py']);
    expect(plan.conflicts).toEqual([]);
  });

  it('sorts files into unchanged, updated (untouched by the user) and conflicts (touched)', () => {
    const previous: DeployManifest = { version: 1, ...meta, files: { 'same.py': h('1'), 'old.py': h('2'), 'mine.py': h('3') } };
    const bundle = { 'same.py': h('1'), 'old.py': h('9'), 'mine.py': h('8'), 'new.py': h('7') };
    const target = { 'same.py': h('1'), 'old.py': h('2'), 'mine.py': h('5') };
    const plan = planDeploy(bundle, target, previous);
    expect(plan).toEqual({ add: ['new.py'], update: ['old.py'], unchanged: ['same.py'], conflicts: ['mine.py'], obsolete: [], orphanedEdits: [] });
  });

  it('a file the user edited to exactly the new bundle version is simply unchanged', () => {
    const previous: DeployManifest = { version: 1, ...meta, files: { 'a.py': h('1') } };
    expect(planDeploy({ 'a.py': h('2') }, { 'a.py': h('2') }, previous).unchanged).toEqual(['a.py']);
  });

  it('without a manifest, an existing different file is a conflict (never overwritten silently)', () => {
    expect(planDeploy({ 'a.py': h('1') }, { 'a.py': h('2') }, undefined).conflicts).toEqual(['a.py']);
  });

  it('files the bundle dropped: removed if untouched, kept if edited, ignored if gone', () => {
    const previous: DeployManifest = { version: 1, ...meta, files: { 'gone.py': h('1'), 'edited.py': h('2'), 'deleted.py': h('3') } };
    const plan = planDeploy({}, { 'gone.py': h('1'), 'edited.py': h('9') }, previous);
    expect(plan.obsolete).toEqual(['gone.py']);
    expect(plan.orphanedEdits).toEqual(['edited.py']);
  });
});

describe('nextManifest', () => {
  const previous: DeployManifest = { version: 1, ...meta, files: { 'mine.py': h('3') } };
  const bundle = { 'mine.py': h('8'), 'new.py': h('7') };
  const plan = planDeploy(bundle, { 'mine.py': h('5') }, previous);

  it('records the bundle hash of every deployed file', () => {
    expect(nextManifest(bundle, plan, 'overwrite', previous, meta).files).toEqual({ 'mine.py': h('8'), 'new.py': h('7') });
  });

  it('keeps the old record of a kept conflict, so the next deploy asks again', () => {
    const next = nextManifest(bundle, plan, 'keep', previous, meta);
    expect(next.files['mine.py']).toBe(h('3'));
    expect(planDeploy(bundle, { 'mine.py': h('5'), 'new.py': h('7') }, next).conflicts).toEqual(['mine.py']);
  });
});

describe('manifest file and backups', () => {
  it('round-trips and rejects junk', () => {
    const m: DeployManifest = { version: 1, ...meta, files: { 'a.py': h('a') } };
    expect(parseManifest(JSON.stringify(m))).toEqual(m);
    expect(parseManifest('not json')).toBeUndefined();
    expect(parseManifest('{"version":2,"files":{}}')).toBeUndefined();
    expect(parseManifest(JSON.stringify({ version: 1, files: { 'a.py': 'short', 'b.py': h('b') } }))?.files).toEqual({ 'b.py': h('b') });
  });

  it('names backups with a sortable timestamp and .bak', () => {
    expect(backupName('animatediff_ttnn/ttnn_pipeline.py', new Date(2026, 10, 25, 9, 5, 3))).toBe('animatediff_ttnn/ttnn_pipeline.py.20261125-090503.bak');
  });
});
