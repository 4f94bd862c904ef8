// The server's clock and the shopping clocks. Every time limit that matters (sale start, the
// admission, the hold) is decided by the server, so the client counts by the server's clock: the
// offset between `serverTime` in an answer and the device clock, taken at the middle of the
// request. `admissionClock` is the countdown of an admission (seat map, general admission);
// `deadlineClock` is the same component for any deadline (the hold on the payment page).
import { api } from './api.js';
import { t, span } from './i18n.js';
import { h, every } from './ui.js';

let offset = 0;

/** Takes the server's clock from an answer's `serverTime` (ms), sent at `sentAt` (device ms). */
export function syncClock(serverTime, sentAt = Date.now(), receivedAt = Date.now()) {
  if (typeof serverTime !== 'number' || !Number.isFinite(serverTime)) return offset;
  offset = serverTime - Math.round((sentAt + receivedAt) / 2);
  return offset;
}

/** The server's time now, in Unix ms (device clock + the last offset taken). */
export const serverNow = () => Date.now() + offset;
/** The last offset taken (server minus device, ms). */
export const clockOffset = () => offset;

/** `api()` that also takes the server's clock from the answer's `serverTime`. */
export async function timedApi(path, opts) {
  const sentAt = Date.now();
  const r = await api(path, opts);
  syncClock(r?.serverTime, sentAt, Date.now());
  return r;
}

/**
 * A countdown to `deadlineMs` (server time), shown as "<label> 04:32" in a `role=timer` box.
 * A minute before the end (`warnMs`) a warning is read out once (role=alert); at the end the box
 * says `expiredText`, shows `actions()` (the way back) and calls `onExpire()` once.
 * Returns `{el, setDeadline(ms), expire(), expired()}`.
 */
export function deadlineClock({ deadlineMs, label, warnText, expiredText, actions = () => [], onExpire = () => {}, testid = 'clock', warnMs = 60_000, serverOffset }) {
  if (typeof serverOffset === 'number') offset = serverOffset;
  let deadline = deadlineMs;
  let warned = false;
  let over = false;
  const time = h('strong', { class: 'clock-time', 'data-testid': `${testid}-time` });
  const timer = h('p', { class: 'clock-line', role: 'timer', 'aria-atomic': 'true' }, h('span', {}, label), ' ', time);
  const alert = h('div', { class: 'clock-alert', role: 'alert', 'data-testid': `${testid}-warning` });
  const way = h('div', { class: 'row clock-way', hidden: true });
  const el = h('section', { class: 'shop-clock', 'data-testid': testid, 'aria-label': label }, timer, alert, way);
  const expire = () => {
    if (over) return;
    over = true;
    el.dataset.state = 'expired';
    time.textContent = '00:00';
    alert.replaceChildren(h('span', {}, expiredText));
    way.replaceChildren(...[].concat(actions()).filter(Boolean));
    way.hidden = false;
    onExpire();
  };
  const tick = () => {
    if (over) return;
    const left = deadline - serverNow();
    if (left <= 0) { expire(); return; }
    time.textContent = span(left);
    if (left <= warnMs && !warned) {
      warned = true;
      el.dataset.state = 'warning';
      alert.replaceChildren(h('span', {}, warnText));
    }
  };
  tick();
  every(1000, tick);
  return {
    el,
    setDeadline(ms) { if (Number.isFinite(ms) && !over) { deadline = ms; if (deadline - serverNow() > warnMs && warned) { warned = false; el.dataset.state = ''; alert.replaceChildren(); } tick(); } },
    expire,
    expired: () => over,
  };
}

/**
 * The admission's countdown for `eventId`, ending at `expiresAtMs` (server time; `serverOffset`
 * = server minus device ms, from the answer that admitted the fan). It sends the queue heartbeat
 * (`POST /api/queue/heartbeat/:eventId`) every 15 s, follows the end it reports, and ends at once
 * when the server says the admission is over. When the admission lapses it offers to join the
 * queue again and calls `opts.onExpire()` (the page drops its selection: nothing is held).
 */
export function admissionClock(eventId, expiresAtMs, serverOffset, opts = {}) {
  const clock = deadlineClock({
    deadlineMs: expiresAtMs,
    serverOffset,
    label: t('sale_clock_admission'),
    warnText: t('sale_clock_warn_admission'),
    expiredText: t('sale_clock_admission_over'),
    testid: 'admission-clock',
    onExpire: opts.onExpire,
    actions: () => [h('a', { class: 'button primary', href: `#/events/${eventId}/queue`, 'data-testid': 'rejoin-queue' }, t('rejoin')),
      h('a', { class: 'button', href: `#/events/${eventId}` }, t('sale_back_to_event'))],
  });
  const beat = async () => {
    if (clock.expired()) return;
    try {
      const hb = await timedApi(`/api/queue/heartbeat/${eventId}`, { method: 'POST', noRedirect: true });
      if (hb.admissionExpiresAt) clock.setDeadline(Date.parse(hb.admissionExpiresAt));
      else if (hb.status !== 'active' || hb.queued) clock.expire();
    } catch { /* the next beat tries again; the countdown keeps running meanwhile */ }
  };
  every(15_000, beat);
  return clock;
}
