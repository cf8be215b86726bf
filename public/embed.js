/* Chyron embed: defines <chyron-chat>; with data-channel on this script tag,
 * also inserts one (after the script, or into data-target). See README. */
(function () {
  'use strict';
  var ATTRS = ['channel', 'server', 'lines', 'fade', 'position', 'placement'];
  var script = document.currentScript;
  // The origin + directory embed.js came from, without a trailing slash; an
  // inline copy (the relay's overlay page) names it in data-base.
  var base = '';
  try {
    var from = script && script.getAttribute('data-base');
    base = new URL(from || '.', from ? location.href : (script && script.src) || location.href).href.replace(/\/$/, '');
  } catch (e) {
    console.error('chyron: cannot tell where embed.js came from', e);
    return;
  }

  if (!customElements.get('chyron-chat')) {
    var loading = null;
    // The module once loaded; until then each widget opens its feed early.
    var loaded = null;
    // One wasm instance per page; a failed load is retried by the next mount.
    var load = function () {
      if (!loading) {
        // The wasm downloads while chyron.js loads; wasm-bindgen's init
        // then compiles it as it streams in (served as application/wasm).
        var wasm = fetch(base + '/chyron_bg.wasm');
        loading = import(base + '/chyron.js')
          .then(function (m) {
            return m.default({ module_or_path: wasm }).then(function () {
              return (loaded = m);
            });
          })
          .catch(function (e) {
            loading = null;
            throw e;
          });
      }
      return loading;
    };

    // Full chat: a second module, fetched on the first "Chat" click only.
    var chat = null;
    var loadChat = function () {
      if (!chat) {
        var wasm = fetch(base + '/chat/chyron-chat_bg.wasm');
        chat = import(base + '/chat/chyron-chat.js')
          .then(function (m) {
            return m.default({ module_or_path: wasm }).then(function () {
              return m;
            });
          })
          .catch(function (e) {
            chat = null;
            throw e;
          });
      }
      return chat;
    };

    // Opens, while the wasm loads, the feed socket the widget of `el` will
    // want first: the URL as src/config.rs and src/feed.rs make it (odd
    // values such as lines="0" may give another; the widget then opens its
    // own). `old`
    // (the one opened before) is kept if the URL is the same, else closed.
    // The widget adopts the socket only if it wants that very URL. Frames
    // are kept until then: at most 64; more closes it, and the widget
    // resumes after what it got.
    var early = function (el, old) {
      var n = parseInt(el.getAttribute('lines'), 10);
      var server = (el.getAttribute('server') || '').trim().replace(/\/+$/, '');
      var url =
        (server || base).replace(/^http/i, 'ws') +
        '/feed/' +
        (el.getAttribute('channel') || '').trim() +
        '?limit=' +
        (n > 0 ? Math.min(n, 10) : 3);
      if (old) {
        if (old.url === url) return old;
        drop(old);
      }
      var frames = [];
      try {
        var ws = new WebSocket(url);
      } catch (e) {
        return null;
      }
      ws.onmessage = function (e) {
        if (frames.length < 64) frames.push(e.data);
        else ws.close();
      };
      return { url: url, ws: ws, frames: frames };
    };
    var drop = function (e) {
      if (e) {
        e.ws.onmessage = null;
        e.ws.close();
      }
    };
    // After `mount`: hands what the socket got so far to the widget's
    // handlers. embed.js never sets onclose: without one the widget did not
    // adopt the socket (or closed it), and it goes. (A missed `open` costs
    // nothing: it only resets a backoff that has not grown yet.)
    var replay = function (e) {
      var ws = e.ws;
      if (!ws.onclose) return ws.close();
      e.frames.forEach(function (data) {
        // A frame may make the widget drop the socket (a gap: it resumes).
        if (ws.onmessage) ws.onmessage({ data: data });
      });
      if (ws.readyState === 3 && ws.onclose) ws.onclose();
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
          var self = this;
          // The captions' "Chat" button (clicks leave the shadow root).
          this.addEventListener('click', function (e) {
            var t = e.composedPath()[0];
            if (t && t.closest && t.closest('[part~="chat-open"]')) self._chat();
          });
        }
        _chat() {
          var self = this;
          var handle = this._handle;
          if (!handle) return;
          if (this._chatHandle) return this._chatHandle.open();
          loadChat()
            .then(function (m) {
              if (self._handle !== handle || self._chatHandle) return;
              self._chatHandle = m.mount_chat(self, self.shadowRoot, base, handle);
            })
            .catch(function (e) {
              console.error('chyron: could not load the chat', e);
              if (self._handle === handle) handle.set_mode('failed');
            });
        }
        connectedCallback() {
          this._mount();
        }
        disconnectedCallback() {
          this._gen++;
          drop(this._early);
          this._early = null;
          this._unmount();
        }
        attributeChangedCallback(name, old, value) {
          if (old !== value && this.isConnected) this._mount();
        }
        _unmount() {
          var c = this._chatHandle;
          this._chatHandle = null;
          if (c) {
            try {
              c.unmount();
              c.free();
            } catch (e) {
              console.error('chyron: chat unmount failed', e);
            }
          }
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
          // Upgrading calls this once per attribute: one socket for them.
          if (!loaded) this._early = early(this, this._early);
          load()
            .then(function (m) {
              if (gen !== self._gen || !self.isConnected) return;
              self._unmount();
              var e = self._early;
              self._early = null;
              self._handle = m.mount(self, self.shadowRoot, base, e && e.ws);
              if (e) replay(e);
              // The viewer left this channel in chat: open it again.
              try {
                if (localStorage.getItem('chyron:mode:' + self.getAttribute('channel').trim()) === 'chat') self._chat();
              } catch (err) {
                // No storage: captions.
              }
            })
            .catch(function (e) {
              if (gen !== self._gen) return;
              console.error('chyron: could not load the captions widget', e);
              drop(self._early);
              self._early = null;
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
