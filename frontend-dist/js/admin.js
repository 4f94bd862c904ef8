// The operator's console (admin role): dashboard; events as drafts until published, with their
// ticket types and waiting room in the form; reservations searchable, each openable as an order;
// per-event queue control in plain words with a message to the waiting fans; and the statistics
// service's views as charts and tables. Every error is shown from its code, in the page's language.
import { api, session } from './api.js';
import { t, won, when, toInputDate, errText } from './i18n.js';
import { h, go, route, notice, chip, every, onLeave } from './ui.js';

function guard(main) {
  if (!session.token) { go(`/login?next=${encodeURIComponent(route().raw)}`, true); return false; }
  if (!session.isAdmin) { main.replaceChildren(notice('error', t('forbidden'))); return false; }
  return true;
}

/** Words for a failed call, from its code: the server's English sentence is never shown. */
export function errWords(e) {
  if (!(e instanceof Error)) return String(e ?? '');
  if (e.code === 'network') return errText(e);
  const key = `c_err_${e.code}`;
  const known = t(key);
  if (known !== key) return known;
  return t('c_err_unknown', { code: e.code || e.status });
}
const fail = (e) => notice('error', errWords(e));

/** A field problem as the server words it, in the page's language. */
function fieldWords(problem) {
  const p = String(problem ?? '');
  if (/required/.test(p)) return t('c_f_required');
  if (/after saleStartDate/.test(p)) return t('c_f_after_start');
  if (/after eventDate/.test(p)) return t('c_f_before_event');
  if (/at most \d+ characters/.test(p)) return t('c_f_too_long', { n: p.match(/\d+/)[0] });
  if (/between/.test(p)) { const [lo, hi] = p.match(/-?\d+/g) || []; return t('c_f_range', { lo, hi }); }
  if (/no such seat layout/.test(p)) return t('c_f_layout');
  if (/must not be empty/.test(p)) return t('c_f_required');
  return t('c_f_invalid');
}

/**
 * Shows a validation failure next to the fields it concerns (inputs named as the server's
 * `fields` keys); answers whether any field was marked.
 */
function markFields(form, e) {
  form.querySelectorAll('.field-error').forEach((el) => el.remove());
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  if (!e?.fields) return false;
  let first = null;
  for (const [name, problem] of Object.entries(e.fields)) {
    const input = [...form.querySelectorAll('[name]')].find((el) => el.name === name);
    if (!input) continue;
    const id = `err-${name.replace(/[^\w-]/g, '_')}`;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    const note = h('span', { class: 'field-error', id }, fieldWords(problem));
    input.closest('label, .tt-row')?.append(note);
    // Fixed by the operator: the mark goes with the first change.
    input.addEventListener('input', () => { note.remove(); input.removeAttribute('aria-invalid'); input.removeAttribute('aria-describedby'); }, { once: true });
    first ||= input;
  }
  first?.focus();
  return !!first;
}

/** A modal question with a destructive choice; resolves true when confirmed. */
export function confirmDialog(text, yesLabel, { danger = true } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text', 'data-testid': 'confirm-dialog' },
      h('p', { id: 'confirm-text' }, text),
      h('div', { class: 'row' },
        h('button', { type: 'button', 'data-testid': 'confirm-no', onclick: () => dialog.close('no') }, t('c_keep')),
        h('button', { type: 'button', class: danger ? 'danger-solid' : 'primary', 'data-testid': 'confirm-yes', onclick: () => dialog.close('yes') }, yesLabel)));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'yes'); });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('[data-testid=confirm-no]').focus();
  });
}

function adminNav(active) {
  const items = [['dashboard', '/admin'], ['events', '/admin/events'], ['reservations', '/admin/reservations'], ['queue', '/admin/queue'], ['stats', '/admin/stats']];
  return h('nav', { class: 'tabs', 'aria-label': t('admin') }, items.map(([k, p]) => h('a', { href: `#${p}`, 'aria-current': k === active ? 'page' : null }, t(k))));
}

const stat = (label, value, testid) => h('div', { class: 'stat', 'data-testid': testid }, h('span', { class: 'muted' }, label), h('strong', {}, value ?? '–'));
const loading = () => notice('info', t('loading'));
/** The draft/published chip of an event. */
const pubChip = (e) => (e.published === false ? h('span', { class: 'chip draft', 'data-testid': 'draft-chip' }, t('c_draft')) : null);

export async function dashboard(main) {
  if (!guard(main)) return;
  const body = h('div', {}, loading());
  main.replaceChildren(adminNav('dashboard'), h('h1', {}, t('dashboard')), body);
  try {
    const { stats, recentReservations } = await api('/api/admin/dashboard/stats');
    body.replaceChildren(
      h('div', { class: 'stats' }, stat(t('total_events'), stats.totalEvents), stat(t('total_res'), stats.totalReservations), stat(t('revenue'), won(stats.totalRevenue)), stat(t('today_res'), stats.todayReservations)),
      h('h2', {}, t('recent')), reservationTable(recentReservations || [], 'no_reservations'));
  } catch (e) { body.replaceChildren(fail(e)); }
}

function reservationTable(rows, empty = 'c_no_matches') {
  if (!rows.length) return notice('info', t(empty));
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('reservations') }, h('table', { 'data-testid': 'reservation-table' },
    h('thead', {}, h('tr', {}, [t('reservation_no'), t('c_buyer'), t('events'), t('amount'), t('status'), t('payment'), t('booked_on')].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('td', {}, h('a', { href: `#/admin/reservations/${r.id}`, 'data-testid': 'open-reservation' }, r.reservation_number ?? r.reservationNumber)),
      h('td', {}, h('span', { class: 'buyer' }, r.user_name || '–'), h('br'), h('span', { class: 'muted small' }, r.user_email || '')),
      h('td', {}, r.event_title ?? r.eventTitle), h('td', {}, won(r.total_amount ?? r.totalAmount)),
      h('td', {}, chip(r.status)), h('td', {}, chip(r.payment_status ?? r.paymentStatus)), h('td', {}, when(r.created_at ?? r.createdAt)))))));
}

