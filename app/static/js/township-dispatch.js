// The dispatch form (派单): search the county's work-item list as you type and pick an item; show or hide
// the off-list reason; offer an assignee only when one village is ticked, and only that village's people.
// Without this module the form still works: "Search" and each result are submit buttons the server answers,
// and the code can be typed. Texts come from the page (data-* attributes), already translated.

const form = document.getElementById('dispatch-form');

if (form) {
  const api = form.dataset.api;
  const q = document.getElementById('item-q');
  const searchButton = document.getElementById('item-search-button');
  const results = document.getElementById('item-results');
  const status = document.getElementById('item-search-status');
  const code = document.getElementById('item-code');
  const card = document.getElementById('item-card');
  const department = document.getElementById('support-department');
  const reason = document.getElementById('offlist-reason');
  const listPanel = document.getElementById('mode-list-panel');
  const offlistPanel = document.getElementById('mode-offlist-panel');
  const serverUnknown = document.getElementById('item-unknown');
  const assignee = document.getElementById('assignee');
  const villages = [...form.querySelectorAll('input[name="villages"]')];

  // The department the form filled in from an item: replaced when another item is picked, never what a person typed.
  let autoDepartment = card && !card.hidden ? (card.querySelector('[data-k="department"]').textContent.trim()) : '';
  if (department && department.value && department.value !== autoDepartment) autoDepartment = null;
  department?.addEventListener('input', () => { autoDepartment = null; });

  const hours = (value, template) => template.replace('{hours}', String(Number(value)));

  async function fetchItems(query, all = false) {
    const url = new URL(api, window.location.origin);
    url.searchParams.set('q', query);
    url.searchParams.set('limit', '20');
    if (all) url.searchParams.set('status', 'all');
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`work-items ${response.status}`);
    return (await response.json()).items || [];
  }

  function showCard(item) {
    if (!card) return;
    if (!item) {
      card.hidden = true;
      return;
    }
    const set = (key, text) => { card.querySelector(`[data-k="${key}"]`).textContent = text; };
    set('code', item.code);
    set('name', item.name);
    set('basis', item.basis || '—');
    set('department', item.department || '—');
    set('effort', item.effort_hours == null ? '—' : hours(item.effort_hours, card.dataset.effort));
    const closed = item.status !== 'active';
    card.classList.toggle('tw-item-closed', closed);
    card.querySelector('[data-k="status"]').hidden = !closed;
    card.querySelector('[data-k="closed"]').hidden = !closed;
    if (closed) set('status', card.dataset[item.status] || item.status);
    card.hidden = false;
    if (department && (autoDepartment !== null || !department.value)) {
      department.value = item.department || '';
      autoDepartment = department.value;
    }
  }

  function pick(item) {
    code.value = item.code;
    if (serverUnknown) serverUnknown.hidden = true;
    code.setCustomValidity('');
    showCard(item);
    results.hidden = true;
    status.textContent = '';
    code.focus();
  }

  function render(items) {
    results.replaceChildren();
    for (const item of items) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'tw-pick';
      button.dataset.code = item.code;
      const c = document.createElement('code');
      c.textContent = item.code;
      const name = document.createElement('strong');
      name.textContent = item.name;
      const hint = document.createElement('span');
      hint.className = 'hint';
      hint.textContent = (item.department || '—')
        + (item.effort_hours == null ? '' : ` · ${hours(item.effort_hours, results.dataset.hours)}`);
      button.append(c, ' ', name, ' ', hint);
      button.addEventListener('click', () => pick(item));
      li.append(button);
      results.append(li);
    }
    results.hidden = items.length === 0;
    status.textContent = items.length ? results.dataset.found : results.dataset.none;
  }

  let timer = null;
  let asked = 0;
  async function search() {
    const query = q.value.trim();
    const mine = ++asked;
    if (!query) {
      results.hidden = true;
      status.textContent = '';
      return;
    }
    try {
      const items = await fetchItems(query);
      if (mine === asked) render(items);
    } catch {
      if (mine === asked) status.textContent = results.dataset.failed;
    }
  }

  if (q && results) {
    q.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    q.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        clearTimeout(timer);
        search();
      } else if (event.key === 'ArrowDown' && !results.hidden) {
        event.preventDefault();
        results.querySelector('button')?.focus();
      }
    });
    results.addEventListener('keydown', (event) => {
      const buttons = [...results.querySelectorAll('button')];
      const at = buttons.indexOf(document.activeElement);
      if (event.key === 'ArrowDown' && at < buttons.length - 1) { event.preventDefault(); buttons[at + 1].focus(); }
      if (event.key === 'ArrowUp') { event.preventDefault(); (at > 0 ? buttons[at - 1] : q).focus(); }
      if (event.key === 'Escape') { results.hidden = true; q.focus(); }
    });
    // The server-rendered results (no-JS search) pick in place too.
    for (const button of results.querySelectorAll('button[name="pick"]')) {
      button.addEventListener('click', (event) => {
        event.preventDefault();
        fetchItems(button.dataset.code, true).then((items) => {
          const item = items.find((i) => i.code === button.dataset.code);
          if (item) pick(item);
        }).catch(() => form.requestSubmit(button));
      });
    }
  }

  // Enter in another field must not trigger the list search (the form's first button): send nothing, stay.
  form.addEventListener('submit', (event) => {
    if (event.submitter === searchButton) {
      event.preventDefault();
      clearTimeout(timer);
      search();
      q.focus();
    }
  });

  // A typed code: look it up when the person leaves the field.
  if (code) {
    code.addEventListener('change', async () => {
      const typed = code.value.trim();
      if (serverUnknown) serverUnknown.hidden = true;
      if (!typed) { showCard(null); code.setCustomValidity(''); return; }
      try {
        const items = await fetchItems(typed, true);
        const item = items.find((i) => i.code.toUpperCase() === typed.toUpperCase());
        if (item) {
          code.value = item.code;
          showCard(item);
          code.setCustomValidity('');
        } else {
          showCard(null);
          code.setCustomValidity(code.dataset.unknown);
          code.reportValidity();
        }
      } catch {
        code.setCustomValidity('');  // the server checks it anyway
      }
    });
  }

  // On the list, or off it with a reason.
  const modes = [...form.querySelectorAll('input[name="mode"]')];
  function applyMode() {
    const offlist = modes.find((m) => m.checked)?.value === 'offlist';
    if (listPanel) listPanel.hidden = offlist;
    if (offlistPanel) offlistPanel.hidden = !offlist;
    if (reason) reason.required = offlist;
    if (code) {
      code.required = !offlist;
      if (offlist) code.setCustomValidity('');
    }
  }
  for (const m of modes) m.addEventListener('change', applyMode);
  applyMode();

  // The assignee: only for a single village, and the list holds only its people. The page carries everyone
  // (data-village on each option); the others are taken out of the list, not hidden, which some phones ignore.
  const people = assignee ? [...assignee.querySelectorAll('option[data-village]')] : [];
  const villageDecides = assignee?.querySelector('option[value=""]');
  function applyVillages() {
    if (!assignee || villages.length === 0) return;
    const ticked = villages.filter((v) => v.checked).map((v) => v.value);
    const single = ticked.length === 1 ? ticked[0] : null;
    const wanted = assignee.value;
    const offered = people.filter((option) => option.dataset.village === single);
    assignee.replaceChildren(...[villageDecides, ...offered].filter(Boolean));
    assignee.value = offered.some((option) => option.value === wanted) ? wanted : '';
    assignee.disabled = !single;
  }
  for (const v of villages) v.addEventListener('change', applyVillages);
  applyVillages();
}
