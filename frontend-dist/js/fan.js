// The fan's pages: home (events by status, sale countdowns, search), event page, sign in and
// register, waiting room, seat map, payment, result, and my reservations with QR codes.
import { api, session, randomHex } from './api.js';
import { t, won, when, span, waitText, errText } from './i18n.js';
import { h, go, route, notice, showError, showFieldErrors, clearFieldErrors, chip, liveSocket, badge, every, onLeave, cleanup } from './ui.js';
import { seatPicker } from './seatmap.js';
import { isGeneralAdmission, shopPath, reservationLines } from './ga.js';
import { timedApi, serverNow, clockOffset, admissionClock, deadlineClock, syncClock } from './clock.js';
import qrcode from '../vendor/qrcode-generator.mjs';
import { loadTossPayments, ANONYMOUS } from '../vendor/tosspayments-sdk.mjs';

const MAX_SEATS = 4; // the server's default MAX_SEATS_PER_FAN; the server has the last word.
const STATUS_ORDER = ['on_sale', 'upcoming', 'sold_out', 'ended', 'cancelled'];

function countdown(e) {
  const now = Date.now();
  const start = Date.parse(e.sale_start_date), end = Date.parse(e.sale_end_date);
  if (e.status === 'upcoming' && start > now) return { key: 'opens_in', at: start };
  if (e.status === 'on_sale' && end > now) return { key: 'closes_in', at: end };
  return null;
}

function eventCard(e) {
  const cd = countdown(e);
  const timer = cd ? h('span', { class: 'countdown', 'data-at': cd.at, 'data-key': cd.key }, t(cd.key, { t: span(cd.at - Date.now()) })) : null;
  return h('li', { class: 'card' },
    h('a', { href: `#/events/${e.id}`, class: 'card-link' },
      e.poster_image_url ? h('img', { src: e.poster_image_url, alt: '', loading: 'lazy', class: 'poster' }) : h('div', { class: 'poster placeholder', 'aria-hidden': 'true' }, (e.title || '?').slice(0, 1)),
      h('div', { class: 'card-body' },
        chip(e.status),
        h('h3', {}, e.title),
        h('p', { class: 'muted' }, [e.artist_name, e.venue].filter(Boolean).join(' · ')),
        h('p', {}, when(e.event_date)),
        e.min_price != null ? h('p', { class: 'price' }, t('from_price', { p: won(e.min_price) })) : null,
        timer)));
}

/** Ticks every countdown on the page once a second. */
function tickCountdowns() {
  every(1000, () => document.querySelectorAll('.countdown[data-at]').forEach((el) => {
    el.textContent = t(el.dataset.key, { t: span(Number(el.dataset.at) - Date.now()) });
  }));
}

export async function home(main) {
  const q = route().query.get('q') || '';
  const status = route().query.get('status') || '';
  const form = h('form', { class: 'search', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const v = form.q.value.trim();
    go(v ? `/?q=${encodeURIComponent(v)}` : '/');
  } },
  h('label', { for: 'q', class: 'visually-hidden' }, t('search')),
  h('input', { id: 'q', name: 'q', type: 'search', value: q, placeholder: t('search_ph') }),
  h('button', { type: 'submit' }, t('search')));
  const tabs = h('nav', { class: 'tabs', 'aria-label': t('status') },
    ['', ...STATUS_ORDER.slice(0, 2)].map((s) => h('a', { href: `#/?${new URLSearchParams({ ...(q && { q }), ...(s && { status: s }) })}`, 'aria-current': s === status ? 'page' : null }, t(s || 'all'))));
  const list = h('div', { 'aria-live': 'polite' }, notice('info', t('loading')));
  main.replaceChildren(h('h1', {}, t('home_title')), form, tabs, list);
  try {
    const params = new URLSearchParams({ limit: '100' });
    if (q) params.set('q', q);
    if (status) params.set('status', status);
    const { events } = await api(`/api/events?${params}`, { anonymous: true });
    if (!events.length) { list.replaceChildren(notice('info', t('no_events'))); return; }
    const groups = STATUS_ORDER.map((s) => [s, events.filter((e) => e.status === s)]).filter(([, es]) => es.length);
    list.replaceChildren(...groups.map(([s, es]) => h('section', { class: 'group', 'data-status': s },
      h('h2', {}, t(s), ' ', h('span', { class: 'muted' }, `(${es.length})`)),
      h('ul', { class: 'cards' }, es.map(eventCard)))));
    tickCountdowns();
  } catch (e) { showError(list, e); }
}

/** How long before sale start the line opens to early fans (they wait on the pre-sale page). */
const EARLY_LINE_MS = 60 * 60 * 1000;
/** localStorage key remembering that this browser's fan stands in an event's line. */
const inLineKey = (id) => `tiketi.inline.${id}`;

/** Prices on the event page: per ticket type, or per section of the event's seat layout. */
async function pricesOf(e, ticketTypes) {
  // Ticket types say when they are sold out, in words (not colour alone).
  if (ticketTypes?.length) return { heading: t('ev_tickets'), rows: ticketTypes.map((tt) => [tt.name, tt.price, tt.available_quantity != null && Number(tt.available_quantity) <= 0]) };
  if (!e.seat_layout_id) return null;
  try {
    const { layouts } = await api('/api/seats/layouts', { anonymous: true });
    const sections = layouts.find((l) => l.id === e.seat_layout_id)?.layout_config?.sections || [];
    if (!sections.length) return null;
    return { heading: t('sale_prices_by_section'), rows: sections.map((x) => [t('sale_section', { s: x.name }), x.price]) };
  } catch { return null; }
}

