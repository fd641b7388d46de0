// fields.js: the portal forms' labelled fields, each with its hint and its error element wired
// for assistive technology (aria-describedby, aria-invalid): the error's text is the server's
// error_description, shown next to the field it is about.
import { h, newId } from '../common/dom.js';

export function field({ label, hint, testid, input }) {
  const id = input.id || newId(testid);
  input.id = id;
  input.dataset.testid = testid;
  const error = h('p', { class: 'field-error', id: `${id}-error`, testid: `${testid}-error`, hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [hintEl && hintEl.id, error.id].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), hintEl, input, error);
  return { wrap, input, error };
}

export function setError(f, text) {
  if (text) {
    f.error.textContent = text;
    f.error.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
  } else {
    f.error.textContent = '';
    f.error.hidden = true;
    f.input.removeAttribute('aria-invalid');
  }
}

// A checkbox with its label on the right and an optional hint under it (described by it).
export function checkbox({ label, hint, testid, checked, hintClass = 'hint' }) {
  const id = newId(testid);
  const input = h('input', { type: 'checkbox', id, testid, checked: Boolean(checked) });
  const hintEl = hint ? h('p', { class: `${hintClass} check-hint`, id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return { wrap: h('div', { class: 'check' }, h('div', { class: 'radio' }, input, h('label', { for: id }, label)), hintEl), input };
}
