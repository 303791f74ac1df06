// The summary bar: targets by fetch status, open circuits, and HAProxy servers and
// Eureka instances by state, across the whole fleet.

import { flag, h, setText } from './dom.js';
import { count } from './format.js';

const GROUPS = [
  ['targets', 'Targets', [['total', 'total'], ['success', 'ok'], ['failed', 'failed'], ['unknown', 'not polled yet']]],
  ['circuits', 'Circuits', [['open', 'open'], ['half_open', 'half-open'], ['disabled', 'polling off']]],
  ['servers', 'HAProxy servers', [['up', 'up'], ['down', 'down'], ['maint', 'maint'], ['drain', 'drain'], ['unknown', 'no data']]],
  ['instances', 'Eureka instances', [
    ['up', 'up'], ['down', 'down'], ['starting', 'starting'], ['out_of_service', 'out of service'], ['unknown', 'no data'],
  ]],
];

/** Which tiles are alarming when not zero. */
const ALARM = new Set(['targets.failed', 'circuits.open', 'servers.down', 'instances.down']);
const WARN = new Set([
  'circuits.half_open', 'circuits.disabled', 'servers.maint', 'servers.drain', 'servers.unknown',
  'instances.out_of_service', 'instances.starting', 'instances.unknown', 'targets.unknown',
]);

export class Summary {
  /** @param {HTMLElement} host */
  constructor(host) {
    this.values = new Map();
    for (const [group, title, tiles] of GROUPS) {
      const row = h('div', { class: 'stats' });
      for (const [key, label] of tiles) {
        const value = h('span', { class: 'stat-value' }, '–');
        const tile = h('div', { class: `stat ${key}`, dataset: { stat: `${group}.${key}` } },
          value, h('span', { class: 'stat-label' }, label));
        this.values.set(`${group}.${key}`, { tile, value });
        row.append(tile);
      }
      host.append(h('div', { class: 'stat-group', dataset: { group } }, h('div', { class: 'stat-title' }, title), row));
    }
  }

  /** Shows the counts of `Model.counts()`. */
  update(c) {
    const flat = { ...c, circuits: { ...c.circuits, disabled: c.disabled } };
    for (const [key, { tile, value }] of this.values) {
      const [group, name] = key.split('.');
      const n = flat[group][name] || 0;
      setText(value, count(n));
      flag(tile, 'zero', n === 0);
      flag(tile, 'alarm', n > 0 && ALARM.has(key));
      flag(tile, 'warning', n > 0 && WARN.has(key));
      flag(tile, 'good', n > 0 && (name === 'up' || name === 'success'));
    }
  }
}
