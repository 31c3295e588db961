// Sign-in: the API key is checked with one call (GET /api/v1/accounts?limit=1) and kept in
// sessionStorage for this tab only.

import { accounts, api, ApiError, session } from '../api.js';
import { describeError, field, formError, go, h, heading, replace, showError } from '../dom.js';

/** The sign-in form. */
export async function render(view) {
  const key = h('input', {
    type: 'password', name: 'key', id: 'api-key', required: true, autocomplete: 'off',
    spellcheck: 'false', autocapitalize: 'off',
  });
  const form = h('form', { class: 'card narrow', novalidate: true },
    formError(),
    field('API key', key,
      'Made with `igrouter api-keys create`. Kept in this browser tab only, and sent only to this '
      + 'service\'s /api/v1 API. A key bound to accounts sees only those accounts.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = key.value.trim();
    if (!value) {
      showError(form, { status: 422, details: { field: 'key', reason: 'is required' } });
      return;
    }
    session.signIn(value);
    try {
      await api('GET', '/accounts', { query: { limit: 1 } });
    } catch (error) {
      session.signOut();
      const area = form.querySelector('.form-error');
      replace(area, error instanceof ApiError && error.status === 401
        ? 'That API key was refused.' : describeError(error));
      area.hidden = false;
      key.focus();
      return;
    }
    const after = sessionStorage.getItem('igrouter.after');
    sessionStorage.removeItem('igrouter.after');
    accounts(true).catch(() => {});
    go(after && after !== '#/signin' ? after : '#/');
  });
  replace(view, heading('Sign in'), form);
}
