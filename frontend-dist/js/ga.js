// General admission: the fan's quantity picker for an event sold by ticket type (no seat map).
// One row per ticket type with a stepper and a number input, the remaining count kept live over
// Socket.IO (`ticket-updated` in the event room), the per-fan limit the server enforces
// (`maxPerFan` of GET /api/tickets/event/:id, less what the fan already holds), a total, and
// `POST /api/reservations`, then the payment page. Admission is checked as for the seat map.
import { api, session } from './api.js';
import { t, won, errText } from './i18n.js';
import { h, go, route, notice, showError, liveSocket, badge } from './ui.js';
import { timedApi, clockOffset, admissionClock } from './clock.js';

/** The server's default MAX_SEATS_PER_FAN, used only when its answer does not say. */
const DEFAULT_MAX_PER_FAN = 4;

/** True when the event is sold by ticket type (no seat layout, at least one ticket type). */
export function isGeneralAdmission(event, ticketTypes) {
  return !event?.seat_layout_id && (ticketTypes?.length ?? 0) > 0;
}

/** Where an admitted fan shops for event `id`: the ticket picker or the seat map. */
export async function shopPath(id) {
  try {
    const { event, ticketTypes } = await api(`/api/events/${id}`, { anonymous: true });
    if (isGeneralAdmission(event, ticketTypes)) return `/events/${id}/tickets`;
  } catch { /* the seat map says what is wrong */ }
  return `/events/${id}/seats`;
}

/**
 * Words for a failed reservation in the page's language, from the error's code (and its
 * details): never the server's English sentence.
 */
export function gaError(e) {
  if (!e || e.code === 'network') return errText(e);
  const d = e.details || {};
  const vars = { name: d.ticketTypeName ?? '', n: d.available ?? d.limit ?? '', held: d.alreadyHeld ?? '' };
  let key = `ga_err_${e.code}`;
  if (e.code === 'sold_out' && d.ticketTypeName != null) key = d.available > 0 ? 'ga_err_sold_out_left' : 'ga_err_sold_out_type';
  if (e.code === 'ticket_limit_exceeded' && d.limit != null) { key = 'ga_err_limit_details'; vars.n = d.limit; }
  const text = t(key, vars);
  return text === key ? t('ga_err_other') : text;
}

/** The lines a reservation is for: its seats' labels, its ticket types with quantities. */
export function reservationLines(r) {
  const seats = (r.seats || []).map((s) => s.seat_label ?? s.seatLabel).filter(Boolean);
  const types = (r.items || []).filter((i) => i.seatLabel == null && i.seatId == null)
    .map((i) => `${i.ticketTypeName ?? i.ticket_type_name} × ${i.quantity}`);
  return [
    seats.length ? `${t('seats')}: ${seats.join(', ')}` : null,
    types.length ? `${t('ga_tickets')}: ${types.join(', ')}` : null,
  ].filter(Boolean).join(' · ') || `${t('seats')}: –`;
}

/** The fan's live reservations for `eventId`: confirmed, or pending and not expired. */
function liveFor(reservations, eventId) {
  const now = Date.now();
  return reservations.filter((r) => r.event_id === eventId && (r.status === 'confirmed' || (r.status === 'pending' && Date.parse(r.expires_at) > now)));
}

/** Tickets (seats and ticket-type tickets) in `reservations`, as the server counts them. */
const ticketCount = (reservations) => reservations.reduce((n, r) => n + (r.items || []).reduce((m, i) => m + Number(i.quantity || 0), 0), 0);

/** The picked quantities of an event's picker, kept for this tab (a language switch or a reload re-renders it). */
const picks = {
  key: (id) => `tiketi.ga.${id}`,
  load(id) { try { return JSON.parse(sessionStorage.getItem(this.key(id)) || '{}') || {}; } catch { return {}; } },
  save(id, rows) { sessionStorage.setItem(this.key(id), JSON.stringify(Object.fromEntries([...rows].filter(([, r]) => r.chosen > 0).map(([k, r]) => [k, r.chosen])))); },
  clear(id) { sessionStorage.removeItem(this.key(id)); },
};

