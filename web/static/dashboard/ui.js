// ui.js: the dashboard's pieces shared by its views: inline errors, forms' fields, the panel
// that shows a secret once, paged lists, and what a view undoes when it is left.
import { copyField, fill, h, newId } from '../common/dom.js';

// What the current view asked to run when it is left (a secret wiped, a timer stopped).
const leaving = [];
export function onLeave(fn) {
  leaving.push(fn);
}
export function leave() {
  for (const fn of leaving.splice(0)) {
    try {
      fn();
    } catch (_) {
      // One cleanup failing must not keep the others from running.
    }
  }
}

// An error line under a form or a list: hidden until say(text); cleared by say('').
export function errorLine(testid) {
  const el = h('p', { class: 'field-error', role: 'alert', testid, hidden: true });
  el.say = (text) => {
    el.textContent = text || '';
    el.hidden = !text;
  };
  return el;
}

// A labelled input: {field (the block), input}. props go to the input.
export function inputField(label, props, hint) {
  const id = newId('in');
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', { id, type: 'text', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': hintId, ...props });
  return { input, field: h('div', { class: 'field' }, h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null, input) };
}

// A select of [value, text] options.
export function selectField(label, options, props) {
  const id = newId('sel');
  const select = h('select', { id, ...props },
    options.map(([value, text]) => h('option', { value }, text)));
  return { select, field: h('div', { class: 'field' }, h('label', { for: id }, label), select) };
}

// Runs work(), with the button disabled meanwhile; an ApiError other than 401 is said on
// error (a 401 goes to sign-in). Returns work's answer, or undefined when it failed.
export async function busy(button, error, work) {
  if (button) button.disabled = true;
  if (error) error.say('');
  try {
    return await work();
  } catch (e) {
    if (e.status !== 401 && error) error.say(e.description || e.message);
    if (e.status !== 401 && !error) throw e;
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// A panel that shows secrets once: [[label, value, testid]], then note (text or an element).
// Each value lives only in its input, which is emptied and dropped when the view is left or
// the panel dismissed.
export function secretPanel(title, fields, note, testid) {
  const panel = h('section', { class: 'secret-once', role: 'region', 'aria-label': title, testid },
    h('h3', { tabindex: '-1' }, title),
    h('p', { class: 'secret-warning', testid: `${testid}-warning` },
      'Copy it now: you will not see it again. It is not stored in this browser, and this panel is cleared when you leave the page.'),
    fields.map(([label, value, id]) => copyField(label, value, id)),
    typeof note === 'string' ? h('p', { class: 'muted' }, note) : note);
  const wipe = () => {
    for (const input of panel.querySelectorAll('input')) input.value = '';
    panel.remove();
  };
  panel.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary',
    testid: `${testid}-done`, on: { click: wipe } }, 'I have copied it')));
  onLeave(wipe);
  return panel;
}

// A list that loads page after page: load(token) → {data, next_page_token}; render(items)
// gives the rows' elements, appended to `into`. Returns {more (the button), reload()}.
export function pager(into, load, render, error) {
  let token = '';
  const more = h('button', { type: 'button', class: 'secondary', testid: 'load-more', hidden: true,
    on: { click: () => next() } }, 'Load more');
  async function next() {
    const answer = await busy(more, error, () => load(token));
    if (!answer) return;
    into.append(...render(answer.data || []));
    token = typeof answer.next_page_token === 'string' ? answer.next_page_token : '';
    more.hidden = !token;
  }
  return {
    more,
    async reload() {
      token = '';
      fill(into);
      await next();
    },
  };
}

// A page's title block: the h1 (focused by the router) and a lead line.
export function pageTitle(text, lead, testid) {
  return [h('h1', { tabindex: '-1', testid }, text), lead ? h('p', { class: 'lead' }, lead) : null];
}

// A card section with an h2 and an optional action beside it.
export function card(title, testid, action, ...children) {
  const id = newId('card');
  return h('section', { class: 'card', 'aria-labelledby': id, testid },
    h('div', { class: 'card-head' }, h('h2', { id }, title), action || null), ...children);
}

// A table under headers whose body (a tbody the caller fills, page after page) is given.
export function listTable(headers, body, testid) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': testid },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))), body));
}
