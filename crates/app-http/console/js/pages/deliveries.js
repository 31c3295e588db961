// CRM deliveries: the list filtered by status and account, one delivery with its attempts and a
// replay of a failed one, and the bulk replay of an account's failures in a time window.

import { accounts, api } from '../api.js';
import {
  badge, clearErrors, field, flash, formError, go, h, heading, notify, replace, showError, table,
  time,
} from '../dom.js';

const STATUSES = ['pending', 'delivering', 'delivered', 'failed'];
const PAGE = 50;

/** `#/deliveries?status=&account_id=`: the deliveries the key sees, newest first. */
export async function renderList(view, _params, query) {
  const status = STATUSES.includes(query.get('status')) ? query.get('status') : '';
  const accountId = query.get('account_id') || '';
  const list = await accounts();
  const names = new Map(list.map((a) => [a.id, a.username]));
  const rows = h('tbody', {});
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  let cursor = null;
  let count = 0;
  const caption = h('caption', {});
  const load = async () => {
    const { data } = await api('GET', '/deliveries', {
      query: { status, account_id: accountId, limit: PAGE, cursor },
    });
    rows.append(...data.data.map((d) => h('tr', { dataset: { status: d.status } },
      h('th', { scope: 'row' }, h('a', { href: `#/deliveries/${d.id}`, class: 'mono' }, d.id)),
      h('td', {}, d.event),
      h('td', {}, names.get(d.account_id) || d.account_id),
      h('td', {}, badge(d.status)),
      h('td', { class: 'num' }, String(d.attempt_count)),
      h('td', { class: 'wrap' }, d.last_error || ''),
      h('td', {}, time(d.created_at)))));
    count += data.data.length;
    caption.textContent = `${count} deliver${count === 1 ? 'y' : 'ies'}${data.next_cursor ? ' so far' : ''}`
      + `${status ? `, ${status}` : ''}${accountId ? `, ${names.get(accountId) || accountId}` : ''}`;
    cursor = data.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => load().catch((error) => notify(error.message, 'error')));
  await load();
  replace(view,
    heading('Deliveries', h('button', { type: 'button', onclick: () => go(window.location.hash) }, 'Refresh')),
    filterForm(status, accountId, list),
    count
      ? h('div', { class: 'table-wrap' }, h('table', {}, caption,
        h('thead', {}, h('tr', {}, ['Event id', 'Event', 'Account', 'Status', 'Attempts', 'Last error', 'Queued']
          .map((name) => h('th', { scope: 'col' }, name)))),
        rows))
      : h('p', { class: 'muted', id: 'no-deliveries' }, 'No deliveries match.'),
    more,
    recoverForm(list, accountId));
}

function accountOptions(list, selected, anyLabel) {
  return [
    anyLabel ? h('option', { value: '' }, anyLabel) : null,
    list.map((a) => h('option', { value: a.id, selected: a.id === selected }, `${a.username} (${a.id})`)),
  ];
}

function filterForm(status, accountId, list) {
  const form = h('form', { class: 'filters', 'aria-label': 'Filter deliveries' },
    field('Status', h('select', { name: 'status' },
      h('option', { value: '' }, 'Any status'),
      STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)))),
    field('Account', h('select', { name: 'account_id' }, accountOptions(list, accountId, 'All accounts'))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const name of ['status', 'account_id']) {
      if (form.elements[name].value) params.set(name, form.elements[name].value);
    }
    const search = params.toString();
    go(`#/deliveries${search ? `?${search}` : ''}`);
  });
  return form;
}

