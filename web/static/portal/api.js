// api.js: calls to the portal API (/portal/api/), made by the broker's shared web client
// (../common/api.js): the session is the HttpOnly cookie, every change carries its CSRF token.

import { apiClient, appRoot } from '../common/api.js';

export { ApiError, plainId } from '../common/api.js';

// Where the portal is: the pages are <base>/portal/ and <base>/portal/tests/<id>.
export const PORTAL_ROOT = appRoot('portal');

const client = apiClient(`${PORTAL_ROOT}api/`,
  'The portal could not be reached. Check your connection and try again.');

// method, a path under /portal/api/ made of ids the caller checked, an optional JSON body:
// the answer's JSON (null for 204), or a thrown ApiError.
export const { api, setCsrfToken, whenSessionEnds } = client;