export async function reservations(main) {
  if (!guard(main)) return;
  const q = route().query;
  const page = Number(q.get('page') || 1);
  const status = q.get('status') || '';
  const term = q.get('q') || '';
  const body = h('div', {}, loading());
  const query = (extra) => new URLSearchParams({ ...(status && { status }), ...(term && { q: term }), ...extra });
  const filter = h('select', { name: 'status', id: 'r-status' },
    ['', 'pending', 'confirmed', 'cancelled', 'expired'].map((s) => h('option', { value: s, selected: s === status }, t(s || 'all'))));
  const search = h('input', { type: 'search', name: 'q', id: 'r-q', value: term, maxlength: 100, placeholder: t('c_search_ph'), 'data-testid': 'r-search' });
  const form = h('form', { class: 'search-bar', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams({ ...(filter.value && { status: filter.value }), ...(search.value.trim() && { q: search.value.trim() }) });
    go(`/admin/reservations?${next}`);
  } },
  h('label', { class: 'field grow' }, h('span', {}, t('c_search_label')), search),
  h('label', { class: 'field' }, h('span', {}, t('status')), filter),
  h('button', { type: 'submit', class: 'primary', 'data-testid': 'r-search-go' }, t('search')));
  filter.addEventListener('change', () => form.requestSubmit());
  main.replaceChildren(adminNav('reservations'), h('h1', {}, t('reservations')), form, body);
  try {
    const { reservations: rows, pagination } = await api(`/api/admin/reservations?${query({ page, limit: 20 })}`);
    const link = (p, label) => h('a', { class: 'button', href: `#/admin/reservations?${query({ page: p })}` }, label);
    body.replaceChildren(
      h('p', { class: 'muted', role: 'status', 'data-testid': 'r-count' }, t('c_found', { n: pagination.total })),
      reservationTable(rows),
      h('div', { class: 'row' },
        page > 1 ? link(page - 1, t('prev')) : null,
        h('span', {}, t('page', { p: pagination.page, n: Math.max(1, pagination.totalPages) })),
        page < pagination.totalPages ? link(page + 1, t('next')) : null));
  } catch (e) { body.replaceChildren(fail(e)); }
}

/** One order: buyer, event, lines, payment state; and the status changes an operator may make. */
export async function reservationDetail(main, id) {
  if (!guard(main)) return;
  const body = h('div', {}, loading());
  main.replaceChildren(adminNav('reservations'), h('h1', {}, t('c_order')), body);
  let r;
  try { r = (await api(`/api/admin/reservations/${id}`)).reservation; } catch (e) { body.replaceChildren(fail(e)); return; }
  const msg = h('div', { 'aria-live': 'polite' });
  const fact = (k, v) => [h('dt', {}, k), h('dd', {}, v ?? '–')];
  const items = r.items || [];
  const setStatus = (to, label, question) => h('button', { type: 'button', class: to === 'cancelled' ? 'danger' : 'primary', 'data-testid': `set-${to}`, onclick: async () => {
    if (!(await confirmDialog(question, label, { danger: to === 'cancelled' }))) return;
    try {
      await api(`/api/admin/reservations/${id}/status`, { method: 'PATCH', body: { status: to } });
      sessionStorage.setItem('tiketi.flash', t('saved'));
      reservationDetail(main, id);
    } catch (e) { msg.replaceChildren(fail(e)); }
  } }, label);
  const flash = sessionStorage.getItem('tiketi.flash');
  if (flash) sessionStorage.removeItem('tiketi.flash');
  main.replaceChildren(...[adminNav('reservations'),
    h('h1', {}, t('c_order'), ' ', h('span', { class: 'mono' }, r.reservation_number), ' ', chip(r.status)),
    flash ? notice('ok', flash) : null,
    h('p', {}, h('a', { href: '#/admin/reservations' }, `← ${t('reservations')}`)),
    h('div', { class: 'order' },
      h('section', { class: 'panel', 'aria-labelledby': 'o-buyer' }, h('h2', { id: 'o-buyer' }, t('c_buyer')),
        h('dl', { class: 'facts', 'data-testid': 'order-buyer' }, fact(t('name'), r.user_name), fact(t('email'), r.user_email), fact(t('c_phone'), r.user_phone))),
      h('section', { class: 'panel', 'aria-labelledby': 'o-event' }, h('h2', { id: 'o-event' }, t('c_event')),
        h('dl', { class: 'facts' }, fact(t('title'), h('a', { href: `#/admin/events/${r.event_id}` }, r.event_title)), fact(t('venue'), r.venue), fact(t('date'), when(r.event_date)))),
      h('section', { class: 'panel', 'aria-labelledby': 'o-pay' }, h('h2', { id: 'o-pay' }, t('payment')),
        h('dl', { class: 'facts', 'data-testid': 'order-payment' }, fact(t('status'), chip(r.status)), fact(t('payment'), chip(r.payment_status)),
          fact(t('method'), r.payment_method ? t(r.payment_method) : '–'), fact(t('booked_on'), when(r.created_at)),
          r.status === 'pending' ? fact(t('c_hold_until'), when(r.expires_at)) : null,
          r.confirmed_at ? fact(t('c_confirmed_at'), when(r.confirmed_at)) : null,
          r.cancelled_at ? fact(t('c_cancelled_at'), when(r.cancelled_at)) : null))),
    h('h2', {}, t('c_lines')),
    h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'order-lines' },
      h('thead', {}, h('tr', {}, [t('c_item'), t('c_qty'), t('c_unit_price'), t('c_subtotal')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, items.map((i) => h('tr', {}, h('td', {}, i.ticketTypeName), h('td', {}, i.quantity), h('td', {}, won(i.unitPrice)), h('td', {}, won(i.subtotal))))),
      h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 3 }, t('total')), h('td', {}, h('strong', {}, won(r.total_amount))))))),
    msg,
    r.status === 'pending' && !r.isExpired ? h('div', { class: 'row' },
      setStatus('confirmed', t('c_mark_paid'), t('c_confirm_mark_paid')),
      setStatus('cancelled', t('c_cancel_hold'), t('c_confirm_cancel_hold'))) : null,
  ].filter(Boolean));
}

/** Every event with its drafts, and the waiting room a new event gets. */
async function adminEvents() {
  return api('/api/admin/events');
}

async function publish(id) {
  return api(`/api/admin/events/${id}/publish`, { method: 'POST' });
}

