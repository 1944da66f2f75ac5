// The services every command shares, built once in activate().
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from './config';
import { EnvironmentCache } from './environmentCache';
import { resolveInterpreter, type ResolvedInterpreter } from './interpreter';
import type { Log } from './log';
import { interpreterFromPythonExtension } from './pythonExtension';
import type { SidecarClient } from './sidecar/client';
import { sidecarPaths } from './sidecar/launch';
import type { WalkthroughProgress } from './walkthrough';

export interface Studio {
  context: vscode.ExtensionContext;
  extensionId: string;
  extensionRoot: string;
  log: Log;
  client: SidecarClient;
  environment: EnvironmentCache;
  walkthrough: WalkthroughProgress;
}

export function resolveStudioInterpreter(): Promise<ResolvedInterpreter> {
  const config = readConfig();
  return resolveInterpreter({
    setting: config.pythonPath,
    msPython: () => interpreterFromPythonExtension(vscode.workspace.workspaceFolders?.[0]?.uri),
  });
}

/** Folders run outputs can be in: <pipeline source>/output for the scratchpad and the bundle. */
export function outputRoots(studio: Studio): string[] {
  const roots = [path.join(readConfig().scratchpadPath, 'output'), path.join(sidecarPaths(studio.extensionRoot).bundleDir, 'output')];
  const source = studio.client.handshake?.pipelineSource.path;
  if (source) roots.push(path.join(source, 'output'));
  return [...new Set(roots.map((r) => path.resolve(r)))];
}
