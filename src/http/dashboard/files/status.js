// The connection indicator: live, connecting, or "disconnected — reconnecting in
// N s" with a countdown and a button to retry at once.

import { h, setText } from './dom.js';

const WORDS = { connecting: 'connecting…', live: 'live', paused: 'paused' };

export class Connection {
  constructor(el, text, retry) {
    this.el = el;
    this.text = text;
    this.timer = null;
    this.button = h('button', { class: 'btn small', type: 'button', hidden: true }, 'Retry now');
    this.button.addEventListener('click', retry);
    el.append(this.button);
  }

  update(state, info) {
    clearInterval(this.timer);
    this.timer = null;
    this.el.dataset.state = state;
    this.button.hidden = state !== 'disconnected';
    if (state !== 'disconnected') {
      setText(this.text, WORDS[state] || state);
      this.el.title = '';
      return;
    }
    const render = () => {
      const left = Math.max(0, Math.ceil((info.retryAt - Date.now()) / 1000));
      const when = left > 0 ? `in ${left} s` : 'now';
      setText(this.text, `disconnected — reconnecting ${when} (attempt ${info.attempt})`);
    };
    render();
    this.el.title = `the connection to /ws closed (code ${info.code})`;
    this.timer = setInterval(render, 1000);
  }

  /** A transient remark (e.g. a stream reset) in the tooltip. */
  note(text) {
    this.el.title = text;
  }
}
