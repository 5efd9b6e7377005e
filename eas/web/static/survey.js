// Sliders, where JavaScript runs: a range control for each slider item, with no default. The
// text field behind it stays empty (a missing answer) until the slider is moved, so an
// untouched slider is never stored as its middle value. Without JavaScript the field is typed.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-slider-min]").forEach(function (field) {
    var range = document.createElement("input");
    range.type = "range";
    range.min = field.dataset.sliderMin;
    range.max = field.dataset.sliderMax;
    range.step = "1";
    range.setAttribute("aria-label", document.querySelector("label[for='" + field.id + "']").textContent);
    var shown = document.createElement("p");
    shown.className = "slider-value";
    shown.setAttribute("aria-live", "polite");
    shown.textContent = field.value === "" ? "Not answered yet: move the slider." : "Your answer: " + field.value;
    if (field.value !== "") { range.value = field.value; }
    range.addEventListener("input", function () {
      field.value = range.value;
      shown.textContent = "Your answer: " + range.value;
    });
    field.type = "hidden";
    field.parentNode.insertBefore(range, field);
    field.parentNode.insertBefore(shown, field);
  });
});
