// File-system side of deploy: which bundle files count, hashing, the manifest on disk.
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE, backupName, readManifestText, type DeployManifest, type FileHashes, type ManifestRead } from './manifest';

/** Build products and run outputs never count as deployable files. */
export function isExcluded(rel: string): boolean {
  const parts = rel.split('/');
  if (parts[0] === 'output') return true; // run outputs at the package root
  if (parts.some((p) => p === '__pycache__' || p.endsWith('.egg-info') || p === '.pytest_cache' || p === '.DS_Store')) return true;
  const name = parts[parts.length - 1];
  return name.endsWith('.pyc') || name.endsWith('.bak') || name === MANIFEST_FILE;
}

/** Relative POSIX paths of every deployable file under root, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (isExcluded(rel)) continue;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), rel);
      else if (entry.isFile()) out.push(rel);
    }
  }
  await walk(root, '');
  return out.sort();
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Hashes of those `rels` that exist as files under root (missing ones are left out). */
export async function hashExisting(root: string, rels: Iterable<string>): Promise<FileHashes> {
  const hashes: FileHashes = {};
  for (const rel of rels) {
    const file = path.join(root, ...rel.split('/'));
    try {
      if ((await fs.stat(file)).isFile()) hashes[rel] = await sha256File(file);
    } catch {
      // not there
    }
  }
  return hashes;
}

/**
 * The scratchpad's manifest, or why it is refused: a path that leaves the scratchpad as written
 * (manifest.ts) or through a link to a folder outside it. No manifest (or an unreadable one) is `{}`.
 */
export async function readManifest(targetDir: string): Promise<ManifestRead> {
  let text: string;
  try {
    text = await fs.readFile(path.join(targetDir, MANIFEST_FILE), 'utf8');
  } catch {
    return {};
  }
  const read = readManifestText(text);
  if (!read.manifest) return read;
  const root = await fs.realpath(targetDir);
  for (const rel of Object.keys(read.manifest.files)) {
    let folder: string;
    try {
      folder = await fs.realpath(path.join(targetDir, ...rel.split('/').slice(0, -1)));
    } catch {
      continue; // not there: nothing to read or remove
    }
    if (folder !== root && !folder.startsWith(root + path.sep)) {
      return { refused: `it names ${JSON.stringify(rel)}, whose folder is a link to ${folder}, outside the scratchpad` };
    }
  }
  return read;
}

export async function writeManifest(targetDir: string, manifest: DeployManifest): Promise<void> {
  await writeInside(targetDir, MANIFEST_FILE, async (tmp) => fs.writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n', { encoding: 'utf8', flag: 'wx' }));
}

/** Copies one file, creating folders; keeps the file mode (examples may be executable). */
export async function copyRel(fromRoot: string, toRoot: string, rel: string): Promise<void> {
  const src = path.join(fromRoot, ...rel.split('/'));
  await writeInside(toRoot, rel, (tmp) => fs.copyFile(src, tmp, fsConstants.COPYFILE_EXCL));
}

/**
 * Copies the user's version of `rel` to a new `<rel>.<time>.bak` (`-2`, `-3`… when that name is
 * taken: two deploys in one second must not overwrite the first backup). Returns its rel path.
 */
export async function backupRel(root: string, rel: string, when: Date): Promise<string> {
  const parts = rel.split('/');
  await folderInside(root, parts.slice(0, -1));
  const src = path.join(root, ...parts);
  for (let n = 1; ; n++) {
    const backup = backupName(rel, when, n);
    try {
      // EXCL: never replaces an older backup, and never writes through a link planted at the name
      await fs.copyFile(src, path.join(root, ...backup.split('/')), fsConstants.COPYFILE_EXCL);
      return backup;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Writes `rel` under root by filling a new temp file beside it and renaming it into place: a
 * symlink at `rel` is replaced, never written through, so nothing outside the scratchpad changes.
 */
async function writeInside(root: string, rel: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const parts = rel.split('/');
  const dir = await folderInside(root, parts.slice(0, -1));
  const tmp = path.join(dir, `.${parts[parts.length - 1]}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fill(tmp);
    await fs.rename(tmp, path.join(dir, parts[parts.length - 1]));
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * `mkdir -p` that says why it failed. Node's recursive mkdir answers ENOENT for the first missing
 * folder when the real reason is a read-only mount or a permission: then the folders are made one
 * at a time, and the first that fails gives its own error (EROFS, EACCES, ENOTDIR, ENOSPC).
 */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const missing: string[] = [];
  for (let folder = path.resolve(dir); ; folder = path.dirname(folder)) {
    try {
      await fs.lstat(folder);
      break;
    } catch {
      missing.unshift(folder);
      if (path.dirname(folder) === folder) break;
    }
  }
  for (const folder of missing) {
    try {
      await fs.mkdir(folder);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST') continue;
      const why = e.code === 'EROFS' ? `${path.dirname(folder)} is on a read-only file system` : e.message;
      throw Object.assign(new Error(`Cannot create ${folder}: ${why} (${e.code}). Choose a folder on a writable disk.`), { code: e.code, path: folder });
    }
  }
}

/** root/<parts…>, made folder by folder; refuses a part that is a link or a file, since a linked
 *  folder would take the write outside the scratchpad. */
async function folderInside(root: string, parts: string[]): Promise<string> {
  await makeFolder(root);
  let dir = root;
  for (const part of parts) {
    dir = path.join(dir, part);
    let stat;
    try {
      stat = await fs.lstat(dir);
    } catch {
      await fs.mkdir(dir);
      continue;
    }
    if (stat.isSymbolicLink() || !stat.isDirectory()) {
      throw new Error(`Deploy writes only inside ${root}, but ${dir} is ${stat.isSymbolicLink() ? 'a link' : 'not a folder'}. Move it away and deploy again.`);
    }
  }
  return dir;
}
