// Framework tabs: one choice for the whole site, kept across pages and visits, and settable by URL
// (?framework=tensorflow). The download link follows the choice.
(function () {
  "use strict";
  var TABS = __TABS__;
  var NAMES = __NAMES__;
  var KEY = "d2l-framework";
  var GROUP = "framework";

  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function store(name) {
    try { window.localStorage.setItem(KEY, name); } catch (e) { /* private mode: the choice lasts this page */ }
  }
  function initial() {
    var asked = new URLSearchParams(window.location.search).get(GROUP);
    if (asked && TABS.indexOf(asked) >= 0) { store(asked); return asked; }
    var kept = stored();
    return kept && TABS.indexOf(kept) >= 0 ? kept : TABS[0];
  }
  function labels(name) {
    var selector = 'label.sd-tab-label[data-sync-group="' + GROUP + '"]';
    if (name) selector += '[data-sync-id="' + name + '"]';
    return document.querySelectorAll(selector);
  }
  function show(name) {
    labels(name).forEach(function (label) {
      var input = document.getElementById(label.getAttribute("for"));
      if (input) input.checked = true;
    });
    document.querySelectorAll(".d2l-notebook-link").forEach(function (link) {
      link.hidden = link.getAttribute("data-framework") !== name;
    });
    document.documentElement.setAttribute("data-framework", name);
    document.documentElement.setAttribute("data-framework-name", NAMES[name] || name);
  }
  function start() {
    show(initial());
    labels(null).forEach(function (label) {
      label.addEventListener("click", function () {
        var name = label.getAttribute("data-sync-id");
        store(name);
        show(name);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