export async function eventPage(main, id) {
  main.replaceChildren(notice('info', t('loading')));
  try {
    const { event: e, ticketTypes, saleStart: saleStartIso } = await timedApi(`/api/events/${id}`, { anonymous: true });
    const saleStart = Date.parse(saleStartIso || e.sale_start_date);
    const saleEnd = Date.parse(e.sale_end_date);
    const prices = await pricesOf(e, ticketTypes);
    // The sale window by the server's clock: a page left open before the start becomes bookable
    // at the start by itself (no reload).
    const openNow = () => e.status === 'on_sale' || (e.status === 'upcoming' && serverNow() >= saleStart && serverNow() < saleEnd);
    const chipSlot = h('span', {});
    const timer = h('p', { class: 'countdown big', 'data-testid': 'sale-countdown' });
    const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'sale-announce' });
    const action = h('div', { class: 'event-actions', 'data-testid': 'event-actions' });
    const lineSlot = h('div', {});
    // Ticket-type events are booked on the quantity picker (which checks the queue first);
    // before the start everyone waits in the line.
    const bookPath = isGeneralAdmission(e, ticketTypes) ? `/events/${id}/tickets` : `/events/${id}/queue`;
    const toPath = (path) => () => {
      if (!session.token) go(`/login?next=${encodeURIComponent(path)}`);
      else go(path);
    };
    const toQueue = toPath(`/events/${id}/queue`);
    let state = null;
    const render = () => {
      const now = serverNow();
      const open = openNow();
      const next = open ? 'open' : (e.status === 'upcoming' && now < saleStart ? (saleStart - now <= EARLY_LINE_MS ? 'early' : 'soon') : 'closed');
      if (e.status === 'upcoming' && now < saleStart) timer.textContent = t('opens_in', { t: span(saleStart - now) });
      else if (open && saleEnd > now) timer.textContent = t('closes_in', { t: span(saleEnd - now) });
      else timer.textContent = '';
      if (next === state) return;
      const was = state;
      state = next;
      chipSlot.replaceChildren(chip(open ? 'on_sale' : e.status));
      if (next === 'open') {
        action.replaceChildren(h('button', { class: 'primary big', 'data-testid': 'book', onclick: toPath(bookPath) }, t('book')));
        if (was) announce.textContent = t('sale_now_open');
      } else if (next === 'early') {
        action.replaceChildren(
          h('button', { class: 'primary big', 'data-testid': 'wait-early', onclick: toQueue }, t('sale_wait_early')),
          h('p', { class: 'muted' }, t('sale_wait_early_note')));
      } else if (next === 'soon') {
        action.replaceChildren(notice('info', t('sale_opens_at', { at: when(saleStart) })));
      } else {
        action.replaceChildren(notice('info', t('not_on_sale')));
      }
    };
    const hasPoster = Boolean(e.poster_image_url);
    main.replaceChildren(h('article', { class: `event-page${hasPoster ? '' : ' no-poster'}` },
      hasPoster ? h('img', { src: e.poster_image_url, alt: e.title, class: 'poster big' }) : null,
      h('div', { class: 'event-main' },
        chipSlot,
        h('h1', {}, e.title),
        h('dl', { class: 'facts' },
          e.artist_name ? [h('dt', {}, t('artist')), h('dd', {}, e.artist_name)] : null,
          h('dt', {}, t('date')), h('dd', {}, when(e.event_date)),
          h('dt', {}, t('venue')), h('dd', {}, [e.venue, e.address].filter(Boolean).join(', ')),
          h('dt', {}, t('sale')), h('dd', {}, `${when(e.sale_start_date)} – ${when(e.sale_end_date)}`)),
        timer,
        lineSlot,
        action,
        announce,
        prices ? h('section', { class: 'prices', 'data-testid': 'prices' }, h('h2', {}, prices.heading),
          h('ul', { class: 'types' }, prices.rows.map(([name, price, soldOut]) => h('li', { 'data-soldout': soldOut ? 'true' : null }, h('span', {}, name), h('strong', {}, won(price)), soldOut ? h('span', { class: 'chip sold_out', 'data-testid': 'type-sold-out' }, t('sold_out')) : null)))) : null,
        e.description ? h('p', { class: 'description' }, e.description) : null)));
    render();
    every(250, render);
    const flash = sessionStorage.getItem('tiketi.flash');
    if (flash) { sessionStorage.removeItem('tiketi.flash'); main.prepend(notice('ok', flash)); }
    // In line already (this browser joined): say where, with the way back to the line.
    if (session.token && localStorage.getItem(inLineKey(id))) {
      try {
        const s = await api(`/api/queue/status/${id}`, { noRedirect: true });
        if (s.status === 'queued') {
          lineSlot.replaceChildren(h('p', { class: 'notice info in-line', role: 'status' },
            s.position != null ? t('sale_in_line_at', { n: s.position }) : t('sale_in_line'), ' ',
            h('a', { href: `#/events/${id}/queue`, 'data-testid': 'back-to-line' }, t('sale_back_to_line'))));
        } else if (s.status === 'active' && s.admissionExpiresAt) {
          lineSlot.replaceChildren(h('p', { class: 'notice ok in-line', role: 'status' }, t('sale_your_turn'), ' ',
            h('a', { href: `#/events/${id}/${isGeneralAdmission(e, ticketTypes) ? 'tickets' : 'seats'}`, 'data-testid': 'back-to-seats' }, t('sale_back_to_seats'))));
        } else localStorage.removeItem(inLineKey(id));
      } catch { /* the page works without it */ }
    }
  } catch (e) { showError(main, e); }
}

/** True when the server offers the Google redirect sign-in (its public config says so). */
async function googleAvailable() {
  try {
    const cfg = await api('/api/auth/config', { anonymous: true });
    return cfg?.google?.redirect === true;
  } catch { return false; }
}

export function authPage(main, mode) {
  const next = route().query.get('next') || '/';
  const msg = h('div', { 'aria-live': 'assertive' });
  const field = (name, type, label, extra = {}) => h('label', { class: 'field' }, h('span', {}, label), h('input', { name, type, required: extra.optional ? null : true, autocomplete: extra.ac, minlength: extra.min, ...(extra.attrs || {}) }));
  const form = h('form', { class: 'auth', onsubmit: async (ev) => {
    ev.preventDefault();
    const fd = Object.fromEntries(new FormData(form));
    if (!fd.phone) delete fd.phone;
    form.querySelector('button[type=submit]').disabled = true;
    clearFieldErrors(form);
    msg.replaceChildren();
    try {
      const body = await api(`/api/auth/${mode}`, { body: fd });
      // REGISTRATION_MODE=verify-first: no session until the mailed link is opened.
      if (body.verificationRequired) { form.replaceChildren(notice('ok', t('check_email'))); return; }
      session.set(body.token, body.user);
      go(next, true);
    } catch (e) {
      // A duplicate email is about the email field: said under it too.
      msg.replaceChildren(showFieldErrors(form, e, { email_taken: ['email', 'field_email_taken'] }));
    } finally { form.querySelector('button[type=submit]').disabled = false; }
  } },
  h('h1', {}, t(mode === 'login' ? 'sign_in' : 'register')),
  mode === 'register' ? field('name', 'text', t('name'), { ac: 'name' }) : null,
  field('email', 'email', t('email'), { ac: 'email' }),
  field('password', 'password', t('password'), { ac: mode === 'login' ? 'current-password' : 'new-password', min: mode === 'register' ? 8 : null }),
  mode === 'register' ? h('small', { class: 'muted' }, t('password_hint')) : null,
  mode === 'register' ? field('phone', 'tel', t('phone'), { optional: true, ac: 'tel' }) : null,
  msg,
  h('button', { type: 'submit', class: 'primary' }, t(mode === 'login' ? 'sign_in' : 'register')),
  h('p', {}, t(mode === 'login' ? 'no_account' : 'have_account'), ' ',
    h('a', { href: `#/${mode === 'login' ? 'register' : 'login'}?next=${encodeURIComponent(next)}` }, t(mode === 'login' ? 'register' : 'sign_in'))));
  const googleSlot = h('div', { class: 'google-slot' });
  main.replaceChildren(form, googleSlot);
  googleAvailable().then((yes) => {
    if (!yes) return;
    const returnTo = `/#${next}`;
    googleSlot.replaceChildren(h('a', { class: 'button google', href: `/api/auth/google/start?returnTo=${encodeURIComponent(returnTo)}` }, t('google')));
  });
}

