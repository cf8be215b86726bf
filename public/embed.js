/* Chyron embed: defines <chyron-chat>; with data-channel on this script tag,
 * also inserts one (after the script, or into data-target). See README. */
(function () {
  'use strict';
  var ATTRS = ['channel', 'server', 'lines', 'fade', 'position', 'placement'];
  var script = document.currentScript;
  // The origin + directory embed.js came from, without a trailing slash.
  var base = '';
  try {
    base = new URL('.', (script && script.src) || location.href).href.replace(/\/$/, '');
  } catch (e) {
    console.error('chyron: cannot tell where embed.js came from', e);
    return;
  }

  if (!customElements.get('chyron-chat')) {
    var loading = null;
    // One wasm instance per page; a failed load is retried by the next mount.
    var load = function () {
      if (!loading) {
        loading = import(base + '/chyron.js')
          .then(function (m) {
            return m.default({ module_or_path: base + '/chyron_bg.wasm' }).then(function () {
              return m;
            });
          })
          .catch(function (e) {
            loading = null;
            throw e;
          });
      }
      return loading;
    };

    customElements.define(
      'chyron-chat',
      class extends HTMLElement {
        static get observedAttributes() {
          return ATTRS;
        }
        constructor() {
          super();
          this.attachShadow({ mode: 'open' });
          this._handle = null;
          this._gen = 0;
        }
        connectedCallback() {
          this._mount();
        }
        disconnectedCallback() {
          this._gen++;
          this._unmount();
        }
        attributeChangedCallback(name, old, value) {
          if (old !== value && this.isConnected) this._mount();
        }
        _unmount() {
          var handle = this._handle;
          this._handle = null;
          if (handle) {
            try {
              handle.unmount();
              handle.free();
            } catch (e) {
              console.error('chyron: unmount failed', e);
            }
          }
        }
        _mount() {
          // Only the newest request mounts (attributes may change meanwhile).
          var gen = ++this._gen;
          var self = this;
          load()
            .then(function (m) {
              if (gen !== self._gen || !self.isConnected) return;
              self._unmount();
              self._handle = m.mount(self, self.shadowRoot, base);
            })
            .catch(function (e) {
              if (gen !== self._gen) return;
              console.error('chyron: could not load the captions widget', e);
              self._fail();
            });
        }
        _fail() {
          var root = this.shadowRoot;
          var box = document.createElement('div');
          box.setAttribute('part', 'error');
          box.setAttribute('role', 'alert');
          box.textContent = 'Chat captions could not be loaded.';
          root.replaceChildren(box);
        }
      }
    );
  }

  if (!script || !script.hasAttribute('data-channel')) return;
  var el = document.createElement('chyron-chat');
  ATTRS.forEach(function (name) {
    var value = script.getAttribute('data-' + name);
    if (value !== null) el.setAttribute(name, value);
  });
  var place = function () {
    var selector = script.getAttribute('data-target');
    var target = null;
    if (selector) {
      try {
        target = document.querySelector(selector);
      } catch (e) {
        // An invalid selector counts as matching nothing.
      }
      if (!target) console.error('chyron: data-target ' + JSON.stringify(selector) + ' matches nothing; inserting after the script');
    }
    if (target) target.appendChild(el);
    else if (script.parentNode && script.parentNode !== document.head) script.after(el);
    else if (document.body) document.body.appendChild(el);
  };
  // The target may come later in the page than this script.
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', place);
  else place();
})();
