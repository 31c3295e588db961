// Accounts: the list, creating one (its generated webhook secret shown once), and one account's
// settings: username, CRM webhook URL, webhook secret, access token, and the token-invalid state.

import { accounts, api } from '../api.js';
import {
  badge, clearErrors, field, flash, formError, go, h, heading, notify, replace, showError, table,
  time,
} from '../dom.js';

/** The account pages, as tabs: `[page, label]`; '' is the account's settings. */
const ACCOUNT_PAGES = [
  ['dashboard', 'Dashboard'],
  ['conversations', 'Conversations'],
  ['rules', 'Rules'],
  ['', 'Settings'],
];

/**
 * The bar on every account page: a switch to another account (same page) and the account's tabs.
 * Resolves to `{bar, account}`; `account` is null when the key cannot see it.
 */
export async function accountBar(accountId, page) {
  const list = await accounts();
  const account = list.find((a) => a.id === accountId) || null;
  const select = h('select', { id: 'account-switch', name: 'account' },
    account ? null : h('option', { value: accountId, selected: true }, accountId),
    list.map((a) => h('option', { value: a.id, selected: a.id === accountId },
      `${a.username} (${a.instagram_account_id})`)));
  select.addEventListener('change', () => {
    go(`#/accounts/${select.value}${page ? `/${page}` : ''}`);
  });
  const bar = h('div', { class: 'account-bar' },
    h('div', { class: 'field inline' }, h('label', { for: 'account-switch' }, 'Account'), select),
    h('nav', { 'aria-label': 'Account pages', class: 'tabs' }, h('ul', {},
      ACCOUNT_PAGES.map(([name, label]) => h('li', {},
        h('a', {
          href: `#/accounts/${accountId}${name ? `/${name}` : ''}`,
          'aria-current': name === page ? 'page' : null,
        }, label))))),
    account && account.token_invalid ? tokenInvalidNotice(accountId) : null);
  return { bar, account };
}

function tokenInvalidNotice(accountId) {
  return h('p', { class: 'warning' }, badge('token invalid', 'failed'), ' ',
    'Meta rejected this account\'s access token (Graph error 190): nothing is sent until a new '
    + 'token is set. ', h('a', { href: `#/accounts/${accountId}` }, 'Set a new token'), '.');
}

/** A webhook secret igrouter just generated, kept in memory only until its page shows it. */
let generated = null;

/** `#/accounts`: every account the key sees, and the form to create one. */
export async function renderList(view) {
  const list = await accounts(true);
  const rows = list.map((a) => h('tr', {},
    h('th', { scope: 'row' }, h('a', { href: `#/accounts/${a.id}` }, a.username)),
    h('td', { class: 'mono' }, a.instagram_account_id),
    h('td', { class: 'wrap' }, a.crm_webhook_url || h('span', { class: 'muted' }, 'not forwarded')),
    h('td', {}, a.token_invalid ? badge('token invalid', 'failed') : badge('ok', 'delivered')),
    h('td', {}, time(a.created_at)),
    h('td', { class: 'links' },
      h('a', { href: `#/accounts/${a.id}/conversations` }, 'Conversations'), ' ',
      h('a', { href: `#/accounts/${a.id}/rules` }, 'Rules'), ' ',
      h('a', { href: `#/accounts/${a.id}/dashboard` }, 'Dashboard'))));
  replace(view,
    heading('Accounts'),
    list.length
      ? table(`${list.length} account${list.length === 1 ? '' : 's'}`,
        ['Username', 'Instagram account id', 'CRM webhook URL', 'Access token', 'Created', 'Pages'],
        rows)
      : h('p', { class: 'muted' }, 'No accounts yet.'),
    createForm());
}

