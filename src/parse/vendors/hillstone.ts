// Hillstone StoneOS CGN: the `NAT444:` bracketed family (../nat444.ts) with a lowercase event word
// (`NAT444:sessionbasedA [6 100.64.6.37 - 200.219.30.159 48558 38287 - 157.240.12.54 5222]`), the destination
// in the last two slots. A capitalised event word is read as Huawei; pin the device to `hillstone` if yours differs.
// Sources: a production line quoted in a public Brazilian parser (LogProcyon, collector/parsers/hillstone-syslog.js,
// https://github.com/gabizera/LogProcyon/blob/8fbc79c2e46f32a9f9f5b835a99491f521eb069c/collector/parsers/hillstone-syslog.js#L7-L8);
// FORMATS.md.

import { findScene, parseScene } from '../nat444.js';
import type { VendorInput, VendorParser, VendorVerdict } from '../vendor.js';

const VENDOR = 'hillstone';

export const hillstone: VendorParser = {
  name: VENDOR,
  describes: 'StoneOS CGN NAT444 sessionbasedA/W syslog with destination',
  detect(h) {
    // Registered after huawei, which takes the capitalised lines; a device pinned to hillstone gets them all.
    return findScene(h.line, h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const sc = findScene(h.line, h.restStart);
    if (sc < 0) return null;
    return parseScene(VENDOR, h.line, sc, h.time, h.host);
  },
};
