// Conversations: the customers an account talked with (from the newest pages of its history),
// one conversation oldest to newest, and a reply sent through POST /api/v1/messages/send with an
// idempotency key made once per composed reply.

import { api, newIdempotencyKey, pages } from '../api.js';
import {
  badge, clearErrors, field, flash, formError, go, h, heading, notify, replace, showError, time,
} from '../dom.js';
import { accountBar } from './accounts.js';

/** History pages read to list the participants: 3 × 200 entries, the newest. */
const PARTICIPANT_PAGES = 3;
const PAGE = 200;
const THREAD_PAGE = 50;
const MAX_REPLY_BYTES = 1000;

/** `#/accounts/{id}/conversations`: the customers, most recent first. */
export async function renderList(view, [accountId]) {
  const { bar } = await accountBar(accountId, 'conversations');
  const history = await pages(`/accounts/${accountId}/messages`, { limit: PAGE }, PARTICIPANT_PAGES);
  const byParticipant = new Map();
  for (const entry of history.data) {
    const seen = byParticipant.get(entry.participant_id);
    if (seen) seen.count += 1;
    else byParticipant.set(entry.participant_id, { last: entry, count: 1 });
  }
  const open = h('input', { name: 'participant_id', autocomplete: 'off', inputmode: 'numeric' });
  const openForm = h('form', { class: 'inline-form', novalidate: true },
    field('Open a conversation by customer id', open),
    h('button', { type: 'submit' }, 'Open'));
  openForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (open.value.trim()) go(`#/accounts/${accountId}/conversations/${encodeURIComponent(open.value.trim())}`);
  });
  const items = [...byParticipant.entries()].map(([participant, { last, count }]) => h('li', {},
    h('a', { href: `#/accounts/${accountId}/conversations/${encodeURIComponent(participant)}`, class: 'conversation' },
      h('span', { class: 'who mono' }, participant),
      h('span', { class: 'preview' }, preview(last)),
      h('span', { class: 'meta' }, time(last.timestamp), ` · ${count} entr${count === 1 ? 'y' : 'ies'}`))));
  replace(view,
    heading('Conversations', h('button', { type: 'button', onclick: () => go(window.location.hash) }, 'Refresh')),
    bar,
    items.length
      ? h('ul', { class: 'conversations', 'aria-label': 'Customers, most recent first' }, items)
      : h('p', { class: 'muted' }, 'No messages yet.'),
    history.more
      ? h('p', { class: 'hint' }, `Customers of the newest ${PARTICIPANT_PAGES * PAGE} entries; open older ones by id.`)
      : null,
    openForm);
}

function preview(entry) {
  const who = entry.direction === 'inbound' ? '' : 'You: ';
  if (entry.text) return `${who}${entry.text}`;
  if (entry.attachments.length) return `${who}[${entry.attachments.map((a) => a.type).join(', ')}]`;
  return `[${entry.kind}]`;
}

/** `#/accounts/{id}/conversations/{participant}`: the conversation and the reply form. */
export async function renderOne(view, [accountId, participant]) {
  const { bar } = await accountBar(accountId, 'conversations');
  const thread = h('ol', { class: 'thread', 'aria-label': 'Messages, oldest first' });
  const older = h('button', { type: 'button', hidden: true }, 'Load older messages');
  let cursor = null;
  const load = async () => {
    const { data } = await api('GET', `/accounts/${accountId}/messages`, {
      query: { participant_id: participant, limit: THREAD_PAGE, cursor },
    });
    // Newest first from the API; the thread reads oldest first.
    thread.prepend(...data.data.slice().reverse().map(entryItem));
    cursor = data.next_cursor;
    older.hidden = !cursor;
  };
  older.addEventListener('click', () => load().catch((error) => notify(error.message, 'error')));
  await load();
  replace(view,
    heading(`Conversation with ${participant}`,
      h('button', { type: 'button', onclick: () => go(window.location.hash) }, 'Refresh')),
    bar,
    h('p', {}, h('a', { href: `#/accounts/${accountId}/conversations` }, '← All conversations')),
    older,
    thread.children.length ? thread : h('p', { class: 'muted' }, 'No messages with this customer yet.'),
    replyForm(accountId, participant));
  const last = thread.lastElementChild;
  if (last) last.scrollIntoView({ block: 'nearest' });
}

function entryItem(entry) {
  const outbound = entry.direction === 'outbound';
  const sender = entry.rule_id ? 'Auto-reply' : outbound ? (entry.kind === 'echo' ? 'Business (elsewhere)' : 'Business') : 'Customer';
  return h('li', { class: `entry ${outbound ? 'outbound' : 'inbound'}`, dataset: { id: entry.id } },
    h('div', { class: 'meta' },
      h('span', {}, sender), ' · ', time(entry.timestamp),
      entry.kind !== 'message' ? [' ', badge(entry.kind, 'kind')] : null,
      entry.status ? [' ', badge(entry.status)] : null),
    entry.text !== null ? h('p', { class: 'text' }, entry.text) : null,
    entry.attachments.length ? h('ul', { class: 'attachments' }, entry.attachments.map(attachment)) : null,
    entry.error_message
      ? h('p', { class: 'error' }, `Error ${entry.error_code ?? ''}: ${entry.error_message}`)
      : null);
}

function attachment(item) {
  // Only web links become links; anything else (javascript:, data:) stays text.
  const safe = typeof item.url === 'string' && /^https?:\/\//i.test(item.url);
  return h('li', {}, `${item.type}: `,
    safe ? h('a', { href: item.url, rel: 'noopener noreferrer', target: '_blank' }, item.url)
      : (item.url || 'no link'));
}

function replyForm(accountId, participant) {
  const text = h('textarea', { name: 'message', rows: 3, required: true });
  const counter = h('span', { class: 'hint', 'aria-live': 'polite' }, `0 / ${MAX_REPLY_BYTES} bytes`);
  const form = h('form', { class: 'card reply', novalidate: true, 'aria-labelledby': 'reply-title' },
    h('h2', { id: 'reply-title' }, 'Reply'),
    formError(),
    field('Message', text, 'Sent through the send queue, like an API send.'),
    h('div', { class: 'actions' }, counter, h('button', { type: 'submit', class: 'primary' }, 'Send reply')));
  // One key per composed reply: a retry of the same text (after a network error, a 409 or a
  // 5xx) sends the same key, so the reply is queued once however often it is tried.
  let composed = null;
  const bytes = () => new TextEncoder().encode(text.value).length;
  text.addEventListener('input', () => {
    counter.textContent = `${bytes()} / ${MAX_REPLY_BYTES} bytes`;
    counter.classList.toggle('over', bytes() > MAX_REPLY_BYTES);
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const message = text.value;
    if (!message.trim()) {
      showError(form, { status: 422, details: { field: 'message', reason: 'must not be empty' } });
      return;
    }
    if (!composed || composed.message !== message) composed = { message, key: newIdempotencyKey() };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const { data, headers } = await api('POST', '/messages/send', {
        body: { account_id: accountId, recipient_id: participant, message },
        headers: { 'Idempotency-Key': composed.key },
      });
      composed = null;
      text.value = '';
      counter.textContent = `0 / ${MAX_REPLY_BYTES} bytes`;
      const replayed = headers.get('Idempotent-Replayed') === 'true';
      flash(`Reply ${data.message_id} queued${replayed ? ' (already sent once)' : ''}.`, 'success');
      go(window.location.hash);
    } catch (error) {
      if (error.code === 'idempotency_key_mismatch') composed = null;
      if (error.status === 409) error.message = 'This reply is still being queued; try again in a moment';
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
