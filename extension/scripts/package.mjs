// Packages the .vsix from a small staging folder instead of the repository root: vsce globs every
// file under its working folder before applying .vscodeignore, and the root also holds .venv/,
// .tools/ and .cache/ (GBs). The stage gets only the top-level entries that can be packed; the
// root .vscodeignore, copied along, still decides file by file.
//   node extension/scripts/package.mjs        -> dist/animatediff-lesson-studio.vsix
//   node extension/scripts/package.mjs --ls   -> print what would be packed
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const stage = path.join(root, 'dist', 'vsix-stage');
const out = path.join(root, 'dist', 'animatediff-lesson-studio.vsix');
const listOnly = process.argv.includes('--ls');

// Folders that are never packed; skipping them keeps the copy small (.vscodeignore excludes them too).
const SKIP = (name) => name === '__pycache__' || name === 'output' || name.endsWith('.egg-info') || name === '.pytest_cache';

function copyTree(from, to) {
  if (!fs.existsSync(from)) return;
  if (fs.statSync(from).isFile()) {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    return;
  }
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (SKIP(entry.name)) continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst);
    else if (entry.isFile()) copyTree(src, dst);
  }
}

fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
for (const entry of ['.vscodeignore', 'out', 'media', 'lessons', 'python']) copyTree(path.join(root, entry), path.join(stage, entry));
copyTree(path.join(root, 'extension', 'README.md'), path.join(stage, 'README.md'));
// No scripts in the staged manifest: vsce would run vscode:prepublish (the build) again, in the stage.
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
delete manifest.scripts;
delete manifest.devDependencies;
fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');

const vsce = path.join(root, 'node_modules', '.bin', 'vsce');
const common = ['--no-dependencies'];
if (listOnly) {
  process.stdout.write(execFileSync(vsce, ['ls', ...common], { cwd: stage, encoding: 'utf8' }));
} else {
  execFileSync(vsce, ['package', ...common, '--skip-license', '--allow-missing-repository', '--out', out], { cwd: stage, stdio: 'inherit' });
  console.log(out);
}
