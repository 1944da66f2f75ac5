// Which files a webview may show or ask to open: only run outputs inside known output folders,
// judged after resolving links. The folders come from the settings and the sidecar's handshake,
// never from a run's metadata: a JSON file in an output folder can name any path.
import { realpathSync } from 'node:fs';
import * as path from 'node:path';

export const OPENABLE_EXTENSIONS = ['.gif', '.mp4', '.webp', '.png', '.json'];

/** True when `file` is inside `root` (or is it), after resolving `..`; no prefix tricks (/out vs /output). */
export function isInside(file: string, root: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** `p` with every link resolved; a path that does not exist is only normalised. */
function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The root holding `file` once links are resolved on both sides (a link inside an output folder
 *  pointing elsewhere does not count as inside); undefined when none does. */
export function rootOf(file: string, roots: readonly string[]): string | undefined {
  if (!path.isAbsolute(file)) return undefined;
  const target = real(file);
  return roots.find((root) => isInside(file, root) && isInside(target, real(root)));
}

/** A path a webview asked to open: absolute, an output type, and inside one of the roots. */
export function isOpenableOutput(file: string, roots: readonly string[]): boolean {
  if (!OPENABLE_EXTENSIONS.includes(path.extname(file).toLowerCase())) return false;
  return rootOf(file, roots) !== undefined;
}

/**
 * The roots a webview needs to show `files`: each file's trusted output folder, added once.
 * A file outside every trusted folder adds nothing (and must not be shown).
 */
export function withFolders(roots: readonly string[], files: readonly (string | null | undefined)[], trusted: readonly string[]): { roots: string[]; changed: boolean } {
  const next = [...roots];
  for (const f of files) {
    const root = f ? rootOf(f, trusted) : undefined;
    if (root && !next.some((r) => isInside(root, r))) next.push(root);
  }
  return { roots: next, changed: next.length !== roots.length };
}