/**
 * The mailed verification link lands here (`#/verify-email?token=`). Opening the link changes
 * nothing: the fan confirms with the button, so a mail scanner that fetches links cannot verify
 * an address (or finish a registration) for them.
 */
export function verifyEmailPage(main) {
  const token = route().query.get('token') || '';
  const msg = h('div', { 'aria-live': 'assertive' });
  const button = h('button', { class: 'primary', 'data-testid': 'confirm-email', onclick: async () => {
    button.disabled = true;
    try {
      const body = await api('/api/auth/verify-email', { body: { token }, anonymous: true });
      if (session.token && session.user?.id === body.user?.id) session.set(session.token, body.user);
      msg.replaceChildren(notice('ok', t('email_verified_ok')),
        session.token ? null : h('a', { class: 'button', href: '#/login' }, t('sign_in')));
      button.remove();
    } catch (e) { button.disabled = false; msg.replaceChildren(notice('error', t('email_verified_bad'))); }
  } }, t('confirm_email'));
  main.replaceChildren(h('h1', {}, t('confirm_email')), h('p', {}, t('confirm_email_text')), token ? button : notice('error', t('email_verified_bad')), msg);
}

/** Sends to sign-in (and back here afterwards) when no one is signed in; true when signed in. */
function needSession() {
  if (session.token) return true;
  go(`/login?next=${encodeURIComponent(route().raw)}`, true);
  return false;
}

/** A time limit in seconds as exact words ("10 min", "45 s"). */
const limitText = (sec) => (sec % 60 === 0 ? t('sale_minutes', { n: sec / 60 }) : sec < 60 ? t('seconds', { n: sec }) : waitText(sec));

/**
 * ETA smoothing: the shown wait counts down by itself between answers, and a new estimate moves
 * it only part of the way (and by at most half of it at once), so it never jumps from 20 min to
 * 1 min; while admissions are paused it stands still.
 */
function etaSmoother() {
  let shown = null;
  let at = 0;
  return {
    update(estimate) {
      if (estimate == null) return shown;
      const now = Date.now();
      if (shown == null) { shown = estimate; at = now; return shown; }
      const current = Math.max(0, shown - (now - at) / 1000);
      const step = (estimate - current) * 0.35;
      const cap = Math.max(30, current * 0.5);
      shown = Math.max(0, current + Math.max(-cap, Math.min(cap, step)));
      at = now;
      return shown;
    },
    current(paused) {
      if (shown == null) return null;
      const now = Date.now();
      if (paused) { at = now; return shown; }
      shown = Math.max(0, shown - (now - at) / 1000);
      at = now;
      return shown;
    },
  };
}

