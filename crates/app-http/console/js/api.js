// The one way the console talks to the service: the public /api/v1 API with the signed-in key as
// a bearer token. The key lives in sessionStorage: it stays in this tab, survives a reload, and is
// gone when the tab closes.

const KEY = 'igrouter.apiKey';
/** sessionStorage item: the account the account pages show, remembered for this tab. */
export const CURRENT_ACCOUNT = 'igrouter.account';
/** Longest wait for a `Retry-After` before a GET is tried again by itself. */
const MAX_AUTO_WAIT_SECONDS = 5;

/** The signed-in session. */
export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  signIn(key) {
    sessionStorage.setItem(KEY, key);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    window.dispatchEvent(new CustomEvent('igrouter:signed-out'));
  },
};

/** The account the account pages show (the last one visited), or null. */
export function currentAccount() {
  return sessionStorage.getItem(CURRENT_ACCOUNT);
}

/** An answer other than 2xx, in the API's error shape `{"error":{"code","message","details"}}`. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const error = (body && body.error) || {};
    super(error.message || (status ? `HTTP ${status}` : 'network error'));
    this.status = status;
    this.code = error.code || (status ? 'http_error' : 'network');
    this.details = error.details || null;
    this.retryAfter = retryAfter;
  }
}

/**
 * `method /api/v1{path}`: resolves to `{status, data, headers}` for a 2xx answer, rejects with an
 * ApiError otherwise (status 0 when the service did not answer). A 401 signs out. A GET answered
 * 429 waits for its Retry-After (when short) and is tried once more.
 */
export async function api(method, path, { body, query, headers = {} } = {}) {
  const url = new URL(`/api/v1${path}`, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const init = {
    method,
    headers: { Accept: 'application/json', Authorization: `Bearer ${session.key || ''}`, ...headers },
    credentials: 'omit',
    cache: 'no-store',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      throw new ApiError(0, null, null);
    }
    const data = await readJson(response);
    if (response.ok) return { status: response.status, data, headers: response.headers };
    const retryAfter = Number.parseInt(response.headers.get('Retry-After') || '', 10) || null;
    if (response.status === 429 && method === 'GET' && attempt === 0
        && retryAfter !== null && retryAfter <= MAX_AUTO_WAIT_SECONDS) {
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
      continue;
    }
    const error = new ApiError(response.status, data, retryAfter);
    if (response.status === 401) session.signOut();
    throw error;
  }
}

async function readJson(response) {
  const type = response.headers.get('Content-Type') || '';
  if (!type.includes('json')) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Every page of a listing, up to `maxPages`: `{data, more}`. */
export async function pages(path, query, maxPages) {
  const data = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const answer = await api('GET', path, { query: { ...query, cursor } });
    data.push(...answer.data.data);
    cursor = answer.data.next_cursor;
    if (!cursor) return { data, more: false };
  }
  return { data, more: true };
}

/** A fresh idempotency key: 32 hex digits from the browser's CSPRNG (works over plain http too). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

let accountsCache = null;

/** The accounts the key may see (up to 1,000), read once per session and on `refresh`. */
export async function accounts(refresh = false) {
  if (!accountsCache || refresh) {
    accountsCache = pages('/accounts', { limit: 200 }, 5).then((answer) => answer.data);
    accountsCache.catch(() => { accountsCache = null; });
  }
  return accountsCache;
}

window.addEventListener('igrouter:signed-out', () => { accountsCache = null; });
