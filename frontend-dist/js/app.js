// Entry point: the header (navigation, language switch, account), the hash router, and the
// session bootstrap (a page load without an access token tries the refresh cookie once, which is
// also how a Google sign-in lands: the callback sets the cookie and redirects here).
import { session, onAuthChange, refreshSession, hooks } from './api.js';
import { t, getLang, setLang } from './i18n.js';
import { h, go, route, cleanup, notice } from './ui.js';
import * as fan from './fan.js';
import * as admin from './admin.js';

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
    h('button', { class: 'link lang', 'data-testid': 'lang', 'aria-label': 'Language / 언어', onclick: () => { setLang(getLang() === 'ko' ? 'en' : 'ko'); render(); } }, t('lang')),
  ].filter(Boolean));
  document.querySelector('.tagline').textContent = t('brand_tag');
}

async function signOut() {
  // The cookie names the sign-in, and so does the access token (its `sid`): either ends it.
  const headers = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  try { await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin', headers }); } catch { /* signed out locally anyway */ }
  session.set(null, null);
  go('/');
}

function render() {
  cleanup();
  renderNav();
  const { path } = route();
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (m) {
      Promise.resolve(view(...m.slice(1))).catch((e) => main.replaceChildren(notice('error', e)));
      main.focus({ preventScroll: true });
      window.scrollTo(0, 0);
      return;
    }
  }
  main.replaceChildren(notice('error', t('not_found')));
}

// An expired session that cannot be refreshed: sign in, then come back to this page.
hooks.signInNeeded = () => {
  if (!route().path.startsWith('/login')) go(`/login?next=${encodeURIComponent(route().raw)}`, true);
};
onAuthChange(renderNav);
window.addEventListener('hashchange', render);

// A server-side path (History API links, or the server's index.html fallback) becomes a hash route.
if (location.pathname !== '/' && !location.hash) history.replaceState(null, '', `/#${location.pathname}${location.search}`);

(async () => {
  if (!session.token) await refreshSession();
  render();
})();
