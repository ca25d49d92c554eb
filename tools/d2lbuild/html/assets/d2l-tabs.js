// Framework tabs: one choice for the whole site, kept across pages and visits, and settable by URL
// (?framework=tensorflow); the sidebar's toggles named, search summaries without LaTeX. A tab chosen by mouse or keyboard (arrow keys on the tabs) changes every tab set,
// the notebook and Colab links and the notes that name the framework.
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
  function labelOf(input) {
    var label = input.nextElementSibling;
    return label && label.matches('label.sd-tab-label[data-sync-group="' + GROUP + '"]') ? label : null;
  }
  function show(name) {
    labels(name).forEach(function (label) {
      var input = document.getElementById(label.getAttribute("for"));
      if (input && !input.checked) input.checked = true;
    });
    document.querySelectorAll("[data-framework]").forEach(function (element) {
      if (element !== document.documentElement) element.hidden = element.getAttribute("data-framework") !== name;
    });
    document.documentElement.setAttribute("data-framework", name);
    document.documentElement.setAttribute("data-framework-name", NAMES[name] || name);
  }
  function choose(name) {
    store(name);
    show(name);
  }
  function group(set) {
    set.setAttribute("role", "radiogroup");
    set.setAttribute("aria-label", "Framework");
  }
  function nameToggles() {
    // The sidebar's open/close buttons say which chapter they open (screen readers read "Sections of ...").
    document.querySelectorAll(".bd-docs-nav details > summary").forEach(function (summary) {
      var link = summary.parentElement.parentElement.querySelector(":scope > a");
      summary.setAttribute("aria-label", "Sections of " + (link ? link.textContent.trim() : "this chapter"));
    });
  }
  function plainSearchSummaries() {
    // Search results quote the page's text: its math as an ellipsis, not as LaTeX source.
    if (typeof Search === "undefined" || !Search.htmlToText) return;
    var toText = Search.htmlToText;
    Search.htmlToText = function (htmlString, anchor) {
      var page = new DOMParser().parseFromString(htmlString, "text/html");
      page.querySelectorAll(".math").forEach(function (math) { math.replaceWith("\u2026"); });
      return toText(page.documentElement.outerHTML, anchor);
    };
  }
  function start() {
    nameToggles();
    plainSearchSummaries();
    document.querySelectorAll(".sd-tab-set").forEach(function (set) {
      if (set.querySelector(':scope > label[data-sync-group="' + GROUP + '"]')) group(set);
    });
    show(initial());
    labels(null).forEach(function (label) {
      label.addEventListener("click", function () { choose(label.getAttribute("data-sync-id")); });
    });
    document.addEventListener("change", function (event) {
      var label = event.target instanceof HTMLInputElement ? labelOf(event.target) : null;
      if (label && event.target.checked) choose(label.getAttribute("data-sync-id"));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
