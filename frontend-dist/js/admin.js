// The operator's console (admin role): dashboard, events create/edit/cancel with poster upload,
// reservations, per-event queue control with live numbers, and statistics with charts.
import { api, session } from './api.js';
import { t, won, when, toInputDate, errText } from './i18n.js';
import { h, go, route, notice, showError, showFieldErrors, chip, every, onLeave } from './ui.js';

function guard(main) {
  if (!session.token) { go(`/login?next=${encodeURIComponent(route().raw)}`, true); return false; }
  if (!session.isAdmin) { main.replaceChildren(h('h1', {}, t('admin')), notice('error', t('forbidden'))); return false; }
  return true;
}

function adminNav(active) {
  const items = [['dashboard', '/admin'], ['events', '/admin/events'], ['reservations', '/admin/reservations'], ['queue', '/admin/queue'], ['stats', '/admin/stats']];
  return h('nav', { class: 'tabs', 'aria-label': t('admin') }, items.map(([k, p]) => h('a', { href: `#${p}`, 'aria-current': k === active ? 'page' : null }, t(k))));
}

const stat = (label, value, testid) => h('div', { class: 'stat', 'data-testid': testid }, h('span', { class: 'muted' }, label), h('strong', {}, value));

export async function dashboard(main) {
  if (!guard(main)) return;
  const body = h('div', {}, notice('info', t('loading')));
  main.replaceChildren(adminNav('dashboard'), h('h1', {}, t('dashboard')), body);
  try {
    const { stats, recentReservations } = await api('/api/admin/dashboard/stats');
    body.replaceChildren(
      h('div', { class: 'stats' }, stat(t('total_events'), stats.totalEvents), stat(t('total_res'), stats.totalReservations), stat(t('revenue'), won(stats.totalRevenue)), stat(t('today_res'), stats.todayReservations)),
      h('h2', {}, t('recent')), reservationTable(recentReservations || [], t('recent')));
  } catch (e) { showError(body, e); }
}

function reservationTable(rows, label = t('reservations')) {
  // Scrolls sideways on a phone: focusable (and named) so the keyboard can scroll it too.
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': label }, h('table', {},
    h('thead', {}, h('tr', {}, [t('reservation_no'), t('events'), t('amount'), t('status'), t('payment'), t('booked_on')].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('td', {}, r.reservation_number ?? r.reservationNumber), h('td', {}, r.event_title ?? r.eventTitle), h('td', {}, won(r.total_amount ?? r.totalAmount)),
      h('td', {}, chip(r.status)), h('td', {}, chip(r.payment_status ?? r.paymentStatus)), h('td', {}, when(r.created_at ?? r.createdAt)))))));
}

export async function reservations(main) {
  if (!guard(main)) return;
  const q = route().query;
  const page = Number(q.get('page') || 1);
  const status = q.get('status') || '';
  const body = h('div', {}, notice('info', t('loading')));
  const filter = h('select', { 'aria-label': t('status'), onchange: () => go(`/admin/reservations?status=${filter.value}`) },
    ['', 'pending', 'confirmed', 'cancelled', 'expired'].map((s) => h('option', { value: s, selected: s === status }, t(s || 'all'))));
  main.replaceChildren(adminNav('reservations'), h('h1', {}, t('reservations')), filter, body);
  try {
    const params = new URLSearchParams({ page, limit: 20, ...(status && { status }) });
    const { reservations: rows, pagination } = await api(`/api/admin/reservations?${params}`);
    const link = (p, label) => h('a', { class: 'button', href: `#/admin/reservations?${new URLSearchParams({ page: p, ...(status && { status }) })}` }, label);
    body.replaceChildren(reservationTable(rows), h('div', { class: 'row' },
      page > 1 ? link(page - 1, t('prev')) : null,
      h('span', {}, t('page', { p: pagination.page, n: Math.max(1, pagination.totalPages) })),
      page < pagination.totalPages ? link(page + 1, t('next')) : null));
  } catch (e) { showError(body, e); }
}

async function allEvents() {
  const { events } = await api('/api/events?limit=100');
  return events;
}

export async function events(main) {
  if (!guard(main)) return;
  const body = h('div', {}, notice('info', t('loading')));
  main.replaceChildren(adminNav('events'), h('div', { class: 'row between' }, h('h1', {}, t('events')), h('a', { class: 'button primary', href: '#/admin/events/new', 'data-testid': 'new-event' }, t('new_event'))), body);
  try {
    const list = await allEvents();
    body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, [t('title'), t('date'), t('status'), ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((e) => h('tr', {},
        h('td', {}, h('a', { href: `#/events/${e.id}` }, e.title)), h('td', {}, when(e.event_date)), h('td', {}, chip(e.status)),
        h('td', { class: 'row' }, h('a', { class: 'button', href: `#/admin/events/${e.id}` }, t('edit')), h('a', { class: 'button', href: `#/admin/queue/${e.id}` }, t('queue')))))))));
  } catch (e) { showError(body, e); }
}

