import { boardSerial, log } from "./platform.ts";

export const FIRMWARE_VERSION = "0.1.0";

log("KeyCarrier " + FIRMWARE_VERSION + " on " + boardSerial());