export async function events(main) {
  if (!guard(main)) return;
  const body = h('div', {}, loading());
  const msg = h('div', { 'aria-live': 'polite' });
  main.replaceChildren(adminNav('events'), h('div', { class: 'row between' }, h('h1', {}, t('events')), h('a', { class: 'button primary', href: '#/admin/events/new', 'data-testid': 'new-event' }, t('new_event'))), msg, body);
  try {
    const { events: list } = await adminEvents();
    body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, [t('title'), t('date'), t('status'), h('span', { class: 'sr-only' }, t('c_actions'))].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((e) => h('tr', { 'data-event': e.id },
        h('td', {}, h('a', { href: `#/admin/events/${e.id}` }, e.title)), h('td', {}, when(e.event_date)), h('td', {}, pubChip(e), ' ', chip(e.status)),
        h('td', { class: 'row' },
          e.published === false ? h('button', { type: 'button', class: 'primary', 'data-testid': 'publish-row', onclick: async () => {
            try { await publish(e.id); msg.replaceChildren(notice('ok', t('c_published_ok', { title: e.title }))); events(main); } catch (err) { msg.replaceChildren(fail(err)); }
          } }, t('c_publish')) : null,
          h('a', { class: 'button', href: `#/admin/events/${e.id}` }, t('edit')), h('a', { class: 'button', href: `#/admin/queue/${e.id}` }, t('queue')))))))));
  } catch (e) { body.replaceChildren(fail(e)); }
}

/** The layout's name in words: the standard ones translated, others as named. */
function layoutName(l) {
  const key = `c_layout_${l.name}`;
  const words = t(key);
  return `${words === key ? l.name : words} · ${t('c_seats_n', { n: Number(l.total_seats).toLocaleString() })}`;
}

/** One ticket-type row of the event form (`tt` is a stored type, or {} for a new one). */
function ticketRow(tt, index, onRemove) {
  const n = index + 1;
  const inp = (field, type, value, label, extra = {}) => h('label', { class: 'field' }, h('span', {}, label),
    h('input', { type, name: `ticketTypes[${index}].${field}`, value: value ?? '', 'aria-label': `${label} ${n}`, ...extra }));
  const row = h('div', { class: 'tt-row', 'data-testid': 'tt-row', dataset: { id: tt.id || '' } },
    inp('name', 'text', tt.name, t('c_tt_name'), { required: true, maxlength: 100 }),
    inp('price', 'number', tt.price, t('c_tt_price'), { min: 0, max: 100000000, step: 1000, required: true }),
    inp('totalQuantity', 'number', tt.total_quantity, t('c_tt_qty'), { min: 0, max: 1000000, required: true }),
    inp('description', 'text', tt.description, t('description'), { maxlength: 2000 }),
    tt.id ? h('p', { class: 'muted small' }, t('c_tt_left', { n: tt.available_quantity, total: tt.total_quantity }))
      : h('button', { type: 'button', class: 'link', onclick: () => onRemove(row) }, t('c_tt_remove', { n })));
  return row;
}

