// Reads the active interpreter from the ms-python.python extension's environments API, if installed.
import * as vscode from 'vscode';

interface PythonEnvironmentsApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(env: { path: string } | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

const PYTHON_EXTENSION_ID = 'ms-python.python';

export async function interpreterFromPythonExtension(resource?: vscode.Uri): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonEnvironmentsApi>(PYTHON_EXTENSION_ID);
  if (!ext) return undefined;
  // Activation can stall (e.g. while it discovers environments): give up after 10 s.
  const api = await Promise.race([
    ext.isActive ? Promise.resolve(ext.exports) : ext.activate(),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
  ]);
  const envs = api?.environments;
  if (!envs) return undefined;
  const active = envs.getActiveEnvironmentPath(resource);
  const resolved = await envs.resolveEnvironment(active);
  return resolved?.executable.uri?.fsPath ?? active.path;
}
