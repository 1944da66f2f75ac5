// Expands the path settings users write: "~" and "${workspaceFolder}". Pure.
import * as path from 'node:path';

export interface PathContext {
  home: string;
  workspaceFolder?: string;
}

export function expandPath(value: string, ctx: PathContext): string {
  let p = value.trim();
  if (p === '~') p = ctx.home;
  else if (p.startsWith('~/') || p.startsWith('~\\')) p = path.join(ctx.home, p.slice(2));
  if (p.includes('${workspaceFolder}')) {
    if (!ctx.workspaceFolder) throw new Error(`"${value}" uses \${workspaceFolder} but no folder is open.`);
    p = p.split('${workspaceFolder}').join(ctx.workspaceFolder);
  }
  p = p.split('${userHome}').join(ctx.home);
  return p;
}