export async function eventForm(main, id) {
  if (!guard(main)) return;
  const isNew = id === 'new';
  const msg = h('div', { 'aria-live': 'assertive' });
  let e = {};
  let ticketTypes = [];
  let layouts = [];
  let queue;
  let defaults;
  try {
    const [detail, lay, list] = await Promise.all([
      isNew ? null : api(`/api/events/${id}`), api('/api/seats/layouts'), adminEvents()]);
    if (detail) { e = detail.event; ticketTypes = detail.ticketTypes || []; }
    layouts = lay.layouts || [];
    defaults = list.queueDefaults;
    queue = isNew ? defaults : await api(`/api/queue/admin/${id}/settings`);
  } catch (err) { main.replaceChildren(adminNav('events'), fail(err)); return; }
  const field = (label, input) => h('label', { class: 'field' }, h('span', {}, label), input);
  const inp = (name, type, value, extra = {}) => h('input', { name, id: `f-${name}`, type, value: value ?? '', ...extra });
  // Text, not url: uploads on local disk answer a same-site path (/api/image/files/...).
  const posterUrl = inp('posterImageUrl', 'text', e.poster_image_url, { placeholder: t('c_poster_placeholder') });
  const preview = h('img', { class: 'poster small', alt: '', src: e.poster_image_url || null, hidden: !e.poster_image_url });
  const file = h('input', { type: 'file', accept: 'image/*', 'aria-label': t('poster'), 'data-testid': 'poster-file' });
  const uploadMsg = h('div', { 'aria-live': 'polite', 'data-testid': 'upload-msg' });
  const upload = h('button', { type: 'button', onclick: async () => {
    if (!file.files[0]) return;
    const fd = new FormData();
    fd.append('image', file.files[0]);
    try {
      const r = await api('/api/image/upload', { body: fd });
      posterUrl.value = r.url;
      preview.src = r.url; preview.hidden = false;
      uploadMsg.replaceChildren(notice('ok', t('saved')));
    } catch (err) {
      uploadMsg.replaceChildren(err.status === 404 ? notice('info', t('upload_missing')) : fail(err));
    }
  } }, t('upload'));
  const layoutSel = h('select', { name: 'seatLayoutId', id: 'f-seatLayoutId', disabled: !isNew }, h('option', { value: '' }, t('c_layout_none')),
    layouts.map((l) => h('option', { value: l.id, selected: l.id === e.seat_layout_id }, layoutName(l))));

  // Ticket types: what a general-admission event sells (an event with a seat layout sells seats).
  const ttList = h('div', { class: 'tt-list' });
  const renumber = () => [...ttList.children].forEach((row, i) => row.querySelectorAll('input').forEach((input) => {
    input.name = input.name.replace(/^ticketTypes\[\d+\]/, `ticketTypes[${i}]`);
    input.setAttribute('aria-label', input.getAttribute('aria-label').replace(/\d+$/, String(i + 1)));
  }));
  const addRow = (tt = {}) => { ttList.append(ticketRow(tt, ttList.children.length, (row) => { row.remove(); renumber(); })); };
  ticketTypes.forEach((tt) => addRow(tt));
  if (isNew && !ticketTypes.length) addRow();
  const ttSet = h('fieldset', { 'data-testid': 'tt-section' }, h('legend', {}, t('ticket_types')),
    h('p', { class: 'muted small' }, t('c_tt_hint')), ttList,
    h('button', { type: 'button', 'data-testid': 'tt-add', onclick: () => { addRow(); ttList.lastChild.querySelector('input').focus(); } }, t('c_tt_add')));
  const syncGa = () => {
    const ga = !layoutSel.value;
    ttSet.hidden = !ga;
    ttSet.querySelectorAll('input').forEach((input) => { input.disabled = !ga; });
  };
  layoutSel.addEventListener('change', syncGa);

  // The waiting room, on by default, with the threshold every event gets unless changed here.
  const qOn = h('input', { type: 'checkbox', name: 'queueEnabled', id: 'f-queueEnabled', checked: queue.enabled !== false, 'data-testid': 'f-queue-on' });
  const qThreshold = inp('queueThreshold', 'number', queue.threshold, { min: 1, max: 1000000, required: true });
  const syncQueue = () => { qThreshold.disabled = !qOn.checked; };
  qOn.addEventListener('change', syncQueue);
  const queueSet = h('fieldset', {}, h('legend', {}, t('waiting_room')),
    h('label', { class: 'radio' }, qOn, t('c_queue_on')),
    field(t('threshold'), qThreshold),
    h('p', { class: 'muted small' }, t('c_queue_hint', { n: defaults.threshold })));

  const form = h('form', { class: 'admin-form event-form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const iso = (k) => (fd.get(k) ? new Date(fd.get(k)).toISOString() : undefined);
    // Optional texts go as typed: an emptied field is "" and clears the value on an edit (null
    // would mean "unchanged" to the server and the old text would stay).
    const body = {
      title: fd.get('title'), artistName: fd.get('artistName'), venue: fd.get('venue'), address: fd.get('address'),
      description: fd.get('description'), eventDate: iso('eventDate'), saleStartDate: iso('saleStartDate'), saleEndDate: iso('saleEndDate'),
      posterImageUrl: posterUrl.value,
    };
    const rows = layoutSel.value ? [] : [...ttList.children].map((row) => {
      const v = (f) => row.querySelector(`[name$=".${f}"]`).value;
      return { id: row.dataset.id || null, name: v('name'), price: v('price'), totalQuantity: v('totalQuantity'), description: v('description') };
    });
    if (isNew) {
      // Saved in the console means a draft: nothing is on sale until the operator publishes it.
      body.published = false;
      if (layoutSel.value) body.seatLayoutId = layoutSel.value;
      else body.ticketTypes = rows.map(({ id: _, ...tt }) => tt);
    }
    const wantQueue = { enabled: qOn.checked, threshold: qOn.checked ? Number(qThreshold.value) : undefined };
    // Checked before anything is saved, so that a bad threshold never leaves a half-made event.
    if (qOn.checked && !(Number.isInteger(wantQueue.threshold) && wantQueue.threshold >= 1 && wantQueue.threshold <= 1000000)) {
      markFields(form, { fields: { queueThreshold: 'must be between 1 and 1000000' } });
      msg.replaceChildren(notice('error', t('c_err_validation_failed')));
      return;
    }
    try {
      const r = await api(isNew ? '/api/admin/events' : `/api/admin/events/${id}`, { method: isNew ? 'POST' : 'PUT', body });
      const eventId = r.event.id;
      if (!isNew) {
        // Ticket types change through their own routes: new rows are created, stored ones updated.
        for (const [i, tt] of rows.entries()) {
          const { id: ttId, ...fields } = tt;
          try {
            if (ttId) await api(`/api/admin/tickets/${ttId}`, { method: 'PUT', body: fields });
            else await api(`/api/admin/events/${eventId}/tickets`, { body: fields });
          } catch (err) {
            if (err.fields) err.fields = Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [`ticketTypes[${i}].${k}`, v]));
            throw err;
          }
        }
      }
      const change = Object.fromEntries(Object.entries(wantQueue).filter(([k, v]) => v !== undefined && v !== queue[k]));
      if (Object.keys(change).length) await api(`/api/queue/admin/${eventId}/settings`, { method: 'PUT', body: change });
      sessionStorage.setItem('tiketi.flash', t(isNew ? 'c_created_draft' : 'saved'));
      go(`/admin/events/${eventId}`, isNew);
      if (!isNew) eventForm(main, id);
    } catch (err) {
      const marked = markFields(form, err);
      msg.replaceChildren(notice('error', marked ? t('c_err_validation_failed') : errWords(err)));
    }
  } },
  field(t('title'), inp('title', 'text', e.title, { required: true, maxlength: 200 })),
  field(t('artist'), inp('artistName', 'text', e.artist_name)),
  field(t('venue'), inp('venue', 'text', e.venue, { required: true })),
  field(t('address'), inp('address', 'text', e.address)),
  field(t('description'), h('textarea', { name: 'description', rows: 3 }, e.description || '')),
  field(t('event_date'), inp('eventDate', 'datetime-local', toInputDate(e.event_date), { required: true })),
  field(t('sale_start'), inp('saleStartDate', 'datetime-local', toInputDate(e.sale_start_date), { required: true })),
  field(t('sale_end'), inp('saleEndDate', 'datetime-local', toInputDate(e.sale_end_date), { required: true })),
  field(t('layout'), layoutSel),
  ttSet,
  queueSet,
  h('fieldset', {}, h('legend', {}, t('poster')), preview, h('div', { class: 'row' }, file, upload), uploadMsg, field(t('poster_url'), posterUrl)),
  msg,
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'save-event' }, t(isNew ? 'c_save_draft' : 'save')),
    !isNew && e.published === false ? h('button', { type: 'button', class: 'primary', 'data-testid': 'publish-event', onclick: async () => {
      if (!(await confirmDialog(t('c_confirm_publish'), t('c_publish'), { danger: false }))) return;
      try { await publish(id); sessionStorage.setItem('tiketi.flash', t('c_published_ok', { title: e.title })); eventForm(main, id); } catch (err) { msg.replaceChildren(fail(err)); }
    } }, t('c_publish')) : null,
    !isNew && e.status !== 'cancelled' ? h('button', { type: 'button', class: 'danger', 'data-testid': 'cancel-event', onclick: async () => {
      if (!(await confirmDialog(t('confirm_cancel_event'), t('cancel_event')))) return;
      try {
        const r = await api(`/api/admin/events/${id}/cancel`, { method: 'POST' });
        const owed = r.refundsNeeded?.length || 0;
        sessionStorage.setItem('tiketi.flash', owed ? t('event_cancelled_owed', { n: owed }) : t('event_cancelled_ok', { n: r.cancelledPaidReservations ?? 0 }));
        eventForm(main, id);
      } catch (err) { msg.replaceChildren(fail(err)); }
    } }, t('cancel_event')) : null));
  syncGa();
  syncQueue();
  // What the last action did (saved, created, cancelled) shows at the top, where the eye lands.
  const flash = sessionStorage.getItem('tiketi.flash');
  if (flash) sessionStorage.removeItem('tiketi.flash');
  // (replaceChildren would print a null as the text "null": leave the absent parts out.)
  main.replaceChildren(...[adminNav('events'), h('h1', {}, isNew ? t('new_event') : e.title, ' ', pubChip(e), ' ', e.status ? chip(e.status) : null),
    flash ? notice('ok', flash) : null,
    !isNew && e.published === false ? notice('info', t('c_draft_note')) : null,
    form,
    !isNew ? h('p', {}, h('a', { href: `#/admin/queue/${id}` }, t('queue')), ' · ', h('a', { href: `#/events/${id}` }, t('c_fan_page'))) : null].filter(Boolean));
  window.scrollTo(0, 0);
}

