// The Drift section (where HAProxy and Eureka disagree about an endpoint, from
// `GET /api/drift`) and the drift marks on the server and instance rows it names.
// Reloaded on every drift event and every 10 s; rows built later ask `markRow`.

import * as api from './api.js';
import { fill, h, setText, show } from './dom.js';
import { ago, liveTime } from './format.js';

const KIND = {
  registered_not_serving: 'registered, not serving',
  serving_not_registered: 'serving, not registered',
};
const bySide = { servers: new Map(), instances: new Map() };
const key = (target, name) => `${target}\u0000${name}`;

function badge(item) {
  const unknown = item.state === 'unknown';
  const text = unknown ? 'drift?' : 'drift';
  const title = `${KIND[item.kind] || item.kind}${unknown ? ' (data stale: neither confirmed nor resolved)' : ''}`;
  return h('span', { class: `drift-mark ${item.state}`, title }, text);
}

/** Marks a server row (`server`) or an instance row (`instance`) that has drift. */
export function markRow(tr, side, target, name) {
  const item = bySide[side].get(key(target, name));
  tr.classList.toggle('drift', !!item);
  for (const old of tr.querySelectorAll('.drift-mark')) old.remove();
  if (item) tr.querySelector('td.status')?.append(badge(item));
}

function side(item) {
  const hp = item.haproxy;
  const eu = item.eureka;
  return {
    server: hp.server ? `${hp.target.replace(/^haproxy\//, '')} / ${hp.server}` : `${hp.backend}: no server`,
    instance: eu.instance_id ? `${eu.app} / ${eu.instance_id}` : `${eu.app}: no instance`,
  };
}

function row(item) {
  const s = side(item);
  const since = h('td', { class: 'num' });
  liveTime(since, item.since, ago);
  return h('tr', { class: `drift-row ${item.state}`, dataset: { drift: item.id } },
    h('td', null, badge(item), ` ${KIND[item.kind] || item.kind}`), h('td', { class: 'mono' }, item.endpoint),
    h('td', { class: 'mono' }, s.server, h('span', { class: 'muted' }, ` ${item.haproxy.status || ''}`)),
    h('td', { class: 'mono' }, s.instance, h('span', { class: 'muted' }, ` ${item.eureka.status || ''}`)), since);
}

export class DriftView {
  constructor(section, count, empty, table) {
    Object.assign(this, { section, count, empty, table, items: [] });
    this.body = table.querySelector('tbody');
  }

  async load() {
    try {
      this.items = (await api.drift()).drift || [];
    } catch {
      return;
    }
    bySide.servers.clear();
    bySide.instances.clear();
    for (const item of this.items) {
      if (item.haproxy.server) bySide.servers.set(key(item.haproxy.target, item.haproxy.server), item);
      if (item.eureka.instance_id) bySide.instances.set(key(item.eureka.target, item.eureka.instance_id), item);
    }
    this.render();
  }

  onEvent(ev) {
    if (ev.type === 'drift_detected' || ev.type === 'drift_resolved') this.load();
  }

  render() {
    setText(this.count, this.items.length ? String(this.items.length) : '');
    show(this.empty, this.items.length === 0);
    show(this.table, this.items.length > 0);
    fill(this.body, this.items.map(row));
    for (const tr of document.querySelectorAll('tr[data-server]')) {
      const target = tr.closest('[data-target-id]')?.dataset.targetId;
      if (target) markRow(tr, 'servers', target, tr.dataset.server);
    }
    for (const tr of document.querySelectorAll('tr[data-instance]')) {
      const target = tr.closest('[data-target-id]')?.dataset.targetId;
      if (target) markRow(tr, 'instances', target, tr.dataset.instance);
    }
  }
}
