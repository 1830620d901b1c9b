// .boot0 of the calibration rig on the real Linux interpreter (bench/calibrate). NOT firmware: it
// stands in for a board's pins and gives the tool a side channel over the USB (stdin/stdout) link.
// - LED1/LED2/BTN1: the Linux build has no such pins; D1/D2/D0 are its fake pins.
// - Host → device "\x1bKCm\n": reply "\x1bKCm{u,f,u0,p}\n" with process.memory().usage after a
//   garbage collection (u), the error flags (f), usage before this prelude (u0) and the vars the
//   prelude itself keeps (p). "\x1bKCn\n": the same without a collection. "\x1bKCb\n": BTN1 is pressed
//   (its setWatch callback gets {state:true}, then {state:false} 120 ms later), as a button would.
// - KC_SIDE("\x1bKCm") at the REPL answers the same on the console (the firmware never took USB).
// - After the boot code (E.on('init')): "\x1bKCr\n", so the tool knows the boot has ended.
// Every other USB chunk goes to the firmware's own USB.on('data') handler unchanged.
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
    return on.call(USB, ev, function (d) {
      if (d.charCodeAt(0) == 27 && d.substr(1, 2) == "KC") side(d);
      else f(d);
    });
  };
  E.on("init", function () { USB.write("\x1bKCr\n"); });
})();
KC_P = process.memory().usage - KC_U0;