/** Seconds as "about N min" / "N s" / "h:mm", for estimates. */
function roughly(sec) {
  if (!Number.isFinite(sec)) return '–';
  if (sec < 60) return t('seconds', { n: Math.max(1, Math.round(sec)) });
  if (sec < 5400) return t('minutes', { n: Math.round(sec / 60) });
  return t('c_hours', { n: (sec / 3600).toFixed(1) });
}

/** Fans admitted per second the settings allow (null: only free slots limit it). */
const perSecond = (s) => (s.admitPerTick ? (s.admitPerTick * 1000) / s.tickMs : null);

/**
 * How long until the line is empty: the waiting count over the measured admission rate of the
 * last minute, or with none measured yet, over what the settings allow (capacity turning over
 * once per shopping time limit, capped by the per-second rate).
 */
function clearEstimate(view, s) {
  const waiting = view.queueSize ?? 0;
  if (!waiting) return { sec: 0, basis: 'none' };
  if (view.paused) return { sec: Infinity, basis: 'paused' };
  if (view.admittedLastMin > 0) return { sec: (waiting * 60) / view.admittedLastMin, basis: 'measured' };
  const turnover = s.threshold / Math.max(1, s.admissionTtlSec);
  const rate = Math.min(turnover, perSecond(s) ?? Infinity);
  return { sec: waiting / rate, basis: 'settings' };
}

