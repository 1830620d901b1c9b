// .boot0 of the calibration rig on the real Linux interpreter (bench/calibrate). NOT firmware: it
// stands in for a board's pins and gives the tool a side channel over the USB (stdin/stdout) link.
// - LED1/LED2/BTN1: the Linux build has no such pins; D1/D2/D0 are its fake pins.
// - Host → device "\x1bKCm\n": reply "\x1bKCm{u,f,u0,p}\n" with process.memory().usage after a
//   garbage collection (u), the error flags (f), usage before this prelude (u0) and the vars the
//   prelude itself keeps (p). "\x1bKCn\n": the same without a collection. "\x1bKCb\n": BTN1 is pressed
//   (its setWatch callback gets {state:true}, then {state:false} 120 ms later), as a button would.
// - KC_SIDE("\x1bKCm") at the REPL answers the same on the console (the firmware never took USB).
// - After the boot code (E.on('init')): "\x1bKCr\n", so the tool knows the boot has ended.
// Every other USB byte goes to the firmware's own USB.on('data') handler unchanged.
var KC_U0 = process.memory().usage, KC_P = 0, KC_SIDE;
var LED1 = D1, LED2 = D2, BTN1 = D0;
(function () {
  var on = USB.on;
  function memory(gc) {
    return "{\"u\":" + process.memory(gc).usage + ",\"f\":" + JSON.stringify(E.getErrorFlags()) + ",\"u0\":" + KC_U0 + ",\"p\":" + KC_P + "}";
  }
  function press() {
    var w = global["\xFF"].watches, cb, k;
    for (k in w) if (w[k].pin == BTN1) cb = w[k].cb;
    if (!cb) return "{\"pressed\":false}";
    cb({ state: true, time: getTime(), lastTime: getTime() });
    setTimeout(function () { cb({ state: false, time: getTime(), lastTime: getTime() }); }, 120);
    return "{\"pressed\":true}";
  }
  function side(d) {
    var c = d.charAt(3);
    USB.write("\x1bKC" + c + (c == "m" ? memory(true) : c == "n" ? memory(false) : c == "b" ? press() : "{}") + "\n");
  }
  KC_SIDE = side; // the REPL fallback when the firmware never took the console off USB
  USB.on = function (ev, f) {
    if (ev != "data") return on.call(USB, ev, f);
    // USB chunks arrive split anywhere (even one byte each), so a side line is collected across
    // chunks from an ESC that starts a chunk; as soon as the bytes stop matching ESC "KC" x "\n" (or
    // after 200 ms) they all go to the firmware unchanged, so frames are never lost, only re-chunked.
    var before = process.memory(false).usage; // no GC here: the boot's own work stays as it is
    var held = "", flushTimer;
    function flush() { var d = held; held = ""; flushTimer = undefined; if (d) f(d); }
    var wrapper = function (d) {
      if (held == "" && d.charCodeAt(0) != 27) return f(d);
      held += d;
      var want = "\x1bKC";
      if (held.length >= 5 && held.substr(0, 3) == want && held.charAt(4) == "\n") {
        var rest = held.substr(5);
        side(held);
        held = "";
        if (flushTimer !== undefined) { clearTimeout(flushTimer); flushTimer = undefined; }
        if (rest) f(rest);
      } else if (held.length < 5 && want.substr(0, Math.min(held.length, 3)) == held.substr(0, 3)) {
        if (flushTimer === undefined) flushTimer = setTimeout(flush, 200);
      } else {
        if (flushTimer !== undefined) { clearTimeout(flushTimer); flushTimer = undefined; }
        flush();
      }
    };
    KC_P += process.memory(false).usage - before; // this wrapper's scope is the rig's too
    return on.call(USB, ev, wrapper);
  };
  E.on("init", function () { USB.write("\x1bKCr\n"); });
})();
KC_P = process.memory().usage - KC_U0;
