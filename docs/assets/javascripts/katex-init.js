// Render the math of every page with the KaTeX shipped in docs/assets/katex
// (no network). pymdownx.arithmatex wraps $...$ and $$...$$ in spans with \( \)
// and \[ \] delimiters; Material calls this again after each instant navigation.
function renderMath(root) {
  root.querySelectorAll(".arithmatex").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(function (doc) { renderMath(doc.body); });
} else {
  document.addEventListener("DOMContentLoaded", function () { renderMath(document.body); });
}