/** A `datetime-local` value for `date`, in the reader's time zone. */
function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    + `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function recoverForm(list, accountId) {
  const now = new Date();
  const dayAgo = new Date(now.getTime() - 24 * 3600 * 1000);
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'recover-title' },
    h('h2', { id: 'recover-title' }, 'Replay failures in a time range'),
    h('p', { class: 'hint' }, 'Every failed delivery of the account queued in the range is tried '
      + 'again now (at most 14 days at a time). Others are left alone.'),
    formError(),
    h('div', { class: 'grid' },
      field('Account', h('select', { name: 'account_id', required: true },
        accountOptions(list, accountId || (list[0] && list[0].id), null))),
      field('Queued from', h('input', { name: 'since', type: 'datetime-local', value: localInput(dayAgo), required: true }),
        'Your local time.'),
      field('Queued until', h('input', { name: 'until', type: 'datetime-local', value: '' }),
        'Empty means now.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Replay failures')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const iso = (name) => {
      const value = form.elements[name].value;
      if (!value) return null;
      const date = new Date(value);
      return Number.isNaN(date.getTime()) ? value : date.toISOString();
    };
    if (!form.elements.since.value) {
      showError(form, { status: 422, details: { field: 'since', reason: 'is required' } });
      return;
    }
    try {
      const { data } = await api('POST', '/deliveries/recover', {
        body: { account_id: form.elements.account_id.value, since: iso('since'), until: iso('until') },
      });
      flash(`${data.count} failed deliver${data.count === 1 ? 'y' : 'ies'} replayed.`, 'success');
      go(window.location.hash);
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

/** `#/deliveries/{id}`: one delivery, its attempts, its body, and the replay of a failed one. */
export async function renderOne(view, [id]) {
  const { data: d } = await api('GET', `/deliveries/${id}`);
  const replay = h('button', { type: 'button', class: 'primary', id: 'replay' }, 'Replay delivery');
  replay.addEventListener('click', async () => {
    replay.disabled = true;
    try {
      await api('POST', `/deliveries/${id}/retry`);
      flash('Replay queued: the delivery is pending and is being tried now.', 'success');
      go(window.location.hash);
    } catch (error) {
      notify(error.code === 'delivery_not_failed'
        ? 'Only a failed delivery can be replayed; this one is on its way or delivered.'
        : error.message, 'error');
      replay.disabled = false;
    }
  });
  const attempts = d.attempts.map((a) => h('tr', {},
    h('th', { scope: 'row', class: 'num' }, String(a.number)),
    h('td', {}, time(a.started_at)),
    h('td', { class: 'num' }, a.http_status === null ? '—' : String(a.http_status)),
    h('td', { class: 'num' }, `${a.latency_ms} ms`),
    h('td', { class: 'wrap' }, a.error || h('span', { class: 'ok' }, 'accepted')),
    h('td', { class: 'wrap mono' }, a.response_excerpt || '')));
  replace(view,
    heading(`Delivery ${d.id}`,
      h('button', { type: 'button', onclick: () => go(window.location.hash) }, 'Refresh')),
    h('p', {}, h('a', { href: `#/deliveries?account_id=${d.account_id}` }, '← This account\'s deliveries')),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', { id: 'delivery-status' }, badge(d.status)),
      h('dt', {}, 'Event'), h('dd', {}, d.event),
      h('dt', {}, 'Account'), h('dd', {}, h('a', { href: `#/accounts/${d.account_id}`, class: 'mono' }, d.account_id)),
      h('dt', {}, 'Message'), h('dd', { class: 'mono' }, d.message_id || '—'),
      h('dt', {}, 'Attempts'), h('dd', {}, String(d.attempt_count)),
      h('dt', {}, 'Next attempt'), h('dd', {}, time(d.next_attempt_at)),
      h('dt', {}, 'Last error'), h('dd', {}, d.last_error || '—'),
      h('dt', {}, 'Queued'), h('dd', {}, time(d.created_at)),
      h('dt', {}, 'Delivered'), h('dd', {}, time(d.delivered_at))),
    d.status === 'failed'
      ? h('div', { class: 'actions' }, replay,
        h('span', { class: 'hint' }, 'Every scheduled attempt failed. A replay tries once more now.'))
      : null,
    attempts.length
      ? table('Attempts, oldest first', ['#', 'Started', 'HTTP status', 'Latency', 'Error', 'CRM answered'], attempts)
      : h('p', { class: 'muted' }, 'No attempt has finished yet.'),
    h('details', { class: 'payload' }, h('summary', {}, 'Body sent to the CRM'),
      h('pre', {}, JSON.stringify(d.payload, null, 2))));
}
