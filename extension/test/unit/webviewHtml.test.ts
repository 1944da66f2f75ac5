import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, escapeHtml, makeNonce, renderPage } from '../../src/webview/html';
import { galleryBody } from '../../src/webview/galleryHtml';
import { previewBody } from '../../src/webview/previewHtml';

describe('webview HTML', () => {
  it('has a strict CSP: nothing by default, nonce scripts, styles and images only from the webview', () => {
    expect(contentSecurityPolicy('https://csp.src', 'N0NCE')).toBe(
      "default-src 'none'; img-src https://csp.src data:; script-src 'nonce-N0NCE'; style-src https://csp.src",
    );
  });

  it('makes a fresh unguessable nonce each time', () => {
    const a = makeNonce();
    expect(a).toMatch(/^[A-Za-z0-9]{20,}$/);
    expect(makeNonce()).not.toBe(a);
  });

  it('puts the nonce on the one script and escapes attributes', () => {
    const html = renderPage({ title: 'T<', cspSource: 'https://c', nonce: 'abc', styleUris: ['https://c/a.css?x="y"'], scriptUri: 'https://c/p.js', body: '<main></main>' });
    expect(html).toContain('<script nonce="abc" src="https://c/p.js"></script>');
    expect(html).toContain('href="https://c/a.css?x=&quot;y&quot;"');
    expect(html).toContain('<title>T&lt;</title>');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('markup has no inline styles or scripts (the CSP would block them)', () => {
    for (const body of [previewBody(), galleryBody()]) {
      expect(body).not.toMatch(/style=|<script|on[a-z]+=/i);
    }
  });

  it('preview markup has every element of the DOM contract (extension/TESTING.md)', () => {
    const body = previewBody();
    for (const id of ['run-form', 'prompt', 'negative-prompt', 'num-frames', 'steps', 'guidance-scale', 'seed', 'width', 'height', 'backend', 'run-phase1', 'run-phase2', 'cancel-run', 'status', 'step-counter', 'eta', 'preview-grid', 'final-gif', 'output-links', 'error', 'error-message', 'form-fields', 'preset', 'preset-note', 'estimates']) {
      expect(body, id).toContain(`id="${id}"`);
    }
    for (const id of ['compare', 'compare-view', 'runs']) expect(galleryBody(), id).toContain(`id="${id}"`);
  });
});
