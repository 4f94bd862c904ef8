// Entry point: the header (navigation, language switch, account), the hash router, and the
// session bootstrap (a page load without an access token tries the refresh cookie once, which is
// also how a Google sign-in lands: the callback sets the cookie and redirects here).
import { session, onAuthChange, refreshSession, hooks } from './api.js';
import { t, getLang, setLang } from './i18n.js';
import { h, go, route, cleanup, showError } from './ui.js';
import * as fan from './fan.js';
import * as admin from './admin.js';
import { gaPage } from './ga.js';

const main = document.getElementById('main');
// The skip link moves focus without touching the hash (the hash is the client's route); no
// inline handler, so the content security policy can forbid inline scripts.
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
const nav = document.getElementById('nav');

const routes = [
  [/^\/$/, () => fan.home(main)],
  [/^\/events\/([\w-]+)$/, (id) => fan.eventPage(main, id)],
  [/^\/events\/([\w-]+)\/queue$/, (id) => fan.waitingRoom(main, id)],
  [/^\/events\/([\w-]+)\/seats$/, (id) => fan.seatMap(main, id)],
  [/^\/events\/([\w-]+)\/tickets$/, (id) => gaPage(main, id)],
  [/^\/pay\/([\w-]+)$/, (id) => fan.payPage(main, id)],
  [/^\/pay\/([\w-]+)\/(success|fail)$/, (id, outcome) => fan.tossReturn(main, id, outcome)],
  [/^\/result\/([\w-]+)$/, (id) => fan.resultPage(main, id)],
  [/^\/me$/, () => fan.myPage(main)],
  [/^\/login$/, () => fan.authPage(main, 'login')],
  [/^\/register$/, () => fan.authPage(main, 'register')],
  [/^\/verify-email$/, () => fan.verifyEmailPage(main)],
  [/^\/admin$/, () => admin.dashboard(main)],
  [/^\/admin\/events$/, () => admin.events(main)],
  [/^\/admin\/events\/([\w-]+)$/, (id) => admin.eventForm(main, id)],
  [/^\/admin\/reservations$/, () => admin.reservations(main)],
  [/^\/admin\/reservations\/([\w-]+)$/, (id) => admin.reservationDetail(main, id)],
  [/^\/admin\/queue(?:\/([\w-]+))?$/, (id) => admin.queueControl(main, id)],
  [/^\/admin\/stats$/, () => admin.statsPage(main)],
];

function renderNav() {
  const user = session.user;
  nav.replaceChildren(...[
    h('a', { href: '#/' }, t('home')),
    user ? h('a', { href: '#/me', 'data-testid': 'nav-me' }, t('my')) : null,
    user?.role === 'admin' ? h('a', { href: '#/admin', 'data-testid': 'nav-admin' }, t('admin')) : null,
    user ? h('button', { class: 'link', onclick: signOut }, t('sign_out'))
      : h('a', { href: `#/login?next=${encodeURIComponent(route().raw)}`, 'data-testid': 'nav-login' }, t('sign_in')),
    // The name holds the visible text ("English") after what the button does.
    h('button', { class: 'link lang', 'data-testid': 'lang', 'aria-label': t('lang_switch'), lang: getLang() === 'ko' ? 'en' : 'ko', onclick: switchLang }, t('lang')),
  ].filter(Boolean));
  nav.setAttribute('aria-label', t('main_nav'));
  document.querySelector('.tagline').textContent = t('brand_tag');
  document.querySelector('a.skip').textContent = t('skip');
}

/**
 * What the fan has entered or chosen on the page: every form control's value (by name or id)
 * and the chosen seats (elements with a `data-id` that are pressed or selected).
 */
function pageState() {
  const controls = [...main.querySelectorAll('input, select, textarea')].filter((el) => el.type !== 'file' && (el.name || el.id));
  return {
    controls: controls.map((el) => ({ key: el.name || el.id, id: el.id, type: el.type, value: el.value, checked: el.checked })),
    chosen: [...main.querySelectorAll('[data-id][aria-pressed=true], [data-id][aria-selected=true], [data-id][aria-checked=true]')].map((el) => el.dataset.id),
  };
}

/** Puts `state` back on the re-rendered page (as if typed and clicked, so the views update). */
function restoreState(state) {
  for (const c of state.controls) {
    const el = c.type === 'radio' || c.type === 'checkbox'
      ? [...main.querySelectorAll(`[name="${CSS.escape(c.key)}"]`)].find((x) => x.value === c.value) || (c.id && document.getElementById(c.id))
      : (c.id && document.getElementById(c.id)) || main.querySelector(`[name="${CSS.escape(c.key)}"]`);
    if (!el || !main.contains(el)) continue;
    if (c.type === 'radio' || c.type === 'checkbox') { if (el.checked === c.checked) continue; el.checked = c.checked; }
    else { if (el.value === c.value) continue; el.value = c.value; }
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }
  for (const id of state.chosen) {
    const el = main.querySelector(`[data-id="${CSS.escape(id)}"]`);
    const on = el && ['aria-pressed', 'aria-selected', 'aria-checked'].some((a) => el.getAttribute(a) === 'true');
    if (el && !on && !el.disabled) el.click();
  }
}

/** Switches the language in place: the page is drawn again with what was entered kept. */
async function switchLang() {
  const state = pageState();
  setLang(getLang() === 'ko' ? 'en' : 'ko');
  await render({ focus: false });
  restoreState(state);
  nav.querySelector('[data-testid=lang]')?.focus();
}

async function signOut() {
  // The cookie names the sign-in, and so does the access token (its `sid`): either ends it.
  const headers = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  try { await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin', headers }); } catch { /* signed out locally anyway */ }
  session.set(null, null);
  go('/');
}

let headingWatch = null;
/**
 * After a navigation the focus goes to the page's h1 (made focusable with tabindex=-1), so a
 * screen reader reads the new page and Tab continues from there; the header stays first in the
 * document. A view that draws its heading after loading is waited for (until the next page).
 * Focus the person has already moved into the page's content is left alone.
 */
function focusHeading() {
  headingWatch?.disconnect();
  const attempt = () => {
    const h1 = main.querySelector('h1');
    if (!h1) return false;
    const a = document.activeElement;
    if (a && a !== document.body && a !== main && main.contains(a)) return true;
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
    return true;
  };
  if (attempt()) return;
  headingWatch = new MutationObserver(() => { if (attempt()) headingWatch.disconnect(); });
  headingWatch.observe(main, { childList: true, subtree: true });
}

async function render({ focus = true } = {}) {
  cleanup();
  headingWatch?.disconnect();
  renderNav();
  const { path } = route();
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (m) {
      const done = Promise.resolve(view(...m.slice(1))).catch((e) => showError(main, e));
      if (focus) focusHeading();
      if (focus) window.scrollTo(0, 0);
      await done;
      return;
    }
  }
  main.replaceChildren(h('h1', {}, t('not_found')));
  if (focus) focusHeading();
}

// An expired session that cannot be refreshed: sign in, then come back to this page.
hooks.signInNeeded = () => {
  if (!route().path.startsWith('/login')) go(`/login?next=${encodeURIComponent(route().raw)}`, true);
};
onAuthChange(renderNav);
window.addEventListener('hashchange', () => render());

// A server-side path (History API links, or the server's index.html fallback) becomes a hash route.
if (location.pathname !== '/' && !location.hash) history.replaceState(null, '', `/#${location.pathname}${location.search}`);

(async () => {
  if (!session.token) await refreshSession();
  // The first page keeps the focus at the top of the document (the skip link comes first).
  render({ focus: false });
})();
