// DOM helpers. Every string from the daemon goes into the page as text
// (textContent, createTextNode) or as an attribute value, never as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setProps(el, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key.startsWith('on')) throw new Error(`refusing to set the attribute ${key}`);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

/** Appends children: nodes as they are, strings and numbers as text nodes. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** `h('td', {class: 'x'}, 'text', node)`: an element with properties and children. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) setProps(el, props);
  return append(el, children);
}

/** An SVG element with attributes (and optional text children). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) setProps(el, attrs);
  return append(el, children);
}

/** Sets the text of `el` only when it changes (no needless layout work). */
export function setText(el, text) {
  const value = text === undefined || text === null ? '' : String(text);
  if (el.textContent !== value) el.textContent = value;
}

/** Sets or removes an attribute only when it changes. */
export function setAttr(el, name, value) {
  if (value === undefined || value === null || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const text = value === true ? '' : String(value);
  if (el.getAttribute(name) !== text) el.setAttribute(name, text);
}

/** Shows or hides an element with the `hidden` attribute. */
export function show(el, visible) {
  if (el.hidden === visible) el.hidden = !visible;
}

/** Adds or removes a class. */
export function flag(el, cls, on) {
  el.classList.toggle(cls, Boolean(on));
}

/** Replaces every child of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