export async function queueControl(main, id) {
  if (!guard(main)) return;
  const msg = h('div', { 'aria-live': 'assertive' });
  let list = [];
  try { list = (await adminEvents()).events; } catch (e) { main.replaceChildren(adminNav('queue'), h('h1', {}, t('queue')), fail(e)); return; }
  const sel = h('select', { id: 'q-event', 'data-testid': 'queue-event', onchange: () => go(`/admin/queue/${sel.value}`) },
    h('option', { value: '' }, t('choose_event')), list.map((e) => h('option', { value: e.id, selected: e.id === id }, e.published === false ? `${e.title} (${t('c_draft')})` : e.title)));
  main.replaceChildren(adminNav('queue'), h('h1', {}, t('queue')), h('label', { class: 'field' }, h('span', {}, t('choose_event')), sel), msg);
  if (!id) return;
  let settings;
  try { settings = await api(`/api/queue/admin/${id}/settings`); } catch (e) { msg.replaceChildren(fail(e)); return; }
  const numbers = h('div', { class: 'stats', 'aria-live': 'polite' });
  const estimate = h('p', { class: 'estimate', 'data-testid': 'q-estimate', role: 'status' });
  const pauseBtn = h('button', { type: 'button', 'data-testid': 'q-pause' }, t('pause'));
  const resumeBtn = h('button', { type: 'button', 'data-testid': 'q-resume' }, t('resume'));
  const clearBtn = h('button', { type: 'button', class: 'danger-solid', 'data-testid': 'q-clear' }, t('c_clear_line'));
  let view = null;
  const render = (v) => {
    view = v;
    const paused = !!v.paused;
    numbers.replaceChildren(
      stat(t('waiting'), v.queueSize, 'q-waiting'), stat(t('active'), v.currentUsers, 'q-active'), stat(t('threshold'), v.threshold, 'q-threshold'),
      stat(t('free_slots'), v.available), stat(t('admitted_min'), v.admittedLastMin ?? '–'),
      stat(t('status'), settings.enabled === false ? t('c_queue_off') : paused ? t('paused') : t('running'), 'q-state'));
    const est = clearEstimate(v, settings);
    estimate.textContent = est.basis === 'none' ? t('c_est_empty')
      : est.basis === 'paused' ? t('c_est_paused', { n: v.queueSize })
        : t(est.basis === 'measured' ? 'c_est_measured' : 'c_est_settings', { n: v.queueSize, t: roughly(est.sec) });
    // Pause and Resume only when they apply: a queue that is off has neither.
    pauseBtn.disabled = settings.enabled === false || paused;
    resumeBtn.disabled = settings.enabled === false || !paused;
    clearBtn.disabled = settings.enabled === false;
  };
  const load = async () => { try { render(await api(`/api/queue/admin/${id}`)); } catch (e) { msg.replaceChildren(fail(e)); } };
  const post = (path, done) => async () => {
    try { const r = await api(path, { method: 'POST' }); msg.replaceChildren(notice('ok', done(r))); settings = await api(`/api/queue/admin/${id}/settings`); load(); } catch (e) { msg.replaceChildren(fail(e)); }
  };
  pauseBtn.addEventListener('click', post(`/api/queue/admin/pause/${id}`, () => t('paused_ok')));
  resumeBtn.addEventListener('click', post(`/api/queue/admin/resume/${id}`, () => t('resumed_ok')));
  const clear = post(`/api/queue/admin/clear/${id}`, (r) => t('cleared_ok', { w: r?.removed?.waiting ?? 0, a: r?.removed?.active ?? 0 }));
  clearBtn.addEventListener('click', async () => {
    const n = view ? (view.queueSize ?? 0) + (view.currentUsers ?? 0) : 0;
    if (await confirmDialog(t('c_confirm_clear', { n }), t('c_clear_line'))) clear();
  });

  // The settings in plain words; the wire's ticks and milliseconds are derived on save.
  const num = (name, value, extra = {}) => h('input', { name, id: `q-${name}`, type: 'number', value: value ?? '', ...extra });
  const field = (label, input, hint) => h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('span', { class: 'muted small' }, hint) : null);
  const rate = perSecond(settings);
  const form = h('form', { class: 'admin-form', novalidate: true },
    h('label', { class: 'radio' }, h('input', { type: 'checkbox', name: 'enabled', id: 'q-enabled', checked: settings.enabled }), t('c_queue_on')),
    field(t('threshold'), num('threshold', settings.threshold, { min: 1, required: true }), t('c_threshold_hint')),
    field(t('c_per_second'), num('perSecond', rate == null ? '' : +rate.toFixed(2), { min: 0.02, step: 'any', placeholder: t('c_no_limit') }), t('c_per_second_hint')),
    field(t('c_shop_limit'), num('shopMinutes', +(settings.admissionTtlSec / 60).toFixed(2), { min: 1, step: 'any', required: true }), t('c_shop_limit_hint')),
    field(t('c_idle_grace'), num('idleGraceSec', settings.idleGraceSec, { min: 10, required: true }), t('c_idle_grace_hint')),
    field(t('c_mode'), h('select', { name: 'mode', id: 'q-mode' },
      h('option', { value: 'fifo', selected: settings.mode === 'fifo' }, t('c_mode_fifo')),
      h('option', { value: 'scheduled', selected: settings.mode === 'scheduled' }, t('c_mode_scheduled'))), t('c_mode_hint')),
    h('p', { class: 'field' }, h('span', {}, t('sale_start')), h('strong', { 'data-testid': 'q-sale-start' }, when(settings.saleStart)), ' ',
      h('a', { href: `#/admin/events/${id}` }, t('c_change_in_event'))),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'save-queue' }, t('save'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const n = (k) => (fd.get(k) === '' ? null : Number(fd.get(k)));
    // Fans per second -> admissions per tick at the current tick; below one per tick, one per
    // longer tick instead. Empty: no cap (the free slots alone limit admissions).
    const perSec = n('perSecond');
    let admitPerTick = null;
    let tickMs = settings.tickMs;
    if (perSec != null && perSec > 0) {
      const perTick = (perSec * tickMs) / 1000;
      if (perTick >= 1) admitPerTick = Math.round(perTick);
      else { admitPerTick = 1; tickMs = Math.min(60000, Math.max(50, Math.round(1000 / perSec))); }
    }
    const wanted = {
      enabled: fd.get('enabled') === 'on', threshold: n('threshold'), admitPerTick, tickMs,
      admissionTtlSec: n('shopMinutes') == null ? null : Math.round(n('shopMinutes') * 60), idleGraceSec: n('idleGraceSec'), mode: fd.get('mode'),
    };
    // Only what the operator changed: an untouched tick stays "the processor's default".
    const body = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => v !== (settings[k] ?? null)));
    try {
      settings = await api(`/api/queue/admin/${id}/settings`, { method: 'PUT', body });
      markFields(form, null);
      msg.replaceChildren(notice('ok', t('saved')));
      load();
    } catch (e) {
      const fields = e.fields && Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [({ admissionTtlSec: 'shopMinutes', admitPerTick: 'perSecond', tickMs: 'perSecond' })[k] || k, v]));
      const marked = markFields(form, fields ? { fields } : e);
      msg.replaceChildren(notice('error', marked ? t('c_err_validation_failed') : errWords(e)));
    }
  });

  // The message to the fans waiting: shown on their waiting page at once (Socket.IO).
  const text = h('textarea', { name: 'message', id: 'q-message', rows: 3, maxlength: 500, 'data-testid': 'q-message' }, settings.message || '');
  const count = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const counted = () => { count.textContent = t('c_chars_left', { n: 500 - text.value.length }); };
  text.addEventListener('input', counted);
  counted();
  const current = h('p', { class: 'muted', 'data-testid': 'q-message-now' });
  const showCurrent = () => { current.textContent = settings.message ? t('c_msg_now', { m: settings.message }) : t('c_msg_none'); };
  showCurrent();
  const sendMessage = async (value) => {
    try {
      settings = await api(`/api/queue/admin/${id}/settings`, { method: 'PUT', body: { message: value } });
      text.value = settings.message || '';
      counted(); showCurrent();
      msg.replaceChildren(notice('ok', value ? t('c_msg_sent') : t('c_msg_removed')));
    } catch (e) { msg.replaceChildren(fail(e)); }
  };
  const messageBox = h('form', { class: 'admin-form panel', 'aria-labelledby': 'q-msg-h', onsubmit: (ev) => { ev.preventDefault(); sendMessage(text.value.trim() || null); } },
    h('h2', { id: 'q-msg-h' }, t('c_msg_title')),
    h('label', { class: 'field' }, h('span', {}, t('c_msg_label')), text, count),
    current,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'q-message-send' }, t('c_msg_send')),
      h('button', { type: 'button', 'data-testid': 'q-message-remove', onclick: () => sendMessage(null) }, t('c_msg_remove'))));

  main.append(numbers, estimate,
    h('div', { class: 'row controls' }, pauseBtn, resumeBtn, clearBtn),
    h('div', { class: 'queue-columns' },
      h('section', { 'aria-labelledby': 'q-set-h' }, h('h2', { id: 'q-set-h' }, t('c_settings')), form),
      messageBox));
  await load();
  every(2000, load);
}

/** Reads a stats route: its `data`, or null when the route is missing (404). */
async function statsData(path) {
  try { return (await api(path))?.data ?? null; } catch (e) { if (e.status === 404) return null; throw e; }
}

const numberOf = (v) => (v == null || v === '' ? 0 : Number(v));
const pct = (v) => (v == null ? '–' : `${Number(v).toFixed(1)}%`);
const day = (d) => String(d ?? '').slice(0, 10);

/** Draws dataset 2 of a bar chart (the queue thresholds) as a dashed level across each category. */
const thresholdLevels = {
  id: 'thresholdLevels',
  afterDatasetsDraw(chart) {
    const ds = chart.data.datasets[2];
    if (!ds || !chart.isDatasetVisible(2)) return;
    const { x, y } = chart.scales;
    const width = (x.width / Math.max(1, chart.data.labels.length)) * 0.85;
    const { ctx } = chart;
    ctx.save();
    ctx.strokeStyle = ds.borderColor;
    ctx.lineWidth = 3;
    ctx.setLineDash(ds.borderDash || []);
    ds.data.forEach((v, i) => {
      if (v == null) return;
      const px = x.getPixelForValue(i);
      const py = y.getPixelForValue(v);
      ctx.beginPath();
      ctx.moveTo(px - width / 2, py);
      ctx.lineTo(px + width / 2, py);
      ctx.stroke();
    });
    ctx.restore();
  },
};

/** A titled panel of the statistics page with a chart canvas; returns [panel, canvas]. */
function chartPanel(key, testid, extra = null) {
  const canvas = h('canvas', { role: 'img', 'aria-label': t(key), 'data-testid': testid });
  return [h('figure', { class: 'chart' }, h('figcaption', {}, t(key), extra), h('div', { class: 'chart-box' }, canvas)), canvas];
}

