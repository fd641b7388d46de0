// api.js: the developer dashboard's calls to /dashboard/api/ (session, config, stats, and the
// management API under v1/), made by the broker's shared web client (../common/api.js).
import { apiClient, appRoot } from '../common/api.js';

export { ApiError, plainId, requestJson } from '../common/api.js';

// The dashboard's pages are <base>/dashboard/, <base>/dashboard/signin, <base>/dashboard/setup.
export const DASHBOARD_ROOT = appRoot('dashboard');
export const UNREACHABLE = 'The dashboard could not be reached. Check your connection and try again.';

export const { api, setCsrfToken, whenSessionEnds } = apiClient(`${DASHBOARD_ROOT}api/`, UNREACHABLE);

// The sign-in page; a 401 anywhere in the app goes there.
export function toSignIn() {
  window.location.assign(`${DASHBOARD_ROOT}signin`);
}

// A query string of the entries of params that are set.
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

// Every page of a management API list (route: "v1/clients" and the like), up to `most` items.
export async function listAll(route, most = 2000) {
  const all = [];
  let token = '';
  while (all.length < most) {
    const answer = await api('GET', `${route}${query({ page_size: 200, page_token: token })}`);
    all.push(...((answer && answer.data) || []));
    token = answer && typeof answer.next_page_token === 'string' ? answer.next_page_token : '';
    if (!token) break;
  }
  return all;
}
