// Pieces shared by the HAProxy and Eureka views: the ⚠ marker, the error block of
// a failed fetch, state badges, count chips and the admin action row.

import { fill, h, setAttr, setText, show } from './dom.js';
import { ago, liveTime, until } from './format.js';

/** The ⚠ marker of a failed fetch; its `title` is the error text. */
export function warnMarker() {
  const el = h('span', { class: 'warn', role: 'img', hidden: true }, '⚠');
  return {
    el,
    update(error) {
      show(el, Boolean(error));
      setAttr(el, 'title', error || null);
      setAttr(el, 'aria-label', error ? `fetch failed: ${error}` : null);
    },
  };
}

/** The highlighted block of a failed fetch: error text, last attempt, last success. */
export function errorBlock() {
  const text = h('div', { class: 'fetch-error-text' });
  const attempt = h('span', { class: 'last-attempt' });
  const success = h('span', { class: 'last-success' });
  const failures = h('span', { class: 'fetch-error-failures' });
  const next = h('span', { class: 'next-attempt' });
  const el = h('div', { class: 'fetch-error', hidden: true },
    h('div', { class: 'fetch-error-title' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), 'Fetch failed'),
    text, h('div', { class: 'fetch-error-meta' }, attempt, success, failures, next));
  return {
    el,
    /** `info`: {error, at, successAt, failures, next}; a falsy error hides the block. */
    update(info) {
      show(el, Boolean(info.error));
      if (!info.error) return;
      setText(text, info.error);
      liveTime(attempt, info.at, ago, 'last attempt ');
      if (info.successAt) liveTime(success, info.successAt, ago, 'last success ');
      else setText(success, info.successAt === null ? 'never fetched successfully' : '');
      const n = info.failures || 0;
      setText(failures, n ? `${n} failed poll${n === 1 ? '' : 's'} in a row` : '');
      if (info.next) liveTime(next, info.next, until, 'next attempt ');
      else setText(next, '');
    },
  };
}

const CIRCUIT_WORDS = { closed: 'circuit closed', open: 'circuit open', half_open: 'circuit half-open' };

/** The circuit breaker badge. */
export function circuitBadge() {
  const el = h('span', { class: 'badge circuit' });
  return {
    el,
    update(t) {
      const state = t.circuit_state || 'closed';
      setText(el, CIRCUIT_WORDS[state] || state);
      setAttr(el, 'class', `badge circuit ${state}`);
      const c = t.circuit || {};
      const tip = [`failure threshold ${c.failure_threshold ?? '?'}`, `opened ${c.opened_count ?? 0}×`];
      if (c.next_attempt_at && state === 'open') tip.push(`next attempt ${until(c.next_attempt_at)}`);
      setAttr(el, 'title', tip.join(', '));
    },
  };
}

/** The "polling off" badge. */
export function pollingBadge() {
  const el = h('span', { class: 'badge off', hidden: true }, 'polling off');
  return { el, update: (t) => show(el, !t.enable_polling) };
}

/** `[UP: n]`-style chips, one per state with a count (always `up` and `down`). */
export function chips(counts, order, unknown) {
  const out = [];
  for (const state of order) {
    const n = counts[state] || 0;
    const always = state === 'up' || state === 'down';
    if ((n === 0 || unknown) && !always) continue;
    const label = state.toUpperCase().replace(/_/g, ' ');
    const value = unknown ? '?' : String(n);
    out.push(h('span', { class: `chip ${unknown ? 'unknown' : state}${n ? '' : ' zero'}` }, `[${label}: ${value}]`));
  }
  return out;
}

/** Fills `host` with chips only when their text changes. */
export function updateChips(host, counts, order, unknown) {
  const next = chips(counts, order, unknown);
  const text = next.map((c) => c.textContent + c.className).join('|');
  if (host.dataset.sig === text) return;
  host.dataset.sig = text;
  fill(host, next);
}

/** A status badge coloured by normalised state. */
export function stateBadge(status, state) {
  return h('span', { class: `state ${state || 'unknown'}` }, status || '—');
}

/** The admin action row of a target (shown while an admin token is set). */
export function adminRow() {
  const polling = h('button', { type: 'button', class: 'btn', dataset: { action: 'polling' } });
  const result = h('span', { class: 'admin-result', role: 'status' });
  const el = h('div', { class: 'admin-row', hidden: true },
    h('button', { type: 'button', class: 'btn', dataset: { action: 'reset-circuit' } }, 'Reset circuit'),
    h('button', { type: 'button', class: 'btn', dataset: { action: 'recover' } }, 'Recover'),
    polling, result);
  return {
    el,
    update(t, enabled) {
      show(el, enabled);
      setText(polling, t.enable_polling ? 'Disable polling' : 'Enable polling');
      polling.dataset.enable = t.enable_polling ? 'false' : 'true';
    },
  };
}
