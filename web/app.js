// harmy's page: one user's live presence, drawn from Lanyard's presence object
// and kept live over the server's own /socket, with copy-ready snippets.
//
// Everything a presence carries is hostile until shown otherwise: it is put in
// the page with textContent and setAttribute only (never as HTML), image URLs
// are built from the configured hosts and checked ids, and every list is clipped.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  /** What the server put in the page: image hosts, rate limit, the first presence, demo members. */
  const config = (() => {
    try {
      const data = JSON.parse($('harmy-config')?.textContent || '{}');
      return data && typeof data === 'object' ? data : {};
    } catch {
      return {};
    }
  })();

  const STATUS_WORDS = { online: 'Online', idle: 'Idle', dnd: 'Do Not Disturb', offline: 'Offline' };
  const VERBS = { 0: 'Playing', 1: 'Streaming', 2: 'Listening to', 3: 'Watching', 5: 'Competing in' };
  const PLATFORMS = ['desktop', 'mobile', 'web', 'embedded', 'vr'];
  const MAX_ACTIVITIES = 8;
  const MAX_TEXT = 256;
  const MAX_DEMO = 100;
  const U64_MAX = 18446744073709551615n;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const NATIVE_REFRESH_MS = 2000;

  const state = {
    current: null, // the user id shown
    presence: undefined, // their Lanyard presence; null when not monitored, undefined when unknown yet
    painted: false,
    version: 0, // bumped at every presence received, for the native shape's refresh
    shape: 'lanyard',
    native: { text: '', fetchedFor: null, busy: false, timer: 0, last: 0 },
  };

  // ---- small helpers ----------------------------------------------------

  const text = (value) => (typeof value === 'string' ? value.slice(0, MAX_TEXT) : '');
  const time = (value) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null);

  /** A Discord user id: decimal, non-zero, fitting in 64 bits. */
  function validId(value) {
    if (typeof value !== 'string' || !/^[0-9]{1,20}$/.test(value)) return false;
    const n = BigInt(value);
    return n > 0n && n <= U64_MAX;
  }

  function element(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  /** Image URLs that failed to load: not asked for again at every update. */
  const failed = new Set();

  function setImage(img, url) {
    if (url && !failed.has(url)) {
      if (img.getAttribute('src') !== url) img.src = url;
      img.hidden = false;
    } else {
      img.removeAttribute('src');
      img.hidden = true;
    }
  }

  /** 75 s → "1:15", 3 725 s → "1:02:05". */
  function clock(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
  }

  // ---- image URLs, only on the configured hosts ----------------------------

  const cdn = typeof config.cdn === 'string' ? config.cdn : '';
  const spotifyImages = typeof config.spotify === 'string' ? config.spotify : '';

  function avatarUrl(user) {
    if (!cdn || !validId(user.id)) return null;
    const hash = text(user.avatar);
    if (/^(a_)?[A-Za-z0-9]{1,64}$/.test(hash)) {
      return `${cdn}/avatars/${user.id}/${hash}.${hash.startsWith('a_') ? 'gif' : 'png'}?size=128`;
    }
    const discriminator = Number(text(user.discriminator));
    const index = discriminator > 0 ? discriminator % 5 : Number((BigInt(user.id) >> 22n) % 6n);
    return `${cdn}/embed/avatars/${index}.png`;
  }

  function activityImage(activity) {
    const image = text(activity.assets?.large_image);
    if (image.startsWith('spotify:')) {
      const art = image.slice('spotify:'.length);
      return spotifyImages && /^[A-Za-z0-9]{1,64}$/.test(art) ? `${spotifyImages}/${art}` : null;
    }
    // Application assets live on the CDN; media-proxy (mp:) images do not, and stay out.
    const app = text(activity.application_id);
    return cdn && validId(app) && /^[0-9]{1,20}$/.test(image) ? `${cdn}/app-assets/${app}/${image}.png` : null;
  }

  function emojiUrl(emoji) {
    const id = text(emoji?.id);
    return cdn && validId(id) ? `${cdn}/emojis/${id}.${emoji.animated === true ? 'gif' : 'png'}?size=48` : null;
  }

  // ---- drawing ----------------------------------------------------------------

  function notice(message, kind) {
    const node = $('notice');
    node.textContent = message;
    node.dataset.kind = kind || 'info';
    node.hidden = !message;
  }

  function showPresenceParts(visible) {
    $('profile').hidden = !visible;
    if (!visible) {
      $('spotify').hidden = true;
      $('activities').replaceChildren();
    }
  }

  function isSpotify(activity) {
    return text(activity.id).startsWith('spotify:') || (activity.type === 2 && activity.name === 'Spotify');
  }

  function draw() {
    const id = state.current;
    const presence = state.presence;
    drawRaw();
    if (!id) {
      showPresenceParts(false);
      notice('Enter a Discord user ID to see their live presence.');
      return;
    }
    if (presence === undefined) {
      showPresenceParts(false);
      notice(`Looking for ${id}…`);
      return;
    }
    if (presence === null || typeof presence.discord_user !== 'object' || presence.discord_user === null) {
      showPresenceParts(false);
      notice(
        `User ${id} is not monitored here: no member of the servers this harmy watches has that ID, or they chose to ` +
          'be hidden. The page updates by itself if they appear.',
        'error',
      );
      $('status-line').textContent = '';
      return;
    }
    notice('');
    showPresenceParts(true);

    const user = presence.discord_user;
    const username = text(user.username);
    const name = text(user.global_name) || text(user.display_name) || username || id;
    $('display-name').textContent = name;
    $('username').textContent = username && username !== name ? `@${username}` : '';
    setImage($('avatar'), avatarUrl(user));

    const status = Object.hasOwn(STATUS_WORDS, presence.discord_status) ? presence.discord_status : 'offline';
    $('status-dot').dataset.status = status;

    const activities = Array.isArray(presence.activities)
      ? presence.activities.filter((a) => a && typeof a === 'object')
      : [];
    drawCustomStatus(activities.find((a) => a.type === 4));
    const spotify = activities.find(isSpotify);
    drawSpotify(presence.spotify && typeof presence.spotify === 'object' ? presence.spotify : null, spotify);
    const others = activities.filter((a) => a.type !== 4 && !isSpotify(a)).slice(0, MAX_ACTIVITIES);
    drawActivities(others);

    // The live region: said again only when it changes, never for a clock tick.
    const platforms = PLATFORMS.filter((p) => presence[`active_on_discord_${p}`] === true);
    let line = STATUS_WORDS[status] + (platforms.length && status !== 'offline' ? ` on ${platforms.join(', ')}` : '');
    if (spotify && presence.spotify) {
      line += ` · Listening to ${text(presence.spotify.song)} by ${text(presence.spotify.artist)}`;
    } else if (others.length) {
      line += ` · ${VERBS[others[0].type] || 'Playing'} ${text(others[0].name)}`;
    }
    if ($('status-line').textContent !== line) $('status-line').textContent = line;

    tick();
    if (!state.painted) {
      state.painted = true;
      performance.mark('harmy:presence');
    }
  }

  function drawCustomStatus(activity) {
    const box = $('custom-status');
    if (!activity) {
      box.hidden = true;
      return;
    }
    const url = emojiUrl(activity.emoji);
    setImage($('custom-emoji'), url);
    $('custom-emoji-text').textContent = url ? '' : text(activity.emoji?.name);
    $('custom-text').textContent = text(activity.state);
    box.hidden = !(url || text(activity.emoji?.name) || text(activity.state));
  }

  function drawSpotify(spotify, activity) {
    const box = $('spotify');
    if (!spotify || !activity) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    setImage($('album-art'), activityImage(activity));
    $('song').textContent = text(spotify.song);
    $('artist').textContent = text(spotify.artist) ? `by ${text(spotify.artist)}` : '';
    $('album').textContent = text(spotify.album) ? `on ${text(spotify.album)}` : '';
    const start = time(spotify.timestamps?.start);
    const end = time(spotify.timestamps?.end);
    const progress = $('progress');
    progress.dataset.start = start && end && end > start ? start : '';
    progress.dataset.end = start && end && end > start ? end : '';
    $('song-length').textContent = start && end && end > start ? clock(end - start) : '';
  }

  function drawActivities(activities) {
    const items = activities.map((activity) => {
      const item = element('li', 'card activity');
      const url = activityImage(activity);
      if (url) {
        const img = element('img', 'art');
        img.alt = '';
        img.width = 80;
        img.height = 80;
        img.addEventListener('error', () => {
          failed.add(img.src);
          setImage(img, null);
        });
        setImage(img, url);
        item.append(img);
      }
      const body = element('div', 'card-text');
      body.append(element('p', 'kind', VERBS[activity.type] || 'Playing'));
      body.append(element('p', 'title', text(activity.name)));
      body.append(element('p', 'line', text(activity.details)));
      body.append(element('p', 'line', text(activity.state)));
      const start = time(activity.timestamps?.start);
      const end = time(activity.timestamps?.end);
      if (start || end) {
        const elapsed = element('p', 'elapsed');
        if (end) elapsed.dataset.end = end;
        else elapsed.dataset.start = start;
        body.append(elapsed);
      }
      item.append(body);
      return item;
    });
    $('activities').replaceChildren(...items);
  }

  /** Moves the song's progress bar and the games' clocks; runs every second. */
  function tick() {
    const now = Date.now();
    const progress = $('progress');
    const start = Number(progress.dataset.start);
    const end = Number(progress.dataset.end);
    if (!$('spotify').hidden && start && end) {
      const done = Math.min(Math.max(now - start, 0), end - start);
      const percent = Math.round((done / (end - start)) * 1000) / 10;
      $('progress-fill').style.width = `${percent}%`;
      progress.setAttribute('aria-valuenow', String(Math.round(percent)));
      $('elapsed-song').textContent = clock(done);
    }
    for (const node of $('activities').querySelectorAll('.elapsed')) {
      node.textContent = node.dataset.end
        ? `${clock(Number(node.dataset.end) - now)} left`
        : `${clock(now - Number(node.dataset.start))} elapsed`;
    }
  }

  // ---- raw JSON ---------------------------------------------------------------

  function drawRaw() {
    $('raw').hidden = !state.current;
    $('shape-lanyard').setAttribute('aria-pressed', String(state.shape === 'lanyard'));
    $('shape-native').setAttribute('aria-pressed', String(state.shape === 'native'));
    let shown;
    if (state.shape === 'lanyard') {
      // What GET /v1/users/:id answers for the same state.
      const body = state.presence
        ? { success: true, data: state.presence }
        : { success: false, error: { code: 'user_not_monitored' } };
      shown = state.presence === undefined ? 'Loading…' : JSON.stringify(body, null, 2);
    } else {
      shown = state.native.fetchedFor === state.current ? state.native.text : 'Loading…';
      refreshNative();
    }
    $('raw-json').textContent = shown;
  }

  /** Reads /user/:id for the native shape: when shown, and again (at most every 2 s) after a change. */
  function refreshNative() {
    const native = state.native;
    if (state.shape !== 'native' || !state.current || native.busy || native.timer) return;
    if (native.fetchedFor === state.current && native.version === state.version) return;
    const wait = native.last + NATIVE_REFRESH_MS - Date.now();
    if (wait > 0) {
      native.timer = setTimeout(() => {
        native.timer = 0;
        refreshNative();
      }, wait);
      return;
    }
    const id = state.current;
    const version = state.version;
    native.busy = true;
    native.last = Date.now();
    fetch(`/user/${id}`, { cache: 'no-cache', headers: { accept: 'application/json' } })
      .then(async (response) => {
        const body = await response.text();
        try {
          return JSON.stringify(JSON.parse(body), null, 2);
        } catch {
          return `HTTP ${response.status}`;
        }
      })
      .catch(() => 'The request failed; it is tried again with the next change.')
      .then((shown) => {
        native.busy = false;
        if (id !== state.current) return refreshNative();
        native.text = shown;
        native.fetchedFor = id;
        native.version = version;
        if (state.shape === 'native') $('raw-json').textContent = shown;
        refreshNative();
      });
  }

  // ---- snippets ---------------------------------------------------------------

  function snippets(id) {
    const origin = location.origin;
    const ws = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
    return {
      markdown: `![Discord presence](${origin}/user/${id}/card.svg)`,
      img: `<img src="${origin}/user/${id}/card.svg" alt="Discord presence" width="410" height="210">`,
      fetch: [
        `const response = await fetch("${origin}/v1/users/${id}");`,
        'const { data } = await response.json();',
        'console.log(data.discord_status, data.spotify?.song);',
      ].join('\n'),
      socket: [
        `const socket = new WebSocket("${ws}/socket");`,
        'socket.addEventListener("open", () => {',
        `  socket.send(JSON.stringify({ op: 2, d: { subscribe_to_id: "${id}" } }));`,
        '});',
        'socket.addEventListener("message", (event) => {',
        '  const message = JSON.parse(event.data);',
        '  if (message.op === 1) {',
        '    setInterval(() => socket.send(JSON.stringify({ op: 3 })), message.d.heartbeat_interval);',
        '  } else if (message.t === "INIT_STATE" || message.t === "PRESENCE_UPDATE") {',
        '    console.log(message.d.discord_status, message.d.spotify?.song);',
        '  }',
        '});',
      ].join('\n'),
      kv: [
        `curl -X PUT -H 'Authorization: YOUR_TOKEN' --data 'Lisbon' ${origin}/user/${id}/kv/location`,
        `curl -H 'Authorization: YOUR_TOKEN' ${origin}/user/${id}/kv`,
        `curl -X DELETE -H 'Authorization: YOUR_TOKEN' ${origin}/user/${id}/kv/location`,
      ].join('\n'),
    };
  }

  function drawSnippets() {
    const id = state.current;
    $('snippets').hidden = !id;
    if (!id) return;
    const texts = snippets(id);
    for (const code of document.querySelectorAll('[data-snippet]')) {
      code.textContent = texts[code.dataset.snippet] || '';
    }
  }

  async function copy(button) {
    const code = document.querySelector(`[data-snippet="${button.dataset.copy}"]`);
    if (!code) return;
    let copied = false;
    try {
      await navigator.clipboard.writeText(code.textContent);
      copied = true;
    } catch {
      // No clipboard API (a plain-http page on another host): select the text instead.
      const range = document.createRange();
      range.selectNodeContents(code);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    button.textContent = copied ? 'Copied' : 'Selected: press Ctrl+C';
    $('copy-status').textContent = copied ? 'Copied to the clipboard.' : 'The snippet is selected: press Ctrl+C to copy it.';
    setTimeout(() => (button.textContent = 'Copy'), 2000);
  }

  // ---- the socket -------------------------------------------------------------

  const live = {
    ws: null,
    heartbeat: 0,
    retry: 0,
    attempts: 0,
    /** Subscriptions sent and not yet answered: each INIT_STATE answers the oldest. */
    pending: [],
    subscribed: null,
  };

  function connection(kind, words) {
    $('connection').dataset.state = kind;
    $('connection-text').textContent = words;
  }

  function send(message) {
    if (live.ws && live.ws.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify(message));
  }

  function subscribe() {
    if (!live.ws || live.ws.readyState !== WebSocket.OPEN || live.subscribed === state.current) return;
    if (live.subscribed) send({ op: 4, d: { unsubscribe_from_id: live.subscribed } });
    live.subscribed = state.current;
    if (state.current) {
      send({ op: 2, d: { subscribe_to_id: state.current } });
      live.pending.push(state.current);
    }
  }

  function connect() {
    clearTimeout(live.retry);
    live.retry = 0;
    if (live.ws) return;
    if (!state.current) {
      connection('idle', 'not connected');
      return;
    }
    connection('connecting', 'connecting…');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/socket`);
    live.ws = ws;
    live.pending = [];
    live.subscribed = null;
    ws.addEventListener('open', subscribe);
    ws.addEventListener('message', (event) => receive(event.data));
    ws.addEventListener('close', () => {
      if (live.ws !== ws) return;
      live.ws = null;
      clearInterval(live.heartbeat);
      reconnectLater();
    });
  }

  /** Reconnects after 1, 2, 4 … 30 s (with jitter), so that a restarting server is not stormed. */
  function reconnectLater() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** live.attempts);
    const delay = base / 2 + Math.random() * (base / 2) + BACKOFF_MIN_MS / 2;
    live.attempts += 1;
    connection('waiting', `reconnecting in ${Math.ceil(delay / 1000)} s`);
    live.retry = setTimeout(connect, delay);
  }

  function receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== 'object') return;
    if (message.op === 1) {
      const every = Number(message.d?.heartbeat_interval);
      clearInterval(live.heartbeat);
      live.heartbeat = setInterval(() => send({ op: 3 }), Math.min(Math.max(every || 30000, 5000), 60000));
      return;
    }
    if (message.op !== 0 || !message.d || typeof message.d !== 'object') return;
    if (message.t === 'INIT_STATE') {
      live.attempts = 0;
      connection('live', 'live');
      const about = live.pending.shift();
      if (about === state.current) update(message.d.discord_user ? message.d : null);
    } else if (message.t === 'PRESENCE_UPDATE' && text(message.d.discord_user?.id) === state.current) {
      update(message.d);
    }
  }

  function update(presence) {
    state.presence = presence;
    state.version = (state.version || 0) + 1;
    draw();
  }

  /**
   * When to open the first socket. The page's own requests count against the
   * server's per-second rate limit like anyone's: on a first visit the page, its
   * stylesheet and its script can use a whole second's allowance (3 by default),
   * and a socket opened in that second would be refused. Then the socket waits
   * until a second has passed since the page was asked for (the presence is
   * usually drawn from the page itself meanwhile); a visit with the assets in the
   * browser's cache connects at once.
   */
  function firstConnectDelay() {
    const perSecond = Number(config.perSecond) || 0;
    if (perSecond <= 0) return 0;
    const own = performance
      .getEntriesByType('resource')
      .filter((entry) => entry.name.startsWith(`${location.origin}/`) && entry.transferSize !== 0).length;
    if (1 + own < perSecond) return 0;
    const asked = performance.getEntriesByType('navigation')[0]?.requestStart || 0;
    return Math.max(0, asked + 1100 - performance.now());
  }

  // ---- choosing a user ----------------------------------------------------------

  function remember(id) {
    try {
      localStorage.setItem('harmy.id', id);
    } catch {
      // Storage off (private mode, policy): the page still works, it just forgets.
    }
  }

  function remembered() {
    try {
      return localStorage.getItem('harmy.id');
    } catch {
      return null;
    }
  }

  function show(id, how) {
    if (id === state.current) return;
    state.current = id;
    state.presence = undefined;
    state.native.fetchedFor = null;
    $('user-id').value = id || '';
    if (id) remember(id);
    if (how === 'push') history.pushState(null, '', `?id=${id}`);
    if (how === 'replace') history.replaceState(null, '', `?id=${id}`);
    for (const link of $('demo-list').querySelectorAll('a')) {
      if (link.dataset.id === id) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    drawSnippets();
    draw();
    if (live.ws) subscribe();
    else if (!live.retry) connect();
  }

  function drawDemo() {
    if (!Array.isArray(config.demo) || config.demo.length === 0) return;
    const items = config.demo.slice(0, MAX_DEMO).filter((m) => m && validId(m.id)).map((member) => {
      const link = element('a', '', text(member.name) || member.id);
      link.href = `?id=${member.id}`;
      link.dataset.id = member.id;
      const item = element('li');
      item.append(link);
      return item;
    });
    $('demo-list').replaceChildren(...items);
    $('demo').hidden = false;
  }

  function start() {
    drawDemo();
    const fromUrl = new URLSearchParams(location.search).get('id');
    const initial = config.initial && typeof config.initial === 'object' ? config.initial : {};

    $('lookup').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('user-id').value.trim();
      if (!validId(value)) {
        $('user-id-error').textContent = 'A Discord user ID is a number of up to 20 digits, such as 470320681905684500.';
        $('user-id').setAttribute('aria-invalid', 'true');
        $('user-id').focus();
        return;
      }
      $('user-id-error').textContent = '';
      $('user-id').removeAttribute('aria-invalid');
      show(value, 'push');
    });
    $('demo-list').addEventListener('click', (event) => {
      const link = event.target.closest('a[data-id]');
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      show(link.dataset.id, 'push');
      $('presence').focus();
    });
    window.addEventListener('popstate', () => {
      const id = new URLSearchParams(location.search).get('id');
      show(validId(id) ? id : null);
    });
    $('shape-lanyard').addEventListener('click', () => {
      state.shape = 'lanyard';
      drawRaw();
    });
    $('shape-native').addEventListener('click', () => {
      state.shape = 'native';
      drawRaw();
    });
    for (const button of document.querySelectorAll('button[data-copy]')) {
      button.addEventListener('click', () => copy(button));
    }
    for (const img of [$('avatar'), $('album-art'), $('custom-emoji')]) {
      img.addEventListener('error', () => {
        failed.add(img.src);
        setImage(img, null);
      });
    }
    window.addEventListener('online', () => {
      if (!live.ws && state.current) connect();
    });
    setInterval(tick, 1000);

    let id = null;
    if (fromUrl !== null) {
      if (validId(fromUrl)) id = fromUrl;
      else $('user-id-error').textContent = `“${fromUrl.slice(0, 40)}” is not a Discord user ID.`;
    } else if (validId(remembered())) {
      id = remembered();
    }
    if (!id) {
      draw();
      return;
    }
    state.current = id;
    $('user-id').value = id;
    remember(id);
    if (fromUrl === null) history.replaceState(null, '', `?id=${id}`);
    if (initial.id === id && Object.hasOwn(initial, 'presence')) {
      state.presence = initial.presence && typeof initial.presence === 'object' ? initial.presence : null;
    }
    for (const link of $('demo-list').querySelectorAll('a')) {
      if (link.dataset.id === id) link.setAttribute('aria-current', 'page');
    }
    drawSnippets();
    draw();
    const delay = firstConnectDelay();
    if (delay > 0) {
      connection('connecting', 'connecting…');
      live.retry = setTimeout(connect, delay);
    } else {
      connect();
    }
  }

  start();
})();
