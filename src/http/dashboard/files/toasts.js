// Notifications of new fetch errors. Only errors that are new since the last
// update make a toast (a source that keeps failing does not toast again), and new
// errors arriving within a short window are grouped into one toast.

import { h } from './dom.js';

const GROUP_MS = 300;
const LIFE_MS = 15000;
const MAX_VISIBLE = 4;
const MAX_LINES = 5;

export class Toasts {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.pending = new Map();
    this.timer = null;
    this.shown = 0;
  }

  /** A source failed anew: remember it for the next toast. */
  failed(key, label, error) {
    this.pending.set(key, { label, error });
    if (!this.timer) this.timer = setTimeout(() => this.flush(), GROUP_MS);
  }

  /** A source recovered before its toast was shown: drop it. */
  recovered(key) {
    this.pending.delete(key);
  }

  flush() {
    this.timer = null;
    const items = [...this.pending.values()];
    this.pending.clear();
    if (items.length === 0) return;
    this.show(items);
  }

  show(items) {
    const title = items.length === 1
      ? `Fetch failed: ${items[0].label}`
      : `${items.length} sources failed to fetch`;
    const single = items.length === 1;
    const lines = items.slice(0, MAX_LINES).map((it) =>
      h('li', null, single ? null : h('span', { class: 'toast-label' }, it.label),
        h('span', { class: 'toast-error' }, it.error)));
    if (items.length > MAX_LINES) lines.push(h('li', { class: 'muted' }, `… and ${items.length - MAX_LINES} more`));
    const close = h('button', { class: 'toast-close', type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss' }, '×');
    const toast = h('div', { class: 'toast error', role: 'alert' },
      h('div', { class: 'toast-head' }, h('span', { class: 'toast-icon', 'aria-hidden': 'true' }, '⚠'),
        h('strong', null, title), close),
      h('ul', { class: 'toast-body' }, lines));
    close.addEventListener('click', () => toast.remove());
    setTimeout(() => toast.remove(), LIFE_MS);
    this.container.prepend(toast);
    while (this.container.children.length > MAX_VISIBLE) this.container.lastElementChild.remove();
    this.shown += 1;
  }
}
