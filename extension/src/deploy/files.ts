// File-system side of deploy: which bundle files count, hashing, the manifest on disk.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE, parseManifest, type DeployManifest, type FileHashes } from './manifest';

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

export async function readManifest(targetDir: string): Promise<DeployManifest | undefined> {
  try {
    return parseManifest(await fs.readFile(path.join(targetDir, MANIFEST_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

export async function writeManifest(targetDir: string, manifest: DeployManifest): Promise<void> {
  await fs.writeFile(path.join(targetDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', 'utf8');
}

/** Copies one file, creating folders; keeps the file mode (examples may be executable). */
export async function copyRel(fromRoot: string, toRoot: string, rel: string): Promise<void> {
  const src = path.join(fromRoot, ...rel.split('/'));
  const dst = path.join(toRoot, ...rel.split('/'));
  await fs.mkdir(path.dirname(dst), { recursive: true });
  await fs.copyFile(src, dst);
}