function smallTable(headers, rows, testid) {
  if (!rows.length) return notice('info', t('c_no_data'));
  return h('div', { class: 'table-wrap' }, h('table', { 'data-testid': testid },
    h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c ?? '–')))))));
}

const section = (key, testid, ...children) => h('section', { class: 'stats-section', 'aria-labelledby': `s-${testid}`, 'data-testid': testid },
  h('h2', { id: `s-${testid}` }, t(key)), ...children);

export async function statsPage(main) {
  if (!guard(main)) return;
  const body = h('div', {}, loading());
  main.replaceChildren(adminNav('stats'), h('h1', {}, t('stats')), body);
  try { await loadChartJs(); } catch { body.replaceChildren(notice('error', t('c_chart_missing'))); return; }
  const Chart = window.Chart;
  const charts = [];
  onLeave(() => charts.forEach((c) => c.destroy()));
  const draw = (canvas, config) => {
    const c = new Chart(canvas, { ...config, options: { animation: false, maintainAspectRatio: false, ...(config.options || {}) } });
    charts.push(c);
    return c;
  };
  try {
    const [overview, realtime, daily, hourly, conversion, cancellations, topEvents, payments, users, seatPrefs, behavior, perf, queues] = await Promise.all([
      statsData('/api/stats/overview'), statsData('/api/stats/realtime'), statsData('/api/stats/daily?days=14'),
      statsData('/api/stats/hourly-traffic?days=7'), statsData('/api/stats/conversion?days=30'), statsData('/api/stats/cancellations?days=30'),
      statsData('/api/stats/events?limit=10&sortBy=revenue'), statsData('/api/stats/payments'), statsData('/api/stats/users'),
      statsData('/api/stats/seat-preferences'), statsData('/api/stats/user-behavior?days=30'), statsData('/api/stats/performance'), statsData('/api/stats/queue')]);
    const o = overview || {};
    const cur = realtime?.current || {};
    const lastHour = realtime?.lastHour || {};
    const funnel = conversion?.funnel || {};
    const rates = conversion?.rates || {};
    const cxl = cancellations?.overview || {};
    const [salesFig, salesCanvas] = chartPanel('sales_chart', 'sales-chart');
    const periodSel = h('select', { 'aria-label': t('c_period'), class: 'inline' }, ['daily', 'weekly', 'monthly'].map((p) => h('option', { value: p }, t(`c_period_${p}`))));
    const [revFig, revCanvas] = chartPanel('c_revenue_period', 'revenue-chart', periodSel);
    const [hourFig, hourCanvas] = chartPanel('c_hourly', 'hourly-chart');
    const [queueFig, queueCanvas] = chartPanel('queue_chart', 'queue-chart');
    const [usersFig, usersCanvas] = chartPanel('c_new_users', 'users-chart');
    const [payFig, payCanvas] = chartPanel('c_payments_by_method', 'payments-chart');
    const eventSel = h('select', { 'aria-label': t('choose_event'), 'data-testid': 'stats-event' }, h('option', { value: '' }, t('choose_event')),
      (topEvents || []).map((e) => h('option', { value: e.event_id ?? e.id }, e.title)));
    const eventBox = h('div', { 'data-testid': 'stats-event-detail' });
    const queueRows = Array.isArray(queues) ? queues : (queues?.queues || []);
    body.replaceChildren(
      section('overview', 'stats-overview', h('div', { class: 'stats' },
        stat(t('users'), o.total_users), stat(t('active_events'), o.active_events), stat(t('total_res'), o.total_reservations),
        stat(t('confirmed_res'), o.confirmed_reservations), stat(t('revenue'), won(o.total_revenue ?? 0)), stat(t('payments'), o.completed_payments))),
      section('c_now', 'stats-realtime', h('div', { class: 'stats' },
        stat(t('c_held_seats'), cur.locked_seats), stat(t('c_open_checkouts'), cur.active_payments), stat(t('c_active_buyers'), cur.active_users),
        stat(t('c_res_last_hour'), lastHour.reservations ?? lastHour.total_reservations), stat(t('c_rev_last_hour'), won(lastHour.revenue ?? 0)))),
      h('div', { class: 'charts' }, salesFig, revFig, hourFig, queueFig, usersFig, payFig),
      section('c_conversion', 'stats-conversion', h('div', { class: 'stats' },
        stat(t('c_started'), funnel.total_started), stat(t('confirmed'), funnel.completed), stat(t('cancelled'), funnel.cancelled),
        stat(t('pending'), funnel.pending), stat(t('c_conversion_rate'), pct(rates.conversion_rate ?? conversion?.conversion?.conversion_rate)))),
      section('c_cancellations', 'stats-cancellations', h('div', { class: 'stats' },
        stat(t('cancelled'), cxl.total_cancelled), stat(t('c_refunded_amount'), won(cxl.total_refund_amount ?? 0)),
        stat(t('c_hours_before_cancel'), cxl.avg_hours_before_cancel == null ? '–' : Number(cxl.avg_hours_before_cancel).toFixed(1)))),
      section('c_top_events', 'stats-events', smallTable([t('title'), t('total_res'), t('revenue'), t('c_occupancy')],
        (topEvents || []).map((e) => [e.title, e.reservation_count ?? e.reservations ?? e.total_reservations, won(e.revenue ?? e.total_revenue ?? 0), pct(e.occupancy ?? e.occupancy_rate)]), 'top-events'),
      h('label', { class: 'field' }, h('span', {}, t('c_event_detail')), eventSel), eventBox),
      section('c_seat_prefs', 'stats-seats', smallTable([t('c_section'), t('c_sold'), t('c_occupancy')],
        (seatPrefs?.bySection || []).map((s) => [s.section, `${s.sold_seats ?? s.reserved_seats ?? 0} / ${s.total_seats ?? '–'}`, pct(s.occupancy ?? s.reservation_rate)]), 'seat-prefs')),
      section('c_behavior', 'stats-behavior', h('div', { class: 'stats' },
        ...(behavior?.userTypes || []).map((u) => stat(t(`c_user_${u.user_type ?? u.type}`), u.user_count ?? u.count)),
        stat(t('c_avg_minutes_to_pay'), behavior?.avgTimeToPayment ?? '–'))),
      section('c_performance', 'stats-performance', h('div', { class: 'stats' },
        stat(t('c_db_size'), perf?.database?.size), stat(t('c_success_rate'), pct(perf?.recentPerformance?.successRate)),
        stat(t('c_payment_failures'), pct(perf?.metrics?.paymentFailureRate)), stat(t('c_avg_hold'), perf?.metrics?.avgSeatLockSeconds == null ? '–' : t('seconds', { n: perf.metrics.avgSeatLockSeconds })))));

    // Daily revenue (bars) and reservations (line), oldest first.
    const days = Array.isArray(daily) ? [...daily].reverse() : [];
    draw(salesCanvas, { type: 'bar', data: { labels: days.map((d) => day(d.date)), datasets: [
      { label: t('revenue'), data: days.map((d) => numberOf(d.revenue)), yAxisID: 'y', backgroundColor: '#e0245e' },
      { label: t('reservations'), data: days.map((d) => numberOf(d.reservations ?? d.total_reservations)), yAxisID: 'y1', type: 'line', borderColor: '#1f5fbf', backgroundColor: '#1f5fbf' }] },
    options: { scales: { y: { beginAtZero: true }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } } } });
    // Revenue per day, week or month.
    const revChart = draw(revCanvas, { type: 'line', data: { labels: [], datasets: [{ label: t('revenue'), data: [], borderColor: '#e0245e', backgroundColor: '#e0245e' }] }, options: { scales: { y: { beginAtZero: true } } } });
    const loadRevenue = async () => {
      try {
        const rows = await statsData(`/api/stats/revenue?period=${periodSel.value}`);
        const ordered = Array.isArray(rows) ? [...rows].reverse() : [];
        revChart.data.labels = ordered.map((r) => day(r.period_start ?? r.period));
        revChart.data.datasets[0].data = ordered.map((r) => numberOf(r.revenue ?? r.total_revenue));
        revChart.update();
      } catch { /* the panel stays empty; the page's other views still show */ }
    };
    periodSel.addEventListener('change', loadRevenue);
    loadRevenue();
    // Reservations per hour of day.
    const hours = hourly?.hourly || [];
    draw(hourCanvas, { type: 'bar', data: { labels: hours.map((r) => `${r.hour}`), datasets: [{ label: t('reservations'), data: hours.map((r) => numberOf(r.reservations ?? r.total_reservations)), backgroundColor: '#6a3de8' }] }, options: { scales: { y: { beginAtZero: true } } } });
    // Queues: waiting and shopping as bars, each queue's threshold as a line over them.
    const queueData = (rows) => ({
      labels: rows.map((q) => String(q.title ?? q.eventId ?? '').slice(0, 18)),
      waiting: rows.map((q) => numberOf(q.waiting ?? q.queueSize)),
      active: rows.map((q) => numberOf(q.active ?? q.currentUsers)),
      threshold: rows.map((q) => (q.settings?.enabled === false ? null : numberOf(q.settings?.threshold ?? q.threshold))),
    });
    const qd = queueData(queueRows);
    const queueChart = draw(queueCanvas, { type: 'bar', data: { labels: qd.labels, datasets: [
      { label: t('waiting'), data: qd.waiting, backgroundColor: '#1f5fbf', order: 2 },
      { label: t('active'), data: qd.active, backgroundColor: '#12805c', order: 2 },
      // A level per event, not a bar: drawn by `thresholdLevels` as a dashed line across the
      // event's bars (joining the events' levels would draw a trend that is not one).
      { label: t('threshold'), data: qd.threshold, type: 'line', showLine: false, borderColor: '#b3261e', backgroundColor: '#b3261e', borderDash: [8, 4], pointStyle: 'line', pointRadius: 0, pointHitRadius: 24, order: 1 }] },
    // Room above the highest value, so a threshold level at the top is not hidden by the frame.
    options: { scales: { y: { beginAtZero: true, grace: '20%' } }, plugins: { legend: { labels: { usePointStyle: true } } } },
    plugins: [thresholdLevels] });
    queueCanvas.dataset.thresholdType = 'line';
    if (!queueRows.length) queueFig.append(h('p', { class: 'muted small' }, t('c_no_live_queue')));
    // New accounts per day.
    const userDays = Array.isArray(users?.daily) ? [...users.daily].reverse() : [];
    draw(usersCanvas, { type: 'line', data: { labels: userDays.map((d) => day(d.date)), datasets: [{ label: t('c_new_users'), data: userDays.map((d) => numberOf(d.new_users ?? d.count)), borderColor: '#12805c', backgroundColor: '#12805c' }] }, options: { scales: { y: { beginAtZero: true } } } });
    // Payments by method.
    const methods = Array.isArray(payments) ? payments : (payments?.byMethod || []);
    draw(payCanvas, { type: 'bar', data: { labels: methods.map((m) => t(m.method ?? m.payment_method ?? '')), datasets: [{ label: t('amount'), data: methods.map((m) => numberOf(m.total_amount ?? m.amount)), backgroundColor: '#e0245e' }] }, options: { indexAxis: 'y', scales: { x: { beginAtZero: true } } } });

    // One event's figures, on demand.
    eventSel.addEventListener('change', async () => {
      if (!eventSel.value) { eventBox.replaceChildren(); return; }
      eventBox.replaceChildren(loading());
      try {
        const d = await statsData(`/api/stats/events/${eventSel.value}`);
        const ov = d?.overview || {};
        eventBox.replaceChildren(h('div', { class: 'stats' },
          stat(t('total_res'), ov.total_reservations), stat(t('confirmed_res'), ov.confirmed_reservations), stat(t('revenue'), won(ov.total_revenue ?? 0)),
          stat(t('c_sold'), `${ov.sold_seats ?? 0} / ${ov.total_seats ?? 0}`)));
      } catch (e) { eventBox.replaceChildren(fail(e)); }
    });

    every(5000, async () => {
      const fresh = await statsData('/api/stats/queue').catch(() => null);
      if (!fresh) return;
      const d = queueData(Array.isArray(fresh) ? fresh : (fresh.queues || []));
      queueChart.data.labels = d.labels;
      [d.waiting, d.active, d.threshold].forEach((values, i) => { queueChart.data.datasets[i].data = values; });
      queueChart.update();
    });
  } catch (e) { body.replaceChildren(fail(e)); }
}

let chartJs = null;
/** Chart.js is a UMD bundle (no ESM build without a bundler): load it once as a classic script. */
function loadChartJs() {
  if (window.Chart) return Promise.resolve();
  chartJs ||= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/chart.umd.min.js';
    s.onload = resolve;
    s.onerror = () => { chartJs = null; reject(new Error('chart library failed to load')); };
    document.head.append(s);
  });
  return chartJs;
}
