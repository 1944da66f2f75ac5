import { describe, expect, it } from 'vitest';
import { backupName, describeOrphanedEdits, movedTo, nextManifest, parseManifest, planDeploy, type DeployManifest } from '../../src/deploy/manifest';

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

describe('edits to files the lesson moved', () => {
  // The lesson package 0.2 moved its machinery into folders; a learner's edit to an old file is kept.
  const h = (c: string) => c.repeat(64);
  const bundle = { 'animatediff_ttnn/outputs/export.py': h('b'), 'animatediff_ttnn/models/loading.py': h('c'), 'a/x.py': h('d'), 'b/x.py': h('e') };

  it('names the one file of the same name in another folder, and nothing when there is none or several', () => {
    expect(movedTo('animatediff_ttnn/export.py', bundle)).toBe('animatediff_ttnn/outputs/export.py');
    expect(movedTo('animatediff_ttnn/models.py', bundle)).toBeUndefined(); // renamed: no guess
    expect(movedTo('x.py', bundle)).toBeUndefined(); // two candidates: no guess
  });

  it('an edited file the bundle dropped is kept (orphaned), and the message says where it went', () => {
    const previous = { version: 1 as const, deployedAt: '', extensionVersion: '', files: { 'animatediff_ttnn/export.py': h('a') } };
    const plan = planDeploy(bundle, { 'animatediff_ttnn/export.py': h('f') }, previous);
    expect(plan.orphanedEdits).toEqual(['animatediff_ttnn/export.py']);
    expect(plan.obsolete).toEqual([]);
    const text = describeOrphanedEdits(plan.orphanedEdits, bundle);
    expect(text).toContain('animatediff_ttnn/export.py (now animatediff_ttnn/outputs/export.py)');
    expect(text).toContain('stays where it is');
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
