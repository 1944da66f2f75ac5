// AnimateDiff Preview webview. Talks to the extension only through postMessage; every value it
// shows is set with textContent/src (never innerHTML), and the extension validates what it sends.
// Element ids are the DOM contract in extension/TESTING.md.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const $ = (id) => document.getElementById(id);

  const els = {
    params: [...document.querySelectorAll('#run-form [data-param]')], // one input per form parameter
    backend: $('backend'),
    preset: $('preset'),
    backendNote: $('backend-note'),
    fields: $('form-fields'),
    presetNote: $('preset-note'),
    estimates: $('estimates'),
    runPhase1: $('run-phase1'),
    runPhase2: $('run-phase2'),
    runPhase3: $('run-phase3'),
    cancel: $('cancel-run'),
    formErrors: $('form-errors'),
    status: $('status'),
    counter: $('step-counter'),
    eta: $('eta'),
    bar: $('run-progress'),
    grid: $('preview-grid'),
    error: $('error'),
    errorMessage: $('error-message'),
    errorActions: $('error-actions'),
    result: $('result'),
    gif: $('final-gif'),
    summary: $('run-summary'),
    scheduleRows: $('schedule-rows'),
    links: $('output-links'),
  };

  let blackhole = { state: 'unknown' };
  let running = false;
  let lastCounter = '';
  let expected = ''; // the estimate said before the current run, shown until the first measured ETA

  // ---------- form ----------

  function numberOf(input) {
    const text = input.value.trim();
    return text === '' ? null : Number(text); // NaN/empty become null in JSON: the extension rejects them
  }

  // Keys are the wire names (data-param); the extension validates the whole form.
  function readForm() {
    const form = { backend: els.backend.value, preset: els.preset.value };
    for (const input of els.params) {
      form[input.dataset.param] = input.dataset.kind === 'str' ? input.value : numberOf(input);
    }
    return form;
  }

  function fillForm(form) {
    for (const input of els.params) input.value = String(form[input.dataset.param]);
    els.backend.value = form.backend;
    els.preset.value = form.preset;
  }

  // A preset brings its own steps and guidance (Lightning's checkpoints work only at their step count).
  function presetChosen() {
    const option = els.preset.selectedOptions[0];
    for (const input of els.params) {
      if (input.dataset.param === 'steps') input.value = option.dataset.steps;
      if (input.dataset.param === 'guidanceScale') input.value = option.dataset.guidanceScale;
    }
  }

  function updateControls() {
    const blackholeOption = els.backend.querySelector('option[value="blackhole"]');
    const unavailable = blackhole.state === 'unavailable';
    blackholeOption.disabled = unavailable;
    if (unavailable && els.backend.value === 'blackhole') els.backend.value = 'cpu';
    if (blackhole.state === 'unavailable') {
      els.backendNote.textContent = 'No Blackhole here (' + blackhole.reason + '). Phase 2 runs its algorithm on CPU with torch instead — the same loop, not the card.';
    } else if (blackhole.state === 'available') {
      els.backendNote.textContent = 'Blackhole found: ' + blackhole.reason;
    } else {
      els.backendNote.textContent = 'Checking for a Blackhole card…';
    }
    const onCpu = els.backend.value === 'cpu';
    els.runPhase2.textContent = onCpu ? 'Run the Phase 2 algorithm on CPU' : 'Run Phase 2 on Blackhole';
    els.runPhase2.dataset.backend = els.backend.value;
    els.runPhase2.title = !onCpu && unavailable ? 'Blackhole not available: ' + blackhole.reason : '';
    els.runPhase1.disabled = running;
    els.runPhase3.disabled = running;
    els.runPhase2.disabled = running || (!onCpu && unavailable);
    els.cancel.disabled = !running;
  }

  function requestRun(phase) {
    els.formErrors.textContent = '';
    vscode.postMessage({ type: 'run', phase: phase, form: readForm() });
  }

  els.runPhase1.addEventListener('click', () => requestRun(1));
  els.runPhase2.addEventListener('click', () => requestRun(2));
  els.runPhase3.addEventListener('click', () => requestRun(3));
  els.cancel.addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
  els.backend.addEventListener('change', updateControls);
  els.preset.addEventListener('change', presetChosen);
  $('run-form').addEventListener('submit', (e) => e.preventDefault());

  // Tell the extension about edits (debounced) so palette runs use what the form shows.
  let changeTimer;
  function formChanged() {
    clearTimeout(changeTimer);
    changeTimer = setTimeout(() => vscode.postMessage({ type: 'formChanged', form: readForm() }), 250);
  }
  $('run-form').addEventListener('input', formChanged);
  $('run-form').addEventListener('change', formChanged);

  // How long each run the form can start would take here (the extension asks studio/estimate).
  function showEstimates(lines) {
    els.estimates.replaceChildren();
    for (const line of lines) {
      const li = document.createElement('li');
      li.dataset.phase = String(line.phase);
      if (line.preset) li.dataset.preset = line.preset;
      li.dataset.basis = line.basis;
      li.dataset.guess = String(line.guess);
      li.title = line.detail;
      const label = document.createElement('span');
      label.className = 'estimate-label';
      label.textContent = line.label + ': ';
      li.append(label, document.createTextNode(line.text));
      els.estimates.appendChild(li);
    }
  }

  // ---------- run display ----------

  function setStatus(state, message) {
    els.status.dataset.state = state;
    els.status.textContent = message ? state + ' — ' + message : state;
    if (state !== 'running') {
      running = false;
      updateControls();
    }
  }

  function frameImage(index) {
    while (els.grid.children.length <= index) {
      const img = document.createElement('img');
      img.className = 'preview-frame pending';
      img.alt = 'frame ' + (els.grid.children.length + 1);
      els.grid.appendChild(img);
    }
    return els.grid.children[index];
  }

  function setFrame(index, base64, step, done) {
    const img = frameImage(index);
    img.src = 'data:image/png;base64,' + base64;
    img.dataset.step = String(step);
    img.classList.remove('pending');
    img.classList.toggle('done', !!done);
  }

  function clearRun(totalFrames) {
    lastCounter = '';
    els.grid.replaceChildren();
    for (let i = 0; i < totalFrames; i++) frameImage(i);
    els.grid.dataset.frames = String(totalFrames);
    els.counter.textContent = '';
    els.eta.textContent = '';
    els.bar.value = 0;
    els.error.hidden = true;
    els.errorMessage.textContent = '';
    els.errorActions.replaceChildren();
    els.result.hidden = true;
    els.gif.removeAttribute('src');
    els.gif.removeAttribute('data-path');
    els.links.replaceChildren();
    els.summary.textContent = '';
  }

  // The run's prompt schedule, one row per entry: which frames took which prompt (from the run record).
  function showScheduleRows(rows) {
    els.scheduleRows.replaceChildren();
    for (const row of rows) {
      const li = document.createElement('li');
      li.dataset.from = String(row.fromFrame);
      li.dataset.to = String(row.toFrame);
      li.textContent = `frames ${row.fromFrame}\u2013${row.toFrame}: ${row.prompt}`;
      els.scheduleRows.append(li);
    }
    els.scheduleRows.hidden = rows.length === 0;
  }

  function showLinks(links) {
    els.links.replaceChildren();
    for (const link of links) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '#';
      a.dataset.path = link.path;
      a.textContent = link.label;
      a.title = link.path;
      a.addEventListener('click', (e) => {
        e.preventDefault();
        vscode.postMessage({ type: 'openFile', path: link.path });
      });
      const where = document.createElement('span');
      where.className = 'path';
      where.textContent = ' ' + link.path;
      li.append(a, where);
      els.links.appendChild(li);
    }
  }

  function showError(message, actions) {
    els.error.hidden = false;
    els.errorMessage.textContent = message;
    els.errorActions.replaceChildren();
    actions.forEach((action, index) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'error-action secondary';
      b.textContent = action.title;
      b.addEventListener('click', () => vscode.postMessage({ type: 'errorAction', index: index }));
      els.errorActions.appendChild(b);
    });
  }

  const handlers = {
    init(m) {
      fillForm(m.form);
      blackhole = m.blackhole;
      running = m.running;
      els.presetNote.textContent = m.presetNote || '';
      els.presetNote.hidden = !m.presetNote;
      els.fields.disabled = false; // editable once the form holds what the extension remembers
      updateControls();
    },
    estimates(m) {
      showEstimates(m.lines);
    },
    environment(m) {
      blackhole = m.blackhole;
      updateControls();
    },
    runStarted(m) {
      running = true;
      clearRun(m.totalFrames);
      expected = m.estimate ? 'expected: ' + m.estimate : '';
      els.eta.textContent = expected;
      els.status.dataset.phase = String(m.phase);
      updateControls();
    },
    status(m) {
      setStatus(m.state, m.message);
    },
    progress(m) {
      // The counter keeps the last denoising step; other stages (loading, decoding…) are appended.
      if (m.stage === 'denoising') lastCounter = m.counter;
      els.counter.textContent = m.stage === 'denoising' ? m.counter : (lastCounter ? lastCounter + ' · ' : '') + m.stage + '…';
      els.eta.textContent = m.stage === 'denoising' && m.etaKnown ? m.eta : expected;
      els.bar.value = m.fraction;
    },
    preview(m) {
      // Phase 1 denoises all frames together: one image per frame. Phase 2 denoises one frame at a
      // time and sends only that one (finished frames came with frameDone).
      if (m.frame !== null) {
        if (m.frames.length) setFrame(m.frame, m.frames[0], m.step, false);
        return;
      }
      m.frames.forEach((b64, i) => setFrame(i, b64, m.step, false));
    },
    frameDone(m) {
      setFrame(m.frame, m.png, m.step, true);
    },
    completed(m) {
      els.result.hidden = false;
      if (m.gifUri) {
        els.gif.src = m.gifUri;
        els.gif.dataset.path = m.gifPath;
      }
      els.summary.textContent = m.summary;
      showScheduleRows(m.scheduleRows || []);
      showLinks(m.links);
      els.bar.value = 1;
      els.counter.textContent = lastCounter;
      els.eta.textContent = '';
    },
    cancelled(m) {
      els.counter.textContent = m.message;
      els.eta.textContent = '';
    },
    error(m) {
      showError(m.message, m.actions);
    },
    formErrors(m) {
      els.formErrors.textContent = m.errors.join(' · ');
    },
  };

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || typeof m.type !== 'string' || !Object.prototype.hasOwnProperty.call(handlers, m.type)) return;
    handlers[m.type](m);
  });

  updateControls();
  vscode.postMessage({ type: 'ready' });
})();
