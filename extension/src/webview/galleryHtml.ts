// Static markup of the outputs gallery; run cards are built by media/gallery.js from postMessage data.
export const GALLERY_TITLE = 'AnimateDiff Outputs';

export function galleryBody(): string {
  return `
  <main>
    <header class="toolbar">
      <button type="button" id="refresh" class="secondary">Refresh</button>
      <button type="button" id="compare" disabled>Compare selected (pick two)</button>
      <span id="gallery-status"></span>
    </header>
    <details id="skipped" hidden><summary id="skipped-summary"></summary><ul id="skipped-files"></ul></details>
    <section id="compare-view" hidden></section>
    <section id="runs"></section>
  </main>`;
}
