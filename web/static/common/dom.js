// dom.js: the web apps' (admin portal, developer dashboard) only way to make markup. Every
// value becomes a text node or an attribute set through the DOM, never HTML: nothing an
// organization, an IdP or a user typed can add an element, a script or a style (the pages'
// CSP forbids inline ones anyway).

// h('p', {class: 'x', testid: 'y', on: {click: fn}, hidden: true}, 'text', child, ...):
// an element; strings and numbers become text nodes, null/undefined/false are skipped.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'testid') {
      el.dataset.testid = value;
    } else if (key === 'text') {
      el.textContent = value;
    } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'hidden') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replaces everything in el by children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
// A fresh id for label/aria wiring.
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A status badge: kind is one of ok, warn, bad, muted.
export function badge(text, kind, testid) {
  return h('span', { class: `badge badge-${kind}`, testid }, text);
}

const STATUS = {
  active: ['Enabled', 'ok'],
  inactive: ['Disabled', 'muted'],
  draft: ['Draft: not enabled', 'warn'],
};
export function statusBadge(status, testid) {
  const [text, kind] = STATUS[status] || [status || 'unknown', 'muted'];
  return badge(text, kind, testid);
}

// An RFC 3339 time as the reader's local date and time; the text itself when it is not one.
export function when(text) {
  const date = new Date(text);
  if (!text || Number.isNaN(date.getTime())) return text || '';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function day(text) {
  const date = new Date(text);
  if (!text || Number.isNaN(date.getTime())) return text || '';
  return date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

// A labelled, read-only value with a copy button (the SP values to paste into the IdP).
export function copyField(label, value, testid) {
  const id = newId('copy');
  const input = h('input', { id, type: 'text', readonly: true, value: value || '', testid,
    class: 'mono', spellcheck: 'false' });
  const [button, said] = copyButton(label, input, `${testid}-copy`);
  return h('div', { class: 'field' }, h('label', { for: id }, label),
    h('div', { class: 'copy-row' }, input, button), said);
}

// A "Copy" button for source (an input, or an element whose text is copied) and the status
// line that says it was copied: [button, said]. copyText copies source now.
export function copyButton(label, source, testid) {
  const said = h('span', { class: 'copy-said', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary', testid,
    'aria-label': `Copy ${label}`, on: { click: () => copyText(source, said) } }, 'Copy');
  return [button, said];
}

export async function copyText(source, said) {
  const text = 'value' in source ? source.value : source.textContent;
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (_) {
    // No clipboard API (an insecure origin, a denied permission): select for Ctrl+C.
    if ('select' in source) source.select();
    else window.getSelection().selectAllChildren(source);
    ok = document.execCommand && document.execCommand('copy');
  }
  fill(said, ok ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.');
  setTimeout(() => fill(said), 4000);
}

// A heading for a numbered step of the journey.
export function stepHeading(number, text, level = 'h2') {
  return h(level, { class: 'step-heading' }, h('span', { class: 'step-number', 'aria-hidden': 'true' },
    String(number)), h('span', { class: 'visually-hidden' }, `Step ${number}: `), text);
}

// A table of rows (arrays of cell contents) under headers; on a phone each row stacks, each
// cell under its header's name (data-label, shown by the stylesheet).
export function table(headers, rows, props) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'stack', ...(props || {}) },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell, i) => h('td', { 'data-label': headers[i] }, cell)))))));
}

// A certificate's expiry as text and a badge: expired, within 30 days, or fine.
export function certificateLine(detail) {
  const end = new Date(detail.not_after);
  const days = Math.floor((end.getTime() - Date.now()) / 86400000);
  let mark = null;
  if (detail.expired || days < 0) mark = badge('Expired', 'bad', 'cert-expired');
  else if (days <= 30) mark = badge(`Expires in ${days} day${days === 1 ? '' : 's'}`, 'warn', 'cert-expiring');
  return h('li', { class: 'cert', testid: 'certificate' },
    h('span', { class: 'cert-subject' }, detail.subject || 'Certificate'), ' ',
    h('span', { class: 'muted', testid: 'cert-not-after' },
      `${detail.expired || days < 0 ? 'expired' : 'expires'} ${day(detail.not_after)}`), ' ', mark);
}