function createForm() {
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'new-account' },
    h('h2', { id: 'new-account' }, 'New account'),
    formError(),
    h('div', { class: 'grid' },
      field('Instagram account id', h('input', {
        name: 'instagram_account_id', required: true, inputmode: 'numeric', autocomplete: 'off',
      }), 'The business account\'s id, as Meta sends it in entry[].id.'),
      field('Username', h('input', { name: 'username', required: true, autocomplete: 'off' })),
      field('Access token', h('input', {
        name: 'access_token', type: 'password', required: true, autocomplete: 'off',
      }), 'Write-only: never shown again.'),
      field('CRM webhook URL', h('input', {
        name: 'crm_webhook_url', type: 'url', autocomplete: 'off',
        placeholder: 'https://crm.example.com/hooks/instagram',
      }), 'Leave empty to store events without forwarding them.'),
      field('Webhook secret (optional)', h('input', {
        name: 'webhook_secret', type: 'password', autocomplete: 'off',
      }), 'Leave empty and igrouter generates one, shown once.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create account')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name].value.trim();
    const body = {
      instagram_account_id: value('instagram_account_id'),
      username: value('username'),
      access_token: value('access_token'),
      crm_webhook_url: value('crm_webhook_url') || null,
    };
    if (value('webhook_secret')) body.webhook_secret = value('webhook_secret');
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const { data } = await api('POST', '/accounts', { body });
      await accounts(true);
      flash(`Account ${data.username} created (${data.id}).`, 'success');
      generated = data.webhook_secret ? { id: data.id, secret: data.webhook_secret } : null;
      go(`#/accounts/${data.id}`);
    } catch (error) {
      if (error.status === 403) error.message = 'This API key is bound to accounts and cannot create one';
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** `#/accounts/{id}`: one account's settings. */
export async function renderOne(view, [id]) {
  const { data: account } = await api('GET', `/accounts/${id}`);
  const { bar } = await accountBar(id, '');
  // A generated secret is shown once, on the page the create lands on, then forgotten.
  const secret = generated && generated.id === id ? generated.secret : null;
  generated = null;
  replace(view,
    heading(`Account ${account.username}`),
    bar,
    secret ? h('div', { class: 'card secret', role: 'alert' },
      h('h2', {}, 'Webhook secret'),
      h('p', {}, 'igrouter generated this secret for the CRM signatures. It is shown only now: '
        + 'copy it into the CRM.'),
      h('p', {}, h('code', { class: 'mono', id: 'generated-secret' }, secret))) : null,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Id'), h('dd', { class: 'mono' }, account.id),
      h('dt', {}, 'Instagram account id'), h('dd', { class: 'mono' }, account.instagram_account_id),
      h('dt', {}, 'Access token'), h('dd', { id: 'token-state' }, account.token_invalid
        ? [badge('token invalid', 'failed'), ' Meta rejected it; set a new one below.']
        : badge('ok', 'delivered')),
      h('dt', {}, 'Sends per second'), h('dd', {}, String(account.send_rate_per_second)),
      h('dt', {}, 'Created'), h('dd', {}, time(account.created_at)),
      h('dt', {}, 'Updated'), h('dd', {}, time(account.updated_at))),
    editForm(account),
    deleteForm(account));
}

function editForm(account) {
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'edit-account' },
    h('h2', { id: 'edit-account' }, 'Settings'),
    formError(),
    h('div', { class: 'grid' },
      field('Username', h('input', { name: 'username', value: account.username, autocomplete: 'off' })),
      field('CRM webhook URL', h('input', {
        name: 'crm_webhook_url', type: 'url', value: account.crm_webhook_url || '', autocomplete: 'off',
      }), 'Empty stops forwarding.'),
      field('New access token', h('input', {
        name: 'access_token', type: 'password', autocomplete: 'off',
      }), 'Leave empty to keep the current one. A new token clears the invalid state.'),
      field('New webhook secret', h('input', {
        name: 'webhook_secret', type: 'password', autocomplete: 'off',
      }), 'Leave empty to keep the current one; 16 to 256 bytes.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name].value.trim();
    const body = {};
    if (value('username') !== account.username) body.username = value('username');
    if ((value('crm_webhook_url') || null) !== account.crm_webhook_url) {
      body.crm_webhook_url = value('crm_webhook_url') || null;
    }
    if (value('access_token')) body.access_token = value('access_token');
    if (value('webhook_secret')) body.webhook_secret = value('webhook_secret');
    if (!Object.keys(body).length) {
      notify('Nothing to save: no field changed.');
      return;
    }
    try {
      await api('PATCH', `/accounts/${account.id}`, { body });
      await accounts(true);
      flash('Account saved.', 'success');
      go(`#/accounts/${account.id}`);
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

function deleteForm(account) {
  const form = h('form', { class: 'card danger', 'aria-labelledby': 'delete-account' },
    h('h2', { id: 'delete-account' }, 'Delete'),
    h('p', {}, 'Deletes the account with its messages, deliveries, queued sends and rules.'),
    formError(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Delete account')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!window.confirm(`Delete ${account.username} and everything stored for it?`)) return;
    try {
      await api('DELETE', `/accounts/${account.id}`);
      await accounts(true);
      sessionStorage.removeItem('igrouter.account');
      flash(`Account ${account.username} deleted.`, 'success');
      go('#/accounts');
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}
