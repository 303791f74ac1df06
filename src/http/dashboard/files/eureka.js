// The Eureka section: one block per Eureka server (target) with its circuit,
// availability strip and fetch error, and in it one collapsible card per
// application with its instances (status, host, IP, port). An application whose
// fetch failed shows ⚠ and its own error block.

import { fill, h, setAttr, setText, show } from './dom.js';
import { ago, liveTime } from './format.js';
import { OrderedList } from './list.js';
import { hasProblem } from './state.js';
import * as w from './widgets.js';
import { markRow } from './drift.js';

const INSTANCE_STATES = ['up', 'down', 'starting', 'out_of_service', 'unknown'];

function instanceRow(i) {
  const noData = i.status === 'no data';
  const status = h('td', { class: 'status' }, w.stateBadge(i.status, i.state));
  if (noData && i.last_known_status) {
    status.append(h('span', { class: 'last-known', title: 'last known status' }, `last: ${i.last_known_status}`));
  }
  if (i.lease_expired) status.append(leaseMark(i));
  if (i.removed_at) {
    const removed = h('span', { class: 'removed-at' });
    liveTime(removed, i.removed_at, ago, 'removed ');
    status.append(removed);
  }
  const cls = [noData ? 'no-data' : '', i.removed_at ? 'removed' : ''].join(' ').trim();
  const tr = h('tr', { class: cls, dataset: { instance: i.instance_id } },
    h('td', { class: 'name mono', title: i.instance_id }, i.instance_id), status,
    h('td', { class: 'mono', title: i.host_name || null }, i.host_name || '—'),
    h('td', { class: 'mono' }, i.ip_addr || '—'), h('td', { class: 'num' }, i.port ?? '—'));
  markRow(tr, 'instances', i.target, i.instance_id);
  return tr;
}

/** "lease expired 4 min ago": the registry keeps an instance that stopped renewing. */
function leaseMark(i) {
  const lease = i.lease || {};
  const renewed = Date.parse(lease.last_renewal_at || '');
  const expiry = Number.isNaN(renewed) ? null : new Date(renewed + (lease.duration_s || 0) * 1000).toISOString();
  const mark = h('span', { class: 'lease-expired', title: 'last renewal older than the lease: Eureka should have evicted it' });
  liveTime(mark, expiry, ago, 'lease expired ');
  return mark;
}

function countStates(instances) {
  const counts = {};
  for (const i of instances) if (!i.removed_at) counts[i.state] = (counts[i.state] || 0) + 1;
  return counts;
}

class AppCard {
  constructor(name) {
    this.warn = w.warnMarker();
    this.error = w.errorBlock();
    this.chips = h('span', { class: 'chips' });
    this.body = h('tbody');
    const columns = [['Instance', 'c-instance'], ['Status', 'c-status'], ['Host', 'c-host'], ['IP', 'c-ip'],
      ['Port', 'c-port']];
    const head = h('tr', null, columns.map(([c, cls]) => h('th', { class: cls }, c)));
    this.table = h('table', { class: 'rows' }, h('thead', null, head), this.body);
    this.empty = h('div', { class: 'muted empty' }, 'no instances');
    const summary = h('summary', { class: 'card-head' },
      h('div', { class: 'head-line' }, this.warn.el, h('span', { class: 'title' }, name), this.chips));
    this.el = h('details', { class: 'card app', open: true, dataset: { app: name } },
      summary, h('div', { class: 'card-body' }, this.error.el, this.table, this.empty));
  }

  update(t, app, instances) {
    const failed = app.last_fetch_status === 'failed';
    const error = failed ? app.last_fetch_error || t.last_fetch_error || 'fetch failed' : null;
    setAttr(this.el, 'data-fetch', app.last_fetch_status);
    this.warn.update(error);
    w.updateChips(this.chips, countStates(instances), INSTANCE_STATES, failed);
    const whole = t.last_fetch_status === 'failed';
    this.error.update({ error, at: app.last_fetch_at || t.last_fetch_at, successAt: whole ? t.last_success_at : undefined });
    fill(this.body, instances.map(instanceRow));
    show(this.table, instances.length > 0);
    show(this.empty, instances.length === 0);
    this.search = [app.name, ...instances.flatMap((i) => [i.instance_id, i.host_name, i.ip_addr, i.status])]
      .join(' ').toLowerCase();
    this.problem = failed || instances.some((i) => i.state !== 'up' && !i.removed_at);
  }

  matches(filter, serverText) {
    if (filter.problems && !this.problem) return false;
    return !filter.text || this.search.includes(filter.text) || serverText.includes(filter.text);
  }
}

