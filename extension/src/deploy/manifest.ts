// Change detection for deploy: compares the bundle, the scratchpad and what was last deployed
// (the manifest), so a file the user edited is never overwritten silently. Pure.

export const MANIFEST_FILE = '.animatediff-deploy.json';

/** Relative POSIX path → sha256 hex. */
export type FileHashes = Record<string, string>;

export interface DeployManifest {
  version: 1;
  deployedAt: string;
  extensionVersion: string;
  files: FileHashes;
}

export interface DeployPlan {
  /** Not in the scratchpad yet. */
  add: string[];
  /** The scratchpad still holds what we deployed last time; the bundle has a newer version. */
  update: string[];
  /** Already identical to the bundle. */
  unchanged: string[];
  /** Differs from the bundle and was changed (or created) by the user: ask before touching. */
  conflicts: string[];
  /** We deployed it before, the bundle dropped it, the user never touched it: safe to remove. */
  obsolete: string[];
  /** We deployed it before, the bundle dropped it, but the user edited it: left alone. */
  orphanedEdits: string[];
}

/**
 * @param bundle  hashes of every file in the bundle
 * @param target  hashes of the scratchpad files that exist, among bundle ∪ manifest paths
 * @param previous the manifest of the last deploy, if any
 */
export function planDeploy(bundle: FileHashes, target: FileHashes, previous?: DeployManifest): DeployPlan {
  const plan: DeployPlan = { add: [], update: [], unchanged: [], conflicts: [], obsolete: [], orphanedEdits: [] };
  const deployed = previous?.files ?? {};
  for (const rel of Object.keys(bundle).sort()) {
    const current = target[rel];
    if (current === undefined) plan.add.push(rel);
    else if (current === bundle[rel]) plan.unchanged.push(rel);
    else if (deployed[rel] !== undefined && deployed[rel] === current) plan.update.push(rel);
    else plan.conflicts.push(rel);
  }
  for (const rel of Object.keys(deployed).sort()) {
    if (rel in bundle || target[rel] === undefined) continue;
    if (target[rel] === deployed[rel]) plan.obsolete.push(rel);
    else plan.orphanedEdits.push(rel);
  }
  return plan;
}

/**
 * Where an edited file the bundle dropped most likely went: the one bundle file with the same name in
 * another folder (the lesson package moved its machinery into folders: `animatediff_ttnn/export.py`
 * became `animatediff_ttnn/outputs/export.py`). Undefined when there is no such file, or several.
 */
export function movedTo(rel: string, bundle: FileHashes): string | undefined {
  const name = rel.split('/').pop();
  const candidates = Object.keys(bundle).filter((b) => b !== rel && b.split('/').pop() === name);
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** One line for the learner about edits the new lesson no longer uses, naming where each file went. */
export function describeOrphanedEdits(orphans: string[], bundle: FileHashes): string {
  const parts = orphans.map((rel) => {
    const to = movedTo(rel, bundle);
    return to ? `${rel} (now ${to})` : rel;
  });
  const list = parts.length <= 3 ? parts.join(', ') : `${parts.slice(0, 3).join(', ')} and ${parts.length - 3} more`;
  return (
    `You had changed ${list}, which this version of the lesson no longer uses. Your version stays where it ` +
    'is, untouched; carry your change over to the new file to keep it in effect.'
  );
}

export type ConflictResolution = 'keep' | 'overwrite';

/** What the next manifest records: the bundle hash of each file we wrote or found identical.
 *  A kept conflict keeps its old record, so the next deploy asks about it again. */
export function nextManifest(
  bundle: FileHashes,
  plan: DeployPlan,
  resolution: ConflictResolution,
  previous: DeployManifest | undefined,
  meta: { deployedAt: string; extensionVersion: string },
): DeployManifest {
  const files: FileHashes = {};
  for (const rel of [...plan.add, ...plan.update, ...plan.unchanged]) files[rel] = bundle[rel];
  for (const rel of plan.conflicts) {
    if (resolution === 'overwrite') files[rel] = bundle[rel];
    else files[rel] = previous?.files[rel] ?? bundle[rel];
  }
  const sorted: FileHashes = {};
  for (const rel of Object.keys(files).sort()) sorted[rel] = files[rel];
  return { version: 1, deployedAt: meta.deployedAt, extensionVersion: meta.extensionVersion, files: sorted };
}

/** What reading a manifest gave: the manifest, or why it is not trusted (`refused`), or neither (none, or unreadable). */
export interface ManifestRead {
  manifest?: DeployManifest;
  refused?: string;
}

/**
 * A manifest path that stays inside the scratchpad as written: relative, `/`-separated, no empty, `.`
 * or `..` part, no backslash or NUL. (Links are checked on disk: files.ts `readManifest`.)
 */
export function isInsideRel(rel: string): boolean {
  if (rel === '' || rel.startsWith('/') || rel.includes('\\') || rel.includes('\0') || /^[A-Za-z]:/.test(rel)) return false;
  return rel.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The manifest is a file anyone can edit, and deploy removes what it lists as obsolete: a path that
 *  does not stay inside the scratchpad refuses the whole manifest. */
export function readManifestText(text: string): ManifestRead {
  let data: Partial<DeployManifest>;
  try {
    data = JSON.parse(text) as Partial<DeployManifest>;
  } catch {
    return {};
  }
  if (typeof data !== 'object' || data === null || data.version !== 1 || typeof data.files !== 'object' || data.files === null) return {};
  const files: FileHashes = {};
  for (const [rel, hash] of Object.entries(data.files)) {
    if (!isInsideRel(rel)) return { refused: `it names ${JSON.stringify(rel.slice(0, 200))}, which is not a path inside the scratchpad` };
    if (typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash)) files[rel] = hash;
  }
  return {
    manifest: { version: 1, deployedAt: String(data.deployedAt ?? ''), extensionVersion: String(data.extensionVersion ?? ''), files },
  };
}

export function parseManifest(text: string): DeployManifest | undefined {
  return readManifestText(text).manifest;
}

/** "20261125-151500": sortable, no characters that are awkward in file names. */
export function backupStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** `n` > 1 tells apart backups made within the same second. */
export function backupName(rel: string, d: Date, n = 1): string {
  return `${rel}.${backupStamp(d)}${n > 1 ? `-${n}` : ''}.bak`;
}
