// AnimateDiff Outputs webview: run cards with thumbnails, parameters and timings; pick two to
// compare side by side. DOM contract in extension/TESTING.md. textContent only, never innerHTML.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const $ = (id) => document.getElementById(id);
  const runsEl = $('runs');
  const compareBtn = $('compare');
  const compareView = $('compare-view');
  const statusEl = $('gallery-status');
  const skippedEl = $('skipped');

  let runs = [];
  let picks = []; // run ids, oldest first, at most two

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fileLink(label, path) {
    const a = el('a', 'file-link', label);
    a.href = '#';
    a.title = path;
    a.dataset.path = path;
    a.addEventListener('click', (e) => {
      e.preventDefault();
      vscode.postMessage({ type: 'openFile', path: path });
    });
    return a;
  }

  function table(rows, className) {
    const dl = el('dl', className);
    for (const row of rows) {
      dl.append(el('dt', '', row.label), el('dd', '', row.value));
    }
    return dl;
  }

  function thumb(run, className) {
    if (!run.thumbUri) return el('div', className + ' missing', 'no GIF');
    const img = el('img', className);
    img.src = run.thumbUri;
    img.alt = run.prompt;
    return img;
  }

  function card(run) {
    const c = el('article', 'run-card');
    c.dataset.runId = run.runId;
    c.dataset.phase = String(run.phase);
    const pick = el('input', 'compare-pick');
    pick.type = 'checkbox';
    pick.value = run.runId;
    pick.checked = picks.includes(run.runId);
    pick.addEventListener('change', () => togglePick(run.runId, pick.checked));
    const pickLabel = el('label', 'pick');
    pickLabel.append(pick, document.createTextNode(' compare'));
    const links = el('p', 'links');
    if (run.gifPath) links.append(fileLink('GIF', run.gifPath), document.createTextNode(' · '));
    links.append(fileLink('metadata', run.metadataPath));
    c.append(
      thumb(run, 'thumb'),
      el('h3', 'phase', run.phaseLabel),
      el('p', 'prompt', run.prompt),
      table(run.params, 'params'),
      table(run.timings, 'timings'),
      el('p', 'meta', run.created + ' · ' + run.device),
      links,
      pickLabel,
    );
    return c;
  }

  function togglePick(runId, on) {
    picks = picks.filter((id) => id !== runId);
    if (on) picks.push(runId);
    if (picks.length > 2) picks = picks.slice(-2); // a third pick replaces the oldest
    for (const box of document.querySelectorAll('.compare-pick')) box.checked = picks.includes(box.value);
    compareBtn.disabled = picks.length !== 2;
  }

  function render() {
    runsEl.replaceChildren();
    picks = picks.filter((id) => runs.some((r) => r.runId === id));
    compareBtn.disabled = picks.length !== 2;
    if (runs.length === 0) {
      runsEl.append(el('p', 'empty', 'No runs yet. Run Phase 1 or Phase 2 and they appear here.'));
      return;
    }
    for (const run of runs) runsEl.append(card(run));
  }

  /** JSON files in the output folder that are not runs, each with the reason (studio/runs' `skipped`). */
  function renderSkipped(skipped) {
    const list = $('skipped-files');
    list.replaceChildren();
    for (const s of skipped) {
      const item = el('li', '', s.file + ': ' + s.reason);
      item.dataset.file = s.file;
      list.append(item);
    }
    $('skipped-summary').textContent = skipped.length + ' file' + (skipped.length === 1 ? '' : 's') + ' in the output folder not listed (why)';
    skippedEl.hidden = skipped.length === 0;
  }

  function compare() {
    const chosen = picks.map((id) => runs.find((r) => r.runId === id)).filter(Boolean);
    if (chosen.length !== 2) return;
    compareView.replaceChildren();
    const close = el('button', 'secondary', 'Close comparison');
    close.type = 'button';
    close.id = 'compare-close';
    close.addEventListener('click', () => {
      compareView.hidden = true;
    });
    const cols = el('div', 'compare-columns');
    // Parameters that differ are marked, so "what changed" is visible at a glance.
    const labels = new Set(chosen.flatMap((r) => r.params.map((p) => p.label)));
    const valueOf = (run, label) => (run.params.find((p) => p.label === label) || { value: '—' }).value;
    for (const run of chosen) {
      const col = el('section', 'compare-column');
      col.dataset.runId = run.runId;
      const rows = el('dl', 'params');
      for (const label of labels) {
        const differs = valueOf(chosen[0], label) !== valueOf(chosen[1], label);
        rows.append(el('dt', differs ? 'differs' : '', label), el('dd', differs ? 'differs' : '', valueOf(run, label)));
      }
      col.append(thumb(run, 'compare-gif'), el('h3', 'phase', run.phaseLabel), el('p', 'prompt', run.prompt), rows, table(run.timings, 'timings'));
      if (run.coherence && run.coherence.length) col.append(el('h4', '', 'Temporal coherence'), table(run.coherence, 'coherence'));
      cols.append(col);
    }
    compareView.append(close, cols);
    compareView.hidden = false;
  }

  compareBtn.addEventListener('click', compare);
  $('refresh').addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || typeof m.type !== 'string') return;
    if (m.type === 'loading') statusEl.textContent = 'Loading…';
    else if (m.type === 'error') statusEl.textContent = m.message;
    else if (m.type === 'runs') {
      runs = m.runs;
      statusEl.textContent = runs.length + ' run' + (runs.length === 1 ? '' : 's');
      render();
      renderSkipped(m.skipped || []);
    }
  });

  vscode.postMessage({ type: 'ready' });
})();
