// Which files a webview may show or ask to open: only run outputs inside known output folders.
import * as path from 'node:path';

export const OPENABLE_EXTENSIONS = ['.gif', '.mp4', '.webp', '.png', '.json'];

/** True when `file` is inside `root` (or is it), after resolving `..`; no prefix tricks (/out vs /output). */
export function isInside(file: string, root: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A path a webview asked to open: absolute, an output type, and inside one of the roots. */
export function isOpenableOutput(file: string, roots: readonly string[]): boolean {
  if (!path.isAbsolute(file)) return false;
  if (!OPENABLE_EXTENSIONS.includes(path.extname(file).toLowerCase())) return false;
  return roots.some((root) => isInside(file, root));
}

/** Adds the folders holding `files` to `roots`; returns the new list (deduplicated) and whether it grew. */
export function withFolders(roots: readonly string[], files: readonly (string | null | undefined)[]): { roots: string[]; changed: boolean } {
  const next = [...roots];
  for (const f of files) {
    if (!f) continue;
    const dir = path.dirname(path.resolve(f));
    if (!next.some((r) => isInside(dir, r))) next.push(dir);
  }
  return { roots: next, changed: next.length !== roots.length };
}
