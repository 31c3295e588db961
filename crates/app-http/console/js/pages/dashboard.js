// The dashboard: GET /api/v1/accounts/{id}/stats for a range of days, as totals and charts
// (messages per day, delivery success, first-response time).

import { api } from '../api.js';
import { field, go, h, heading, replace } from '../dom.js';
import { barChart, rangeChart } from '../charts.js';
import { accountBar } from './accounts.js';

const DEFAULT_DAYS = 14;

/** What the stats count as an answer (docs/api.md, "First response"). */
const FIRST_RESPONSE_HINT = 'First response is the time from a customer\'s first message to the '
  + 'business\'s first message back; auto-replies count as answers.';

/** `YYYY-MM-DD` of `date` in UTC (the days of the stats endpoint). */
function day(date) {
  return date.toISOString().slice(0, 10);
}

/** `#/accounts/{id}/dashboard?from=&to=`. */
export async function render(view, [accountId], query) {
  const { bar } = await accountBar(accountId, 'dashboard');
  const today = new Date();
  const isDay = (value) => /^\d{4}-\d{2}-\d{2}$/.test(value || '');
  const to = isDay(query.get('to')) ? query.get('to') : day(today);
  const from = isDay(query.get('from')) ? query.get('from')
    : day(new Date(today.getTime() - (DEFAULT_DAYS - 1) * 86400000));
  const range = h('form', { class: 'filters', 'aria-label': 'Days shown' },
    field('From', h('input', { type: 'date', name: 'from', value: from, required: true })),
    field('To', h('input', { type: 'date', name: 'to', value: to, required: true })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')));
  range.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ from: range.elements.from.value, to: range.elements.to.value });
    go(`#/accounts/${accountId}/dashboard?${params}`);
  });
  let stats;
  try {
    ({ data: stats } = await api('GET', `/accounts/${accountId}/stats`, { query: { from, to } }));
  } catch (error) {
    if (error.status !== 404 && error.status !== 405 && error.status !== 422) throw error;
    const reason = error.status === 422
      ? `The range was refused: ${error.details && error.details.reason ? `${error.details.field} ${error.details.reason}` : error.message}.`
      : 'Statistics are unavailable: this service does not answer GET /api/v1/accounts/{id}/stats '
        + '(an older version), or the account is not visible with this key.';
    replace(view, heading('Dashboard'), bar, range,
      h('div', { class: 'card unavailable', id: 'stats-unavailable', role: 'status' },
        h('h2', {}, 'Statistics unavailable'), h('p', {}, reason)));
    return;
  }
  replace(view, heading('Dashboard'), bar, range, totals(stats), charts(stats));
}

function percent(rate) {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)} %`;
}

/**
 * `90` → `1 min 30 s`, `7200` → `2 h 0 min`. The total is rounded before it is split, so
 * `119.6` is `2 min 0 s`, never `1 min 60 s`.
 */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  if (total < 3600) return `${Math.floor(total / 60)} min ${total % 60} s`;
  const minutes = Math.round(total / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function totals(stats) {
  const t = stats.totals;
  const fr = stats.first_response;
  const tile = (label, value, note) => h('div', { class: 'tile' },
    h('dt', {}, label), h('dd', {}, h('span', { class: 'big' }, value), note ? h('span', { class: 'hint' }, note) : null));
  return h('div', { class: 'totals' },
    h('dl', { class: 'tiles', 'aria-label': `Totals from ${stats.from} to ${stats.to}` },
      tile('Messages in', String(t.messages_in)),
      tile('Messages out', String(t.messages_out), `${t.auto_replies} auto-replies`),
      tile('Delivery success', percent(t.delivery_success_rate),
        `${t.deliveries_ok} delivered, ${t.deliveries_failed} failed`),
      tile('First response (median)', duration(fr.p50_seconds),
        `${fr.answered} of ${fr.conversations} conversations answered`),
      tile('First response (90th pct.)', duration(fr.p90_seconds))),
    h('p', { class: 'hint', id: 'first-response-hint' }, FIRST_RESPONSE_HINT));
}

function charts(stats) {
  const labels = stats.days.map((d) => d.date);
  const col = (name) => stats.days.map((d) => d[name] || 0);
  const fr = stats.first_response;
  const t = stats.totals;
  return h('div', { class: 'charts' },
    barChart({
      id: 'chart-messages',
      title: 'Messages per day',
      summary: `From ${stats.from} to ${stats.to}: ${t.messages_in} in, ${t.messages_out} out, `
        + `${t.auto_replies} auto-replies.`,
      labels,
      series: [
        { name: 'In', values: col('messages_in'), cls: 'series-in' },
        { name: 'Out', values: col('messages_out'), cls: 'series-out' },
        { name: 'Auto-replies', values: col('auto_replies'), cls: 'series-auto' },
      ],
    }),
    barChart({
      id: 'chart-deliveries',
      title: 'CRM deliveries per day',
      summary: `${t.deliveries_ok} delivered and ${t.deliveries_failed} failed: `
        + `${percent(t.delivery_success_rate)} success.`,
      labels,
      stacked: true,
      series: [
        { name: 'Delivered', values: col('deliveries_ok'), cls: 'series-ok' },
        { name: 'Failed', values: col('deliveries_failed'), cls: 'series-failed' },
      ],
    }),
    rangeChart({
      id: 'chart-first-response',
      title: 'Time to first response',
      summary: `Median ${duration(fr.p50_seconds)}, 90th percentile ${duration(fr.p90_seconds)}, `
        + `${fr.answered} of ${fr.conversations} conversations answered.`,
      items: [
        { label: 'median', value: fr.p50_seconds, cls: 'series-out' },
        { label: '90th pct.', value: fr.p90_seconds, cls: 'series-auto' },
      ],
      format: duration,
    }));
}
