// Building the page without markup strings: every text goes in through a text node, so what a
// customer wrote (or a CRM answered) is shown as text and can never become HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An element: `h('a', {href: '#/x', class: 'y', onclick: f}, 'text', child, [more])`. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, as `h` builds HTML ones. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name === 'value' && 'value' in el) {
      el.value = value;
    } else if (name === 'checked' || name === 'selected') {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children: nodes, strings (as text), arrays of them; null and false are skipped. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces everything in `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A labelled form field: label, control, a hint and a place for its error. */
export function field(label, control, hint) {
  const id = control.id || (control.id = uniqueId(control.name || 'field'));
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrapper = h('div', { class: 'field' },
    control.type === 'checkbox'
      ? h('label', { class: 'check', for: id }, control, ' ', label)
      : [h('label', { for: id }, label), control],
    hintEl);
  return wrapper;
}

let counter = 0;
/** An id no other element of the page has. */
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * Shows an API error on a form: a `422` naming a field marks that control (`aria-invalid`, the
 * reason under it) and focuses it; anything else goes in the form's alert area.
 */
export function showError(form, error) {
  clearErrors(form);
  const fieldName = error && error.details && error.details.field;
  const control = fieldName ? form.querySelector(`[name="${cssEscape(fieldName)}"]`) : null;
  if (error && error.status === 422 && control) {
    const id = `${control.id}-error`;
    const reason = error.details.reason || error.message;
    const message = h('p', { class: 'field-error', id }, `${labelOf(control)} ${reason}`);
    control.setAttribute('aria-invalid', 'true');
    const describedBy = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    control.setAttribute('aria-describedby', [...describedBy, id].join(' '));
    control.closest('.field').append(message);
    control.focus();
    return;
  }
  const area = form.querySelector('.form-error');
  if (area) {
    replace(area, describeError(error));
    area.hidden = false;
  }
}

/** Removes the errors `showError` put on a form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    const control = form.querySelector(`[aria-describedby~="${el.id}"]`);
    if (control) {
      control.removeAttribute('aria-invalid');
      const rest = control.getAttribute('aria-describedby').split(' ').filter((x) => x !== el.id);
      if (rest.length) control.setAttribute('aria-describedby', rest.join(' '));
      else control.removeAttribute('aria-describedby');
    }
    el.remove();
  }
  const area = form.querySelector('.form-error');
  if (area) {
    area.hidden = true;
    area.replaceChildren();
  }
}

/** The alert area a form shows its errors in (put it first in the form). */
export function formError() {
  return h('div', { class: 'form-error error', role: 'alert', hidden: true });
}

/** A sentence for an error, for people. */
export function describeError(error) {
  if (!error) return 'Something went wrong.';
  if (error.status === 0) return 'The service did not answer. Check the connection and try again.';
  if (error.status === 429) {
    return `Too many requests for this key. Try again in ${error.retryAfter || 1} s.`;
  }
  const detail = error.details && error.details.reason ? ` (${error.details.reason})` : '';
  return `${error.message || 'The request failed'}${detail} [${error.status} ${error.code || ''}]`.trim();
}

function labelOf(control) {
  const label = control.id ? document.querySelector(`label[for="${cssEscape(control.id)}"]`) : null;
  return label ? label.textContent.trim().replace(/\s+\(.*\)$/, '') : control.name;
}

function cssEscape(text) {
  return window.CSS && CSS.escape ? CSS.escape(text) : String(text).replace(/["\\]/g, '\\$&');
}

/** A date and time in the reader's locale, from RFC 3339; '' for null. */
export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** A `<time>` element for an RFC 3339 instant. */
export function time(iso) {
  return iso ? h('time', { datetime: iso }, when(iso)) : h('span', { class: 'muted' }, '—');
}

/** A status badge: a word with a colour class (the word carries the meaning, not the colour). */
export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || text}` }, text);
}

/** A table in a wrapper that scrolls sideways on a narrow screen. */
export function table(caption, headers, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))),
      h('tbody', {}, rows)));
}

/** A page heading that takes focus after navigation, so screen readers announce the page. */
export function heading(text, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, text), extra);
}

/** Goes to `hash` (`#/…`); the router renders it, also when it is the current one. */
export function go(hash) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = hash;
}

/** Shows a notice above the page, read out politely; `kind` is info, success or error. */
export function notify(text, kind = 'info') {
  const notices = document.getElementById('notices');
  const item = h('p', { class: `notice notice-${kind}` }, h('span', {}, text), ' ',
    h('button', {
      type: 'button', class: 'link-button', 'aria-label': 'Dismiss notice',
      onclick: () => item.remove(),
    }, '×'));
  notices.append(item);
}

const flashes = [];

/** A notice for the next page: shown once the route being gone to has rendered its frame. */
export function flash(text, kind = 'info') {
  flashes.push([text, kind]);
}

/** Shows the notices `flash` kept (the router calls it on every route). */
export function showFlashes() {
  for (const [text, kind] of flashes.splice(0)) notify(text, kind);
}
