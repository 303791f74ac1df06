// The HAProxy section: one collapsible card per backend with its HAProxy instance,
// `[UP: n] [DOWN: m]`, circuit state, availability strip, the error block of a
// failed fetch, and its servers (as "no data", last known status greyed, while the
// fetch fails). Large fleets are windowed: only the first PAGE matching backends
// (in name order) have cards; more are added as the list scrolls ("show more").

import { fill, h, setAttr, setText, show } from './dom.js';
import { count, duration } from './format.js';
import { SortedKeys } from './list.js';
import { hasProblem } from './state.js';
import * as w from './widgets.js';
import { markRow } from './drift.js';

const SERVER_STATES = ['up', 'down', 'maint', 'drain', 'unknown'];
const PAGE = 200;

function serverRow(s, targetId) {
  const noData = s.status === 'no data';
  const status = h('td', { class: 'status' }, w.stateBadge(s.status, s.state));
  if (noData && s.last_known_status) {
    status.append(h('span', { class: 'last-known', title: 'last known status' }, `last: ${s.last_known_status}`));
  }
  const changed = typeof s.last_change_s === 'number' ? duration(s.last_change_s * 1000) : '';
  const tr = h('tr', { class: noData ? 'no-data' : '', dataset: { server: s.name } },
    h('td', { class: 'name mono', title: s.name }, s.name), status,
    h('td', { class: 'mono' }, s.check_status || ''), h('td', { class: 'num' }, s.weight ?? ''),
    h('td', { class: 'mono', title: s.addr || null }, s.addr || ''),
    h('td', { class: 'num', title: 'since the last UP/DOWN change (as of the last successful fetch)' }, changed));
  markRow(tr, 'servers', targetId, s.name);
  return tr;
}

function serverTable() {
  const body = h('tbody');
  const columns = [['Server', 'c-name'], ['Status', 'c-status'], ['Check', 'c-check'], ['Wt', 'c-weight'],
    ['Address', 'c-addr'], ['Changed', 'c-changed']];
  const head = h('tr', null, columns.map(([c, cls]) => h('th', { class: cls }, c)));
  return { el: h('table', { class: 'rows' }, h('thead', null, head), body), body };
}

class BackendCard {
  constructor(ctx, t) {
    this.ctx = ctx;
    this.warn = w.warnMarker();
    this.circuit = w.circuitBadge();
    this.polling = w.pollingBadge();
    this.error = w.errorBlock();
    this.admin = w.adminRow();
    this.chips = h('span', { class: 'chips' });
    this.strip = h('div', { class: 'strip-host' });
    this.table = serverTable();
    this.empty = h('div', { class: 'muted empty' });
    const name = h('span', { class: 'title' },
      h('span', { class: 'group', title: 'HAProxy instance' }, t.group), h('span', { class: 'sep' }, ' / '),
      h('span', { class: 'bname' }, t.backend_name || t.id));
    const head = h('summary', { class: 'card-head' },
      h('div', { class: 'head-line' }, this.warn.el, name, this.chips, this.circuit.el, this.polling.el), this.strip);
    this.el = h('details', { class: 'card backend', dataset: { targetId: t.id } },
      head, h('div', { class: 'card-body' }, this.error.el, this.table.el, this.empty, this.admin.el));
    this.el.addEventListener('toggle', () => {
      if (this.el.open !== this.wantOpen) this.userToggled = true;
    });
    this.userToggled = false;
    this.wasProblem = null;
    ctx.availability.attach(t.id, this.strip);
  }

  update(t) {
    const failed = t.last_fetch_status === 'failed';
    const servers = t.servers || [];
    setAttr(this.el, 'data-fetch', t.last_fetch_status);
    this.warn.update(failed ? t.last_fetch_error || 'fetch failed' : null);
    const counts = {};
    for (const s of servers) counts[s.state] = (counts[s.state] || 0) + 1;
    w.updateChips(this.chips, counts, SERVER_STATES, failed);
    this.circuit.update(t);
    this.polling.update(t);
    this.error.update({
      error: failed ? t.last_fetch_error || 'fetch failed' : null, at: t.last_fetch_at,
      successAt: t.last_success_at, failures: t.consecutive_failures,
      next: t.circuit_state === 'open' ? t.circuit?.next_attempt_at : null,
    });
    fill(this.table.body, servers.map((s) => serverRow(s, t.id)));
    show(this.table.el, servers.length > 0);
    setText(this.empty, servers.length ? '' : failed ? 'no data yet' : 'no servers');
    show(this.empty, servers.length === 0);
    this.admin.update(t, this.ctx.adminEnabled());
    this.setOpen(hasProblem(t));
  }

