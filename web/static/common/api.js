// api.js: JSON calls from the broker's web apps (the admin portal, the developer dashboard) to
// their own API. The session is an HttpOnly cookie the page never sees; every change carries
// the session's CSRF token in X-CSRF-Token. Nothing secret ever goes into a URL: ids only, and
// the bodies are JSON.

// Where an app is: its pages are <base>/<name>/..., so its root is "<base>/<name>/".
export function appRoot(name) {
  const path = window.location.pathname;
  const marker = `/${name}/`;
  const at = path.indexOf(marker);
  return at < 0 ? marker : path.slice(0, at + marker.length);
}

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const description = (body && (body.error_description || body.error))
      || fallback || `The server answered ${status}.`;
    super(description);
    this.status = status;
    this.error = (body && body.error) || '';
    this.description = description;
    this.body = body;
  }
}

// One request: method, url, an optional JSON body, the CSRF token for a change. The answer's
// JSON (null when empty), or a thrown ApiError (status 0 when the server was not reached).
export async function requestJson(method, url, body, csrfToken, unreachable) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store',
    redirect: 'error', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (_) {
    throw new ApiError(0, { error: 'network', error_description: unreachable });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (_) {
    json = null;
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

// An app's API under root (ending in "/"): {api(method, route, body), setCsrfToken(token),
// whenSessionEnds(fn)}. fn(error) runs when a call finds the session gone (401).
export function apiClient(root, unreachable) {
  let csrfToken = '';
  let onSessionEnded = () => {};
  async function api(method, route, body) {
    try {
      return await requestJson(method, `${root}${route}`, body,
        method === 'GET' || method === 'HEAD' ? '' : csrfToken, unreachable);
    } catch (error) {
      if (error.status === 401) onSessionEnded(error);
      throw error;
    }
  }
  return {
    api,
    setCsrfToken(token) { csrfToken = token || ''; },
    whenSessionEnds(fn) { onSessionEnded = fn; },
  };
}

// An id from the API or an address, safe to put in a path segment.
export function plainId(id) {
  return typeof id === 'string' && /^[A-Za-z0-9_.-]{1,128}$/.test(id) ? id : null;
}
