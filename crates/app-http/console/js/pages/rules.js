// Auto-reply rules: the account's rules in the order they are tried, one form to create or edit
// a rule (`#/accounts/{id}/rules/{rule_id}` edits that one), and a test of a message against the
// rules that sends nothing (POST /api/v1/accounts/{id}/rules/test).

import { api } from '../api.js';
import {
  badge, clearErrors, field, flash, formError, go, h, heading, notify, replace, showError, table,
} from '../dom.js';
import { accountBar } from './accounts.js';

const MATCHES = [
  ['keyword', 'keyword: whole words, any case or accents'],
  ['contains', 'contains: anywhere, any case or accents'],
  ['exact', 'exact: the whole message, any case or accents'],
  ['regex', 'regex: a regular expression on the text as received'],
];

/** `#/accounts/{id}/rules[/{rule_id}]`. */
export async function render(view, [accountId, ruleId]) {
  const { bar } = await accountBar(accountId, 'rules');
  const { data } = await api('GET', `/accounts/${accountId}/rules`);
  const rules = data.data;
  const editing = ruleId ? rules.find((r) => r.id === ruleId) : null;
  if (ruleId && !editing) notify('That rule does not exist (any more).', 'error');
  const rows = rules.map((r) => h('tr', { id: `rule-${r.id}`, class: r.id === ruleId ? 'selected' : null },
    h('td', { class: 'num' }, String(r.priority)),
    h('td', {}, r.match),
    h('th', { scope: 'row', class: 'wrap mono' }, r.pattern),
    h('td', { class: 'wrap' }, r.reply),
    h('td', {}, r.enabled ? badge('enabled', 'delivered') : badge('disabled', 'pending')),
    h('td', { class: 'num' }, r.cooldown_seconds ? `${r.cooldown_seconds} s` : '—'),
    h('td', { class: 'links' },
      h('a', { href: `#/accounts/${accountId}/rules/${r.id}`, 'aria-label': `Edit rule ${r.pattern}` }, 'Edit'), ' ',
      deleteButton(accountId, r))));
  replace(view,
    heading('Auto-reply rules'),
    bar,
    rules.length
      ? table('Rules in the order they are tried: highest priority first, then oldest',
        ['Priority', 'Match', 'Pattern', 'Reply', 'State', 'Cooldown', 'Actions'], rows)
      : h('p', { class: 'muted' }, 'No rules yet: messages are only forwarded, never answered.'),
    h('div', { class: 'columns' }, ruleForm(accountId, editing), testForm(accountId)));
}

function deleteButton(accountId, rule) {
  return h('button', {
    type: 'button', class: 'link-button danger', 'aria-label': `Delete rule ${rule.pattern}`,
    onclick: async () => {
      if (!window.confirm(`Delete the rule “${rule.pattern}”?`)) return;
      try {
        await api('DELETE', `/accounts/${accountId}/rules/${rule.id}`);
        flash('Rule deleted.', 'success');
        go(`#/accounts/${accountId}/rules`);
      } catch (error) {
        notify(error.message, 'error');
      }
    },
  }, 'Delete');
}

function ruleForm(accountId, rule) {
  const title = rule ? 'Edit rule' : 'New rule';
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'rule-title', id: 'rule-form' },
    h('h2', { id: 'rule-title' }, title),
    formError(),
    field('Match', h('select', { name: 'match' },
      MATCHES.map(([value, label]) => h('option', { value, selected: rule ? rule.match === value : value === 'keyword' }, label)))),
    field('Pattern', h('input', { name: 'pattern', required: true, autocomplete: 'off', value: rule ? rule.pattern : '' })),
    field('Reply', h('textarea', { name: 'reply', rows: 3, required: true, value: rule ? rule.reply : '' }),
      '{username} becomes the customer\'s Instagram username.'),
    h('div', { class: 'grid' },
      field('Priority', h('input', { name: 'priority', type: 'number', step: 1, value: rule ? rule.priority : 0 }),
        'Highest wins.'),
      field('Cooldown (seconds)', h('input', {
        name: 'cooldown_seconds', type: 'number', min: 0, step: 1, value: rule ? rule.cooldown_seconds : 0,
      }), 'At most one reply per customer in this time; 0: every message.')),
    field('Enabled', h('input', { name: 'enabled', type: 'checkbox', checked: rule ? rule.enabled : true })),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, rule ? 'Save rule' : 'Create rule'),
      rule ? h('a', { href: `#/accounts/${accountId}/rules`, class: 'button' }, 'Cancel') : null));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const els = form.elements;
    const number = (name) => (els[name].value.trim() === '' ? els[name].value : Number(els[name].value));
    const body = {
      match: els.match.value,
      pattern: els.pattern.value,
      reply: els.reply.value,
      priority: number('priority'),
      cooldown_seconds: number('cooldown_seconds'),
      enabled: els.enabled.checked,
    };
    try {
      if (rule) {
        await api('PATCH', `/accounts/${accountId}/rules/${rule.id}`, { body });
        flash('Rule saved.', 'success');
      } else {
        await api('POST', `/accounts/${accountId}/rules`, { body });
        flash('Rule created.', 'success');
      }
      go(`#/accounts/${accountId}/rules`);
    } catch (error) {
      if (error.code === 'rule_limit_reached') error.message = 'This account has 1000 rules already';
      showError(form, error);
    }
  });
  return form;
}

function testForm(accountId) {
  const result = h('div', { class: 'test-result', id: 'test-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'test-title', id: 'test-form' },
    h('h2', { id: 'test-title' }, 'Test a message'),
    h('p', { class: 'hint' }, 'Which rule would answer this message, and with what. Nothing is sent.'),
    formError(),
    field('Message', h('textarea', { name: 'text', rows: 2, required: true })),
    field('Sample username (optional)', h('input', { name: 'username', autocomplete: 'off' }),
      'Fills {username}; left as the placeholder otherwise.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Test')),
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    for (const row of document.querySelectorAll('tr.matched')) row.classList.remove('matched');
    const body = { text: form.elements.text.value };
    if (form.elements.username.value.trim()) body.username = form.elements.username.value.trim();
    try {
      const { data } = await api('POST', `/accounts/${accountId}/rules/test`, { body });
      if (!data.matched) {
        replace(result, h('p', { class: 'no-match' }, 'No rule matches: this message would not be answered.'));
        return;
      }
      const row = document.getElementById(`rule-${data.matched.id}`);
      if (row) row.classList.add('matched');
      replace(result,
        h('p', { class: 'match' }, badge('matched', 'delivered'), ' ',
          `${data.matched.match} “${data.matched.pattern}” (priority ${data.matched.priority})`),
        h('p', {}, 'Reply: '),
        h('blockquote', { class: 'reply-text' }, data.reply));
    } catch (error) {
      if (error.status === 404 || error.status === 405) {
        replace(result, h('p', { class: 'error' }, 'This service cannot test rules (no rules/test endpoint).'));
        return;
      }
      showError(form, error);
    }
  });
  return form;
}