export async function eventForm(main, id) {
  if (!guard(main)) return;
  const isNew = id === 'new';
  const msg = h('div', { 'aria-live': 'assertive' });
  let e = {};
  let layouts = [];
  try {
    if (!isNew) e = (await api(`/api/events/${id}`)).event;
    layouts = (await api('/api/seats/layouts')).layouts || [];
  } catch (err) { main.replaceChildren(adminNav('events'), h('h1', {}, t('events')), notice('error', err)); return; }
  const field = (name, label, input) => h('label', { class: 'field' }, h('span', {}, label), input);
  const inp = (name, type, value, extra = {}) => h('input', { name, id: `f-${name}`, type, value: value ?? '', ...extra });
  // Text, not url: uploads on local disk answer a same-site path (/api/image/files/...).
  const posterUrl = inp('posterImageUrl', 'text', e.poster_image_url, { placeholder: 'https://… or /api/image/files/…' });
  const preview = h('img', { class: 'poster small', alt: '', src: e.poster_image_url || null, hidden: !e.poster_image_url });
  const file = h('input', { type: 'file', accept: 'image/*', 'aria-label': t('poster'), 'data-testid': 'poster-file' });
  const uploadMsg = h('div', { 'aria-live': 'polite' });
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
      uploadMsg.replaceChildren(notice(err.status === 404 ? 'info' : 'error', err.status === 404 ? t('upload_missing') : errText(err)));
    }
  } }, t('upload'));
  const layoutSel = h('select', { name: 'seatLayoutId', id: 'f-seatLayoutId', disabled: !isNew }, h('option', { value: '' }, t('none')),
    layouts.map((l) => h('option', { value: l.id, selected: l.id === e.seat_layout_id }, `${l.name} (${l.total_seats})`)));
  const form = h('form', { class: 'admin-form', onsubmit: async (ev) => {
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
    if (isNew && fd.get('seatLayoutId')) body.seatLayoutId = fd.get('seatLayoutId');
    try {
      const r = await api(isNew ? '/api/admin/events' : `/api/admin/events/${id}`, { method: isNew ? 'POST' : 'PUT', body });
      sessionStorage.setItem('tiketi.flash', t(isNew ? 'created' : 'saved'));
      go(`/admin/events/${r.event.id}`, isNew);
      if (!isNew) eventForm(main, id);
    } catch (err) { msg.replaceChildren(showFieldErrors(form, err)); }
  } },
  field('title', t('title'), inp('title', 'text', e.title, { required: true })),
  field('artistName', t('artist'), inp('artistName', 'text', e.artist_name)),
  field('venue', t('venue'), inp('venue', 'text', e.venue, { required: true })),
  field('address', t('address'), inp('address', 'text', e.address)),
  field('description', t('description'), h('textarea', { name: 'description', rows: 3 }, e.description || '')),
  field('eventDate', t('event_date'), inp('eventDate', 'datetime-local', toInputDate(e.event_date), { required: true })),
  field('saleStartDate', t('sale_start'), inp('saleStartDate', 'datetime-local', toInputDate(e.sale_start_date), { required: true })),
  field('saleEndDate', t('sale_end'), inp('saleEndDate', 'datetime-local', toInputDate(e.sale_end_date), { required: true })),
  field('seatLayoutId', t('layout'), layoutSel),
  h('fieldset', {}, h('legend', {}, t('poster')), preview, h('div', { class: 'row' }, file, upload), uploadMsg, field('posterImageUrl', t('poster_url'), posterUrl)),
  msg,
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'save-event' }, t(isNew ? 'create' : 'save')),
    !isNew && e.status !== 'cancelled' ? h('button', { type: 'button', class: 'danger', 'data-testid': 'cancel-event', onclick: async () => {
      if (!confirm(t('confirm_cancel_event'))) return;
      try {
        const r = await api(`/api/admin/events/${id}/cancel`, { method: 'POST' });
        const owed = r.refundsNeeded?.length || 0;
        sessionStorage.setItem('tiketi.flash', owed ? t('event_cancelled_owed', { n: owed }) : t('event_cancelled_ok', { n: r.cancelledPaidReservations ?? 0 }));
        eventForm(main, id);
      } catch (err) { msg.replaceChildren(notice('error', err)); }
    } }, t('cancel_event')) : null));
  // What the last action did (saved, created, cancelled) shows at the top, where the eye lands.
  const flash = sessionStorage.getItem('tiketi.flash');
  if (flash) sessionStorage.removeItem('tiketi.flash');
  // (replaceChildren would print a null as the text "null": leave the absent parts out.)
  main.replaceChildren(...[adminNav('events'), h('h1', {}, isNew ? t('new_event') : e.title, ' ', e.status ? chip(e.status) : null),
    flash ? notice('ok', flash) : null, form,
    !isNew ? h('p', {}, h('a', { href: `#/admin/queue/${id}` }, t('queue')), ' · ', h('a', { href: `#/events/${id}` }, t('home'))) : null].filter(Boolean));
  window.scrollTo(0, 0);
}

