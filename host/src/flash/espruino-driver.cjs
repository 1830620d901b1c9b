/*
 * Drives EspruinoTools (the `espruino` npm package) as a LIBRARY to upload one file into a Storage
 * file (normally `.bootcde`), the way `espruino --storage .bootcde:- file.js` does, minus the CLI's
 * three problems on this project (toolchain facts):
 *   - BLE scanning crashes without dbus → BLE is switched off in Espruino.Config;
 *   - an upload that fits one write block never calls back → short writes get their own callback;
 *   - only ports that serialport.list() reports can be opened (PTYs are never listed) → the list is
 *     patched to include the requested path.
 * Board detection is skipped (ENV_ON_CONNECT=false) and the firmware version the caller measured is
 * set instead, as `--board file.json` does, so nothing goes to the network.
 *
 * Runs in its own process because EspruinoTools writes globals (`Espruino`, `$`, `require`) and logs
 * with console.log. Usage (spawned by host/src/flash/upload.ts):
 *   node espruino-driver.cjs '{"port":"tcp://127.0.0.1:4000","file":"fw.js","storageFile":".bootcde","version":"2v29"}'
 * ("storageFile": null sends the code to RAM instead.)
 * Reports JSON lines on fd 3: {"event":"progress","sent":N,"total":N} · {"event":"done"} ·
 * {"event":"error","message":"…"}. EspruinoTools' own chatter stays on stdout/stderr.
 */
"use strict";
const fs = require("fs");
const path = require("path");

function report(obj) {
  try {
    fs.writeSync(3, JSON.stringify(obj) + "\n");
  } catch (e) {
    // no fd 3 (run by hand): report on stderr instead
    process.stderr.write("espruino-driver: " + JSON.stringify(obj) + "\n");
  }
}

function fail(message) {
  report({ event: "error", message: message });
  process.exit(1);
}

let job;
try {
  job = JSON.parse(process.argv[2] || "");
} catch (e) {
  fail("espruino-driver needs one JSON argument {port, file, storageFile, version}: " + e.message);
}
if (!job || typeof job.port !== "string" || typeof job.file !== "string") fail("espruino-driver: job needs \"port\" and \"file\" strings");
// storageFile null: send the code to RAM (EspruinoTools' default "Send to Espruino"): it runs at
// once and is gone at the next reset.
const storageFile = job.storageFile === null ? null : job.storageFile || ".bootcde";
const isTcp = job.port.indexOf("tcp://") === 0;

const espruinoMain = require.resolve("espruino");
const espruinoDir = path.dirname(espruinoMain);

// PTYs (and some USB adapters) are not in serialport.list(); EspruinoTools refuses to open paths
// it did not list, so the requested path is added to what the list returns.
if (!isTcp) {
  const serialportModule = require(require.resolve("serialport", { paths: [espruinoDir] }));
  const SerialPort = serialportModule.SerialPort;
  const originalList = SerialPort.list.bind(SerialPort);
  SerialPort.list = function () {
    return originalList().catch(function () { return []; }).then(function (ports) {
      if (!ports.some(function (p) { return p.path === job.port; })) ports.push({ path: job.port, manufacturer: "keycarrier flash" });
      return ports;
    });
  };
}

const code = fs.readFileSync(job.file, { encoding: "binary" });
const SHORT_WRITE_LIMIT = 512; // writeSerialWorker's block size: at or below it, its callback never fires

require(espruinoMain).init(function () {
  const Espruino = global.Espruino;
  Espruino.Config.BLUETOOTH_LOW_ENERGY = false;
  Espruino.Config.BLUETOOTH_LOW_ENERGY_DBUS = false;
  Espruino.Config.SET_TIME_ON_WRITE = false;
  Espruino.Config.ENV_ON_CONNECT = false;
  if (storageFile === null) {
    Espruino.Config.SAVE_ON_SEND = 0; // to RAM
  } else {
    Espruino.Config.SAVE_ON_SEND = 3; // to a Storage file
    Espruino.Config.SAVE_STORAGE_FILE = storageFile;
    Espruino.Config.LOAD_STORAGE_FILE = 0; // don't run it: the caller verifies over the REPL, then reboots
  }
  if (job.baud) Espruino.Config.BAUD_RATE = job.baud;
  if (isTcp) Espruino.Config.SERIAL_TCPIP = [job.port];

  const env = Espruino.Core.Env.getData();
  env.BOARD = "KEYCARRIER";
  // SSD1306 (keycarrier.full.js on a display board, docs/DISPLAY.md) is listed so EspruinoTools
  // uploads the bundle byte for byte instead of fetching the module and rewriting the upload: the
  // module reaches the board on its own (the virtual display board carries it; a real one needs it
  // as the Storage file "SSD1306", which require() finds).
  env.info = { builtin_modules: ["Storage", "crypto", "heatshrink", "Flash", "SSD1306"] };
  Espruino.Core.Env.setFirmwareVersion(job.version || "2v29");

  // Progress: total = bytes handed to Serial.write, sent = bytes handed to the port.
  let total = 0;
  let sent = 0;
  let lastReport = 0;
  let finished = false;
  const serial = Espruino.Core.Serial;
  const originalWrite = serial.write;
  serial.write = function (data, showStatus, callback) {
    total += data.length;
    if (data.length <= SHORT_WRITE_LIMIT && callback) {
      // Like writeSerialWorker: pause 250 ms after Ctrl-C, reset() and load() so the board has
      // finished them before the next bytes arrive; then call back.
      const parts = [];
      let rest = data;
      for (;;) {
        const m = /\x03|reset\(\);?\n|load\(\);?\n/.exec(rest);
        if (!m) break;
        parts.push(rest.slice(0, m.index + m[0].length));
        rest = rest.slice(m.index + m[0].length);
      }
      if (rest) parts.push(rest);
      parts.forEach(function (part, i) {
        serial.connection.write(part, function () {
          return new Promise(function (resolve) {
            setTimeout(function () { resolve(); if (i === parts.length - 1) callback(); }, 250);
          });
        });
      });
      return;
    }
    return originalWrite(data, showStatus, callback);
  };

  serial.open(job.port, function (status) {
    if (status === undefined) fail("cannot connect to " + job.port + " — is the board plugged in / the emulator running, and is the port free?");
    const connection = serial.connection;
    const originalLow = connection.writeLowLevel.bind(connection);
    connection.writeLowLevel = function (chunk) {
      return originalLow(chunk).then(function (r) {
        sent += chunk.length;
        const now = Date.now();
        if (total > SHORT_WRITE_LIMIT && (now - lastReport > 50 || sent >= total)) {
          lastReport = now;
          report({ event: "progress", sent: sent, total: total });
        }
        return r;
      });
    };
    Espruino.callProcessor("transformForEspruino", code, function (transformed) {
      Espruino.Core.CodeWriter.writeToEspruino(transformed, function () {
        report({ event: "progress", sent: sent, total: total });
        report({ event: "done" });
        finished = true;
        serial.close();
        setTimeout(function () { process.exit(0); }, 100);
      });
    });
  }, function () {
    // disconnected: only an error before "done"
    if (!finished) fail("the connection to " + job.port + " closed during the upload");
  });
});
