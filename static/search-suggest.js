// Hashtags in use suggested as someone types (GET /api/hashtags/), as a combobox: arrows
// move, Enter takes the chosen one, Escape closes. In a search box (data-suggest) the chosen
// hashtag's page opens; in a list of hashtags (data-suggest-mode="insert": upload, edit) it
// completes the last one typed. A file of its own, not inline, so the Content-Security-Policy
// needs no exception.
(function () {
  "use strict";
  var WAIT_MS = 120;
  var SEPARATOR_CHARS = "\\s,，、#＃";
  var SEPARATORS = new RegExp("[" + SEPARATOR_CHARS + "]+");
  var WORD_AFTER_CARET = new RegExp("^[^" + SEPARATOR_CHARS + "]*\\s*");
  var site = document.getElementById("site-search");

  function typed(input, inserting) {
    var text = inserting ? input.value.slice(0, input.selectionStart) : input.value;
    if (inserting) {
      var words = text.split(SEPARATORS);
      text = SEPARATORS.test(text.slice(-1)) ? "" : words[words.length - 1];
    }
    text = text.trim().replace(/^[#＃]+/, "");
    // A Korean syllable being composed shows as a lone jamo (카ㅍ): ask for what precedes it.
    var settled = text.replace(/[\u3131-\u318E]+$/, "");
    return settled || text;
  }

  function attach(input) {
    var inserting = input.dataset.suggestMode === "insert";
    var endpoint = input.dataset.suggest || (site && site.dataset.suggest);
    if (!endpoint) return;
    var list = document.createElement("ul");
    list.id = input.id + "-suggestions";
    list.className = "suggest";
    list.hidden = true;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "해시태그 제안 Suggested hashtags");
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    var timer = null;
    var asked = null;
    var active = -1;

    function items() { return list.querySelectorAll("[role=option]"); }

    function select(index) {
      var options = items();
      if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
      active = index;
      if (active >= 0) {
        options[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", options[active].id);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      select(-1);
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function open() {
      list.style.left = input.offsetLeft + "px";
      list.style.top = input.offsetTop + input.offsetHeight + 4 + "px";
      list.style.width = input.offsetWidth + "px";
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function take(option) {
      if (!inserting) {
        window.location.assign(option.querySelector("a").href);
        return;
      }
      // The word before the caret is replaced; what follows the caret stays.
      var text = input.value.slice(0, input.selectionStart);
      var rest = input.value.slice(input.selectionStart).replace(WORD_AFTER_CARET, "");
      var cut = text.length - typed(input, true).length;
      while (cut > 0 && !SEPARATORS.test(text.charAt(cut - 1))) cut -= 1;  // a jamo left out
      while (cut > 0 && /[#＃]/.test(text.charAt(cut - 1))) cut -= 1;
      var done = text.slice(0, cut) + "#" + option.dataset.name + " ";
      input.value = done + rest;
      input.setSelectionRange(done.length, done.length);
      asked = null;
      close();
      input.focus();
    }

    function show(results) {
      select(-1);
      list.textContent = "";
      results.forEach(function (hashtag, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.dataset.name = hashtag.name;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var row = document.createElement(inserting ? "span" : "a");
        row.className = "suggest-row";
        if (!inserting) {
          row.href = hashtag.url;
          row.tabIndex = -1;
        }
        var name = document.createElement("span");
        name.textContent = "#" + hashtag.name;
        var count = document.createElement("span");
        count.className = "count";
        count.textContent = hashtag.shown === 0 ? "아직 없음 none yet"
          : "게시물 " + hashtag.shown + (hashtag.shown === 1 ? " post" : " posts");
        row.append(name, count);
        option.appendChild(row);
        list.appendChild(option);
      });
      if (results.length && document.activeElement === input) open(); else close();
    }

    function ask() {
      var prefix = typed(input, inserting);
      if (!prefix) { asked = null; show([]); return; }
      if (prefix === asked) { if (items().length) open(); return; }
      asked = prefix;
      var url = endpoint + "?" + new URLSearchParams({ prefix: prefix });
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (answer) { if (asked === prefix) show(answer.results || []); })
        .catch(function () { if (asked === prefix) show([]); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      // Suggestions for what was typed before stay only while the text still starts with it.
      if (asked !== null && typed(input, inserting).indexOf(asked) !== 0) close();
      timer = setTimeout(ask, WAIT_MS);
    });
    input.addEventListener("focus", ask);
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (event) {
      var count = items().length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!count) return;
        event.preventDefault();
        if (list.hidden) { open(); return; }
        var next = active + (event.key === "ArrowDown" ? 1 : -1);
        select(next < -1 ? count - 1 : next >= count ? -1 : next);
      } else if (event.key === "Enter" && !list.hidden && active >= 0 && !event.isComposing) {
        event.preventDefault();
        take(items()[active]);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    // Keep the focus in the box while a suggestion is clicked, so the click reaches it.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    if (inserting) {
      list.addEventListener("click", function (event) {
        var option = event.target.closest("[role=option]");
        if (option) take(option);
      });
    }
  }

  document.querySelectorAll("input[data-suggest], input[data-suggest-mode]").forEach(attach);
})();