export async function gaPage(main, id) {
  if (!session.token) { go(`/login?next=${encodeURIComponent(route().raw)}`, true); return; }
  main.replaceChildren(notice('info', t('loading')));
  let event, types, maxPerFan, held = 0, pending = null, status;
  try {
    status = await timedApi(`/api/queue/check/${id}`, { method: 'POST' });
    // In line, or before the line opens (`upcoming`: never an admission): the waiting room.
    if (status.queued || status.status === 'upcoming') { go(`/events/${id}/queue`, true); return; }
    const [detail, tickets, mine] = await Promise.all([
      api(`/api/events/${id}`, { anonymous: true }),
      api(`/api/tickets/event/${id}`, { anonymous: true }),
      api('/api/reservations/my').catch(() => ({ reservations: [] })),
    ]);
    event = detail.event;
    types = tickets.ticketTypes || [];
    if (!isGeneralAdmission(event, types)) { go(`/events/${id}/seats`, true); return; }
    maxPerFan = Number(tickets.maxPerFan) || DEFAULT_MAX_PER_FAN;
    const live = liveFor(mine.reservations || [], id);
    held = ticketCount(live);
    pending = live.find((r) => r.status === 'pending') || null;
  } catch (e) { showError(main, e); return; }

  const allowance = Math.max(0, maxPerFan - held);
  const conn = badge();
  const msg = h('div', { class: 'ga-msg', 'aria-live': 'assertive', 'data-testid': 'ga-msg' });
  const live = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const totalEl = h('p', { class: 'ga-total', 'data-testid': 'ga-total', 'aria-live': 'polite' });
  const buy = h('button', { type: 'submit', class: 'primary big', 'data-testid': 'ga-buy', disabled: true }, t('ga_buy'));
  const rows = new Map(); // ticket type id -> { type, chosen, input, minus, plus, left, li }

  const chosenTotal = () => [...rows.values()].reduce((n, r) => n + r.chosen, 0);
  /** The most of `row`'s type the fan may pick now: its remaining count, the limit left over. */
  const capOf = (row) => Math.max(0, Math.min(row.type.available_quantity, allowance - (chosenTotal() - row.chosen)));
  const render = () => {
    let amount = 0;
    for (const row of rows.values()) {
      const soldOut = row.type.available_quantity <= 0;
      const cap = capOf(row);
      row.li.dataset.soldout = soldOut ? 'true' : 'false';
      row.left.textContent = soldOut ? t('sold_out') : t('ga_left', { n: row.type.available_quantity });
      row.left.className = soldOut ? 'ga-left chip sold_out' : 'ga-left';
      row.input.value = String(row.chosen);
      row.input.max = String(cap);
      row.input.disabled = soldOut || (cap === 0 && row.chosen === 0);
      row.minus.disabled = row.chosen <= 0;
      row.plus.disabled = soldOut || row.chosen >= cap;
      amount += row.chosen * Number(row.type.price);
    }
    const n = chosenTotal();
    totalEl.textContent = n ? t('ga_total', { n, p: won(amount) }) : t('ga_pick');
    buy.disabled = n === 0;
  };
  const set = (row, value) => {
    const v = Number.isFinite(value) ? Math.trunc(value) : 0;
    row.chosen = Math.max(0, Math.min(v, capOf(row)));
    if (v > row.chosen) msg.replaceChildren(notice('info', row.chosen === row.type.available_quantity ? t('ga_only_left', { n: row.chosen, name: row.type.name }) : t('ga_limit_reached', { n: maxPerFan })));
    else msg.replaceChildren();
    picks.save(id, rows);
    render();
  };

  const list = h('ul', { class: 'ga-types' }, types.map((type) => {
    const inputId = `ga-qty-${type.id}`;
    const row = { type, chosen: 0 };
    row.input = h('input', { id: inputId, type: 'number', inputmode: 'numeric', min: 0, step: 1, value: 0, class: 'ga-input', 'data-testid': 'ga-qty',
      onchange: () => set(row, Number(row.input.value)) });
    row.minus = h('button', { type: 'button', class: 'ga-step', 'aria-label': t('ga_less', { name: type.name }), 'aria-controls': inputId, onclick: () => set(row, row.chosen - 1) }, '−');
    row.plus = h('button', { type: 'button', class: 'ga-step', 'aria-label': t('ga_more', { name: type.name }), 'aria-controls': inputId, onclick: () => set(row, row.chosen + 1) }, '+');
    row.left = h('span', { class: 'ga-left', 'data-testid': 'ga-left' });
    row.li = h('li', { class: 'ga-type', 'data-type-id': type.id, 'data-name': type.name },
      h('div', { class: 'ga-info' },
        h('h2', {}, type.name),
        h('p', { class: 'price' }, won(type.price)),
        type.description ? h('p', { class: 'muted' }, type.description) : null,
        row.left),
      h('div', { class: 'ga-stepper' },
        h('label', { for: inputId, class: 'visually-hidden' }, t('ga_qty', { name: type.name })),
        row.minus, row.input, row.plus));
    rows.set(type.id, row);
    return row.li;
  }));

  /** New remaining counts (from a push or a reload): clamp what the fan picked, say so. */
  const update = (typeId, available) => {
    const row = rows.get(typeId);
    if (!row || !Number.isFinite(available)) return;
    row.type.available_quantity = available;
    if (row.chosen > available) {
      row.chosen = Math.max(0, available);
      msg.replaceChildren(notice('error', available > 0 ? t('ga_reduced', { n: available, name: row.type.name }) : t('ga_err_sold_out_type', { name: row.type.name })));
    }
    if (available <= 0) live.textContent = t('ga_now_sold_out', { name: row.type.name });
    render();
  };

  const notAdmitted = () => h('a', { class: 'button', href: `#/events/${id}/queue`, 'data-testid': 'ga-to-queue' }, t('ga_to_queue'));
  const form = h('form', { class: 'ga-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const items = [...rows.values()].filter((r) => r.chosen > 0).map((r) => ({ ticketTypeId: r.type.id, quantity: r.chosen }));
    if (!items.length) return;
    buy.disabled = true;
    msg.replaceChildren(notice('info', t('loading')));
    try {
      const { reservation } = await api('/api/reservations', { body: { eventId: id, items } });
      picks.clear(id);
      go(`/pay/${reservation.id}`);
    } catch (e) {
      // replaceChildren writes a null out as the text "null": pass the way back only when there is one.
      msg.replaceChildren(notice('error', gaError(e)), ...(e.code === 'not_admitted' ? [notAdmitted()] : []));
      if (e.code === 'sold_out' && e.details?.ticketTypeId) update(e.details.ticketTypeId, Number(e.details.available));
      render();
    }
  } },
  list,
  h('div', { class: 'sticky-bar ga-bar' }, totalEl, msg, buy));

  const limitText = held > 0 ? t('ga_limit_held', { n: maxPerFan, held, left: allowance }) : t('ga_limit', { n: maxPerFan });
  const page = h('section', { class: 'ga-page', 'data-testid': 'ga-page' },
    // The shopping clock (js/clock.js): the admission's countdown, its heartbeat, the warning a
    // minute before and the way back; when it lapses nothing can be bought here.
    h('div', { 'data-slot': 'clock' }, status.admissionExpiresAt ? admissionClock(id, Date.parse(status.admissionExpiresAt), clockOffset(), {
      onExpire: () => main.querySelectorAll('.ga-step, .ga-input, [data-testid=ga-buy]').forEach((b) => { b.disabled = true; }),
    }).el : null),
    h('div', { class: 'row between' }, h('h1', {}, `${t('ga_title')} · ${event.title}`), conn.el),
    h('p', { class: 'ga-limit', 'data-testid': 'ga-limit' }, limitText),
    // A reservation of the fan's own still waiting for payment: finish it rather than start another.
    pending ? h('div', { class: 'notice info row between', 'data-testid': 'ga-pending' },
      h('span', {}, t('ga_pending', { no: pending.reservation_number })),
      h('a', { class: 'button primary', href: `#/pay/${pending.id}` }, t('continue_pay'))) : null,
    allowance === 0 ? notice('info', t('ga_limit_none')) : null,
    form, live);
  main.replaceChildren(page);
  // What the fan had picked before a language switch or a reload, within today's limits.
  Object.entries(picks.load(id)).forEach(([typeId, n]) => {
    const row = rows.get(typeId);
    if (row) row.chosen = Math.max(0, Math.min(Number(n) || 0, capOf(row)));
  });
  render();

  const socket = liveSocket(conn.set);
  let connectedBefore = false;
  socket.on('connect', async () => {
    socket.emit('join-event', { eventId: id });
    // A reconnect may have missed pushes: read the counts again.
    if (connectedBefore) {
      try {
        const { ticketTypes } = await api(`/api/tickets/event/${id}`, { anonymous: true });
        (ticketTypes || []).forEach((tt) => update(tt.id, Number(tt.available_quantity)));
      } catch { /* the next push corrects it */ }
    }
    connectedBefore = true;
  });
  // The server's answer to join-event: from now on this page gets the event room's pushes.
  socket.on('room-info', (p) => { if (p?.eventId === id) page.dataset.live = 'joined'; });
  socket.on('disconnect', () => { delete page.dataset.live; });
  socket.on('ticket-updated', (p) => {
    if (p?.eventId !== id) return;
    update(p.ticketTypeId, Number(p.availableQuantity ?? p.available_quantity));
  });
}
