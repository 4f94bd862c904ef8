// The only way the client talks to the server: JSON over fetch against the routes in API.md.
// Holds the access token (sessionStorage, so a refresh keeps the session in this tab), refreshes
// it once through the HttpOnly refresh cookie (`POST /api/auth/refresh`) when a call answers 401,
// and turns every failure into an ApiError carrying the server's `code`, `status` and `fields`
// (its `message` keeps the server's English sentence for logs; the pages show i18n.js's words).

const TOKEN_KEY = 'tiketi.token';
const USER_KEY = 'tiketi.user';

/** A failed call: `status`/`code`/`fields` say what failed (errText in i18n.js words it). */
export class ApiError extends Error {
  constructor(message, status = 0, code = 'network', fields = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

let listeners = [];
/** Calls `fn(user|null)` whenever the signed-in user changes. */
export function onAuthChange(fn) { listeners.push(fn); }

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get user() {
    try { return JSON.parse(sessionStorage.getItem(USER_KEY) || 'null'); } catch { return null; }
  },
  set(token, user) {
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    if (user) sessionStorage.setItem(USER_KEY, JSON.stringify(user)); else sessionStorage.removeItem(USER_KEY);
    listeners.forEach((fn) => fn(user || null));
  },
  get isAdmin() { return this.user?.role === 'admin'; },
};

/** Words for a failed response body: the contract's `error`, plus field messages. */
function describe(body, status) {
  if (body && typeof body === 'object') {
    let text = typeof body.error === 'string' ? body.error : (typeof body.message === 'string' ? body.message : '');
    if (body.fields && typeof body.fields === 'object') {
      const parts = Object.entries(body.fields).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
      // The server's validation message already names the fields; add them only when it does not.
      if (parts.length && !text.includes(parts.join('; '))) text = text ? `${text} (${parts.join('; ')})` : parts.join('; ');
    }
    if (text) return text;
  }
  return `HTTP ${status}`;
}

let refreshing = null;
/** Trades the refresh cookie for a new access token; resolves true on success. One at a time. */
export function refreshSession() {
  if (!refreshing) {
    refreshing = fetch('/api/auth/refresh', { method: 'POST', credentials: 'same-origin' })
      .then(async (r) => {
        if (!r.ok) return false;
        const body = await r.json();
        session.set(body.token, body.user);
        return true;
      })
      .catch(() => false)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** What to do when a call needs a session and none can be had (set by the app: go to sign-in). */
export const hooks = { signInNeeded: () => {} };

/**
 * Calls the API. `opts.body` (an object) is sent as JSON, a FormData as multipart.
 * A 401 with a token triggers one refresh and one retry; failing that, the sign-in hook runs.
 */
export async function api(path, opts = {}, retried = false) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let body = opts.body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(body);
  }
  const token = session.token;
  if (token && !opts.anonymous) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method: opts.method || (body !== undefined ? 'POST' : 'GET'), headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(navigator.onLine === false ? 'offline' : 'network', 0, 'network');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (res.status === 401 && !opts.anonymous && !path.startsWith('/api/auth/login') && !path.startsWith('/api/auth/register')) {
    if (!retried && await refreshSession()) return api(path, opts, true);
    session.set(null, null);
    if (!opts.noRedirect) hooks.signInNeeded();
    throw new ApiError(describe(data, res.status), 401, data?.code || 'unauthorized');
  }
  if (!res.ok) {
    const err = new ApiError(describe(data, res.status), res.status, data?.code || `http_${res.status}`, data?.fields || null);
    err.retryAfter = Number(res.headers.get('Retry-After')) || null;
    err.details = data?.details || null;
    throw err;
  }
  return data;
}

/** Random lowercase hex, for sandbox payment keys. */
export function randomHex(bytes = 16) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}