export async function waitingRoom(main, id) {
  if (!needSession()) return;
  const conn = badge();
  const title = h('h1', {}, t('waiting_room'));
  const eventBox = h('div', { class: 'queue-event', 'data-testid': 'queue-event' });
  const presale = h('section', { class: 'presale', 'data-testid': 'presale', hidden: true });
  const posEl = h('strong', { class: 'position', 'data-testid': 'position' }, '–');
  const aheadEl = h('p', { 'data-testid': 'ahead' });
  const sizeEl = h('p', { class: 'muted' });
  const waitEl = h('p', { 'data-testid': 'wait' });
  const pausedEl = h('p', { class: 'notice info', role: 'status', 'data-testid': 'paused', hidden: true }, t('sale_paused'));
  const opMsg = h('div', { 'data-testid': 'operator-message', role: 'status' });
  const spoken = h('p', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'position-announce' });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': t('position') });
  const info = h('div', { class: 'queue-info' });
  const msg = h('div', { 'aria-live': 'polite' });
  let firstPosition = null;
  let done = false;
  let paused = false;
  let saleStart = null;
  let preQueue = false;
  let position = null;
  // Before the line opens the server answers a join with `status: 'upcoming'` (not in line, not
  // admitted): `upcoming` holds that answer's times (server ms) until the page joins again.
  let upcoming = null;
  let joining = false;
  let lastSpoken = { position: null, at: 0 };
  const eta = etaSmoother();
  const markInLine = (yes) => { if (yes) localStorage.setItem(inLineKey(id), '1'); else localStorage.removeItem(inLineKey(id)); };
  const beforeSale = () => saleStart != null && serverNow() < saleStart;
  const showWait = () => {
    const sec = eta.current(paused);
    if (paused) { waitEl.textContent = t('sale_eta_paused'); return; }
    if (beforeSale()) { waitEl.textContent = ''; return; }
    waitEl.textContent = sec != null ? t('est_wait', { t: waitText(sec) }) : '';
  };
  const showPresale = () => {
    if (upcoming) { showUpcoming(); return; }
    if (!beforeSale()) { presale.hidden = true; return; }
    presale.hidden = false;
    presale.replaceChildren(
      h('h2', {}, t('sale_presale_title')),
      h('p', { class: 'presale-at' }, t('sale_opens_at', { at: when(saleStart) })),
      h('p', { class: 'countdown big', 'data-testid': 'presale-countdown', role: 'timer' }, t('opens_in', { t: span(saleStart - serverNow()) })),
      h('p', { 'data-testid': 'presale-rule' }, preQueue ? t('sale_presale_draw') : t('sale_presale_fifo')));
  };
  /** The pre-sale box before the line opens: when it opens (or the sale, for a queue turned off) and what happens then. */
  const showUpcoming = () => {
    const now = serverNow();
    const lineLater = upcoming.queueEnabled && upcoming.lineOpensAt > now && upcoming.lineOpensAt < upcoming.saleStart;
    const target = lineLater ? upcoming.lineOpensAt : upcoming.saleStart;
    presale.hidden = false;
    presale.replaceChildren(
      h('h2', {}, t('sale_presale_title')),
      lineLater ? h('p', { class: 'presale-at', 'data-testid': 'line-opens-at' }, t('sale_line_opens_at', { at: when(upcoming.lineOpensAt) })) : null,
      h('p', { class: 'presale-at' }, t('sale_opens_at', { at: when(upcoming.saleStart) })),
      h('p', { class: 'countdown big', 'data-testid': 'presale-countdown', role: 'timer' },
        t(lineLater ? 'line_opens_in' : 'opens_in', { t: span(Math.max(0, target - now)) })),
      h('p', { 'data-testid': 'presale-rule' }, t(lineLater ? 'sale_upcoming_line_rule' : 'sale_upcoming_sale_rule')));
  };
  /** An `upcoming` answer: nobody is in line or admitted yet; wait, then join again by itself. */
  const waitForLine = (r) => {
    const saleAt = Date.parse(r.saleStart);
    const lineAt = Date.parse(r.lineOpensAt || r.saleStart);
    upcoming = { saleStart: saleAt, lineOpensAt: Number.isFinite(lineAt) ? lineAt : saleAt, queueEnabled: r.queueEnabled !== false, retryAt: 0 };
    if (Number.isFinite(saleAt)) saleStart = saleAt;
    if (!socket) conn.el.hidden = true; // no live connection before the line opens
    markInLine(false);
    position = null;
    posEl.textContent = '–';
    aheadEl.textContent = t('sale_not_in_line_yet');
    [waitEl, sizeEl].forEach((el) => { el.textContent = ''; });
    bar.value = 0;
    showUpcoming();
  };
  /** The answer to a join or a status read: upcoming, admitted, or a place in line. */
  const handle = (r) => {
    if (r?.status === 'upcoming') { waitForLine(r); return; }
    if (!r.queued) { admitted(); return; }
    upcoming = null;
    markInLine(true);
    show(r);
    startLive();
  };
  /** Joins again once the line (or, for a queue turned off, the sale) opens by the server's clock. */
  const joinWhenOpen = async () => {
    if (!upcoming || joining || done) return;
    const now = serverNow();
    const at = upcoming.queueEnabled ? Math.min(upcoming.lineOpensAt, upcoming.saleStart) : upcoming.saleStart;
    if (now < at || now < upcoming.retryAt) return;
    joining = true;
    upcoming.retryAt = now + 2000; // the same answer again (clocks a little apart): try shortly after
    try { handle(await timedApi(`/api/queue/check/${id}`, { method: 'POST', noRedirect: true })); }
    catch (e) { msg.replaceChildren(notice('error', e)); }
    finally { joining = false; }
  };
  const setMessage = (m) => {
    if (typeof m === 'string' && m.trim()) opMsg.replaceChildren(h('p', { class: 'notice info operator' }, h('strong', {}, t('sale_operator_says')), ' ', m));
  };
  const setPaused = (p) => {
    if (typeof p !== 'boolean') return;
    paused = p;
    pausedEl.hidden = !p;
    showWait();
  };
  const announce = (p) => {
    // Polite, and only when the place really moved and not more than every 20 s (a reconnect
    // repeats the same place and says nothing); the last three places are always said.
    const now = Date.now();
    if (lastSpoken.position === p) return;
    if (lastSpoken.position != null && now - lastSpoken.at < 20_000 && p > 3) return;
    if (lastSpoken.position == null) { lastSpoken = { position: p, at: now }; return; }
    lastSpoken = { position: p, at: now };
    spoken.textContent = t('sale_now_at', { n: p });
  };
  const show = (p) => {
    if (typeof p.serverTime === 'number') syncClock(p.serverTime);
    if (p.saleStart) saleStart = Date.parse(p.saleStart);
    if (p.preQueue != null) preQueue = Boolean(p.preQueue);
    setPaused(p.paused);
    setMessage(p.message);
    if (p.admissionTtlSec) {
      info.replaceChildren(
        h('p', { 'data-testid': 'shopping-limit' }, t('sale_shopping_limit', { t: limitText(p.admissionTtlSec) })),
        h('p', { class: 'muted' }, t('sale_on_admission', { t: limitText(p.admissionTtlSec) })));
    }
    showPresale();
    if (p.preQueue && p.position == null) {
      posEl.textContent = '–';
      aheadEl.textContent = t('sale_in_draw');
      if (p.queueSize != null) sizeEl.textContent = t('queue_size', { n: p.queueSize });
      return;
    }
    if (p.position == null) return;
    position = p.position;
    if (firstPosition == null || p.position > firstPosition) firstPosition = p.position;
    posEl.textContent = String(p.position);
    aheadEl.textContent = t('ahead', { n: Math.max(0, p.position - 1) });
    if (p.queueSize != null) sizeEl.textContent = t('queue_size', { n: p.queueSize });
    // Before the sale the server's estimate counts the time to the start; the pre-sale box shows
    // that, so only the wait after the start is smoothed.
    if (p.estimatedWait != null) {
      const after = beforeSale() ? Math.max(0, p.estimatedWait - (saleStart - serverNow()) / 1000) : p.estimatedWait;
      eta.update(after);
    }
    showWait();
    announce(p.position);
    bar.value = firstPosition > 1 ? Math.round(((firstPosition - p.position) / (firstPosition - 1)) * 100) : (p.position <= 1 ? 90 : 0);
  };
  const admitted = () => {
    if (done) return;
    done = true;
    markInLine(false);
    bar.value = 100;
    msg.replaceChildren(notice('ok', t('admitted')));
    // The seat map, or the ticket picker for a general-admission event.
    setTimeout(async () => go(await shopPath(id), true), 600);
  };
  const leave = h('button', { class: 'secondary', 'data-testid': 'leave', onclick: async () => {
    const ask = position != null ? t('sale_confirm_leave_at', { n: position }) : t('sale_confirm_leave');
    if (!confirm(ask)) return;
    done = true;
    markInLine(false);
    try { await api(`/api/queue/leave/${id}`, { method: 'POST' }); sessionStorage.setItem('tiketi.flash', t('left_queue')); } catch { /* leaving anyway */ }
    go(`/events/${id}`);
  } }, t('leave_queue'));
  main.replaceChildren(h('section', { class: 'queue-room' },
    h('div', { class: 'row between' }, title, conn.el),
    eventBox, opMsg, presale,
    h('div', { class: 'queue-box' }, h('span', { class: 'muted' }, t('position')), posEl, aheadEl, bar, pausedEl, waitEl, sizeEl, spoken),
    info,
    h('p', { class: 'muted' }, t('keep_open')), msg, leave));
  // The event itself, beside the line (what the fan waits for).
  api(`/api/events/${id}`, { anonymous: true }).then(({ event: e }) => {
    eventBox.replaceChildren(h('p', { class: 'queue-event-title' }, h('strong', {}, e.title)),
      h('p', { class: 'muted' }, [when(e.event_date), e.venue].filter(Boolean).join(' · ')));
  }).catch(() => {});
  // The line's live pushes, from the moment the fan has a place in it.
  let socket = null;
  function startLive() {
    if (socket || done) return;
    conn.el.hidden = false;
    socket = liveSocket(conn.set);
    socket.on('connect', () => socket.emit('join-queue', { eventId: id }));
    socket.on('queue-position', (p) => { if (p.eventId === id && !upcoming) show(p); });
    socket.on('queue-entry-allowed', (p) => { if ((!p.eventId || p.eventId === id) && !upcoming) admitted(); });
    socket.on('queue-message', (p) => { if (p?.eventId === id) setMessage(p.message); });
    // Cleared by an operator: the place is gone; the fan may join again (at the tail).
    socket.on('queue-cleared', onCleared);
  }
  function onCleared(p) {
    if (p.eventId !== id) return;
    done = true;
    markInLine(false);
    posEl.textContent = '–';
    [aheadEl, waitEl, sizeEl].forEach((el) => { el.textContent = ''; });
    bar.value = 0;
    leave.hidden = true;
    msg.replaceChildren(notice('error', t('queue_cleared')),
      h('button', { class: 'primary', 'data-testid': 'rejoin', onclick: () => { cleanup(); waitingRoom(main, id); } }, t('rejoin')));
  }
  try {
    const r = await timedApi(`/api/queue/check/${id}`, { method: 'POST' });
    if (r.eventInfo?.title) title.textContent = `${t('waiting_room')} · ${r.eventInfo.title}`;
    handle(r);
    if (done) return;
  } catch (e) { showError(msg, e); return; }
  every(1000, () => {
    if (done) return;
    showWait();
    if (upcoming || saleStart != null) showPresale();
    joinWhenOpen();
  });
  // The status poll keeps the place (it counts as a sign of life, like the heartbeat) and brings
  // what pushes do not: a pause, an operator's message, the server's clock; it also covers a
  // missed push or a broken socket.
  every(5000, async () => {
    if (done || joining) return;
    try {
      const s = await timedApi(`/api/queue/status/${id}`, { noRedirect: true });
      // Before the line opens the status says `upcoming` too: never an admission.
      if (s.status === 'upcoming') { waitForLine(s); return; }
      if (s.status === 'active') { admitted(); return; }
      if (s.status === 'not_in_queue') {
        if (upcoming) { joinWhenOpen(); return; } // joins by itself when the line opens
        handle(await timedApi(`/api/queue/check/${id}`, { method: 'POST', noRedirect: true }));
      } else { upcoming = null; show(s); }
    } catch (e) { msg.replaceChildren(notice('error', e)); }
  });
}

