// Light and dark follow the system setting (Bootstrap reads data-bs-theme).
(function () {
  var media = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    document.documentElement.setAttribute("data-bs-theme", media.matches ? "dark" : "light");
  }
  apply();
  media.addEventListener("change", apply);
})();
