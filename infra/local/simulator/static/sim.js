/* The simulator page: a WeChat chat with the bank's service account, a core-banking panel
   and the outbox. Every action goes to the simulator's backend (api/...), which talks to
   the webhook as WeChat would. Plain JS, no build step. */
(function () {
  "use strict";

  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var state = { users: [], current: null, menu: { button: [] }, places: [], encrypt: true };
  var chats = {};            // openid -> chat entries, kept in sessionStorage
  var seenMessages = {};     // openid -> msgids of outbox messages already put in the chat
  var lastTime = {};         // openid -> time of the last entry, for the grey time labels

  // --- backend -------------------------------------------------------------------------
  function api(path, body) {
    var options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    };
    return fetch("api/" + path, options).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) { throw new Error(data.message || ("HTTP " + res.status)); }
        return data;
      });
    });
  }

  function toast(text) {
    var el = $("#toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 2600);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function user() {
    for (var i = 0; i < state.users.length; i++) {
      if (state.users[i].openid === state.current) { return state.users[i]; }
    }
    return null;
  }

  // --- links: H5 pages open inside the phone ---------------------------------------------
  function localUrl(url) {
    // Pages of the stack open on this origin whatever base URL the reply used.
    try {
      var parsed = new URL(url, location.href);
      var local = /^\/(branches|booking|loans|notify|oauth|_wechat)(\/|$|\?)/.test(parsed.pathname);
      return local ? parsed.pathname + parsed.search + parsed.hash : parsed.href;
    } catch (e) { return url; }
  }

  function openH5(url) {
    var frame = $("#h5-frame");
    $("#h5-title").textContent = "";
    $("#h5").hidden = false;
    frame.src = localUrl(url);
  }

  function linkNode(href, label) {
    var a = el("a", "link", label);
    a.href = localUrl(href);
    a.addEventListener("click", function (event) { event.preventDefault(); openH5(href); });
    return a;
  }

  // Text replies may hold <a href="...">label</a> (WeChat renders those) and bare URLs;
  // everything else is text, never HTML.
  function richText(text) {
    var frag = document.createDocumentFragment();
    var pattern = /<a\s+href=["']([^"']+)["'][^>]*>([\s\S]*?)<\/a>|(https?:\/\/[^\s<>"，。）]+)/g;
    var last = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      appendLines(frag, text.slice(last, match.index));
      frag.appendChild(match[1] ? linkNode(decode(match[1]), decode(match[2])) : linkNode(match[3], match[3]));
      last = pattern.lastIndex;
    }
    appendLines(frag, text.slice(last));
    return frag;
  }

  // entities in an anchor (&amp; in a URL); parsed as a detached document, so inert
  function decode(text) {
    return new DOMParser().parseFromString(text, "text/html").documentElement.textContent;
  }

  function appendLines(frag, text) {
    text.split("\n").forEach(function (line, i) {
      if (i > 0) { frag.appendChild(document.createElement("br")); }
      if (line) { frag.appendChild(document.createTextNode(line)); }
    });
  }

  // --- chat --------------------------------------------------------------------------
  function entries() {
    if (!state.current) { return []; }
    if (!chats[state.current]) {
      try { chats[state.current] = JSON.parse(sessionStorage.getItem("sim:" + state.current) || "[]"); }
      catch (e) { chats[state.current] = []; }
    }
    return chats[state.current];
  }

  function remember(entry) {
    entry.at = entry.at || Date.now();
    var list = entries();
    list.push(entry);
    if (list.length > 200) { list.splice(0, list.length - 200); }
    try { sessionStorage.setItem("sim:" + state.current, JSON.stringify(list)); } catch (e) { /* full */ }
    renderEntry(entry);
  }

  function renderChat() {
    var chat = $("#chat");
    chat.textContent = "";
    lastTime[state.current] = 0;
    if (!state.current) {
      chat.appendChild(el("p", "chat__hint", "点右上角选择或新建一个微信用户"));
      return;
    }
    entries().forEach(renderEntry);
    if (!entries().length) {
      chat.appendChild(el("p", "chat__hint", "发送消息、位置，或点下方菜单"));
    }
  }

  function renderEntry(entry) {
    var chat = $("#chat");
    var hint = $(".chat__hint", chat);
    if (hint) { hint.remove(); }
    if (entry.at - (lastTime[state.current] || 0) > 5 * 60 * 1000) {
      var d = new Date(entry.at);
      chat.appendChild(el("p", "chat__time", pad(d.getHours()) + ":" + pad(d.getMinutes())));
    }
    lastTime[state.current] = entry.at;
    if (entry.kind === "system") {
      chat.appendChild(el("p", "chat__system", entry.text));
    } else {
      var row = el("div", "msg msg_" + (entry.from === "me" ? "me" : "account"));
      var me = user();
      row.appendChild(el("span", "avatar" + (entry.from === "me" ? "" : " avatar_bank"),
        entry.from === "me" ? initial(me) : "甬"));
      row.appendChild(entryBody(entry));
      chat.appendChild(row);
    }
    chat.scrollTop = chat.scrollHeight;
  }

  function entryBody(entry) {
    var body;
    if (entry.kind === "text") {
      body = el("div", "bubble");
      body.appendChild(richText(entry.text || ""));
    } else if (entry.kind === "location") {
      body = el("div", "bubble bubble_card location-card");
      body.appendChild(el("strong", "location-card__name", entry.name || "位置"));
      body.appendChild(el("span", "location-card__label", entry.label || (entry.lat + ", " + entry.lng)));
      body.appendChild(el("span", "location-card__map"));
    } else if (entry.kind === "news") {
      body = newsCard(entry.article);
    } else if (entry.kind === "template") {
      body = templateCard(entry.message);
    } else if (entry.kind === "event") {
      body = el("div", "bubble bubble_event", entry.text);
    } else {
      body = el("div", "bubble", entry.text || "");
    }
    return body;
  }

  function newsCard(article) {
    var card = el("a", "bubble bubble_card news");
    card.href = localUrl(article.url || "#");
    card.addEventListener("click", function (event) { event.preventDefault(); if (article.url) { openH5(article.url); } });
    card.appendChild(el("strong", "news__title", article.title));
    var row = el("div", "news__row");
    row.appendChild(el("p", "news__desc", article.description));
    if (article.image) {
      var img = el("img", "news__thumb");
      img.src = article.image;
      img.alt = "";
      row.appendChild(img);
    }
    card.appendChild(row);
    return card;
  }

  function fieldList(fields) {
    var list = el("dl", "template__fields");
    (fields || []).forEach(function (field) {
      var dt = el("dt", "", field.label || field.key);
      dt.title = field.key;
      list.appendChild(dt);
      list.appendChild(el("dd", "", field.value));
    });
    return list;
  }

  function templateCard(message) {
    var card = el("div", "bubble bubble_card template");
    card.appendChild(el("strong", "template__title", templateTitle(message)));
    card.appendChild(fieldList(message.fields));
    if (message.url) {
      var more = linkNode(message.url, "详情");
      more.className = "template__more";
      card.appendChild(more);
    }
    return card;
  }

  function templateTitle(message) { return message.title || "模板消息"; }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function initial(u) { return u ? (u.nickname || u.openid).slice(0, 1) : "?"; }

  function showReply(result) {
    showExchange(result);
    var reply = result.reply || {};
    if (result.status !== 200) {
      remember({ kind: "system", text: "公众号暂时无法提供服务（HTTP " + result.status + "）" });
    } else if (reply.type === "text") {
      remember({ kind: "text", from: "account", text: reply.text });
    } else if (reply.type === "news") {
      (reply.articles || []).slice(0, 1).forEach(function (article) {
        remember({ kind: "news", from: "account", article: article });
      });
    } else if (reply.type && reply.type !== "none") {
      remember({ kind: "text", from: "account", text: "[" + reply.type + "]" });
    }
    pollOutbox();
  }

  function showExchange(result) {
    $("#exchange-status").textContent = "HTTP " + result.status + (result.encrypted ? " · 安全模式" : " · 明文模式");
    $("#request-xml").textContent = result.request_xml || "";
    $("#reply-xml").textContent = result.reply_xml || "(空)";
  }

  function send(payload, echo) {
    if (!state.current) { toast("请先选择用户"); openUsers(); return Promise.resolve(); }
    if (echo) { remember(echo); }
    payload.openid = state.current;
    payload.encrypt = state.encrypt;
    return api("send", payload).then(showReply).catch(function (error) {
      remember({ kind: "system", text: "发送失败：" + error.message });
    });
  }

  function sendText(text) {
    return send({ type: "text", content: text }, { kind: "text", from: "me", text: text });
  }

  function sendLocation(place, menuKey) {
    var payload = { type: menuKey ? "location_select" : "location", key: menuKey || "",
      lat: place.lat, lng: place.lng, label: place.label || place.name || "" };
    return send(payload, { kind: "location", from: "me", name: place.name, label: place.label,
      lat: place.lat, lng: place.lng });
  }

  // --- menu ------------------------------------------------------------------------------
  function renderMenu() {
    var items = $("#menu-items");
    items.textContent = "";
    (state.menu.button || []).forEach(function (button) {
      var item = el("button", "wx-menu__item", button.name);
      item.type = "button";
      if (button.sub_button && button.sub_button.length) {
        item.classList.add("wx-menu__item_sub");
        item.setAttribute("aria-haspopup", "menu");
        item.addEventListener("click", function (event) { event.stopPropagation(); toggleSubmenu(item, button.sub_button); });
      } else {
        item.addEventListener("click", function () { closeSubmenu(); menuAction(button); });
      }
      items.appendChild(item);
    });
    if (!(state.menu.button || []).length) {
      items.appendChild(el("span", "wx-menu__empty", "（菜单未定义）"));
    }
  }

  function toggleSubmenu(anchor, buttons) {
    var popup = $("#submenu");
    if (!popup.hidden && popup.dataset.anchor === anchor.textContent) { closeSubmenu(); return; }
    popup.textContent = "";
    popup.dataset.anchor = anchor.textContent;
    popup.setAttribute("role", "menu");
    buttons.forEach(function (button) {
      var b = el("button", "wx-popup__item", button.name);
      b.type = "button";
      b.setAttribute("role", "menuitem");
      b.addEventListener("click", function () { closeSubmenu(); menuAction(button); });
      popup.appendChild(b);
    });
    var screen = $(".phone__screen").getBoundingClientRect();
    var box = anchor.getBoundingClientRect();
    popup.hidden = false;
    var left = box.left - screen.left + box.width / 2 - popup.offsetWidth / 2;
    popup.style.left = Math.max(6, Math.min(left, screen.width - popup.offsetWidth - 6)) + "px";
  }

  function closeSubmenu() { $("#submenu").hidden = true; }

  function menuAction(button) {
    var type = button.type;
    if (type === "click") {
      send({ type: "click", key: button.key }, { kind: "event", from: "me", text: "点击菜单「" + button.name + "」" });
    } else if (type === "view") {
      send({ type: "view", key: button.url });
      openH5(button.url);
    } else if (type === "location_select") {
      openLocations(button.key, button.name);
    } else {
      toast("模拟器不支持菜单类型 " + type);
    }
  }

  // --- location sheet ---------------------------------------------------------------
  var locationKey = "";

  function renderPlaces() {
    var list = $("#places");
    list.textContent = "";
    state.places.forEach(function (place) {
      var li = el("li");
      var b = el("button", "place");
      b.type = "button";
      b.appendChild(el("strong", "", place.name));
      b.appendChild(el("span", "", place.label));
      b.addEventListener("click", function () { closeSheets(); sendLocation(place, locationKey); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function openLocations(menuKey, title) {
    locationKey = menuKey || "";
    $("#location-title").textContent = title || "发送位置";
    $("#location-sheet").hidden = false;
  }

  function closeSheets() {
    $("#location-sheet").hidden = true;
    $("#user-sheet").hidden = true;
  }

  // --- users --------------------------------------------------------------------------
  function renderUsers() {
    var u = user();
    $("#user-name").textContent = u ? u.nickname : "选择用户";
    $("#user-avatar").textContent = initial(u);
    var list = $("#users");
    list.textContent = "";
    state.users.forEach(function (candidate) {
      var li = el("li");
      var b = el("button", "user" + (candidate.openid === state.current ? " user_current" : ""));
      b.type = "button";
      b.dataset.openid = candidate.openid;
      b.appendChild(el("span", "avatar", initial(candidate)));
      var names = el("span", "user__names");
      names.appendChild(el("strong", "", candidate.nickname));
      names.appendChild(el("small", "", candidate.openid));
      b.appendChild(names);
      b.addEventListener("click", function () { closeSheets(); login(candidate.openid); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function openUsers() { $("#user-sheet").hidden = false; }

  function remembered(users) {
    // the user this browser last used, when the stack (restarted) no longer knows it
    var user = null;
    try { user = JSON.parse(localStorage.getItem("sim:user") || "null"); } catch (e) { return null; }
    if (!user || !user.openid || users.some(function (u) { return u.openid === user.openid; })) { return null; }
    return user;
  }

  function restore(user) {
    // an existing follower: registered again without a new subscribe event
    return api("users", { openid: user.openid, nickname: user.nickname, restore: true }).then(function (out) {
      state.users.push(out.user);
      switchTo(out.user.openid);
    });
  }

  function login(openid) {
    return api("login", { openid: openid }).then(function () { switchTo(openid); });
  }

  function switchTo(openid) {
    state.current = openid;
    // the stack keeps its users in memory: the browser remembers the one in use, so that a
    // restarted `make run` gets it back (start(): restore)
    try { localStorage.setItem("sim:user", JSON.stringify(user())); } catch (e) { /* private mode */ }
    $("#h5").hidden = true;
    $("#h5-frame").removeAttribute("src");
    renderUsers();
    renderChat();
    refreshPanels();
  }

  // --- outbox ----------------------------------------------------------------------------
  function pollOutbox() {
    if (!state.current) { return Promise.resolve(); }
    var openid = state.current;
    return api("outbox?openid=" + encodeURIComponent(openid)).then(function (box) {
      if (openid !== state.current) { return; }
      renderOutbox(box);
      // messages the account pushed appear in the chat, as in WeChat
      var seen = seenMessages[openid] || (seenMessages[openid] = loadSeen(openid));
      box.templates.concat(box.custom).sort(function (a, b) { return a.at - b.at; }).forEach(function (m) {
        if (seen[m.msgid]) { return; }
        seen[m.msgid] = true;
        var at = Math.round((m.at || 0) * 1000) || Date.now();
        if (m.kind === "template") { remember({ kind: "template", from: "account", message: m, at: at }); }
        else if (m.kind === "news" && m.articles && m.articles.length) {
          remember({ kind: "news", from: "account", article: m.articles[0], at: at });
        } else { remember({ kind: "text", from: "account", text: m.text || "[" + m.kind + "]", at: at }); }
      });
      try { sessionStorage.setItem("seen:" + openid, JSON.stringify(seen)); } catch (e) { /* full */ }
    }).catch(function () { /* the stack may be restarting; the next poll tries again */ });
  }

  function loadSeen(openid) {
    try { return JSON.parse(sessionStorage.getItem("seen:" + openid) || "{}"); } catch (e) { return {}; }
  }

  function renderOutbox(box) {
    var templates = $("#outbox-templates");
    templates.textContent = "";
    box.templates.slice().reverse().forEach(function (m) {
      var li = el("li", "outbox__item outbox__item_template");
      li.dataset.msgid = m.msgid;
      var head = el("div", "outbox__head");
      var name = el("strong", "", templateTitle(m) + " ");
      name.appendChild(el("small", "outbox__id", m.template_id));
      head.appendChild(name);
      head.appendChild(statusBadge(m.status));
      li.appendChild(head);
      li.appendChild(fieldList(m.fields));
      li.appendChild(el("small", "outbox__time", when(m.at)));
      templates.appendChild(li);
    });
    if (!box.templates.length) { templates.appendChild(el("li", "outbox__none", "还没有模板消息")); }

    var sms = $("#outbox-sms");
    sms.textContent = "";
    box.sms.slice().reverse().forEach(function (m) {
      var li = el("li", "outbox__item outbox__item_sms");
      var head = el("div", "outbox__head");
      head.appendChild(el("strong", "", m.phone));
      head.appendChild(statusBadge(m.status));
      li.appendChild(head);
      li.appendChild(el("p", "outbox__text", m.text));
      sms.appendChild(li);
    });
    if (!box.sms.length) { sms.appendChild(el("li", "outbox__none", "没有发往该用户手机的短信")); }
  }

  function statusBadge(status) {
    var ok = status === "success" || status === "已发送";
    return el("span", "badge " + (ok ? "badge_ok" : "badge_fail"), status === "success" ? "送达" : status);
  }

  function when(seconds) {
    if (!seconds) { return ""; }
    var d = new Date(seconds * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  // --- core banking ---------------------------------------------------------------------
  function refreshBank() {
    if (!state.current) { return Promise.resolve(); }
    return api("bank?openid=" + encodeURIComponent(state.current)).then(function (data) {
      var select = $("#bank-card");
      var previous = select.value;
      select.textContent = "";
      (data.cards || []).forEach(function (card) {
        var option = el("option", "", card.label);
        option.value = JSON.stringify({ customer_id: card.customer_id, card_last4: card.card_last4 });
        select.appendChild(option);
      });
      if (previous) { select.value = previous; }
      var none = !(data.cards || []).length;
      $("#bank-empty").hidden = !none;
      $("#bank-emit").disabled = none;
      var demo = data.demo_customers || [];
      $("#demo-cards").hidden = !demo.length;
      var body = $("#demo-cards-body");
      body.textContent = "";
      demo.forEach(function (c) {
        var tr = el("tr");
        tr.appendChild(el("td", "", c.name));
        tr.appendChild(el("td", "mono", c.card_number));
        tr.appendChild(el("td", "mono", c.phone));
        body.appendChild(tr);
      });
    }).catch(function () { /* retried on the next refresh */ });
  }

  function emitBank(form) {
    var data = new FormData(form);
    var card = JSON.parse(data.get("card") || "{}");
    var payload = {
      kind: data.get("kind"), customer_id: card.customer_id, card_last4: card.card_last4,
      amount_yuan: data.get("amount_yuan"), merchant: data.get("merchant"),
      cross_border: data.get("cross_border") === "on", card_not_present: data.get("card_not_present") === "on",
      due_in_days: data.get("due_in_days")
    };
    var result = $("#bank-result");
    result.textContent = "发送中…";
    return api("bank", payload).then(function (out) {
      var e = out.event;
      result.textContent = "已发出 " + e.type + " · " + e.id.slice(0, 8);
      result.dataset.eventId = e.id;
      setTimeout(pollOutbox, 800);
    }).catch(function (error) { result.textContent = "失败：" + error.message; });
  }

  function refreshPanels() { pollOutbox(); refreshBank(); }

  // --- wiring ----------------------------------------------------------------------------
  function setView(view) {
    document.querySelector(".sim").dataset.view = view;
    document.querySelectorAll(".sim-tabs [role=tab]").forEach(function (tab) {
      tab.setAttribute("aria-selected", tab.dataset.view === view ? "true" : "false");
    });
    if (view !== "phone") { refreshPanels(); }
  }

  function wire() {
    document.querySelectorAll(".sim-tabs [role=tab]").forEach(function (tab) {
      tab.addEventListener("click", function () { setView(tab.dataset.view); });
    });
    $("#to-keyboard").addEventListener("click", function () { closeSubmenu(); $("#bottom").dataset.mode = "keyboard"; $("#text").focus(); });
    $("#to-menu").addEventListener("click", function () { $("#bottom").dataset.mode = "menu"; });
    $("#composer").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = $("#text");
      var text = input.value.trim();
      if (!text) { return; }
      input.value = "";
      sendText(text);
    });
    $("#plus").addEventListener("click", function () { openLocations("", "发送位置"); });
    $("#coords").addEventListener("submit", function (event) {
      event.preventDefault();
      var lat = parseFloat(event.target.lat.value), lng = parseFloat(event.target.lng.value);
      if (isNaN(lat) || isNaN(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) { toast("坐标格式错误"); return; }
      closeSheets();
      sendLocation({ name: "位置", label: lat.toFixed(5) + ", " + lng.toFixed(5), lat: lat, lng: lng }, locationKey);
    });
    document.querySelectorAll("[data-close]").forEach(function (node) { node.addEventListener("click", closeSheets); });
    $("#user-button").addEventListener("click", openUsers);
    $("#new-user").addEventListener("submit", function (event) {
      event.preventDefault();
      var form = event.target;
      api("users", { nickname: form.nickname.value, openid: form.openid.value }).then(function (out) {
        form.reset();
        closeSheets();
        if (!state.users.some(function (u) { return u.openid === out.user.openid; })) { state.users.push(out.user); }
        switchTo(out.user.openid);
        remember({ kind: "system", text: "你关注了公众号" });
        showReply(out.exchange);
      }).catch(function (error) { toast(error.message); });
    });
    $("#h5-close").addEventListener("click", function () { $("#h5").hidden = true; $("#h5-frame").removeAttribute("src"); pollOutbox(); });
    $("#h5-reload").addEventListener("click", function () {
      try { $("#h5-frame").contentWindow.location.reload(); } catch (e) { /* another origin */ }
    });
    $("#h5-frame").addEventListener("load", function () {
      try { $("#h5-title").textContent = $("#h5-frame").contentDocument.title || ""; } catch (e) { $("#h5-title").textContent = ""; }
    });
    $("#encrypt").addEventListener("change", function (event) { state.encrypt = event.target.checked; });
    $("#outbox-refresh").addEventListener("click", function () { refreshPanels(); });
    $("#bank-form").addEventListener("change", function (event) {
      if (event.target.name !== "kind") { return; }
      var kind = event.target.value;
      document.querySelectorAll("#bank-form [data-for]").forEach(function (node) { node.hidden = node.dataset.for !== kind; });
      $("#bank-amount").value = kind === "statement" ? "3,456.78" : "88.00";
    });
    $("#bank-form").addEventListener("submit", function (event) { event.preventDefault(); emitBank(event.target); });
    document.addEventListener("click", function (event) {
      if (!event.target.closest("#submenu")) { closeSubmenu(); }
    });
    setInterval(function () { if (!document.hidden) { pollOutbox(); } }, 3000);
    setInterval(function () { if (!document.hidden) { refreshBank(); } }, 6000);
  }

  function start() {
    wire();
    return api("state").then(function (data) {
      state.users = data.users;
      state.menu = data.menu;
      state.places = data.places;
      state.encrypt = data.encrypt;
      $("#encrypt").checked = data.encrypt;
      $("#account-name").textContent = data.account.name;
      renderMenu();
      renderPlaces();
      var ready = data.current ? Promise.resolve(switchTo(data.current))
        : remembered(data.users) ? restore(remembered(data.users))
        : data.users.length ? login(data.users[0].openid) : Promise.resolve(renderChat());
      return ready.then(function () { document.body.dataset.ready = "true"; });
    }).catch(function (error) { toast("模拟器无法启动：" + error.message); });
  }

  start();
}());
