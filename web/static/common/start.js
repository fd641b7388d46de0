// start.js: how a web app (the admin portal, the developer dashboard) starts: its session,
// whose CSRF token every change then carries, and what it loads before its first view.
import { fill, h } from './dom.js';

// client: {api, setCsrfToken} of ../common/api.js; load(session) fetches what the app needs.
// True once both are done; false after a failure, which is said in root (but a 401, which the
// app's whenSessionEnds handler deals with).
export async function startSession(client, root, appName, load) {
  try {
    const session = await client.api('GET', 'session');
    client.setCsrfToken(session.csrf_token);
    await load(session);
    return true;
  } catch (error) {
    if (error.status !== 401) {
      fill(root, h('section', { class: 'card card-narrow' }, h('h1', {}, `The ${appName} could not start`),
        h('p', { class: 'error', role: 'alert', testid: 'page-error' }, error.description)));
    }
    return false;
  }
}

// Renders one view of a hash-routed app: render() fills view; a failure (but a 401) makes it
// a "Something went wrong" page with a link back (back: [href, text]). Then the view's h1
// takes the focus: always (focus: 'always'), or only when nothing else has it.
export async function showView(view, render, back, focus) {
  try {
    await render();
  } catch (error) {
    if (error.status === 401) return;
    fill(view, h('section', { class: 'card' }, h('h1', { tabindex: '-1' }, 'Something went wrong'),
      h('p', { class: 'error', role: 'alert', testid: 'page-error' }, error.description || error.message),
      h('p', {}, h('a', { href: back[0] }, back[1]))));
  }
  const heading = view.querySelector('h1');
  if (heading && (focus === 'always' || document.activeElement === document.body)) heading.focus();
}
