// The alerts panel: firing and pending alerts (firing first, by severity, with
// their age and flapping / silenced marks), "silence" on an alert and the list of
// silences with "end now" (both with the admin token), and alert marks on the
// backend, server and instance each alert concerns. It reads `GET /api/alerts`
// and `GET /api/silences` again when an alert or silence event arrives.

import * as api from './api.js';
import { fill, h, setAttr, setText, show } from './dom.js';
import { duration, parseTs } from './format.js';

const SEVERITY = { critical: 0, warning: 1, info: 2 };

function subject(labels) {
  const parts = [labels.target];
  if (labels.server) parts.push(`server ${labels.server}`);
  if (labels.app) parts.push(labels.app);
  if (labels.instance) parts.push(`instance ${labels.instance}`);
  return parts.join(' · ');
}

function since(a) {
  const t = parseTs(a.state === 'firing' ? a.fired_at : a.since);
  return t === null ? a.state : `${a.state} for ${duration(Math.max(0, Date.now() - t))}`;
}

export class AlertsPanel {
  /**
   * @param {object} els  {list, count, silences, empty}
   * @param {() => string} token  the admin token ('' without admin mode)
   */
  constructor(els, token) {
    this.els = els;
    this.token = token;
    this.alerts = [];
    this.silences = [];
    this.loading = null;
    els.list.addEventListener('submit', (e) => this.silence(e));
    els.list.addEventListener('click', (e) => this.openForm(e));
    els.silences.addEventListener('click', (e) => this.end(e));
  }

  /** Reads alerts and silences again (one request of each at a time). */
  async refresh() {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      try {
        const [a, s] = await Promise.all([api.alerts('pending,firing'), api.silences()]);
        this.alerts = (a.alerts || []).slice().sort((x, y) =>
          (x.state === y.state ? 0 : x.state === 'firing' ? -1 : 1) ||
          SEVERITY[x.severity] - SEVERITY[y.severity] || (x.since < y.since ? -1 : 1));
        this.silences = s.silences || [];
        this.render();
      } catch {
        // The connection state already tells the user; the next event retries.
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /** Whether an event concerns alerts or silences. */
  static concerns(ev) {
    return /^(alert_|silence_)/.test(ev.type);
  }

  render() {
    const admin = this.token() !== '';
    const firing = this.alerts.filter((a) => a.state === 'firing').length;
    setText(this.els.count, `${firing} firing, ${this.alerts.length - firing} pending`);
    show(this.els.empty, this.alerts.length === 0);
    fill(this.els.list, this.alerts.map((a) => this.row(a, admin)));
    const active = this.silences.filter((s) => s.state !== 'expired');
    fill(this.els.silences, active.map((s) => h('li', { dataset: { silenceId: s.id } },
      h('span', { class: 'mono' }, Object.entries(s.matchers).map(([k, v]) => `${k}=${v}`).join(', ')),
      ` ${s.state}, until ${s.ends_at} — ${s.comment} (${s.created_by}) `,
      admin ? h('button', { class: 'btn small', type: 'button', dataset: { end: s.id } }, 'End now') : null)));
    this.mark();
  }

  row(a, admin) {
    const marks = [];
    if (a.flapping || a.rule === 'flapping') marks.push(h('span', { class: 'mark flapping' }, 'flapping'));
    if (a.silenced_by && a.silenced_by.length) {
      marks.push(h('span', { class: 'mark silenced', title: a.silenced_by.join(', ') }, 'silenced'));
    }
    const action = admin ? h('button', { class: 'btn small', type: 'button', dataset: { silence: a.id } }, 'Silence') : null;
    return h('div', { class: 'alert-row', dataset: { alertId: a.id, severity: a.severity, state: a.state } },
      h('span', { class: 'sev' }, a.severity), h('span', { class: 'rule mono' }, a.rule),
      h('span', { class: 'subject' }, subject(a.labels)), h('span', { class: 'summary muted' }, a.summary),
      h('span', { class: 'age' }, since(a)), marks, action);
  }

  openForm(e) {
    const button = e.target.closest('button[data-silence]');
    if (!button) return;
    const row = button.closest('.alert-row');
    if (row.querySelector('form')) return;
    row.append(h('form', { class: 'silence-form', dataset: { alertId: button.dataset.silence } },
      h('input', { name: 'duration', value: '2h', 'aria-label': 'duration', size: 5 }),
      h('input', { name: 'comment', placeholder: 'comment', 'aria-label': 'comment' }),
      h('button', { class: 'btn small primary', type: 'submit' }, 'Silence'),
      h('span', { class: 'admin-result' })));
  }

  async silence(e) {
    e.preventDefault();
    const form = e.target;
    const alert = this.alerts.find((a) => a.id === form.dataset.alertId);
    if (!alert) return;
    const body = {
      matchers: { rule: alert.rule, ...alert.labels },
      duration: form.elements.duration.value.trim(),
      comment: form.elements.comment.value.trim(),
      created_by: 'dashboard',
    };
    await this.call(form.querySelector('.admin-result'), () => api.createSilence(this.token(), body));
  }

  async end(e) {
    const button = e.target.closest('button[data-end]');
    if (!button) return;
    const result = h('span', { class: 'admin-result' });
    button.after(result);
    await this.call(result, () => api.endSilence(this.token(), button.dataset.end));
  }

  async call(result, f) {
    result.className = 'admin-result working';
    setText(result, '…');
    try {
      await f();
      await this.refresh();
    } catch (err) {
      result.className = 'admin-result failed';
      setText(result, err.describe ? err.describe() : err.message);
    }
  }

  /** Marks the cards and rows the firing alerts concern (after every render). */
  mark() {
    const want = new Map();
    for (const a of this.alerts.filter((x) => x.state === 'firing')) {
      const card = document.querySelector(`[data-target-id="${CSS.escape(a.labels.target)}"]`);
      if (!card) continue;
      let el = card;
      if (a.labels.server) el = card.querySelector(`tr[data-server="${CSS.escape(a.labels.server)}"]`);
      if (a.labels.instance) el = card.querySelector(`tr[data-instance="${CSS.escape(a.labels.instance)}"]`);
      for (const target of [card, el]) {
        if (!target) continue;
        const prev = want.get(target);
        if (!prev || SEVERITY[a.severity] < SEVERITY[prev]) want.set(target, a.severity);
      }
    }
    for (const el of document.querySelectorAll('[data-alert]')) if (!want.has(el)) setAttr(el, 'data-alert', null);
    for (const [el, severity] of want) setAttr(el, 'data-alert', severity);
  }
}
