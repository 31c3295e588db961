// The console's shell: hash routes (a reload keeps the page), the navigation, notices, and the
// sign-in gate. Each page is a module with `render(view, params, query)`.

import { currentAccount, session, CURRENT_ACCOUNT } from './api.js';
import { flash, go, h, replace, showFlashes } from './dom.js';
import * as signin from './pages/signin.js';
import * as accountsPage from './pages/accounts.js';
import * as conversations from './pages/conversations.js';
import * as deliveries from './pages/deliveries.js';
import * as rules from './pages/rules.js';
import * as dashboard from './pages/dashboard.js';

/** `[pattern, page, name]`: the first pattern that matches the hash path wins. */
const ROUTES = [
  [/^\/signin$/, signin.render, 'signin'],
  [/^\/accounts$/, accountsPage.renderList, 'accounts'],
  [/^\/accounts\/(acc_[a-z0-9]+)$/, accountsPage.renderOne, 'accounts'],
  [/^\/accounts\/(acc_[a-z0-9]+)\/conversations$/, conversations.renderList, 'conversations'],
  [/^\/accounts\/(acc_[a-z0-9]+)\/conversations\/([^/]+)$/, conversations.renderOne, 'conversations'],
  [/^\/accounts\/(acc_[a-z0-9]+)\/rules(?:\/(rul_[a-z0-9]+))?$/, rules.render, 'rules'],
  [/^\/accounts\/(acc_[a-z0-9]+)\/dashboard$/, dashboard.render, 'dashboard'],
  [/^\/deliveries$/, deliveries.renderList, 'deliveries'],
  [/^\/deliveries\/(evt_[a-z0-9]+)$/, deliveries.renderOne, 'deliveries'],
];

function parse(hash) {
  const [path, search] = hash.replace(/^#/, '').split('?');
  return { path: path || '/', query: new URLSearchParams(search || '') };
}

async function route() {
  const hash = window.location.hash;
  // `#main` and other in-page anchors are not routes.
  if (hash && !hash.startsWith('#/')) return;
  const { path, query } = parse(hash);
  if (!session.key && path !== '/signin') {
    sessionStorage.setItem('igrouter.after', hash || '#/');
    go('#/signin');
    return;
  }
  if (path === '/') {
    go(currentAccount() ? `#/accounts/${currentAccount()}/dashboard` : '#/accounts');
    return;
  }
  const found = ROUTES.map(([pattern, render, name]) => [path.match(pattern), render, name])
    .find(([match]) => match);
  const view = document.getElementById('view');
  document.getElementById('notices').replaceChildren();
  showFlashes();
  // Each render gets its own container: a slow page that finishes after the reader moved on
  // writes into a container no longer on the page.
  const container = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(view, container);
  window.scrollTo(0, 0);
  // A part that is not valid percent-encoding (`%E0`) names no page either.
  const params = found ? decodeParams(found[0]) : null;
  if (!params) {
    replace(container, h('h1', { tabindex: '-1' }, 'Not found'),
      h('p', {}, 'No page here. ', h('a', { href: '#/accounts' }, 'Go to the accounts.')));
    document.title = 'Not found · igrouter';
    focusHeading(container);
    return;
  }
  const [, render, name] = found;
  if (params[0] && params[0].startsWith('acc_')) sessionStorage.setItem(CURRENT_ACCOUNT, params[0]);
  renderNav(name);
  try {
    await render(container, params, query);
  } catch (error) {
    if (error && error.status === 401) return;
    replace(container, h('h1', { tabindex: '-1' }, 'Could not load this page'),
      h('p', { class: 'error', role: 'alert' }, describe(error)),
      h('p', {}, h('button', { type: 'button', onclick: () => route() }, 'Try again')));
  }
  if (container.isConnected) {
    document.title = `${(container.querySelector('h1') || {}).textContent || 'Console'} · igrouter`;
    focusHeading(container);
  }
}

/** The route's parts, percent-decoded; `null` when one is not valid percent-encoding. */
function decodeParams(match) {
  try {
    return match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
  } catch (error) {
    if (error instanceof URIError) return null;
    throw error;
  }
}

function describe(error) {
  if (!error) return 'Something went wrong.';
  if (error.status === 0) return 'The service did not answer. Check the connection and try again.';
  if (error.status === 404) return 'Not found, or not visible with this API key.';
  return `${error.message} [${error.status || ''} ${error.code || ''}]`;
}

// The heading takes the focus without moving the page: a page that scrolled itself (a
// conversation, to its newest message) stays where it put itself.
function focusHeading(container) {
  const heading = container.querySelector('h1');
  if (heading) heading.focus({ preventScroll: true });
}

function renderNav(active) {
  const nav = document.getElementById('nav');
  const signedIn = Boolean(session.key);
  nav.hidden = !signedIn;
  document.getElementById('session').hidden = !signedIn;
  if (!signedIn) return;
  const account = currentAccount();
  const scoped = (page) => (account ? `#/accounts/${account}/${page}` : '#/accounts');
  const links = [
    ['dashboard', 'Dashboard', scoped('dashboard')],
    ['accounts', 'Accounts', '#/accounts'],
    ['conversations', 'Conversations', scoped('conversations')],
    ['deliveries', 'Deliveries', '#/deliveries'],
    ['rules', 'Rules', scoped('rules')],
  ];
  replace(nav, h('ul', {}, links.map(([name, label, href]) => h('li', {},
    h('a', { href, 'aria-current': name === active ? 'page' : null }, label)))));
}

function start() {
  document.getElementById('sign-out').addEventListener('click', () => {
    session.signOut();
  });
  window.addEventListener('igrouter:signed-out', () => {
    sessionStorage.removeItem(CURRENT_ACCOUNT);
    renderNav(null);
    if (parse(window.location.hash).path === '/signin') return;
    sessionStorage.setItem('igrouter.after', window.location.hash || '#/');
    flash('Signed out. Sign in with an API key to go on.');
    go('#/signin');
  });
  window.addEventListener('hashchange', route);
  // An address with an in-page anchor (`#main`) or none starts at the default page.
  if (!window.location.hash.startsWith('#/')) window.history.replaceState(null, '', '#/');
  // The skip link moves focus without changing the route.
  document.querySelector('[data-skip]').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });
  route();
}

start();
