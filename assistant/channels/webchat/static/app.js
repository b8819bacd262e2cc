// Field assistant web chat. No libraries, no external requests: it must work on a
// low-end phone on 2G. State lives in sessionStorage, so a reload (or Android
// restoring the tab) keeps the conversation, and closing the tab forgets it.
'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var KEY = { session: 'fa.session', log: 'fa.log', outbox: 'fa.outbox' };
  var DEVANAGARI = /[\u0900-\u097F]/;
  var RETRY_FIRST = 2000, RETRY_MAX = 30000, POLL_EVERY = 10000;
  var QUEUED_NOTE = 'Queued offline: this record will be sent to the hub automatically.';
  var UNREACHABLE = "Can't reach the assistant. Your message will be sent when the connection returns.";

  function read(key, fallback) {
    try { return JSON.parse(sessionStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function save() {
    try {
      sessionStorage.setItem(KEY.session, JSON.stringify(session));
      sessionStorage.setItem(KEY.log, JSON.stringify(log.slice(-200)));
      sessionStorage.setItem(KEY.outbox, JSON.stringify(outbox));
    } catch (e) { /* storage full or disabled: the page still works, reload just forgets */ }
  }

  var session = read(KEY.session, null);
  var log = read(KEY.log, []);        // [{from: 'user'|'bot'|'note', text, buttons, pending, id, notice}]
  var outbox = read(KEY.outbox, []);  // messages not yet answered, oldest first: [{id, message}]
  var sending = false, retryTimer = null, retryDelay = RETRY_FIRST, healthTimer = null;
  var polling = false, pollTimer = null;

  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);  // randomUUID needs HTTPS; a clinic LAN may be plain HTTP
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  // One request; status 0 means the network failed. The session token is the only identity sent.
  function call(path, body, timeoutMs) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, timeoutMs || 45000);
    var headers = { 'Content-Type': 'application/json' };
    if (session) headers.Authorization = 'Bearer ' + session.token;
    var options = { method: body === undefined ? 'GET' : 'POST', headers: headers, signal: controller.signal, cache: 'no-store' };
    if (body !== undefined) options.body = JSON.stringify(body);
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { status: response.status, data: data };
      });
    }).catch(function () { return { status: 0, data: null }; })
      .then(function (result) { clearTimeout(timer); return result; });
  }

  function errorText(result, fallback) {
    return (result.data && result.data.error && result.data.error.message) || fallback;
  }

  function setStatus(text, bad) {
    var status = $('status');
    status.textContent = text || '';
    status.hidden = !text;
    status.className = bad ? 'bad' : '';
  }

  function withLang(element, text) {
    if (DEVANAGARI.test(text)) element.lang = 'hi';
    element.textContent = text;
    return element;
  }

  // The call link in a booking must be tappable. Text stays text: only http(s) URLs become links.
  function linkified(element, text) {
    if (DEVANAGARI.test(text)) element.lang = 'hi';
    text.split(/(https?:\/\/[^\s]+)/).forEach(function (part, index) {
      if (index % 2) {
        var link = document.createElement('a');
        link.href = link.textContent = part;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        element.appendChild(link);
      } else if (part) {
        element.appendChild(document.createTextNode(part));
      }
    });
    return element;
  }

  function render() {
    var logEl = $('log');
    logEl.textContent = '';
    log.forEach(function (entry, index) {
      var div = entry.from === 'bot' ? linkified(document.createElement('div'), entry.text || '')
        : withLang(document.createElement('div'), entry.text || '');
      div.className = 'msg ' + (entry.from === 'note' ? 'queued' : entry.from) + (entry.pending ? ' pending' : '') +
        (entry.notice ? ' notice' : '');
      if (entry.pending) {
        var note = document.createElement('span');
        note.className = 'note';
        note.textContent = entry.failed ? 'Not sent: ' + entry.failed : 'Waiting to send…';
        div.appendChild(note);
      }
      logEl.appendChild(div);
      // Only the latest bot message's choices can still be answered.
      if (entry.from === 'bot' && entry.buttons && entry.buttons.length && index === lastBotIndex()) {
        logEl.appendChild(choices(entry.buttons));
      }
    });
    logEl.scrollTop = logEl.scrollHeight;
  }

  function lastBotIndex() {
    for (var i = log.length - 1; i >= 0; i--) {
      if (log[i].from === 'user') return -1;
      // News from the hub leaves the question before it open.
      if (log[i].from === 'bot' && !log[i].notice) return i;
    }
    return -1;
  }

  function choices(buttons) {
    var group = document.createElement('div');
    group.className = 'choices';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Choices');
    buttons.forEach(function (button) {
      var title = button.title || button.payload;
      var element = withLang(document.createElement('button'), title);
      element.type = 'button';
      element.addEventListener('click', function () { send(button.payload || title, title); });
      group.appendChild(element);
    });
    return group;
  }

  function drawn(notice, entries) {
    return entries.some(function (entry) { return entry.notice === notice; });
  }

  // A bot message as log entries; true when it says a record was queued offline. A hub notice
  // arrives by the poll, first in a reply or from the history: each is drawn once.
  function toEntries(message, target) {
    var notice = message.custom && message.custom.hub_notice && message.custom.hub_notice.id;
    if (notice && drawn(notice, target)) return false;
    if (message.text || (message.buttons && message.buttons.length)) {
      target.push({ from: 'bot', text: message.text || '', buttons: message.buttons || [], notice: notice || undefined });
    }
    if (message.custom && message.custom.outbox === 'queued') {
      target.push({ from: 'note', text: QUEUED_NOTE });
      return true;
    }
    return false;
  }

  function addReplies(messages) {
    if (!messages.length) {
      log.push({ from: 'note', text: 'No answer from the assistant. Please try again.' });
    }
    messages.forEach(function (message) {
      if (toEntries(message, log)) setStatus(QUEUED_NOTE, false);
    });
  }

  function send(message, display) {
    message = message.trim();
    if (!message) return;
    var id = newId();
    outbox.push({ id: id, message: message });
    log.push({ from: 'user', text: display || message, pending: true, id: id });
    save();
    render();
    pump();
  }

  function settle(id, failed) {
    log.forEach(function (entry) {
      if (entry.id === id) {
        if (failed) { entry.failed = failed; } else { delete entry.pending; }
      }
    });
  }

  // Send the oldest waiting message; on success go on with the next. The server
  // drops a message id it has seen, so resending after a lost answer is safe.
  function pump() {
    if (sending || !outbox.length || !session) return;
    sending = true;
    var item = outbox[0];
    call('webhook', { message: item.message, message_id: item.id }).then(function (result) {
      sending = false;
      if (result.status === 200) {
        outbox.shift();
        settle(item.id);
        if (!($('status').textContent === QUEUED_NOTE)) setStatus('');
        addReplies((result.data && result.data.messages) || []);
        retryDelay = RETRY_FIRST;
        save(); render(); pump();
      } else if (result.status === 401) {
        signedOut(errorText(result, 'Please sign in again.'));
      } else if (result.status === 400 || result.status === 413) {
        outbox.shift();
        settle(item.id, errorText(result, 'the message was not accepted'));
        save(); render(); pump();
      } else {
        // Network down, server busy (409: still answering it) or failing: try again later.
        setStatus(result.status === 409 ? 'Still working on your last message…' : UNREACHABLE, result.status !== 409);
        clearTimeout(retryTimer);
        retryTimer = setTimeout(pump, retryDelay);
        retryDelay = Math.min(retryDelay * 2, RETRY_MAX);
      }
    });
  }

  function checkHealth() {
    if (document.hidden || !session || sending) return;
    call('health', undefined, 10000).then(function (result) {
      if (result.status !== 200) {
        setStatus("Can't reach the assistant. Check the connection.", true);
      } else if ($('status').className === 'bad' && !outbox.length) {
        setStatus('');
      }
    });
  }

  // The hub's news (a consult scheduled, moved, cancelled...) reaches an open page without a message or a reload.
  function poll() {
    if (polling || document.hidden || !session || !session.token) return;
    polling = true;
    call('updates', undefined, 20000).then(function (result) {
      polling = false;
      if (result.status === 401) { signedOut(errorText(result, 'Please sign in again.')); return; }
      if (result.status !== 200 || !result.data) return;  // offline: the next poll asks again
      var before = log.length;
      result.data.messages.forEach(function (message) { toEntries(message, log); });
      if (log.length !== before) { save(); render(); }
    });
  }

  function resume() {
    loadHistory().then(function () { pump(); poll(); });
  }

  function showChat() {
    $('login').hidden = true;
    $('chat').hidden = false;
    $('who').hidden = false;
    $('who').textContent = session.worker.name || session.worker.id;
    $('logout').hidden = false;
    render();
    $('text').focus();
    clearInterval(healthTimer);
    healthTimer = setInterval(checkHealth, 30000);
    clearInterval(pollTimer);
    pollTimer = setInterval(poll, POLL_EVERY);
  }

  function showLogin(message) {
    $('chat').hidden = true;
    $('who').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    clearInterval(healthTimer);
    clearInterval(pollTimer);
    ($('worker').value ? $('pin') : $('worker')).focus();
  }

  // The token expired or was ended: keep the conversation and unsent messages for the same worker.
  function signedOut(message) {
    $('worker').value = session ? session.worker.id : '';
    session = Object.assign({}, session || {}, { token: null, expired: true });
    save();
    showLogin(message);
  }

  function loadHistory() {
    return call('history').then(function (result) {
      if (result.status === 401) { signedOut(errorText(result, 'Please sign in again.')); return; }
      if (result.status !== 200 || !result.data) return;  // offline: keep what this tab remembers
      var fresh = [];
      result.data.messages.forEach(function (message) {
        if (message.from === 'user') { fresh.push({ from: 'user', text: message.text }); } else { toEntries(message, fresh); }
      });
      log = fresh.concat(log.filter(function (entry) { return entry.pending; }));
      save(); render();
    });
  }

  $('login').addEventListener('submit', function (event) {
    event.preventDefault();
    var worker = $('worker').value.trim().toUpperCase();
    var pin = $('pin').value.trim();
    if (!worker || !pin) { $('login-error').textContent = 'Enter your worker id and PIN.'; return; }
    $('login-button').disabled = true;
    $('login-error').textContent = '';
    call('login', { worker_id: worker, pin: pin }).then(function (result) {
      $('login-button').disabled = false;
      $('pin').value = '';
      if (result.status !== 200) {
        $('login-error').textContent = result.status === 0
          ? "Can't reach the assistant. Check the connection and try again."
          : errorText(result, 'Sign-in failed. Please try again.');
        $('pin').focus();
        return;
      }
      if (!session || !session.worker || session.worker.id !== result.data.worker.id) { log = []; outbox = []; }
      session = result.data;
      save();
      showChat();
      resume();
    });
  });

  $('send').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = $('text').value;
    $('text').value = '';
    send(text);
  });

  $('logout').addEventListener('click', function () {
    var ending = call('logout', {});
    session = null; log = []; outbox = [];
    try { sessionStorage.clear(); } catch (e) { /* nothing stored */ }
    $('worker').value = '';
    showLogin('You are signed out.');
    return ending;
  });

  window.addEventListener('online', function () { retryDelay = RETRY_FIRST; setStatus(''); pump(); });
  document.addEventListener('visibilitychange', poll);
  window.addEventListener('offline', function () { setStatus(UNREACHABLE, true); });

  if (session && session.token && Date.parse(session.expires_at) > Date.now()) {
    showChat();
    resume();
  } else if (session && session.worker) {
    signedOut('Your session has ended; please sign in again.');
  } else {
    showLogin('');
  }
})();
