// api.js: calls to the portal API (/portal/api/). The session is the HttpOnly cookie, which
// the page never sees; every change carries the session's CSRF token in X-CSRF-Token. Nothing
// secret ever goes into a URL: ids only, and the bodies are JSON.

// Where the portal is: the pages are <base>/portal/ and <base>/portal/tests/<id>.
const path = window.location.pathname;
export const PORTAL_ROOT = path.slice(0, path.indexOf('/portal/') + '/portal/'.length);

export class ApiError extends Error {
  constructor(status, body) {
    const description = (body && (body.error_description || body.error))
      || `The server answered ${status}.`;
    super(description);
    this.status = status;
    this.error = (body && body.error) || '';
    this.description = description;
  }
}

let csrfToken = '';
let onSessionEnded = () => {};

export function setCsrfToken(token) {
  csrfToken = token || '';
}

// fn() runs once a call finds the session gone (401): the page then says so.
export function whenSessionEnds(fn) {
  onSessionEnded = fn;
}

// method, a path under /portal/api/ made of ids the caller checked, an optional JSON body:
// the answer's JSON (null for 204), or a thrown ApiError.
export async function api(method, route, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store',
    redirect: 'error', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${PORTAL_ROOT}api/${route}`, init);
  } catch (_) {
    throw new ApiError(0, { error: 'network',
      error_description: 'The portal could not be reached. Check your connection and try again.' });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (_) {
    json = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, json);
    if (response.status === 401) onSessionEnded(error);
    throw error;
  }
  return json;
}

// An id from the API or an address, safe to put in a path segment.
export function plainId(id) {
  return typeof id === 'string' && /^[A-Za-z0-9_.-]{1,128}$/.test(id) ? id : null;
}