class ServerBlock {
  constructor(ctx, t) {
    this.ctx = ctx;
    this.warn = w.warnMarker();
    this.circuit = w.circuitBadge();
    this.polling = w.pollingBadge();
    this.error = w.errorBlock();
    this.admin = w.adminRow();
    this.chips = h('span', { class: 'chips' });
    this.strip = h('div', { class: 'strip-host' });
    this.source = h('span', { class: 'badge source' });
    this.empty = h('div', { class: 'muted empty' });
    this.preservation = h('div', { class: 'self-preservation', role: 'alert', hidden: true },
      'Self-preservation suspected: many leases have expired and the registry keeps those instances — '
      + 'its UP is not to be trusted.');
    const apps = h('div', { class: 'apps' });
    this.apps = new OrderedList(apps);
    const title = h('span', { class: 'title' }, h('span', { class: 'group' }, 'eureka'),
      h('span', { class: 'sep' }, ' / '), h('span', { class: 'bname' }, t.group));
    const head = h('header', { class: 'server-head' },
      h('div', { class: 'head-line' }, this.warn.el, title, this.source, this.chips, this.circuit.el, this.polling.el),
      this.strip);
    this.el = h('section', { class: 'eureka-server', dataset: { targetId: t.id } },
      head, this.preservation, this.error.el, this.admin.el, apps, this.empty);
    ctx.availability.attach(t.id, this.strip);
  }

  update(t) {
    const failed = t.last_fetch_status === 'failed';
    setAttr(this.el, 'data-fetch', t.last_fetch_status);
    setText(this.source, t.source === 'agent' ? 'via FAgent' : 'Eureka API');
    this.warn.update(failed ? t.last_fetch_error || 'fetch failed' : null);
    const instances = t.instances || [];
    w.updateChips(this.chips, countStates(instances), INSTANCE_STATES, failed);
    this.circuit.update(t);
    this.polling.update(t);
    this.error.update({
      error: failed ? t.last_fetch_error || 'fetch failed' : null, at: t.last_fetch_at,
      successAt: t.last_success_at, failures: t.consecutive_failures,
      next: t.circuit_state === 'open' ? t.circuit?.next_attempt_at : null,
    });
    this.admin.update(t, this.ctx.adminEnabled());
    show(this.preservation, t.self_preservation_suspected === true);
    this.updateApps(t, instances);
    this.problem = hasProblem(t);
  }

  updateApps(t, instances) {
    const byApp = new Map();
    for (const i of instances) {
      if (!byApp.has(i.app)) byApp.set(i.app, []);
      byApp.get(i.app).push(i);
    }
    const apps = t.applications || [];
    this.apps.retain(new Set(apps.map((a) => a.name)));
    this.serverText = `${t.id} ${t.group}`.toLowerCase();
    for (const app of apps) {
      let card = this.apps.get(app.name);
      if (!card) {
        card = new AppCard(app.name);
        this.apps.insert(app.name, app.name, card);
      }
      card.update(t, app, byApp.get(app.name) || []);
    }
    setText(this.empty, t.last_fetch_status === 'unknown' ? 'not fetched yet' : 'no applications');
    show(this.empty, apps.length === 0);
  }

  /** Applies the filter to the apps; answers whether the block shows at all. */
  filter(filter) {
    let any = false;
    for (const card of this.apps.values()) {
      const match = card.matches(filter, this.serverText);
      show(card.el, match);
      any ||= match;
    }
    if (filter.problems) return any || this.problem;
    return any || !filter.text || this.serverText.includes(filter.text);
  }
}

export class EurekaView {
  constructor(ctx, container, countEl) {
    this.ctx = ctx;
    this.countEl = countEl;
    this.list = new OrderedList(container);
  }

  render(id, t) {
    let block = this.list.get(id);
    if (!t) {
      if (block) this.drop(id);
      return;
    }
    if (!block) {
      block = new ServerBlock(this.ctx, t);
      this.list.insert(id, id, block);
    }
    block.update(t);
    show(block.el, block.filter(this.ctx.filter));
  }

  drop(id) {
    this.list.remove(id);
    this.ctx.availability.detach(id);
  }

  refilter() {
    for (const block of this.list.values()) show(block.el, block.filter(this.ctx.filter));
  }

  /** Writes the number of applications next to the heading; answers the blocks. */
  summarize() {
    let apps = 0;
    for (const block of this.list.values()) apps += block.apps.size;
    setText(this.countEl, `${apps} application${apps === 1 ? '' : 's'} on ${this.list.size} server${this.list.size === 1 ? '' : 's'}`);
    return this.list.size;
  }
}
