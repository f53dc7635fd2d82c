/* Small improvements for pages that work without scripts (loaded from a file: the pages' Content
   Security Policy allows no inline script). */
(function () {
  /* Questions that only some people answer stay hidden until the answer that needs them is chosen.
     Without scripts every question shows, and the labels say who answers them. */
  document.querySelectorAll(".reveal[data-when-name]").forEach(function (box) {
    if (box.dataset.bound) return;
    box.dataset.bound = "1";
    var inputs = document.querySelectorAll('input[name="' + box.dataset.whenName + '"]');
    var show = function () {
      var on = Array.prototype.some.call(inputs, function (i) { return i.checked && i.value === box.dataset.whenValue; });
      box.hidden = !on && !box.querySelector(".has-error");
    };
    inputs.forEach(function (i) { i.addEventListener("change", show); });
    show();
  });

  /* The "new code" button wakes up when a new code may be sent; without scripts it is enabled and the
     server says how long to wait. */
  var button = document.getElementById("resend-button");
  if (button && Number(button.dataset.wait)) {
    var left = Number(button.dataset.wait), ready = button.textContent, waiting = button.dataset.waiting;
    button.disabled = true;
    button.textContent = waiting.replace("{s}", left);
    var tick = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(tick); button.disabled = false; button.textContent = ready; return; }
      button.textContent = waiting.replace("{s}", left);
    }, 1000);
  }
})();
