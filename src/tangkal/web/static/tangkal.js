/* tangkal: the one page script. The new-order form fills in the legal basis of the chosen
   SOP category, unless the analyst has already written their own. Works without it, too. */
(function () {
  "use strict";
  var category = document.getElementById("category");
  var basis = document.getElementById("legal_basis");
  if (!category || !basis) { return; }
  var lastDefault = "";
  function defaultFor(select) {
    var opt = select.options[select.selectedIndex];
    return (opt && opt.getAttribute("data-legal-basis")) || "";
  }
  lastDefault = basis.value.trim() === "" ? "" : defaultFor(category);
  if (basis.value.trim() === "") { basis.value = defaultFor(category); lastDefault = basis.value; }
  category.addEventListener("change", function () {
    var current = basis.value.trim();
    if (current === "" || current === lastDefault.trim()) {
      basis.value = defaultFor(category);
      lastDefault = basis.value;
    }
  });
})();