export async function queueControl(main, id) {
  if (!guard(main)) return;
  const msg = h('div', { 'aria-live': 'assertive' });
  let list = [];
  try { list = await allEvents(); } catch (e) { main.replaceChildren(adminNav('queue'), h('h1', {}, t('queue')), notice('error', e)); return; }
  const sel = h('select', { 'aria-label': t('choose_event'), 'data-testid': 'queue-event', onchange: () => go(`/admin/queue/${sel.value}`) },
    h('option', { value: '' }, t('choose_event')), list.map((e) => h('option', { value: e.id, selected: e.id === id }, e.title)));
  main.replaceChildren(adminNav('queue'), h('h1', {}, t('queue')), sel, msg);
  if (!id) return;
  const numbers = h('div', { class: 'stats', 'aria-live': 'polite' });
  const inp = (name, value, extra = {}) => h('input', { name, id: `q-${name}`, type: 'number', min: 0, value: value ?? '', ...extra });
  const form = h('form', { class: 'admin-form' });
  const render = (v) => numbers.replaceChildren(
    stat(t('waiting'), v.queueSize, 'q-waiting'), stat(t('active'), v.currentUsers, 'q-active'), stat(t('threshold'), v.threshold, 'q-threshold'),
    stat(t('free_slots'), v.available), stat(t('admitted_min'), v.admittedLastMin ?? '–'), stat(t('status'), v.paused ? t('paused') : t('running'), 'q-state'));
  const load = async () => { try { render(await api(`/api/queue/admin/${id}`)); } catch (e) { msg.replaceChildren(notice('error', e)); } };
  let settings;
  try { settings = await api(`/api/queue/admin/${id}/settings`); } catch (e) { msg.replaceChildren(notice('error', e)); return; }
  // Our own words for what happened (the server's message is English only).
  const action = (label, path, done, testid, confirmText) => h('button', { type: 'button', 'data-testid': testid, onclick: async () => {
    if (confirmText && !confirm(confirmText)) return;
    try { const r = await api(path, { method: 'POST' }); msg.replaceChildren(notice('ok', done(r))); load(); } catch (e) { msg.replaceChildren(notice('error', e)); }
  } }, label);
  form.append(
    h('label', { class: 'radio' }, h('input', { type: 'checkbox', name: 'enabled', checked: settings.enabled }), t('enabled')),
    h('label', { class: 'field' }, h('span', {}, t('threshold')), inp('threshold', settings.threshold, { min: 1, required: true })),
    h('label', { class: 'field' }, h('span', {}, t('admit_per_tick')), inp('admitPerTick', settings.admitPerTick)),
    h('label', { class: 'field' }, h('span', {}, t('tick_ms')), inp('tickMs', settings.tickMs, { min: 50 })),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'save-queue' }, t('save')),
      action(t('pause'), `/api/queue/admin/pause/${id}`, () => t('paused_ok'), 'q-pause'),
      action(t('resume'), `/api/queue/admin/resume/${id}`, () => t('resumed_ok'), 'q-resume'),
      action(t('clear'), `/api/queue/admin/clear/${id}`, (r) => t('cleared_ok', { w: r?.removed?.waiting ?? 0, a: r?.removed?.active ?? 0 }), 'q-clear', t('confirm_clear'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const num = (k) => (fd.get(k) === '' ? null : Number(fd.get(k)));
    try {
      // Only what the operator changed: an untouched tick stays "the processor's default".
      const wanted = { enabled: fd.get('enabled') === 'on', threshold: num('threshold'), admitPerTick: num('admitPerTick'), tickMs: num('tickMs') };
      const body = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => v !== (settings[k] ?? null)));
      settings = await api(`/api/queue/admin/${id}/settings`, { method: 'PUT', body });
      msg.replaceChildren(notice('ok', t('saved')));
      load();
    } catch (e) { msg.replaceChildren(notice('error', e)); }
  });
  main.append(numbers, form);
  await load();
  every(2000, load);
}

