// Small DOM helpers shared by the views: element builder, navigation, notices, live sockets.
import { io } from '../vendor/socket.io.esm.min.js';
import { session, refreshSession } from './api.js';
import { t, errText, fieldText, fieldLabel } from './i18n.js';

/** Builds an element: h('a', {href, class, onclick}, child, 'text', [children]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  const add = (c) => {
    if (c == null || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  };
  children.forEach(add);
  return el;
}

/** Navigates to a hash route ('/events/1'). */
export function go(path, replace = false) {
  const target = `#${path}`;
  if (replace) location.replace(target); else location.hash = target;
}

/** The current route (path after '#') without the query, and its query. */
export function route() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { path, query: new URLSearchParams(qs || ''), raw };
}

/** A message box: kind is 'error' | 'ok' | 'info'. Errors are read out (role=alert). */
export function notice(kind, content) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content instanceof Error ? errText(content) : content);
}

/**
 * Replaces the children of `el` with an error notice for `e`; when `el` is the page itself, the
 * page still gets its one heading (a screen reader lands on it after navigation).
 */
export function showError(el, e) {
  el.replaceChildren(...(el.id === 'main' ? [h('h1', {}, t('error_title'))] : []), notice('error', e));
}

/** Removes what `showFieldErrors` put on `form`. */
export function clearFieldErrors(form) {
  form.querySelectorAll('.field-error').forEach((el) => el.remove());
  form.querySelectorAll('[aria-invalid]').forEach((input) => {
    input.removeAttribute('aria-invalid');
    const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.endsWith('-err'));
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' ')); else input.removeAttribute('aria-describedby');
  });
}

let errSeq = 0;
/**
 * Shows a failed submit of `form`: each field the server named (`validation_failed`'s `fields`)
 * gets its problem, in the page's language, right under it (`aria-describedby`, `aria-invalid`),
 * and the first such field gets the focus. Returns the notice for the form's message area: the
 * error's sentence plus the problems of fields this form does not show. `codeFields` ties an error
 * code about one field to it: `{ email_taken: ['email', 'field_email_taken'] }` puts that key's
 * words under the `email` field.
 */
export function showFieldErrors(form, e, codeFields = {}) {
  clearFieldErrors(form);
  const rest = {};
  let first = null;
  const byCode = codeFields[e?.code];
  const entries = Object.entries(e?.fields || {}).map(([name, reason]) => [name, reason, null]);
  if (byCode) entries.push([byCode[0], null, t(byCode[1])]);
  for (const [name, reason, words] of entries) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) { if (reason != null) rest[name] = reason; continue; }
    input.id ||= `fld-${++errSeq}`;
    const id = `${input.id}-err`;
    const note = h('span', { class: 'field-error', id }, words ?? fieldText(reason));
    // After the label that wraps the input (text inside a label would join the input's name).
    const anchor = input.closest('label') || input;
    anchor.after(note);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
    input.addEventListener('input', () => { note.remove(); input.removeAttribute('aria-invalid'); }, { once: true });
    first ||= input;
  }
  first?.focus();
  const summary = errText(e, { fields: false });
  const others = Object.entries(rest).map(([k, v]) => `${fieldLabel(k)}: ${fieldText(v)}`);
  return notice('error', others.length ? `${summary} ${others.join(' ')}` : summary);
}

/** A status chip with its translated name. */
export const chip = (status) => h('span', { class: `chip ${status}` }, t(status));

/**
 * A Socket.IO connection for the current page, authenticated with the access token; reconnects
 * by itself. `onState('connected'|'connecting'|'disconnected')` drives the connection badge.
 * Closed by `cleanup()` when the page changes.
 */
export function liveSocket(onState) {
  const socket = io({ path: '/socket.io', auth: (cb) => cb({ token: session.token }), transports: ['websocket', 'polling'], reconnectionDelayMax: 4000 });
  onState('connecting');
  socket.on('connect', () => onState('connected'));
  socket.on('disconnect', () => onState('disconnected'));
  // A refusal at connect (typically an expired token) does not reconnect by itself: get a fresh
  // token through the refresh cookie and try again a little later; transport errors retry alone.
  let retry = null;
  socket.on('connect_error', () => {
    onState('disconnected');
    if (socket.active || retry) return;
    retry = setTimeout(async () => { await refreshSession(); retry = null; socket.connect(); }, 2000);
  });
  onLeave(() => clearTimeout(retry));
  socket.io.on('reconnect_attempt', () => onState('connecting'));
  onLeave(() => socket.close());
  return socket;
}

/** A connection badge element and a setter for it. */
export function badge() {
  const el = h('span', { class: 'badge connecting', role: 'status', 'aria-live': 'polite', 'data-testid': 'conn' }, t('connecting'));
  return { el, set: (state) => { el.className = `badge ${state}`; el.dataset.state = state; el.textContent = t(state); } };
}

let leaveFns = [];
/** Registers a function to run when the page changes (timers, sockets). */
export function onLeave(fn) { leaveFns.push(fn); }
/** Runs and forgets the page's cleanups. */
export function cleanup() { const fns = leaveFns; leaveFns = []; fns.forEach((f) => { try { f(); } catch { /* ignore */ } }); }
/** setInterval that stops when the page changes. */
export function every(ms, fn) { const id = setInterval(fn, ms); onLeave(() => clearInterval(id)); return id; }
