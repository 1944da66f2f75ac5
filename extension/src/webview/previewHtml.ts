// Static markup of the preview panel. Element ids are the DOM contract in extension/TESTING.md;
// all dynamic content arrives by postMessage and is set with textContent/src, never innerHTML.
import { FORM_PARAMS, PRESETS_FOR_FORM, type FormSpec } from '../params';

export const PREVIEW_TITLE = 'AnimateDiff Preview';

/** The input's DOM id: the wire name in kebab case (numFrames -> num-frames). */
export const inputId = (wire: string) => wire.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

// Each input carries its wire name (data-param) and kind, so media/preview.js reads the form generically.
function input(p: FormSpec): string {
  const id = inputId(p.wire);
  const attrs = `id="${id}" name="${id}" data-param="${p.wire}" data-kind="${p.kind}"`;
  if (p.kind === 'str') {
    const control = p.required
      ? `<textarea ${attrs} rows="2" maxlength="${p.maxLength}" required></textarea>`
      : `<input ${attrs} type="text" maxlength="${p.maxLength}">`;
    return `<label class="field wide" for="${id}">${p.label}${control}</label>`;
  }
  const step = 'multipleOf' in p ? p.multipleOf : p.kind === 'int' ? 1 : 'any';
  return `<label class="field" for="${id}">${p.label}<input ${attrs} type="number" min="${p.minimum}" max="${p.maximum}" step="${step}" required></label>`;
}

export function previewBody(): string {
  return `
  <main>
    <form id="run-form" autocomplete="off">
      <fieldset id="form-fields" disabled>
      ${FORM_PARAMS.filter((p) => p.kind === 'str').map(input).join('\n      ')}
      <div class="row">
        ${FORM_PARAMS.filter((p) => p.kind !== 'str').map(input).join('\n        ')}
      </div>
      <label class="field wide" for="preset">Phase 1 preset
        <select id="preset" name="preset">
          ${PRESETS_FOR_FORM.map((p) => `<option value="${p.name}" data-steps="${p.steps}" data-guidance-scale="${p.guidanceScale}">${p.title}</option>`).join('\n          ')}
        </select>
      </label>
      <p id="preset-note" class="note" hidden></p>
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
        <button type="button" id="run-phase3">Run Phase 3</button>
        <button type="button" id="cancel-run" class="secondary" disabled>Cancel</button>
      </div>
      <ul id="estimates" class="note" aria-live="polite"></ul>
      <p id="form-errors" class="errors" role="alert"></p>
      </fieldset>
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
        <ol id="schedule-rows" hidden></ol>
        <ul id="output-links"></ul>
      </div>
    </section>
  </main>`;
}
