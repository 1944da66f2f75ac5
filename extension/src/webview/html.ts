// The HTML shell of every webview: strict CSP with a per-load nonce, no inline styles or scripts
// other than the nonce'd script file. Pure, so the policy is unit-tested.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, '');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
  ].join('; ');
}

export interface PageParts {
  title: string;
  cspSource: string;
  nonce: string;
  styleUris: string[];
  scriptUri: string;
  body: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderPage(p: PageParts): string {
  const styles = p.styleUris.map((u) => `<link rel="stylesheet" href="${escapeHtml(u)}">`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(p.cspSource, p.nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    ${styles}
    <title>${escapeHtml(p.title)}</title>
  </head>
  <body>
${p.body}
    <script nonce="${p.nonce}" src="${escapeHtml(p.scriptUri)}"></script>
  </body>
</html>`;
}