export async function seatMap(main, id) {
  if (!needSession()) return;
  main.replaceChildren(notice('info', t('loading')));
  let data, status, held;
  try {
    status = await timedApi(`/api/queue/check/${id}`, { method: 'POST' });
    // In line, or before the line opens (`upcoming`: never an admission): the waiting room.
    if (status.queued || status.status === 'upcoming') { go(`/events/${id}/queue`, true); return; }
    [data, held] = await Promise.all([api(`/api/seats/events/${id}`), myPendingHold(id)]);
  } catch (e) { showError(main, e); return; }
  // The shopping clock and the fan's own pending hold, above the map (see `saleTop`).
  let picker;
  const top = saleTop(main, id, status, held, { onLapse: () => picker?.lapse() });
  const conn = badge();
  // The grid, overview, best available, legend, selection and hold: seatmap.js.
  picker = seatPicker(data, { eventId: id, max: MAX_SEATS, hold: async (seatIds) => {
    const r = await api('/api/seats/reserve', { body: { eventId: id, seatIds } });
    go(`/pay/${r.reservation.id}`);
  } });
  main.replaceChildren(h('section', {},
    h('div', { class: 'row between' }, h('h1', {}, `${t('seat_select')} · ${data.event.title}`), conn.el),
    top.el,
    picker.el));
  top.mounted();
  const socket = liveSocket(conn.set);
  let connectedBefore = false;
  socket.on('connect', () => {
    socket.emit('join-seat-selection', { eventId: id });
    // Back after a dropped socket: catch up on the holds and releases missed meanwhile.
    if (connectedBefore) api(`/api/seats/events/${id}`).then((d) => picker.sync(d.seats)).catch(() => {});
    connectedBefore = true;
  });
  socket.on('seat-selected', (p) => { if (p.eventId === id) p.seatIds.forEach((sid) => picker.setStatus(sid, 'locked')); });
  socket.on('seats-released', (p) => { if (p.eventId === id) p.seatIds.forEach((sid) => picker.setStatus(sid, 'available')); });
}

/** The fan's own pending, unexpired hold for `eventId` (the newest), or null. */
async function myPendingHold(eventId) {
  try {
    const { reservations } = await api('/api/reservations/my');
    return reservations.find((r) => r.event_id === eventId && r.status === 'pending' && !r.isExpired && Date.parse(r.expires_at) > serverNow()) || null;
  } catch { return null; }
}

/**
 * The top of a shopping page (seat map; the general-admission page may use it too): the
 * admission's countdown when the queue gave one, and the fan's own pending hold shown as theirs
 * with "continue payment" (instead of a second hold) or "release and choose again". When the
 * admission lapses the page's seat buttons and its hold button are disabled and the clock offers
 * the way back to the queue: nothing was held, nothing is left held.
 */
