// Static markup of the preview panel. Element ids are the DOM contract in extension/TESTING.md;
// all dynamic content arrives by postMessage and is set with textContent/src, never innerHTML.
import { LIMITS } from '../params';

export const PREVIEW_TITLE = 'AnimateDiff Preview';

const num = (id: string, label: string, attrs: string) =>
  `<label class="field" for="${id}">${label}<input id="${id}" name="${id}" type="number" ${attrs} required></label>`;

export function previewBody(): string {
  return `
  <main>
    <form id="run-form" autocomplete="off">
      <label class="field wide" for="prompt">Prompt<textarea id="prompt" name="prompt" rows="2" required></textarea></label>
      <label class="field wide" for="negative-prompt">Negative prompt<input id="negative-prompt" name="negative-prompt" type="text"></label>
      <div class="row">
        ${num('frames', 'Frames', `min="${LIMITS.frames.min}" max="${LIMITS.frames.max}" step="1"`)}
        ${num('steps', 'Steps', `min="${LIMITS.steps.min}" max="${LIMITS.steps.max}" step="1"`)}
        ${num('guidance', 'Guidance', `min="${LIMITS.guidance.min}" max="${LIMITS.guidance.max}" step="0.5"`)}
        ${num('seed', 'Seed', `min="0" step="1"`)}
        ${num('width', 'Width', `min="${LIMITS.width.min}" max="${LIMITS.width.max}" step="8"`)}
        ${num('height', 'Height', `min="${LIMITS.height.min}" max="${LIMITS.height.max}" step="8"`)}
      </div>
      <label class="field wide" for="backend">Phase 2 backend
        <select id="backend" name="backend">
          <option value="blackhole">Tenstorrent Blackhole (TTNN)</option>
          <option value="cpu">The Phase 2 algorithm on CPU (torch, no Blackhole)</option>
        </select>
      </label>
      <p id="backend-note" class="note"></p>
      <div class="buttons">
        <button type="button" id="run-phase1">Run Phase 1</button>
        <button type="button" id="run-phase2">Run Phase 2 on Blackhole</button>
        <button type="button" id="cancel-run" class="secondary" disabled>Cancel</button>
      </div>
      <p id="form-errors" class="errors" role="alert"></p>
    </form>

    <section id="run" aria-live="polite">
      <p id="status" data-state="idle">idle</p>
      <p class="counters"><span id="step-counter"></span> <span id="eta"></span></p>
      <progress id="run-progress" max="1" value="0"></progress>
      <div id="preview-grid"></div>
      <div id="error" hidden>
        <p id="error-message"></p>
        <div id="error-actions"></div>
      </div>
      <div id="result" hidden>
        <img id="final-gif" alt="The finished animation">
        <p id="run-summary"></p>
        <ul id="output-links"></ul>
      </div>
    </section>
  </main>`;
}