/** Reads a stats route that may not exist yet: null on 404 (the stats service grows elsewhere). */
async function optional(path) {
  try { return await api(path); } catch (e) { if (e.status === 404) return null; throw e; }
}

export async function statsPage(main) {
  if (!guard(main)) return;
  const body = h('div', {}, notice('info', t('loading')));
  main.replaceChildren(adminNav('stats'), h('h1', {}, t('stats')), body);
  await loadChartJs();
  try {
    // Every stats answer is `{success, data}` (the original's wrapper).
    const ov = (await optional('/api/stats/overview'))?.data ?? null;
    const o = ov ?? {};
    const events = (await allEvents()).filter((e) => e.status === 'on_sale' || e.status === 'upcoming').slice(0, 12);
    const queues = await Promise.all(events.map(async (e) => ({ e, q: await api(`/api/queue/admin/${e.id}`).catch(() => null) })));
    const daily = await optional('/api/stats/daily?days=14');
    const salesCanvas = h('canvas', { 'aria-label': t('sales_chart'), role: 'img', 'data-testid': 'sales-chart' });
    const queueCanvas = h('canvas', { 'aria-label': t('queue_chart'), role: 'img', 'data-testid': 'queue-chart' });
    body.replaceChildren(
      ov ? h('div', { class: 'stats' }, stat(t('users'), o.total_users ?? '–'), stat(t('active_events'), o.active_events ?? '–'), stat(t('total_res'), o.total_reservations ?? '–'),
        stat(t('confirmed_res'), o.confirmed_reservations ?? '–'), stat(t('revenue'), won(o.total_revenue ?? 0)), stat(t('payments'), o.completed_payments ?? '–')) : notice('info', t('unavailable_stat')),
      h('div', { class: 'charts' },
        h('figure', { class: 'chart' }, h('figcaption', {}, t('sales_chart')), h('div', { class: 'chart-box' }, salesCanvas)),
        h('figure', { class: 'chart' }, h('figcaption', {}, t('queue_chart')), h('div', { class: 'chart-box' }, queueCanvas))));
    const Chart = window.Chart;
    // `data` is the list of days, newest first: the chart reads left to right, oldest first.
    const rows = Array.isArray(daily?.data) ? [...daily.data].reverse() : null;
    const sales = rows && rows.length
      ? { labels: rows.map((d) => String(d.date).slice(0, 10)), datasets: [{ label: t('revenue'), data: rows.map((d) => Number(d.revenue ?? 0)), yAxisID: 'y' }, { label: t('reservations'), data: rows.map((d) => Number(d.reservations ?? 0)), yAxisID: 'y1', type: 'line' }] }
      : { labels: [t('total_res'), t('confirmed_res'), t('payments')], datasets: [{ label: t('overview'), data: [o.total_reservations ?? 0, o.confirmed_reservations ?? 0, o.completed_payments ?? 0] }] };
    const charts = [
      new Chart(salesCanvas, { type: 'bar', data: sales, options: { animation: false, maintainAspectRatio: false, scales: rows?.length ? { y: { beginAtZero: true }, y1: { beginAtZero: true, position: 'right' } } : { y: { beginAtZero: true } } } }),
      new Chart(queueCanvas, { type: 'bar', data: { labels: queues.map(({ e }) => e.title.slice(0, 18)), datasets: [
        { label: t('waiting'), data: queues.map(({ q }) => q?.queueSize ?? 0) },
        { label: t('active'), data: queues.map(({ q }) => q?.currentUsers ?? 0) },
        { label: t('threshold'), data: queues.map(({ q }) => (q?.enabled ? q.threshold : null)) }] }, options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } } }),
    ];
    onLeave(() => charts.forEach((c) => c.destroy()));
    every(5000, async () => {
      const fresh = await Promise.all(events.map((e) => api(`/api/queue/admin/${e.id}`).catch(() => null)));
      const ds = charts[1].data.datasets;
      ds[0].data = fresh.map((q) => q?.queueSize ?? 0); ds[1].data = fresh.map((q) => q?.currentUsers ?? 0); ds[2].data = fresh.map((q) => (q?.enabled ? q.threshold : null));
      charts[1].update();
    });
  } catch (e) { showError(body, e); }
}

let chartJs = null;
/** Chart.js is a UMD bundle (no ESM build without a bundler): load it once as a classic script. */
function loadChartJs() {
  if (window.Chart) return Promise.resolve();
  chartJs ||= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/chart.umd.min.js';
    s.onload = resolve;
    s.onerror = () => reject(new Error('chart library failed to load'));
    document.head.append(s);
  });
  return chartJs;
}