export function saleTop(main, eventId, status, held, { onLapse } = {}) {
  const el = h('div', { class: 'sale-top', 'data-testid': 'sale-top' });
  const mine = new Set((held?.seats || []).map((x) => x.id || x.seatId));
  const markMine = () => mine.forEach((sid) => {
    const b = main.querySelector(`.seat[data-id="${sid}"]`);
    if (!b) return;
    b.dataset.status = 'mine-held';
    b.disabled = true;
    b.setAttribute('aria-label', `${b.dataset.label} ${t('sale_your_hold')}`);
  });
  if (status?.admissionExpiresAt) {
    const clock = admissionClock(eventId, Date.parse(status.admissionExpiresAt), clockOffset(), {
      onExpire: () => (onLapse ? onLapse() : main.querySelectorAll('button.seat, [data-testid=hold]').forEach((b) => { b.disabled = true; b.setAttribute('aria-pressed', 'false'); })),
    });
    el.append(clock.el);
  }
  if (held) {
    const labels = (held.seats || []).map((x) => x.seat_label).join(', ') || (held.items || []).map((i) => `${i.ticketTypeName} × ${i.quantity}`).join(', ');
    const box = h('div', { class: 'notice info own-hold', role: 'status', 'data-testid': 'own-hold' },
      h('p', {}, h('strong', {}, t('sale_your_hold')), ': ', labels, ' · ', won(held.total_amount)),
      h('div', { class: 'row' },
        h('a', { class: 'button primary', href: `#/pay/${held.id}`, 'data-testid': 'continue-payment' }, t('continue_pay')),
        h('button', { type: 'button', 'data-testid': 'release-hold', onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await api(`/api/reservations/${held.id}/cancel`, { method: 'POST' });
            mine.forEach((sid) => { const b = main.querySelector(`.seat[data-id="${sid}"]`); if (b) { b.dataset.status = 'available'; b.disabled = false; b.setAttribute('aria-label', `${b.dataset.label} ${t('available')}`); } });
            mine.clear();
            box.replaceChildren(h('p', {}, t('sale_hold_released')));
          } catch (e) { ev.target.disabled = false; box.append(notice('error', e)); }
        } }, t('sale_release_hold'))));
    el.append(box);
  }
  return { el, mounted: markMine };
}

async function loadReservation(id) {
  const { reservation } = await api(`/api/reservations/${id}`);
  return reservation;
}

/**
 * Payment. The server's public payment config decides how: with TossPayments (`widget`), Toss'
 * own payment widget is loaded from its SDK (the vendored loader fetches it from Toss) and pays by
 * redirect to `/pay/:id/success` or `/pay/:id/fail`; with the sandbox, the fan picks a sandbox
 * method here and the browser confirms a sandbox key.
 */
export async function payPage(main, id) {
  if (!needSession()) return;
  main.replaceChildren(notice('info', t('loading')));
  let r, cfg;
  try {
    [r, cfg] = await Promise.all([loadReservation(id), api('/api/payments/config', { anonymous: true })]);
  } catch (e) { showError(main, e); return; }
  const eventId = r.event_id;
  // A general-admission hold (ticket lines, no seats) goes back to its quantity picker.
  const shop = (r.seats || []).length || !(r.items || []).length ? 'seats' : 'tickets';
  const chooseAgain = () => [
    h('a', { class: 'button primary', href: `#/events/${eventId}/${shop}`, 'data-testid': 'choose-again' }, t('sale_choose_again')),
    h('a', { class: 'button', href: `#/events/${eventId}`, 'data-testid': 'back-to-event' }, t('sale_back_to_event'))];
  // An expired hold: nothing to pay; offer to choose again.
  if (r.status === 'expired' || (r.status === 'pending' && r.isExpired)) {
    main.replaceChildren(h('section', { class: 'narrow' }, h('h1', {}, t('hold_expired')),
      h('p', { 'data-testid': 'hold-expired' }, t('sale_hold_over')), h('div', { class: 'row' }, chooseAgain())));
    return;
  }
  if (r.status !== 'pending') { go(`/result/${id}`, true); return; }
  const msg = h('div', { 'aria-live': 'assertive' });
  const payBtn = h('button', { type: 'submit', class: 'primary big', 'data-testid': 'pay' }, t('pay', { p: won(r.total_amount) }));
  let expired = false;
  const holdEnds = Date.parse(r.expires_at);
  // The time to pay is the hold's, or the admission's when that ends first (paying needs both).
  // The heartbeat brings the server's clock and the admission's end, and keeps the page honest
  // when the admission ends on the server.
  let admissionEnds = Infinity;
  const left = deadlineClock({
    deadlineMs: holdEnds,
    label: t('sale_clock_hold'),
    warnText: t('sale_clock_warn_hold'),
    expiredText: t('sale_hold_over'),
    testid: 'hold-left',
    actions: chooseAgain,
    onExpire: async () => {
      expired = true;
      payBtn.disabled = true;
      // Let the seats go now rather than at the sweeper's next round: nothing is left held.
      try { await api(`/api/reservations/${id}/cancel`, { method: 'POST', noRedirect: true }); } catch { /* the sweeper releases it */ }
    },
  });
  const beat = async () => {
    if (!eventId || left.expired()) return;
    try {
      const hb = await timedApi(`/api/queue/heartbeat/${eventId}`, { method: 'POST', noRedirect: true });
      if (hb.admissionExpiresAt) admissionEnds = Date.parse(hb.admissionExpiresAt);
      else if (hb.status !== 'active') admissionEnds = serverNow();
      left.setDeadline(Math.min(holdEnds, admissionEnds));
    } catch { /* next beat */ }
  };
  const summary = h('div', { class: 'summary' }, h('h2', {}, r.event_title), h('p', {}, when(r.event_date), ' · ', r.venue),
    h('p', {}, `${t('reservation_no')} ${r.reservation_number}`),
    h('p', { 'data-testid': 'lines' }, reservationLines(r)),
    h('p', { class: 'price' }, won(r.total_amount)));
  const prepare = () => api('/api/payments/prepare', { body: { reservationId: id, amount: r.total_amount } });
  const failed = (e) => {
    // In doubt: the server is checking with the provider; paying again could charge twice.
    if (IN_DOUBT.includes(e?.code)) { msg.replaceChildren(inDoubt(id, e)); return; }
    msg.replaceChildren(notice('error', `${t('pay_failed')}: ${errText(e)}`));
    payBtn.disabled = expired;
  };
  let form;
  if (cfg.provider === 'toss') {
    form = tossForm(r, id, cfg, { msg, payBtn, prepare, failed });
  } else {
    // The fan-facing sandbox methods the server offers (its timeout/lost-answer drills are left out).
    const methods = ['card', 'kakao_pay', 'naver_pay', 'bank_transfer', 'sandbox_decline'].filter((m) => !cfg.sandboxMethods || cfg.sandboxMethods.includes(m));
    form = h('form', { class: 'pay', onsubmit: async (ev) => {
      ev.preventDefault();
      const method = new FormData(form).get('method');
      payBtn.disabled = true;
      msg.replaceChildren(notice('info', t('loading')));
      try {
        const prep = await prepare();
        // The sandbox stands in for the provider's checkout window: the browser makes the key.
        const paymentKey = `sandbox_${method}_${randomHex()}`;
        const res = await api('/api/payments/confirm', { body: { paymentKey, orderId: prep.orderId, amount: prep.amount } });
        if (res?.status === 'awaiting_deposit') { main.replaceChildren(depositPanel(id, res)); return; }
        go(`/result/${id}`, true);
      } catch (e) { failed(e); }
    } },
    h('fieldset', {}, h('legend', {}, t('method')),
      methods.map((m, i) => h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'method', value: m, checked: i === 0 }), t(m)))),
    h('p', { class: 'muted' }, t('sandbox_note')), msg, payBtn);
  }
  main.replaceChildren(h('section', { class: 'narrow' }, h('h1', {}, t('payment')), summary, left.el, form));
  beat();
  every(15_000, beat);
  form.dispatchEvent(new Event('mounted'));
}

