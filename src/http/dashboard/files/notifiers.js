// The notifiers panel: one row per `[[notify]]` from `GET /api/notifiers` (state,
// pending, delivered, last error), refreshed every 10 s, and in admin mode a
// "send test" button per notifier (`POST /api/admin/notifiers/{name}/test`) whose
// answer is shown in the row.

import * as api from './api.js';
import { setText, show } from './dom.js';

const REFRESH_MS = 10000;

export class Notifiers {
  /**
   * @param {object} els  {section, list}
   * @param {() => string} token  the admin token, '' when not in admin mode
   */
  constructor(els, token) {
    this.els = els;
    this.token = token;
    this.results = new Map();
    els.list.addEventListener('click', (e) => this.click(e));
  }

  start() {
    this.refresh();
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    try {
      const body = await api.notifiers();
      this.render(body.notifiers || []);
    } catch {
      // The connection indicator already reports an unreachable daemon.
    }
  }

  render(list) {
    show(this.els.section, list.length > 0);
    const admin = this.token() !== '';
    const rows = list.map((n) => this.row(n, admin));
    this.els.list.replaceChildren(...rows);
  }

  row(n, admin) {
    const li = document.createElement('li');
    li.className = `notifier state-${n.state}`;
    li.dataset.notifier = n.name;
    const text = document.createElement('span');
    const error = n.state === 'ok' || !n.last_error ? '' : ` — ${n.last_error}`;
    setText(text, `${n.name} (${n.kind}): ${n.state.replace('_', ' ')}, ${n.pending} pending, ${n.delivered_total} delivered${error}`);
    li.append(text);
    if (admin) {
      const button = document.createElement('button');
      button.className = 'btn';
      button.type = 'button';
      button.dataset.test = n.name;
      setText(button, 'send test');
      const result = document.createElement('span');
      result.className = 'admin-result';
      setText(result, this.results.get(n.name) || '');
      li.append(' ', button, ' ', result);
    }
    return li;
  }

  async click(e) {
    const button = e.target.closest('button[data-test]');
    if (!button) return;
    const name = button.dataset.test;
    const result = button.parentElement.querySelector('.admin-result');
    button.disabled = true;
    setText(result, 'sending…');
    let text;
    try {
      const answer = await api.notifierTest(name, this.token());
      text = `accepted: ${answer.answer}`;
    } catch (err) {
      text = `not accepted: ${err.describe ? err.describe() : err.message}`;
    }
    this.results.set(name, text);
    setText(result, text);
    button.disabled = false;
  }
}