  setOpen(problem) {
    if (this.userToggled || problem === this.wasProblem) return;
    this.wasProblem = problem;
    this.wantOpen = problem || this.ctx.smallFleet();
    if (this.el.open !== this.wantOpen) this.el.open = this.wantOpen;
  }
}

/** What the filter looks at: the words of a backend and whether it needs attention. */
function describe(t) {
  const words = [t.id, ...(t.servers || []).flatMap((s) => [s.name, s.addr, s.status])];
  return { search: words.join(' ').toLowerCase(), problem: hasProblem(t) };
}

function matches(info, filter) {
  if (filter.problems && !info.problem) return false;
  return !filter.text || info.search.includes(filter.text);
}

export class HaproxyView {
  /**
   * @param {object} ctx  shared context; `ctx.target(id)` gives a target of the model
   * @param {object} els  {list, count, more, moreText, moreButton}
   */
  constructor(ctx, els) {
    this.ctx = ctx;
    this.els = els;
    this.keys = new SortedKeys();
    this.info = new Map();
    this.cards = new Map();
    this.limit = PAGE;
    this.stale = true;
    this.matching = 0;
    els.moreButton.addEventListener('click', () => this.more());
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.more();
    }, { rootMargin: '400px' }).observe(els.more);
  }

  /** Takes the new state of target `id` (null: removed); cards follow in `reconcile`. */
  render(id, t) {
    const before = this.info.get(id);
    if (!t) {
      if (!before) return;
      this.keys.remove(id);
      this.info.delete(id);
      this.stale = true;
      return;
    }
    const info = describe(t);
    this.info.set(id, info);
    if (!before) {
      this.keys.insert(id, `${t.group}\u0000${t.backend_name}\u0000${id}`);
      this.stale = true;
    } else if (matches(before, this.ctx.filter) !== matches(info, this.ctx.filter)) {
      this.stale = true;
    }
    const card = this.cards.get(id);
    if (card) card.update(t);
  }

  /** Shows more backends (scrolling to the end of the list does it too). */
  more() {
    if (this.matching <= this.limit) return;
    this.limit += PAGE;
    this.stale = true;
    this.ctx.touch();
  }

  /** The filter changed: start again from the first page. */
  refilter() {
    this.limit = PAGE;
    this.stale = true;
  }

  /** Makes the cards in the page the first `limit` matching backends, in order. */
  reconcile() {
    if (!this.stale) return;
    this.stale = false;
    const wanted = [];
    this.matching = 0;
    for (const id of this.keys.ids()) {
      if (!matches(this.info.get(id), this.ctx.filter)) continue;
      this.matching += 1;
      if (wanted.length < this.limit) wanted.push(id);
    }
    const keep = new Set(wanted);
    for (const [id, card] of this.cards) {
      if (keep.has(id)) continue;
      card.el.remove();
      this.cards.delete(id);
      this.ctx.availability.detach(id);
    }
    this.place(wanted);
  }

  place(wanted) {
    const list = this.els.list;
    let prev = null;
    for (const id of wanted) {
      let card = this.cards.get(id);
      if (!card) {
        const t = this.ctx.target(id);
        card = new BackendCard(this.ctx, t);
        card.update(t);
        this.cards.set(id, card);
      }
      const at = prev ? prev.nextSibling : list.firstChild;
      if (card.el !== at) list.insertBefore(card.el, at);
      prev = card.el;
    }
  }

  /** Writes the counts next to the heading and under the list; answers the total. */
  summarize() {
    this.reconcile();
    const total = this.info.size;
    const shown = this.cards.size;
    const filtered = this.matching === total ? '' : ` (${count(this.matching)} match the filter)`;
    setText(this.els.count, shown === total ? count(total) : `${count(shown)} of ${count(total)}`);
    show(this.els.more, this.matching > shown);
    setText(this.els.moreText, `Showing ${count(shown)} of ${count(total)} backends${filtered}.`);
    return total;
  }
}