/**
 * The TossPayments widget: payment methods and the terms, rendered by Toss' SDK into this page
 * once it is in the document ('mounted'); paying prepares the order here and hands it to
 * `widgets.requestPayment`, which leaves for Toss and comes back by redirect.
 */
function tossForm(r, id, cfg, { msg, payBtn, prepare, failed }) {
  const methodsBox = h('div', { id: 'toss-payment-methods', 'data-testid': 'toss-methods' });
  const agreementBox = h('div', { id: 'toss-agreement' });
  let widgets = null;
  payBtn.disabled = true;
  const form = h('form', { class: 'pay toss', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!widgets) return;
    payBtn.disabled = true;
    msg.replaceChildren(notice('info', t('to_toss')));
    try {
      const prep = await prepare();
      if (Number(prep.amount) !== Number(r.total_amount)) await widgets.setAmount({ currency: 'KRW', value: Number(prep.amount) });
      const back = (outcome) => `${location.origin}/pay/${id}/${outcome}`;
      const user = session.user || {};
      await widgets.requestPayment({
        orderId: prep.orderId,
        orderName: `${r.event_title} · ${r.reservation_number}`.slice(0, 100),
        successUrl: back('success'),
        failUrl: back('fail'),
        ...(user.email && { customerEmail: user.email }),
        ...(user.name && { customerName: user.name }),
      });
    } catch (e) {
      if (e?.code === 'USER_CANCEL') { msg.replaceChildren(notice('info', t('toss_cancelled'))); payBtn.disabled = false; return; }
      failed(e);
    }
  } }, methodsBox, agreementBox, msg, payBtn);
  form.addEventListener('mounted', async () => {
    if (!cfg.widget || !cfg.clientKey) { msg.replaceChildren(notice('error', t('toss_unconfigured'))); return; }
    msg.replaceChildren(notice('info', t('toss_loading')));
    try {
      const toss = await loadTossPayments(cfg.clientKey);
      const w = toss.widgets({ customerKey: session.user?.id || ANONYMOUS });
      await w.setAmount({ currency: 'KRW', value: Number(r.total_amount) });
      await Promise.all([
        w.renderPaymentMethods({ selector: `#${methodsBox.id}`, variantKey: 'DEFAULT' }),
        w.renderAgreement({ selector: `#${agreementBox.id}`, variantKey: 'AGREEMENT' }),
      ]);
      widgets = w;
      msg.replaceChildren();
      payBtn.disabled = Date.parse(r.expires_at) <= serverNow();
    } catch (e) {
      msg.replaceChildren(notice('error', t('toss_load_failed')));
    }
  }, { once: true });
  return form;
}

/**
 * Where TossPayments sends the browser back. Success: `?paymentKey&orderId&amount` go to the
 * server's confirm (idempotent, so a reload is harmless), then to the result. Failure:
 * `?code&message&orderId`, shown in words with a way to try again.
 */
export async function tossReturn(main, id, outcome) {
  if (!needSession()) return;
  const q = route().query;
  const again = h('a', { class: 'button primary', href: `#/pay/${id}`, 'data-testid': 'try-again' }, t('try_again'));
  if (outcome === 'fail') {
    // Toss' own message is Korean; a closed checkout gets our words in the fan's language too.
    const code = q.get('code') || '';
    const tossWords = q.get('message') || '';
    const words = code === 'PAY_PROCESS_CANCELED' ? t('toss_cancelled') : (tossWords || t('pay_failed'));
    main.replaceChildren(h('section', { class: 'narrow result' },
      h('h1', { 'data-testid': 'result' }, t('pay_failed')),
      notice('error', words),
      code ? h('p', { class: 'muted' }, [tossWords !== words ? tossWords : '', code].filter(Boolean).join(' · ')) : null,
      h('div', { class: 'row' }, again, h('a', { class: 'button', href: '#/me' }, t('view_tickets')))));
    return;
  }
  main.replaceChildren(notice('info', t('confirming')));
  const paymentKey = q.get('paymentKey');
  const orderId = q.get('orderId');
  const amount = Number(q.get('amount'));
  if (!paymentKey || !orderId || !Number.isFinite(amount)) { main.replaceChildren(notice('error', t('bad_return')), again); return; }
  try {
    const res = await api('/api/payments/confirm', { body: { paymentKey, orderId, amount } });
    // A virtual account: 202 with where to pay; the tickets come with the deposit.
    if (res?.status === 'awaiting_deposit') { main.replaceChildren(depositPanel(id, res)); return; }
    go(`/result/${id}`, true);
  } catch (e) {
    if (IN_DOUBT.includes(e?.code)) {
      main.replaceChildren(h('section', { class: 'narrow result' },
        h('h1', { 'data-testid': 'result' }, t('pay_checking')), inDoubt(id, e)));
      return;
    }
    main.replaceChildren(h('section', { class: 'narrow result' },
      h('h1', { 'data-testid': 'result' }, t('pay_failed')), notice('error', e), h('div', { class: 'row' }, again)));
  }
}

/** Answers that mean "the outcome is not known yet; do not pay again" (409s with Retry-After). */
const IN_DOUBT = ['payment_in_doubt', 'payment_in_progress'];

/** The server's own words for an in-doubt payment, and a way to check instead of paying again. */
function inDoubt(id, e) {
  return h('div', { 'data-testid': 'in-doubt' },
    notice('info', e),
    h('p', { class: 'muted' }, t('pay_in_doubt')),
    h('div', { class: 'row' },
      h('a', { class: 'button primary', href: `#/result/${id}`, 'data-testid': 'check-reservation' }, t('check_reservation')),
      h('a', { class: 'button', href: '#/me' }, t('view_tickets'))));
}

/** Where to transfer the money for a virtual account, and until when the seats are held. */
function depositPanel(id, res) {
  const p = res.payment || {};
  const va = p.virtualAccount || {};
  const until = p.holdUntil || p.depositDueAt || va.dueDate;
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value || '-')];
  return h('section', { class: 'narrow result' },
    h('h1', { 'data-testid': 'result' }, t('awaiting_deposit')),
    notice('info', t('deposit_note')),
    h('dl', { class: 'deposit', 'data-testid': 'deposit' },
      row(t('deposit_bank'), va.bankCode),
      row(t('deposit_account'), va.accountNumber),
      row(t('deposit_holder'), va.customerName),
      row(t('amount'), p.amount != null ? won(p.amount) : ''),
      row(t('deposit_due'), until ? when(until) : '')),
    h('div', { class: 'row' },
      h('a', { class: 'button primary', href: `#/result/${id}`, 'data-testid': 'check-reservation' }, t('check_reservation'))));
}

export async function resultPage(main, id) {
  if (!needSession()) return;
  try {
    const r = await loadReservation(id);
    const ok = r.status === 'confirmed';
    main.replaceChildren(h('section', { class: 'narrow result' },
      h('h1', { 'data-testid': 'result' }, ok ? t('paid') : t(r.status)),
      h('p', {}, `${t('reservation_no')} ${r.reservation_number}`),
      h('p', {}, r.event_title, ' · ', when(r.event_date)),
      h('p', { 'data-testid': 'lines' }, reservationLines(r)),
      h('p', { class: 'price' }, won(r.total_amount)),
      ok ? qr(r) : null,
      h('div', { class: 'row' },
        h('a', { class: 'button primary', href: '#/me' }, t('view_tickets')),
        r.status === 'pending' ? h('a', { class: 'button', href: `#/pay/${id}` }, t('continue_pay')) : null)));
  } catch (e) { showError(main, e); }
}

/** The QR code of a confirmed ticket, as an SVG, encoding its reservation number and id. */
function qr(r) {
  const code = qrcode(0, 'M');
  code.addData(`TIKETI:${r.reservation_number}:${r.id}`);
  code.make();
  const box = h('figure', { class: 'qr', 'data-testid': 'qr' });
  box.innerHTML = code.createSvgTag({ cellSize: 4, margin: 2, scalable: true, alt: t('qr_label') });
  box.append(h('figcaption', {}, `${t('qr_label')} · ${r.reservation_number}`));
  return box;
}

export async function myPage(main) {
  if (!needSession()) return;
  const msg = h('div', { 'aria-live': 'assertive' });
  const list = h('div', {}, notice('info', t('loading')));
  main.replaceChildren(h('h1', {}, t('my')), msg, list);
  let reservations, payments = [];
  try {
    ({ reservations } = await api('/api/reservations/my'));
    try { ({ payments } = await api('/api/payments/user/me?limit=100')); } catch { payments = []; }
  } catch (e) { showError(list, e); return; }
  if (!reservations.length) { list.replaceChildren(notice('info', t('no_reservations'))); return; }
  const keyOf = (rid) => payments.find((p) => p.reservation_id === rid && p.payment_key && ['completed', 'approved'].includes(p.ledger_status))?.payment_key;
  list.replaceChildren(h('ul', { class: 'tickets' }, reservations.map((r) => {
    const paid = r.status === 'confirmed';
    const cancellable = r.status === 'pending' || r.status === 'confirmed';
    const cancel = cancellable ? h('button', { class: 'danger', 'data-testid': 'cancel', onclick: async () => {
      if (!confirm(t('confirm_cancel'))) return;
      cancel.disabled = true;
      try {
        const key = paid && keyOf(r.id);
        if (key) {
          const res = await api(`/api/payments/${encodeURIComponent(key)}/cancel`, { body: { cancelReason: 'requested by the fan' } });
          sessionStorage.setItem('tiketi.flash', t('refund_done', { p: won(res.refundAmount) }));
        } else {
          await api(`/api/reservations/${r.id}/cancel`, { method: 'POST' });
          sessionStorage.setItem('tiketi.flash', t('cancelled_ok'));
        }
        myPage(main);
      } catch (e) { msg.replaceChildren(notice('error', e)); cancel.disabled = false; }
    } }, t(paid ? 'cancel_refund' : 'cancel_res')) : null;
    return h('li', { class: 'ticket', 'data-id': r.id, 'data-status': r.status },
      h('div', {},
        h('div', { class: 'row' }, chip(r.status), r.payment_status && r.payment_status !== 'pending' ? chip(r.payment_status) : null),
        h('h2', {}, r.event_title),
        h('p', {}, when(r.event_date), ' · ', r.venue),
        h('p', {}, `${t('reservation_no')} ${r.reservation_number}`),
        h('p', { 'data-testid': 'lines' }, reservationLines(r)),
        h('p', { class: 'price' }, won(r.total_amount)),
        h('div', { class: 'row' },
          r.status === 'pending' ? h('a', { class: 'button primary', href: `#/pay/${r.id}` }, t('continue_pay')) : null,
          cancel)),
      paid ? qr(r) : null);
  })));
  const flash = sessionStorage.getItem('tiketi.flash');
  if (flash) { sessionStorage.removeItem('tiketi.flash'); msg.replaceChildren(notice('ok', flash)); }
}

export { onLeave };
